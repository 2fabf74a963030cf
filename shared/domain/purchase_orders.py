"""Purchase orders decided without AWS: ERP revisions, supplier acknowledgments, ship notices, the incoming supply
each PO line stands for, the line's risk for planning, and SSCC-18 check digits.

A PO's state is the ERP's latest revision (`PurchaseOrder`), the supplier's answer per line (`LineAck`) and the
shipments announced against it. Everything inventory and the warehouse should expect follows from that state
(`supply`), so every change is published as the difference between the state before and after it: a line whose
open supply did not change is not republished, a supply reference that disappeared is closed (quantity 0).

Supply references: `<po>/<line>` for the line's confirmed (or, before acknowledgment, ordered) quantity;
`<po>/<line>#<n>` for the n-th delivery of a split schedule; `<po>/<line>/<ship notice id>` once shipped.
Shipped quantities leave the on-order references earliest delivery first; the rest stays on order.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from shared.canonical.purchasing import (
    AckLineOutcome,
    AckLineStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    ScheduledDelivery,
)

MAX_PO_LINES = 500
DEFAULT_ACK_WINDOW_HOURS = 48
_EVENT_NAMESPACE = uuid.UUID("0b5c3f0e-7a3e-4c39-9f38-5d1c2a6b8e41")

LineStatus = AckLineStatus | Literal["open"]
RiskReason = Literal["late", "short", "rejected"]


# --------------------------------------------------------------------------------------------------- errors
class PurchasingError(Exception):
    """A request that contradicts the purchase order; the API maps each kind to its problem type. `errors` are
    `{"in", "pointer", "message", "code"}` entries naming each offending field."""

    code = "validation-failed"

    def __init__(self, message: str, errors: Sequence[Mapping[str, Any]] = ()) -> None:
        self.errors = [dict(e) for e in errors]
        super().__init__(message)


class UnknownPoLine(PurchasingError):
    code = "unknown-po-line"

    def __init__(self, po_number: str, lines: Sequence[tuple[str, int]]) -> None:
        self.lines = [n for _, n in lines]
        super().__init__(
            f"purchase order {po_number} has no line(s) {', '.join(str(n) for n in self.lines)}",
            [_error(ptr, f"line {n} is not on purchase order {po_number}", self.code) for ptr, n in lines],
        )


class InvalidAcknowledgment(PurchasingError):
    code = "invalid-acknowledgment"


class InvalidShipNotice(PurchasingError):
    code = "validation-failed"


class InvalidSscc(PurchasingError):
    code = "invalid-sscc"


class OverShipment(PurchasingError):
    code = "over-shipment"


class PurchaseOrderClosed(PurchasingError):
    code = "purchase-order-closed"

    def __init__(self, po_number: str, status: str) -> None:
        self.status = status
        super().__init__(f"purchase order {po_number} is {status}")


def _error(pointer: str, message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"in": "body", "pointer": pointer, "message": message, "code": code, **extra}


# ---------------------------------------------------------------------------------------------------- state
@dataclass(frozen=True)
class Delivery:
    quantity: int
    date: date


@dataclass(frozen=True)
class LineAck:
    """The supplier's latest answer for one line. `schedule` is empty unless the line was split."""

    status: AckLineStatus
    confirmed: int
    promised_date: date | None = None
    unit_price: Decimal | None = None
    schedule: tuple[Delivery, ...] = ()


@dataclass(frozen=True)
class Shipment:
    ship_notice_id: str
    line: int
    quantity: int
    eta: date


