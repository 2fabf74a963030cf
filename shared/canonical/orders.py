"""Canonical customer orders and their events (#4: orders and promises; #5 extends with the order-to-ship flow).

Quantities are in eaches (the ingress converts units of measure with the item master).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.canonical.envelope import EventData
from shared.canonical.inventory import LocationCode, Sku

OrderId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]
OrderLineNumber = Annotated[int, Field(ge=1, le=9999)]
ChannelName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9\-]*$")]
# One transaction writes the order and one demand item per line (TransactWriteItems: at most 100 items).
MAX_ORDER_LINES = 99


class OrderLine(BaseModel):
    """One line of a customer order: what is wanted where, and by when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line: OrderLineNumber
    sku: Sku
    location: LocationCode = Field(description="The location that ships it.")
    quantity: int = Field(gt=0, description="Eaches.")
    requested_date: date = Field(description="When the customer wants it shipped.")


class CustomerOrder(BaseModel):
    """A customer order as distrosync keeps it (also the `order` of `order.created`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: OrderId
    source_partner: str = Field(description="The partner (channel or ERP) that placed it.")
    channel: ChannelName | None = None
    customer_ref: str | None = Field(default=None, max_length=128)
    placed_at: datetime = Field(description="When the customer placed it; demand is served in this order.")
    created_at: datetime = Field(description="When distrosync accepted it.")
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_ORDER_LINES)

    @field_validator("placed_at", "created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp must carry a time zone (e.g. 2026-01-31T10:00:00Z)")
        return value


class OrderCreated(EventData):
    """A customer order was accepted; promising pegs its lines against supply."""

    event_type = "order.created"
    schema_version = "1.0"

    order: CustomerOrder

    def subject(self) -> str:
        return self.order.order_id


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


EVENTS: tuple[type[EventData], ...] = (OrderCreated, OrderPromiseDateChanged)
