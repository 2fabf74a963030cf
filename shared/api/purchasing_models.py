"""Request and response bodies of the purchasing routes: purchase orders, acknowledgments, ship notices,
lead times. Quantities in requests are in `unit` (default `each`); the ingress converts them with the item master."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.canonical.inventory import LocationCode, Sku
from shared.canonical.items import EACH, UomCode
from shared.canonical.purchasing import (
    AckLineOutcome,
    AckLineStatus,
    DocumentId,
    ExpectedLine,
    LineNumber,
    PurchaseOrderStatus,
    ScheduledDelivery,
    ShipNotice,
)
from shared.canonical.supplier import SupplierId

Unit = Annotated[UomCode, Field(description="Unit of measure of the quantities (a unit of the item master).")]
Quantity = Annotated[int, Field(gt=0, le=1_000_000_000)]
Price = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6)]


# ------------------------------------------------------------------------------------------ purchase orders
class PurchaseOrderLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: LineNumber = Field(examples=[1])
    sku: Sku = Field(examples=["SKU-1"])
    quantity: Quantity = Field(examples=[120])
    unit: Unit = EACH
    unit_price: Price | None = Field(default=None, examples=["4.25"])
    requested_date: date = Field(description="Delivery date asked of the supplier.")
    need_date: date | None = Field(default=None, description="When the goods are needed (default: requested date).")


class PurchaseOrderRequest(BaseModel):
    """A purchase order as the ERP sends it, whole, in one revision."""

    model_config = ConfigDict(extra="forbid")

    revision: int = Field(ge=0, description="Increases with every change; an older revision changes nothing.")
    supplier: str = Field(min_length=1, max_length=128, description="Your own supplier id (your supplier record).")
    location: LocationCode = Field(description="Ship-to location (code or GLN).", examples=["DC-EAST"])
    status: PurchaseOrderStatus = "open"
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", examples=["USD"])
    sent_at: AwareDatetime | None = Field(
        default=None, description="When the PO went to the supplier (default: now); starts the acknowledgment window."
    )
    erp_reference: str | None = Field(default=None, max_length=128, description="Your internal id of the PO.")
    # No maximum here: more lines than allowed are answered with their own problem type, too-many-lines.
    lines: list[PurchaseOrderLineRequest] = Field(min_length=1)


class PurchaseOrderLineView(BaseModel):
    line: int
    sku: str
    ordered_quantity: int = Field(description="Eaches.")
    unit_price: Decimal | None = None
    requested_date: date
    need_date: date
    status: AckLineStatus | Literal["open"] = Field(description="open: not acknowledged yet.")
    confirmed_quantity: int | None = None
    promised_date: date | None = None
    confirmed_unit_price: Decimal | None = None
    schedule: list[ScheduledDelivery] = Field(default_factory=list)
    shipped_quantity: int = 0
    at_risk: bool = False
    risk: list[Literal["late", "short", "rejected"]] = Field(default_factory=list)
    days_late: int = 0
    shortfall: int = 0


class PurchaseOrderView(BaseModel):
    po_number: str
    revision: int
    status: PurchaseOrderStatus
    supplier_id: SupplierId
    supplier_reference: str
    location: str
    currency: str | None = None
    sent_at: AwareDatetime
    erp_reference: str | None = None
    version: int
    ack_due_at: AwareDatetime | None = None
    ack_overdue_at: AwareDatetime | None = None
    acknowledgment_id: str | None = None
    acknowledged_at: AwareDatetime | None = Field(default=None, description="`issued_at` of the last one applied.")
    lines: list[PurchaseOrderLineView]
    incoming: list[ExpectedLine] = Field(description="The PO's open supply, as inventory and the warehouse see it.")


class PurchaseOrderWritten(BaseModel):
    outcome: Literal["created", "changed", "unchanged", "superseded"]
    purchase_order: PurchaseOrderView
    event_ids: list[str] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------ acknowledgments
class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Quantity
    date: date


class AckLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: LineNumber
    status: AckLineStatus
    quantity: int | None = Field(default=None, ge=0, le=1_000_000_000, description="Confirmed quantity.")
    unit: Unit = EACH
    promised_date: date | None = None
    unit_price: Price | None = None
    schedule: list[ScheduleRequest] = Field(
        default_factory=list, max_length=50, description="Partial confirmations: deliveries of parts of the line."
    )


class AcknowledgmentRequest(BaseModel):
    """The supplier's answer to a PO, per line; lines not mentioned keep their state."""

    model_config = ConfigDict(extra="forbid")

    acknowledgment_id: DocumentId = Field(description="Your id of this acknowledgment; a duplicate changes nothing.")
    issued_at: AwareDatetime = Field(description="Orders acknowledgments: an older one never overwrites a newer one.")
    lines: list[AckLineRequest] = Field(min_length=1)


