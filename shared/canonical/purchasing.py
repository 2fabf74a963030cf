"""Canonical purchasing events: purchase orders, supplier acknowledgments, ship notices, supplier invoices, risk
for planning.

Quantities are in eaches (and an invoice's prices per each). A PO line is `<po>/<line>` wherever it appears as
incoming supply (`<po>/<line>#<n>` for the n-th delivery of a split schedule, `<po>/<line>/<ship notice id>` once
shipped).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.canonical.envelope import EventData
from shared.canonical.inventory import IncomingKind, LocationCode, Sku
from shared.canonical.supplier import SupplierId

PoNumber = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]
LineNumber = Annotated[int, Field(ge=1, le=9999)]
DocumentId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]
AckLineStatus = Literal["accepted", "changed", "rejected", "backordered"]
PurchaseOrderStatus = Literal["open", "cancelled", "closed"]
Sscc = Annotated[str, Field(pattern=r"^\d{18}$", description="GS1 SSCC-18 (the check digit is verified).")]


class PurchaseOrderLine(BaseModel):
    """One line as the ERP ordered it (quantity in eaches)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line: LineNumber
    sku: Sku
    quantity: int = Field(gt=0, description="Ordered, in eaches.")
    unit_price: Decimal | None = Field(default=None, ge=0)
    requested_date: date = Field(description="When the ERP asked the supplier to deliver.")
    need_date: date | None = Field(default=None, description="When the goods are needed; None: the requested date.")


class PurchaseOrder(BaseModel):
    """The ERP's purchase order in one revision: supplier (golden id and the ERP's own id), ship-to, lines."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    po_number: PoNumber
    revision: int = Field(ge=0, description="The ERP's revision; an older one never overwrites a newer one.")
    status: PurchaseOrderStatus = "open"
    supplier_id: SupplierId
    supplier_reference: str = Field(min_length=1, max_length=128, description="The ERP's own supplier id.")
    location: LocationCode = Field(description="Ship-to location.")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    sent_at: datetime = Field(description="When the PO was sent to the supplier (starts the acknowledgment window).")
    erp_reference: str | None = Field(default=None, max_length=128, description="The ERP's own id of the PO.")
    lines: list[PurchaseOrderLine] = Field(min_length=1)


class PurchaseOrderCreated(EventData):
    """The ERP sent a new purchase order; it awaits the supplier's acknowledgment until `ack_due_at`."""

    event_type = "purchase_order.created"
    schema_version = "1.0"

    purchase_order: PurchaseOrder
    version: int = Field(ge=1, description="PO state version.")
    ack_due_at: datetime | None = None

    def subject(self) -> str:
        return self.purchase_order.po_number


class PurchaseOrderChanged(EventData):
    """The ERP sent a newer revision of a purchase order (lines, dates, status)."""

    event_type = "purchase_order.changed"
    schema_version = "1.0"

    purchase_order: PurchaseOrder
    version: int = Field(ge=1, description="PO state version.")
    previous_revision: int = Field(ge=0)
    changed_lines: list[LineNumber] = Field(default_factory=list, description="Lines added, changed or removed.")

    def subject(self) -> str:
        return self.purchase_order.po_number


class ScheduledDelivery(BaseModel):
    """One delivery of a line the supplier confirmed in parts (a split schedule)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reference: str = Field(description="Incoming reference: <po>/<line>#<n>.")
    quantity: int = Field(gt=0, description="In eaches.")
    date: date


class AckLineOutcome(BaseModel):
    """One PO line after an acknowledgment, with what it was before (the diff)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line: LineNumber
    sku: Sku
    location: LocationCode
    status: AckLineStatus
    ordered_quantity: int = Field(ge=0)
    confirmed_quantity: int = Field(ge=0)
    previous_confirmed_quantity: int | None = Field(default=None, ge=0)
    promised_date: date | None = None
    previous_promised_date: date | None = None
    unit_price: Decimal | None = None
    previous_unit_price: Decimal | None = None
    need_date: date | None = None
    changed: list[str] = Field(default_factory=list, description="quantity, date, price, status")
    previous_status: AckLineStatus | Literal["open"] | None = Field(
        default=None, description="The line's status before (open: not acknowledged yet)."
    )
    schedule: list[ScheduledDelivery] = Field(
        default_factory=list, description="The confirmed deliveries when the supplier split the line."
    )


