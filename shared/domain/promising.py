"""Promising: pegging open customer demand against supply, one SKU at a time (pure: no AWS).

Rules (docs/supplier-collaboration.md, "Promising"), per (SKU, location):
- supply is `max(available, 0)` today, then each open incoming line at its expected date; a line due today or
  overdue counts from tomorrow (it is not here yet), as in ATP. Earliest first (then by reference).
- open demand lines, in arrival order (placed_at, order, line), take supply in turn; a line's promise is the date
  of the supply that completes it, and it depends on every supply it takes some of;
- a line beyond all supply is promised today + the SKU's shortest supplier lead time for that location (never
  before the last supply it took part of); without a lead time it has no promise;
- `at_risk` when the promise is after the requested date, or there is none.

Lines the order-to-ship flow took out of `open` (allocated, shipped, cancelled) are not pegged: the stock reserved
for them is no longer available, so counting them would count it twice; `plan_closed_line` takes such a line off
the exceptions list. `plan_line` says what a new promise changes for a stored line: its state, whether the
change is announced (`order.promise_date_changed`: the date changed, or the line was never promised) and what
happens to its entry on the exceptions list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

ON_HAND = "on_hand"
LEAD_TIME = "lead_time"


@dataclass(frozen=True)
class Supply:
    """One source of supply at a location: on hand (today) or an incoming line (from its date on)."""

    source: str  # `on_hand` or the incoming reference (e.g. PO-1001/1)
    quantity: int
    available_on: date


@dataclass(frozen=True)
class IncomingLine:
    reference: str
    quantity: int  # still expected (after receipts)
    expected_date: date


@dataclass(frozen=True)
class DemandLine:
    order_id: str
    line: int
    location: str
    placed_at: datetime
    quantity: int
    requested_date: date | None

    @property
    def key(self) -> tuple[str, int]:
        return (self.order_id, self.line)


@dataclass(frozen=True)
class LeadTime:
    supplier_id: str
    location: str | None  # None: every ship-to location
    days: int


@dataclass(frozen=True)
class Promise:
    promise_date: date | None
    at_risk: bool
    depends_on: tuple[str, ...]


def supply_at(available: int, incoming: Iterable[IncomingLine], today: date) -> list[Supply]:
    """A location's supply, earliest first: stock available today, then the open incoming lines."""
    tomorrow = today + timedelta(days=1)
    supply = [Supply(ON_HAND, available, today)] if available > 0 else []
    lines = sorted(
        (line for line in incoming if line.quantity > 0),
        key=lambda line: (max(line.expected_date, tomorrow), line.reference),
    )
    supply.extend(Supply(line.reference, line.quantity, max(line.expected_date, tomorrow)) for line in lines)
    return supply


def shortest_lead_time(lead_times: Iterable[LeadTime], location: str) -> int | None:
    """The shortest lead time among the SKU's suppliers for `location`. A supplier's lead time for that
    location overrides its lead time for every location."""
    per_supplier: dict[str, int] = {}
    specific: set[str] = set()
    for lead_time in lead_times:
        if lead_time.location == location:
            per_supplier[lead_time.supplier_id] = lead_time.days
            specific.add(lead_time.supplier_id)
        elif lead_time.location is None and lead_time.supplier_id not in specific:
            per_supplier[lead_time.supplier_id] = lead_time.days
    return min(per_supplier.values()) if per_supplier else None


def arrival_order(line: DemandLine) -> tuple[datetime, str, int]:
    return (line.placed_at, line.order_id, line.line)


def peg_location(
    demand: Iterable[DemandLine], supply: Sequence[Supply], lead_time_days: int | None, today: date
) -> dict[tuple[str, int], Promise]:
    """Promises of the open demand lines of one (SKU, location)."""
    remaining = [s.quantity for s in supply]
    cursor = 0
    promises: dict[tuple[str, int], Promise] = {}
    for line in sorted(demand, key=arrival_order):
        needed = line.quantity
        sources: list[str] = []
        last: date | None = None
        while needed and cursor < len(supply):
            taken = min(needed, remaining[cursor])
            needed -= taken
            remaining[cursor] -= taken
            sources.append(supply[cursor].source)
            last = supply[cursor].available_on
            if remaining[cursor] == 0:
                cursor += 1
        if needed == 0:
            promise_date: date | None = last
        elif lead_time_days is None:
            promise_date = None
        else:
            sources.append(LEAD_TIME)
            by_lead_time = today + timedelta(days=lead_time_days)
            promise_date = by_lead_time if last is None else max(last, by_lead_time)
        promises[line.key] = Promise(promise_date, is_at_risk(promise_date, line.requested_date), tuple(sources))
    return promises


