"""Bodies of the channel routes: webhook receipts and channel availability (in the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class WebhookReceipt(BaseModel):
    """What distrosync did with a channel's webhook delivery: `accepted` (a stock report published), `created`
    (an order created, order.created published), `duplicate` (the order exists: order.created published again
    under the same event id) or `ignored`."""

    status: Literal["accepted", "created", "duplicate", "ignored"]
    event_id: str | None = Field(
        default=None, description="The event published: channel.inventory_reported or order.created."
    )
    type: str | None = None
    subject: str | None = None
    topic: str = Field(description="The platform's topic, e.g. inventory_levels/update or orders/create.")
    order_id: str | None = Field(default=None, description="The order created (or found): `<channel>.<its id>`.")
    reason: str | None = Field(default=None, description="Why an ignored delivery was not published.")
    correlation_id: str


class LocationFigure(BaseModel):
    location: str
    sellable: int


class ReportedFigure(BaseModel):
    """The channel's latest own figure for one location (or for all its locations), against ours."""

    location: str | None = Field(description="Our location code; null: the figure covers all the channel's locations.")
    quantity: int | None = Field(description="The channel's figure; null: the channel does not track the item.")
    reported_at: datetime
    sellable: int = Field(description="What distrosync lets the channel sell there now.")
    agrees: bool


class ChannelAvailabilityView(BaseModel):
    channel: str
    platform: str
    sellable: int = Field(description="What the channel may sell in total now.")
    locations: list[LocationFigure] = Field(description="What it may sell per location (no holds).")
    published: int | None = Field(description="The figure last published in availability.changed; null: none yet.")
    published_at: datetime | None = None
    reported: list[ReportedFigure] = Field(default_factory=list)
    agrees: bool | None = Field(description="Whether every reported figure agrees; null: the channel reported none.")


class AvailabilityView(BaseModel):
    sku: str
    channels: list[ChannelAvailabilityView]
