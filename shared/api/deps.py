"""What the API routes need, built once per process from settings (no AWS calls until first use)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shared.api.gate import GatePolicy
from shared.aws.inventory_store import InventoryStore
from shared.aws.master_store import MasterStore
from shared.aws.partners import PartnerRepository, SigningSecrets
from shared.services.inventory_ingest import Intake
from shared.services.master_data import MasterData
from shared.settings import IngressSettings

T = TypeVar("T")


@dataclass(frozen=True)
class Deps:
    settings: IngressSettings
    partners: PartnerRepository
    secrets: SigningSecrets
    policy: GatePolicy
    intake: Intake
    store: InventoryStore
    master: MasterData
    _services: dict[Callable[..., Any], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: IngressSettings) -> Deps:
        return cls(
            settings=settings,
            partners=PartnerRepository(settings.partners_table),
            secrets=SigningSecrets(),
            policy=GatePolicy(settings.max_body_bytes, settings.signature_max_skew_seconds),
            intake=Intake(idempotency_table=settings.idempotency_table, bus_name=settings.event_bus_name),
            store=InventoryStore(settings.inventory_table),
            master=MasterData(MasterStore(settings.inventory_table), bus_name=settings.event_bus_name),
        )

    def service(self, factory: Callable[[Deps], T]) -> T:
        """The service `factory(deps)` builds, created on first use and kept for the life of the process
        (route modules own their services; importing them stays cheap)."""
        if factory not in self._services:
            self._services[factory] = factory(self)
        return self._services[factory]
