"""Benchmark events, built at run time from the corpus of real AWS event shapes (never copied into the repo)."""

from __future__ import annotations

import copy
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.common import corpus
from shared.aws.bus import to_entry
from shared.canonical.envelope import Envelope
from shared.http.signing import signed_headers

API_TEMPLATE = corpus("powertools_apiGatewayProxyEvent.json")
SQS_TEMPLATE = corpus("powertools_sqsEvent.json")["Records"][0]
EVENTBRIDGE_TEMPLATE = corpus("powertools_eventBridgeEvent.json")

ADJUSTMENTS_PATH = "/v1/inventory/adjustments"
RESERVATIONS_PATH = "/v1/reservations"


def adjustment_body(
    sku: str, location: str, sequence: int, *, delta: int | None = -1, on_hand: int | None = None
) -> bytes:
    """A pick of `delta` (default), or a cycle count of `on_hand`."""
    body: dict[str, Any] = {
        "sku": sku,
        "location": location,
        "sequence": sequence,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    if on_hand is not None:
        body.update(on_hand=on_hand, reason="cycle_count", reference=f"COUNT-{sequence}")
    else:
        body.update(delta=delta, reason="pick", reference=f"PICK-{sequence}")
    return json.dumps(body, separators=(",", ":")).encode()


def reservation_body(reference: str, lines: list[tuple[str, str, int, str]], kind: str = "order") -> bytes:
    """`lines`: (sku, location, quantity, unit)."""
    body = {
        "reference": reference,
        "kind": kind,
        "lines": [{"sku": s, "location": loc, "quantity": q, "unit": u} for s, loc, q, u in lines],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def api_event(
    body: bytes,
    *,
    api_key_id: str,
    secret: str,
    timestamp: int,
    idempotency_key: str | None = None,
    path: str = ADJUSTMENTS_PATH,
) -> dict[str, Any]:
    """A signed `POST <path>` REST proxy event, shaped like the corpus one."""
    event = copy.deepcopy(API_TEMPLATE)
    headers = {
        "Host": "api.distrosync.example",
        "Content-Type": "application/json",
        "X-Api-Key": "bench-api-key-0123456789abcdef",
        "X-Correlation-Id": f"bench-{uuid.uuid4().hex}",
        **signed_headers(secret, body, timestamp),
    }
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    request_id = str(uuid.uuid4())
    context = event["requestContext"]
    context.update(
        httpMethod="POST",
        path=f"/dev{path}",
        resourcePath=path,
        requestId=request_id,
        extendedRequestId=request_id,
        stage="dev",
    )
    context["identity"].update(apiKey=headers["X-Api-Key"], apiKeyId=api_key_id)
    context["identity"].pop("clientCert", None)
    event.update(
        resource=path,
        path=path,
        httpMethod="POST",
        headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        queryStringParameters=None,
        multiValueQueryStringParameters=None,
        body=body.decode(),
        isBase64Encoded=False,
    )
    return event


def eventbridge_body(envelope: Envelope[Any], bus_name: str) -> str:
    """What an SQS target of the bus receives: the EventBridge event (corpus shape) built from `to_entry`."""
    entry = to_entry(envelope, bus_name)
    event = {k: v for k, v in EVENTBRIDGE_TEMPLATE.items() if k != "replay-name"}
    event.update(
        {
            "id": str(uuid.uuid4()),
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": "123456789012",
            "time": entry["Time"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1",
            "resources": entry["Resources"],
            "detail": json.loads(entry["Detail"]),
        }
    )
    return json.dumps(event)


def sqs_event(bodies: list[str], queue_arn: str) -> dict[str, Any]:
    """An SQS event source batch (corpus record shape), one record per body."""
    records = []
    for body in bodies:
        record = copy.deepcopy(SQS_TEMPLATE)
        record.update(
            messageId=str(uuid.uuid4()),
            receiptHandle=uuid.uuid4().hex,
            body=body,
            messageAttributes={},
            md5OfBody=hashlib.md5(body.encode()).hexdigest(),
            eventSourceARN=queue_arn,
            awsRegion=queue_arn.split(":")[3],
        )
        records.append(record)
    return {"Records": records}


def signed_adjustment_event(
    i: int,
    *,
    api_key_id: str,
    secret: str,
    skus: int = 100,
    location: str = "DC-EAST",
    on_hand: int | None = None,
) -> dict[str, Any]:
    """The i-th distinct signed adjustment (its own SKU slot, sequence and idempotency key): a pick of one unit,
    or a count of `on_hand`."""
    return api_event(
        adjustment_body(f"SKU-{i % skus}", location, i, on_hand=on_hand),
        api_key_id=api_key_id,
        secret=secret,
        timestamp=int(time.time()),
        idempotency_key=uuid.uuid4().hex,
    )


def signed_reservation_event(
    reference: str, lines: list[tuple[str, str, int, str]], *, api_key_id: str, secret: str
) -> dict[str, Any]:
    """A signed `POST /v1/reservations` (no Idempotency-Key: the reference is the reservation's identity)."""
    return api_event(
        reservation_body(reference, lines),
        api_key_id=api_key_id,
        secret=secret,
        timestamp=int(time.time()),
        path=RESERVATIONS_PATH,
    )
