"""Canonical customer-order events (#4: promises; #5 extends with the order-to-ship flow)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from shared.canonical.envelope import EventData
from shared.canonical.inventory import LocationCode, Sku

OrderId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]


class OrderPromiseDateChanged(EventData):
    """A customer order line's promise date changed (the first promise has `previous_promise_date` None)."""

    event_type = "order.promise_date_changed"
    schema_version = "1.0"

    order_id: OrderId
    line: int = Field(ge=1)
    sku: Sku
    location: LocationCode
    quantity: int = Field(gt=0)
    requested_date: date | None = None
    previous_promise_date: date | None = None
    promise_date: date | None = Field(description="None: no supply and no lead time to promise against.")
    at_risk: bool
    depends_on: list[str] = Field(
        default_factory=list, description="Supply the promise rests on: `on_hand`, incoming references, `lead_time`."
    )
    reason: str = Field(max_length=200)

    def subject(self) -> str:
        return f"{self.order_id}/{self.line}"


EVENTS: tuple[type[EventData], ...] = (OrderPromiseDateChanged,)
