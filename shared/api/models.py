"""Request and response bodies of the public API (the OpenAPI document is generated from these)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.canonical.inventory import AdjustmentReason, LocationCode, Sku, check_delta_or_on_hand


class AdjustmentRequest(BaseModel):
    """A warehouse's inventory adjustment for one SKU at one location: `delta` or absolute `on_hand`."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku = Field(examples=["SKU-1"])
    location: LocationCode = Field(examples=["DC-EAST"])
    delta: int | None = Field(default=None, description="Relative change in eaches.", examples=[-3])
    on_hand: int | None = Field(default=None, ge=0, description="Absolute count in eaches.")
    reason: AdjustmentReason
    sequence: int = Field(ge=0, description="Your feed's increasing sequence number for this item and location.")
    occurred_at: datetime = Field(description="When it happened in your system (RFC 3339 with zone).")
    reference: str | None = Field(default=None, max_length=128, description="Your document id, e.g. a count id.")
    message_id: str | None = Field(
        default=None,
        max_length=128,
        description="Your message id; used for idempotency without Idempotency-Key.",
    )

    @model_validator(mode="after")
    def _one_of_delta_or_on_hand(self) -> AdjustmentRequest:
        check_delta_or_on_hand(self.delta, self.on_hand)
        return self


class Accepted(BaseModel):
    status: str = "accepted"
    event_id: str
    type: str
    subject: str
    correlation_id: str
    received_at: datetime


class PositionView(BaseModel):
    location: str
    on_hand: int
    committed: int
    reserved: int
    unavailable: int
    available: int
    as_of: datetime | None
    version: int


class InventoryView(BaseModel):
    sku: str
    positions: list[PositionView]
