"""SQS consumers on the embedded runtime (docs/reliability.md, "SQS consumers" and "A dead letter's story"):
poison messages reach their DLQ at once with their story, transient errors retry with backoff (and end in the DLQ
with their story when they never clear), a partner's outage makes messages wait rather than fill the DLQ, and a
duplicate is acknowledged."""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from cli.local_session import emf_totals
from shared.aws.bus import publish
from shared.aws.clients import client as aws
from shared.canonical.parse import envelope_from_detail
from shared.domain.circuit import BreakerPolicy
from shared.domain.order_flow import execution_name
from tests.flows.test_outbound_delivery import acknowledgment, erp, send  # noqa: F401  (erp is a fixture)

PROJECTOR = "distrosync-dev-projector"
STORY_FIELDS = {
    "error_class",
    "error",
    "handler",
    "attempts",
    "first_failure_at",
    "last_failure_at",
    "correlation_id",
    "business_key",
    "event_id",
    "event_type",
    "source_queue",
    "message_id",
}


def eventbridge_body(detail: dict) -> str:
    """What an EventBridge rule puts on a queue for a distrosync event."""
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail["type"],
            "source": "distrosync.purchasing",
            "account": "123456789012",
            "time": "2026-11-27T10:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def put(rt, queue: str, body: str) -> str:
    """A message put straight on a consumer's queue; returns its id."""
    return aws("sqs").send_message(QueueUrl=rt.queue_directory.get(queue).url, MessageBody=body)["MessageId"]


