"""Worker: AWS API calls per business event, one adjustment end to end on in-process moto.

`python -m bench.aws_calls <out.json>`. Builds the resources of docs/contracts.md in moto, sends signed
adjustments through the real ingress handler, feeds what EventBridge delivered to the queue to the real
projector, and counts every botocore API call the handlers make, by service.operation.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.handlers import BUILTIN_HANDLERS

from bench.common import SETTINGS, LambdaContext, load_handler, stdout_to_devnull, write_json

PARTNER_ID = "bench-warehouse"
API_KEY_ID = "bench-key-id"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef0123456789"
REQUESTS = 21  # 1 cold + 20 steady; the 20 steady ones make two projector batches of 10
KEYS = 5  # SKUs per batch: each appears twice, the second batch updates positions the first created


class CallCounter:
    """A `before-call` handler: one count per API call (retries are not calls), while recording."""

    def __init__(self) -> None:
        self.calls: Counter[str] | None = None

    def __call__(self, model: Any = None, **_: Any) -> None:
        if self.calls is not None and model is not None:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    @contextmanager
    def recording(self) -> Iterator[Counter[str]]:
        self.calls = Counter()
        try:
            yield self.calls
        finally:
            self.calls = None


COUNTER = CallCounter()
# Registered before any botocore session exists, so every session (boto3's default one, the one Powertools
# idempotency creates, the one its parameters utility creates) reports its calls.
BUILTIN_HANDLERS.append(("before-call", COUNTER))


def _create_resources() -> str:
    import boto3

    ddb = boto3.client("dynamodb")
    s = {"AttributeType": "S"}
    ddb.create_table(
        TableName=SETTINGS["PARTNERS_TABLE_NAME"],
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "partner_id", **s}, {"AttributeName": "api_key_id", **s}],
        KeySchema=[{"AttributeName": "partner_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-api-key",
                "KeySchema": [{"AttributeName": "api_key_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    ddb.create_table(
        TableName=SETTINGS["IDEMPOTENCY_TABLE_NAME"],
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", **s}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    ddb.update_time_to_live(
        TableName=SETTINGS["IDEMPOTENCY_TABLE_NAME"],
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
    )
    ddb.create_table(
        TableName=SETTINGS["INVENTORY_TABLE_NAME"],
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", **s}, {"AttributeName": "sk", **s}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )

    from shared.aws.partners import PartnerRepository
    from shared.canonical.partner import Partner

    secret_name = f"{SETTINGS['PARTNER_SECRETS_PREFIX']}{PARTNER_ID}"
    boto3.client("secretsmanager").create_secret(
        Name=secret_name, SecretString=json.dumps({"signing_secret": SIGNING_SECRET})
    )
    PartnerRepository(SETTINGS["PARTNERS_TABLE_NAME"]).put(
        Partner(
            partner_id=PARTNER_ID,
            kind="warehouse",
            scopes=["location:DC-EAST"],
            api_key_id=API_KEY_ID,
            secret_name=secret_name,
            created_at=datetime.now(UTC),
        )
    )

    bus = SETTINGS["EVENT_BUS_NAME"]
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName="distrosync-bench-projector")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["distrosync.inventory"], "detail-type": ["inventory.adjusted"]}
    events.put_rule(Name="projector", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="projector", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def _drain(queue_url: str, count: int) -> list[dict[str, Any]]:
    import boto3

    sqs, messages = boto3.client("sqs"), []
    while len(messages) < count:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            raise RuntimeError(f"expected {count} messages on the projector queue, got {len(messages)}")
        messages += batch
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return messages


def _positions() -> dict[str, int]:
    """What the projector wrote: positions and applied versions (every adjustment applied exactly once)."""
    import boto3

    items = boto3.client("dynamodb").scan(TableName=SETTINGS["INVENTORY_TABLE_NAME"])["Items"]
    return {"positions": len(items), "applied": sum(int(item["version"]["N"]) for item in items)}


def _per_event(calls: list[Counter[str]], events: int) -> dict[str, float]:
    total: Counter[str] = Counter()
    for c in calls:
        total.update(c)
    return {op: n / events for op, n in sorted(total.items())}


def run() -> dict[str, Any]:
    from moto import mock_aws

    from bench.events import signed_adjustment_event, sqs_event

    with mock_aws():
        queue_url = _create_resources()
        ingress = load_handler("ingress")
        context = LambdaContext("distrosync-bench-ingress")
        ingress_calls: list[Counter[str]] = []
        for i in range(REQUESTS):
            event = signed_adjustment_event(i, api_key_id=API_KEY_ID, secret=SIGNING_SECRET, skus=KEYS)
            with COUNTER.recording() as calls:
                response = ingress.lambda_handler(event, context)
            if response["statusCode"] != 202:
                raise RuntimeError(f"ingress rejected the adjustment: {response}")
            ingress_calls.append(calls)

        messages = _drain(queue_url, REQUESTS)
        queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{queue_url.rsplit('/', 1)[1]}"
        projector = load_handler("projector")
        context = LambdaContext("distrosync-bench-projector")
        projector_calls: list[Counter[str]] = []
        for start in (0, 10):
            event = sqs_event([m["Body"] for m in messages[start : start + 10]], queue_arn)
            with COUNTER.recording() as calls:
                result = projector.lambda_handler(event, context)
            if result["batchItemFailures"]:
                raise RuntimeError(f"projector failed records: {result}")
            projector_calls.append(calls)
        positions = _positions()

    return {
        "ingress": {
            "first_request": dict(sorted(ingress_calls[0].items())),
            "steady_per_event": _per_event(ingress_calls[1:], REQUESTS - 1),
            "steady_requests": REQUESTS - 1,
        },
        "projector": {
            "first_batch": dict(sorted(projector_calls[0].items())),
            "steady_per_event": _per_event(projector_calls[1:], 10),
            "batch_size": 10,
            "distinct_positions_per_batch": KEYS,
            "check": positions,
        },
    }


def main(argv: list[str]) -> None:
    with stdout_to_devnull():
        result = run()
    write_json(Path(argv[0]), result)


if __name__ == "__main__":
    main(sys.argv[1:])
