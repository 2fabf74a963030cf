"""How every distrosync DynamoDB table is made: on-demand, CMK-encrypted, PITR, removal per environment."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvConfig

S = dynamodb.AttributeType.STRING


def data_table(
    scope: Construct,
    id: str,
    *,
    config: EnvConfig,
    key: kms.IKey,
    name: str,
    partition_key: str,
    sort_key: str | None = None,
    ttl_attribute: str | None = None,
) -> dynamodb.Table:
    return dynamodb.Table(
        scope,
        id,
        table_name=f"{config.prefix}-{name}",
        partition_key=dynamodb.Attribute(name=partition_key, type=S),
        sort_key=dynamodb.Attribute(name=sort_key, type=S) if sort_key else None,
        time_to_live_attribute=ttl_attribute,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=config.retain_data,
        removal_policy=config.removal_policy,
    )
