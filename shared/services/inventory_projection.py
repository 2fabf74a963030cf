"""Projecting inventory events onto positions, then refreshing channel availability once per SKU per batch.

Stage 1 (per message, in order): movements (adjustments, snapshot lines, receipts, incoming supply) are
decided by the pure domain and written with a version condition; a batch costs one BatchGetItem plus one
conditional write per applied movement (a concurrent writer costs a re-read and a retry).
Stage 2 (per SKU touched by the batch, whatever the outcome): one Query of the SKU's partition, safety stock
reconciled with the item master, channel figures recomputed; the events to publish are returned.
Every step is idempotent, so a message retried after a failure in either stage changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.aws.bus import PublishError, publish
from shared.aws.inventory_store import InventoryStore, SkuPartition, VersionConflict
from shared.canonical.channel import ChannelInventoryReported
from shared.canonical.envelope import Envelope, EventData, utcnow
from shared.canonical.inventory import (
    IncomingUpdated,
    InventoryAdjusted,
    InventorySnapshotApplied,
    InventorySnapshotReceived,
    InventorySupplyChanged,
    ReceiptPosted,
    SnapshotLineOutcome,
    SupplyLine,
)
from shared.canonical.items import ItemUpdated
from shared.canonical.reservation import Reservation
from shared.domain.inventory_position import (
    Decision,
    Outcome,
    Position,
    apply_adjusted,
    apply_incoming_event,
    apply_receipt_event,
    apply_snapshot_line,
    with_safety_stock,
)
from shared.observability import logger
from shared.services.availability import ChannelAvailability, plan_refresh

MAX_CONFLICT_RETRIES = 5
Decide = Callable[[Position | None], Decision]


@dataclass
class MessageResult:
    """What one message did: decisions per position, SKUs to refresh, events it causes directly."""

    decisions: list[tuple[str, str, Decision]] = field(default_factory=list)
    skus: set[str] = field(default_factory=set)
    reports: list[Envelope[ChannelInventoryReported]] = field(default_factory=list)
    events: list[Envelope[Any]] = field(default_factory=list)
    correlation_id: str = ""
    event_id: str = ""


def _movement_keys(envelope: Envelope[Any]) -> list[tuple[str, str]]:
    data = envelope.data
    if isinstance(data, InventorySnapshotReceived):
        return [(line.sku, data.location) for line in data.lines]
    if isinstance(data, InventoryAdjusted | ReceiptPosted | IncomingUpdated):
        return [(data.sku, data.location)]
    return []


class InventoryProjector:
    """Keeps the positions it has read or written during one batch (see `prefetch`)."""

    def __init__(self, store: InventoryStore) -> None:
        self.store = store
        self._known: dict[tuple[str, str], Position | None] = {}
        self._masters: dict[str, dict[str, Any]] = {}

    def prefetch(self, envelopes: Iterable[Envelope[Any]]) -> None:
        """Read the batch's positions, and the item master of their SKUs (so that a position created here
        starts with its safety stock), with one BatchGetItem per 100 keys."""
        keys = [key for envelope in envelopes for key in _movement_keys(envelope)]
        self._known = dict.fromkeys(keys)
        self._masters = {}
        if keys:
            positions, self._masters = self.store.get_many_with_items(keys, (sku for sku, _ in keys))
            self._known.update(positions)

    def _new_position(self, sku: str, location: str) -> Position:
        return Position(sku=sku, location=location, safety_stock=safety_stock_at(self._masters.get(sku), location))

    def project(self, envelope: Envelope[Any]) -> MessageResult:
        """Apply one canonical event; raises on what must be retried (conflicts, AWS errors)."""
        data: EventData = envelope.data
        result = MessageResult(correlation_id=envelope.correlation_id, event_id=envelope.id)
        if isinstance(data, InventoryAdjusted):
            result.decisions.append(self._apply(data.sku, data.location, lambda p: apply_adjusted(p, envelope)))
        elif isinstance(data, ReceiptPosted):
            result.decisions.append(self._apply(data.sku, data.location, lambda p: apply_receipt_event(p, envelope)))
            result.events.extend(supply_changed(envelope, result.decisions[-1][2]))
        elif isinstance(data, IncomingUpdated):
            result.decisions.append(self._apply(data.sku, data.location, lambda p: apply_incoming_event(p, envelope)))
            result.events.extend(supply_changed(envelope, result.decisions[-1][2]))
        elif isinstance(data, InventorySnapshotReceived):
            outcomes = []
            for line in data.lines:
                sku, location, decision = self._apply(
                    line.sku, data.location, lambda p, line=line: apply_snapshot_line(p, envelope, line)
                )
                result.decisions.append((sku, location, decision))
                after = decision.position.on_hand
                before = decision.on_hand_before
                outcomes.append(
                    SnapshotLineOutcome(
                        sku=sku,
                        outcome=decision.outcome.value,
                        on_hand_before=before,
                        on_hand_after=after,
                        variance=after - (before or 0) if decision.outcome is Outcome.APPLIED else 0,
                    )
                )
            applied = InventorySnapshotApplied(
                location=data.location, snapshot_id=data.snapshot_id, part=data.part, parts=data.parts, lines=outcomes
            )
            result.events.append(
                Envelope[InventorySnapshotApplied].wrap(
                    applied,
                    source_partner="distrosync",
                    occurred_at=envelope.occurred_at,
                    correlation_id=envelope.correlation_id,
                    causation_id=envelope.id,
                    event_id=f"{envelope.id}-applied",
                )
            )
        elif isinstance(data, ItemUpdated):
            result.skus.add(data.item.sku)
        elif isinstance(data, ChannelInventoryReported):
            result.skus.add(data.sku)
            result.reports.append(envelope)
        elif isinstance(getattr(data, "reservation", None), Reservation):
            result.skus.update(line.sku for line in data.reservation.lines)  # type: ignore[attr-defined]
        else:
            raise ValueError(f"the projector does not handle {envelope.type}")
        result.skus.update(sku for sku, _, _ in result.decisions)
        return result

    def _apply(self, sku: str, location: str, decide: Decide) -> tuple[str, str, Decision]:
        key = (sku, location)
        current = self._known[key] if key in self._known else self.store.get(*key)
        for _ in range(MAX_CONFLICT_RETRIES):
            decision = decide(current if current is not None else self._new_position(sku, location))
            if decision.outcome is not Outcome.APPLIED:
                self._known[key] = current
                return sku, location, decision
            try:
                self.store.save(decision.position, expected_version=current.version if current else 0)
            except VersionConflict:
                current = self.store.get(*key)
                continue
            self._known[key] = decision.position
            return sku, location, decision
        self._known.pop(key, None)
        raise VersionConflict(f"{sku}@{location}: still conflicting after {MAX_CONFLICT_RETRIES} attempts")

    def reconcile_safety_stock(self, partition: SkuPartition) -> SkuPartition:
        """Positions carry the item master's safety stock for their location (it is part of `available`)."""
        item = partition.item
        if not item:
            return partition
        positions = []
        for position in partition.positions:
            wanted = safety_stock_at(item, position.location)
            current = position
            for _ in range(MAX_CONFLICT_RETRIES):
                if current is None or current.safety_stock == wanted:
                    break
                updated = with_safety_stock(current, wanted)
                try:
                    self.store.save(updated, expected_version=current.version)
                    current = updated
                    break
                except VersionConflict:
                    current = self.store.get(current.sku, current.location)
            else:
                raise VersionConflict(f"{position.key}: safety stock still conflicting")
            if current is not None:
                self._known[(current.sku, current.location)] = current
                positions.append(current)
        return SkuPartition(
            sku=partition.sku, positions=positions, item=partition.item, other_items=partition.other_items
        )