@dataclass(frozen=True)
class PoState:
    order: PurchaseOrder
    version: int
    acks: Mapping[int, LineAck] = field(default_factory=dict)
    shipments: tuple[Shipment, ...] = ()
    ack_window_hours: int = DEFAULT_ACK_WINDOW_HOURS
    ack_due_at: datetime | None = None
    ack_overdue_at: datetime | None = None
    ack_id: str | None = None
    ack_issued_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    correlation_id: str | None = None  # of the request that created the PO: the business flow it starts

    @property
    def po_number(self) -> str:
        return self.order.po_number

    @property
    def is_open(self) -> bool:
        return self.order.status == "open"

    def line(self, number: int) -> PurchaseOrderLine | None:
        return next((x for x in self.order.lines if x.line == number), None)

    def shipped(self, number: int) -> int:
        return sum(s.quantity for s in self.shipments if s.line == number)

    def committed(self, number: int) -> int:
        """What the supplier is to deliver on the line: the confirmed quantity, or the ordered one until the
        line is acknowledged."""
        ack = self.acks.get(number)
        line = self.line(number)
        if ack is not None:
            return ack.confirmed
        return line.quantity if line else 0

    def status_of(self, number: int) -> LineStatus:
        ack = self.acks.get(number)
        return ack.status if ack else "open"

    @property
    def awaiting_ack(self) -> bool:
        """Listed in the acknowledgment-due index: open, sent, neither acknowledged nor reported overdue."""
        return self.is_open and self.ack_id is None and self.ack_overdue_at is None and self.ack_due_at is not None


def need_date(line: PurchaseOrderLine) -> date:
    return line.need_date or line.requested_date


def event_id(po_number: str, version: int, event_type: str, subject: str) -> str:
    """One id per PO state version, event type and subject: a re-publication is a duplicate consumers drop."""
    return uuid.uuid5(_EVENT_NAMESPACE, f"{po_number}#{version}/{event_type}/{subject}").hex


# --------------------------------------------------------------------------------------------------- supply
@dataclass(frozen=True)
class Supply:
    """One incoming line of the PO as inventory should hold it."""

    reference: str
    line: int
    sku: str
    kind: Literal["on_order", "in_transit"]
    quantity: int
    expected_date: date
    ship_notice_id: str | None = None


def line_reference(po_number: str, line: int) -> str:
    return f"{po_number}/{line}"


def schedule_reference(po_number: str, line: int, n: int) -> str:
    return f"{po_number}/{line}#{n}"


def shipment_reference(po_number: str, line: int, ship_notice_id: str) -> str:
    return f"{po_number}/{line}/{ship_notice_id}"


def deliveries(state: PoState, line: PurchaseOrderLine) -> list[tuple[str, Delivery]]:
    """The line's confirmed deliveries with their references, as the supplier numbered them."""
    po, ack = state.po_number, state.acks.get(line.line)
    if ack is None:
        return [(line_reference(po, line.line), Delivery(line.quantity, line.requested_date))]
    if ack.schedule:
        return [(schedule_reference(po, line.line, n), d) for n, d in enumerate(ack.schedule, start=1)]
    return [(line_reference(po, line.line), Delivery(ack.confirmed, ack.promised_date or line.requested_date))]


def supply(state: PoState) -> dict[str, Supply]:
    """Every open incoming line of the PO, by reference. A cancelled or closed PO has nothing on order (what was
    shipped is still in transit)."""
    out: dict[str, Supply] = {}
    for line in state.order.lines:
        if state.is_open:
            shipped = state.shipped(line.line)
            for reference, delivery in sorted(deliveries(state, line), key=lambda x: x[1].date):
                taken = min(shipped, delivery.quantity)
                shipped -= taken
                if delivery.quantity - taken > 0:
                    out[reference] = Supply(
                        reference, line.line, line.sku, "on_order", delivery.quantity - taken, delivery.date
                    )
    skus = {x.line: x.sku for x in state.order.lines}
    for s in state.shipments:
        sku = skus.get(s.line)
        if sku is not None:
            reference = shipment_reference(state.po_number, s.line, s.ship_notice_id)
            out[reference] = Supply(reference, s.line, sku, "in_transit", s.quantity, s.eta, s.ship_notice_id)
    return dict(sorted(out.items(), key=lambda kv: (kv[1].line, kv[1].kind != "on_order", kv[0])))


def supply_changes(before: PoState | None, after: PoState) -> list[Supply]:
    """The incoming lines to publish: those new or changed, and those gone, closed with quantity 0."""
    old = supply(before) if before else {}
    new = supply(after)
    changed = [s for ref, s in new.items() if old.get(ref) != s]
    closed = [replace(s, quantity=0) for ref, s in old.items() if ref not in new]
    return sorted(changed + closed, key=lambda s: (s.line, s.reference))


