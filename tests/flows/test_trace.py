"""`distrosync trace KEY` on the embedded runtime: a PO's and an order's whole story, in time order, from every
source (the journal's events and state changes, the order's execution steps, adapter calls, dead letters)."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from purchasing_helpers import create_po, days, po_line

from shared.aws.clients import client as aws
from shared.aws.fulfillment_store import TimelineEntry
from shared.canonical.envelope import utcnow
from tests.flows.order_flow_fixtures import (
    count_stock,
    flow_record,
    place_order,
    wait_for_end,
    wait_for_waiting,
)
from tests.flows.systems_fixtures import connect_system

pytestmark = pytest.mark.order_flow

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def put_dead_letter(business_key: str, event_id: str, error_class: str, error: str, failed_at: str) -> None:
    """A dead letter as the projector's consumer leaves it: the body and its `distrosync-dead-letter` story."""
    sqs = aws("sqs")
    story = {
        "error_class": error_class, "error": error, "handler": "distrosync-dev-projector", "attempts": 1,
        "first_failure_at": failed_at, "last_failure_at": failed_at, "correlation_id": "c-1",
        "business_key": business_key, "event_id": event_id, "event_type": "receipt.posted",
        "source_queue": "arn:aws:sqs:us-east-1:123456789012:distrosync-dev-projector", "message_id": event_id,
    }  # fmt: skip
    body = {"detail-type": "receipt.posted", "detail": {"id": event_id, "type": "receipt.posted"}}
    sqs.send_message(
        QueueUrl=sqs.get_queue_url(QueueName="distrosync-dev-projector-dlq")["QueueUrl"],
        MessageBody=json.dumps(body),
        MessageAttributes={"distrosync-dead-letter": {"DataType": "String", "StringValue": json.dumps(story)}},
    )


def lines_of(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.strip()]


def assert_time_ordered(lines: list[str]) -> None:
    stamps = [line.split("  ", 1)[0] for line in lines]
    assert stamps == sorted(stamps), lines


def index(lines: list[str], text: str) -> int:
    found = [n for n, line in enumerate(lines) if text in line]
    assert found, f"{text!r} not in:\n" + "\n".join(lines)
    return found[0]


def test_a_purchase_orders_story_from_creation_to_receipt(rt, cli, erp_client, client, acme, webhook_receiver):
    planning = webhook_receiver()
    connect_system(
        rt, "planning", "planning", "webhook", target=planning, subscriptions=["purchase_order.acknowledged"]
    )
    create_po(rt, erp_client, "PO-7001", po_line(1, "SKU-1", 100, requested=10))
    ack = {
        "acknowledgment_id": "ACK-1",
        "issued_at": utcnow().isoformat(),
        "lines": [{"line": 1, "status": "accepted"}],
    }
    assert acme.portal.post("/v1/purchase-orders/PO-7001/acknowledgments", ack).status == 201
    rt.drain()
    notice = {
        "ship_notice_id": "ASN-1",
        "shipped_at": utcnow().isoformat(),
        "carrier": "UPS",
        "tracking_number": "1Z999AA10123456784",
        "eta": days(5),
        "lines": [{"line": 1, "quantity": 100}],
        "cartons": [],
    }
    assert acme.portal.post("/v1/purchase-orders/PO-7001/ship-notices", notice).status == 201
    rt.drain()
    receipt = {
        "sku": "SKU-1",
        "location": "DC-EAST",
        "quantity": 100,
        "incoming_reference": "PO-7001/1/ASN-1",
        "sequence": 1,
        "occurred_at": utcnow().isoformat(),
    }
    assert client.post("/v1/inventory/receipts", receipt).status == 202
    rt.drain()
    failed_at = (utcnow() + timedelta(seconds=1)).isoformat()
    put_dead_letter("po:PO-7001", "e-x", "missing_reference", "UnknownPoLine: PO-7001/9", failed_at)
    put_dead_letter("po:PO-0000", "e-y", "validation", "ValidationError", failed_at)

    code, out, err = cli("trace", "po:PO-7001")
    assert code == 0, err
    lines = lines_of(out)
    assert_time_ordered(lines)
    assert all(re.match(TIME + "  ", line) for line in lines), lines
    created = index(lines, "event  purchase_order.created PO-7001")
    acknowledged = index(lines, "purchase_order.acknowledged PO-7001")
    shipped = index(lines, "ship_notice.received PO-7001/ASN-1")
    received = index(lines, "receipt.posted SKU-1@DC-EAST qty 100")
    assert created < acknowledged < shipped < received
    assert "(erp)" in lines[created] and "(acme-portal)" in lines[acknowledged]
    call = index(lines, "call   purchase_order.acknowledged PO-7001 -> planning: delivered")
    assert call > acknowledged
    dead = index(lines, "dead_letter  receipt.posted po:PO-7001 in distrosync-dev-projector-dlq: missing_reference")
    assert dead == len(lines) - 1 and "PO-0000" not in out
    assert "12 Harbour Road" not in out and "4.25" not in out  # ids, statuses, quantities: no addresses, prices

    code, out, _ = cli("trace", "PO-7001", "--json")  # a bare value: every kind
    document = json.loads(out)
    assert code == 0 and document["key"] == "PO-7001"
    kinds = {e["kind"] for e in document["entries"]}
    assert {"event", "call", "dead_letter"} <= kinds
    (created,) = [e for e in document["entries"] if e["details"].get("type") == "purchase_order.created"]
    assert (created["kind"], created["source"], created["details"]["source_partner"]) == ("event", "journal", "erp")

    code, out, err = cli("trace", "po:PO-NOPE")
    assert (code, out) == (1, "") and "nothing is known about po:PO-NOPE" in err


