"""Faults in purchasing: a PO from the ERP, the supplier's acknowledgment and ship notice, the warehouse's receipt."""

from __future__ import annotations

import pytest

from shared.canonical.envelope import utcnow
from tests.faults.harness import (
    RetryingPartner,
    assert_permanent_failures_told,
    assert_same_end_state,
    dead_letters,
    faulted,
    normalized,
)
from tests.faults.world import start_world
from tests.flows.purchasing_helpers import create_supplier, days

SSCC = "106141411234567897"


@pytest.fixture(scope="module")
def world(request, dev_template_path):
    yield from start_world(request, dev_template_path)


@pytest.fixture(scope="module")
def portal(world) -> RetryingPartner:
    return RetryingPartner(create_supplier(world.rt, world.erp).portal)


def purchase(world, portal: RetryingPartner, po: str, sku: str) -> dict:
    """The PO's life up to its receipt; returns its end state."""
    rt = world.rt
    body = {
        "revision": 1,
        "supplier": "V-100",
        "location": "DC-EAST",
        "erp_reference": f"ERP-{po}",
        "lines": [{"line": 1, "sku": sku, "quantity": 100, "unit_price": "4.25", "requested_date": days(10)}],
    }
    reply = world.erp.put(f"/v1/purchase-orders/{po}", body)
    assert reply.status == 201, reply.body
    rt.drain()
    ack = {
        "acknowledgment_id": "ACK-1",
        "issued_at": utcnow().isoformat(),
        "lines": [{"line": 1, "status": "changed", "quantity": 80}],
    }
    reply = portal.post(f"/v1/purchase-orders/{po}/acknowledgments", ack)
    assert reply.status == 201, reply.body
    rt.drain()
    notice = {
        "ship_notice_id": "ASN-1",
        "shipped_at": utcnow().replace(microsecond=0).isoformat(),
        "carrier": "UPS",
        "tracking_number": "1Z999AA10123456784",
        "eta": days(8),
        "lines": [{"line": 1, "quantity": 30}],
        "cartons": [{"sscc": SSCC, "lines": [{"line": 1, "quantity": 30}]}],
    }
    reply = portal.post(f"/v1/purchase-orders/{po}/ship-notices", notice)
    assert reply.status == 201, reply.body
    rt.drain()
    receipt = {
        "sku": sku,
        "location": "DC-EAST",
        "quantity": 30,
        "incoming_reference": f"{po}/1/ASN-1",
        "sequence": 1,
        "occurred_at": utcnow().isoformat(),
    }
    reply = world.warehouse.post("/v1/inventory/receipts", receipt)
    assert reply.status == 202, reply.body
    rt.drain()
    order = world.erp.get(f"/v1/purchase-orders/{po}")
    assert order.status == 200, order.body
    position = world.erp.get(f"/v1/inventory/{sku}", {"location": "DC-EAST"})
    assert position.status == 200, position.body
    published = sorted(
        {(e["type"], e["id"]) for e in world.tap.events() if po in str(e["data"]) or e["data"].get("sku") == sku}
    )
    return normalized(
        {
            "purchase_order": order.json(),
            "positions": position.json()["positions"],
            "events": sorted(t for t, _ in published),  # each event once (by id), however often it was published
        },
        {po: "PO", sku: "SKU"},
    )


def test_a_purchase_order_under_faults_ends_as_without_them(world, portal, injector):
    with injector.recording() as calls:
        expected = purchase(world, portal, "PO-7001", "SKU-1")
    (position,) = expected["positions"]
    assert (position["on_hand"], position["in_transit"], position["on_order"]) == (30, 0, 50)

    with faulted(injector, sorted(calls), seed=11) as faults:
        got = purchase(world, portal, "PO-7002", "SKU-2")
    assert faults.total >= len(calls) // 2, faults.injected
    assert_same_end_state(got, expected)
    assert_permanent_failures_told(dead_letters(world.rt))
