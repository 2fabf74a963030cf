"""Response bodies of the inventory queries (the OpenAPI document is generated from these)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.canonical.inventory import LocationCode, Sku


class IncomingLineView(BaseModel):
    reference: str
    kind: str = Field(description="on_order (confirmed PO line) or in_transit (shipped on a ship notice)")
    quantity: int
    expected_date: date
    received: int


class SourceView(BaseModel):
    source: str
    sequence: int
    occurred_at: datetime


class PositionView(BaseModel):
    location: str
    on_hand: int
    committed: int
    reserved: int
    unavailable: dict[str, int] = Field(description="By reason: damaged, quality_control, safety_stock, ...")
    unavailable_total: int
    available: int = Field(description="on_hand - committed - reserved - unavailable, not below 0.")
    shortage: int = Field(description="How far committed and reserved exceed what is available (0 normally).")
    on_order: int
    in_transit: int
    incoming: list[IncomingLineView]
    lots: dict[str, int]
    as_of: datetime | None
    sources: list[SourceView] = Field(description="The newest movement seen from each source.")
    version: int


class Totals(BaseModel):
    on_hand: int
    committed: int
    reserved: int
    unavailable_total: int
    available: int
    on_order: int
    in_transit: int


class InventoryView(BaseModel):
    sku: str
    totals: Totals
    positions: list[PositionView]


class AtpPoint(BaseModel):
    date: date
    available: int
    on_order: int
    in_transit: int
    atp: int = Field(description="What can be promised for this date, not below 0.")
    shortage: int


class LocationAtp(BaseModel):
    location: str
    answer: AtpPoint
    timeline: list[AtpPoint] = Field(description="Today, then each date incoming supply is expected.")


class AtpView(BaseModel):
    sku: str
    date: date
    atp: int = Field(description="Sum over the locations.")
    locations: list[LocationAtp]


class InventoryQuery(BaseModel):
    skus: list[Sku] = Field(min_length=1, description="At most 100 SKUs.")
    locations: list[LocationCode] | None = Field(default=None, max_length=50)


class InventoryQueryResult(BaseModel):
    items: list[InventoryView]
    not_found: list[str] = Field(description="SKUs with no position at a location you may see.")