# ----------------------------------------------------------------------------------------------------- risk
@dataclass(frozen=True)
class Risk:
    reasons: tuple[RiskReason, ...] = ()
    days_late: int = 0
    shortfall: int = 0
    expected_date: date | None = None

    @property
    def at_risk(self) -> bool:
        return bool(self.reasons)


def line_risk(state: PoState, number: int) -> Risk:
    """A line is at risk when the supplier rejected it, confirmed less than ordered (`short`), or its last open
    supply arrives after the need date (`late`). Closed POs and removed lines carry no risk."""
    line = state.line(number)
    if line is None or not state.is_open:
        return Risk()
    ack = state.acks.get(number)
    if ack is not None and ack.status == "rejected":
        return Risk(("rejected",), shortfall=line.quantity)
    open_dates = [s.expected_date for s in supply(state).values() if s.line == number and s.quantity > 0]
    last = max(open_dates) if open_dates else None
    reasons: list[RiskReason] = []
    days_late = 0
    if last is not None and last > need_date(line):
        reasons.append("late")
        days_late = (last - need_date(line)).days
    shortfall = max(0, line.quantity - state.committed(number))
    if shortfall:
        reasons.append("short")
    return Risk(tuple(reasons), days_late, shortfall, last)


def risk_changes(before: PoState | None, after: PoState) -> list[tuple[PurchaseOrderLine, Risk]]:
    """Lines whose risk changed (a removed line that was at risk reports its recovery)."""
    lines = {x.line: x for x in (before.order.lines if before else [])} | {x.line: x for x in after.order.lines}
    out = []
    for number, line in sorted(lines.items()):
        old = line_risk(before, number) if before else Risk()
        new = line_risk(after, number)
        if (old.reasons, old.days_late, old.shortfall) != (new.reasons, new.days_late, new.shortfall):
            out.append((line, new))
    return out


# ------------------------------------------------------------------------------------------------ revisions
RevisionOutcome = Literal["created", "changed", "unchanged", "superseded"]


@dataclass(frozen=True)
class RevisionResult:
    outcome: RevisionOutcome
    state: PoState
    changed_lines: tuple[int, ...] = ()


def apply_revision(
    state: PoState | None,
    order: PurchaseOrder,
    *,
    now: datetime,
    ack_window_hours: int = DEFAULT_ACK_WINDOW_HOURS,
    correlation_id: str | None = None,
) -> RevisionResult:
    """The ERP's revision of a PO. An older revision is superseded and the same one unchanged (nothing happens).
    A new PO awaits acknowledgment until `sent_at + ack_window_hours`. A newer revision keeps the supplier's
    answers for lines whose SKU is unchanged, capped at the new ordered quantity; answers of removed lines or
    of lines given another SKU are dropped."""
    repeats = [n for n, k in Counter(x.line for x in order.lines).items() if k > 1]
    if repeats:
        raise PurchasingError(
            f"each line number may appear once: {', '.join(map(str, repeats))} repeated",
            [
                _error(f"/lines/{i}/line", f"line {x.line} appears more than once", "repeated")
                for i, x in enumerate(order.lines)
                if x.line in repeats
            ],
        )
    if state is None:
        due = order.sent_at + timedelta(hours=ack_window_hours) if order.status == "open" else None
        created = PoState(
            order=order,
            version=1,
            ack_window_hours=ack_window_hours,
            ack_due_at=due,
            created_at=now,
            updated_at=now,
            correlation_id=correlation_id,
        )
        return RevisionResult("created", created, tuple(x.line for x in order.lines))
    if order.revision < state.order.revision:
        return RevisionResult("superseded", state)
    if order.revision == state.order.revision:
        return RevisionResult("unchanged", state)
    old_lines = {x.line: x for x in state.order.lines}
    new_lines = {x.line: x for x in order.lines}
    acks: dict[int, LineAck] = {}
    for number, line in new_lines.items():
        ack, old = state.acks.get(number), old_lines.get(number)
        if ack is not None and old is not None and old.sku == line.sku:
            acks[number] = _cap(ack, line.quantity)
    changed = sorted(n for n in old_lines.keys() | new_lines.keys() if old_lines.get(n) != new_lines.get(n))
    after = replace(
        state,
        order=order,
        version=state.version + 1,
        acks=acks,
        ack_due_at=state.ack_due_at if order.status == "open" else None,
        updated_at=now,
    )
    return RevisionResult("changed", after, tuple(changed))


