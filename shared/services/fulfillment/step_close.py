"""Compensate (a cancel) and record an exception: the two ways an order leaves the flow before delivery.

Neither checks the cancel flag (they are where the flow ends). Both are safe to retry: what they did is on the
order (`cancel`, `exception`), and a retry re-publishes the same events.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import single_metric

from shared.aws.fulfillment_store import FlowRecord
from shared.aws.orders_store import CANCELLED
from shared.canonical.envelope import Envelope
from shared.canonical.fulfillment import OrderCancelled, OrderException, OrderReleaseCancelled
from shared.domain.errors import NotFound
from shared.domain.order_flow import OrderInvalid, Timers
from shared.domain.reservations import ReservationClosed
from shared.observability import MetricUnit, logger
from shared.services.fulfillment._flow_core import FLOW_PARTNER, SERVICE, FlowContext
from shared.services.fulfillment._flow_plan import (
    SOURCE,
    cause_message,
    exception_reason,
    flow_event_id,
    location_of,
    locations_of,
    milestone_at,
    released_to_warehouse,
)

CLOSED = frozenset({"cancelled", "completed", "exception"})


def compensate(ctx: FlowContext, order_id: str, error: Mapping[str, Any] | None) -> dict[str, Any]:
    """Release the reservation if held; tell the WMS to stop if the order was released to it; demand lines
    `cancelled`, status `cancelled`; publish `order.cancelled` and `order.status_changed`."""
    record = ctx.read(order_id)
    reason = _cancel_reason(record, error)
    stop = None
    if released_to_warehouse(record):
        location = location_of(record.order)
        data = OrderReleaseCancelled(order_id=order_id, location=location, reason=reason)
        stop = ctx.envelope(record, data, "compensate", milestone_at(record, "cancelled") or ctx.clock())
    if record.status == "cancelled":  # a retry after the write: announce again
        return _announce_cancel(ctx, record, reason, stop)
    released = _release_reservation(ctx, record)
    notified = stop is not None and any(o.status in ("delivered", "served") for o in ctx.deliver(stop).outcomes)

    def plan(current: FlowRecord, now: datetime) -> Mapping[str, Any] | None:
        if current.status == "cancelled":
            return None
        cancel = {
            **(current.cancel or {"requested_at": now.isoformat(), "reason": reason, "by": "distrosync"}),
            "previous_status": current.status,
            "reservation_released": released,
            "warehouse_notified": notified,
            "compensated_at": now.isoformat(),
        }
        return {
            "status": "cancelled",
            "step": "compensate",
            "waiting": None,
            "set": {"cancel": cancel},
            "timeline": [ctx.entry(now, "cancelled", reason[:200])],
            "also": ctx.demand(current, CANCELLED),
        }

    written = ctx.write(record, plan, cancellable=False)
    return _announce_cancel(ctx, written.record, reason, stop)


def record_exception(
    ctx: FlowContext,
    order_id: str,
    failed_step: str | None,
    error: Mapping[str, Any] | None,
    timers: Timers | None = None,
) -> dict[str, Any]:
    """Status `exception` with `{step, error, reason, at}`, the order on the exceptions list, `order.exception`
    published, `OrderException{step}` counted."""
    step = failed_step or "exception"
    name = str((error or {}).get("Error") or "Unknown")
    cause = (error or {}).get("Cause")
    try:
        record: FlowRecord | None = ctx.read(order_id)
    except OrderInvalid:  # an order that does not exist (validate said so): nothing to write, still told
        logger.warning("exception of an order that does not exist", extra={"order_id": order_id, "step": step})
        record = None
    now = ctx.clock()
    if record is None:
        reason = exception_reason(step, name, cause, timers=timers)
        data = OrderException(order_id=order_id, step=step, error=name, reason=reason, at=now)  # type: ignore[arg-type]
        event_id = flow_event_id(order_id, "exception", data.event_type)
        ctx.publish([Envelope[OrderException].wrap(data, source_partner=SOURCE, occurred_at=now, event_id=event_id)])
        _count(step)
        return {"outcome": "exception", "reason": reason}
    waiting = record.waiting
    waited = (now - waiting.since).total_seconds() if waiting is not None and waiting.step == step else None
    reason = exception_reason(step, name, cause, timers=timers, waited_seconds=waited)

    def plan(current: FlowRecord, at: datetime) -> Mapping[str, Any] | None:
        if current.status == "exception":
            return None
        exception = {"step": step, "error": name, "reason": reason, "at": at.isoformat()}
        entry = {
            "location": location_of(current.order),
            "step": step,
            "error": name,
            "reason": reason,
            "status": current.status,
            "customer_ref": current.order.customer_ref,
            "channel": current.order.channel,
            "at": at.isoformat(),
        }
        return {
            "status": "exception",
            "step": "exception",
            "waiting": None,
            "set": {"exception": exception},
            "timeline": [ctx.entry(at, "exception", f"{step}: {reason}"[:500])],
            "exception_entry": {k: v for k, v in entry.items() if v is not None},
        }

    written = ctx.write(record, plan, cancellable=False)
    after = written.record
    if written.changed:
        _count(step)
        logger.warning("order exception", extra={"order_id": order_id, "step": step, "error": name, "reason": reason})
    recorded = after.exception or {"step": step, "error": name, "reason": reason, "at": now.isoformat()}
    at = datetime.fromisoformat(recorded["at"])
    event = ctx.envelope(
        after,
        OrderException(
            order_id=order_id,
            step=recorded["step"],
            error=recorded["error"],
            reason=recorded["reason"],
            at=at,
            locations=locations_of(after.order),
        ),
        "exception",
        at,
    )
    ctx.publish([event])
    return {"outcome": "exception", "reason": recorded["reason"]}


# ---------------------------------------------------------------------------------------------- helpers
def _release_reservation(ctx: FlowContext, record: FlowRecord) -> bool:
    """Give the flow's reservation back (found by its reference, the order id: a reserve or split that did not
    get to write it down held it too). False: nothing was held."""
    try:
        reservation, _ = ctx.reservations.release(FLOW_PARTNER, record.order_id, ctx.meta(record, "compensate"))
    except NotFound:
        return False
    except ReservationClosed as closed:
        logger.warning(
            "the reservation was closed already", extra={"order_id": record.order_id, "status": closed.status}
        )
        return False
    return reservation.status == "released"


def _cancel_reason(record: FlowRecord, error: Mapping[str, Any] | None) -> str:
    reason = (record.cancel or {}).get("reason")
    if not reason and error:
        reason = cause_message(error.get("Cause")) or str(error.get("Error") or "")
    return str(reason or "cancelled")[:500]


def _announce_cancel(ctx: FlowContext, record: FlowRecord, reason: str, stop: Envelope[Any] | None) -> dict[str, Any]:
    cancel = record.cancel or {}
    at = milestone_at(record, "cancelled") or record.status_at or ctx.clock()
    previous = str(cancel.get("previous_status") or "open")
    cancelled = ctx.envelope(
        record,
        OrderCancelled(
            order_id=record.order_id,
            reason=reason,
            previous_status=previous,  # type: ignore[arg-type]
            reservation_released=bool(cancel.get("reservation_released")),
            warehouse_notified=bool(cancel.get("warehouse_notified")),
            at=at,
        ),
        "compensate",
        at,
    )
    events = [cancelled, ctx.status_changed(record, "compensate", "cancelled", at, reason, previous=previous)]
    if stop is not None:
        events.insert(0, stop)
    ctx.publish(events)
    return {"outcome": "cancelled"}


def _count(step: str) -> None:
    with single_metric(
        name="OrderException", unit=MetricUnit.Count, value=1, default_dimensions={"service": SERVICE}
    ) as metric:
        metric.add_dimension(name="step", value=step)
