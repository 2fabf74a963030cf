"""Ship notices on the embedded runtime: shipped lines in transit, the unshipped rest on order, cartons with valid
SSCCs, no over-shipment; the warehouse's receipt against the notice closes it in inventory."""

from __future__ import annotations

import pytest
from purchasing_helpers import Supplier, create_po, create_supplier, days, incoming, po_line, problem

from shared.canonical.envelope import utcnow

PATH = "/v1/purchase-orders/{po}/ship-notices"
SSCC_A = "106141411234567897"  # the GS1 General Specifications' example
SSCC_B = "106141411234567903"


SHIPPED_AT = utcnow().replace(microsecond=0).isoformat()


def ship(supplier: Supplier, po: str, *lines: dict, notice: str = "ASN-1", cartons: list | None = None, eta: int = 8):
    body = {
        "ship_notice_id": notice,
        "shipped_at": SHIPPED_AT,
        "carrier": "UPS",
        "tracking_number": "1Z999AA10123456784",
        "eta": days(eta),
        "lines": list(lines),
        "cartons": cartons or [],
    }
    return supplier.portal.post(PATH.format(po=po), body)


@pytest.fixture
def po(rt, erp_client, acme) -> str:
    create_po(rt, erp_client, "PO-3001", po_line(1, "SKU-1", 100, requested=10), po_line(2, "SKU-2", 40, requested=10))
    reply = acme.portal.post(
        "/v1/purchase-orders/PO-3001/acknowledgments",
        {
            "acknowledgment_id": "ACK-1",
            "issued_at": utcnow().isoformat(),
            "lines": [{"line": 1, "status": "changed", "quantity": 80}, {"line": 2, "status": "accepted"}],
        },
    )
    assert reply.status == 201, reply.body
    rt.drain()
    return "PO-3001"


def test_a_partial_shipment_is_in_transit_the_rest_stays_on_order_and_the_receipt_closes_it(
    rt, erp_client, client, acme, po, captured_events
):
    cartons = [{"sscc": SSCC_A, "lines": [{"line": 1, "quantity": 20}]},
               {"sscc": SSCC_B, "lines": [{"line": 1, "quantity": 10}]}]  # fmt: skip
    reply = ship(acme, po, {"line": 1, "quantity": 30}, cartons=cartons)
    assert reply.status == 201, reply.body
    assert reply.json()["ship_notice"]["lines"][0]["reference"] == "PO-3001/1/ASN-1"

    (received,) = captured_events("ship_notice.received")
    notice = received["data"]["ship_notice"]
    assert (notice["carrier"], notice["eta"], [c["sscc"] for c in notice["cartons"]]) == (
        "UPS",
        days(8),
        [SSCC_A, SSCC_B],
    )
    assert received["data"]["erp_reference"] == "ERP-PO-3001"
    supply = {e["data"]["reference"]: e["data"] for e in captured_events("inventory.incoming_updated")}
    assert (supply["PO-3001/1/ASN-1"]["kind"], supply["PO-3001/1/ASN-1"]["quantity"]) == ("in_transit", 30)
    assert (supply["PO-3001/1"]["quantity"], supply["PO-3001/1"]["sequence"]) == (50, 3)
    expectation = captured_events("inbound.expectation_changed")[-1]["data"]
    assert [(x["reference"], x["kind"], x["quantity"]) for x in expectation["lines"]] == [
        ("PO-3001/1", "on_order", 50),
        ("PO-3001/1/ASN-1", "in_transit", 30),
        ("PO-3001/2", "on_order", 40),
    ]

    rt.drain()
    assert incoming(erp_client, "SKU-1") == {
        "PO-3001/1": ("on_order", 50, days(10)),
        "PO-3001/1/ASN-1": ("in_transit", 30, days(8)),
    }
    receipt = {
        "sku": "SKU-1",
        "location": "DC-EAST",
        "quantity": 30,
        "incoming_reference": "PO-3001/1/ASN-1",
        "sequence": 1,
        "occurred_at": utcnow().isoformat(),
    }
    assert client.post("/v1/inventory/receipts", receipt).status == 202
    rt.drain()
    assert incoming(erp_client, "SKU-1") == {"PO-3001/1": ("on_order", 50, days(10))}
    position = erp_client.get("/v1/inventory/SKU-1", {"location": "DC-EAST"}).json()["positions"][0]
    assert (position["on_hand"], position["in_transit"], position["on_order"]) == (30, 0, 50)


def test_the_same_notice_again_changes_nothing_and_another_body_under_its_id_conflicts(rt, acme, po, captured_events):
    first = ship(acme, po, {"line": 2, "quantity": 40})
    assert first.status == 201, first.body
    count = len(captured_events())
    again = ship(acme, po, {"line": 2, "quantity": 40})
    assert (again.status, again.json()["outcome"], again.json()["version"]) == (200, "unchanged", 3)
    assert len(captured_events()) == count
    conflict = ship(acme, po, {"line": 2, "quantity": 39})
    assert (conflict.status, problem(conflict)) == (409, "conflict")


def test_ship_notices_that_do_not_add_up_are_refused(rt, erp_client, acme, po, captured_events):
    bad_sscc = ship(acme, po, {"line": 1, "quantity": 5}, cartons=[{"sscc": SSCC_A[:-1] + "0", "lines": [
        {"line": 1, "quantity": 5}]}])  # fmt: skip
    assert (bad_sscc.status, problem(bad_sscc)) == (422, "invalid-sscc")
    assert bad_sscc.json()["errors"][0]["pointer"] == "/cartons/0/sscc"

    mismatch = ship(
        acme, po, {"line": 1, "quantity": 5}, cartons=[{"sscc": SSCC_A, "lines": [{"line": 1, "quantity": 4}]}]
    )
    assert (mismatch.status, problem(mismatch)) == (422, "validation-failed")

    over = ship(acme, po, {"line": 1, "quantity": 81})  # confirmed 80 of the 100 ordered
    assert (over.status, problem(over)) == (422, "over-shipment")
    assert over.json()["errors"][0]["open_quantity"] == 80
    in_cases = ship(acme, po, {"line": 2, "quantity": 4, "unit": "case"})  # 48 > 40
    assert (in_cases.status, problem(in_cases)) == (422, "over-shipment")

    unknown = ship(acme, po, {"line": 7, "quantity": 1})
    assert (unknown.status, problem(unknown)) == (422, "unknown-po-line")
    globex = create_supplier(
        rt, erp_client, local_id="V-200", portal_id="globex-portal", legal_name="Globex GmbH", tax_id="DE999999999"
    )
    refused = ship(globex, po, {"line": 1, "quantity": 1})
    assert (refused.status, problem(refused)) == (403, "not-your-purchase-order")
    assert captured_events("ship_notice.received") == []
