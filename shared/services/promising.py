"""The promiser's work on one SQS batch: lead times stored, each SKU touched re-pegged once, changes published.

AWS requests per batch: one conditional PutItem per lead time (the newest per supplier, SKU and location), one
Query of the orders table per SKU (its demand and lead times), one BatchGetItem of the positions its demand sits
on (for every SKU of the batch at once, 100 keys per call), one TransactWriteItems per SKU with changes
(per 100 items; one transaction per SKU so that a conflict on one SKU never undoes another's; only
lines whose promise changed, each conditional on the version read, with their exceptions-list entries), one
PutEvents per 10 events, and one TransactWriteItems per 100 published lines that removes their events from them.
A SKU with nothing changed costs its Query (and its share of the BatchGetItem) only.

Each line written with a new promise carries its `order.promise_date_changed` in the same write (`outbox`, ADR
0013); once the batch's events are published they are removed. A batch whose PutEvents fails (or a promiser that
stops in between) leaves them on the lines: its messages fail, and the retry's re-peg of those SKUs, which finds
nothing left to change, finds the events and publishes them. Any later re-peg of the SKU would too. Event ids
are derived from the line and the version written, so a second publication is a duplicate consumers drop.
Re-running on the same inputs changes nothing and publishes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from shared.aws.bus import PublishError, publish
from shared.aws.inventory_store import InventoryStore
from shared.aws.orders_store import (
    DemandChanged,
    DemandWrite,
    LeadTimeRecord,
    OrdersStore,
    Published,
    SkuDemand,
    lead_time_records,
)
from shared.canonical.envelope import Envelope, utcnow
from shared.canonical.inventory import InventorySupplyChanged
from shared.canonical.orders import OrderCreated, OrderPromiseDateChanged
from shared.canonical.supplier import LeadTimeUpdated
from shared.domain.inventory_position import Position
from shared.domain.promising import (
    IncomingLine,
    Supply,
    days_late,
    peg,
    plan_closed_line,
    plan_line,
    supply_at,
)
from shared.observability import logger

SOURCE = "distrosync.promiser"
ATTEMPTS = 5  # re-reads of a SKU whose demand another writer changed meanwhile
_EVENT_NAMESPACE = uuid.UUID("5d0d7c7a-2f55-4d0e-8b3b-1c6e4e0a9a51")
_REASONS = {
    OrderCreated.event_type: "order placed",
    InventorySupplyChanged.event_type: "supply changed",
    LeadTimeUpdated.event_type: "lead time changed",
}


@dataclass
class Touch:
    """Why a SKU is re-pegged in this batch: the messages that touched it and what they said."""

    message_ids: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    correlation_id: str = ""
    causation_id: str = ""

    def add(self, message_id: str, envelope: Envelope[Any]) -> None:
        self.message_ids.append(message_id)
        reason = _REASONS[envelope.type]
        if reason not in self.reasons:
            self.reasons.append(reason)
        self.correlation_id, self.causation_id = envelope.correlation_id, envelope.id


@dataclass
class BatchOutcome:
    failed: set[str]  # message ids to report as batch item failures
    skus: int = 0
    lines_changed: int = 0
    published: int = 0
    lead_times_stored: int = 0
    retries: int = 0
    left_over: int = 0  # events found on lines, left by an earlier batch whose publication failed


@dataclass
class _SkuWork:
    """One SKU's re-peg: what it wrote, the events to publish (by id: earlier batches' left-overs first), and
    the lines whose outbox holds them (by sort key: the version they carry it at)."""

    changed: int = 0
    events: dict[str, Envelope[OrderPromiseDateChanged]] = field(default_factory=dict)
    carriers: dict[str, Published] = field(default_factory=dict)
    left_over: int = 0

    def found(self, sku_demand: SkuDemand) -> None:
        """Take the events the SKU's lines still carry."""
        for stored in sku_demand.left_over:
            for text in stored.outbox:
                envelope = Envelope[OrderPromiseDateChanged].model_validate_json(text)
                if envelope.id not in self.events:
                    self.events[envelope.id] = envelope
                    self.left_over += 1
            self.carriers[stored.key["sk"]["S"]] = Published(stored.key, stored.version)

    def wrote(self, write: DemandWrite, envelope: Envelope[OrderPromiseDateChanged] | None) -> None:
        self.changed += 1
        if envelope is not None:
            self.events.setdefault(envelope.id, envelope)
        if write.outbox or write.demand.outbox:
            self.carriers[write.demand.key["sk"]["S"]] = Published(write.demand.key, write.demand.version + 1)


