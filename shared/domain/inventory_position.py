"""The inventory position of one SKU at one location, and how movements change it (pure: no AWS).

See docs/inventory.md ("Ordering and convergence") for the rules this module implements. In short: a
position is a `base` count as of `base_mark` plus a sorted `tail` of the deltas after it; counts supersede
older movements from any source, deltas apply once, and the tail is bounded by `TAIL_LIMIT`.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.canonical.envelope import Envelope
    from shared.canonical.inventory import (
        IncomingUpdated,
        InventoryAdjusted,
        InventorySnapshotReceived,
        ReceiptPosted,
        SnapshotLine,
    )

# How many deltas after the base count a position keeps (for de-duplication and for counts that arrive late).
TAIL_LIMIT = 64
ON_HAND = "on_hand"
COUNTED_UNAVAILABLE = ("damaged", "quality_control", "blocked", "returns")
LOT_PREFIX = "lot:"
SAFETY_STOCK = "safety_stock"
INCOMING_KINDS = ("on_order", "in_transit")
# How many receipt keys an incoming line remembers, so that a re-delivered receipt reduces it once.
RECEIPTS_KEPT = 32
# The stock status that is not a bucket: moving stock to or from it changes only the other bucket.
AVAILABLE_STATUS = "available"


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"


@dataclass(frozen=True, order=True)
class Mark:
    """Total order of movements: time in the source system, then source, then the source's sequence."""

    at: datetime
    source: str
    sequence: int


@dataclass(frozen=True)
class TailEntry:
    mark: Mark
    event_id: str
    changes: dict[str, int]  # bucket -> change (on_hand, damaged, ..., lot:<id>)


@dataclass(frozen=True)
class Incoming:
    reference: str
    kind: str  # on_order | in_transit
    quantity: int  # open quantity expected (eaches), after receipts
    expected_date: date
    sequence: int
    received: int = 0
    receipts: tuple[str, ...] = ()  # "<source>#<sequence>" of receipts applied (bounded)


@dataclass(frozen=True)
class Position:
    sku: str
    location: str
    base: dict[str, int] = field(default_factory=dict)
    base_mark: Mark | None = None
    tail: tuple[TailEntry, ...] = ()
    committed: int = 0
    reserved: int = 0
    safety_stock: int = 0
    incoming: dict[str, Incoming] = field(default_factory=dict)
    as_of: datetime | None = None
    version: int = 0
    last_event_id: str | None = None

    @cached_property
    def _counts(self) -> dict[str, int]:
        totals = dict(self.base)
        for entry in self.tail:
            for bucket, change in entry.changes.items():
                totals[bucket] = totals.get(bucket, 0) + change
        return {bucket: value for bucket, value in totals.items() if value}

    @property
    def counts(self) -> dict[str, int]:
        """Every bucket: base plus the tail's changes (zero entries dropped). A copy: mutate freely."""
        return dict(self._counts)

    @property
    def on_hand(self) -> int:
        return self._counts.get(ON_HAND, 0)

    @property
    def unavailable(self) -> dict[str, int]:
        """Unavailable stock by reason, every reason present.

        A counted bucket driven below zero by out-of-step feeds (e.g. a status change out of `damaged`
        before the count that put stock there) is shown as 0: it cannot make more stock available.
        """
        counts = self._counts
        figures = {reason: max(0, counts.get(reason, 0)) for reason in COUNTED_UNAVAILABLE}
        figures[SAFETY_STOCK] = self.safety_stock
        return figures

    @property
    def unavailable_total(self) -> int:
        return sum(self.unavailable.values())

    @property
    def available(self) -> int:
        """on_hand - committed - reserved - unavailable; negative when more is promised than is here."""
        return self.on_hand - self.committed - self.reserved - self.unavailable_total

    @property
    def lots(self) -> dict[str, int]:
        return {
            bucket[len(LOT_PREFIX) :]: value for bucket, value in self._counts.items() if bucket.startswith(LOT_PREFIX)
        }

    @property
    def incoming_open(self) -> list[Incoming]:
        """Supply lines still expected (quantity > 0), earliest first."""
        return sorted(
            (line for line in self.incoming.values() if line.quantity > 0),
            key=lambda line: (line.expected_date, line.reference),
        )

    @property
    def key(self) -> str:
        return f"{self.sku}@{self.location}"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    position: Position
    reason: str = ""
    on_hand_before: int | None = None  # on hand before the change; None when there was no position


