"""`DistrosyncStack`: composes the constructs and publishes the contract's outputs (docs/contracts.md)."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from infra.api import PartnerApi
from infra.bus import EventBus
from infra.channels import Channels
from infra.config import EnvConfig
from infra.edi import Edi
from infra.fulfillment import STATE_MACHINE_OUTPUT, OrderFlow
from infra.functions import ARCHITECTURE, RUNTIME
from infra.idempotency import IdempotencyTable
from infra.ingress import Ingress
from infra.inventory import Inventory
from infra.journal import Journal
from infra.layers import Layers
from infra.observability import Observability
from infra.outbound import Outbound
from infra.outbox import ClaimCheck, OutboxPublisher
from infra.partners import PartnersTable
from infra.platform import Platform
from infra.promising import Promising
from infra.purchasing import Purchasing
from infra.reservations import Reservations
from infra.security import DataKey
from infra.suppliers import Suppliers


class DistrosyncStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, **kwargs) -> None:
        super().__init__(
            scope,
            id,
            stack_name=config.stack_name,
            env=cdk.Environment(account=config.account, region=config.region),
            termination_protection=config.retain_data,
            description=f"distrosync integration hub ({config.name})",
            **kwargs,
        )
        self.config = config
        cdk.Tags.of(self).add("project", "distrosync")
        cdk.Tags.of(self).add("environment", config.name)

        key = DataKey(self, "DataKey", config=config).key
        self.key = key
        self.observability = Observability(self, "Observability", config=config, key=key)
        self.layers = Layers(self, "Layers", prefix=config.prefix, runtime=RUNTIME, architecture=ARCHITECTURE)
        self.bus = EventBus(self, "Events", config=config)
        self.partners = PartnersTable(self, "Partners", config=config, key=key)
        self.idempotency = IdempotencyTable(self, "Idempotency", config=config, key=key)

        self.claim_check = ClaimCheck(self, "ClaimCheck", config=config, key=key)
        platform = Platform(config, key, self.layers, self.observability, self.bus.bus, claim_check=self.claim_check)
        self.api = PartnerApi(self, "Api", config=config, key=key, observability=self.observability)
        # The EDI gateway comes first: its edi_inbound is the ingress's twin (ApiHandlers), so every construct below
        # gives it what it gives the ingress.
        self.edi = Edi(self, "Edi", platform=platform, partners=self.partners.table)
        self.ingress = Ingress(
            self,
            "Ingress",
            platform=platform,
            partners=self.partners.table,
            idempotency=self.idempotency.table,
            twins=[self.edi.inbound],
        )
        handlers = self.ingress.handlers
        self.edi.serve(self.api, handlers)
        self.inventory = Inventory(
            self,
            "Inventory",
            platform=platform,
            api=self.api,
            ingress=handlers,
            partners=self.partners.table,
        )
        self.reservations = Reservations(
            self,
            "Reservations",
            platform=platform,
            api=self.api,
            ingress=handlers,
            inventory_table=self.inventory.table,
        )
        self.channels = Channels(
            self,
            "Channels",
            platform=platform,
            api=self.api,
            ingress=handlers,
            inventory_table=self.inventory.table,
        )
        self.suppliers = Suppliers(self, "Suppliers", platform=platform, api=self.api, ingress=handlers)
        self.purchasing = Purchasing(
            self,
            "Purchasing",
            platform=platform,
            api=self.api,
            ingress=handlers,
            suppliers_table=self.suppliers.table,
        )
        self.promising = Promising(
            self,
            "Promising",
            platform=platform,
            api=self.api,
            ingress=handlers,
            inventory_table=self.inventory.table,
        )
        self.order_flow = OrderFlow(
            self,
            "OrderFlow",
            platform=platform,
            api=self.api,
            ingress=handlers,
            orders_table=self.promising.table,
            reservations_table=self.reservations.table,
            inventory_table=self.inventory.table,
            partners_table=self.partners.table,
            idempotency_table=self.idempotency.table,
        )
        self.outbound = Outbound(
            self, "Outbound", platform=platform, partners=self.partners.table, idempotency=self.idempotency.table
        )
        # The tables whose writers keep their changes' events on the record (ADR 0013).
        self.outbox = OutboxPublisher(
            self,
            "Outbox",
            platform=platform,
            tables=[self.purchasing.table, self.suppliers.table, self.promising.table],
        )
        self.journal = Journal(self, "Journal", platform=platform)
        self.observability.add_row(
            "Ingress",
            self.observability.graph(
                "ingress errors / duration p90",
                self.ingress.handler.function.metric_errors(period=self.observability.period, statistic="Sum"),
                right=[
                    self.ingress.handler.function.metric_duration(period=self.observability.period, statistic="p90")
                ],
                width=12,
            ),
            self.observability.graph(
                "ingress throttles",
                self.ingress.handler.function.metric_throttles(period=self.observability.period, statistic="Sum"),
                width=12,
            ),
        )
        self._outputs()

    def _outputs(self) -> None:
        outputs = {
            "ApiUrl": self.api.url,
            "EventBusName": self.bus.bus_name,
            "EventArchiveName": self.bus.archive.archive_name,
            "JournalTableName": self.journal.table.table_name,
            "PartnersTableName": self.partners.table.table_name,
            "IdempotencyTableName": self.idempotency.table.table_name,
            "InventoryTableName": self.inventory.table.table_name,
            "ReservationsTableName": self.reservations.table.table_name,
            "SuppliersTableName": self.suppliers.table.table_name,
            "PurchasingTableName": self.purchasing.table.table_name,
            "OrdersTableName": self.promising.table.table_name,
            "EdiBucketName": self.edi.bucket.bucket_name,
            "EdiTableName": self.edi.table.table_name,
            "ClaimCheckBucketName": self.claim_check.bucket_name,
            STATE_MACHINE_OUTPUT: self.order_flow.state_machine.state_machine_arn,
            "SystemSecretsPrefix": self.config.system_secrets_prefix,
            "PartnerSecretsPrefix": self.config.partner_secrets_prefix,
            "DataKeyArn": self.key.key_arn,
            "AlarmTopicArn": self.observability.topic.topic_arn,
        }
        if self.edi.sftp is not None:
            outputs["EdiSftpServerId"] = self.edi.sftp.server_id
            outputs["EdiSftpUserRoleArn"] = self.edi.sftp.user_role.role_arn
        for tier, plan in self.api.usage_plans.items():
            outputs[f"UsagePlanId{tier.capitalize()}"] = plan.usage_plan_id
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)
