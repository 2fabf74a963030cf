"""Projecting `inventory.adjusted` events onto positions: read (batched), decide (pure), write (conditional)."""

from __future__ import annotations

from collections.abc import Iterable

from shared.aws.inventory_store import InventoryStore, VersionConflict
from shared.canonical.envelope import Envelope
from shared.canonical.inventory import InventoryAdjusted
from shared.domain.inventory_position import Decision, Outcome, Position, apply_adjustment

MAX_CONFLICT_RETRIES = 5


class InventoryProjector:
    """Keeps the positions it has read or written during one batch, so a batch costs one BatchGetItem plus
    one conditional write per applied event; a concurrent writer costs a re-read and a retry."""

    def __init__(self, store: InventoryStore) -> None:
        self.store = store
        self._known: dict[tuple[str, str], Position | None] = {}

    def prefetch(self, events: Iterable[Envelope[InventoryAdjusted]]) -> None:
        keys = [(e.data.sku, e.data.location) for e in events]
        self._known = {key: None for key in keys}
        self._known.update(self.store.get_many(keys))

    def project(self, event: Envelope[InventoryAdjusted]) -> Decision:
        key = (event.data.sku, event.data.location)
        current = self._known[key] if key in self._known else self.store.get(*key)
        for _ in range(MAX_CONFLICT_RETRIES):
            decision = apply_adjustment(current, event)
            if decision.outcome is not Outcome.APPLIED:
                self._known[key] = current
                return decision
            try:
                self.store.save(decision.position, expected_version=current.version if current else 0)
            except VersionConflict:
                current = self.store.get(*key)
                continue
            self._known[key] = decision.position
            return decision
        self._known.pop(key, None)
        raise VersionConflict(f"{event.subject}: still conflicting after {MAX_CONFLICT_RETRIES} attempts")
