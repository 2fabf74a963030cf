"""What the order-to-ship steps decide without AWS (shared/services/fulfillment/_flow_plan.py) and the promiser's
handling of lines the flow took out of `open`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from shared.aws.fulfillment_store import FlowRecord, TimelineEntry
from shared.canonical.orders import CustomerOrder, OrderLine
from shared.domain.order_flow import Timers
from shared.domain.promising import ExceptionStep, PromiseState, plan_closed_line
from shared.services.fulfillment._flow_plan import (
    allocate,
    exception_reason,
    flow_event_id,
    fulfillment_lines,
    previous_status,
    remainder,
    requested_lines,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def order(*lines: tuple[str, int], location: str = "DC-EAST") -> CustomerOrder:
    return CustomerOrder(
        order_id="SO-1",
        source_partner="erp",
        placed_at=T0,
        created_at=T0,
        lines=[
            OrderLine(line=n, sku=sku, location=location, quantity=q, requested_date=date(2026, 3, 5), unit_price="2.5")
            for n, (sku, q) in enumerate(lines, start=1)
        ],
    )


def record(status: str, *milestones: str, **fields) -> FlowRecord:
    timeline = tuple(TimelineEntry(T0 + timedelta(minutes=i), m, "test") for i, m in enumerate(milestones))
    return FlowRecord(
        order=order(("SKU-1", 4)), status=status, version=3, correlation_id="c", timeline=timeline, **fields
    )


def test_a_split_serves_lines_in_order_from_the_stock_they_share():
    so = order(("SKU-1", 4), ("SKU-2", 3), ("SKU-1", 5))
    allocation = allocate(so.lines, {("SKU-1", "DC-EAST"): 6, ("SKU-2", "DC-EAST"): -2})
    assert allocation == {1: 4, 2: 0, 3: 2}
    assert [(x.line, x.quantity) for x in remainder(so, allocation)] == [(2, 3), (3, 3)]
    assert [(x.sku, x.quantity) for x in requested_lines(so, allocation)] == [("SKU-1", 6)]
    assert [(x.line, x.quantity, x.unit_price) for x in fulfillment_lines(so, allocation)] == [
        (1, 4, "2.5"),
        (3, 2, "2.5"),
    ]
    assert remainder(so, {1: 4, 2: 3, 3: 5}) == []


def test_event_ids_are_stable_per_order_step_type_and_round():
    first = flow_event_id("SO-1", "release", "order.released")
    assert first == flow_event_id("SO-1", "release", "order.released")
    assert (
        len(
            {
                first,
                flow_event_id("SO-2", "release", "order.released"),
                flow_event_id("SO-1", "ship", "order.released"),
                flow_event_id("SO-1", "release", "order.released", 2),
            }
        )
        == 4
    )


def test_the_previous_status_comes_from_the_record_or_its_timeline():
    assert previous_status(record("open"), "released") == "open"
    assert previous_status(record("picked", "reserved", "released", "picked"), "awaiting_dispatch") == "picked"
    # a retried step re-publishing: the status before the last entry of its own
    assert (
        previous_status(record("awaiting_dispatch", "released", "picked", "awaiting_dispatch"), "awaiting_dispatch")
        == "picked"
    )
    assert previous_status(record("released", "reserved", "released"), "released") == "open"


def test_exception_reasons_name_the_timer_or_the_error():
    timers = Timers(pick_timeout=7200)
    assert (
        exception_reason("release", "States.Timeout", None, timers=timers)
        == "the WMS did not confirm the pick within 7200 s"
    )
    assert (
        exception_reason("release", "States.Timeout", None, waited_seconds=2.4)
        == "the WMS did not confirm the pick within 2 s"
    )
    assert exception_reason("ship", "States.Timeout", None, timers=timers).startswith("the TMS did not confirm")
    cause = json.dumps(
        {"errorMessage": "order.released refused by wh-east: HTTP 400: bad ship-to", "errorType": "DeliveryRejected"}
    )
    assert (
        exception_reason("release", "DeliveryRejected", cause)
        == "DeliveryRejected: order.released refused by wh-east: HTTP 400: bad ship-to"
    )
    assert exception_reason("validate", "OrderInvalid", "plain text") == "OrderInvalid: plain text"
    assert exception_reason("reserve", "States.TaskFailed", None) == "States.TaskFailed"


def test_a_line_out_of_open_leaves_the_at_risk_list_silently():
    at_risk = PromiseState(promise_date=None, at_risk=True, promised_at=T0, at_risk_since=T0)
    change = plan_closed_line(at_risk)
    assert change is not None and change.exception is ExceptionStep.DELETE and not change.announce
    assert change.state.at_risk is False and change.state.at_risk_since is None and change.state.promised_at == T0
    assert plan_closed_line(PromiseState(promise_date=date(2026, 3, 4), promised_at=T0)) is None