def _cap(ack: LineAck, ordered: int) -> LineAck:
    """The answer, confirming at most `ordered` (the latest deliveries are cut first)."""
    if ack.confirmed <= ordered:
        return ack
    kept: list[Delivery] = []
    room = ordered
    for delivery in ack.schedule:
        if room <= 0:
            break
        kept.append(replace(delivery, quantity=min(room, delivery.quantity)))
        room -= kept[-1].quantity
    return replace(ack, confirmed=ordered, schedule=tuple(kept))


# ------------------------------------------------------------------------------------------ acknowledgments
@dataclass(frozen=True)
class AckLineInput:
    """One line of an acknowledgment, quantities in eaches. `at` is the JSON pointer of the line."""

    line: int
    status: AckLineStatus
    quantity: int | None = None
    promised_date: date | None = None
    unit_price: Decimal | None = None
    schedule: tuple[Delivery, ...] = ()
    at: str = ""


@dataclass(frozen=True)
class Acknowledgment:
    acknowledgment_id: str
    issued_at: datetime
    lines: tuple[AckLineInput, ...]


@dataclass(frozen=True)
class AckResult:
    outcome: Literal["applied", "superseded"]
    state: PoState
    lines: tuple[AckLineOutcome, ...] = ()


def apply_acknowledgment(state: PoState, ack: Acknowledgment, *, now: datetime) -> AckResult:
    """The supplier's answer, line by line; lines not mentioned keep their state. An acknowledgment issued
    before the one last applied (ties: the greater id wins) is superseded and changes nothing.

    Raises PurchaseOrderClosed, UnknownPoLine, InvalidAcknowledgment (confirming more than ordered or less than
    shipped, a promised date in the past, a line repeated, a status contradicting its quantities)."""
    if not state.is_open:
        raise PurchaseOrderClosed(state.po_number, state.order.status)
    unknown = [(f"{x.at}/line", x.line) for x in ack.lines if state.line(x.line) is None]
    if unknown:
        raise UnknownPoLine(state.po_number, unknown)
    if state.ack_issued_at is not None and (ack.issued_at, ack.acknowledgment_id) < (
        state.ack_issued_at,
        state.ack_id or "",
    ):
        return AckResult("superseded", state)
    errors = _repeated([(f"{x.at}/line", x.line) for x in ack.lines], InvalidAcknowledgment.code)
    today = now.date()
    answers: dict[int, LineAck] = {}
    for x in ack.lines:
        line = state.line(x.line)
        assert line is not None
        answer, line_errors = _answer(state, line, x, today)
        errors += line_errors
        if answer is not None:
            answers[x.line] = answer
    if errors:
        raise InvalidAcknowledgment(f"the acknowledgment contradicts purchase order {state.po_number}", errors)
    after = replace(
        state,
        version=state.version + 1,
        acks={**state.acks, **answers},
        ack_id=ack.acknowledgment_id,
        ack_issued_at=ack.issued_at,
        updated_at=now,
    )
    outcomes = tuple(_outcome(state, after, x.line) for x in ack.lines)
    return AckResult("applied", after, outcomes)


