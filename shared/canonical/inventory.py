"""Canonical inventory events: movements and counts in, snapshots applied, receipts and incoming supply.

Quantities in events are always in eaches (the ingress converts units of measure with the item master).
Every movement carries its source's `sequence`; with the envelope's `source_partner` and `occurred_at` it
orders movements (see `shared/domain/inventory_position.py`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.canonical.envelope import EventData

AdjustmentReason = Literal[
    "cycle_count",
    "receipt",
    "pick",
    "ship",
    "damage",
    "shrinkage",
    "return",
    "correction",
    "transfer",
    "status_change",
    "other",
]

# Buckets of stock a warehouse counts. `available` is not a bucket: it is derived.
UnavailableReason = Literal["damaged", "quality_control", "blocked", "returns"]
UNAVAILABLE_REASONS: tuple[str, ...] = UnavailableReason.__args__  # type: ignore[attr-defined]
StockStatus = Literal["available", "damaged", "quality_control", "blocked", "returns"]
IncomingKind = Literal["on_order", "in_transit"]

# One definition of the business keys, shared by the canonical events and the API bodies.
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")]
LocationCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]
LotCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")]
Reference = Annotated[str, Field(min_length=1, max_length=128)]


class StatusChange(BaseModel):
    """Stock moved between statuses at the same location (on hand does not change)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_status: StockStatus
    to_status: StockStatus
    quantity: int = Field(gt=0)

    @model_validator(mode="after")
    def _different(self) -> StatusChange:
        if self.from_status == self.to_status:
            raise ValueError("from_status and to_status must differ")
        return self


class InventoryAdjusted(EventData):
    """A warehouse changed stock of one item at one location.

    Exactly one of: `delta` (relative change of on hand), `on_hand` (absolute count of the position; with
    `unavailable` by reason, missing reasons count as 0), or `status_change` (between statuses).
    """

    event_type = "inventory.adjusted"
    schema_version = "1.1"

    sku: Sku
    location: LocationCode
    lot: LotCode | None = Field(default=None, description="Lot or batch, where the warehouse tracks it.")
    delta: int | None = Field(default=None, description="Relative change in eaches.")
    on_hand: int | None = Field(default=None, ge=0, description="Absolute count in eaches.")
    unavailable: dict[UnavailableReason, Annotated[int, Field(ge=0)]] | None = Field(
        default=None, description="With `on_hand`: counted unavailable stock by reason, in eaches."
    )
    status_change: StatusChange | None = None
    reason: AdjustmentReason
    sequence: int = Field(ge=0, description="Source's sequence number for this feed.")
    reference: str | None = Field(default=None, max_length=128, description="Source document, e.g. a count id.")

    @model_validator(mode="after")
    def _one_kind(self) -> InventoryAdjusted:
        given = [name for name in ("delta", "on_hand", "status_change") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'delta', 'on_hand' or 'status_change'")
        if self.unavailable is not None and self.on_hand is None:
            raise ValueError("'unavailable' goes with an absolute 'on_hand' count")
        return self

    def subject(self) -> str:
        return f"{self.sku}@{self.location}"


class SnapshotLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    on_hand: int = Field(ge=0, description="Absolute count in eaches.")
    unavailable: dict[UnavailableReason, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    lots: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict, description="On hand by lot.")


class InventorySnapshotReceived(EventData):
    """One chunk (at most 100 lines) of a warehouse's absolute snapshot of a location."""

    event_type = "inventory.snapshot_received"
    schema_version = "1.0"

    location: LocationCode
    snapshot_id: Reference
    sequence: int = Field(ge=0, description="Source's sequence number for this snapshot.")
    part: int = Field(ge=1, description="Chunk number, from 1.")
    parts: int = Field(ge=1, description="Chunks in this snapshot.")
    lines: list[SnapshotLine] = Field(min_length=1, max_length=100)

    def subject(self) -> str:
        return f"{self.snapshot_id}@{self.location}#{self.part}"


class SnapshotLineOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: str
    outcome: Literal["applied", "duplicate", "stale"]
    on_hand_before: int | None = None
    on_hand_after: int
    variance: int = Field(description="Counted on hand minus what distrosync expected just before the count.")


class InventorySnapshotApplied(EventData):
    """The projector applied a snapshot chunk; variances show shrinkage or unreported movements."""

    event_type = "inventory.snapshot_applied"
    schema_version = "1.0"

    location: LocationCode
    snapshot_id: Reference
    part: int
    parts: int
    lines: list[SnapshotLineOutcome]

    def subject(self) -> str:
        return f"{self.snapshot_id}@{self.location}#{self.part}"


class ReceiptPosted(EventData):
    """Goods received into on hand, optionally against an incoming supply line (PO or ship-notice line)."""

    event_type = "receipt.posted"
    schema_version = "1.0"

    sku: Sku
    location: LocationCode
    lot: LotCode | None = None
    quantity: int = Field(gt=0, description="Received, in eaches.")
    incoming_reference: Reference | None = Field(
        default=None, description="The incoming line it receives against (e.g. PO-1001/1); reduces it."
    )
    sequence: int = Field(ge=0)
    document: str | None = Field(default=None, max_length=128, description="Receipt document id.")

    def subject(self) -> str:
        return f"{self.sku}@{self.location}"


class IncomingUpdated(EventData):
    """Supply expected at a location: a confirmed PO line (`on_order`, promised date) or a shipped line
    (`in_transit`, ETA). The latest `sequence` per reference wins; quantity 0 closes the line."""

    event_type = "inventory.incoming_updated"
    schema_version = "1.1"

    sku: Sku
    location: LocationCode
    reference: Reference = Field(description="Supply line id, e.g. PO-1001/1 or ASN-77/3.")
    kind: IncomingKind
    quantity: int = Field(ge=0, description="Open quantity expected, in eaches (see `basis`).")
    basis: Literal["open", "confirmed"] = Field(
        default="open",
        description="open: the quantity still expected, receipts already deducted by the sender; confirmed: the "
        "quantity confirmed for this reference, from which distrosync deducts what was received against it "
        "(for senders that do not see receipts, e.g. a supplier's acknowledgment).",
    )
    expected_date: date = Field(description="Promised date (on_order) or ETA (in_transit).")
    sequence: int = Field(ge=0)

    def subject(self) -> str:
        return f"{self.sku}@{self.location}"


class SupplyLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reference: Reference
    kind: IncomingKind
    quantity: int = Field(ge=0)
    expected_date: date


class InventorySupplyChanged(EventData):
    """A position's supply changed (incoming lines, or available through a receipt against one): what promising
    re-pegs customer orders against. `version` is the position's; a consumer ignores an older one."""

    event_type = "inventory.supply_changed"
    schema_version = "1.0"

    sku: Sku
    location: LocationCode
    available: int
    incoming: list[SupplyLine]
    version: int = Field(ge=1)

    def subject(self) -> str:
        return f"{self.sku}@{self.location}"
