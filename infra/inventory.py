"""Inventory domain: positions table, API routes, and the projector fed by `inventory.adjusted`."""

from __future__ import annotations

from constructs import Construct

from infra.api import PartnerApi
from infra.flow import EventFlow
from infra.functions import ServiceFunction
from infra.platform import Platform
from infra.tables import data_table


class Inventory(Construct):
    """Table `pk`/`sk` (`SKU#<sku>` / `LOC#<location>`); routes on `ingress`; projector flow."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        platform: Platform,
        api: PartnerApi,
        ingress: ServiceFunction,
    ) -> None:
        super().__init__(scope, id)
        self.table = data_table(
            self, "Table", config=platform.config, key=platform.key, name="inventory", partition_key="pk", sort_key="sk"
        )

        ingress.add_environment("INVENTORY_TABLE_NAME", self.table.table_name)
        ingress.grant_table(self.table)
        api.add_route("POST", "/v1/inventory/adjustments", ingress.function)
        api.add_route("GET", "/v1/inventory/{sku}", ingress.function)

        self.projector = ServiceFunction(
            self,
            "Projector",
            name="projector",
            description="Projects inventory.adjusted events onto inventory positions",
            platform=platform,
            environment={"INVENTORY_TABLE_NAME": self.table.table_name},
        )
        self.projector.grant_table(self.table, write=True)
        self.adjusted_flow = EventFlow(
            self,
            "AdjustedFlow",
            platform=platform,
            event_types=["inventory.adjusted"],
            handler=self.projector,
        )