def _answer(
    state: PoState, line: PurchaseOrderLine, x: AckLineInput, today: date
) -> tuple[LineAck | None, list[dict[str, Any]]]:
    code = InvalidAcknowledgment.code
    errors: list[dict[str, Any]] = []
    previous = state.acks.get(x.line)
    scheduled = sum(d.quantity for d in x.schedule)
    if x.schedule and x.quantity is not None and x.quantity != scheduled:
        errors.append(
            _error(f"{x.at}/quantity", f"the schedule adds up to {scheduled}, not the quantity {x.quantity}", code)
        )
    for i, d in enumerate(x.schedule):
        if d.date < today:
            errors.append(_error(f"{x.at}/schedule/{i}/date", f"delivery date {d.date} is in the past", code))
    if x.promised_date is not None and x.promised_date < today:
        errors.append(_error(f"{x.at}/promised_date", f"promised date {x.promised_date} is in the past", code))
    given = x.quantity if x.quantity is not None else (scheduled if x.schedule else None)
    if x.status == "rejected":
        if given:
            errors.append(_error(f"{x.at}/quantity", "a rejected line confirms nothing", code))
        confirmed = 0
    elif x.status == "accepted":
        if given is not None and given != line.quantity:
            errors.append(
                _error(
                    f"{x.at}/quantity",
                    f"'accepted' confirms the ordered {line.quantity}; use 'changed' to confirm {given}",
                    code,
                )
            )
        confirmed = line.quantity
    elif x.status == "changed":
        if given is None and x.promised_date is None and x.unit_price is None:
            errors.append(_error(x.at or "/", "'changed' needs a quantity, promised date, price or schedule", code))
        confirmed = given if given is not None else (previous.confirmed if previous else line.quantity)
    else:  # backordered: still to come, later
        confirmed = given if given is not None else (previous.confirmed if previous else line.quantity)
    if confirmed > line.quantity:
        errors.append(_error(f"{x.at}/quantity", f"confirms {confirmed}, more than the {line.quantity} ordered", code))
    shipped = state.shipped(x.line)
    if confirmed < shipped:
        errors.append(_error(f"{x.at}/quantity", f"confirms {confirmed}, less than the {shipped} shipped", code))
    if x.status != "rejected" and confirmed == 0 and not errors:
        errors.append(_error(f"{x.at}/quantity", "confirming 0 is a rejection: use status 'rejected'", code))
    if errors:
        return None, errors
    if x.status == "rejected":
        return LineAck("rejected", 0, None, x.unit_price), []
    promised = (
        max(d.date for d in x.schedule)
        if x.schedule
        else x.promised_date or (previous.promised_date if previous else None) or line.requested_date
    )
    price = x.unit_price if x.unit_price is not None else (previous.unit_price if previous else None)
    schedule = x.schedule if len(x.schedule) > 1 else ()
    if len(x.schedule) == 1:
        promised = x.schedule[0].date
    return LineAck(x.status, confirmed, promised, price, schedule), []


def _outcome(before: PoState, after: PoState, number: int) -> AckLineOutcome:
    line = after.line(number)
    assert line is not None
    old, new = before.acks.get(number), after.acks[number]
    old_price = old.unit_price if old and old.unit_price is not None else line.unit_price
    new_price = new.unit_price if new.unit_price is not None else line.unit_price
    old_date = (old.promised_date if old else None) or line.requested_date
    old_quantity = old.confirmed if old else line.quantity
    old_schedule = old.schedule if old else ()
    changed = []
    if new.confirmed != old_quantity:
        changed.append("quantity")
    if new.promised_date != old_date or new.schedule != old_schedule:
        changed.append("date")
    if new_price != old_price:
        changed.append("price")
    if new.status != (old.status if old else "open"):
        changed.append("status")
    po = after.po_number
    return AckLineOutcome(
        line=number,
        sku=line.sku,
        location=after.order.location,
        status=new.status,
        ordered_quantity=line.quantity,
        confirmed_quantity=new.confirmed,
        previous_confirmed_quantity=old.confirmed if old else None,
        promised_date=new.promised_date,
        previous_promised_date=old.promised_date if old else None,
        unit_price=new_price,
        previous_unit_price=old_price,
        need_date=need_date(line),
        changed=changed,
        previous_status=old.status if old else "open",
        schedule=[
            ScheduledDelivery(reference=schedule_reference(po, number, n), quantity=d.quantity, date=d.date)
            for n, d in enumerate(new.schedule, start=1)
        ],
    )


# --------------------------------------------------------------------------------------------- ship notices
@dataclass(frozen=True)
class CartonInput:
    sscc: str
    lines: tuple[tuple[int, int], ...]  # (line, eaches)


@dataclass(frozen=True)
class ShipNoticeInput:
    ship_notice_id: str
    eta: date
    lines: tuple[tuple[int, int], ...]  # (line, eaches)
    cartons: tuple[CartonInput, ...] = ()


