"""Canonical customer (sales) orders and their events (#4: orders and promises; #5: the order-to-ship flow).

Quantities are in eaches (the ingress converts units of measure with the item master). A sales order comes from
a channel's webhook (Shopify `orders/create`, BigCommerce `store/order/created`) or `POST /v1/orders`; whatever
its source, it is this one model (`SalesOrder` is the same class).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.canonical.envelope import EventData
from shared.canonical.inventory import LocationCode, Sku
from shared.domain.order_flow import OrderPolicy

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
    unit_price: str | None = Field(
        default=None, max_length=32, pattern=r"^-?\d+(\.\d+)?$", description="Decimal text, in the order's currency."
    )
    external_line_id: str | None = Field(default=None, max_length=64, description="The channel's line id.")


class ShipTo(BaseModel):
    """Where the order goes (given to the WMS and TMS; never logged)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    address1: str | None = Field(default=None, max_length=200)
    address2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100, description="State or province code.")
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, min_length=2, max_length=2, description="ISO 3166-1 alpha-2.")
    phone: str | None = Field(default=None, max_length=40)


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
    policy: OrderPolicy = Field(
        default="backorder",
        description="When stock is short: backorder (ship complete, wait for the rest) or split (ship what is "
        "there, the rest becomes a backordered order `<order_id>.b<n>`).",
    )
    ship_to: ShipTo | None = None
    deliver_by: date | None = Field(default=None, description="The delivery date promised to the customer, if any.")
    external_id: str | None = Field(
        default=None, max_length=64, description="The channel's own order id, exact (64-bit ids as text)."
    )
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    parent_order_id: OrderId | None = Field(default=None, description="The order this one was split from.")

    @field_validator("placed_at", "created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp must carry a time zone (e.g. 2026-01-31T10:00:00Z)")
        return value


class OrderCreated(EventData):
    """A customer order was accepted; promising pegs its lines against supply."""

    event_type = "order.created"
    schema_version = "1.1"  # 1.1: policy, ship_to, deliver_by, external_id, currency, parent_order_id, prices

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


SalesOrder = CustomerOrder  # the name for it: one model, whatever the source

EVENTS: tuple[type[EventData], ...] = (OrderCreated, OrderPromiseDateChanged)