class AcknowledgmentResult(BaseModel):
    outcome: Literal["applied", "unchanged", "superseded"]
    po_number: str
    acknowledgment_id: str
    version: int = Field(description="The PO's version after it (superseded: the current one).")
    lines: list[AckLineOutcome] = Field(default_factory=list, description="The diff per line acknowledged.")
    event_ids: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------- ship notices
class ShipNoticeLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: LineNumber
    quantity: Quantity
    unit: Unit = EACH


class CartonLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: LineNumber
    quantity: Quantity = Field(description="In the unit of the notice's line.")


class CartonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sscc: str = Field(min_length=1, max_length=32, description="SSCC-18 with its GS1 check digit.")
    lines: list[CartonLineRequest] = Field(min_length=1)


class ShipNoticeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ship_notice_id: DocumentId
    shipped_at: AwareDatetime
    carrier: str = Field(min_length=1, max_length=64, examples=["UPS"])
    tracking_number: str | None = Field(default=None, max_length=64)
    eta: date = Field(description="Expected arrival at the ship-to location.")
    lines: list[ShipNoticeLineRequest] = Field(min_length=1)
    cartons: list[CartonRequest] = Field(default_factory=list, max_length=1000)


class ShipNoticeResult(BaseModel):
    outcome: Literal["applied", "unchanged"]
    ship_notice: ShipNotice
    version: int
    event_ids: list[str] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------ supplier invoices
class InvoiceLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: LineNumber = Field(description="The PO line invoiced.")
    sku: Sku | None = Field(default=None, description="As the supplier names it; checked against the PO line.")
    quantity: Quantity = Field(description="Invoiced, in `unit`.")
    unit: Unit = EACH
    unit_price: Price = Field(description="Price per `unit`.")


class SupplierInvoiceRequest(BaseModel):
    """A supplier's invoice against one PO (an 810, or the supplier portal), kept for three-way matching
    against what was ordered and what was received."""

    model_config = ConfigDict(extra="forbid")

    invoice_id: DocumentId = Field(examples=["INV-1001"])
    invoice_date: date
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", examples=["USD"])
    total: Price | None = Field(default=None, description="The invoice's stated total (checked against its lines).")
    terms: str | None = Field(default=None, max_length=256, description="Payment terms as written.")
    lines: list[InvoiceLineRequest] = Field(min_length=1, max_length=999)


# ----------------------------------------------------------------------------------------------- lead times
class LeadTimeRequest(BaseModel):
    """Orders updates by `sequence`; given only `effective_at`, its epoch milliseconds are the sequence."""

    model_config = ConfigDict(extra="forbid")

    lead_time_days: int = Field(ge=0, le=730)
    location: LocationCode | None = Field(default=None, description="One ship-to location; none: every location.")
    sequence: int | None = Field(default=None, ge=0)
    effective_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> LeadTimeRequest:
        if self.sequence is None and self.effective_at is None:
            raise ValueError("give 'sequence' or 'effective_at' (orders updates of the same lead time)")
        return self


class LeadTimeView(BaseModel):
    supplier_id: SupplierId
    sku: str
    location: str | None = None
    lead_time_days: int
    sequence: int
    effective_at: AwareDatetime
    updated_at: AwareDatetime
    updated_by: str


class LeadTimeWritten(BaseModel):
    outcome: Literal["created", "updated", "unchanged", "stale"]
    lead_time: LeadTimeView
    event_id: str | None = None
