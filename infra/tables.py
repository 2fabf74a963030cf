"""How every distrosync DynamoDB table is made: on-demand, CMK-encrypted, PITR, removal per environment."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvConfig

S = dynamodb.AttributeType.STRING
# The stream of a table whose writers keep their changes' events on the record (`outbox`, ADR 0013): the outbox
# publisher (infra/outbox.py) reads the new images.
OUTBOX_STREAM = dynamodb.StreamViewType.NEW_IMAGE


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
    stream: dynamodb.StreamViewType | None = None,
) -> dynamodb.Table:
    """`stream`: a DynamoDB stream of that view (e.g. NEW_IMAGE for a table whose writers keep an outbox)."""
    return dynamodb.Table(
        scope,
        id,
        table_name=f"{config.prefix}-{name}",
        partition_key=dynamodb.Attribute(name=partition_key, type=S),
        sort_key=dynamodb.Attribute(name=sort_key, type=S) if sort_key else None,
        time_to_live_attribute=ttl_attribute,
        stream=stream,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=config.retain_data,
        removal_policy=config.removal_policy,
    )