# ----------------------------------------------------------------------------------------------------- helpers


def _start(position: Position | None, sku: str, location: str) -> Position:
    if position is None:
        return Position(sku=sku, location=location)
    if position.sku != sku or position.location != location:
        raise ValueError(f"movement for {sku}@{location} applied to position {position.key}")
    return position


def _check_buckets(values: dict[str, int], *, absolute: bool) -> None:
    for bucket, value in values.items():
        if not (bucket == ON_HAND or bucket in COUNTED_UNAVAILABLE or _is_lot(bucket)):
            raise ValueError(f"unknown bucket '{bucket}'")
        if type(value) is not int:
            raise ValueError(f"bucket '{bucket}': {value!r} is not an integer")
        if absolute and value < 0:
            raise ValueError(f"bucket '{bucket}': a count cannot be negative ({value})")


def _is_lot(bucket: str) -> bool:
    return bucket.startswith(LOT_PREFIX) and len(bucket) > len(LOT_PREFIX)


def _add(base: dict[str, int], changes: dict[str, int]) -> dict[str, int]:
    total = dict(base)
    for bucket, change in changes.items():
        value = total.get(bucket, 0) + change
        if value:
            total[bucket] = value
        else:
            total.pop(bucket, None)
    return total


def _later(as_of: datetime | None, at: datetime) -> datetime:
    return at if as_of is None or at > as_of else as_of


def _applied(
    before: Position | None,
    current: Position,
    *,
    at: datetime,
    event_id: str,
    counts: dict[str, int] | None = None,
    reason: str = "",
    **changes: Any,
) -> Decision:
    """`current` changed by `changes`, one version on. `counts`, when the caller knows them, saves summing the tail."""
    position = replace(
        current, **changes, version=current.version + 1, last_event_id=event_id, as_of=_later(current.as_of, at)
    )
    if counts is not None:
        object.__setattr__(position, "_counts", counts)  # pre-fill the cached property
    return Decision(Outcome.APPLIED, position, reason, _on_hand(before))


def _on_hand(position: Position | None) -> int | None:
    return None if position is None else position.on_hand


def _receipt_key(mark: Mark) -> str:
    return f"{mark.source}#{mark.sequence}"


def _lot_bucket(lot: str) -> str:
    return f"{LOT_PREFIX}{lot}"


@dataclass(frozen=True)
class _DeltaStep:
    """What a delta does to base and tail, before version bookkeeping (shared by deltas and receipts)."""

    outcome: Outcome
    reason: str
    base: dict[str, int]
    base_mark: Mark | None
    tail: tuple[TailEntry, ...]


def _delta_step(position: Position, mark: Mark, changes: dict[str, int], event_id: str) -> _DeltaStep:
    base_mark = position.base_mark
    if base_mark is not None and mark <= base_mark:
        return _DeltaStep(
            Outcome.STALE,
            f"already in the base taken at {base_mark.at.isoformat()} from {base_mark.source}#{base_mark.sequence} "
            f"(a count that covers it, or it is more than {TAIL_LIMIT} movements late)",
            position.base,
            base_mark,
            position.tail,
        )
    source, sequence = mark.source, mark.sequence
    for entry in position.tail:
        known = entry.mark
        if known.sequence == sequence and known.source == source:
            return _DeltaStep(
                Outcome.DUPLICATE,
                f"{mark.source}#{mark.sequence} already applied",
                position.base,
                base_mark,
                position.tail,
            )
    tail = list(position.tail)
    insort(tail, TailEntry(mark, event_id, {b: c for b, c in changes.items() if c}), key=lambda e: e.mark)
    base = position.base
    while len(tail) > TAIL_LIMIT:
        oldest = tail.pop(0)
        base, base_mark = _add(base, oldest.changes), oldest.mark
    return _DeltaStep(Outcome.APPLIED, "", base, base_mark, tuple(tail))


# -------------------------------------------------------------------------------------------------- movements


