"""Faults in outbound delivery: a supplier's acknowledgment on the bus updates the ERP's purchase order (the ERPNext
adapter) and the WMS hears the new expectation (a signed webhook), with faults at every AWS call site of the
delivery and at both systems (5xx, 429 with Retry-After, a response slower than the adapter's timeout)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from local.simulators.erpnext import ErpNextSimulator
from local.simulators.webhook_receiver import WebhookReceiver
from shared.aws.bus import publish
from shared.canonical.envelope import Envelope
from shared.canonical.purchasing import (
    AckLineOutcome,
    ExpectedLine,
    InboundExpectationChanged,
    PurchaseOrderAcknowledged,
)
from tests.faults.harness import (
    assert_permanent_failures_told,
    assert_same_end_state,
    dead_letters,
    faulted,
    normalized,
    record_partner_faults,
)
from tests.faults.world import World, start_world
from tests.flows.systems_fixtures import connect_system

SUPPLIER_ID = "SUP-01HZX4TESTACME"
NOW = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(request, dev_template_path):
    yield from start_world(request, dev_template_path)


@pytest.fixture(scope="module")
def systems(world: World) -> Iterator[tuple[ErpNextSimulator, WebhookReceiver]]:
    with ErpNextSimulator() as erp, WebhookReceiver() as wms:
        erp.add_supplier("ACME-001", "Acme Industrial")
        subscriptions = ["purchase_order.acknowledged"]
        connect_system(world.rt, "erp", "erp", "erpnext", target=erp, subscriptions=subscriptions, timeout_seconds=1)
        connect_system(
            world.rt, "wh-east", "warehouse", "webhook", target=wms, subscriptions=["inbound.expectation_changed"]
        )
        yield erp, wms


def events(po: str) -> list[Envelope]:
    ack = PurchaseOrderAcknowledged(
        po_number=po,
        supplier_id=SUPPLIER_ID,
        acknowledgment_id="ACK-1",
        issued_at=NOW,
        version=2,
        lines=[
            AckLineOutcome(
                line=1,
                sku="SKU-1",
                location="DC-EAST",
                status="changed",
                ordered_quantity=100,
                confirmed_quantity=60,
                promised_date=date(2026, 3, 20),
                unit_price=Decimal("2.40"),
            )
        ],
    )
    line = ExpectedLine(
        line=1, sku="SKU-1", reference=f"{po}/1", kind="on_order", quantity=60, expected_date=date(2026, 3, 20)
    )
    expectation = InboundExpectationChanged(
        po_number=po, supplier_id=SUPPLIER_ID, location="DC-EAST", version=2, lines=[line]
    )
    return [
        Envelope.wrap(data, source_partner="acme", occurred_at=NOW, correlation_id=f"corr-{po}")
        for data in (ack, expectation)
    ]


def deliver(world: World, systems, po: str) -> dict[str, Any]:
    erp, wms = systems
    erp.add_purchase_order(
        po, "ACME-001", [{"item_code": "SKU-1", "qty": 100, "rate": 2.5, "schedule_date": "2026-03-01"}]
    )
    publish(events(po), world.rt.outputs["EventBusName"])
    report = world.rt.drain(timeout=90)
    assert report.drained, report
    doc = erp.doc("Purchase Order", po) or {}
    doc["items"] = [{k: v for k, v in row.items() if k != "name"} for row in doc.get("items", [])]  # random row ids
    accepted = [d for d in wms.deliveries if d.verified and d.status < 300 and po in d.body.decode()]
    return normalized(
        {
            "erp": doc,
            # the changes the ERP accepted for this PO (a retry after a lost answer may repeat one, with equal values)
            "erp_writes": sorted({(c.method, c.path) for c in erp.calls if c.status < 300 and po in c.path}),
            "wms": Counter(d.json()["type"] for d in {d.event_id: d for d in accepted}.values()),
        },
        {po: "PO"},
    )


def test_deliveries_under_faults_reach_each_system_once(world, systems, injector):
    erp, wms = systems
    with injector.recording() as calls:
        expected = deliver(world, systems, "PO-1001")
    assert expected["erp"]["order_confirmation_no"] == "ACK-1"
    assert expected["wms"] == {"inbound.expectation_changed": 1}

    erp.fail_next(1, status=503)
    erp.rate_limit_next(1, retry_after=1)
    erp.slow_next(1, 1.5, after=1)  # the adapter gives up after 1 s; the ERP still applies the change
    wms.fail_next(1, status=502)
    wms.slow_next(1, 1.5)
    sites = [s for s in calls if s.function == "outbound"]
    with faulted(injector, sorted(sites), seed=31) as faults:
        got = deliver(world, systems, "PO-1002")
    record_partner_faults("erp (erpnext)", erp)
    record_partner_faults("wms (webhook)", wms)
    assert faults.total >= len(sites) // 2, faults.injected
    assert_same_end_state(got, expected)
    assert_permanent_failures_told(dead_letters(world.rt))
