"""Worker: AWS API requests per business event, through the real handlers on in-process moto.

`python -m bench.aws_calls <out.json>`. Builds the resources of docs/contracts.md in moto (partners, secrets,
item and location master, two sales channels), then:

1. adjustments: 30 signed `POST /v1/inventory/adjustments` through the ingress handler (10 counts creating the
   positions of 5 SKUs at 2 DCs, then 20 picks), and what EventBridge delivered to the queue through the
   projector handler in 3 SQS batches of 10 (5 SKUs, 10 positions per batch);
2. reservations: 10 `POST /v1/reservations` of 3 lines that succeed, 10 that lack stock (409), and the 10
   `reservation.created` through the projector (channel figures refreshed).

Every botocore API call the handlers make is counted by service.operation; the first request and first batch
of a fresh process (cold caches) are reported apart from the steady state. Each figure comes with its floor: the
fewest requests the design allows for that event (see `_floors`), so a regression shows as "above floor".
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.handlers import BUILTIN_HANDLERS

from bench.common import SETTINGS, LambdaContext, load_handler, stdout_to_devnull, write_json

WAREHOUSE_KEY = "bench-key-id"
ERP_KEY = "bench-erp-key-id"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef0123456789"
SKUS = tuple(f"SKU-{i}" for i in range(5))
DCS = ("DC-EAST", "DC-WEST")
BATCH = 10  # SQS batch size of the projector (docs/contracts.md)
COUNTED = 1000  # on hand after the opening counts
PICKS = 20
RESERVATIONS = 10  # per path: created, and refused for lack of stock
PROJECTED_TYPES = ("inventory.adjusted", "reservation.created")


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


# ------------------------------------------------------------------------------------------------ resources
def _create_resources() -> str:
    """Tables, secrets, partners, master data and channels; the bus with a rule to the projector's queue."""
    import boto3

    from bench.workload import ERP, LOCATIONS, WAREHOUSE, channel_partners, item, location
    from shared.aws.master_store import MasterStore, Versioned
    from shared.aws.partners import PartnerRepository
    from shared.canonical.envelope import eventbridge_source
    from shared.canonical.partner import Partner

    ddb = boto3.client("dynamodb")
    s = {"AttributeType": "S"}

    def table(name: str, keys: list[str], **extra: Any) -> None:
        attributes = dict.fromkeys(keys)
        for index in extra.get("GlobalSecondaryIndexes", []):
            attributes.update(dict.fromkeys(k["AttributeName"] for k in index["KeySchema"]))
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, **s} for a in attributes],
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
            **extra,
        )

    def index(name: str, *keys: str) -> dict[str, Any]:
        schema = [{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)]
        return {"IndexName": name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}}

    table(SETTINGS["PARTNERS_TABLE_NAME"], ["partner_id"], GlobalSecondaryIndexes=[index("by-api-key", "api_key_id")])
    table(SETTINGS["IDEMPOTENCY_TABLE_NAME"], ["id"])
    ddb.update_time_to_live(
        TableName=SETTINGS["IDEMPOTENCY_TABLE_NAME"],
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
    )
    table(SETTINGS["INVENTORY_TABLE_NAME"], ["pk", "sk"])
    table(
        SETTINGS["RESERVATIONS_TABLE_NAME"],
        ["reservation_id"],
        GlobalSecondaryIndexes=[index("by-expiry", "expiry_shard", "expires_at")],
    )

    now = datetime.now(UTC)
    partners = PartnerRepository(SETTINGS["PARTNERS_TABLE_NAME"])
    secrets = boto3.client("secretsmanager")
    for partner_id, kind, scopes, key in (
        (WAREHOUSE, "warehouse", [f"location:{code}" for code in DCS], WAREHOUSE_KEY),
        (ERP, "erp", ["location:*"], ERP_KEY),
    ):
        secret_name = f"{SETTINGS['PARTNER_SECRETS_PREFIX']}{partner_id}"
        secrets.create_secret(Name=secret_name, SecretString=json.dumps({"signing_secret": SIGNING_SECRET}))
        partners.put(
            Partner(
                partner_id=partner_id,
                kind=kind,  # type: ignore[arg-type]
                scopes=scopes,
                api_key_id=key,
                secret_name=secret_name,
                created_at=now,
            )
        )
    for channel in channel_partners(now):
        partners.put(channel)

    master = MasterStore(SETTINGS["INVENTORY_TABLE_NAME"])
    for sku in SKUS:
        master.put_item(Versioned(item(sku), 1, now, ERP), None)
    for code in LOCATIONS:
        master.put_location(Versioned(location(code), 1, now, ERP), None)

    bus = SETTINGS["EVENT_BUS_NAME"]
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName="distrosync-bench-projector")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # As infra/flow.py builds it, for the event types this bench produces.
    pattern = {
        "source": sorted({eventbridge_source(t) for t in PROJECTED_TYPES}),
        "detail-type": list(PROJECTED_TYPES),
    }
    events.put_rule(Name="projector", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="projector", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def _drain(queue_url: str, count: int, order: Callable[[dict[str, Any]], Any]) -> list[str]:
    """The bodies of the `count` messages on the queue, sorted by `order(detail)` (SQS does not keep order)."""
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
    if len(messages) != count:
        raise RuntimeError(f"expected {count} messages on the projector queue, got {len(messages)}")
    return [m["Body"] for m in sorted(messages, key=lambda m: order(json.loads(m["Body"])["detail"]))]


def _positions() -> dict[tuple[str, str], dict[str, Any]]:
    """The positions as stored (only `LOC#` items: the SKU partitions also hold ITEM and AVAIL records)."""
    import boto3

    from shared.aws.dynamo import from_item
    from shared.aws.inventory_store import POSITION_PREFIX

    items = boto3.client("dynamodb").scan(TableName=SETTINGS["INVENTORY_TABLE_NAME"])["Items"]
    stored = [from_item(item) for item in items if item["sk"]["S"].startswith(POSITION_PREFIX)]
    return {(p["sku"], p["location"]): p for p in stored}


# ---------------------------------------------------------------------------------------------------- floors
def _floors(channels: int) -> dict[str, dict[str, Any]]:
    """The fewest requests per event the design allows, for the scenarios below (S SKUs and P positions per
    projector batch of B events, C channels whose figure changes for every SKU touched)."""
    b, s = BATCH, len(SKUS)
    put_events = math.ceil(s * channels / 10) / b  # availability.changed: one per SKU and channel, 10 per call
    warm_ingress = {"dynamodb.PutItem": 1, "dynamodb.UpdateItem": 1, "events.PutEvents": 1}
    cold_gate = {"dynamodb.Query": 1, "secretsmanager.GetSecretValue": 1}
    projector = {
        "dynamodb.PutItem": 1 + s / b,
        "dynamodb.BatchGetItem": 1 / b,
        "dynamodb.Query": s / b,
        "events.PutEvents": put_events,
    }
    positions = s * len(DCS)
    return {
        "adjustment_ingress": {
            "floor": warm_ingress,
            "basis": "idempotency record put + PutEvents + idempotency record completed",
            "cold_floor": {**warm_ingress, **cold_gate, "dynamodb.BatchGetItem": 1},
            "cold_basis": "+ partner by API key (GSI Query), signing secret, item+location master (1 BatchGetItem)",
        },
        "adjustment_projector": {
            "floor": projector,
            "basis": (
                f"1 conditional put per event; per batch of {b}: 1 BatchGetItem, per SKU ({s}) 1 Query + 1 AVAIL "
                f"put, {put_events * b:g} PutEvents ({s} SKUs x {channels} channels availability.changed)"
            ),
            "cold_floor": {
                "dynamodb.PutItem": positions + s,
                "dynamodb.BatchGetItem": 1,
                "dynamodb.Query": s,
                "dynamodb.Scan": 1,
                "events.PutEvents": put_events * b,
            },
            "cold_basis": f"first batch creates {positions} positions and {s} AVAIL records; + channel list (Scan)",
        },
        "reservation_created": {
            "floor": {"dynamodb.TransactWriteItems": 1, "events.PutEvents": 1},
            "basis": "1 TransactWriteItems (record + 3 positions, available >= q) + PutEvents",
            "cold_floor": {"dynamodb.TransactWriteItems": 1, "events.PutEvents": 1, **cold_gate},
            "cold_basis": "+ partner by API key (GSI Query), signing secret",
        },
        "reservation_refused": {
            "floor": {"dynamodb.TransactWriteItems": 1, "dynamodb.BatchGetItem": 1},
            "basis": "the cancelled TransactWriteItems + 1 BatchGetItem of `available` for the shortfall per line",
        },
        "reservation_projector": {
            "floor": {"dynamodb.Query": s / b, "dynamodb.PutItem": s / b, "events.PutEvents": put_events},
            "basis": f"per batch of {b}: per SKU ({s}) 1 Query + 1 AVAIL put, {put_events * b:g} PutEvents",
        },
    }


def _per_event(calls: list[Counter[str]], events: int) -> dict[str, float]:
    total: Counter[str] = Counter()
    for c in calls:
        total.update(c)
    return {op: round(n / events, 4) for op, n in sorted(total.items())}


# ----------------------------------------------------------------------------------------------------- runs
def _ingress_calls(handler: Any, events: list[dict[str, Any]], status: int, problem: str | None = None) -> list[Any]:
    context = LambdaContext("distrosync-bench-ingress")
    calls = []
    for event in events:
        with COUNTER.recording() as counted:
            response = handler.lambda_handler(event, context)
        if response["statusCode"] != status or (problem and problem not in response["body"]):
            raise RuntimeError(f"{event['path']}: expected {status} {problem or ''}, got {response}")
        calls.append(counted)
    return calls


def _projector_calls(handler: Any, bodies: list[str], queue_url: str) -> list[Counter[str]]:
    from bench.events import sqs_event

    queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{queue_url.rsplit('/', 1)[1]}"
    context = LambdaContext("distrosync-bench-projector")
    calls = []
    for start in range(0, len(bodies), BATCH):
        event = sqs_event(bodies[start : start + BATCH], queue_arn)
        with COUNTER.recording() as counted:
            result = handler.lambda_handler(event, context)
        if result["batchItemFailures"]:
            raise RuntimeError(f"projector failed records: {result}")
        calls.append(counted)
    return calls


def _check_positions(expected: dict[tuple[str, str], dict[str, int]]) -> dict[str, Any]:
    """Every position as the events say it must be (so the counts above are of work that was done)."""
    stored = _positions()
    wrong = {
        f"{sku}@{loc}": {k: stored.get((sku, loc), {}).get(k) for k in want}
        for (sku, loc), want in expected.items()
        if any(stored.get((sku, loc), {}).get(k) != v for k, v in want.items())
    }
    if wrong or len(stored) != len(expected):
        raise RuntimeError(f"positions differ from what the events imply: {wrong} ({len(stored)} stored)")
    return {"positions": len(stored), "as_expected": True}


def run() -> dict[str, Any]:
    from moto import mock_aws

    from bench.events import signed_adjustment_event, signed_reservation_event
    from bench.workload import SAFETY_STOCK, channel_partners

    channels = len(channel_partners(datetime.now(UTC)))
    floors = _floors(channels)
    with mock_aws():
        queue_url = _create_resources()
        ingress, projector = load_handler("ingress"), load_handler("projector")

        # 1. Adjustments: counts create the 10 positions (5 SKUs x 2 DCs), then picks of one unit.
        positions = [(sku, dc) for dc in DCS for sku in SKUS]
        adjustments = [
            signed_adjustment_event(
                i,
                api_key_id=WAREHOUSE_KEY,
                secret=SIGNING_SECRET,
                skus=len(SKUS),
                location=positions[i % len(positions)][1],
                on_hand=COUNTED if i < len(positions) else None,
            )
            for i in range(len(positions) + PICKS)
        ]
        adjust_in = _ingress_calls(ingress, adjustments, 202)
        bodies = _drain(queue_url, len(adjustments), lambda detail: detail["data"]["sequence"])
        adjust_out = _projector_calls(projector, bodies, queue_url)
        picks_each = PICKS // len(positions)
        on_hand = COUNTED - picks_each
        counted = {"on_hand": on_hand, "safety_stock": SAFETY_STOCK, "available": on_hand - SAFETY_STOCK}
        adjusted = _check_positions(dict.fromkeys(positions, counted))

        # 2. Reservations by the ERP: 3 lines over 3 SKUs (one in cases), then requests that lack stock.
        def lines(k: int) -> list[tuple[str, str, int, str]]:
            return [
                (SKUS[k % 5], DCS[0], 2, "each"),
                (SKUS[(k + 1) % 5], DCS[1], 1, "each"),
                (SKUS[(k + 2) % 5], DCS[0], 1, "case"),
            ]

        created = [
            signed_reservation_event(f"SO-{k:03d}", lines(k), api_key_id=ERP_KEY, secret=SIGNING_SECRET)
            for k in range(RESERVATIONS)
        ]
        refused = [
            signed_reservation_event(
                f"SO-SHORT-{k:03d}",
                [(SKUS[k % 5], DCS[0], 1, "each"), (SKUS[(k + 1) % 5], DCS[1], 10 * COUNTED, "each")],
                api_key_id=ERP_KEY,
                secret=SIGNING_SECRET,
            )
            for k in range(RESERVATIONS)
        ]
        reserve_in = _ingress_calls(ingress, created, 201)
        refuse_in = _ingress_calls(ingress, refused, 409, "insufficient-stock")
        bodies = _drain(queue_url, RESERVATIONS, lambda detail: detail["data"]["reservation"]["reference"])
        reserve_out = _projector_calls(projector, bodies, queue_url)
        committed: Counter[tuple[str, str]] = Counter()
        for k in range(RESERVATIONS):
            for sku, dc, quantity, unit in lines(k):
                committed[(sku, dc)] += quantity * (12 if unit == "case" else 1)
        reserved = _check_positions(
            {
                p: {"on_hand": on_hand, "committed": committed[p], "available": on_hand - SAFETY_STOCK - committed[p]}
                for p in positions
            }
        )

    def scenario(
        name: str, calls: list[Counter[str]], events: int, *, cold: Counter[str] | None, **about: Any
    ) -> dict[str, Any]:
        out = {**floors[name], **about, "steady_per_event": _per_event(calls, events), "steady_events": events}
        if cold is not None:
            out["cold"] = dict(sorted(cold.items()))
        return out

    # The other counts bring SKUs and locations this process has not seen yet: each such request reads the master
    # data once (cached 60 s). The picks after them are the steady state.
    warming, steady = adjust_in[1 : len(positions)], adjust_in[len(positions) :]
    warming_total: Counter[str] = Counter()
    for counted_calls in warming:
        warming_total.update(counted_calls)
    return {
        "channels": channels,
        "adjustment_ingress": scenario(
            "adjustment_ingress",
            steady,
            len(steady),
            cold=adjust_in[0],
            cold_unit="first request",
            warming={"requests": len(warming), "calls": dict(sorted(warming_total.items()))},
        ),
        "adjustment_projector": scenario(
            "adjustment_projector",
            adjust_out[1:],
            BATCH * (len(adjust_out) - 1),
            cold=adjust_out[0],
            cold_unit=f"first batch of {BATCH}",
            check=adjusted,
        ),
        "reservation_created": scenario(
            "reservation_created", reserve_in[1:], len(reserve_in) - 1, cold=reserve_in[0], cold_unit="first request"
        ),
        "reservation_refused": scenario("reservation_refused", refuse_in, len(refuse_in), cold=None),
        "reservation_projector": scenario(
            "reservation_projector", reserve_out, BATCH * len(reserve_out), cold=None, check=reserved
        ),
    }


def main(argv: list[str]) -> None:
    with stdout_to_devnull():
        result = run()
    write_json(Path(argv[0]), result)


if __name__ == "__main__":
    main(sys.argv[1:])