def peg(
    demand: Iterable[DemandLine],
    supply_by_location: Mapping[str, Sequence[Supply]],
    lead_times: Sequence[LeadTime],
    today: date,
) -> dict[tuple[str, int], Promise]:
    """Promises of every open demand line of one SKU (any location)."""
    by_location: dict[str, list[DemandLine]] = {}
    for line in demand:
        by_location.setdefault(line.location, []).append(line)
    promises: dict[tuple[str, int], Promise] = {}
    for location, lines in by_location.items():
        promises.update(
            peg_location(lines, supply_by_location.get(location, ()), shortest_lead_time(lead_times, location), today)
        )
    return promises


def is_at_risk(promise_date: date | None, requested_date: date | None) -> bool:
    if promise_date is None:
        return True
    return requested_date is not None and promise_date > requested_date


def days_late(promise_date: date | None, requested_date: date | None) -> int | None:
    if promise_date is None or requested_date is None:
        return None
    return max(0, (promise_date - requested_date).days)


# ------------------------------------------------------------------------------------------------ changes
@dataclass(frozen=True)
class PromiseState:
    """What a demand line stores about its promise. `promised_at` None: never promised (a new line)."""

    promise_date: date | None = None
    at_risk: bool = False
    depends_on: tuple[str, ...] = ()
    promised_at: datetime | None = None
    previous_promise_date: date | None = None
    at_risk_since: datetime | None = None


class ExceptionStep(StrEnum):
    PUT = "put"  # listed, or its entry changed
    DELETE = "delete"  # recovered: leaves the list


@dataclass(frozen=True)
class LineChange:
    state: PromiseState
    announce: bool  # publish order.promise_date_changed
    exception: ExceptionStep | None


def plan_line(stored: PromiseState, promise: Promise, now: datetime) -> LineChange | None:
    """What `promise` changes for a line whose stored state is `stored`; None: nothing (no write, no event).

    The date changing (or a first promise) is announced; a line now resting on other supply for the same date
    is rewritten silently (what it depends on is shown by the order and the exceptions list)."""
    first = stored.promised_at is None
    date_changed = first or promise.promise_date != stored.promise_date
    if not date_changed and promise.at_risk == stored.at_risk and promise.depends_on == stored.depends_on:
        return None
    since: datetime | None = None
    if promise.at_risk:
        since = stored.at_risk_since if stored.at_risk and stored.at_risk_since else now
    state = PromiseState(
        promise_date=promise.promise_date,
        at_risk=promise.at_risk,
        depends_on=promise.depends_on,
        promised_at=now if date_changed else stored.promised_at,
        previous_promise_date=stored.promise_date if date_changed else stored.previous_promise_date,
        at_risk_since=since,
    )
    if promise.at_risk:
        step: ExceptionStep | None = ExceptionStep.PUT
    elif stored.at_risk and not first:
        step = ExceptionStep.DELETE
    else:
        step = None
    return LineChange(state=state, announce=date_changed, exception=step)


def plan_closed_line(stored: PromiseState) -> LineChange | None:
    """A line that is no longer open (the order-to-ship flow allocated, shipped or cancelled it) is not pegged;
    if it was at risk, it leaves the exceptions list (silently: its promise no longer matters). None: nothing."""
    if not stored.at_risk:
        return None
    state = PromiseState(
        promise_date=stored.promise_date,
        at_risk=False,
        depends_on=stored.depends_on,
        promised_at=stored.promised_at,
        previous_promise_date=stored.previous_promise_date,
        at_risk_since=None,
    )
    return LineChange(state=state, announce=False, exception=ExceptionStep.DELETE)
