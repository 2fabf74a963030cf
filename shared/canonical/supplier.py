"""Canonical supplier events: the golden record changed, two records merged, a lead time changed.

Events carry the golden record's public view (`SupplierView`): the bank account only masked, never in clear.
`origin_system` names the system whose record caused the change; outbound delivery never sends a change back
to it (no echo loops).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.canonical.envelope import EventData
from shared.canonical.inventory import LocationCode, Sku

SupplierId = Annotated[str, Field(pattern=r"^SUP-[0-9A-Z]{8,26}$", description="Golden supplier id.")]
SystemId = Annotated[str, Field(min_length=1, max_length=64, description="Partner id of a system.")]
SupplierStatus = Literal["active", "on_hold", "blocked", "inactive"]
LocalSupplierId = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=r"^[^#/\s][^#/]*$", description="The system's own supplier id."),
]


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


class BankAccount(BaseModel):
    """A bank account as a system sends it. Only ever held in memory: stored encrypted, shown masked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    iban: str | None = Field(default=None, min_length=15, max_length=34)
    account_number: str | None = Field(default=None, min_length=4, max_length=34)
    routing_number: str | None = Field(default=None, max_length=20, description="ABA routing number, sort code...")
    bic: str | None = Field(default=None, min_length=8, max_length=11)
    holder: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_number(self) -> BankAccount:
        if (self.iban is None) == (self.account_number is None):
            raise ValueError("give either an iban or an account_number")
        return self

    @property
    def number(self) -> str:
        """The account's identifying number without spaces (IBAN or account number)."""
        return "".join((self.iban or self.account_number or "").split()).upper()


class SupplierRecord(BaseModel):
    """One system's own record of a supplier (`POST /v1/supplier-records`); the system is the calling partner.

    `sequence` (or, without it, `updated_at`) orders the system's versions of the record: an older one than the
    system sent before changes nothing.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    local_id: LocalSupplierId = Field(examples=["V-1001"])
    sequence: int | None = Field(default=None, ge=0, description="The system's version of the record.")
    updated_at: datetime | None = Field(default=None, description="When the system last changed the record.")
    legal_name: str = Field(min_length=1, max_length=200, examples=["Acme Industrial Supply, Inc."])
    trading_name: str | None = Field(default=None, max_length=200)
    tax_id: str | None = Field(default=None, min_length=2, max_length=32, examples=["DE 123 456 789"])
    duns: str | None = Field(default=None, pattern=r"^\d{2}-?\d{3}-?\d{4}$", description="9 digits (dashes allowed).")
    address: Address | None = None
    remit_to: Address | None = None
    bank_account: BankAccount | None = None
    payment_terms: str | None = Field(default=None, max_length=64, examples=["NET30"])
    contacts: list[Contact] = Field(default_factory=list, max_length=50)
    status: SupplierStatus | None = None
    default_lead_time_days: int | None = Field(default=None, ge=0, le=730)
    ack_window_hours: int | None = Field(default=None, ge=1, le=720)

    @model_validator(mode="after")
    def _ordered(self) -> SupplierRecord:
        if self.sequence is None and self.updated_at is None:
            raise ValueError("give a sequence or an updated_at: they order the system's versions of the record")
        if self.updated_at is not None and self.updated_at.tzinfo is None:
            raise ValueError("updated_at must carry a time zone (e.g. 2026-01-31T10:00:00Z)")
        return self


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


class SourceRecordView(BaseModel):
    """One system's record of a golden supplier, as stored (bank account masked)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: SystemId
    kind: str = Field(description="The system's partner kind (ranks it in survivorship).")
    local_id: str
    sequence: int | None = None
    updated_at: datetime | None = None
    received_at: datetime
    legal_name: str
    trading_name: str | None = None
    tax_id: str | None = None
    duns: str | None = None
    address: Address | None = None
    remit_to: Address | None = None
    bank_account_masked: str | None = None
    payment_terms: str | None = None
    contacts: list[Contact] = Field(default_factory=list)
    status: SupplierStatus | None = None
    default_lead_time_days: int | None = None
    ack_window_hours: int | None = None
    wins: list[str] = Field(default_factory=list, description="Golden attributes whose value comes from this record.")


class SupplierDetail(BaseModel):
    """A golden supplier with its source records (`GET /v1/suppliers/{id}`, `distrosync suppliers show`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    supplier: SupplierView
    requested_id: SupplierId = Field(description="The id asked for; differs from supplier_id after a merge.")
    merged_ids: list[SupplierId] = Field(
        default_factory=list, description="The merged ids followed from requested_id to the survivor."
    )
    sources: list[SourceRecordView] = Field(default_factory=list)


class _SupplierEvent(EventData):
    """A golden record's change: its view after the change and the system that caused it."""

    schema_version = "1.0"

    supplier: SupplierView
    origin_system: SystemId

    def subject(self) -> str:
        return self.supplier.supplier_id


class SupplierCreated(_SupplierEvent):
    event_type = "supplier.created"


class SupplierUpdated(_SupplierEvent):
    """Survivorship changed at least one golden attribute (`changed` names them)."""

    event_type = "supplier.updated"

    changed: list[str] = Field(min_length=1)


class SupplierMerged(_SupplierEvent):
    """A steward (or an exact tax id / DUNS match) merged `merged_id` into `supplier.supplier_id`."""

    event_type = "supplier.merged"

    merged_id: SupplierId
    origin_system: SystemId = Field(description="The system or steward that caused the merge.")


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
