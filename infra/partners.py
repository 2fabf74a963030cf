"""Partners: who may call the API. Items are written by the `distrosync` CLI, read by ingress."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvConfig
from infra.tables import S, data_table

BY_API_KEY_INDEX = "by-api-key"


class PartnersTable(Construct):
    """Partition key `partner_id`; GSI `by-api-key` on `api_key_id` (projection ALL)."""

    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, key: kms.IKey) -> None:
        super().__init__(scope, id)
        self.table = data_table(self, "Table", config=config, key=key, name="partners", partition_key="partner_id")
        self.table.add_global_secondary_index(
            index_name=BY_API_KEY_INDEX,
            partition_key=dynamodb.Attribute(name="api_key_id", type=S),
            projection_type=dynamodb.ProjectionType.ALL,
        )
