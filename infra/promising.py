"""Promising: the orders table (customer orders, demand per SKU, lead times, exceptions), the order and
exception routes on the ingress, and the promiser fed by supply, lead-time and order events.

bus (inventory.supply_changed, supplier.lead_time_updated, order.created) --> queue --> promiser
    --> orders table (promises, exceptions list) --> order.promise_date_changed
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.api import PartnerApi
from infra.flow import EventFlow
from infra.functions import ApiHandlers, ServiceFunction
from infra.platform import Platform
from infra.tables import OUTBOX_STREAM, data_table

ROUTES = (
    ("POST", "/v1/orders"),
    ("GET", "/v1/orders/{order_id}"),
    ("GET", "/v1/exceptions"),
)
PROMISER_EVENTS = ["inventory.supply_changed", "supplier.lead_time_updated", "order.created"]


class Promising(Construct):
    """Table `pk`/`sk`; routes on `ingress`; the promiser's flow."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        platform: Platform,
        api: PartnerApi,
        ingress: ApiHandlers,
        inventory_table: dynamodb.Table,
    ) -> None:
        super().__init__(scope, id)
        self.table = data_table(
            self,
            "Table",
            config=platform.config,
            key=platform.key,
            name="orders",
            partition_key="pk",
            sort_key="sk",
            stream=OUTBOX_STREAM,
        )
        ingress.add_environment("ORDERS_TABLE_NAME", self.table.table_name)
        ingress.grant_table(self.table, write=True)
        for method, path in ROUTES:
            api.add_route(method, path, ingress.function)

        self.promiser = ServiceFunction(
            self,
            "Promiser",
            name="promiser",
            description="Re-pegs customer demand against supply; publishes changed promise dates",
            platform=platform,
            environment={
                "ORDERS_TABLE_NAME": self.table.table_name,
                "INVENTORY_TABLE_NAME": inventory_table.table_name,
                "EVENT_BUS_NAME": platform.bus.event_bus_name,
            },
        )
        self.promiser.grant_table(self.table, write=True)
        self.promiser.grant_table(inventory_table)  # positions: available and incoming supply
        platform.bus.grant_put_events_to(self.promiser.function)
        self.flow = EventFlow(self, "Flow", platform=platform, event_types=PROMISER_EVENTS, handler=self.promiser)
