"""Supplier invoices on the embedded runtime: an invoice against a PO is kept with its three-way match against
the PO and what the warehouse received (in eaches, prices per each), earlier invoices count, a mismatch is an
exception and not a refusal; only the PO's supplier may invoice it; the same invoice again changes nothing."""

from __future__ import annotations

import pytest
from purchasing_helpers import create_po, create_supplier, days, po_line, problem

from shared.canonical.envelope import utcnow

PATH = "/v1/purchase-orders/{po}/invoices"


def invoice(supplier, po: str, *lines: dict, invoice_id: str = "INV-1", **extra):
    body = {"invoice_id": invoice_id, "invoice_date": days(0), "lines": list(lines), **extra}
    return supplier.portal.post(PATH.format(po=po), body)


def receive(rt, client, sku: str, quantity: int, reference: str, sequence: int) -> None:
    """The warehouse's receipt against an incoming reference of the PO, projected into inventory."""
    body = {
        "sku": sku,
        "location": "DC-EAST",
        "quantity": quantity,
        "incoming_reference": reference,
        "sequence": sequence,
        "occurred_at": utcnow().isoformat(),
    }
    reply = client.post("/v1/inventory/receipts", body)
    assert reply.status == 202, reply.body
    rt.drain()


@pytest.fixture
def po(rt, erp_client, client, acme) -> str:
    """PO-4001: line 1 100 x SKU-1, line 2 48 x SKU-2 at 4.25 each, both accepted; 60 of line 1 and all of line
    2 shipped on ASN-1, of which the warehouse received 50 of line 1 and the 48 of line 2."""
    create_po(rt, erp_client, "PO-4001", po_line(1, "SKU-1", 100), po_line(2, "SKU-2", 48), currency="USD")
    portal = acme.portal
    ack = {"acknowledgment_id": "ACK-1", "issued_at": utcnow().isoformat(), "lines": [
        {"line": 1, "status": "accepted"}, {"line": 2, "status": "accepted"}]}  # fmt: skip
    assert portal.post("/v1/purchase-orders/PO-4001/acknowledgments", ack).status == 201
    notice = {"ship_notice_id": "ASN-1", "shipped_at": utcnow().isoformat(), "carrier": "UPS", "eta": days(3),
              "lines": [{"line": 1, "quantity": 60}, {"line": 2, "quantity": 48}]}  # fmt: skip
    assert portal.post("/v1/purchase-orders/PO-4001/ship-notices", notice).status == 201
    rt.drain()
    receive(rt, client, "SKU-1", 50, "PO-4001/1/ASN-1", 1)
    receive(rt, client, "SKU-2", 48, "PO-4001/2/ASN-1", 2)
    return "PO-4001"


