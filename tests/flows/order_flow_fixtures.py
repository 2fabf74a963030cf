"""Fixtures and helpers for the order-to-ship tests (docs/order-to-ship.md).

Mark a module `pytestmark = pytest.mark.order_flow`: its `rt` runs state machine executions (moto's
interpreter, in background threads), with the starter's timers set to `FLOW_TIMERS`. A test that needs other
timers (e.g. a WMS timeout) calls `flow_timers(rt, pick_timeout=2)` before placing its order.

- `order_systems`: the systems the flow talks to, as signed-webhook receivers: `wms` (the warehouse partner
  wh-east, scope DC-EAST: order.released, order.release_cancelled), `tms` (partner `tms`: shipment.ready), `erp`
  (partner `erp-orders`: order.status_changed), `portal` (partner `portal`: order.status_changed,
  shipment.dispatched, shipment.milestone, shipment.delayed, order.cancelled) and `finance` (partner `finance`:
  invoice.requested); `tms_client` is the TMS's API client (it calls the dispatch route).
- helpers: `count_stock`, `place_order`, `flow_record`, `wait_for_status`, `wait_for_waiting`,
  `execution_arn`, `wait_for_end`, `entered_states`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cli.local_session import partner_client, register_partner
from local.simulators.webhook_receiver import WebhookReceiver
from shared.canonical.envelope import utcnow
from shared.domain.order_flow import Timers, execution_name
from tests.flows.systems_fixtures import connect_system

# Short enough for a test to reach a timeout, long enough for a test to act while the flow waits.
FLOW_TIMERS: dict[str, int] = Timers(
    pick_heartbeat=120,
    pick_timeout=120,
    dispatch_timeout=120,
    delivery_timeout=300,
    backorder_recheck=1,
    backorder_rounds=30,
).as_input()

WMS_EVENTS = ["order.released", "order.release_cancelled"]
TMS_EVENTS = ["shipment.ready"]
ERP_EVENTS = ["order.status_changed"]
PORTAL_EVENTS = [
    "order.status_changed",
    "shipment.dispatched",
    "shipment.milestone",
    "shipment.delayed",
    "order.cancelled",
]
FINANCE_EVENTS = ["invoice.requested"]


def flow_timers(rt: Any, **timers: int) -> dict[str, int]:
    """Executions started from now on wait these timers (the rest keep FLOW_TIMERS)."""
    values = {**FLOW_TIMERS, **timers}
    Timers(**values)  # validated as the starter will
    rt.functions.configure("order_starter", ORDER_FLOW_TIMERS=json.dumps(values))
    return values


@dataclass
class OrderSystems:
    wms: WebhookReceiver
    tms: WebhookReceiver
    erp: WebhookReceiver
    portal: WebhookReceiver
    finance: WebhookReceiver
    tms_client: Any


@pytest.fixture
def order_systems(rt, catalog, warehouse) -> Iterator[OrderSystems]:
    started: list[WebhookReceiver] = []

    def receiver() -> WebhookReceiver:
        r = WebhookReceiver().start()
        started.append(r)
        return r

    try:
        wms, tms, erp, portal, finance = (receiver() for _ in range(5))
        connect_system(rt, "wh-east", "warehouse", "webhook", target=wms, subscriptions=WMS_EVENTS)
        tms_creds = register_partner(rt, "tms", "tms", ["location:*"])
        connect_system(rt, "tms", "tms", "webhook", target=tms, subscriptions=TMS_EVENTS)
        connect_system(rt, "erp-orders", "erp", "webhook", target=erp, subscriptions=ERP_EVENTS, scopes=["location:*"])
        connect_system(rt, "portal", "portal", "webhook", target=portal, subscriptions=PORTAL_EVENTS, scopes=["*"])
        connect_system(rt, "finance", "finance", "webhook", target=finance, subscriptions=FINANCE_EVENTS, scopes=["*"])
        yield OrderSystems(wms, tms, erp, portal, finance, partner_client(rt, tms_creds))
    finally:
        for r in started:
            r.stop()


# ------------------------------------------------------------------------------------------------- helpers
def count_stock(rt: Any, client: Any, sku: str, on_hand: int, *, location: str = "DC-EAST", sequence: int = 1) -> None:
    """Count `on_hand` units of `sku` at `location` through the warehouse's API, projected."""
    body = {
        "sku": sku,
        "location": location,
        "on_hand": on_hand,
        "reason": "cycle_count",
        "sequence": sequence,
        "occurred_at": utcnow().isoformat(),
    }
    reply = client.post("/v1/inventory/adjustments", body)
    assert reply.status == 202, reply.body
    rt.drain()