class PurchaseOrderAcknowledged(EventData):
    event_type = "purchase_order.acknowledged"
    schema_version = "1.0"

    po_number: PoNumber
    supplier_id: SupplierId
    acknowledgment_id: DocumentId
    issued_at: datetime
    version: int = Field(ge=1, description="PO state version after this acknowledgment.")
    erp_reference: str | None = Field(default=None, description="The ERP's own id of the PO, when it differs.")
    lines: list[AckLineOutcome] = Field(min_length=1)
    supplier_reference: str | None = Field(default=None, description="The ERP's own id of the supplier.")
    location: LocationCode | None = Field(default=None, description="Ship-to location of the PO.")

    def subject(self) -> str:
        return self.po_number


class ExpectedLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line: LineNumber
    sku: Sku
    reference: str = Field(description="Incoming reference: <po>/<line> or <po>/<line>/<ship notice>.")
    kind: IncomingKind
    quantity: int = Field(ge=0)
    expected_date: date | None = None
    ship_notice_id: DocumentId | None = None


class InboundExpectationChanged(EventData):
    """What the receiving warehouse should now expect from a PO (its whole open view, not a delta)."""

    event_type = "inbound.expectation_changed"
    schema_version = "1.0"

    po_number: PoNumber
    supplier_id: SupplierId
    location: LocationCode
    version: int = Field(ge=1)
    lines: list[ExpectedLine]

    def subject(self) -> str:
        return f"{self.po_number}@{self.location}"


class ReplenishmentRiskChanged(EventData):
    """A PO line's risk for planning changed: promised after its need date, or short of the ordered quantity."""

    event_type = "replenishment.risk_changed"
    schema_version = "1.0"

    po_number: PoNumber
    line: LineNumber
    sku: Sku
    location: LocationCode
    supplier_id: SupplierId
    at_risk: bool
    reasons: list[Literal["late", "short", "rejected"]] = Field(default_factory=list)
    need_date: date | None = None
    promised_date: date | None = None
    days_late: int = Field(default=0, ge=0)
    shortfall: int = Field(default=0, ge=0)

    def subject(self) -> str:
        return f"{self.po_number}/{self.line}"


class ShipNoticeLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line: LineNumber
    sku: Sku
    quantity: int = Field(gt=0, description="Shipped, in eaches.")
    reference: str = Field(description="Incoming reference of the shipped quantity: <po>/<line>/<ship notice id>.")


class CartonLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line: LineNumber
    quantity: int = Field(gt=0, description="In eaches.")


