"""Request and response bodies of the customer-order and exceptions routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.canonical.inventory import LocationCode, Sku
from shared.canonical.items import EACH, UomCode
from shared.canonical.orders import MAX_ORDER_LINES, ChannelName, OrderId, OrderLineNumber, ShipTo
from shared.domain.order_flow import OrderPolicy

ExceptionKind = Literal["promise_at_risk", "order_exception", "shipment_delayed"]
ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
PRICE_PATTERN = r"^\d{1,18}(\.\d{1,8})?$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"


class OrderLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: OrderLineNumber = Field(examples=[1], description="The line number, unique in the order.")
    sku: Sku = Field(examples=["SKU-1"])
    location: LocationCode = Field(examples=["DC-EAST"], description="The location that ships it (code or GLN).")
    quantity: int = Field(gt=0, le=1_000_000_000, examples=[10])
    unit: UomCode = Field(default=EACH, description="A unit of the item master (each, case, ...).")
    requested_date: date = Field(examples=["2026-12-08"], description="When the customer wants it shipped.")
    unit_price: str | None = Field(
        default=None,
        pattern=PRICE_PATTERN,
        examples=["19.99"],
        description="Price of one `unit`, decimal text in the order's currency; kept per each (divided by the "
        "unit's eaches, to 6 decimals).",
    )


class OrderRequest(BaseModel):
    """A customer order. Repeating it with the same lines returns the existing order."""

    model_config = ConfigDict(extra="forbid")

    order_id: OrderId = Field(examples=["SO-1001"], description="Unique across distrosync.")
    channel: ChannelName | None = Field(
        default=None, examples=["shopify-main"], description="A channel partner's own name when it places the order."
    )
    customer_ref: str | None = Field(default=None, min_length=1, max_length=128, examples=["CUST-77"])
    placed_at: AwareDatetime = Field(description="When the customer placed it; earlier orders are served first.")
    # No maximum here: more than MAX_ORDER_LINES is answered with its own problem type, too-many-lines.
    lines: list[OrderLineRequest] = Field(min_length=1, description=f"At most {MAX_ORDER_LINES} lines.")
    policy: OrderPolicy = Field(
        default="backorder",
        description="When stock is short: backorder (ship it complete, wait for the rest) or split (ship what is "
        "there; the rest becomes the order `<order_id>.b<n>`, backordered).",
    )
    ship_to: ShipTo | None = Field(default=None, description="Where it goes (given to the WMS and TMS).")
    deliver_by: date | None = Field(
        default=None, description="The delivery date promised to the customer: a later carrier estimate is a delay."
    )
    currency: str | None = Field(
        default=None, pattern=CURRENCY_PATTERN, examples=["USD"], description="ISO 4217 code of the prices."
    )

    @model_validator(mode="after")
    def _deliver_after_placing(self) -> OrderRequest:
        if self.deliver_by is not None and self.deliver_by < self.placed_at.date():
            raise ValueError("deliver_by is before the day the order was placed")
        return self


class OrderLineView(BaseModel):
    line: int
    sku: str
    location: str
    quantity: int = Field(description="Eaches.")
    requested_date: date | None
    promise_date: date | None = Field(description="When the line can ship; None: not promised (yet).")
    at_risk: bool | None = Field(description="Promise after the requested date, or none; None: not pegged yet.")
    depends_on: list[str] = Field(description="Supply the promise rests on: on_hand, incoming references, lead_time.")
    promised_at: datetime | None = Field(description="When the current promise date was set.")
    unit_price: str | None = Field(default=None, description="Price of one each, in the order's currency.")
    external_line_id: str | None = Field(default=None, description="The channel's line id.")


class OrderView(BaseModel):
    order_id: str
    source_partner: str
    channel: str | None
    customer_ref: str | None
    placed_at: datetime
    created_at: datetime
    status: str
    lines: list[OrderLineView]
    policy: OrderPolicy = "backorder"
    ship_to: ShipTo | None = None
    deliver_by: date | None = None
    currency: str | None = None
    external_id: str | None = Field(default=None, description="The channel's own order id (exact).")
    parent_order_id: str | None = Field(default=None, description="The order this one was split from.")


class PromiseAtRiskView(BaseModel):
    """An order line whose promise is after its requested date (or that has no promise)."""

    order_id: str
    line: int
    sku: str
    location: str
    quantity: int
    requested_date: date | None = None
    previous_promise_date: date | None = Field(default=None, description="The promise before the latest change.")
    promise_date: date | None = None
    days_late: int | None = Field(default=None, description="promise_date - requested_date in days; None: no promise.")
    depends_on: list[str] = Field(default_factory=list)
    since: datetime = Field(description="When the line became at risk.")


class ExceptionList(BaseModel):
    kind: ExceptionKind
    items: list[PromiseAtRiskView]
    next: str | None = Field(description="Pass as `next` for the following page; None: the last page.")
