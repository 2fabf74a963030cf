"""Release, ERP status, shipment-ready, dispatch, track and complete: the order handed from system to system.

The steps that wait (`release`, `ship`, `track`) store their task token on the order (`waiting`), where the
callbacks find it. A retry of such a step (the state machine's, after a transient failure) brings a new token,
which replaces the old one. If the callback already claimed the wait (its answer went to a token Step Functions
no longer knows), the step answers its own token: the order moves on once, as reported.

Documents a system must have before the flow waits on it are delivered now, with the envelope then published.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from shared.aws.fulfillment_store import FlowRecord, Waiting
from shared.aws.orders_store import SHIPPED
from shared.canonical.envelope import Envelope
from shared.canonical.fulfillment import (
    InvoiceRequested,
    OrderReleased,
    Package,
    ShipmentDispatched,
    ShipmentReady,
)
from shared.domain.order_flow import OrderInvalid
from shared.domain.reservations import ReservationClosed
from shared.observability import MetricUnit, logger, metrics
from shared.services.fulfillment._flow_core import FLOW_PARTNER, FlowContext, ensure_not_cancelled
from shared.services.fulfillment._flow_plan import (
    SOURCE,
    fulfillment_lines,
    location_of,
    milestone_at,
    picked_quantities,
)

ERP_KINDS = frozenset({"erp"})  # erp_status delivers to the ERP now; portals get the event from the consumer
PICK_CALLBACK = "/v1/orders/{order_id}/pick-complete"
DISPATCH_CALLBACK = "/v1/orders/{order_id}/dispatch"
AFTER_DISPATCH = frozenset({"dispatched", "delivered", "completed"})


class MissingShipment(Exception):
    """The dispatch step ran without the TMS's dispatch on record (the exception path names it)."""


def release(ctx: FlowContext, order_id: str, token: str) -> dict[str, Any]:
    """Store the token, status `released`; deliver `order.released` now to the location's WMS; publish it and
    `order.status_changed`. A WMS that cannot be reached: PartnerUnavailable; one that refuses: DeliveryRejected."""
    record = ctx.read(order_id)
    written = ctx.write(record, _wait("release", "released", token, "released"))
    after = written.record
    if _claimed(after, "release"):
        return _answer(ctx, after, token, "release")
    if written.changed and record.status != "released":
        ctx.step_seconds(record, written.now)
    order = after.order
    at = milestone_at(after, "released") or written.now
    released = ctx.envelope(
        after,
        OrderReleased(
            order_id=order.order_id,
            location=location_of(order),
            lines=fulfillment_lines(order, after.quantities),
            ship_to=order.ship_to,
            requested_date=min(line.requested_date for line in order.lines),
            deliver_by=order.deliver_by,
            customer_ref=order.customer_ref,
            callback=PICK_CALLBACK.format(order_id=order.order_id),
        ),
        "release",
        at,
    )
    delivered = ctx.deliver(released)
    if not delivered.outcomes:
        logger.warning("no system receives order.released for this location", extra={"order_id": order_id})
    ctx.publish([released, ctx.status_changed(after, "release", "released", at)])
    return {"outcome": "released", "systems": [o.partner for o in delivered.outcomes]}


def erp_status(ctx: FlowContext, order_id: str) -> dict[str, Any]:
    """Deliver `order.status_changed` (picked) now to the ERP; publish it. Writes nothing."""
    record = ctx.read(order_id)
    ensure_not_cancelled(record)
    at = milestone_at(record, "picked") or record.status_at or ctx.clock()
    changed = ctx.status_changed(record, "erp_status", "picked", at, previous="released")  # a pick ends `released`
    ctx.deliver(changed, kinds=ERP_KINDS)
    ctx.publish([changed])
    return {"outcome": "announced"}


