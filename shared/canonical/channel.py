"""Sales channels: what a channel says it has, what distrosync lets it sell, and where they disagree."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.canonical.envelope import EventData
from shared.canonical.inventory import LocationCode, Sku

ChannelPlatform = Literal["shopify", "bigcommerce", "other"]


class ChannelInventoryReported(EventData):
    """A channel's own inventory figure for one of our items (e.g. a Shopify inventory_levels/update).

    `quantity` None: the channel does not track inventory for the item (it will sell without limit).
    `location` None: the figure covers every location feeding the channel.
    """

    event_type = "channel.inventory_reported"
    schema_version = "1.0"

    channel: str
    platform: ChannelPlatform
    sku: Sku
    location: LocationCode | None = None
    quantity: int | None
    external_item_id: str
    external_location_id: str | None = None
    reported_at: datetime

    def subject(self) -> str:
        return f"{self.sku}@{self.channel}"


class LocationSellable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    location: str
    sellable: int


class AvailabilityChanged(EventData):
    """The quantity a channel may sell changed (published only on change; bursts are coalesced)."""

    event_type = "availability.changed"
    schema_version = "1.0"

    sku: Sku
    channel: str
    sellable: int = Field(ge=0)
    previous: int | None = Field(description="The last figure published for this channel; None if none yet.")
    locations: list[LocationSellable] = Field(default_factory=list)
    as_of: datetime

    def subject(self) -> str:
        return f"{self.sku}@{self.channel}"


class InventoryDiscrepancyDetected(EventData):
    """A channel's figure disagrees with what distrosync says it may sell."""

    event_type = "inventory.discrepancy_detected"
    schema_version = "1.0"

    sku: Sku
    channel: str
    location: LocationCode | None = None
    kind: Literal["mismatch", "untracked"]
    channel_quantity: int | None
    sellable: int
    difference: int | None = Field(description="channel_quantity - sellable (positive: channel may oversell).")
    reported_at: datetime

    def subject(self) -> str:
        return f"{self.sku}@{self.channel}"