def test_an_invoice_of_what_was_received_matches_and_is_published_once(rt, acme, po, captured_events):
    reply = invoice(
        acme,
        po,
        {"line": 1, "sku": "SKU-1", "quantity": 50, "unit_price": "4.25"},
        {"line": 2, "quantity": 4, "unit": "case", "unit_price": "51.00"},  # 48 eaches at 4.25
        currency="USD",
        total="416.50",
        terms="2/10 NET 30",
    )
    assert reply.status == 201, reply.body
    assert reply.headers.get("Idempotent-Replayed") == "false"
    body = reply.json()
    assert body["outcome"] == "applied"
    stored = body["invoice"]
    assert (stored["po_number"], stored["supplier_id"], stored["location"], stored["terms"]) == (
        po,
        acme.supplier_id,
        "DC-EAST",
        "2/10 NET 30",
    )
    assert stored["match"] == {"status": "matched", "issues": [], "lines_total": "416.50", "exception_lines": 0}
    line1, line2 = stored["lines"]
    assert (line2["quantity"], line2["unit_price"], line2["amount"]) == (48, "4.25", "204.00")
    assert line1["match"] == {
        "status": "matched",
        "issues": [],
        "po_sku": "SKU-1",
        "ordered_quantity": 100,
        "received_quantity": 50,
        "invoiced_quantity": 50,
        "po_unit_price": "4.25",
        "price_variance": "0.00",
    }
    assert line2["match"]["received_quantity"] == 48

    (event,) = captured_events("supplier_invoice.received")
    assert (event["subject"], event["source_partner"], event["id"]) == (
        f"{po}/INV-1",
        "acme-portal",
        body["event_ids"][0],
    )
    assert event["correlation_id"] == reply.headers.get("X-Correlation-Id")
    assert (event["data"]["erp_reference"], event["data"]["supplier_reference"]) == ("ERP-PO-4001", "V-100")
    assert event["data"]["invoice"] == stored

    count = len(captured_events())
    again = invoice(
        acme,
        po,
        {"line": 1, "sku": "SKU-1", "quantity": 50, "unit_price": "4.25"},
        {"line": 2, "quantity": 4, "unit": "case", "unit_price": "51.00"},
        currency="USD",
        total="416.50",
        terms="2/10 NET 30",
    )
    assert (again.status, again.json()["outcome"], again.headers.get("Idempotent-Replayed")) == (
        200,
        "unchanged",
        "true",
    )
    assert again.json()["invoice"] == stored
    assert len(captured_events()) == count
    conflict = invoice(acme, po, {"line": 1, "quantity": 49, "unit_price": "4.25"})
    assert (conflict.status, problem(conflict)) == (409, "conflict")
    assert conflict.json()["id"] == "INV-1"


def test_mismatches_are_kept_as_exceptions_and_earlier_invoices_count(rt, acme, po, captured_events):
    first = invoice(acme, po, {"line": 1, "quantity": 40, "unit_price": "4.25"}, invoice_id="INV-A")
    assert (first.status, first.json()["invoice"]["match"]["status"]) == (201, "matched")

    # 40 invoiced before: 20 more is beyond the 50 received (not the 100 ordered)
    second = invoice(
        acme,
        po,
        {"line": 1, "sku": "SKU-9", "quantity": 20, "unit_price": "4.40"},  # another item, 3.5% dearer
        {"line": 7, "quantity": 1, "unit_price": "1.00"},
        total="100.00",
        currency="EUR",
        invoice_id="INV-B",
    )
    assert second.status == 201, second.body
    stored = second.json()["invoice"]
    assert stored["match"] == {
        "status": "exceptions",
        "issues": ["total_mismatch", "currency_mismatch"],
        "lines_total": "89.00",
        "exception_lines": 2,
    }
    line1, line7 = stored["lines"]
    assert line1["match"]["issues"] == ["sku_mismatch", "over_received", "price_variance"]
    assert (line1["match"]["invoiced_quantity"], line1["match"]["price_variance"]) == (60, "0.15")
    assert line7["match"] == {
        "status": "exceptions",
        "issues": ["unknown_line"],
        "po_sku": None,
        "ordered_quantity": None,
        "received_quantity": None,
        "invoiced_quantity": 1,
        "po_unit_price": None,
        "price_variance": None,
    }
    third = invoice(acme, po, {"line": 1, "quantity": 41, "unit_price": "4.25"}, invoice_id="INV-C")
    assert third.json()["invoice"]["lines"][0]["match"]["issues"] == ["over_ordered", "over_received"]  # 101
    statuses = [e["data"]["invoice"]["match"]["status"] for e in captured_events("supplier_invoice.received")]
    assert statuses == ["matched", "exceptions", "exceptions"]


def test_the_supplier_may_name_items_by_gtin_or_its_own_cross_reference(rt, erp_client, acme, captured_events):
    item = {"units": {"each": 1, "case": 12}, "gtin": "00012345678905", "sequence": 2,
            "cross_references": [{"system": "acme-portal", "id": "ACME-777"}]}  # fmt: skip
    assert erp_client.request("PUT", "/v1/items/SKU-3", json_body=item).status == 200
    create_po(rt, erp_client, "PO-4002", po_line(1, "SKU-3", 24), po_line(2, "SKU-3", 12))
    reply = invoice(
        acme,
        "PO-4002",
        {"line": 1, "sku": "012345678905", "quantity": 2, "unit": "case", "unit_price": "51.00"},  # UPC-A
        {"line": 2, "sku": "ACME-777", "quantity": 12, "unit_price": "4.25"},
    )
    assert reply.status == 201, reply.body
    lines = reply.json()["invoice"]["lines"]
    assert [(x["sku"], x["quantity"], x["match"]["issues"]) for x in lines] == [
        ("012345678905", 24, ["over_received"]),  # nothing received yet
        ("ACME-777", 12, ["over_received"]),
    ]


