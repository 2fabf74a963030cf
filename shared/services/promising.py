"""The promiser's work on one SQS batch: lead times stored, each SKU touched re-pegged once, changes published.

AWS requests per batch: one conditional PutItem per lead time (the newest per supplier, SKU and location), one
Query of the orders table per SKU (its demand and lead times), one BatchGetItem of the positions its demand sits
on (for every SKU of the batch at once, 100 keys per call), one TransactWriteItems per SKU with changes
(per 100 items; one transaction per SKU so that a conflict on one SKU never undoes another's; only
lines whose promise changed, each conditional on the version read, with their exceptions-list entries), and one
PutEvents per 10 events. A SKU with nothing changed costs its Query (and its share of the BatchGetItem) only.

Re-running on the same inputs changes nothing and publishes nothing. Events are published after the writes
that make them true (the transactional outbox is issue #7): a batch whose publication fails is retried, but its
writes are done, so the retry finds nothing to say; event ids are derived from the line and the transition,
so a re-publication of the same change is a duplicate that consumers drop.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared.aws.bus import PublishError, publish
from shared.aws.inventory_store import InventoryStore
from shared.aws.orders_store import (
    DemandChanged,
    DemandWrite,
    LeadTimeRecord,
    OrdersStore,
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
        events: list[tuple[list[str], list[Envelope[OrderPromiseDateChanged]]]] = []
        demand = self._read_demand(touched, outcome)
        positions = self._read_positions(demand, touched, outcome)
        if positions is None:
            return outcome
        for sku, sku_demand in demand.items():
            touch = touched[sku]
            try:
                changed, envelopes = self._repeg(sku_demand, positions, touch, outcome)
            except Exception:
                logger.exception("re-pegging failed", extra={"sku": sku, "messages": touch.message_ids})
                outcome.failed.update(touch.message_ids)
                continue
            outcome.skus += 1
            outcome.lines_changed += changed
            if envelopes:
                events.append((touch.message_ids, envelopes))
        flat = [e for _, batch in events for e in batch]
        if flat:
            try:
                publish(flat, self.bus_name)
                outcome.published = len(flat)
            except PublishError as exc:
                logger.error(
                    "promise changes not published",
                    extra={"failures": exc.failures, "event_ids": [e.id for e in flat]},
                )
                outcome.failed.update(mid for mids, _ in events for mid in mids)
        return outcome

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
    ) -> tuple[int, list[Envelope[OrderPromiseDateChanged]]]:
        """Peg one SKU and write what changed; on a conflict, read the SKU again and re-peg the rest."""
        sku = sku_demand.sku
        envelopes: list[Envelope[OrderPromiseDateChanged]] = []
        changed = 0
        for attempt in range(ATTEMPTS):
            if attempt:
                outcome.retries += 1
                sku_demand = self.orders.sku_demand(sku)
                locations = {(sku, d.line.location) for d in sku_demand.demand}
                positions = self.positions.get_many(locations)
            now = self._clock()
            writes = self._plan(sku_demand, positions, now)
            if not writes:
                return changed, envelopes
            try:
                written = self.orders.write_promises([w for w, _ in writes], now)
            except DemandChanged as conflict:
                # The lines written before the conflict are done: announce them; the re-read re-pegs the rest.
                written = conflict.written
                logger.info("demand changed while re-pegging; reading it again", extra={"sku": sku})
            changed += written
            envelopes.extend(self._envelope(w, touch, now) for w, announce in writes[:written] if announce)
            if written == len(writes):
                return changed, envelopes
        raise RuntimeError(f"{sku}: demand still changing after {ATTEMPTS} attempts; the messages are retried")

    def _plan(
        self, sku_demand: SkuDemand, positions: Mapping[tuple[str, str], Position], now: datetime
    ) -> list[tuple[DemandWrite, bool]]:
        today = now.date()
        located = [
            positions[key] for key in {(sku_demand.sku, d.line.location) for d in sku_demand.demand} if key in positions
        ]
        promises = peg(
            (d.line for d in sku_demand.demand), supply_by_location(located, today), sku_demand.lead_times, today
        )
        writes = []
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
            writes.append((write, change.announce))
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
