"""Every canonical event type, in one place: schemas and EventBridge rules are derived from it."""

from __future__ import annotations

from shared.canonical import edi, fulfillment, orders, purchasing, supplier
from shared.canonical.channel import AvailabilityChanged, ChannelInventoryReported, InventoryDiscrepancyDetected
from shared.canonical.envelope import EventData
from shared.canonical.inventory import (
    IncomingUpdated,
    InventoryAdjusted,
    InventorySnapshotApplied,
    InventorySnapshotReceived,
    InventorySupplyChanged,
    ReceiptPosted,
)
from shared.canonical.items import ItemUpdated, LocationUpdated
from shared.canonical.reservation import (
    ReservationCommitted,
    ReservationCreated,
    ReservationExpired,
    ReservationReleased,
)

EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model
    for model in (
        InventoryAdjusted,
        InventorySnapshotReceived,
        InventorySnapshotApplied,
        ReceiptPosted,
        IncomingUpdated,
        ItemUpdated,
        LocationUpdated,
        ReservationCreated,
        ReservationReleased,
        ReservationCommitted,
        ReservationExpired,
        ChannelInventoryReported,
        AvailabilityChanged,
        InventoryDiscrepancyDetected,
        InventorySupplyChanged,
        # Modules of #4 list their events in `EVENTS` (the module's owner adds to it).
        *supplier.EVENTS,
        *purchasing.EVENTS,
        *orders.EVENTS,
        *fulfillment.EVENTS,
        *edi.EVENTS,
    )
}
