"""Canonical reservation events: stock held for an order (`committed`) or a soft hold (`reserved`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.canonical.envelope import EventData
from shared.canonical.inventory import LocationCode, Sku

MAX_RESERVATION_LINES = 500

ReservationKind = Literal["order", "hold"]  # order -> `committed` bucket; hold (cart, quote, channel) -> `reserved`
ReservationStatus = Literal["pending", "held", "committed", "released", "expired"]


class ReservationLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    location: LocationCode
    quantity: int = Field(gt=0, description="Eaches.")


class Reservation(BaseModel):
    """The reservation record (also the `data` of every reservation event)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reservation_id: str = Field(description="<partner_id>:<reference>")
    partner_id: str
    reference: str = Field(description="The caller's order, cart or quote id.")
    kind: ReservationKind
    channel: str | None = None
    status: ReservationStatus
    lines: list[ReservationLine] = Field(max_length=MAX_RESERVATION_LINES)
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None


class _ReservationEvent(EventData):
    reservation: Reservation

    def subject(self) -> str:
        return self.reservation.reservation_id


class ReservationCreated(_ReservationEvent):
    event_type = "reservation.created"


class ReservationReleased(_ReservationEvent):
    event_type = "reservation.released"


class ReservationCommitted(_ReservationEvent):
    event_type = "reservation.committed"


class ReservationExpired(_ReservationEvent):
    event_type = "reservation.expired"