def supply_changed(cause: Envelope[Any], decision: Decision) -> list[Envelope[InventorySupplyChanged]]:
    """`inventory.supply_changed` after a receipt or an incoming update: what promising re-pegs against.

    Also for a duplicate (same event id, so consumers see it once): the first delivery may have been applied
    without its publication succeeding. A stale movement changed nothing and says nothing."""
    if decision.outcome is Outcome.STALE:
        return []
    position = decision.position
    data = InventorySupplyChanged(
        sku=position.sku,
        location=position.location,
        available=position.available,
        incoming=[
            SupplyLine(
                reference=line.reference, kind=line.kind, quantity=line.quantity, expected_date=line.expected_date
            )  # type: ignore[arg-type]
            for line in position.incoming_open
        ],
        version=max(position.version, 1),
    )
    return [
        Envelope[InventorySupplyChanged].wrap(
            data,
            source_partner="distrosync",
            occurred_at=cause.occurred_at,
            correlation_id=cause.correlation_id,
            causation_id=cause.id,
            event_id=f"{cause.id}-supply",
        )
    ]


def safety_stock_at(item: dict[str, Any] | None, location: str) -> int:
    """The item master's safety stock at `location` (its per-location override, else its default)."""
    if not item:
        return 0
    overrides = item.get("safety_stock_by_location") or {}
    return int(overrides.get(location, item.get("safety_stock", 0)))


