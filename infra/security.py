"""The one customer-managed KMS key that encrypts tables, queues, the alarm topic and log groups."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvConfig


class DataKey(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{config.prefix}-data",
            description=f"{config.prefix}: tables, queues, alarm topic, logs and partner secrets",
            enable_key_rotation=True,
            removal_policy=config.removal_policy,
            pending_window=cdk.Duration.days(30 if config.retain_data else 7),
        )
        # CloudWatch Logs encrypts our log groups (Lambda and API access logs) with the key.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogs",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        # CloudWatch alarms publish to the encrypted alarm topic.
        self._allow_service("AllowCloudWatchAlarms", "cloudwatch.amazonaws.com")
        # EventBridge delivers to encrypted queues, including the rule targets' dead-letter queues
        # (CDK's SqsQueue target grants the target queue, not the target's DLQ).
        self._allow_service("AllowEventBridge", "events.amazonaws.com", source_account=stack.account)

    def _allow_service(self, sid: str, service: str, source_account: str | None = None) -> None:
        conditions = {"StringEquals": {"aws:SourceAccount": source_account}} if source_account else None
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=conditions,
            )
        )
