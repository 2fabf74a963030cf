"""Purchasing: the purchasing table (purchase orders, acknowledgments, ship notices, lead times), its API routes
on the ingress, and the scheduled overdue-acknowledgment sweep (docs/supplier-collaboration.md)."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.api import PartnerApi
from infra.functions import ServiceFunction
from infra.platform import Platform
from infra.tables import data_table


class Purchasing(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        platform: Platform,
        api: PartnerApi,
        ingress: ServiceFunction,
        suppliers_table: dynamodb.Table,
    ) -> None:
        super().__init__(scope, id)
        self.table = data_table(
            self,
            "Table",
            config=platform.config,
            key=platform.key,
            name="purchasing",
            partition_key="pk",
            sort_key="sk",
        )
        ingress.add_environment("PURCHASING_TABLE_NAME", self.table.table_name)
        ingress.grant_table(self.table, write=True)
