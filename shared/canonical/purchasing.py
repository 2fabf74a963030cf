"""Canonical purchasing events: purchase orders, supplier acknowledgments, ship notices, risk for planning.

Quantities are in eaches. A PO line is `<po>/<line>` wherever it appears as incoming supply.
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


EVENTS: tuple[type[EventData], ...] = (PurchaseOrderAcknowledged, InboundExpectationChanged, ReplenishmentRiskChanged)
