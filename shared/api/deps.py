"""What the API routes need, built once per process from settings (no AWS calls until first use)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.api.gate import GatePolicy
from shared.aws.inventory_store import InventoryStore
from shared.aws.partners import PartnerRepository, SigningSecrets
from shared.services.inventory_ingest import AdjustmentIntake
from shared.settings import IngressSettings


@dataclass(frozen=True)
class Deps:
    partners: PartnerRepository
    secrets: SigningSecrets
    policy: GatePolicy
    intake: AdjustmentIntake
    store: InventoryStore

    @classmethod
    def from_settings(cls, settings: IngressSettings) -> Deps:
        return cls(
            partners=PartnerRepository(settings.partners_table),
            secrets=SigningSecrets(),
            policy=GatePolicy(settings.max_body_bytes, settings.signature_max_skew_seconds),
            intake=AdjustmentIntake(idempotency_table=settings.idempotency_table, bus_name=settings.event_bus_name),
            store=InventoryStore(settings.inventory_table),
        )
