"""Reservations: their table (with the sparse expiry index), API routes, and the expiry sweeper on a schedule.

schedule (default bus, every minute) --> reservation_expiry --(retries exhausted)--> DLQ (alarm)
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.api import PartnerApi
from infra.functions import ApiHandlers, ServiceFunction
from infra.platform import Platform
from infra.schedule import ScheduledSweep
from infra.tables import data_table
from shared.aws.reservation_store import EXPIRY_INDEX, EXPIRY_INDEX_ATTRIBUTES

ROUTES = (
    ("POST", "/v1/reservations"),
    ("GET", "/v1/reservations/{reference}"),
    ("POST", "/v1/reservations/{reference}/release"),
    ("POST", "/v1/reservations/{reference}/commit"),
)
SWEEP_EVERY = cdk.Duration.minutes(1)
SWEEP_RETRY_ATTEMPTS = 2
# A sweep that could not run within this time is dropped (to the DLQ): the next one, a minute later, does its work.
SWEEP_MAX_EVENT_AGE = cdk.Duration.minutes(5)


class Reservations(Construct):
    """Table `reservation_id` with GSI `by-expiry` (`expiry_shard` / `expires_at`); routes on `ingress`."""

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
        config, key, observability = platform.config, platform.key, platform.observability
        self.table = data_table(
            self, "Table", config=config, key=key, name="reservations", partition_key="reservation_id"
        )
        self.table.add_global_secondary_index(
            index_name=EXPIRY_INDEX,
            partition_key=dynamodb.Attribute(name="expiry_shard", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="expires_at", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=list(EXPIRY_INDEX_ATTRIBUTES),
        )

        ingress.add_environment("RESERVATIONS_TABLE_NAME", self.table.table_name)
        ingress.grant_table(self.table, write=True)
        ingress.grant_table(inventory_table, write=True)  # the arithmetic on committed / reserved / available
        for method, path in ROUTES:
            api.add_route(method, path, ingress.function)

        self.expiry = ServiceFunction(
            self,
            "Expiry",
            name="reservation_expiry",
            description="Expires held reservations whose time is up, every minute",
            platform=platform,
            environment={
                "RESERVATIONS_TABLE_NAME": self.table.table_name,
                "INVENTORY_TABLE_NAME": inventory_table.table_name,
                "EVENT_BUS_NAME": platform.bus.event_bus_name,
            },
        )
        self.expiry.grant_table(self.table, write=True)
        self.expiry.grant_table(inventory_table, write=True)
        platform.bus.grant_put_events_to(self.expiry.function)

        self.sweep = ScheduledSweep(
            self,
            "Sweep",
            platform=platform,
            function=self.expiry,
            every=SWEEP_EVERY,
            description="Every minute: expire held reservations whose time is up",
            max_event_age=SWEEP_MAX_EVENT_AGE,
            retry_attempts=SWEEP_RETRY_ATTEMPTS,
            alarm_description="scheduled sweeps failed; holds may not expire",
        )
        period = observability.period
        observability.add_row(
            "Reservations",
            observability.graph(
                "Expiry sweeper errors / duration p90",
                self.expiry.function.metric_errors(period=period, statistic="Sum"),
                right=[self.expiry.function.metric_duration(period=period, statistic="p90")],
            ),
            observability.graph("Expiry schedule DLQ", self.sweep.dlq_depth),
            observability.graph(
                "Reservations table throttled requests",
                self.table.metric_throttled_requests_for_operations(
                    operations=[dynamodb.Operation.TRANSACT_WRITE_ITEMS], period=period, statistic="Sum"
                ),
            ),
        )