def resume(rt, order_id: str, step: str, *, by: str, status: str | None = None, **attributes) -> None:
    """What a partner's callback does: claim the wait on the order, then SendTaskSuccess."""
    from shared.aws.fulfillment_store import FulfillmentStore

    record = wait_for_waiting(rt, order_id, step)
    now = utcnow()
    FulfillmentStore(rt.outputs["OrdersTableName"]).advance(
        record,
        now=now,
        status=status,
        waiting=record.waiting.__class__(**{**vars(record.waiting), "claimed_at": now, "claimed_by": by}),
        set=attributes,
        timeline=[TimelineEntry(now, status or f"{step}_confirmed", by)],
    )
    aws("stepfunctions").send_task_success(taskToken=record.waiting.token, output=json.dumps({"by": by}))


def test_an_orders_story_with_its_execution_steps(rt, cli, client, erp_client, order_systems):
    count_stock(rt, client, "SKU-1", 10)
    place_order(erp_client, "SO-7001", ("SKU-1", 4))
    resume(rt, "SO-7001", "release", by="wh-east", status="picked")
    shipment = {"carrier": "fedex", "tracking_number": "7901", "dispatched_at": utcnow().isoformat()}
    resume(rt, "SO-7001", "ship", by="tms", shipment=shipment)
    resume(rt, "SO-7001", "track", by="fedex", status="delivered")
    assert wait_for_end(rt, "SO-7001")["status"] == "SUCCEEDED"
    assert flow_record(rt, "SO-7001").status == "completed"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and rt.drain().received:
        time.sleep(0.05)  # the last step's events reach the queues a moment after the execution ended

    code, out, err = cli("trace", "order:SO-7001")
    assert code == 0, err
    lines = lines_of(out)
    assert_time_ordered(lines)
    order_created = index(lines, "event  order.created SO-7001")
    started = index(lines, "step   execution SO-7001-")
    assert lines[started].endswith("started")
    reserve = index(lines, "step   Reserve entered")
    released = index(lines, "state  order.status_changed SO-7001 open -> released")
    wms_call = index(lines, "call   order.released SO-7001 -> wh-east: delivered")
    waits = index(lines, "step   Release waits for its task token")
    picked = index(lines, "released -> picked")
    shipped = index(lines, "event  shipment.dispatched SO-7001")
    completed = index(lines, "completed")
    end = index(lines, "step   execution succeeded")
    assert order_created < started < reserve < released < picked < shipped < completed <= end
    assert reserve < waits < wms_call < picked

    code, out, _ = cli("trace", "SO-7001")  # bare: the same story
    assert code == 0 and "step   execution succeeded" in out and "order.created SO-7001" in out
