"""Request and response bodies of the reservation routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.canonical.inventory import LocationCode, Sku
from shared.canonical.items import EACH, UomCode
from shared.canonical.reservation import MAX_RESERVATION_LINES, ReservationKind
from shared.domain.reservations import DEFAULT_HOLD_SECONDS, MAX_HOLD_SECONDS, Draft, RequestedLine

# It is a path segment of the reservation's routes: no '/', '?', '#' or spaces.
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$"
ReservationReference = Annotated[str, Field(min_length=1, max_length=128, pattern=REFERENCE_PATTERN)]


class ReservationLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku = Field(examples=["SKU-1"])
    location: LocationCode = Field(examples=["DC-EAST"])
    quantity: int = Field(gt=0, le=1_000_000_000, examples=[2])
    unit: UomCode = Field(default=EACH, description="A unit of the item master (each, case, ...).")


class ReservationRequest(BaseModel):
    """Reserve every line or none. Lines of the same SKU and location are added up (in eaches)."""

    model_config = ConfigDict(extra="forbid")

    reference: ReservationReference = Field(
        description="Your order, cart or quote id; unique per partner. Repeating it with the same lines "
        "returns the existing reservation.",
        examples=["SO-1001"],
    )
    kind: ReservationKind = Field(description="`order` commits stock to an order; `hold` is a soft hold.")
    channel: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9\-]*$", examples=["shopify-main"]
    )
    expires_in_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_HOLD_SECONDS,
        description=f"Holds: default {DEFAULT_HOLD_SECONDS}. Orders: no expiry unless given.",
    )
    # No maximum here: more than MAX_RESERVATION_LINES is answered with its own problem type, too-many-lines.
    lines: list[ReservationLineRequest] = Field(
        min_length=1, description=f"At most {MAX_RESERVATION_LINES} lines, each its own SKU and location or not."
    )

    def to_draft(self) -> Draft:
        return Draft(
            reference=self.reference,
            kind=self.kind,
            channel=self.channel,
            expires_in_seconds=self.expires_in_seconds,
            lines=tuple(RequestedLine(x.sku, x.location, x.quantity, x.unit) for x in self.lines),
        )


class LineShortfallView(BaseModel):
    """One line of the `insufficient-stock` problem's `lines`."""

    sku: str
    location: str
    requested: int = Field(description="Eaches asked for this SKU and location (lines added up).")
    available: int = Field(description="Eaches available when the reservation was refused (never below 0).")
    shortfall: int = Field(description="requested - available, or 0 when this line alone could be reserved.")


class InsufficientStockProblem(BaseModel):
    """The `insufficient-stock` problem: nothing was reserved; `lines` has every line of the request."""

    type: str = Field(examples=["urn:distrosync:problem:insufficient-stock"])
    title: str
    status: int = Field(examples=[409])
    detail: str
    instance: str | None = None
    lines: list[LineShortfallView]
