"""Every canonical event type, in one place: schemas and EventBridge rules are derived from it."""

from __future__ import annotations

from shared.canonical.envelope import EventData
from shared.canonical.inventory import InventoryAdjusted

EVENT_TYPES: dict[str, type[EventData]] = {model.event_type: model for model in (InventoryAdjusted,)}
