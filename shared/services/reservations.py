"""Reservations: create (all lines or none), get, release, commit, and the expiry sweep.

AWS requests on the happy path of a create: one TransactWriteItems and one PutEvents (a reservation of more
than 99 positions: one transaction per 99). Release and commit read the record first (GetItem), since its
lines drive the transaction. Decisions are in `shared.domain.reservations`; writes in
`shared.aws.reservation_store`.

Events are published after the transaction that makes them true (the transactional outbox is issue #7): a
process that dies in between loses the event. Event ids are derived from the reservation and event type, so
the re-publication that a replayed request does closes that window for requests the caller retries; the
sweeper's events have no caller to retry them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.aws.bus import publish
from shared.aws.reservation_store import ReservationStore, TxOutcome
from shared.canonical.envelope import Envelope, utcnow
from shared.canonical.items import EACH
from shared.canonical.partner import Partner
from shared.canonical.reservation import (
    Reservation,
    ReservationCommitted,
    ReservationCreated,
    ReservationExpired,
    ReservationLine,
    ReservationReleased,
    ReservationStatus,
)
from shared.domain.backoff import full_jitter
from shared.domain.errors import NotFound, OutOfScope
from shared.domain.reservations import (
    CloseStep,
    Contended,
    Draft,
    InsufficientStock,
    ReservationClosed,
    ReservationConflict,
    ReservationInProgress,
    ReservationRecord,
    SweepStep,
    after_apply,
    after_revert,
    check_line_count,
    event_id,
    expiry_shards,
    new_record,
    plan_close,
    plan_sweep,
    reservation_id,
    same_request,
    shortfalls,
    to_eaches,
)
from shared.domain.scopes import allows
from shared.observability import logger

if TYPE_CHECKING:  # the expiry sweeper imports this module: it needs neither
    from shared.services.inventory_ingest import RequestMeta
    from shared.services.master_data import MasterData

ATTEMPTS = 5  # per write, against DynamoDB's TransactionConflict, and per decision, against concurrent writers
SWEEPER_SOURCE = "distrosync.reservation-expiry"

_EVENTS: dict[ReservationStatus, type[Any]] = {
    "held": ReservationCreated,
    "released": ReservationReleased,
    "committed": ReservationCommitted,
    "expired": ReservationExpired,
}


@dataclass(frozen=True)
class SweepReport:
    expired: int = 0
    finished: int = 0  # closes another writer left half done
    abandoned: int = 0  # creations another writer left half done, undone
    failed: int = 0
    complete: bool = True  # False: stopped for lack of time, the next run continues

    def add(self, **counts: int) -> SweepReport:
        return replace(self, **{k: getattr(self, k) + v for k, v in counts.items()})


class ReservationService:
    def __init__(
        self,
        store: ReservationStore,
        bus_name: str,
        *,
        master: MasterData | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.bus_name = bus_name
        self.master = master
        self._clock = clock
        self._sleep = sleep

    # ------------------------------------------------------------------------------------------- create
    def create(self, draft: Draft, partner: Partner, meta: RequestMeta) -> tuple[Reservation, bool]:
        """Reserve every line or none. Returns the reservation and whether it replays an earlier request.

        Raises TooManyLines, OutOfScope, InsufficientStock (with the shortfall of every line),
        ReservationConflict (same reference, other lines), Contended; unit problems come from the master."""
        lines = self._eaches(draft)
        for line in lines:
            if not allows(partner.scopes, "location", line.location):
                raise OutOfScope(partner.partner_id, "location", line.location)
        rid = reservation_id(partner.partner_id, draft.reference)
        for attempt in range(ATTEMPTS):
            if attempt:
                self._backoff(attempt)
            record = new_record(partner.partner_id, draft, lines, now=self._clock(), correlation_id=meta.correlation_id)
            outcome, record = self._apply_remaining(record)
            if outcome is TxOutcome.OK:
                self._publish([self._envelope(record, causation_id=meta.request_id)])
                return record.reservation, False
            if outcome is TxOutcome.SHORT and record.chunks == 1:
                self._refuse_if_short(lines)
                continue  # every line is available now: the stock moved in between
            if outcome is not TxOutcome.CONTENDED:
                # The reference exists, or did a moment ago; or a chunk after the first lacked stock while a
                # retry of this request may have finished the reservation meanwhile.
                existing = self.store.get(rid)
                if existing is None and outcome is TxOutcome.SHORT:
                    self._refuse_if_short(lines)
                elif existing is not None:
                    done = self._repeat(existing, draft, lines, meta)
                    if done is not None:
                        return done
        raise Contended(f"reservation '{rid}' could not be written: its positions are busy; retry")

    def _eaches(self, draft: Draft) -> list[ReservationLine]:
        """Lines in eaches; every SKU, location and unit must be in the master data (specific problems)."""
        check_line_count(draft.lines)
        items = None
        if self.master is not None:
            from shared.services.master_data import Need

            needs = [
                Need(
                    sku=line.sku,
                    location=line.location,
                    unit=None if line.unit == EACH else line.unit,
                    at=f"/lines/{i}",
                )
                for i, line in enumerate(draft.lines)
            ]
            items = self.master.require(needs).items
        return to_eaches(draft.lines, items)

    def _repeat(
        self, existing: ReservationRecord, draft: Draft, lines: Sequence[ReservationLine], meta: RequestMeta
    ) -> tuple[Reservation, bool] | None:
        """A request for a reference that exists: replay it, finish it (pending), or refuse it. None: decide
        again (the record changed meanwhile)."""
        if not same_request(existing.reservation, draft, lines):
            raise ReservationConflict(existing.reservation_id)
        if existing.status != "pending":
            if existing.status == "held":
                self._publish([self._envelope(existing, causation_id=meta.request_id)])
            return existing.reservation, True
        outcome, record = self._apply_remaining(existing)  # help the first writer finish
        if outcome is TxOutcome.OK:
            self._publish([self._envelope(record, causation_id=meta.request_id)])
            return record.reservation, True
        if outcome is TxOutcome.SHORT:
            self._refuse_if_short(lines)
        return None

    def _apply_remaining(self, record: ReservationRecord) -> tuple[TxOutcome, ReservationRecord]:
        """Apply the chunks not applied yet, in order. If one lacks stock, undo the ones applied."""
        while record.applied < record.chunks:
            after = after_apply(record, now=self._clock())
            outcome = self._write(self.store.apply_chunk, record, after)
            if outcome is not TxOutcome.OK:
                if record.applied and outcome in (TxOutcome.SHORT, TxOutcome.CONTENDED):
                    self._undo_creation(record)
                return outcome, record
            record = after
        return TxOutcome.OK, record

    def _undo_creation(self, record: ReservationRecord) -> None:
        """Compensation: give back the chunks of a pending reservation, last first, and delete its record.
        Another writer may be doing the same (a retry, the sweeper): a changed record is re-read."""
        for _ in range(record.chunks * ATTEMPTS):
            if record.status != "pending" or record.applied == 0:
                return
            after = None if record.applied == 1 else after_revert(record, "pending", now=self._clock())
            outcome = self._write(self.store.revert_chunk, record, after)
            if outcome is TxOutcome.OK:
                if after is None:
                    return
                record = after
            elif outcome is TxOutcome.RECORD_CHANGED:
                current = self.store.get(record.reservation_id)
                if current is None:
                    return
                record = current
            else:
                break
        logger.error(
            "pending reservation not undone; the expiry sweeper will undo it after its deadline",
            extra={"reservation_id": record.reservation_id, "applied": record.applied},
        )

    def _refuse_if_short(self, lines: Sequence[ReservationLine]) -> None:
        report = shortfalls(lines, self.store.available((line.sku, line.location) for line in lines))
        if any(s.shortfall for s in report):
            raise InsufficientStock(report)

    # --------------------------------------------------------------------------------------------- read
    def get(self, partner: Partner, reference: str) -> Reservation:
        record = self.store.get(reservation_id(partner.partner_id, reference))
        if record is None:
            raise NotFound(f"no reservation with reference '{reference}'")
        return record.reservation

    # -------------------------------------------------------------------------------------------- close
    def release(self, partner: Partner, reference: str, meta: RequestMeta) -> tuple[Reservation, bool]:
        """Give the stock back. Returns the reservation and whether the release had already happened."""
        return self._close(partner, reference, "released", meta)

    def commit(self, partner: Partner, reference: str, meta: RequestMeta) -> tuple[Reservation, bool]:
        """The goods shipped: the stock leaves `committed`/`reserved`. On hand drops when the warehouse
        reports the shipment (or counts); until then the units show as available again."""
        return self._close(partner, reference, "committed", meta)

    def _close(
        self, partner: Partner, reference: str, target: ReservationStatus, meta: RequestMeta
    ) -> tuple[Reservation, bool]:
        rid = reservation_id(partner.partner_id, reference)
        for attempt in range(ATTEMPTS):
            if attempt:
                self._backoff(attempt)
            record = self.store.get(rid)
            if record is None:
                raise NotFound(f"no reservation with reference '{reference}'")
            step = plan_close(record, target)
            if step is CloseStep.IN_PROGRESS:
                raise ReservationInProgress(rid)
            if step is CloseStep.CLOSED:
                raise ReservationClosed(rid, record.status)
            if step is CloseStep.REPLAY:
                self._publish(
                    [self._envelope(record, causation_id=meta.request_id, correlation_id=meta.correlation_id)]
                )
                return record.reservation, True
            outcome, record = self._revert_remaining(record, target)
            if outcome is TxOutcome.OK:
                self._publish(
                    [self._envelope(record, causation_id=meta.request_id, correlation_id=meta.correlation_id)]
                )
                return record.reservation, step is CloseStep.CONTINUE
        raise Contended(f"reservation '{rid}' could not be closed: it kept changing; retry")

    def _revert_remaining(
        self, record: ReservationRecord, status: ReservationStatus
    ) -> tuple[TxOutcome, ReservationRecord]:
        """Undo the applied chunks, last first; the first transaction flips the status to `status`."""
        now = self._clock()
        while record.applied:
            after = after_revert(record, status, now=now)
            outcome = self._write(self.store.revert_chunk, record, after)
            if outcome is TxOutcome.SHORT:
                raise RuntimeError(f"reservation {record.reservation_id}: a position it holds stock on is missing")
            if outcome is not TxOutcome.OK:
                return outcome, record
            record = after
        return TxOutcome.OK, record

    # ------------------------------------------------------------------------------------------- expiry
    def expire_due(self, *, should_stop: Callable[[], bool] = lambda: False) -> SweepReport:
        """Expire every held reservation whose time is up, finish closes and undo creations that their
        writers left half done; publish `reservation.expired` (and the events of finished closes)."""
        now = self._clock()
        report = SweepReport()
        envelopes: list[Envelope[Any]] = []
        for shard in expiry_shards():
            for record in self.store.due(shard, now):
                if should_stop():
                    report = replace(report, complete=False)
                    break
                try:
                    step, closed = self._sweep(record, now)
                except Exception:
                    logger.exception("reservation not swept", extra={"reservation_id": record.reservation_id})
                    report = report.add(failed=1)
                    continue
                if closed is not None:
                    source = SWEEPER_SOURCE if step is SweepStep.EXPIRE else closed.reservation.partner_id
                    envelopes.append(self._envelope(closed, source_partner=source))
                report = report.add(
                    expired=int(step is SweepStep.EXPIRE),
                    finished=int(step is SweepStep.FINISH),
                    abandoned=int(step is SweepStep.ABANDON),
                )
            if not report.complete:
                break
        if envelopes:
            self._publish(envelopes)
        return report

    def _sweep(self, record: ReservationRecord, now: datetime) -> tuple[SweepStep, ReservationRecord | None]:
        for _ in range(ATTEMPTS):
            step = plan_sweep(record, now)
            if step is SweepStep.SKIP:
                return step, None
            if step is SweepStep.ABANDON:
                self._undo_creation(record)
                return step, None
            status: ReservationStatus = "expired" if step is SweepStep.EXPIRE else record.status
            outcome, closed = self._revert_remaining(record, status)
            if outcome is TxOutcome.OK:
                return step, closed
            current = self.store.get(record.reservation_id)  # the index lags, or another writer acted
            if current is None:
                return SweepStep.SKIP, None
            record = current
        raise Contended(f"reservation '{record.reservation_id}' kept changing while it was swept")

    # ---------------------------------------------------------------------------------------- plumbing
    def _write(
        self,
        write: Callable[[ReservationRecord, Any], TxOutcome],
        before: ReservationRecord,
        after: ReservationRecord | None,
    ) -> TxOutcome:
        """One chunk transaction, retried while DynamoDB cancels it for a concurrent transaction."""
        for attempt in range(ATTEMPTS):
            if attempt:
                self._backoff(attempt)
            outcome = write(before, after)
            if outcome is not TxOutcome.CONTENDED:
                return outcome
        return TxOutcome.CONTENDED

    def _backoff(self, attempt: int) -> None:
        self._sleep(full_jitter(attempt))

    def _envelope(
        self,
        record: ReservationRecord,
        *,
        causation_id: str | None = None,
        correlation_id: str | None = None,
        source_partner: str | None = None,
    ) -> Envelope[Any]:
        """The event that `record`'s status announces; created events carry the creating request's
        correlation id, closes the closing one's (the sweeper's: the creating one's)."""
        reservation = record.reservation
        data = _EVENTS[reservation.status](reservation=reservation)
        return Envelope[type(data)].wrap(  # type: ignore[misc]
            data,
            source_partner=source_partner or reservation.partner_id,
            occurred_at=reservation.created_at if reservation.status == "held" else reservation.updated_at,
            correlation_id=correlation_id or record.correlation_id,
            causation_id=causation_id or None,
            event_id=event_id(reservation.reservation_id, data.event_type),
        )

    def _publish(self, envelopes: Sequence[Envelope[Any]]) -> None:
        publish(envelopes, self.bus_name)
