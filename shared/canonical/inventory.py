"""Canonical inventory events."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

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
    "other",
]


# One definition of the business keys, shared by the canonical events and the API bodies.
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")]
LocationCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]


def check_delta_or_on_hand(delta: int | None, on_hand: int | None) -> None:
    if (delta is None) == (on_hand is None):
        raise ValueError("give exactly one of 'delta' or 'on_hand'")


class InventoryAdjusted(EventData):
    """A warehouse changed the quantity on hand of one item at one location.

    Either `delta` (relative change) or `on_hand` (absolute count) is given, never both.
    `sequence` is the source's own monotonically increasing number for this feed; it lets consumers
    drop stale and duplicate deliveries.
    """

    event_type = "inventory.adjusted"
    schema_version = "1.0"

    sku: Sku
    location: LocationCode
    delta: int | None = Field(default=None, description="Relative change in units (each).")
    on_hand: int | None = Field(default=None, ge=0, description="Absolute count in units (each).")
    reason: AdjustmentReason
    sequence: int = Field(ge=0, description="Source's sequence number for this item and location feed.")
    reference: str | None = Field(default=None, max_length=128, description="Source document, e.g. a count id.")

    @model_validator(mode="after")
    def _one_of_delta_or_on_hand(self) -> InventoryAdjusted:
        check_delta_or_on_hand(self.delta, self.on_hand)
        return self

    def subject(self) -> str:
        return f"{self.sku}@{self.location}"
