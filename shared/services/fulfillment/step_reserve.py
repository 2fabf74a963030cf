"""Validate, reserve, split and backorder: the steps before the order is released to its warehouse.

The reservation is the flow's (`order-flow:<order id>`, kind `order`, no expiry). Creating it is idempotent by
reference: a retried step replays it. Its lines are written `allocated` with the order item, in one transaction,
so the promiser stops pegging them (the reserved stock is no longer available: it would count twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.aws.fulfillment_store import FlowRecord
from shared.aws.orders_store import ALLOCATED, CANCELLED
from shared.canonical.envelope import Envelope
from shared.canonical.orders import CustomerOrder, OrderCreated, OrderLine
from shared.canonical.reservation import Reservation
from shared.domain.order_flow import BackorderExpired, Contended, OrderInvalid
from shared.domain.reservations import Draft, InsufficientStock, ReservationConflict, reservation_id
from shared.observability import logger
from shared.services.fulfillment._flow_core import FLOW_PARTNER, FlowContext, Written, ensure_not_cancelled
from shared.services.fulfillment._flow_plan import allocate, locations_of, remainder, requested_lines
from shared.services.orders import created_event_id

RESERVED = {"outcome": "reserved"}


def validate(ctx: FlowContext, order_id: str) -> dict[str, Any]:
    """The order exists and ships from one location (else OrderInvalid, with the reason). Writes nothing."""
    record = ctx.read(order_id)
    ensure_not_cancelled(record)
    locations = locations_of(record.order)
    if len(locations) != 1:
        raise OrderInvalid(
            f"order '{order_id}' ships from {len(locations)} locations ({', '.join(locations)}); "
            "the flow ships an order from one location: split it by location"
        )
    return {"outcome": "valid", "location": locations[0]}


def reserve(ctx: FlowContext, order_id: str) -> dict[str, Any]:
    """Reserve every line, or none: held -> the order's lines allocated, `{"outcome": "reserved"}`; short ->
    `{"outcome": "short", "policy": <the order's policy>}` (the definition backorders or splits)."""
    record = ctx.read(order_id)
    ensure_not_cancelled(record)
    if record.reservation_id:
        return RESERVED  # a retry after the write: reserved already
    quantities = {line.line: line.quantity for line in record.order.lines}
    try:
        draft, meta = _draft(record.order, quantities), ctx.meta(record, "reserve")
        reservation, replayed = ctx.reservations.create(draft, FLOW_PARTNER, meta)
    except InsufficientStock as short:
        logger.info(
            "short: not reserved",
            extra={"order_id": order_id, "policy": record.order.policy, "short": [vars(s) for s in short.lines]},
        )
        return {"outcome": "short", "policy": record.order.policy}
    _record_reservation(ctx, record, reservation.reservation_id, None, (), replayed=replayed)
    return RESERVED


def split(ctx: FlowContext, order_id: str) -> dict[str, Any]:
    """Reserve what is available, line by line; the rest becomes an order of its own, `<order id>.b<n>` (policy
    backorder, created with its demand and `order.created`, so it gets its own execution). Nothing available:
    `{"outcome": "short", "policy": "backorder"}` (wait, then reserve and split again)."""
    record = ctx.read(order_id)
    ensure_not_cancelled(record)
    if record.reservation_id:
        return RESERVED
    order = record.order
    keys = {(line.sku, line.location) for line in order.lines}
    allocation = allocate(order.lines, ctx.reservation_store.available(keys))
    adopted = None
    if not any(allocation.values()):
        adopted = _unrecorded(ctx, order_id)  # what an earlier attempt reserved is no longer available
        if adopted is None:
            logger.info("short: nothing available to split off", extra={"order_id": order_id})
            return {"outcome": "short", "policy": "backorder"}
    else:
        try:
            reservation, replayed = ctx.reservations.create(
                _draft(order, allocation), FLOW_PARTNER, ctx.meta(record, "split")
            )
        except InsufficientStock:
            raise Contended(f"order '{order_id}': the stock moved while it was split; split again") from None
        except ReservationConflict:
            adopted = _unrecorded(ctx, order_id)
            if adopted is None:
                raise Contended(f"order '{order_id}': its reservation is changing; split again") from None
    if adopted is not None:
        # An earlier attempt reserved (other quantities: the stock moved since) and did not get to write it
        # down: its reservation is the split's truth.
        reservation, replayed = adopted, True
        allocation = allocate(order.lines, {(x.sku, x.location): x.quantity for x in adopted.lines})
    rest = remainder(order, allocation)
    child = _child_order(ctx, record, rest) if rest else None
    if child is not None:
        if ctx.orders.create(child, record.correlation_id or order_id):
            logger.info("split off", extra={"order_id": order_id, "child": child.order_id, "lines": len(rest)})
        else:  # an earlier attempt created it: announce that one
            stored = ctx.orders.get_order(child.order_id)
            child = stored.order if stored is not None else child
    written = _record_reservation(
        ctx, record, reservation.reservation_id, allocation, (child.order_id,) if child else (), replayed=replayed
    )
    if child is not None:
        ctx.publish([_created(child, written.record)])
    return RESERVED


def backorder(ctx: FlowContext, order_id: str, max_rounds: int | None) -> dict[str, Any]:
    """Status `backordered`, one more round; more than `max_rounds` -> BackorderExpired. The definition then
    waits `backorder_recheck` and reserves again."""
    record = ctx.read(order_id)
    ensure_not_cancelled(record)
    rounds = record.backorder_rounds + 1
    if max_rounds is not None and rounds > max_rounds:
        raise BackorderExpired(f"still short after {max_rounds} re-tries of the reservation")

    def plan(current: FlowRecord, now: datetime) -> Mapping[str, Any]:
        first = current.status != "backordered"
        return {
            "status": "backordered" if first else None,
            "step": "backorder",
            "set": {"backorder_rounds": current.backorder_rounds + 1},
            "timeline": [ctx.entry(now, "backordered", "short: waiting for stock")] if first else [],
        }

    written = ctx.write(record, plan)
    after = written.record
    if record.status != "backordered":
        ctx.step_seconds(record, written.now)
    # The first round announces it; the second again (a duplicate, dropped by consumers), so that a first
    # publication that failed after its write is not lost when the state machine retries the step.
    if after.backorder_rounds <= 2:
        at = after.status_at or written.now
        ctx.publish([ctx.status_changed(after, "backorder", "backordered", at, "short: waiting for stock")])
    return {"outcome": "backordered", "round": after.backorder_rounds}


# ---------------------------------------------------------------------------------------------- helpers
def _unrecorded(ctx: FlowContext, order_id: str) -> Reservation | None:
    """The flow's held reservation of the order, made by an attempt that did not record it (one GetItem)."""
    existing = ctx.reservation_store.get(reservation_id(FLOW_PARTNER.partner_id, order_id))
    return existing.reservation if existing is not None and existing.status == "held" else None


