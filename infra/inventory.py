"""Inventory domain: the inventory table (positions, item and location master, channel figures), its API
routes, and the projector fed by every event that changes a position or a channel's sellable figure."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.api import PartnerApi
from infra.flow import EventFlow
from infra.functions import ApiHandlers, ServiceFunction
from infra.platform import Platform
from infra.tables import data_table

ROUTES = (
    ("POST", "/v1/inventory/adjustments"),
    ("POST", "/v1/inventory/snapshots"),
    ("POST", "/v1/inventory/receipts"),
    ("POST", "/v1/inventory/incoming"),
    ("POST", "/v1/inventory/query"),
    ("GET", "/v1/inventory/{sku}"),
    ("GET", "/v1/inventory/{sku}/atp"),
    ("PUT", "/v1/items/{sku}"),
    ("GET", "/v1/items/{sku}"),
    ("PUT", "/v1/locations/{code}"),
    ("GET", "/v1/locations/{code}"),
)
# Everything that moves stock or changes what a channel may sell (location.updated changes neither).
PROJECTED_EVENTS = [
    "inventory.adjusted",
    "inventory.snapshot_received",
    "receipt.posted",
    "inventory.incoming_updated",
    "item.updated",
    "channel.inventory_reported",
    "reservation.created",
    "reservation.released",
    "reservation.committed",
    "reservation.expired",
]


class Inventory(Construct):
    """Table `pk`/`sk` (`SKU#<sku>` / `LOC#<location>`); routes on `ingress`; projector flow."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        platform: Platform,
        api: PartnerApi,
        ingress: ApiHandlers,
        partners: dynamodb.Table,
    ) -> None:
        super().__init__(scope, id)
        self.table = data_table(
            self, "Table", config=platform.config, key=platform.key, name="inventory", partition_key="pk", sort_key="sk"
        )

        ingress.add_environment("INVENTORY_TABLE_NAME", self.table.table_name)
        # Master data (items, locations, cross-references) is written by the ingress, in one transaction.
        ingress.grant_table(self.table, write=True)
        for method, path in ROUTES:
            api.add_route(method, path, ingress.function)

        self.projector = ServiceFunction(
            self,
            "Projector",
            name="projector",
            description="Projects inventory events onto positions; refreshes channel availability",
            platform=platform,
            environment={
                "INVENTORY_TABLE_NAME": self.table.table_name,
                "PARTNERS_TABLE_NAME": partners.table_name,
                "EVENT_BUS_NAME": platform.bus.event_bus_name,
            },
        )
        self.projector.grant_table(self.table, write=True)
        self.projector.grant_table(partners)  # channel settings
        platform.bus.grant_put_events_to(self.projector.function)
        self.adjusted_flow = EventFlow(
            self,
            "AdjustedFlow",
            platform=platform,
            event_types=PROJECTED_EVENTS,
            handler=self.projector,
        )