def ship(ctx: FlowContext, order_id: str, token: str) -> dict[str, Any]:
    """Store the token, status `awaiting_dispatch`; deliver `shipment.ready` now to the TMS; publish it and
    `order.status_changed`."""
    record = ctx.read(order_id)
    written = ctx.write(record, _wait("ship", "awaiting_dispatch", token, "awaiting_dispatch"))
    after = written.record
    if _claimed(after, "ship"):
        return _answer(ctx, after, token, "ship")
    if written.changed and record.status != "awaiting_dispatch":
        ctx.step_seconds(record, written.now)
    order = after.order
    at = milestone_at(after, "awaiting_dispatch") or written.now
    packages = [Package.model_validate(p) for p in (after.pick or {}).get("packages") or []]
    ready = ctx.envelope(
        after,
        ShipmentReady(
            order_id=order.order_id,
            location=location_of(order),
            lines=fulfillment_lines(order, picked_quantities(after)),
            packages=packages,
            ship_to=order.ship_to,
            deliver_by=order.deliver_by,
            callback=DISPATCH_CALLBACK.format(order_id=order.order_id),
        ),
        "ship",
        at,
    )
    delivered = ctx.deliver(ready)
    ctx.publish([ready, ctx.status_changed(after, "ship", "awaiting_dispatch", at)])
    return {"outcome": "awaiting_dispatch", "systems": [o.partner for o in delivered.outcomes]}


def dispatch(ctx: FlowContext, order_id: str) -> dict[str, Any]:
    """The TMS dispatched it (its callback stored `shipment`): commit the reservation, demand lines `shipped`,
    status `dispatched`; publish `shipment.dispatched`, `order.status_changed`, `invoice.requested`."""
    record = ctx.read(order_id)
    shipment = record.shipment
    if shipment is None:
        ensure_not_cancelled(record)
        raise MissingShipment(f"order '{order_id}' has no dispatch on record (carrier, tracking number)")
    if record.cancel_requested:  # the goods left: a cancel that crossed the dispatch comes too late
        logger.warning("cancel requested after the dispatch; not honoured", extra={"order_id": order_id})
    if milestone_at(record, "dispatched") is None:
        try:
            ctx.reservations.commit(FLOW_PARTNER, order_id, ctx.meta(record, "dispatch"))
        except ReservationClosed as closed:
            if closed.status != "committed":
                raise
    dispatched_at = datetime.fromisoformat(shipment["dispatched_at"])

    def plan(current: FlowRecord, now: datetime) -> Mapping[str, Any] | None:
        if milestone_at(current, "dispatched") is not None:
            return None  # a retry after the write
        return {
            # the carrier may have reported the delivery already (out of order): the status does not go back
            "status": None if current.status in AFTER_DISPATCH else "dispatched",
            "step": "dispatch",
            "waiting": None,
            "timeline": [ctx.entry(now, "dispatched", f"{shipment['carrier']} {shipment['tracking_number']}")],
            "also": ctx.demand(current, SHIPPED),
        }

    written = ctx.write(record, plan, cancellable=False)
    after = written.record
    if written.changed:
        ctx.step_seconds(record, written.now)
        order_to_ship = (dispatched_at - after.order.placed_at).total_seconds()
        metrics.add_metric(name="OrderToShipSeconds", unit=MetricUnit.Seconds, value=max(0.0, order_to_ship))
    at = milestone_at(after, "dispatched") or written.now
    ctx.publish(_dispatch_events(ctx, after, shipment, dispatched_at, at))
    return {"outcome": "dispatched"}


def track(ctx: FlowContext, order_id: str, token: str) -> dict[str, Any]:
    """Store the token until the carrier reports delivery; delivered already (out of order): answer it."""
    record = ctx.read(order_id)

    def plan(current: FlowRecord, now: datetime) -> Mapping[str, Any] | None:
        delivered = current.status == "delivered"
        waiting = current.waiting
        if waiting is not None and waiting.step == "track" and waiting.token == token:
            return None  # a retry: stored already
        claim = {"claimed_at": now, "claimed_by": SOURCE} if delivered else {}
        return {"step": "track", "waiting": Waiting("track", token, now, **claim)}

    written = ctx.write(record, plan)
    after = written.record
    if after.status == "delivered":
        return _answer(ctx, after, token, "track")
    return {"outcome": "tracking"}


