"""Reservations decided without AWS: lines in eaches, transaction chunks, shortfalls, and what a close does.

A reservation holds stock on inventory positions: kind `order` in the `committed` bucket, kind `hold` in
`reserved`. Its positions are written in chunks of at most `POSITIONS_PER_TRANSACTION` (one DynamoDB
transaction each, with the reservation record as the 100th item); the record counts the chunks whose
arithmetic is on the positions (`applied`), so every chunk transaction is conditional on that counter and any
writer (the request, a retry of it, the expiry sweeper) can safely finish or undo what another one started.
Chunks are applied in order and undone in reverse order, so chunks `[0, applied)` are always the ones applied.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.canonical.items import EACH, Item
from shared.canonical.reservation import (
    MAX_RESERVATION_LINES,
    Reservation,
    ReservationKind,
    ReservationLine,
    ReservationStatus,
)

POSITIONS_PER_TRANSACTION = 99  # TransactWriteItems takes 100 items: the record and 99 positions
EXPIRY_SHARDS = 16
DEFAULT_HOLD_SECONDS = 15 * 60
MAX_HOLD_SECONDS = 7 * 24 * 3600
# A reservation of several chunks is `pending` until its last chunk is applied. If its writer dies, the
# expiry sweeper undoes what was applied once this much time has passed.
PENDING_DEADLINE = timedelta(minutes=5)
CLOSED_STATUSES: tuple[ReservationStatus, ...] = ("released", "committed", "expired")
_BUCKETS: dict[str, str] = {"order": "committed", "hold": "reserved"}
_EVENT_NAMESPACE = uuid.UUID("6f1f5d1e-5b0e-4d55-9a57-3f2d0f1c9a10")

PositionKey = tuple[str, str]  # (sku, location)


# --------------------------------------------------------------------------------------------------- errors
class ReservationError(Exception):
    """A reservation request that cannot be done as asked; the API maps each kind to its problem type."""


class TooManyLines(ReservationError):
    def __init__(self, count: int, limit: int = MAX_RESERVATION_LINES) -> None:
        self.count, self.limit = count, limit
        super().__init__(f"the reservation has {count} lines; at most {limit} are allowed")


class UnknownUnit(ReservationError):
    def __init__(self, sku: str, unit: str) -> None:
        self.sku, self.unit = sku, unit
        super().__init__(f"item '{sku}' has no conversion from unit '{unit}' to eaches")


@dataclass(frozen=True)
class LineShortfall:
    sku: str
    location: str
    requested: int
    available: int
    shortfall: int


class InsufficientStock(ReservationError):
    def __init__(self, lines: Sequence[LineShortfall]) -> None:
        self.lines = list(lines)
        short = [f"{s.sku}@{s.location} short by {s.shortfall}" for s in self.lines if s.shortfall]
        named = ", ".join(short[:5]) + (f" and {len(short) - 5} more" if len(short) > 5 else "")
        super().__init__("not enough available stock: " + (named or "stock changed; retry"))


class ReservationConflict(ReservationError):
    def __init__(self, reservation_id: str) -> None:
        self.reservation_id = reservation_id
        super().__init__(f"reservation '{reservation_id}' exists with other lines, kind or channel")


class ReservationClosed(ReservationError):
    def __init__(self, reservation_id: str, status: str) -> None:
        self.reservation_id, self.status = reservation_id, status
        super().__init__(f"reservation '{reservation_id}' is already {status}")


class ReservationInProgress(ReservationError):
    def __init__(self, reservation_id: str) -> None:
        self.reservation_id = reservation_id
        super().__init__(f"reservation '{reservation_id}' is still being created")


class Contended(ReservationError):
    """The positions stayed busy with other transactions for every attempt (DynamoDB TransactionConflict)."""


# ---------------------------------------------------------------------------------------------- requests
@dataclass(frozen=True)
class RequestedLine:
    sku: str
    location: str
    quantity: int
    unit: str = EACH


@dataclass(frozen=True)
class Draft:
    """What a caller asks to reserve (validated for shape by the API model)."""

    reference: str
    kind: ReservationKind
    lines: tuple[RequestedLine, ...]
    channel: str | None = None
    expires_in_seconds: int | None = None

    @property
    def hold_seconds(self) -> int | None:
        """Holds expire after the requested time or the default; orders only when a time is given."""
        if self.expires_in_seconds is not None:
            return self.expires_in_seconds
        return DEFAULT_HOLD_SECONDS if self.kind == "hold" else None


@dataclass(frozen=True)
class ReservationRecord:
    """A reservation with its write progress: `applied` of `chunks` chunks are on the positions."""

    reservation: Reservation
    chunks: int
    applied: int
    correlation_id: str
    hold_seconds: int | None = None  # while pending: the expiry to start once the reservation is held

    @property
    def reservation_id(self) -> str:
        return self.reservation.reservation_id

    @property
    def status(self) -> ReservationStatus:
        return self.reservation.status

    def chunk(self, index: int) -> tuple[ReservationLine, ...]:
        return chunk_lines(self.reservation.lines)[index]


def reservation_id(partner_id: str, reference: str) -> str:
    return f"{partner_id}:{reference}"


def bucket(kind: ReservationKind) -> str:
    """The position attribute a reservation of `kind` holds its stock in."""
    return _BUCKETS[kind]


def check_line_count(lines: Sized) -> None:
    if len(lines) > MAX_RESERVATION_LINES:
        raise TooManyLines(len(lines))


def to_eaches(lines: Sequence[RequestedLine], items: Mapping[str, Item] | None = None) -> list[ReservationLine]:
    """The requested lines in eaches, one per (sku, location) in order of first appearance.

    `items` is the item master of the SKUs concerned; without it only `each` can be converted.
    """
    check_line_count(lines)
    totals: dict[PositionKey, int] = {}
    for line in lines:
        if line.unit == EACH:
            eaches: int | None = line.quantity
        else:
            item = items.get(line.sku) if items is not None else None
            eaches = item.eaches(line.quantity, line.unit) if item is not None else None
        if eaches is None:
            raise UnknownUnit(line.sku, line.unit)
        key = (line.sku, line.location)
        totals[key] = totals.get(key, 0) + eaches
    return [ReservationLine(sku=sku, location=location, quantity=q) for (sku, location), q in totals.items()]


def chunk_lines(lines: Sequence[ReservationLine]) -> list[tuple[ReservationLine, ...]]:
    size = POSITIONS_PER_TRANSACTION
    return [tuple(lines[start : start + size]) for start in range(0, len(lines), size)] or [()]


def new_record(
    partner_id: str, draft: Draft, lines: Sequence[ReservationLine], *, now: datetime, correlation_id: str
) -> ReservationRecord:
    """The record as the first chunk writes it: `held` when one chunk does it all, else `pending`."""
    chunks = len(chunk_lines(lines))
    hold = draft.hold_seconds
    held = chunks == 1
    reservation = Reservation(
        reservation_id=reservation_id(partner_id, draft.reference),
        partner_id=partner_id,
        reference=draft.reference,
        kind=draft.kind,
        channel=draft.channel,
        status="held" if held else "pending",
        lines=list(lines),
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=hold) if held and hold is not None else None,
    )
    return ReservationRecord(
        reservation=reservation,
        chunks=chunks,
        applied=0,
        correlation_id=correlation_id,
        hold_seconds=None if held else hold,
    )


def after_apply(record: ReservationRecord, *, now: datetime) -> ReservationRecord:
    """The record once its next chunk is applied (the last one makes it `held` and starts its expiry)."""
    applied = record.applied + 1
    if applied < record.chunks:
        return replace(record, applied=applied, reservation=record.reservation.model_copy(update={"updated_at": now}))
    if record.status != "pending":
        return replace(record, applied=applied)  # the first chunk was also the last: written as held
    expires_at = now + timedelta(seconds=record.hold_seconds) if record.hold_seconds is not None else None
    held = record.reservation.model_copy(update={"status": "held", "updated_at": now, "expires_at": expires_at})
    return replace(record, applied=applied, reservation=held, hold_seconds=None)


def after_revert(record: ReservationRecord, status: ReservationStatus, *, now: datetime) -> ReservationRecord:
    """The record once its last applied chunk is undone by a close to `status`."""
    closed = record.reservation.model_copy(update={"status": status, "updated_at": now})
    return replace(record, applied=record.applied - 1, reservation=closed)


def pending_deadline(reservation: Reservation) -> datetime:
    """When a `pending` reservation counts as abandoned by its writer."""
    return reservation.created_at + PENDING_DEADLINE


def same_request(existing: Reservation, draft: Draft, lines: Sequence[ReservationLine]) -> bool:
    """Whether a repeated reference asks for what the existing reservation holds (line order aside)."""

    def key(ls: Iterable[ReservationLine]) -> list[tuple[str, str, int]]:
        return sorted((line.sku, line.location, line.quantity) for line in ls)

    return existing.kind == draft.kind and existing.channel == draft.channel and key(existing.lines) == key(lines)


def shortfalls(lines: Sequence[ReservationLine], available: Mapping[PositionKey, int]) -> list[LineShortfall]:
    """Every line with what is available (a missing position has 0; a negative figure shows as 0)."""
    out = []
    for line in lines:
        free = max(0, available.get((line.sku, line.location), 0))
        out.append(LineShortfall(line.sku, line.location, line.quantity, free, max(0, line.quantity - free)))
    return out


def expiry_shard(reservation_id: str) -> str:
    """`EXP#0` .. `EXP#15`, stable per reservation: spreads the expiry index over 16 partitions."""
    digest = hashlib.sha256(reservation_id.encode()).digest()
    return f"EXP#{int.from_bytes(digest[:4], 'big') % EXPIRY_SHARDS}"


def expiry_shards() -> list[str]:
    return [f"EXP#{i}" for i in range(EXPIRY_SHARDS)]


def event_id(reservation_id: str, event_type: str) -> str:
    """One id per reservation and event type: a re-publication (a replayed request) is a duplicate that
    consumers drop, not a second event."""
    return uuid.uuid5(_EVENT_NAMESPACE, f"{reservation_id}/{event_type}").hex


# --------------------------------------------------------------------------------------------- closing
class CloseStep(StrEnum):
    CLOSE = "close"  # held: undo every chunk, ending in the target status
    CONTINUE = "continue"  # already flipped to the target status, some chunks still applied: finish it
    REPLAY = "replay"  # already done
    CLOSED = "closed"  # closed the other way
    IN_PROGRESS = "in_progress"  # still being created


def plan_close(record: ReservationRecord, target: ReservationStatus) -> CloseStep:
    status = record.status
    if status == "held":
        return CloseStep.CLOSE
    if status == "pending":
        return CloseStep.IN_PROGRESS
    if status == target:
        return CloseStep.CONTINUE if record.applied else CloseStep.REPLAY
    return CloseStep.CLOSED


class SweepStep(StrEnum):
    EXPIRE = "expire"  # a held reservation whose time is up
    ABANDON = "abandon"  # a creation whose writer died: undo what it applied, drop the record
    FINISH = "finish"  # a close whose writer died half way: finish it in its own status
    SKIP = "skip"  # nothing left to do (the index lags behind the table)


def plan_sweep(record: ReservationRecord, now: datetime) -> SweepStep:
    """What the expiry sweeper does with a reservation the expiry index lists as due at `now`."""
    status = record.status
    if status == "held":
        expires_at = record.reservation.expires_at
        return SweepStep.EXPIRE if expires_at is not None and expires_at <= now else SweepStep.SKIP
    if status == "pending":
        return SweepStep.ABANDON if pending_deadline(record.reservation) <= now else SweepStep.SKIP
    return SweepStep.FINISH if record.applied else SweepStep.SKIP
