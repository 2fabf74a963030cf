"""Overdue acknowledgments on the embedded runtime: the scheduled `ack_overdue` function raises
purchase_order.ack_overdue once per PO not acknowledged within its supplier's window (default 48 h)."""

from __future__ import annotations

from datetime import datetime, timedelta

from purchasing_helpers import create_supplier, po_line, put_po

from shared.aws.purchasing_store import PurchasingStore
from shared.canonical.envelope import utcnow
from shared.services.purchasing import PurchasingService


def scheduled_event() -> dict:
    """An EventBridge scheduled event, as the rule on the default bus sends it."""
    return {
        "version": "0",
        "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/distrosync-dev-ack-overdue"],
        "detail": {},
    }


def sweep(rt) -> dict:
    invocation = rt.invoke("ack_overdue", scheduled_event())
    assert invocation.ok, invocation.error
    return invocation.payload


def send(erp_client, po: str, sent_at: datetime, supplier: str = "V-100"):
    reply = put_po(erp_client, po, po_line(1, "SKU-1", 10), supplier=supplier, sent_at=sent_at.isoformat())
    assert reply.status == 201, reply.body
    return reply


def test_pos_not_acknowledged_within_their_suppliers_window_are_reported_once(rt, erp_client, acme, captured_events):
    now = utcnow()
    create_supplier(rt, erp_client, local_id="V-300", portal_id="quick-portal", legal_name="Quick Parts LLC",
                    tax_id="33-3333333", ack_window_hours=4)  # fmt: skip
    late = send(erp_client, "PO-4001", now - timedelta(days=3))
    send(erp_client, "PO-4002", now)  # within its 48 hours
    send(erp_client, "PO-4003", now - timedelta(days=3))
    answered = acme.portal.post(
        "/v1/purchase-orders/PO-4003/acknowledgments",
        {"acknowledgment_id": "ACK-1", "issued_at": now.isoformat(), "lines": [{"line": 1, "status": "accepted"}]},
    )
    assert answered.status == 201, answered.body
    send(erp_client, "PO-4004", now - timedelta(hours=5), supplier="V-300")  # past its supplier's 4 hours

    assert sweep(rt)["overdue"] == 2
    overdue = {e["data"]["po_number"]: e for e in captured_events("purchase_order.ack_overdue")}
    assert sorted(overdue) == ["PO-4001", "PO-4004"]
    first = overdue["PO-4001"]
    assert first["data"]["supplier_id"] == acme.supplier_id
    assert first["data"]["ack_window_hours"] == 48 and first["data"]["erp_reference"] == "ERP-PO-4001"
    assert datetime.fromisoformat(first["data"]["ack_due_at"]) == now - timedelta(days=3) + timedelta(hours=48)
    assert first["correlation_id"] == late.headers["X-Correlation-Id"]  # the flow the PO started
    assert overdue["PO-4004"]["data"]["ack_window_hours"] == 4

    assert sweep(rt)["overdue"] == 0
    assert len(captured_events("purchase_order.ack_overdue")) == 2
    view = erp_client.get("/v1/purchase-orders/PO-4001").json()
    assert view["ack_overdue_at"] is not None and view["ack_due_at"] is None
    # acknowledged late, the PO is answered as usual
    late_answer = acme.portal.post(
        "/v1/purchase-orders/PO-4001/acknowledgments",
        {"acknowledgment_id": "ACK-9", "issued_at": now.isoformat(), "lines": [{"line": 1, "status": "accepted"}]},
    )
    assert late_answer.status == 201, late_answer.body


def test_the_window_is_measured_against_the_services_clock(rt, erp_client, acme, captured_events):
    sent = utcnow()
    send(erp_client, "PO-4010", sent)
    store = PurchasingStore(rt.outputs["PurchasingTableName"])
    bus = rt.outputs["EventBusName"]
    assert PurchasingService(store, bus, clock=lambda: sent + timedelta(hours=47)).sweep_overdue().overdue == 0
    report = PurchasingService(store, bus, clock=lambda: sent + timedelta(hours=48, seconds=1)).sweep_overdue()
    assert (report.overdue, report.complete) == (1, True)
    (event,) = captured_events("purchase_order.ack_overdue")
    assert event["data"]["po_number"] == "PO-4010" and event["source_partner"] == "distrosync.ack-overdue"