class Carton(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sscc: Sscc
    lines: list[CartonLine] = Field(min_length=1)


class ShipNotice(BaseModel):
    """An advance ship notice against one PO: what left the supplier, in which cartons, arriving when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ship_notice_id: DocumentId
    po_number: PoNumber
    supplier_id: SupplierId
    location: LocationCode
    shipped_at: datetime
    carrier: str = Field(min_length=1, max_length=64)
    tracking_number: str | None = Field(default=None, max_length=64)
    eta: date
    lines: list[ShipNoticeLine] = Field(min_length=1)
    cartons: list[Carton] = Field(default_factory=list)


class ShipNoticeReceived(EventData):
    """A supplier's ship notice was accepted: its lines are in transit to the ship-to location."""

    event_type = "ship_notice.received"
    schema_version = "1.0"

    ship_notice: ShipNotice
    version: int = Field(ge=1, description="PO state version after this ship notice.")
    erp_reference: str | None = None

    def subject(self) -> str:
        return f"{self.ship_notice.po_number}/{self.ship_notice.ship_notice_id}"


class PurchaseOrderAckOverdue(EventData):
    """A PO sent to a supplier was not acknowledged within the supplier's window (published once per PO)."""

    event_type = "purchase_order.ack_overdue"
    schema_version = "1.0"

    po_number: PoNumber
    supplier_id: SupplierId
    location: LocationCode
    sent_at: datetime
    ack_due_at: datetime
    ack_window_hours: int = Field(ge=1)
    erp_reference: str | None = None

    def subject(self) -> str:
        return self.po_number


InvoiceLineIssue = Literal["unknown_line", "sku_mismatch", "over_ordered", "over_received", "price_variance"]
InvoiceIssue = Literal["total_mismatch", "currency_mismatch", "po_cancelled"]
InvoiceMatchStatus = Literal["matched", "exceptions"]


class InvoiceLineMatch(BaseModel):
    """One invoice line against its PO line and what was received (docs/supplier-collaboration.md, "Invoices")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: InvoiceMatchStatus
    issues: list[InvoiceLineIssue] = Field(default_factory=list)
    po_sku: Sku | None = Field(default=None, description="The PO line's SKU (None: the PO has no such line).")
    ordered_quantity: int | None = Field(default=None, ge=0, description="Ordered on the PO line, in eaches.")
    received_quantity: int | None = Field(
        default=None, ge=0, description="Received against the PO line when the invoice arrived, in eaches."
    )
    invoiced_quantity: int = Field(
        ge=0, description="Invoiced on the PO line over every invoice of the PO up to this line included, in eaches."
    )
    po_unit_price: Decimal | None = Field(default=None, description="The PO's price per each (None: not priced).")
    price_variance: Decimal | None = Field(default=None, description="Invoiced minus PO price, per each.")


class SupplierInvoiceLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line: LineNumber = Field(description="The PO line invoiced.")
    sku: Sku | None = Field(default=None, description="The item as the supplier named it (None: not named).")
    quantity: int = Field(gt=0, description="Invoiced, in eaches.")
    unit_price: Decimal = Field(ge=0, description="Per each, to 6 decimal places.")
    amount: Decimal = Field(ge=0, description="Quantity times unit price as invoiced (in the invoice's unit).")
    match: InvoiceLineMatch


class InvoiceMatch(BaseModel):
    """The three-way match of the whole invoice, as of its arrival."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: InvoiceMatchStatus
    issues: list[InvoiceIssue] = Field(default_factory=list, description="Issues of the invoice as a whole.")
    lines_total: Decimal = Field(description="The sum of the lines' amounts.")
    exception_lines: int = Field(ge=0, description="How many lines have an issue.")


class SupplierInvoice(BaseModel):
    """A supplier's invoice against one PO (an 810, or the supplier portal), kept for three-way matching."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    invoice_id: DocumentId
    po_number: PoNumber
    supplier_id: SupplierId
    location: LocationCode = Field(description="The PO's ship-to location.")
    invoice_date: date
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    terms: str | None = Field(default=None, max_length=256)
    total: Decimal | None = Field(default=None, description="The total the invoice states.")
    lines: list[SupplierInvoiceLine] = Field(min_length=1)
    match: InvoiceMatch


class SupplierInvoiceReceived(EventData):
    """A supplier's invoice was received against a PO, with its three-way match (`matched` or `exceptions`)."""

    event_type = "supplier_invoice.received"
    schema_version = "1.0"

    invoice: SupplierInvoice
    erp_reference: str | None = Field(default=None, description="The ERP's own id of the PO.")
    supplier_reference: str | None = Field(default=None, description="The ERP's own id of the supplier.")

    def subject(self) -> str:
        return f"{self.invoice.po_number}/{self.invoice.invoice_id}"


EVENTS: tuple[type[EventData], ...] = (
    PurchaseOrderAcknowledged,
    InboundExpectationChanged,
    ReplenishmentRiskChanged,
    PurchaseOrderCreated,
    PurchaseOrderChanged,
    ShipNoticeReceived,
    PurchaseOrderAckOverdue,
    SupplierInvoiceReceived,
)