def apply_count(
    position: Position | None, *, sku: str, location: str, mark: Mark, counts: dict[str, int], event_id: str
) -> Decision:
    """An absolute count of the whole position (missing buckets are 0): it supersedes every older movement."""
    _check_buckets(counts, absolute=True)
    current = _start(position, sku, location)
    base_mark = current.base_mark
    if base_mark is not None and mark == base_mark:
        return Decision(
            Outcome.DUPLICATE, current, f"count {mark.source}#{mark.sequence} already applied", _on_hand(position)
        )
    if base_mark is not None and mark < base_mark:
        return Decision(
            Outcome.STALE,
            current,
            f"superseded by the base taken at {base_mark.at.isoformat()} from {base_mark.source}#{base_mark.sequence}",
            _on_hand(position),
        )
    return _applied(
        position,
        current,
        at=mark.at,
        event_id=event_id,
        base={bucket: value for bucket, value in counts.items() if value},
        base_mark=mark,
        tail=tuple(entry for entry in current.tail if entry.mark > mark),
    )


def apply_delta(
    position: Position | None, *, sku: str, location: str, mark: Mark, changes: dict[str, int], event_id: str
) -> Decision:
    """A relative change of some buckets: applied once, unless a count at or after its mark already has it."""
    _check_buckets(changes, absolute=False)
    current = _start(position, sku, location)
    step = _delta_step(current, mark, changes, event_id)
    if step.outcome is not Outcome.APPLIED:
        return Decision(step.outcome, current, step.reason, _on_hand(position))
    return _applied(
        position,
        current,
        at=mark.at,
        event_id=event_id,
        counts=_add(current._counts, changes),
        base=step.base,
        base_mark=step.base_mark,
        tail=step.tail,
    )


def apply_receipt(
    position: Position | None,
    *,
    sku: str,
    location: str,
    mark: Mark,
    quantity: int,
    lot: str | None,
    incoming_reference: str | None,
    event_id: str,
) -> Decision:
    """Goods received: a delta of on hand (and the lot), and the incoming line it names is reduced once.

    The line is reduced even when the on-hand delta is stale (a later count already has the goods: the
    supply is still fulfilled). A re-delivered receipt is recognised by its `<source>#<sequence>` key.
    """
    if type(quantity) is not int or quantity <= 0:
        raise ValueError(f"a receipt quantity must be a positive integer ({quantity!r})")
    current = _start(position, sku, location)
    changes = {ON_HAND: quantity}
    if lot:
        changes[_lot_bucket(lot)] = quantity
    step = _delta_step(current, mark, changes, event_id)

    incoming = current.incoming
    line = incoming.get(incoming_reference) if incoming_reference else None
    key = _receipt_key(mark)
    reduces = False
    if line is not None and key not in line.receipts:
        reduces = True
        incoming = {
            **incoming,
            line.reference: replace(
                line,
                quantity=max(0, line.quantity - quantity),
                received=line.received + quantity,
                receipts=(*line.receipts, key)[-RECEIPTS_KEPT:],
            ),
        }

    if step.outcome is not Outcome.APPLIED and not reduces:
        return Decision(step.outcome, current, step.reason, _on_hand(position))
    if step.outcome is Outcome.APPLIED:
        return _applied(
            position,
            current,
            at=mark.at,
            event_id=event_id,
            counts=_add(current._counts, changes),
            base=step.base,
            base_mark=step.base_mark,
            tail=step.tail,
            incoming=incoming,
        )
    reason = f"incoming {incoming_reference} reduced; on hand {step.reason}"
    return _applied(
        position, current, at=mark.at, event_id=event_id, counts=current._counts, reason=reason, incoming=incoming
    )


