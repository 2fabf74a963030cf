"""Faults in order to ship: an order placed by the ERP, reserved, released to the WMS, picked, handed to the TMS
and dispatched, through the state machine, with faults at every call site and at the WMS's webhook."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from local.fault_injection import Fault, FaultPlan, FaultRule
from local.simulators.webhook_receiver import WebhookReceiver
from tests.faults.harness import (
    RetryingPartner,
    assert_permanent_failures_told,
    assert_same_end_state,
    dead_letters,
    faulted,
    normalized,
    record_partner_faults,
)
from tests.faults.world import World, start_world
from tests.flows.order_flow_fixtures import (
    TMS_EVENTS,
    WMS_EVENTS,
    entered_states,
    flow_record,
)
from tests.flows.systems_fixtures import connect_system

pytestmark = pytest.mark.order_flow


@pytest.fixture(scope="module")
def world(request, dev_template_path):
    yield from start_world(request, dev_template_path)


@pytest.fixture(scope="module")
def systems(world: World) -> Iterator[tuple[WebhookReceiver, WebhookReceiver, RetryingPartner]]:
    wms, tms = WebhookReceiver().start(), WebhookReceiver().start()
    try:
        connect_system(world.rt, "wh-east", "warehouse", "webhook", target=wms, subscriptions=WMS_EVENTS)
        tms_client = world.partner("tms", "tms", ["location:*"])
        connect_system(world.rt, "tms", "tms", "webhook", target=tms, subscriptions=TMS_EVENTS)
        yield wms, tms, tms_client
    finally:
        wms.stop()
        tms.stop()


def wait_for_waiting(rt, order_id: str, step: str, timeout: float = 60.0):
    """Until the order's execution waits on `step`; fails at once when the order went to the exception path."""
    deadline = time.monotonic() + timeout
    while True:
        rt.drain()
        record = flow_record(rt, order_id)
        if record is not None and record.status == "exception":
            raise AssertionError(f"order {order_id} went to the exception path: {record.exception}")
        waiting = record.waiting if record is not None else None
        if waiting is not None and waiting.step == step and waiting.claimed_at is None:
            return record
        if time.monotonic() > deadline:
            raise TimeoutError(f"order {order_id} not waiting on {step} after {timeout}s: {record}")
        time.sleep(0.05)


def accepted(receiver: WebhookReceiver, event_type: str, order_id: str, timeout: float = 30.0) -> None:
    """Until the system has accepted the order's `event_type` document."""
    deadline = time.monotonic() + timeout
    while not any(e["data"].get("order_id") == order_id for e in receiver.events(event_type)):
        assert time.monotonic() < deadline, f"{event_type} of {order_id} never delivered"
        time.sleep(0.05)


def ship(world: World, systems, order_id: str, sku: str) -> dict:
    """Count stock, place the order, pick it, dispatch it; returns its end state."""
    wms, tms, tms_client = systems
    rt = world.rt
    count = {"sku": sku, "location": "DC-EAST", "on_hand": 10, "reason": "cycle_count", "sequence": 1}
    reply = world.warehouse.post("/v1/inventory/adjustments", {**count, "occurred_at": datetime.now(UTC).isoformat()})
    assert reply.status == 202, reply.body
    rt.drain()
    today = datetime.now(UTC).date().isoformat()
    line = {"line": 1, "sku": sku, "location": "DC-EAST", "quantity": 4, "requested_date": today}
    order = {"order_id": order_id, "placed_at": datetime.now(UTC).isoformat(), "lines": [line]}
    reply = world.erp.post("/v1/orders", order)
    assert reply.status in (200, 201), reply.body  # 200: a retry found the order its first attempt created
    wait_for_waiting(rt, order_id, "release")
    accepted(wms, "order.released", order_id)  # a WMS picks what it was sent
    picked = world.warehouse.post(f"/v1/orders/{order_id}/pick-complete", {"picked_at": datetime.now(UTC).isoformat()})
    assert picked.status in (200, 202), picked.body
    wait_for_waiting(rt, order_id, "ship")
    accepted(tms, "shipment.ready", order_id)
    dispatch = {
        "carrier": "UPS",
        "tracking_number": f"1Z{order_id}",
        "dispatched_at": datetime.now(UTC).isoformat(),
    }
    reply = tms_client.post(f"/v1/orders/{order_id}/dispatch", dispatch)
    assert reply.status in (200, 202), reply.body
    record = wait_for_waiting(rt, order_id, "track")
    rt.drain()
    position = world.erp.get(f"/v1/inventory/{sku}", {"location": "DC-EAST"}).json()["positions"][0]
    delivered = {
        name: sorted(
            e["type"]
            for e in {d.event_id: d.json() for d in r.deliveries if d.status < 300 and d.verified}.values()
            if order_id in str(e["data"])
        )
        for name, r in (("wms", wms), ("tms", tms))
    }
    executions = rt.clients("stepfunctions").list_executions(stateMachineArn=rt.outputs["OrderFlowStateMachineArn"])
    return normalized(
        {
            "status": record.status,
            "milestones": [m.milestone for m in record.timeline],
            "states": entered_states(rt, order_id),
            "executions": sum(order_id in e["name"] for e in executions["executions"]),
            "position": position,
            "delivered": delivered,  # one delivery of each event to each system (by event id)
            "order_events": Counter(
                e["type"] for e in {x["id"]: x for x in world.tap.events()}.values() if order_id in str(x_data(e))
            ),
        },
        {order_id: "SO", sku: "SKU"},
    )


def x_data(event: dict) -> dict:
    return event.get("data", {})


def test_an_order_ships_once_under_faults(world, systems, injector):
    """Faults at every call site of the flow except the state machine's steps' own (next test), and at the WMS's
    and TMS's webhooks: the order still ships, once."""
    wms, tms, _ = systems
    with injector.recording() as calls:
        expected = ship(world, systems, "SO-9001", "SKU-3")
    assert expected["status"] == "dispatched" and expected["executions"] == 1
    assert expected["position"]["committed"] == 0  # committed at dispatch: it left the building

    wms.fail_next(1, 503)
    wms.rate_limit_next(1, retry_after=1)
    tms.fail_next(1, 500)
    sites = [s for s in calls if s.function != "order_flow"]
    with faulted(injector, sorted(sites), seed=23) as faults:
        got = ship(world, systems, "SO-9002", "SKU-4")
    record_partner_faults("wms (webhook)", wms)
    record_partner_faults("tms (webhook)", tms)
    assert faults.total >= len(sites) // 2, faults.injected
    assert_same_end_state(got, expected)
    assert_permanent_failures_told(dead_letters(world.rt))


def test_a_step_that_times_out_on_aws_is_retried(world, systems, injector):
    plan = FaultPlan(seed=29, rules=(FaultRule(function="order_flow", service="dynamodb", kinds=(Fault.TIMEOUT,)),))
    with injector.armed(plan) as injected:
        got = ship(world, systems, "SO-9003", "SKU-5")
    assert injected, "the step's first DynamoDB call timed out"
    assert got["status"] == "dispatched"