def skus_of(envelope: Envelope[Any]) -> list[str]:
    data = envelope.data
    if isinstance(data, OrderCreated):
        return list(dict.fromkeys(line.sku for line in data.order.lines))
    if isinstance(data, InventorySupplyChanged | LeadTimeUpdated):
        return [data.sku]
    raise ValueError(f"the promiser does not handle {envelope.type}")


def promise_event_id(order_id: str, line: int, version: int) -> str:
    """One id per line and written version: the same change published twice is one event."""
    return uuid.uuid5(_EVENT_NAMESPACE, f"{order_id}/{line}/{version}").hex


def supply_by_location(positions: Iterable[Position], today: date) -> dict[str, list[Supply]]:
    return {
        position.location: supply_at(
            position.available,
            (IncomingLine(i.reference, i.quantity, i.expected_date) for i in position.incoming_open),
            today,
        )
        for position in positions
    }


class PromisingService:
    def __init__(
        self,
        orders: OrdersStore,
        positions: InventoryStore,
        bus_name: str,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.orders = orders
        self.positions = positions
        self.bus_name = bus_name
        self._clock = clock

    def process(self, messages: Mapping[str, Envelope[Any]]) -> BatchOutcome:
        """Handle the parsed messages of one batch (message id -> envelope). A SKU that fails fails the
        messages that touched it; a failed publication fails every message that led to an event."""
        outcome = BatchOutcome(failed=set())
        touched: dict[str, Touch] = {}
        lead_times: dict[str, list[tuple[str, LeadTimeRecord]]] = {}
        for message_id, envelope in messages.items():
            try:
                skus = skus_of(envelope)
            except ValueError:
                logger.error("unexpected event type", extra={"message_id": message_id, "type": envelope.type})
                outcome.failed.add(message_id)
                continue
            for sku in skus:
                touched.setdefault(sku, Touch()).add(message_id, envelope)
            data = envelope.data
            if isinstance(data, LeadTimeUpdated):
                record = LeadTimeRecord(
                    sku=data.sku,
                    supplier_id=data.supplier_id,
                    location=data.location,
                    days=data.lead_time_days,
                    sequence=data.sequence,
                    effective_at=data.effective_at,
                )
                lead_times.setdefault(data.sku, []).append((message_id, record))
        now = self._clock()
        for sku, records in lead_times.items():
            try:
                for record in lead_time_records(r for _, r in records):
                    outcome.lead_times_stored += int(self.orders.put_lead_time(record, now))
            except Exception:
                logger.exception("lead time not stored", extra={"sku": sku})
                outcome.failed.update(mid for mid, _ in records)
        done: list[tuple[list[str], _SkuWork]] = []
        demand = self._read_demand(touched, outcome)
        positions = self._read_positions(demand, touched, outcome)
        if positions is None:
            return outcome
        for sku, sku_demand in demand.items():
            touch = touched[sku]
            try:
                work = self._repeg(sku_demand, positions, touch, outcome)
            except Exception:
                logger.exception("re-pegging failed", extra={"sku": sku, "messages": touch.message_ids})
                outcome.failed.update(touch.message_ids)
                continue
            outcome.skus += 1
            outcome.lines_changed += work.changed
            outcome.left_over += work.left_over
            if work.events:
                done.append((touch.message_ids, work))
        self._publish(done, outcome)
        return outcome

    def _publish(self, done: list[tuple[list[str], _SkuWork]], outcome: BatchOutcome) -> None:
        """One publication for the batch's events, then their lines' outboxes removed. If it fails, the events
        stay on the lines and the messages that led to them fail: their retry publishes them."""
        flat = [e for _, work in done for e in work.events.values()]
        if not flat:
            return
        if outcome.left_over:
            logger.info("publishing promise changes left by an earlier attempt", extra={"events": outcome.left_over})
        try:
            publish(flat, self.bus_name)
        except PublishError as exc:
            logger.error(
                "promise changes not published; they stay on their lines",
                extra={"failures": exc.failures, "event_ids": [e.id for e in flat]},
            )
            outcome.failed.update(mid for mids, _ in done for mid in mids)
            return
        outcome.published = len(flat)
        try:
            self.orders.clear_outboxes([p for _, work in done for p in work.carriers.values()])
        except Exception:  # published: what stays on the lines goes out again (as duplicates) at the next re-peg
            logger.exception("published promise changes not removed from their lines")

    # ------------------------------------------------------------------------------------------------ reads
    def _read_demand(self, touched: Mapping[str, Touch], outcome: BatchOutcome) -> dict[str, SkuDemand]:
        demand: dict[str, SkuDemand] = {}
        for sku, touch in touched.items():
            try:
                demand[sku] = self.orders.sku_demand(sku)
            except Exception:
                logger.exception("demand not read", extra={"sku": sku})
                outcome.failed.update(touch.message_ids)
        return demand

    def _read_positions(
        self, demand: Mapping[str, SkuDemand], touched: Mapping[str, Touch], outcome: BatchOutcome
    ) -> dict[tuple[str, str], Position] | None:
        """The positions every SKU's open demand sits on, for the whole batch at once. None: not read (the
        messages of every SKU with demand are failed)."""
        keys = [(d.sku, stored.line.location) for d in demand.values() for stored in d.demand]
        if not keys:
            return {}
        try:
            return self.positions.get_many(keys)
        except Exception:
            logger.exception("positions not read")
            outcome.failed.update(mid for sku, d in demand.items() if d.demand for mid in touched[sku].message_ids)
            return None

    # ---------------------------------------------------------------------------------------------- re-peg
    def _repeg(
        self,
        sku_demand: SkuDemand,
        positions: Mapping[tuple[str, str], Position],
        touch: Touch,
        outcome: BatchOutcome,
    ) -> _SkuWork:
        """Peg one SKU and write what changed; on a conflict, read the SKU again and re-peg the rest."""
        sku = sku_demand.sku
        work = _SkuWork()
        for attempt in range(ATTEMPTS):
            if attempt:
                outcome.retries += 1
                sku_demand = self.orders.sku_demand(sku)
                locations = {(sku, d.line.location) for d in sku_demand.demand}
                positions = self.positions.get_many(locations)
            work.found(sku_demand)
            now = self._clock()
            writes = self._plan(sku_demand, positions, now, touch)
            if not writes:
                return work
            try:
                written = self.orders.write_promises([w for w, _ in writes], now)
            except DemandChanged as conflict:
                # The lines written before the conflict are done: announce them; the re-read re-pegs the rest.
                written = conflict.written
                logger.info("demand changed while re-pegging; reading it again", extra={"sku": sku})
            for write, envelope in writes[:written]:
                work.wrote(write, envelope)
            if written == len(writes):
                return work
        raise RuntimeError(f"{sku}: demand still changing after {ATTEMPTS} attempts; the messages are retried")

    def _plan(
        self, sku_demand: SkuDemand, positions: Mapping[tuple[str, str], Position], now: datetime, touch: Touch
    ) -> list[tuple[DemandWrite, Envelope[OrderPromiseDateChanged] | None]]:
        """The lines whose promise changes, each with its event when the change is announced (which its write
        adds to what the line already carries)."""
        today = now.date()
        located = [
            positions[key] for key in {(sku_demand.sku, d.line.location) for d in sku_demand.demand} if key in positions
        ]
        promises = peg(
            (d.line for d in sku_demand.demand), supply_by_location(located, today), sku_demand.lead_times, today
        )
        writes: list[tuple[DemandWrite, Envelope[OrderPromiseDateChanged] | None]] = []
        for stored in sku_demand.demand:
            change = plan_line(stored.state, promises[stored.line.key], now)
            if change is None:
                continue
            write = DemandWrite(
                demand=stored,
                state=change.state,
                exception=change.exception,
                days_late=days_late(change.state.promise_date, stored.line.requested_date),
            )
            envelope = self._envelope(write, touch, now) if change.announce else None
            if envelope is not None:
                write = replace(write, outbox=(*stored.outbox, envelope.model_dump_json()))
            writes.append((write, envelope))
        for stored in sku_demand.closed_at_risk:
            closed = plan_closed_line(stored.state)
            if closed is not None:
                writes.append((DemandWrite(demand=stored, state=closed.state, exception=closed.exception), None))
        return writes

    def _envelope(self, write: DemandWrite, touch: Touch, now: datetime) -> Envelope[OrderPromiseDateChanged]:
        line, state = write.demand.line, write.state
        data = OrderPromiseDateChanged(
            order_id=line.order_id,
            line=line.line,
            sku=write.demand.sku,
            location=line.location,
            quantity=line.quantity,
            requested_date=line.requested_date,
            previous_promise_date=state.previous_promise_date,
            promise_date=state.promise_date,
            at_risk=state.at_risk,
            depends_on=list(state.depends_on),
            reason="; ".join(touch.reasons)[:200],
        )
        return Envelope[OrderPromiseDateChanged].wrap(
            data,
            source_partner=SOURCE,
            occurred_at=now,
            correlation_id=touch.correlation_id,
            causation_id=touch.causation_id,
            event_id=promise_event_id(line.order_id, line.line, write.demand.version + 1),
        )