def place_order(api: Any, order_id: str, *lines: tuple[str, int], location: str = "DC-EAST", **fields: Any) -> Any:
    """POST /v1/orders with lines (sku, quantity) shipping from `location`; returns the reply (201 asserted)."""
    today = utcnow().date().isoformat()
    body = {
        "order_id": order_id,
        "placed_at": utcnow().isoformat(),
        "lines": [
            {"line": n, "sku": sku, "location": location, "quantity": quantity, "requested_date": today}
            for n, (sku, quantity) in enumerate(lines, start=1)
        ],
        **fields,
    }
    reply = api.post("/v1/orders", body)
    assert reply.status == 201, reply.body
    return reply


def flow_record(rt: Any, order_id: str) -> Any:
    from shared.aws.fulfillment_store import FulfillmentStore

    return FulfillmentStore(rt.outputs["OrdersTableName"]).get(order_id)


def wait_for_status(rt: Any, order_id: str, *statuses: str, timeout: float = 30.0) -> Any:
    """Drain the queues (the starter, the outbound deliveries) until the order has one of `statuses`."""
    deadline = time.monotonic() + timeout
    record = None
    while time.monotonic() < deadline:
        rt.drain()
        record = flow_record(rt, order_id)
        if record is not None and record.status in statuses:
            return record
        time.sleep(0.05)
    raise TimeoutError(f"order {order_id} not {'|'.join(statuses)} after {timeout}s: {record and record.status}")


def wait_for_waiting(rt: Any, order_id: str, step: str, *, timeout: float = 30.0) -> Any:
    """Until the order's execution is parked on `step`'s task token (not yet claimed by a callback)."""
    deadline = time.monotonic() + timeout
    record = None
    while time.monotonic() < deadline:
        rt.drain()
        record = flow_record(rt, order_id)
        waiting = record.waiting if record is not None else None
        if waiting is not None and waiting.step == step and waiting.claimed_at is None:
            return record
        time.sleep(0.05)
    raise TimeoutError(f"order {order_id} not waiting on {step} after {timeout}s: {record}")


def execution_arn(rt: Any, order_id: str) -> str:
    machine = rt.outputs["OrderFlowStateMachineArn"]
    return machine.replace(":stateMachine:", ":execution:") + ":" + execution_name(order_id)


def wait_for_end(rt: Any, order_id: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """DescribeExecution of the order's execution once it has ended (draining queues meanwhile)."""
    sfn = rt.clients("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        rt.drain()
        try:
            execution = sfn.describe_execution(executionArn=execution_arn(rt, order_id))
        except sfn.exceptions.ExecutionDoesNotExist:
            execution = {"status": "NOT_STARTED"}
        if execution["status"] not in ("RUNNING", "NOT_STARTED"):
            return dict(execution)
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution of {order_id} still {execution['status']} after {timeout}s")
        time.sleep(0.05)


def entered_states(rt: Any, order_id: str) -> list[str]:
    """The names of the states the order's execution entered, in order."""
    events = rt.clients("stepfunctions").get_execution_history(
        executionArn=execution_arn(rt, order_id), maxResults=1000
    )["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def received(receiver: WebhookReceiver, event_type: str, count: int = 1, *, timeout: float = 10.0) -> list[dict]:
    """The `data` of the `event_type` envelopes a receiver accepted, once it has at least `count` (a step records
    its wait before it delivers the document the partner answers, so the record can be seen first)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e["data"] for e in receiver.events(event_type)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)