def apply_ship_notice(state: PoState, notice: ShipNoticeInput, *, now: datetime) -> PoState:
    """The shipped lines are in transit; the rest of each line stays on order.

    Raises PurchaseOrderClosed, UnknownPoLine, InvalidSscc (not 18 digits with a valid GS1 check digit),
    InvalidShipNotice (a line or SSCC repeated, carton contents that do not add up to the lines), OverShipment
    (more than the line's confirmed open quantity: confirmed, or ordered until acknowledged, less shipped)."""
    if not state.is_open:
        raise PurchaseOrderClosed(state.po_number, state.order.status)
    pointers = [(f"/lines/{i}/line", n) for i, (n, _) in enumerate(notice.lines)]
    pointers += [
        (f"/cartons/{c}/lines/{i}/line", n)
        for c, carton in enumerate(notice.cartons)
        for i, (n, _) in enumerate(carton.lines)
    ]
    unknown = [(ptr, n) for ptr, n in pointers if state.line(n) is None]
    if unknown:
        raise UnknownPoLine(state.po_number, unknown)
    bad = [
        _error(f"/cartons/{c}/sscc", f"'{carton.sscc}' is not an SSCC-18 with a valid check digit", InvalidSscc.code)
        for c, carton in enumerate(notice.cartons)
        if not is_valid_sscc(carton.sscc)
    ]
    if bad:
        raise InvalidSscc(f"{len(bad)} carton(s) have an invalid SSCC", bad)
    errors = _repeated([(f"/lines/{i}/line", n) for i, (n, _) in enumerate(notice.lines)], "repeated")
    errors += _repeated([(f"/cartons/{c}/sscc", x.sscc) for c, x in enumerate(notice.cartons)], "repeated")
    if notice.cartons:
        packed: Counter[int] = Counter()
        for carton in notice.cartons:
            for n, quantity in carton.lines:
                packed[n] += quantity
        shipped = dict(notice.lines)
        for n in sorted(packed.keys() | shipped.keys()):
            if packed[n] != shipped.get(n, 0):
                errors.append(
                    _error(
                        "/cartons",
                        f"line {n}: the cartons hold {packed[n]}, the notice ships {shipped.get(n, 0)}",
                        "carton-mismatch",
                        line=n,
                    )
                )
    if errors:
        raise InvalidShipNotice(f"ship notice {notice.ship_notice_id} does not add up", errors)
    over = []
    for i, (n, quantity) in enumerate(notice.lines):
        open_quantity = max(0, state.committed(n) - state.shipped(n))
        if quantity > open_quantity:
            over.append(
                _error(
                    f"/lines/{i}/quantity",
                    f"line {n}: ships {quantity}, the open quantity is {open_quantity}",
                    OverShipment.code,
                    line=n,
                    open_quantity=open_quantity,
                )
            )
    if over:
        raise OverShipment(f"ship notice {notice.ship_notice_id} ships more than is open", over)
    shipments = tuple(Shipment(notice.ship_notice_id, n, quantity, notice.eta) for n, quantity in notice.lines)
    return replace(state, version=state.version + 1, shipments=state.shipments + shipments, updated_at=now)


def sscc_check_digit(first17: str) -> int:
    """GS1 mod-10: weights 3, 1, 3, ... from the rightmost of the 17 data digits."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(first17)))
    return (10 - total % 10) % 10


def is_valid_sscc(value: str) -> bool:
    return len(value) == 18 and value.isascii() and value.isdigit() and sscc_check_digit(value[:17]) == int(value[17])


# ------------------------------------------------------------------------------------------------- overdue
def is_ack_overdue(state: PoState, now: datetime) -> bool:
    return state.awaiting_ack and state.ack_due_at is not None and state.ack_due_at <= now


def mark_ack_overdue(state: PoState, now: datetime) -> PoState:
    return replace(state, version=state.version + 1, ack_overdue_at=now, updated_at=now)


# ---------------------------------------------------------------------------------------------------- misc
def _repeated(values: Iterable[tuple[str, Any]], code: str) -> list[dict[str, Any]]:
    pairs = list(values)
    counts = Counter(v for _, v in pairs)
    return [_error(ptr, f"'{v}' appears more than once", code) for ptr, v in pairs if counts[v] > 1]
