"""Master data: items (from the ERP) and locations; the keys every other record refers to."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.canonical.envelope import EventData
from shared.canonical.inventory import LocationCode, Sku

UomCode = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[a-z][a-z0-9_]*$")]
Gtin = Annotated[str, Field(pattern=r"^\d{8}$|^\d{12,14}$")]
Gln = Annotated[str, Field(pattern=r"^\d{13}$")]
EACH = "each"


class CrossReference(BaseModel):
    """The item's id in another system, e.g. a channel's inventory item id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9\-]*$", examples=["shopify-main"])
    id: str = Field(min_length=1, max_length=128, examples=["271878346596884015"])


class Item(BaseModel):
    """An item as the ERP masters it. `units` maps unit codes to eaches (`each` is always 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    description: str | None = Field(default=None, max_length=256)
    gtin: Gtin | None = None
    units: dict[UomCode, Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: {EACH: 1}, examples=[{"each": 1, "case": 12, "pallet": 480}]
    )
    safety_stock: int = Field(default=0, ge=0, description="Eaches held back at every location.")
    safety_stock_by_location: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="Overrides of safety_stock per location code."
    )
    cross_references: list[CrossReference] = Field(default_factory=list, max_length=50)
    status: Literal["active", "discontinued"] = "active"

    @model_validator(mode="after")
    def _each_is_one(self) -> Item:
        if self.units.get(EACH, 1) != 1:
            raise ValueError("unit 'each' must be 1")
        return self

    def eaches(self, quantity: int, unit: str) -> int | None:
        """`quantity` of `unit` in eaches, or None when the item has no conversion for `unit`."""
        if unit == EACH:
            return quantity
        factor = self.units.get(unit)
        return None if factor is None else quantity * factor

    def safety_stock_at(self, location: str) -> int:
        return self.safety_stock_by_location.get(location, self.safety_stock)


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: LocationCode
    name: str | None = Field(default=None, max_length=128)
    gln: Gln | None = None
    type: Literal["warehouse", "store", "3pl", "virtual"] = "warehouse"
    status: Literal["active", "inactive"] = "active"


class ItemUpdated(EventData):
    event_type = "item.updated"
    schema_version = "1.0"

    item: Item
    sequence: int = Field(ge=0, description="The ERP's version of the record; older versions are ignored.")

    def subject(self) -> str:
        return self.item.sku


class LocationUpdated(EventData):
    event_type = "location.updated"
    schema_version = "1.0"

    location: Location
    sequence: int = Field(ge=0)

    def subject(self) -> str:
        return self.location.code