def test_refusals_unknown_po_another_supplier_not_a_supplier_and_units(rt, erp_client, acme, po, captured_events):
    line = {"line": 1, "quantity": 1, "unit_price": "4.25"}
    unknown = invoice(acme, "PO-404", line)
    assert (unknown.status, problem(unknown)) == (404, "unknown-purchase-order")

    globex = create_supplier(
        rt, erp_client, local_id="V-200", portal_id="globex-portal", legal_name="Globex GmbH", tax_id="DE999999999"
    )
    refused = invoice(globex, po, line)
    assert (refused.status, problem(refused)) == (403, "not-your-purchase-order")
    by_erp = erp_client.post(PATH.format(po=po), {"invoice_id": "INV-1", "invoice_date": days(0), "lines": [line]})
    assert (by_erp.status, problem(by_erp)) == (403, "out-of-scope")

    crate = invoice(acme, po, {**line, "unit": "crate"})
    assert (crate.status, problem(crate)) == (422, "unknown-unit-of-measure")
    assert crate.json()["errors"][0]["pointer"] == "/lines/0/unit"
    no_item = invoice(acme, po, {"line": 9, "quantity": 1, "unit": "case", "unit_price": "1"})
    assert (no_item.status, problem(no_item)) == (422, "validation-failed")
    assert no_item.json()["errors"][0]["pointer"] == "/lines/0/unit"
    empty = invoice(acme, po)
    assert (empty.status, problem(empty)) == (422, "validation-failed")
    assert captured_events("supplier_invoice.received") == []


def test_an_invoice_against_a_cancelled_po_is_kept_as_an_exception(rt, erp_client, acme):
    create_po(rt, erp_client, "PO-4003", po_line(1, "SKU-1", 10))
    body = {"revision": 2, "supplier": "V-100", "location": "DC-EAST", "status": "cancelled",
            "lines": [po_line(1, "SKU-1", 10)]}  # fmt: skip
    assert erp_client.request("PUT", "/v1/purchase-orders/PO-4003", json_body=body).status == 200
    reply = invoice(acme, "PO-4003", {"line": 1, "quantity": 10, "unit_price": "4.25"})
    assert reply.status == 201, reply.body
    assert reply.json()["invoice"]["match"]["issues"] == ["po_cancelled"]


def test_a_long_invoice_is_kept_whole_and_one_whose_event_would_not_fit_is_refused(rt, acme, po, captured_events):
    lines = [{"line": n, "quantity": 1, "unit_price": "1.00"} for n in range(3, 803)]  # not on the PO
    reply = invoice(acme, po, *lines, invoice_id="INV-LONG")
    assert reply.status == 201, reply.body
    stored = reply.json()["invoice"]
    assert (stored["match"]["exception_lines"], stored["match"]["lines_total"]) == (800, "800.00")
    again = invoice(acme, po, *lines, invoice_id="INV-LONG")
    assert (again.status, again.json()["invoice"]) == (200, stored)

    named = [{"line": n, "sku": f"{n:04d}" + "X" * 60, "quantity": 1, "unit_price": "1.00"} for n in range(1, 1000)]
    refused = invoice(acme, po, *named, invoice_id="INV-HUGE")
    assert (refused.status, problem(refused)) == (422, "too-many-lines")
    assert refused.json()["event_bytes"] > refused.json()["limit_bytes"] == 256 * 1024
    assert [e["subject"] for e in captured_events("supplier_invoice.received")] == [f"{po}/INV-LONG"]