def dead_letters(rt, queue: str) -> list[tuple[dict, dict]]:
    """(message, story) of every message in `queue`'s DLQ."""
    url, found = rt.queue_directory.get(f"{queue}-dlq").url, []
    while (
        batch := aws("sqs")
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"])
        .get("Messages", [])
    ):
        for message in batch:
            attribute = message.get("MessageAttributes", {}).get("distrosync-dead-letter")
            found.append((message, json.loads(attribute["StringValue"]) if attribute else {}))
    return found


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def throttled(monkeypatch) -> Iterator[dict]:
    """Throttles the projector's writes to the inventory table: `state["left"]` more times (None: for ever)."""
    real = BaseClient._make_api_call
    state: dict = {"left": 0, "table": None, "injected": 0}

    def make_api_call(self, operation, params):
        projector_write = (
            operation == "PutItem"
            and params.get("TableName") == state["table"]
            and os.environ.get("AWS_LAMBDA_FUNCTION_NAME") == PROJECTOR
        )
        if projector_write and (state["left"] is None or state["left"] > 0):
            if state["left"] is not None:
                state["left"] -= 1
            state["injected"] += 1
            error = {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the allowed throughput."}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return state


def adjust(client, on_hand: int, sequence: int = 1) -> None:
    body = {"sku": "SKU-1", "location": "DC-EAST", "on_hand": on_hand, "reason": "cycle_count"}
    occurred_at = datetime.now(UTC).isoformat()
    reply = client.post("/v1/inventory/adjustments", {**body, "sequence": sequence, "occurred_at": occurred_at})
    assert reply.status == 202, reply.body


def on_hand(client) -> int:
    reply = client.get("/v1/inventory/SKU-1", {"location": "DC-EAST"})
    assert reply.status == 200, reply.body
    return reply.json()["positions"][0]["on_hand"]


# --------------------------------------------------------------------------------------------------- permanent
def test_poison_messages_reach_the_dlq_at_once_with_their_whole_story(rt):
    """A body that is not JSON, and an event whose data does not fit its type: one attempt each, no retry."""
    started = datetime.now(UTC).replace(microsecond=0)
    garbage_id = put(rt, PROJECTOR, "not json {")
    envelope = acknowledgment()
    detail = {**json.loads(json.dumps(envelope.to_detail())), "type": "receipt.posted"}  # an ack is no receipt
    misfit_body = eventbridge_body(detail)
    misfit_id = put(rt, PROJECTOR, misfit_body)

    report = rt.drain()
    assert report.drained and report.invocations["projector"] == 1 and report.failed_records == 0, report

    found = {story["message_id"]: (message, story) for message, story in dead_letters(rt, PROJECTOR)}
    assert set(found) == {garbage_id, misfit_id}
    queue_arn = rt.queue_directory.get(PROJECTOR).arn
    for message, story in found.values():
        assert set(story) == STORY_FIELDS
        assert (story["error_class"], story["handler"], story["attempts"]) == ("validation", PROJECTOR, 1)
        assert story["source_queue"] == queue_arn
        assert started <= parse_time(story["first_failure_at"]) == parse_time(story["last_failure_at"])
        assert int(message["Attributes"]["ApproximateReceiveCount"]) == 1  # the one receive of this check

    message, story = found[garbage_id]
    assert message["Body"] == "not json {"  # byte for byte
    assert story["error"].startswith("JSONDecodeError: ")
    assert [story[k] for k in ("correlation_id", "business_key", "event_id", "event_type")] == [None] * 4

    message, story = found[misfit_id]
    assert message["Body"] == misfit_body
    assert story["error"].startswith("ValidationError: ") and len(story["error"]) <= 1000
    assert story["correlation_id"] == envelope.correlation_id == "corr-ACK-1"
    assert (story["business_key"], story["event_id"], story["event_type"]) == (
        "po:PO-1001",
        envelope.id,
        "receipt.posted",
    )
    assert emf_totals(rt.logs("projector"))["DeadLettered"] == 2
    assert sum(1 for line in rt.logs("projector") if "message dead-lettered" in line) == 2


# --------------------------------------------------------------------------------------------------- transient
def test_a_throttled_write_retries_with_backoff_and_applies_once(rt, client, throttled):
    rt.functions.configure("projector", RETRY_BASE_SECONDS="1", RETRY_MAX_SECONDS="1")
    throttled.update(table=rt.outputs["InventoryTableName"], left=2)
    adjust(client, 7)
    report = rt.drain()
    assert report.drained and throttled["injected"] == 2, report
    assert report.invocations["projector"] == 3 and report.failed_records == 2
    assert on_hand(client) == 7
    assert dead_letters(rt, PROJECTOR) == []
    retries = [json.loads(line) for line in rt.logs("projector") if "message will be retried" in line]
    assert [(r["error_class"], r["attempts"]) for r in retries] == [("rate_limit", 1), ("rate_limit", 2)]
    assert all(r["visibility_seconds"] in (0, 1) for r in retries)  # full jitter within min(max, base * 2**n)
    assert all(r.get("correlation_id") for r in retries)
    assert emf_totals(rt.logs("projector"))["RetryScheduled"] == 2


def test_a_transient_error_that_never_clears_ends_in_the_dlq_with_its_attempts(rt, client, throttled):
    rt.functions.configure("projector", RETRY_BASE_SECONDS="0")
    throttled.update(table=rt.outputs["InventoryTableName"], left=None)
    started = datetime.now(UTC).replace(microsecond=0)
    adjust(client, 7)
    report = rt.drain()
    attempts = rt.max_receive_count(PROJECTOR)
    assert report.drained and report.invocations["projector"] == attempts, report
    assert throttled["injected"] == attempts

    ((message, story),) = dead_letters(rt, PROJECTOR)  # dead-lettered by the consumer, not moved by SQS
    assert set(story) == STORY_FIELDS
    assert (story["error_class"], story["attempts"], story["handler"]) == ("rate_limit", attempts, PROJECTOR)
    assert story["error"].startswith("ClientError: An error occurred (ThrottlingException)")
    assert started <= parse_time(story["first_failure_at"]) <= parse_time(story["last_failure_at"])
    assert (story["event_type"], story["business_key"]) == ("inventory.adjusted", "sku:SKU-1")
    assert json.loads(message["Body"])["detail"]["id"] == story["event_id"]
    assert emf_totals(rt.logs("projector"))["RetryScheduled"] == attempts - 1


# --------------------------------------------------------------------------------------------- partner outage
def test_a_partner_outage_makes_messages_wait_and_flow_after_recovery(rt, erp):  # noqa: F811
    # Waits of a second, and a breaker that opens for 2 s (not 30 s) once the ERP failed 5 times in a row.
    quick_breaker = BreakerPolicy(failure_threshold=5, cool_down_seconds=2, max_cool_down_seconds=2)
    rt.functions.configure(
        "outbound", RETRY_BASE_SECONDS="1", RETRY_MAX_SECONDS="1", PARTNER_BREAKER=quick_breaker.to_json()
    )
    erp.down = True
    send(rt, acknowledgment())
    waiting = rt.drain(timeout=4)
    assert not waiting.drained and waiting.failed_records == 0, waiting  # re-sent with a delay, not failed
    assert waiting.invocations["outbound"] >= 2
    assert dead_letters(rt, "distrosync-dev-outbound") == []
    assert emf_totals(rt.logs("outbound"))["PartnerWait"] == waiting.invocations["outbound"]
    assert erp.doc("Purchase Order", "PO-1001")["order_confirmation_no"] is None

    erp.down = False
    report = rt.drain()
    assert report.drained, report
    assert erp.doc("Purchase Order", "PO-1001")["order_confirmation_no"] == "ACK-1"
    assert [c.status for c in erp.calls_to("PUT")] == [200]  # delivered once
    assert dead_letters(rt, "distrosync-dev-outbound") == []
    waits = [json.loads(line) for line in rt.logs("outbound") if "message waits for its partner" in line]
    assert [w["attempts"] for w in waits] == list(range(1, len(waits) + 1))  # attempts travel with the message


# -------------------------------------------------------------------------------------------------- duplicate
def test_a_duplicate_is_acknowledged_and_counted(rt, erp_client, captured_events):
    order = {
        "order_id": "SO-DUP",
        "placed_at": datetime.now(UTC).isoformat(),
        "lines": [{"line": 1, "sku": "SKU-1", "location": "DC-EAST", "quantity": 2, "requested_date": "2026-12-31"}],
    }
    reply = erp_client.post("/v1/orders", order)
    assert reply.status == 201, reply.body
    rt.drain()
    (created,) = captured_events("order.created")
    # The same order again under another correlation id (a second channel delivery): another execution input,
    # which Step Functions refuses under the order's execution name.
    again = envelope_from_detail(created).model_copy(update={"correlation_id": "corr-second-delivery"})
    publish([again], rt.outputs["EventBusName"])
    report = rt.drain()
    assert report.drained and report.failed_records == 0, report
    assert dead_letters(rt, "distrosync-dev-order_starter") == []
    totals = emf_totals(rt.logs("order_starter"))
    assert (totals["OrderFlowStarted"], totals["Duplicate"]) == (1, 1)
    executions = aws("stepfunctions").list_executions(stateMachineArn=rt.outputs["OrderFlowStateMachineArn"])
    assert [e["name"] for e in executions["executions"]] == [execution_name("SO-DUP")]


def test_the_backoff_the_consumer_sets_holds_the_message_back(rt, client, throttled, monkeypatch):
    """The poller, like Lambda, leaves the visibility the function gave a failed message (the top of the jitter
    range here, drawn deterministically)."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    rt.functions.configure("projector", RETRY_BASE_SECONDS="2", RETRY_MAX_SECONDS="2")
    throttled.update(table=rt.outputs["InventoryTableName"], left=None)
    adjust(client, 7)
    held = rt.drain(timeout=1.0)
    assert not held.drained and held.invocations["projector"] == 1 and held.failed_records == 1, held
    (queue,) = [q for q in rt.queues() if q.name == PROJECTOR]
    assert (queue.depth, queue.in_flight) == (0, 1)

    throttled.update(left=0)
    report = rt.drain()
    assert report.drained and report.invocations["projector"] == 1 and report.seconds >= 0.5, report
    assert on_hand(client) == 7
