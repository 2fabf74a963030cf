"""Canonical events of the order-to-ship flow (#5; docs/order-to-ship.md).

Each is about one order (`subject` = the order id) and carries what its receiver needs without a read back:
the WMS gets the lines and ship-to of `order.released`, the TMS those of `shipment.ready`, finance the priced
lines of `invoice.requested`, the ERP and customer portals `order.status_changed` and `shipment.milestone`.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.canonical.envelope import EventData
from shared.canonical.inventory import LocationCode, Sku
from shared.canonical.orders import OrderId, ShipTo
from shared.domain.order_flow import Milestone, OrderStatus, Step


class FulfillmentLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line: int = Field(ge=1)
    sku: Sku
    quantity: int = Field(gt=0, description="Eaches.")
    unit_price: str | None = Field(default=None, description="Decimal text, in the order's currency.")


class Package(BaseModel):
    """A carton the WMS packed (from its pick-complete report)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    package_id: str = Field(min_length=1, max_length=64)
    sscc: str | None = Field(default=None, pattern=r"^\d{18}$")
    weight_kg: float | None = Field(default=None, gt=0)


class _OrderEvent(EventData):
    order_id: OrderId

    def subject(self) -> str:
        return self.order_id


class OrderReleased(_OrderEvent):
    """Pick, pack and ship these lines (to the warehouse systems of `location`; delivered by the flow's
    release step, which then waits for the WMS's pick-complete callback)."""

    event_type = "order.released"

    location: LocationCode
    lines: list[FulfillmentLine] = Field(min_length=1)
    ship_to: ShipTo | None = None
    requested_date: date | None = None
    deliver_by: date | None = None
    customer_ref: str | None = None
    callback: str = Field(description="Where the WMS reports: POST /v1/orders/{order_id}/pick-complete.")


class OrderReleaseCancelled(_OrderEvent):
    """Stop picking this order (the compensation of a cancel after the release)."""

    event_type = "order.release_cancelled"

    location: LocationCode
    reason: str = Field(max_length=500)


class OrderStatusChanged(_OrderEvent):
    """The order moved on (to the ERP's sales order and the customer portal)."""

    event_type = "order.status_changed"

    status: OrderStatus
    previous_status: OrderStatus | None = None
    step: Step | None = Field(default=None, description="The flow step that changed it.")
    at: datetime
    channel: str | None = None
    customer_ref: str | None = None
    note: str | None = Field(default=None, max_length=500)


class ShipmentReady(_OrderEvent):
    """Picked and packed: book a carrier, print the label, dispatch (to the TMS; the flow then waits for the
    TMS's dispatch callback)."""

    event_type = "shipment.ready"

    location: LocationCode
    lines: list[FulfillmentLine] = Field(min_length=1)
    packages: list[Package] = Field(default_factory=list)
    ship_to: ShipTo | None = None
    deliver_by: date | None = None
    callback: str = Field(description="Where the TMS reports: POST /v1/orders/{order_id}/dispatch.")


class ShipmentDispatched(_OrderEvent):
    event_type = "shipment.dispatched"

    location: LocationCode
    carrier: str = Field(min_length=1, max_length=64)
    tracking_number: str = Field(min_length=1, max_length=64)
    service: str | None = Field(default=None, max_length=64)
    dispatched_at: datetime
    estimated_delivery: date | None = None
    promised_delivery: date | None = Field(
        default=None, description="What the customer was promised: the order's deliver_by, else the TMS's estimate."
    )
    lines: list[FulfillmentLine] = Field(min_length=1)
    customer_ref: str | None = None


class ShipmentMilestone(_OrderEvent):
    """A carrier milestone (to the customer portal)."""

    event_type = "shipment.milestone"

    carrier: str
    tracking_number: str
    milestone: Milestone
    carrier_status: str = Field(description="The carrier's own status (e.g. EasyPost's in_transit).")
    status_detail: str | None = None
    at: datetime
    where: str | None = Field(default=None, max_length=200, description="City, state, country as the carrier says.")
    estimated_delivery: date | None = None


class ShipmentDelayed(_OrderEvent):
    """The carrier's estimated delivery is after what was promised (customer notice, SLA breach, exception)."""

    event_type = "shipment.delayed"

    carrier: str
    tracking_number: str
    promised_delivery: date
    estimated_delivery: date
    previous_estimate: date | None = None
    days_late: int = Field(ge=1)
    reported_at: datetime
    customer_ref: str | None = None


class InvoiceRequested(_OrderEvent):
    """Dispatched: invoice these lines (to finance)."""

    event_type = "invoice.requested"

    channel: str | None = None
    customer_ref: str | None = None
    currency: str | None = None
    lines: list[FulfillmentLine] = Field(min_length=1)
    shipped_at: datetime
    carrier: str
    tracking_number: str


class OrderException(_OrderEvent):
    """A step failed for good (after its retries): the order waits for a person."""

    event_type = "order.exception"

    step: Step
    error: str = Field(description="The error name, e.g. States.Timeout, DeliveryRejected.")
    reason: str = Field(max_length=1000)
    at: datetime
    locations: list[LocationCode] = Field(default_factory=list)


class OrderCancelled(_OrderEvent):
    """Cancelled before dispatch; the compensation released the reservation and told the WMS."""

    event_type = "order.cancelled"

    reason: str = Field(max_length=500)
    previous_status: OrderStatus
    reservation_released: bool
    warehouse_notified: bool
    at: datetime


EVENTS: tuple[type[EventData], ...] = (
    OrderReleased,
    OrderReleaseCancelled,
    OrderStatusChanged,
    ShipmentReady,
    ShipmentDispatched,
    ShipmentMilestone,
    ShipmentDelayed,
    InvoiceRequested,
    OrderException,
    OrderCancelled,
)
