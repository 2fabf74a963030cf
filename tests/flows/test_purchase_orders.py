"""Purchase orders on the embedded runtime: the ERP sends them (PUT), they become supply in inventory and the
warehouse's inbound expectation; revisions are ordered; refusals have their own problem types.

Helpers shared with the other purchasing flow tests are in purchasing_helpers.py; `acme` is in conftest.py.
"""

from __future__ import annotations

from purchasing_helpers import create_po, create_supplier, days, incoming, po_line, problem, put_po

from cli.local_session import partner_client, register_partner


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
