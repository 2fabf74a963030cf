"""Request and response bodies of the order-to-ship callbacks, carrier tracking, the order's fulfillment view and
the fulfillment exceptions lists (docs/order-to-ship.md, "Callbacks")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.api.order_models import ExceptionKind, OrderView, PromiseAtRiskView
from shared.canonical.fulfillment import Package
from shared.canonical.orders import OrderLineNumber

CallbackResult = Literal["accepted", "duplicate", "cancelling", "cancelled"]
WaitingFor = Literal["pick", "dispatch", "delivery"]
# The canonical tracking statuses: EasyPost's tracker statuses (the milestones among them) and `unknown`.
TrackingStatus = Literal[
    "unknown",
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "available_for_pickup",
    "delivered",
    "return_to_sender",
    "failure",
    "error",
    "cancelled",
]


# ------------------------------------------------------------------------------------------------ requests
class PickedLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: OrderLineNumber = Field(examples=[1], description="The order line.")
    quantity: int = Field(ge=0, le=1_000_000_000, examples=[10], description="Eaches picked.")


class PickCompleteRequest(BaseModel):
    """The WMS picked (and packed) the order. Without `lines`, every released unit was picked; with them, a line
    not listed was not picked, and fewer units than released end the flow as a short pick."""

    model_config = ConfigDict(extra="forbid")

    picked_at: AwareDatetime
    lines: list[PickedLine] | None = Field(default=None, max_length=99)
    packages: list[Package] = Field(default_factory=list, max_length=500)


class DispatchRequest(BaseModel):
    """The TMS booked a carrier, labelled the shipment and handed it over."""

    model_config = ConfigDict(extra="forbid")

    carrier: str = Field(min_length=1, max_length=64, examples=["FedEx"], description="As the carrier reports it.")
    tracking_number: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_.]*$")
    service: str | None = Field(default=None, max_length=64, examples=["FEDEX_GROUND"])
    dispatched_at: AwareDatetime
    estimated_delivery: date | None = Field(default=None, description="The carrier's estimate at booking.")
    label_url: str | None = Field(default=None, max_length=2048, pattern=r"^https://")


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, examples=["customer cancelled"])


class TrackingEvent(BaseModel):
    """A carrier milestone in distrosync's own shape (carriers without EasyPost), signed like any request."""

    model_config = ConfigDict(extra="forbid")

    tracking_number: str = Field(min_length=1, max_length=64)
    carrier: str | None = Field(
        default=None, min_length=1, max_length=64, description="The carrier named at dispatch; default: the partner."
    )
    status: TrackingStatus
    occurred_at: AwareDatetime
    estimated_delivery: date | None = None
    detail: str | None = Field(default=None, max_length=200)
    where: str | None = Field(default=None, max_length=200, description="City, region, country.")


# ----------------------------------------------------------------------------------------------- responses
class CallbackReceipt(BaseModel):
    order_id: str
    result: CallbackResult = Field(
        description="accepted: the flow moves on; duplicate: already reported (nothing more happens); "
        "cancelling: the cancel was taken and the flow compensates; cancelled: it was already cancelled or "
        "being cancelled."
    )
    status: str = Field(description="The order's status after the callback.")
    correlation_id: str


class TrackingReceipt(BaseModel):
    result: Literal["accepted", "duplicate", "ignored"] = Field(
        description="accepted: new scans recorded; duplicate: nothing new; ignored: not a tracking update."
    )
    order_id: str | None = Field(default=None, description="The order the shipment belongs to.")
    status: str | None = Field(default=None, description="The order's status after the update.")
    new_milestones: int = Field(default=0, description="Carrier scans not seen before, now on the order's timeline.")
    delayed: bool = Field(default=False, description="The estimate is later than the promised delivery (reported).")
    reason: str | None = Field(default=None, description="Why an update was ignored.")
    correlation_id: str


class WaitingView(BaseModel):
    waiting_for: WaitingFor
    since: datetime
    reported: bool = Field(description="The partner reported it; the flow is moving on.")


class ShipmentView(BaseModel):
    carrier: str
    tracking_number: str
    service: str | None = None
    dispatched_at: datetime | None = None
    estimated_delivery: date | None = None
    promised_delivery: date | None = None
    label_url: str | None = None
    carrier_status: str | None = Field(default=None, description="The newest carrier status.")
    delivered_at: datetime | None = None


class TimelineEntryView(BaseModel):
    at: datetime
    milestone: str
    source: str
    detail: str | None = None


class FulfillmentView(BaseModel):
    status: str
    step: str | None = Field(description="The flow step that wrote last.")
    waiting: WaitingView | None
    reservation_id: str | None
    shipment: ShipmentView | None
    exception: dict[str, str | None] | None = Field(description="{step, error, reason, at} of a failed step.")
    cancel: dict[str, str | None] | None = Field(description="{requested_at, reason, by} of a cancel request.")
    split_into: list[str] = Field(default_factory=list, description="Orders split off for the short lines.")
    timeline: list[TimelineEntryView] = Field(description="In time order.")


class OrderDetail(OrderView):
    """A customer order with each line's promise and its order-to-ship state."""

    fulfillment: FulfillmentView


class OrderExceptionView(BaseModel):
    """An order whose flow failed for good (after its retries): it waits for a person."""

    order_id: str
    step: str | None = None
    error: str | None = None
    reason: str | None = None
    location: str | None = None
    locations: list[str] = Field(default_factory=list)
    since: datetime


class ShipmentDelayedView(BaseModel):
    """A dispatched order the carrier now expects after the promised delivery."""

    order_id: str
    location: str | None = None
    carrier: str
    tracking_number: str
    promised_delivery: date
    estimated_delivery: date
    days_late: int
    since: datetime


class FulfillmentExceptionList(BaseModel):
    kind: ExceptionKind
    items: list[PromiseAtRiskView | OrderExceptionView | ShipmentDelayedView]
    next: str | None = Field(description="Pass as `next` for the following page; None: the last page.")