@dataclass
class BatchOutcome:
    failed: set[str]  # message ids to report as batch item failures
    published: int = 0
    refresh_failures: int = 0


def complete_batch(
    projector: InventoryProjector,
    availability: ChannelAvailability,
    results: dict[str, MessageResult],
    failed: set[str],
    *,
    bus_name: str,
) -> BatchOutcome:
    """Stage 2 of a batch: one partition read per SKU touched, channel figures planned, every event published,
    then the published figures recorded. Publishing before recording means a crash in between re-publishes on
    retry (at least once) and never loses a change. A SKU whose refresh or recording fails fails the messages
    that touched it; a failed publication fails the whole batch (every step is idempotent)."""
    outcome = BatchOutcome(failed=set(failed))
    events = [event for mid, result in results.items() if mid not in failed for event in result.events]
    plans = []
    for sku, message_ids in _messages_by_sku(results).items():
        last = results[message_ids[-1]]
        reports = [r for mid in message_ids for r in results[mid].reports if r.data.sku == sku]
        try:
            partition = projector.reconcile_safety_stock(projector.store.sku_partition(sku))
            plan = plan_refresh(
                sku,
                partition.positions,
                partition.other_items,
                reports,
                availability.channels(),
                correlation_id=last.correlation_id,
                causation_id=last.event_id,
                now=utcnow(),
            )
        except Exception:
            logger.exception("availability refresh failed", extra={"sku": sku, "messages": message_ids})
            outcome.refresh_failures += 1
            outcome.failed.update(message_ids)
            continue
        plans.append((sku, message_ids, plan))
        events.extend(plan.events)
    try:
        if events:
            publish(events, bus_name)
            outcome.published = len(events)
    except PublishError as exc:
        logger.error("events not published; the batch will be retried", extra={"failures": exc.failures})
        outcome.failed.update(results)
        return outcome
    for sku, message_ids, plan in plans:
        if plan.avail is None:
            continue
        try:
            availability.store.save(sku, plan.avail, plan.expected_version, plan.records)
        except Exception:
            logger.exception("channel figures not recorded", extra={"sku": sku})
            outcome.failed.update(message_ids)
    return outcome


def _messages_by_sku(results: dict[str, MessageResult]) -> dict[str, list[str]]:
    by_sku: dict[str, list[str]] = {}
    for message_id, result in results.items():
        for sku in result.skus:
            by_sku.setdefault(sku, []).append(message_id)
    return by_sku
