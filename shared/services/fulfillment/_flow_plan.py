"""What the order-to-ship steps decide without AWS: event ids, split allocations, the lines a document carries,
statuses read from the timeline, and the reasons of the exception path."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from shared.aws.fulfillment_store import FlowRecord
from shared.canonical.fulfillment import FulfillmentLine
from shared.canonical.orders import CustomerOrder, OrderLine
from shared.domain.order_flow import ORDER_STATUSES, Timers
from shared.domain.reservations import RequestedLine

SOURCE = "distrosync.order-flow"  # source_partner of the flow's events, source of its timeline entries
_EVENT_NAMESPACE = uuid.UUID("8d3c6f0e-7a41-4c1b-9e55-2b7f1d0c4a93")
_REASON_LIMIT = 1000


def flow_event_id(order_id: str, step: str, event_type: str, round: int | None = None) -> str:
    """One id per (order, step, type[, round]): a retried step publishes duplicates, which consumers drop."""
    suffix = f"/{round}" if round is not None else ""
    return uuid.uuid5(_EVENT_NAMESPACE, f"{order_id}/{step}/{event_type}{suffix}").hex


# ------------------------------------------------------------------------------------------------ quantities
def allocate(lines: Iterable[OrderLine], available: Mapping[tuple[str, str], int]) -> dict[int, int]:
    """Units per line that `available` (per SKU and location) covers, lines served in line-number order (two
    lines of one SKU share its stock). Every line is in the result, possibly with 0."""
    left = {key: max(0, units) for key, units in available.items()}
    allocation: dict[int, int] = {}
    for line in sorted(lines, key=lambda x: x.line):
        key = (line.sku, line.location)
        taken = min(line.quantity, left.get(key, 0))
        allocation[line.line] = taken
        if taken:
            left[key] -= taken
    return allocation


def requested_lines(order: CustomerOrder, quantities: Mapping[int, int]) -> tuple[RequestedLine, ...]:
    """What to reserve for `quantities` (per line), one entry per SKU and location, in eaches."""
    totals: dict[tuple[str, str], int] = {}
    for line in order.lines:
        units = quantities.get(line.line, 0)
        if units > 0:
            key = (line.sku, line.location)
            totals[key] = totals.get(key, 0) + units
    return tuple(RequestedLine(sku=sku, location=location, quantity=q) for (sku, location), q in totals.items())


def remainder(order: CustomerOrder, allocation: Mapping[int, int]) -> list[OrderLine]:
    """The order's lines with what `allocation` leaves of them (lines fully allocated are left out)."""
    rest = []
    for line in order.lines:
        units = line.quantity - allocation.get(line.line, 0)
        if units > 0:
            rest.append(line.model_copy(update={"quantity": units}))
    return rest


def fulfillment_lines(order: CustomerOrder, quantities: Mapping[int, int]) -> list[FulfillmentLine]:
    return [
        FulfillmentLine(line=line.line, sku=line.sku, quantity=quantities[line.line], unit_price=line.unit_price)
        for line in order.lines
        if quantities.get(line.line, 0) > 0
    ]


def picked_quantities(record: FlowRecord) -> dict[int, int]:
    """What the WMS reported picked (`pick.lines`), else what was released."""
    released = record.quantities
    reported = (record.pick or {}).get("lines") or []
    picked = {int(entry["line"]): int(entry["quantity"]) for entry in reported if int(entry["line"]) in released}
    return {line: qty for line, qty in picked.items() if qty > 0} or released


def location_of(order: CustomerOrder) -> str:
    """The location an order ships from (validate makes sure there is one)."""
    return order.lines[0].location


def locations_of(order: CustomerOrder) -> list[str]:
    return list(dict.fromkeys(line.location for line in order.lines))


# ------------------------------------------------------------------------------------------------ timeline
def previous_status(record: FlowRecord, status: str) -> str:
    """The status the order had before it entered `status`: its current one while it has not, else (a retried
    step re-publishing) the status entry before `status`'s last one on the timeline."""
    if record.status != status:
        return record.status
    statuses = ["open", *(entry.milestone for entry in record.timeline if entry.milestone in ORDER_STATUSES)]
    if status in statuses[1:]:
        index = len(statuses) - 1 - statuses[::-1].index(status)
        return statuses[index - 1]
    return "open"


def milestone_at(record: FlowRecord, milestone: str) -> datetime | None:
    """When the timeline last recorded `milestone`."""
    for entry in reversed(record.timeline):
        if entry.milestone == milestone:
            return entry.at
    return None


def released_to_warehouse(record: FlowRecord) -> bool:
    return any(entry.milestone == "released" for entry in record.timeline)


# ------------------------------------------------------------------------------------------ exception reasons
_WAITS: dict[tuple[str, str], tuple[str, str]] = {
    ("release", "States.Timeout"): ("pick_timeout", "the WMS did not confirm the pick within {} s"),
    ("release", "States.HeartbeatTimeout"): ("pick_heartbeat", "the WMS reported no pick progress for {} s"),
    ("ship", "States.Timeout"): ("dispatch_timeout", "the TMS did not confirm the dispatch within {} s"),
    ("track", "States.Timeout"): ("delivery_timeout", "the carrier did not report the delivery within {} s"),
}


def cause_message(cause: Any) -> str:
    """The readable part of a Catch's `Cause`: a Lambda error's `errorMessage`, else the text itself."""
    if not cause:
        return ""
    text = str(cause)
    try:
        document = json.loads(text)
    except ValueError:
        return text
    if isinstance(document, dict):
        return str(document.get("errorMessage") or document.get("message") or text)
    return text


def exception_reason(
    step: str, error: str, cause: Any, *, timers: Timers | None = None, waited_seconds: float | None = None
) -> str:
    """Why a step failed, for a person. A wait that timed out names its timer: from the execution's `timers`
    when the task passes them, else the time the order was parked (it is the timer, to within a second)."""
    wait = _WAITS.get((step, error))
    if wait is not None:
        timer, text = wait
        seconds = getattr(timers, timer) if timers is not None else round(waited_seconds or 0)
        return text.format(seconds)
    message = cause_message(cause)
    return (f"{error}: {message}" if message else error)[:_REASON_LIMIT]