def _draft(order: CustomerOrder, quantities: Mapping[int, int]) -> Draft:
    lines = requested_lines(order, quantities)
    return Draft(reference=order.order_id, kind="order", lines=lines, channel=order.channel)


def _record_reservation(
    ctx: FlowContext,
    record: FlowRecord,
    rid: str,
    allocation: Mapping[int, int] | None,
    children: tuple[str, ...],
    *,
    replayed: bool,
) -> Written:
    """The reservation on the order item and its demand lines `allocated` (a split: lines it holds nothing of,
    all moved to the child, `cancelled`), in one transaction. A cancel that arrived meanwhile raises
    OrderCancelled: the compensation releases the reservation by its reference."""

    def plan(current: FlowRecord, now: datetime) -> Mapping[str, Any] | None:
        if current.reservation_id:
            return None
        held = [n for n, q in allocation.items() if q > 0] if allocation is not None else None
        moved = [n for n, q in allocation.items() if q == 0] if allocation is not None else []
        changes: dict[str, Any] = {"reservation_id": rid}
        timeline = [ctx.entry(now, "reserved", rid)]
        if allocation is not None:
            changes["allocation"] = {str(n): q for n, q in allocation.items()}
        if children:
            changes["split_into"] = [*current.split_into, *(c for c in children if c not in current.split_into)]
            timeline.append(ctx.entry(now, "split", f"the rest ships as {', '.join(children)}"))
        lines = [*ctx.demand(current, ALLOCATED, held), *ctx.demand(current, CANCELLED, moved)]
        return {
            "step": "split" if allocation is not None else "reserve",
            "set": changes,
            "timeline": timeline,
            "also": [*lines, *ctx.off_risk_list(current, len(lines))],
        }

    written = ctx.write(record, plan)
    logger.info(
        "reserved",
        extra={"order_id": record.order_id, "reservation_id": rid, "replayed": replayed, "split": bool(children)},
    )
    return written


def _child_order(ctx: FlowContext, record: FlowRecord, lines: list[OrderLine]) -> CustomerOrder:
    order = record.order
    child_id = f"{order.order_id}.b{len(record.split_into) + 1}"
    if len(child_id) > 64:
        raise OrderInvalid(f"order '{order.order_id}' cannot be split: '{child_id}' is longer than 64 characters")
    return order.model_copy(
        update={
            "order_id": child_id,
            "lines": lines,
            "policy": "backorder",
            "parent_order_id": order.order_id,
            "created_at": ctx.clock(),
            "external_id": None,
        }
    )


def _created(child: CustomerOrder, parent: FlowRecord) -> Envelope[OrderCreated]:
    return Envelope[OrderCreated].wrap(
        OrderCreated(order=child),
        source_partner=child.source_partner,
        occurred_at=child.placed_at,
        received_at=child.created_at,
        correlation_id=parent.correlation_id or None,
        causation_id=None,
        event_id=created_event_id(child.order_id),
    )
