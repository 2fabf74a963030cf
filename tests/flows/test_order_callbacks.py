"""The warehouse's and the customer's callbacks on the order-to-ship flow (docs/order-to-ship.md, "Callbacks"),
through the partner API of the embedded runtime, resuming real Step Functions executions parked on task tokens.

The order is written as order capture writes it (no `order.created`: no order-flow execution races the test),
and put where the flow's release step leaves it (status `released`, `waiting` = a task token): the token is a
real one, of an execution of a small state machine whose task waits on it (`parked`), so that what each callback
sends back (success, ShortPick, OrderCancelled) is what that execution reports.
"""

import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from cli.local_session import emf_totals, partner_client, register_partner
from shared.aws.fulfillment_store import FulfillmentStore, Waiting
from shared.aws.orders_store import OrdersStore
from shared.canonical.envelope import utcnow
from shared.canonical.orders import CustomerOrder, OrderLine

pytestmark = pytest.mark.order_flow

PROBLEM = "urn:distrosync:problem:"
ROLE = "arn:aws:iam::123456789012:role/parked-test"


@dataclass(frozen=True)
class Parked:
    """An execution waiting on a task token, as the order flow's Release / ShipmentReady / Track do."""

    arn: str
    token: str


def park(rt, order_id: str) -> Parked:
    """Start an execution whose one task waits for its token (sent to a queue of the test's): resumed, it ends in
    `Resumed`; failed with OrderCancelled in `Cancelled`; with any other error in `Failed`."""
    sqs, sfn = rt.clients("sqs"), rt.clients("stepfunctions")
    url = sqs.create_queue(QueueName=f"tokens-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}},
                "HeartbeatSeconds": 120,  # as the flow's Release (moto takes heartbeats only on such tasks)
                "TimeoutSeconds": 300,
                "Catch": [
                    {"ErrorEquals": ["OrderCancelled"], "Next": "Cancelled"},
                    {"ErrorEquals": ["States.ALL"], "Next": "Failed"},
                ],
                "Next": "Resumed",
            },
            "Resumed": {"Type": "Succeed"},
            "Cancelled": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "Error": "StepFailed"},
        },
    }
    machine = sfn.create_state_machine(
        name=f"parked-{uuid.uuid4().hex[:12]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name=order_id.replace(".", "_"), input="{}")["executionArn"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
        if messages:
            return Parked(arn, json.loads(messages[0]["Body"])["token"])
        time.sleep(0.02)
    raise TimeoutError("the parked execution sent no token")


def ended_in(rt, parked: Parked) -> tuple[str, list[dict]]:
    """The state the execution ended in, and its task-token answers (TaskSucceeded / TaskFailed events)."""
    rt.wait_for_execution(parked.arn, timeout=10)
    events = rt.clients("stepfunctions").get_execution_history(executionArn=parked.arn, maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    answers = [e for e in events if e["type"] in ("TaskSucceeded", "TaskFailed")]
    return entered[-1], answers


def store(rt) -> FulfillmentStore:
    return FulfillmentStore(rt.outputs["OrdersTableName"])


def captured_order(rt, order_id: str, *lines: tuple[str, int], source: str = "erp", **fields) -> CustomerOrder:
    """The order as capture writes it (the order item and its demand lines)."""
    now = utcnow()
    order = CustomerOrder(
        order_id=order_id,
        source_partner=source,
        placed_at=now - timedelta(hours=2),
        created_at=now - timedelta(hours=2),
        lines=[
            OrderLine(line=n, sku=sku, location="DC-EAST", quantity=q, requested_date=now.date())
            for n, (sku, q) in enumerate(lines, start=1)
        ],
        **fields,
    )
    assert OrdersStore(rt.outputs["OrdersTableName"]).create(order, f"corr-{order_id}")
    return order


def waiting_on(rt, order_id: str, step: str, status: str) -> Parked:
    """Where the flow's waiting step leaves the order: `status`, and `waiting` on a real task token."""
    parked = park(rt, order_id)
    record = store(rt).require(order_id)
    now = utcnow()
    store(rt).advance(record, now=now, status=status, step=step, waiting=Waiting(step, parked.token, now))
    return parked


def problem_type(reply) -> str:
    return reply.json()["type"].removeprefix(PROBLEM)


@pytest.fixture
def customer(rt, catalog):
    return partner_client(rt, catalog.erp)  # the ERP placed the orders (source_partner "erp")


def test_pick_complete_resumes_the_wait_once_and_is_refused_to_others(rt, catalog, client, customer):
    order = captured_order(rt, "SO-PICK-1", ("SKU-1", 5), ("SKU-2", 2))
    parked = waiting_on(rt, order.order_id, "release", "released")

    assert client.post(f"/v1/orders/{order.order_id}/pick-progress", None).status == 202  # a heartbeat
    body = {"picked_at": utcnow().isoformat(), "packages": [{"package_id": "CTN-1", "weight_kg": 4.2}]}
    first = client.post(f"/v1/orders/{order.order_id}/pick-complete", body)
    assert first.status == 202, first.body
    assert first.json()["result"] == "accepted" and first.json()["status"] == "picked"
    assert ended_in(rt, parked)[0] == "Resumed"

    again = client.post(f"/v1/orders/{order.order_id}/pick-complete", body)
    assert again.status == 200, again.body
    assert again.json()["result"] == "duplicate"
    _, answers = ended_in(rt, parked)
    assert [a["type"] for a in answers] == ["TaskSucceeded"]  # the execution advanced once
    assert emf_totals(rt.logs("ingress"))["CallbackDuplicate"] == 1

    unknown = client.post("/v1/orders/SO-NOPE/pick-complete", body)
    assert (unknown.status, problem_type(unknown)) == (404, "unknown-order")
    forged = client.post(
        f"/v1/orders/{order.order_id}/pick-complete", body, headers={"X-Distrosync-Signature": "sha256=" + "0" * 64}
    )
    assert (forged.status, problem_type(forged)) == (401, "invalid-signature")
    west = partner_client(rt, register_partner(rt, "wh-west", "warehouse", ["location:DC-WEST"]))
    elsewhere = west.post(f"/v1/orders/{order.order_id}/pick-complete", body)
    assert (elsewhere.status, problem_type(elsewhere)) == (404, "unknown-order")  # no existence leak
    tms = partner_client(rt, register_partner(rt, "tms-x", "tms", ["location:*"]))
    wrong_kind = tms.post(f"/v1/orders/{order.order_id}/pick-complete", body)
    assert (wrong_kind.status, problem_type(wrong_kind)) == (403, "out-of-scope")

    view = customer.get(f"/v1/orders/{order.order_id}")
    assert view.status == 200, view.body
    fulfillment = view.json()["fulfillment"]
    assert fulfillment["status"] == "picked"
    assert fulfillment["waiting"]["waiting_for"] == "pick" and fulfillment["waiting"]["reported"] is True
    assert [(e["milestone"], e["source"]) for e in fulfillment["timeline"]] == [("picked", "wh-east")]
    record = store(rt).require(order.order_id)
    assert record.pick["packages"] == [{"package_id": "CTN-1", "weight_kg": 4.2}]
    assert record.waiting.claimed_by == "wh-east"


def test_a_short_pick_fails_the_wait_and_unknown_lines_are_refused(rt, catalog, client):
    order = captured_order(rt, "SO-SHORT-1", ("SKU-1", 5), ("SKU-2", 2))
    not_yet = client.post(f"/v1/orders/{order.order_id}/pick-complete", {"picked_at": utcnow().isoformat()})
    assert (not_yet.status, problem_type(not_yet)) == (409, "order-not-awaiting")
    parked = waiting_on(rt, order.order_id, "release", "released")

    path, now = f"/v1/orders/{order.order_id}/pick-complete", utcnow().isoformat()
    bad = client.post(path, {"picked_at": now, "lines": [{"line": 3, "quantity": 1}]})
    assert (bad.status, problem_type(bad)) == (422, "validation-failed")
    over = client.post(path, {"picked_at": now, "lines": [{"line": 1, "quantity": 6}]})
    assert (over.status, problem_type(over)) == (422, "validation-failed")

    short = client.post(path, {"picked_at": now, "lines": [{"line": 1, "quantity": 3}, {"line": 2, "quantity": 2}]})
    assert short.status == 202, short.body
    state, answers = ended_in(rt, parked)
    assert state == "Failed"
    assert answers[0]["taskFailedEventDetails"]["error"] == "ShortPick"
    record = store(rt).require(order.order_id)
    assert record.pick["short"] == "picked line 1: 3 of 5"  # the failure's cause
    assert record.status == "released"  # the exception step decides what follows


def test_cancel_while_waiting_for_the_pick_compensates_and_is_refused_after_dispatch(rt, catalog, client, customer):
    order = captured_order(rt, "SO-CANCEL-1", ("SKU-1", 5))
    parked = waiting_on(rt, order.order_id, "release", "released")

    cancelled = customer.post(f"/v1/orders/{order.order_id}/cancel", {"reason": "customer changed their mind"})
    assert cancelled.status == 202, cancelled.body
    assert cancelled.json()["result"] == "cancelling"
    state, answers = ended_in(rt, parked)
    assert state == "Cancelled"
    assert answers[0]["taskFailedEventDetails"]["error"] == "OrderCancelled"
    again = customer.post(f"/v1/orders/{order.order_id}/cancel", {"reason": "customer changed their mind"})
    assert (again.status, again.json()["result"]) == (200, "cancelled")
    late_pick = client.post(f"/v1/orders/{order.order_id}/pick-complete", {"picked_at": utcnow().isoformat()})
    assert (late_pick.status, problem_type(late_pick)) == (409, "order-closed")
    record = store(rt).require(order.order_id)
    assert record.cancel["by"] == "erp" and record.cancel["reason"] == "customer changed their mind"

    shipped = captured_order(rt, "SO-CANCEL-2", ("SKU-1", 1))
    record = store(rt).require(shipped.order_id)
    store(rt).advance(
        record,
        now=utcnow(),
        status="dispatched",
        set={"shipment": {"carrier": "UPS", "tracking_number": "1Z1", "dispatched_at": "2026-01-05T10:00:00+00:00"}},
    )
    refused = customer.post(f"/v1/orders/{shipped.order_id}/cancel", {"reason": "too late"})
    assert (refused.status, problem_type(refused)) == (409, "order-dispatched")
    assert refused.json()["dispatched_at"] == "2026-01-05T10:00:00+00:00"
    stranger = partner_client(rt, register_partner(rt, "wh-west", "warehouse", ["location:DC-WEST"]))
    hidden = stranger.post(f"/v1/orders/{order.order_id}/cancel", {"reason": "x"})
    assert (hidden.status, problem_type(hidden)) == (404, "unknown-order")
