"""Purchase orders on the embedded runtime: the ERP sends them (PUT), they become supply in inventory and the
warehouse's inbound expectation; revisions are ordered; refusals have their own problem types.

The helpers and the `acme` fixture here are shared with the other purchasing flow tests (acknowledgments, ship
notices, lead times, overdue acknowledgments), which import them: suppliers are created the real way, the ERP
posting its vendor record and the supplier's portal registered with scope `supplier:<golden id>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from cli.client import PartnerClient
from cli.local_session import partner_client, register_partner
from shared.canonical.envelope import utcnow

PROBLEM = "urn:distrosync:problem:"


# ------------------------------------------------------------------------------------------------- helpers
@dataclass(frozen=True)
class Supplier:
    supplier_id: str
    local_id: str
    portal: PartnerClient


def today() -> date:
    return utcnow().date()


def days(n: int) -> str:
    return (today() + timedelta(days=n)).isoformat()


def create_supplier(
    rt,
    erp_client: PartnerClient,
    *,
    local_id: str = "V-100",
    portal_id: str = "acme-portal",
    legal_name: str = "ACME Industrial Supply, Inc.",
    tax_id: str | None = "12-3456789",
    **record: Any,
) -> Supplier:
    """The ERP's vendor record (the golden supplier it creates), and the supplier's portal partner."""
    body = {
        "local_id": local_id,
        "sequence": 1,
        "legal_name": legal_name,
        "address": {"line1": "12 Harbour Road", "city": "Boston", "postal_code": "02110", "country": "US"},
        **({"tax_id": tax_id} if tax_id else {}),
        **record,
    }
    reply = erp_client.post("/v1/supplier-records", body)
    assert reply.status in (200, 201), reply.body
    gid = reply.json()["supplier_id"]
    portal = partner_client(rt, register_partner(rt, portal_id, "supplier", [f"supplier:{gid}"]))
    return Supplier(gid, local_id, portal)


def po_line(n: int, sku: str, quantity: int, *, requested: int = 14, need: int | None = None, **extra: Any) -> dict:
    line = {"line": n, "sku": sku, "quantity": quantity, "unit_price": "4.25", "requested_date": days(requested)}
    if need is not None:
        line["need_date"] = days(need)
    return {**line, **extra}


def put_po(client: PartnerClient, po: str, *lines: dict, revision: int = 1, supplier: str = "V-100", **extra: Any):
    body = {
        "revision": revision,
        "supplier": supplier,
        "location": "DC-EAST",
        "erp_reference": f"ERP-{po}",
        "lines": list(lines) or [po_line(1, "SKU-1", 100), po_line(2, "SKU-2", 40)],
        **extra,
    }
    return client.request("PUT", f"/v1/purchase-orders/{po}", json_body=body)


def create_po(rt, client: PartnerClient, po: str, *lines: dict, **extra: Any) -> dict:
    reply = put_po(client, po, *lines, **extra)
    assert reply.status == 201, reply.body
    rt.drain()
    return reply.json()


def incoming(client: PartnerClient, sku: str, location: str = "DC-EAST") -> dict[str, tuple[str, int, str]]:
    """The position's incoming lines: reference -> (kind, open quantity, expected date)."""
    reply = client.get(f"/v1/inventory/{sku}", {"location": location})
    assert reply.status == 200, reply.body
    positions = reply.json()["positions"]
    if not positions:
        return {}
    return {x["reference"]: (x["kind"], x["quantity"], x["expected_date"]) for x in positions[0]["incoming"]}


def problem(reply) -> str:
    assert reply.headers.get("Content-Type", reply.headers.get("content-type", "")).startswith(
        "application/problem+json"
    ), reply.body
    return reply.json()["type"].removeprefix(PROBLEM)


@pytest.fixture
def acme(rt, erp_client) -> Supplier:
    return create_supplier(rt, erp_client)


# --------------------------------------------------------------------------------------------------- tests
def test_a_new_po_is_on_order_in_inventory_and_expected_by_the_warehouse(rt, erp_client, acme, captured_events):
    reply = put_po(erp_client, "PO-1001")
    assert reply.status == 201, reply.body
    body = reply.json()
    assert body["outcome"] == "created"
    view = body["purchase_order"]
    assert (view["supplier_id"], view["supplier_reference"], view["version"]) == (acme.supplier_id, "V-100", 1)
    assert view["ack_due_at"] is not None
    assert [(x["line"], x["status"], x["ordered_quantity"]) for x in view["lines"]] == [
        (1, "open", 100),
        (2, "open", 40),
    ]

    (created,) = captured_events("purchase_order.created")
    assert created["data"]["purchase_order"]["supplier_id"] == acme.supplier_id
    assert created["source_partner"] == "erp" and created["id"] in body["event_ids"]
    supply = captured_events("inventory.incoming_updated")
    assert sorted((e["data"]["reference"], e["data"]["quantity"], e["data"]["sequence"]) for e in supply) == [
        ("PO-1001/1", 100, 1),
        ("PO-1001/2", 40, 1),
    ]
    (expected,) = captured_events("inbound.expectation_changed")
    assert [(x["reference"], x["quantity"]) for x in expected["data"]["lines"]] == [
        ("PO-1001/1", 100),
        ("PO-1001/2", 40),
    ]

    rt.drain()
    assert incoming(erp_client, "SKU-1") == {"PO-1001/1": ("on_order", 100, days(14))}


