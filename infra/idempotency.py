"""Idempotency records of API requests, in the layout of Powertools' DynamoDBPersistenceLayer."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvConfig
from infra.tables import data_table


class IdempotencyTable(Construct):
    """Partition key `id`; items expire through the TTL attribute `expiration`."""

    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, key: kms.IKey) -> None:
        super().__init__(scope, id)
        self.table = data_table(
            self, "Table", config=config, key=key, name="idempotency", partition_key="id", ttl_attribute="expiration"
        )
