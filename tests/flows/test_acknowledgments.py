"""Acknowledgments on the embedded runtime: the supplier's answer reaches inventory (on-order supply with promised
dates), the warehouse (its inbound expectation), planning (risk) and the ERP (the diff with its references); only
the PO's supplier may send it; duplicates and older acknowledgments change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from purchasing_helpers import create_po, create_supplier, days, incoming, po_line, problem

from shared.canonical.envelope import utcnow

PATH = "/v1/purchase-orders/{po}/acknowledgments"


def acknowledge(supplier, po: str, *lines: dict, ack_id: str = "ACK-1", issued_at=None):
    body = {
        "acknowledgment_id": ack_id,
        "issued_at": (issued_at or utcnow()).isoformat(),
        "lines": list(lines),
    }
    return supplier.portal.post(PATH.format(po=po), body)


@pytest.fixture
def po(rt, erp_client, acme) -> str:
    create_po(rt, erp_client, "PO-2001", po_line(1, "SKU-1", 100, requested=10), po_line(2, "SKU-2", 40, requested=10))
    return "PO-2001"


def test_a_partial_confirmation_with_a_later_date_ripples_to_inventory_warehouse_planning_and_erp(
    rt,
    erp_client,
    acme,
    po,
    captured_events,
):
    reply = acknowledge(
        acme,
        po,
        {"line": 1, "status": "changed", "quantity": 60, "promised_date": days(17), "unit_price": "4.10"},
        {"line": 2, "status": "accepted"},
    )
    assert reply.status == 201, reply.body
    body = reply.json()
    assert (body["outcome"], body["version"]) == ("applied", 2)

    (acked,) = captured_events("purchase_order.acknowledged")
    data = acked["data"]
    assert (data["erp_reference"], data["supplier_reference"], data["supplier_id"]) == (
        "ERP-PO-2001",
        "V-100",
        acme.supplier_id,
    )
    line1, line2 = data["lines"]
    assert (line1["confirmed_quantity"], line1["ordered_quantity"], line1["promised_date"]) == (60, 100, days(17))
    assert line1["changed"] == ["quantity", "date", "price", "status"]
    assert (line2["status"], line2["changed"]) == ("accepted", ["status"])
    assert acked["source_partner"] == "acme-portal"

    (supply,) = captured_events("inventory.incoming_updated")[-1:]  # the PO's creation published the first ones
    assert supply["data"] | {} == {
        "sku": "SKU-1",
        "location": "DC-EAST",
        "reference": "PO-2001/1",
        "kind": "on_order",
        "quantity": 60,
        "basis": "confirmed",
        "expected_date": days(17),
        "sequence": 2,
    }
    assert supply["source_partner"] == "acme-portal"
    expectation = captured_events("inbound.expectation_changed")[-1]["data"]
    assert [(x["reference"], x["quantity"], x["expected_date"]) for x in expectation["lines"]] == [
        ("PO-2001/1", 60, days(17)),
        ("PO-2001/2", 40, days(10)),
    ]
    (risk,) = captured_events("replenishment.risk_changed")
    assert (risk["data"]["line"], risk["data"]["reasons"]) == (1, ["late", "short"])
    assert (risk["data"]["days_late"], risk["data"]["shortfall"]) == (7, 40)

    rt.drain()
    assert incoming(erp_client, "SKU-1") == {"PO-2001/1": ("on_order", 60, days(17))}
    view = erp_client.get(f"/v1/purchase-orders/{po}").json()
    assert (view["acknowledgment_id"], view["ack_due_at"]) == ("ACK-1", None)
    assert [(x["status"], x["at_risk"]) for x in view["lines"]] == [("changed", True), ("accepted", False)]


def test_only_the_pos_own_supplier_acknowledges_it(rt, erp_client, acme, po, client, captured_events):
    globex = create_supplier(
        rt, erp_client, local_id="V-200", portal_id="globex-portal", legal_name="Globex GmbH", tax_id="DE999999999"
    )
    refused = acknowledge(globex, po, {"line": 1, "status": "rejected"})
    assert (refused.status, problem(refused)) == (403, "not-your-purchase-order")
    warehouse = client.post(PATH.format(po=po), {"acknowledgment_id": "A", "issued_at": utcnow().isoformat(),
                                                 "lines": [{"line": 1, "status": "accepted"}]})  # fmt: skip
    assert (warehouse.status, problem(warehouse)) == (403, "out-of-scope")
    missing = acknowledge(acme, "PO-404", {"line": 1, "status": "accepted"})
    assert (missing.status, problem(missing)) == (404, "unknown-purchase-order")
    assert captured_events("purchase_order.acknowledged") == []


def test_merged_suppliers_answer_for_each_others_purchase_orders(rt, erp_client, acme, po):
    from cli.suppliers import service

    # The same company, sent by the ERP a second time under another id without a tax id; a steward merges them.
    other = create_supplier(
        rt, erp_client, local_id="V-900", portal_id="acme-two", legal_name="Acme Supplies East", tax_id=None,
        address={"line1": "1 Dock Street", "city": "Newark", "postal_code": "07102", "country": "US"},
    )  # fmt: skip
    assert other.supplier_id != acme.supplier_id
    service(rt.outputs).merge(other.supplier_id, acme.supplier_id)
    # acme's PO, made before the merge, is answered by the survivor's portal
    assert acknowledge(other, po, {"line": 2, "status": "accepted"}).status == 201
    # a PO made after the merge names the survivor; the portal scoped to the merged id still answers it
    create_po(rt, erp_client, "PO-2002", po_line(1, "SKU-1", 5))
    assert erp_client.get("/v1/purchase-orders/PO-2002").json()["supplier_id"] == other.supplier_id
    assert acknowledge(acme, "PO-2002", {"line": 1, "status": "accepted"}).status == 201


def test_duplicates_change_nothing_and_older_acknowledgments_do_not_overwrite_newer_ones(
    rt,
    erp_client,
    acme,
    po,
    captured_events,
):
    t0 = utcnow()
    newer = acknowledge(acme, po, {"line": 1, "status": "changed", "quantity": 80}, ack_id="ACK-2",
                        issued_at=t0 + timedelta(hours=1))  # fmt: skip
    assert newer.status == 201, newer.body
    published = len(captured_events())

    duplicate = acknowledge(acme, po, {"line": 1, "status": "changed", "quantity": 80}, ack_id="ACK-2",
                            issued_at=t0 + timedelta(hours=1))  # fmt: skip
    assert (duplicate.status, duplicate.json()["outcome"]) == (200, "unchanged")
    assert duplicate.headers.get("Idempotent-Replayed") == "true"
    assert duplicate.json()["lines"] == newer.json()["lines"]

    older = acknowledge(acme, po, {"line": 1, "status": "rejected"}, ack_id="ACK-1", issued_at=t0)
    assert (older.status, older.json()["outcome"], older.json()["version"]) == (200, "superseded", 2)
    assert len(captured_events()) == published

    conflict = acknowledge(acme, po, {"line": 1, "status": "accepted"}, ack_id="ACK-2",
                           issued_at=t0 + timedelta(hours=1))  # fmt: skip
    assert (conflict.status, problem(conflict)) == (409, "conflict")
    view = erp_client.get(f"/v1/purchase-orders/{po}").json()
    assert (view["acknowledgment_id"], view["lines"][0]["confirmed_quantity"], view["version"]) == ("ACK-2", 80, 2)


def test_acknowledgments_contradicting_the_po_are_refused(rt, acme, po, captured_events):
    unknown = acknowledge(acme, po, {"line": 9, "status": "accepted"})
    assert (unknown.status, problem(unknown), unknown.json()["lines"]) == (422, "unknown-po-line", [9])
    too_many = acknowledge(acme, po, {"line": 1, "status": "changed", "quantity": 9, "unit": "case"})  # 108 > 100
    assert (too_many.status, problem(too_many)) == (422, "invalid-acknowledgment")
    assert too_many.json()["errors"][0]["pointer"] == "/lines/0/quantity"
    past = acknowledge(acme, po, {"line": 2, "status": "accepted", "promised_date": days(-1)})
    assert (past.status, problem(past)) == (422, "invalid-acknowledgment")
    assert captured_events("purchase_order.acknowledged") == []


def test_a_split_schedule_is_one_supply_line_per_delivery_in_eaches(rt, erp_client, acme, po, captured_events):
    reply = acknowledge(
        acme,
        po,
        {"line": 1, "status": "changed", "unit": "case", "schedule": [
            {"quantity": 3, "date": days(5)}, {"quantity": 5, "date": days(12)},
        ]},
    )  # fmt: skip
    assert reply.status == 201, reply.body
    (outcome,) = reply.json()["lines"]
    assert (outcome["confirmed_quantity"], outcome["promised_date"]) == (96, days(12))
    assert [(x["reference"], x["quantity"]) for x in outcome["schedule"]] == [("PO-2001/1#1", 36), ("PO-2001/1#2", 60)]
    rt.drain()
    assert incoming(erp_client, "SKU-1") == {
        "PO-2001/1#1": ("on_order", 36, days(5)),
        "PO-2001/1#2": ("on_order", 60, days(12)),
    }


def test_events_that_could_not_be_published_are_published_by_the_retry(rt, acme, po, captured_events, monkeypatch):
    from botocore.client import BaseClient

    real = BaseClient._make_api_call
    outage = {"on": True}

    def put_events_fails_during_the_outage(self, operation, params):
        if operation == "PutEvents" and outage["on"]:
            entries = [{"ErrorCode": "InternalFailure", "ErrorMessage": "outage"} for _ in params["Entries"]]
            return {"FailedEntryCount": len(entries), "Entries": entries}
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", put_events_fails_during_the_outage)
    issued = utcnow()
    first = acknowledge(acme, po, {"line": 1, "status": "accepted"}, issued_at=issued)
    assert (first.status, problem(first)) == (503, "unavailable")
    outage["on"] = False
    assert captured_events("purchase_order.acknowledged") == []

    retry = acknowledge(acme, po, {"line": 1, "status": "accepted"}, issued_at=issued)
    assert (retry.status, retry.json()["outcome"]) == (200, "applied"), retry.body
    assert len(captured_events("purchase_order.acknowledged")) == 1
    again = acknowledge(acme, po, {"line": 1, "status": "accepted"}, issued_at=issued)
    assert again.json()["outcome"] == "unchanged"
    assert len(captured_events("purchase_order.acknowledged")) == 1


def test_a_later_acknowledgment_does_not_reopen_what_was_received_against_the_line(rt, erp_client, client, acme, po):
    """The supplier does not see receipts: inventory deducts what arrived against the PO line from its confirmation."""
    first = {"line": 1, "status": "changed", "quantity": 80, "promised_date": days(12)}
    assert acknowledge(acme, po, first).status == 201
    rt.drain()
    receipt = {
        "sku": "SKU-1",
        "location": "DC-EAST",
        "quantity": 30,
        "incoming_reference": f"{po}/1",
        "sequence": 1,
        "occurred_at": utcnow().isoformat(),
    }
    assert client.post("/v1/inventory/receipts", receipt).status == 202
    rt.drain()
    assert incoming(erp_client, "SKU-1")[f"{po}/1"] == ("on_order", 50, days(12))

    later = {"line": 1, "status": "changed", "quantity": 80, "promised_date": days(14)}
    reply = acknowledge(acme, po, later, ack_id="ACK-2", issued_at=utcnow() + timedelta(seconds=1))
    assert reply.status == 201, reply.body
    rt.drain()
    assert incoming(erp_client, "SKU-1")[f"{po}/1"] == ("on_order", 50, days(14))