def test_revisions_are_ordered_older_ones_change_nothing(rt, erp_client, acme, captured_events):
    create_po(rt, erp_client, "PO-1002")
    changed = put_po(erp_client, "PO-1002", po_line(1, "SKU-1", 120, requested=20), po_line(2, "SKU-2", 40), revision=3)
    assert changed.status == 200, changed.body
    assert changed.json()["outcome"] == "changed"
    (event,) = captured_events("purchase_order.changed")
    assert (event["data"]["previous_revision"], event["data"]["changed_lines"], event["data"]["version"]) == (1, [1], 2)
    rt.drain()
    assert incoming(erp_client, "SKU-1") == {"PO-1002/1": ("on_order", 120, days(20))}

    count = len(captured_events())
    older = put_po(erp_client, "PO-1002", po_line(1, "SKU-1", 5), revision=2)
    assert (older.status, older.json()["outcome"]) == (200, "superseded")
    again = put_po(erp_client, "PO-1002", po_line(1, "SKU-1", 120, requested=20), po_line(2, "SKU-2", 40), revision=3)
    assert (again.status, again.json()["outcome"]) == (200, "unchanged")
    assert len(captured_events()) == count
    assert again.json()["purchase_order"]["lines"][0]["ordered_quantity"] == 120


def test_quantities_convert_to_eaches_and_a_cancelled_po_leaves_inventory(rt, erp_client, acme):
    view = create_po(rt, erp_client, "PO-1003", po_line(1, "SKU-3", 2, unit="case"))["purchase_order"]
    assert view["lines"][0]["ordered_quantity"] == 24
    assert incoming(erp_client, "SKU-3") == {"PO-1003/1": ("on_order", 24, days(14))}

    cancelled = put_po(erp_client, "PO-1003", po_line(1, "SKU-3", 2, unit="case"), revision=2, status="cancelled")
    assert cancelled.status == 200, cancelled.body
    assert cancelled.json()["purchase_order"]["incoming"] == []
    rt.drain()
    assert incoming(erp_client, "SKU-3") == {}  # closed lines are not listed


REFUSALS = [
    ({"supplier": "V-404"}, "unknown-supplier", "/supplier"),
    ({"lines": [po_line(1, "SKU-404", 1)]}, "unknown-sku", "/lines/0/sku"),
    ({"location": "DC-MARS"}, "unknown-location", "/location"),
    ({"lines": [po_line(1, "SKU-1", 1, unit="crate")]}, "unknown-unit-of-measure", "/lines/0/unit"),
    ({"lines": [po_line(1, "SKU-1", 1), po_line(1, "SKU-2", 1)]}, "validation-failed", "/lines/1/line"),
]


def test_refusals_name_the_unknown_supplier_sku_location_or_unit_and_the_partner_out_of_scope(
    rt, erp_client, acme, client, captured_events
):
    for change, slug, pointer in REFUSALS:
        body = {"revision": 1, "supplier": "V-100", "location": "DC-EAST", "lines": [po_line(1, "SKU-1", 1)], **change}
        reply = erp_client.request("PUT", "/v1/purchase-orders/PO-BAD", json_body=body)
        assert (reply.status, problem(reply)) == (422, slug), reply.body
        assert pointer in [e["pointer"] for e in reply.json()["errors"]], reply.body

    assert problem(put_po(client, "PO-BAD")) == "out-of-scope"  # a warehouse
    assert problem(put_po(acme.portal, "PO-BAD")) == "out-of-scope"  # the supplier
    west = partner_client(rt, register_partner(rt, "erp-west", "erp", ["location:DC-WEST"]))
    refused = put_po(west, "PO-BAD")
    assert (refused.status, problem(refused)) == (403, "out-of-scope")

    assert erp_client.get("/v1/purchase-orders/PO-BAD").status == 404
    assert captured_events("purchase_order.created") == []


def test_the_po_is_readable_by_its_erp_and_its_supplier_only(rt, erp_client, acme):
    create_po(rt, erp_client, "PO-1005")
    assert erp_client.get("/v1/purchase-orders/PO-1005").json()["po_number"] == "PO-1005"
    assert acme.portal.get("/v1/purchase-orders/PO-1005").json()["supplier_id"] == acme.supplier_id
    other = create_supplier(rt, erp_client, local_id="V-200", portal_id="globex-portal", legal_name="Globex GmbH",
                            tax_id="DE999999999")  # fmt: skip
    refused = other.portal.get("/v1/purchase-orders/PO-1005")
    assert (refused.status, problem(refused)) == (403, "not-your-purchase-order")
    missing = erp_client.get("/v1/purchase-orders/PO-9999")
    assert (missing.status, problem(missing)) == (404, "unknown-purchase-order")