def complete(ctx: FlowContext, order_id: str) -> dict[str, Any]:
    """Status `completed`; `order.status_changed`; the cycle times (`StepSeconds{track}`: dispatched ->
    delivered; `OrderToDeliverySeconds`: placed -> delivered)."""
    record = ctx.read(order_id)

    def plan(current: FlowRecord, now: datetime) -> Mapping[str, Any] | None:
        if current.status == "completed":
            return None
        return {
            "status": "completed",
            "step": "complete",
            "waiting": None,
            "timeline": [ctx.entry(now, "completed")],
        }

    written = ctx.write(record, plan)
    after = written.record
    if written.changed:
        delivered_at = milestone_at(after, "delivered")
        dispatched_at = milestone_at(after, "dispatched")
        if delivered_at is not None and dispatched_at is not None:
            ctx.seconds("StepSeconds", (delivered_at - dispatched_at).total_seconds(), step="track")
        if delivered_at is not None:
            to_delivery = (delivered_at - after.order.placed_at).total_seconds()
            metrics.add_metric(name="OrderToDeliverySeconds", unit=MetricUnit.Seconds, value=max(0.0, to_delivery))
    at = milestone_at(after, "completed") or written.now
    ctx.publish([ctx.status_changed(after, "complete", "completed", at)])
    return {"outcome": "completed"}


# ---------------------------------------------------------------------------------------------- helpers
def _wait(step: str, status: str, token: str, milestone: str) -> Any:
    """The plan of a step that parks on `token`: status and timeline once, the token every time (a retry's
    token replaces the one before). Nothing when a callback has claimed the wait already."""

    def plan(current: FlowRecord, now: datetime) -> Mapping[str, Any] | None:
        if _claimed(current, step):
            return None
        waiting = current.waiting
        if waiting is not None and waiting.step == step and waiting.token == token:
            return None
        entering = current.status != status
        return {
            "status": status if entering else None,
            "step": step,
            "waiting": Waiting(step, token, now),
            "timeline": [FlowContext.entry(now, milestone)] if entering else [],
        }

    return plan


def _claimed(record: FlowRecord, step: str) -> bool:
    waiting = record.waiting
    return waiting is not None and waiting.step == step and waiting.claimed_at is not None


def _answer(ctx: FlowContext, record: FlowRecord, token: str, step: str) -> dict[str, Any]:
    logger.info("what the step waits for happened already: answering its token", extra={"order_id": record.order_id})
    ctx.answer(token, {"order_id": record.order_id, "answered_by": step})
    return {"outcome": "answered"}


def _dispatch_events(
    ctx: FlowContext, record: FlowRecord, shipment: Mapping[str, Any], dispatched_at: datetime, at: datetime
) -> list[Envelope[Any]]:
    order = record.order
    if not shipment.get("carrier") or not shipment.get("tracking_number"):
        raise OrderInvalid(f"order '{order.order_id}': the dispatch on record lacks a carrier or tracking number")
    lines = fulfillment_lines(order, picked_quantities(record))
    estimated = _date(shipment.get("estimated_delivery"))
    promised = _date(shipment.get("promised_delivery")) or order.deliver_by or estimated
    dispatched = ShipmentDispatched(
        order_id=order.order_id,
        location=location_of(order),
        carrier=shipment["carrier"],
        tracking_number=shipment["tracking_number"],
        service=shipment.get("service"),
        dispatched_at=dispatched_at,
        estimated_delivery=estimated,
        promised_delivery=promised,
        lines=lines,
        customer_ref=order.customer_ref,
    )
    invoice = InvoiceRequested(
        order_id=order.order_id,
        channel=order.channel,
        customer_ref=order.customer_ref,
        currency=order.currency,
        lines=lines,
        shipped_at=dispatched_at,
        carrier=shipment["carrier"],
        tracking_number=shipment["tracking_number"],
    )
    return [
        ctx.envelope(record, dispatched, "dispatch", dispatched_at),
        ctx.status_changed(record, "dispatch", "dispatched", at, previous="awaiting_dispatch"),
        ctx.envelope(record, invoice, "dispatch", at),
    ]


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None