def apply_incoming(
    position: Position | None,
    *,
    sku: str,
    location: str,
    reference: str,
    kind: str,
    quantity: int,
    expected_date: date,
    sequence: int,
    event_id: str,
    at: datetime,
    basis: str = "open",
) -> Decision:
    """The supplier's open quantity and date for one supply line; the latest `sequence` per reference wins.

    Quantity 0 closes the line but keeps it, so that an older update arriving late cannot reopen it. With
    `basis="confirmed"` the quantity is the line's whole confirmation: what was received against the reference
    is deducted, so a later confirmation does not reopen what has arrived.
    """
    if kind not in INCOMING_KINDS:
        raise ValueError(f"incoming kind must be one of {INCOMING_KINDS} ({kind!r})")
    if type(quantity) is not int or quantity < 0:
        raise ValueError(f"an incoming quantity must be a non-negative integer ({quantity!r})")
    current = _start(position, sku, location)
    known = current.incoming.get(reference)
    if known is not None and sequence <= known.sequence:
        outcome = Outcome.DUPLICATE if sequence == known.sequence else Outcome.STALE
        return Decision(
            outcome, current, f"{reference}: sequence {sequence}, latest {known.sequence}", _on_hand(position)
        )
    received = known.received if known else 0
    line = Incoming(
        reference=reference,
        kind=kind,
        quantity=max(0, quantity - received) if basis == "confirmed" else quantity,
        expected_date=expected_date,
        sequence=sequence,
        received=received,
        receipts=known.receipts if known else (),
    )
    return _applied(
        position,
        current,
        at=at,
        event_id=event_id,
        counts=current._counts,
        incoming={**current.incoming, reference: line},
    )


def with_safety_stock(position: Position, quantity: int) -> Position:
    """The position with the item master's safety stock for its location (the same object when unchanged)."""
    if type(quantity) is not int or quantity < 0:
        raise ValueError(f"safety stock must be a non-negative integer ({quantity!r})")
    if position.safety_stock == quantity:
        return position
    return replace(position, safety_stock=quantity, version=position.version + 1)


# ---------------------------------------------------------------------------- canonical events -> movements


def mark_of(envelope: Envelope[InventoryAdjusted] | Envelope[ReceiptPosted]) -> Mark:
    return Mark(envelope.occurred_at, envelope.source_partner, envelope.data.sequence)


def apply_adjusted(position: Position | None, envelope: Envelope[InventoryAdjusted]) -> Decision:
    """An `inventory.adjusted`: a delta of on hand, an absolute count, or a move between statuses."""
    data = envelope.data
    common = {"sku": data.sku, "location": data.location, "mark": mark_of(envelope), "event_id": envelope.id}
    if data.on_hand is not None:
        counts = {ON_HAND: data.on_hand, **(data.unavailable or {})}
        if data.lot:
            counts[_lot_bucket(data.lot)] = data.on_hand
        return apply_count(position, counts=counts, **common)
    if data.delta is not None:
        changes = {ON_HAND: data.delta}
        if data.lot:
            changes[_lot_bucket(data.lot)] = data.delta
        return apply_delta(position, changes=changes, **common)
    move = data.status_change
    assert move is not None  # the model guarantees exactly one kind
    changes = {}
    if move.to_status != AVAILABLE_STATUS:
        changes[move.to_status] = move.quantity
    if move.from_status != AVAILABLE_STATUS:
        changes[move.from_status] = -move.quantity
    return apply_delta(position, changes=changes, **common)


def apply_snapshot_line(
    position: Position | None, envelope: Envelope[InventorySnapshotReceived], line: SnapshotLine
) -> Decision:
    """One line of a warehouse snapshot: an absolute count of the line's SKU at the snapshot's location."""
    data = envelope.data
    counts = {ON_HAND: line.on_hand, **line.unavailable}
    counts.update({_lot_bucket(lot): quantity for lot, quantity in line.lots.items()})
    return apply_count(
        position,
        sku=line.sku,
        location=data.location,
        mark=Mark(envelope.occurred_at, envelope.source_partner, data.sequence),
        counts=counts,
        event_id=envelope.id,
    )


def apply_receipt_event(position: Position | None, envelope: Envelope[ReceiptPosted]) -> Decision:
    data = envelope.data
    return apply_receipt(
        position,
        sku=data.sku,
        location=data.location,
        mark=mark_of(envelope),
        quantity=data.quantity,
        lot=data.lot,
        incoming_reference=data.incoming_reference,
        event_id=envelope.id,
    )


def apply_incoming_event(position: Position | None, envelope: Envelope[IncomingUpdated]) -> Decision:
    data = envelope.data
    return apply_incoming(
        position,
        sku=data.sku,
        location=data.location,
        reference=data.reference,
        kind=data.kind,
        quantity=data.quantity,
        expected_date=data.expected_date,
        sequence=data.sequence,
        event_id=envelope.id,
        at=envelope.occurred_at,
        basis=data.basis,
    )
