"""The inventory position of one SKU at one location, and how an adjustment changes it.

Deliveries are at-least-once and unordered, so every source keeps its own high-water sequence:
- an absolute count (`on_hand`) applies only if it is newer than everything seen from that source
  (higher sequence and not older in time); it supersedes that source's earlier deltas;
- a delta applies once: a sequence already applied (kept in a bounded window) is a duplicate, and one at
  or below the source's last absolute count is already reflected in it (stale).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from shared.canonical.envelope import Envelope
from shared.canonical.inventory import InventoryAdjusted

# How many recent delta sequences each source remembers for de-duplication. A late delta older than the
# window cannot be told from a duplicate and is treated as stale (counted and logged, never applied twice).
DEDUP_WINDOW = 64


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"


@dataclass(frozen=True)
class SourceState:
    sequence: int
    occurred_at: datetime
    snapshot_sequence: int = -1
    recent: tuple[int, ...] = ()


@dataclass(frozen=True)
class Position:
    sku: str
    location: str
    on_hand: int = 0
    committed: int = 0
    reserved: int = 0
    unavailable: int = 0
    as_of: datetime | None = None
    version: int = 0
    last_event_id: str | None = None
    sources: dict[str, SourceState] = field(default_factory=dict)

    @property
    def available(self) -> int:
        return self.on_hand - self.committed - self.reserved - self.unavailable

    @property
    def key(self) -> str:
        return f"{self.sku}@{self.location}"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    position: Position
    reason: str = ""


def apply_adjustment(current: Position | None, event: Envelope[InventoryAdjusted]) -> Decision:
    data = event.data
    position = current or Position(sku=data.sku, location=data.location)
    source = event.source_partner
    state = position.sources.get(source)
    seq, at = data.sequence, event.occurred_at

    if data.on_hand is not None:
        if state and (seq <= state.sequence or at < state.occurred_at):
            return Decision(Outcome.STALE, position, f"count {seq} is not newer than {state.sequence} from {source}")
        new_state = SourceState(sequence=seq, occurred_at=at, snapshot_sequence=seq, recent=(seq,))
        on_hand = data.on_hand
    else:
        assert data.delta is not None
        if state and (seq == state.sequence or seq in state.recent):
            return Decision(Outcome.DUPLICATE, position, f"sequence {seq} from {source} was already applied")
        if state and seq <= state.snapshot_sequence:
            return Decision(Outcome.STALE, position, f"delta {seq} predates count {state.snapshot_sequence}")
        if state and seq < state.sequence - DEDUP_WINDOW:
            return Decision(Outcome.STALE, position, f"delta {seq} is older than the de-duplication window")
        high = max(seq, state.sequence) if state else seq
        latest = max(at, state.occurred_at) if state else at
        recent = tuple(s for s in ((state.recent if state else ()) + (seq,)) if s > high - DEDUP_WINDOW)
        snapshot = state.snapshot_sequence if state else -1
        new_state = SourceState(sequence=high, occurred_at=latest, snapshot_sequence=snapshot, recent=recent)
        on_hand = position.on_hand + data.delta

    as_of = max(at, position.as_of) if position.as_of else at
    updated = replace(
        position,
        on_hand=on_hand,
        as_of=as_of,
        version=position.version + 1,
        last_event_id=event.id,
        sources={**position.sources, source: new_state},
    )
    return Decision(Outcome.APPLIED, updated)
