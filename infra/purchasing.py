"""Purchasing: the purchasing table (purchase orders, acknowledgments, ship notices, lead times) with its sparse
acknowledgment-due index, its API routes on the ingress, and the scheduled overdue-acknowledgment sweep
(docs/supplier-collaboration.md).

schedule (default bus, every 15 minutes) --> ack_overdue --(retries exhausted)--> DLQ (alarm)
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.api import PartnerApi
from infra.functions import ApiHandlers, ServiceFunction
from infra.platform import Platform
from infra.schedule import ScheduledSweep, grant_due_index_sweeper
from infra.tables import OUTBOX_STREAM, data_table
from shared.aws.purchasing_store import ACK_DUE_INDEX, ACK_DUE_INDEX_ATTRIBUTES

ROUTES = (
    ("PUT", "/v1/purchase-orders/{po_number}"),
    ("GET", "/v1/purchase-orders/{po_number}"),
    ("POST", "/v1/purchase-orders/{po_number}/acknowledgments"),
    ("POST", "/v1/purchase-orders/{po_number}/ship-notices"),
    ("POST", "/v1/purchase-orders/{po_number}/invoices"),
    ("PUT", "/v1/suppliers/{supplier_id}/items/{sku}/lead-time"),
    ("GET", "/v1/suppliers/{supplier_id}/items/{sku}/lead-time"),
)
SWEEP_EVERY = cdk.Duration.minutes(15)
SWEEP_RETRY_ATTEMPTS = 2
# A sweep that could not run within this time is dropped (to the DLQ): the next one does its work.
SWEEP_MAX_EVENT_AGE = cdk.Duration.minutes(30)


class Purchasing(Construct):
    """Table `pk`/`sk` with GSI `by-ack-due` (`ack_queue` / `ack_due_at`); routes on `ingress`; `ack_overdue`."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        platform: Platform,
        api: PartnerApi,
        ingress: ApiHandlers,
        suppliers_table: dynamodb.Table,
    ) -> None:
        super().__init__(scope, id)
        config, key, observability = platform.config, platform.key, platform.observability
        self.table = data_table(
            self,
            "Table",
            config=config,
            key=key,
            name="purchasing",
            partition_key="pk",
            sort_key="sk",
            stream=OUTBOX_STREAM,
        )
        self.table.add_global_secondary_index(
            index_name=ACK_DUE_INDEX,
            partition_key=dynamodb.Attribute(name="ack_queue", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="ack_due_at", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=list(ACK_DUE_INDEX_ATTRIBUTES),
        )
        ingress.add_environment("PURCHASING_TABLE_NAME", self.table.table_name)
        ingress.grant_table(self.table, write=True)
        for method, path in ROUTES:
            api.add_route(method, path, ingress.function)

        self.ack_overdue = ServiceFunction(
            self,
            "AckOverdue",
            name="ack_overdue",
            description="Raises purchase_order.ack_overdue for POs not acknowledged in time, every 15 minutes",
            platform=platform,
            environment={
                "PURCHASING_TABLE_NAME": self.table.table_name,
                "EVENT_BUS_NAME": platform.bus.event_bus_name,
            },
        )
        # It queries the index and updates POs, nothing else: no read-write grant on the whole table, and the
        # data key's actions DynamoDB needs for that table without CDK's wildcards (GenerateDataKey*, ReEncrypt*).
        grant_due_index_sweeper(self.ack_overdue, self.table, platform, index="acknowledgment-due")

        self.sweep = ScheduledSweep(
            self,
            "Sweep",
            platform=platform,
            function=self.ack_overdue,
            every=SWEEP_EVERY,
            description="Every 15 minutes: raise purchase_order.ack_overdue for POs not acknowledged in time",
            max_event_age=SWEEP_MAX_EVENT_AGE,
            retry_attempts=SWEEP_RETRY_ATTEMPTS,
            alarm_description="scheduled sweeps failed; overdue POs may go unreported",
        )
        period = observability.period
        observability.add_row(
            "Purchasing",
            observability.graph(
                "Overdue sweeper errors / duration p90",
                self.ack_overdue.function.metric_errors(period=period, statistic="Sum"),
                right=[self.ack_overdue.function.metric_duration(period=period, statistic="p90")],
            ),
            observability.graph("Overdue schedule DLQ", self.sweep.dlq_depth),
            observability.graph(
                "Purchasing table throttled requests",
                self.table.metric_throttled_requests_for_operations(
                    operations=[dynamodb.Operation.TRANSACT_WRITE_ITEMS, dynamodb.Operation.PUT_ITEM],
                    period=period,
                    statistic="Sum",
                ),
            ),
        )
