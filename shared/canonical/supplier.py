"""Canonical supplier events: the golden record changed, two records merged, a lead time changed.

Events carry the golden record's public view (`SupplierView`): the bank account only masked, never in clear.
`origin_system` names the system whose record caused the change; outbound delivery never sends a change back
to it (no echo loops).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.canonical.envelope import EventData
from shared.canonical.inventory import LocationCode, Sku

SupplierId = Annotated[str, Field(pattern=r"^SUP-[0-9A-Z]{8,26}$", description="Golden supplier id.")]
SystemId = Annotated[str, Field(min_length=1, max_length=64, description="Partner id of a system.")]
SupplierStatus = Literal["active", "on_hold", "blocked", "inactive"]


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2.")


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    role: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)


class SupplierView(BaseModel):
    """The golden record as other systems see it (bank account masked)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    supplier_id: SupplierId
    legal_name: str
    trading_name: str | None = None
    tax_id: str | None = None
    duns: str | None = None
    address: Address | None = None
    remit_to: Address | None = None
    bank_account_masked: str | None = Field(default=None, description="e.g. ****1234; never the number.")
    payment_terms: str | None = None
    contacts: list[Contact] = Field(default_factory=list)
    status: SupplierStatus = "active"
    default_lead_time_days: int | None = Field(default=None, ge=0)
    ack_window_hours: int = Field(default=48, ge=1)
    cross_references: dict[SystemId, str] = Field(
        default_factory=dict, description="system (partner id) -> its local supplier id."
    )
    version: int = Field(ge=1)


class SupplierCreated(EventData):
    event_type = "supplier.created"
    schema_version = "1.0"

    supplier: SupplierView
    origin_system: SystemId

    def subject(self) -> str:
        return self.supplier.supplier_id


class SupplierUpdated(EventData):
    """Survivorship changed at least one golden attribute (`changed` names them)."""

    event_type = "supplier.updated"
    schema_version = "1.0"

    supplier: SupplierView
    changed: list[str] = Field(min_length=1)
    origin_system: SystemId

    def subject(self) -> str:
        return self.supplier.supplier_id


class SupplierMerged(EventData):
    """A steward (or an exact tax id / DUNS match) merged `merged_id` into `supplier.supplier_id`."""

    event_type = "supplier.merged"
    schema_version = "1.0"

    supplier: SupplierView
    merged_id: SupplierId
    origin_system: SystemId = Field(description="The system or steward that caused the merge.")

    def subject(self) -> str:
        return self.supplier.supplier_id


class LeadTimeUpdated(EventData):
    """A supplier's lead time for an item (optionally for one ship-to location) changed."""

    event_type = "supplier.lead_time_updated"
    schema_version = "1.0"

    supplier_id: SupplierId
    sku: Sku
    location: LocationCode | None = Field(default=None, description="None: every ship-to location.")
    lead_time_days: int = Field(ge=0, le=730)
    previous_lead_time_days: int | None = Field(default=None, ge=0)
    effective_at: datetime
    sequence: int = Field(ge=0, description="Orders updates of the same (supplier, sku, location).")

    def subject(self) -> str:
        return f"{self.supplier_id}/{self.sku}"


EVENTS: tuple[type[EventData], ...] = (SupplierCreated, SupplierUpdated, SupplierMerged, LeadTimeUpdated)
