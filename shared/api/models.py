"""Request and response bodies of the public API (the OpenAPI document is generated from these).

Quantities in requests are in `unit` (default `each`); the ingress converts them to eaches with the item
master. Counts are not constrained to be non-negative here on purpose: a negative count is refused with its
own problem type (`negative-on-hand`), naming the lines, not as a generic validation failure.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from shared.canonical.inventory import (
    AdjustmentReason,
    IncomingKind,
    LocationCode,
    LotCode,
    Reference,
    Sku,
    StatusChange,
    UnavailableReason,
)
from shared.canonical.items import EACH, CrossReference, Item, Location, UomCode

MessageId = Annotated[
    str | None,
    Field(default=None, max_length=128, description="Your message id; used for idempotency without Idempotency-Key."),
]
Unit = Annotated[UomCode, Field(description="Unit of measure of the quantities (a unit of the item master).")]
Counts = dict[UnavailableReason, int]
MAX_LOTS_PER_LINE = 200


# ------------------------------------------------------------------------------------------------ inventory
class AdjustmentRequest(BaseModel):
    """A warehouse's change to one SKU at one location: exactly one of `delta` (relative change of on hand),
    `on_hand` (absolute count, with `unavailable` by reason) or `status_change` (between statuses)."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku = Field(examples=["SKU-1"])
    location: LocationCode = Field(examples=["DC-EAST"])
    lot: LotCode | None = Field(default=None, description="Lot or batch, where you track it.")
    delta: int | None = Field(default=None, description="Relative change of on hand.", examples=[-3])
    on_hand: int | None = Field(default=None, description="Absolute count of on hand (never negative).")
    unavailable: Counts | None = Field(
        default=None, description="With `on_hand`: the counted unavailable stock by reason (part of on hand)."
    )
    status_change: StatusChange | None = Field(default=None, description="Stock moved between statuses.")
    unit: Unit = EACH
    reason: AdjustmentReason | None = Field(default=None, description="Required, except for a status change.")
    sequence: int = Field(ge=0, description="Your feed's increasing sequence number.")
    occurred_at: AwareDatetime = Field(description="When it happened in your system (RFC 3339 with zone).")
    reference: str | None = Field(default=None, max_length=128, description="Your document id, e.g. a count id.")
    message_id: MessageId = None

    @model_validator(mode="after")
    def _one_kind(self) -> AdjustmentRequest:
        given = [n for n in ("delta", "on_hand", "status_change") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'delta', 'on_hand' or 'status_change'")
        if self.unavailable is not None and self.on_hand is None:
            raise ValueError("'unavailable' goes with an absolute 'on_hand' count")
        if self.reason is None:
            if self.status_change is None:
                raise ValueError("'reason' is required")
            self.reason = "status_change"
        _check_parts(self.on_hand, self.unavailable)
        return self


class SnapshotLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    on_hand: int = Field(description="Counted on hand (never negative).")
    unit: Unit = EACH
    unavailable: Counts = Field(default_factory=dict, description="Counted unavailable stock by reason.")
    lots: dict[LotCode, int] = Field(default_factory=dict, max_length=MAX_LOTS_PER_LINE, description="On hand by lot.")

    @model_validator(mode="after")
    def _parts_within_on_hand(self) -> SnapshotLineRequest:
        _check_parts(self.on_hand, self.unavailable)
        _check_parts(self.on_hand, self.lots, "lots")
        return self


class SnapshotRequest(BaseModel):
    """A warehouse's absolute counts of one location (at most 1000 lines, each SKU once). A count
    supersedes every older movement of the SKU at the location."""

    model_config = ConfigDict(extra="forbid")

    location: LocationCode = Field(examples=["DC-EAST"])
    snapshot_id: Reference = Field(description="Your id of this count.", examples=["CC-2026-11-26"])
    sequence: int = Field(ge=0, description="Your feed's increasing sequence number.")
    taken_at: AwareDatetime = Field(description="When the counts were true.")
    lines: list[SnapshotLineRequest] = Field(min_length=1)
    message_id: MessageId = None


class ReceiptRequest(BaseModel):
    """Goods received into on hand, optionally against an incoming supply line."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku = Field(examples=["SKU-1"])
    location: LocationCode = Field(examples=["DC-EAST"])
    lot: LotCode | None = None
    quantity: int = Field(gt=0)
    unit: Unit = EACH
    incoming_reference: Reference | None = Field(
        default=None, description="The incoming line received against (e.g. PO-1001/1); reduces it."
    )
    document: str | None = Field(default=None, max_length=128, description="Your receipt document id.")
    sequence: int = Field(ge=0, description="Your feed's increasing sequence number.")
    occurred_at: AwareDatetime
    message_id: MessageId = None


class IncomingLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$", examples=["1"])
    sku: Sku
    location: LocationCode
    quantity: int = Field(ge=0, description="Open quantity expected; 0 closes the line.")
    unit: Unit = EACH
    expected_date: date | None = Field(default=None, description="Overrides the document's expected date.")


class IncomingRequest(BaseModel):
    """Supply on its way: confirmed purchase-order lines (`on_order`, promised dates) or ship-notice lines
    (`in_transit`, ETA). Each line is the supply line `<document>/<line>`; the latest `sequence` wins."""

    model_config = ConfigDict(extra="forbid")

    kind: IncomingKind
    document: str = Field(min_length=1, max_length=64, description="PO or ship-notice number.", examples=["PO-1001"])
    sequence: int = Field(ge=0, description="Your version of the document.")
    occurred_at: AwareDatetime
    expected_date: date | None = Field(default=None, description="Promised date or ETA of every line.")
    lines: list[IncomingLineRequest] = Field(min_length=1)
    message_id: MessageId = None


def _check_parts(on_hand: int | None, parts: dict[str, int] | None, what: str = "unavailable") -> None:
    """Unavailable stock and lots are part of on hand (negative figures are reported separately)."""
    if on_hand is None or not parts or on_hand < 0 or any(v < 0 for v in parts.values()):
        return
    if sum(parts.values()) > on_hand:
        raise ValueError(f"'{what}' adds up to {sum(parts.values())}, more than on_hand {on_hand}")


class Accepted(BaseModel):
    status: str = "accepted"
    event_id: str = Field(description="The first (often the only) event published.")
    event_ids: list[str] = Field(description="Every event published for the request.")
    type: str
    subject: str
    correlation_id: str
    received_at: datetime


# ---------------------------------------------------------------------------------------------- master data
def _fields_without(model: type[BaseModel], key: str) -> dict[str, Any]:
    return {name: (f.annotation, f) for name, f in model.model_fields.items() if name != key}


_ItemFields: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "_ItemFields", __config__=ConfigDict(extra="forbid"), **_fields_without(Item, "sku")
)
_LocationFields: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "_LocationFields", __config__=ConfigDict(extra="forbid"), **_fields_without(Location, "code")
)


class ItemBody(_ItemFields):  # type: ignore[misc, valid-type]
    """An item as your ERP masters it (the SKU is in the path), with your version of the record."""

    sequence: int = Field(ge=0, description="Your version of the record; an older or equal one is ignored.")

    @field_validator("cross_references")
    @classmethod
    def _distinct_references(cls, refs: list[CrossReference]) -> list[CrossReference]:
        seen = [(r.system, r.id) for r in refs]
        if len(set(seen)) != len(seen):
            raise ValueError("a cross-reference is listed twice")
        return refs

    @field_validator("units")
    @classmethod
    def _each_is_one(cls, units: dict[str, int]) -> dict[str, int]:
        if units.get(EACH, 1) != 1:
            raise ValueError("unit 'each' must be 1")
        return units

    def item(self, sku: str) -> Item:
        return Item(sku=sku, **self.model_dump(exclude={"sequence"}))


class LocationBody(_LocationFields):  # type: ignore[misc, valid-type]
    """A location (the code is in the path), with your version of the record."""

    sequence: int = Field(ge=0, description="Your version of the record; an older or equal one is ignored.")

    def location(self, code: str) -> Location:
        return Location(code=code, **self.model_dump(exclude={"sequence"}))


class ItemView(Item):
    sequence: int
    updated_at: datetime
    updated_by: str


class LocationView(Location):
    sequence: int
    updated_at: datetime
    updated_by: str


WriteStatus = Literal["created", "updated", "stale"]


class ItemWritten(BaseModel):
    status: WriteStatus = Field(description="`stale`: a newer or equal version was already stored (shown).")
    event_id: str | None = Field(description="The item.updated event, when this request published one.")
    item: ItemView


class LocationWritten(BaseModel):
    status: WriteStatus
    event_id: str | None
    location: LocationView
