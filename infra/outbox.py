"""The outbox publisher and the claim-check bucket (docs/reliability.md, "Transactional outbox"; ADR 0016).

table stream (NEW_IMAGE) --filter: NewImage has `outbox`--> outbox_publisher --PutEvents--> bus
                                        \\--(retries exhausted, record too old)--> <prefix>-outbox-publisher-dlq
publisher of an event over 256 KB --PutObject claims/<event id>.json--> claim-check bucket; the bus gets a pointer
consumer --GetObject claims/...--> the whole envelope (shared/canonical/parse.py)

`ClaimCheck` is built before the domain constructs (every function learns its bucket through the `Platform`);
`OutboxPublisher` after the tables whose writers keep an outbox (ADR 0013).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import nag
from infra.buckets import private_bucket
from infra.config import EnvConfig
from infra.functions import ServiceFunction
from infra.platform import Platform
from shared.aws.bus import CLAIM_PREFIX
from shared.aws.record_outbox import ATTRIBUTE as OUTBOX_ATTRIBUTE

# A claim outlives every retry, DLQ stay (14 days) and redrive of the event that points at it.
CLAIM_RETENTION = cdk.Duration.days(30)
ACCESS_LOG_RETENTION = cdk.Duration.days(90)
PUBLISHER_BATCH_SIZE = 25
# Lambda retries a failing stream batch at once; with bisection a bad record is isolated without using retries.
# Records given up go to the on-failure queue (the outbox itself stays on its record: nothing is lost).
PUBLISHER_RETRY_ATTEMPTS = 20
PUBLISHER_MAX_RECORD_AGE = cdk.Duration.hours(12)  # streams keep records 24 h
FAILURE_RETENTION = cdk.Duration.days(14)


class ClaimCheck(Construct):
    """The claim-check bucket (KMS with the data key, TLS only, no public access, claims expire after 30 days,
    server access logs to a bucket of its own)."""

    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, key: kms.IKey) -> None:
        super().__init__(scope, id)
        self.key = key
        self.bucket, self.access_logs = private_bucket(
            self,
            config=config,
            key=key,
            what="claim-check bucket",
            log_prefix="claim-check/",
            log_retention=ACCESS_LOG_RETENTION,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireClaims",
                    expiration=CLAIM_RETENTION,
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
        )

    @property
    def bucket_name(self) -> str:
        return self.bucket.bucket_name

    def _claims(self) -> str:
        return self.bucket.arn_for_objects(f"{CLAIM_PREFIX}*")

    def grant_put(self, function: ServiceFunction) -> None:
        """PutObject under claims/ (and the data key for SSE-KMS): what a publisher needs."""
        function.function.add_to_role_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[self._claims()]))
        self.key.grant(function.function, "kms:GenerateDataKey", "kms:Decrypt")
        self._acknowledge(function)

    def grant_get(self, function: ServiceFunction) -> None:
        """GetObject under claims/ (and kms:Decrypt): what a consumer resolving a pointer needs."""
        function.function.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[self._claims()]))
        self.key.grant(function.function, "kms:Decrypt")
        self._acknowledge(function)

    def _acknowledge(self, function: ServiceFunction) -> None:
        stack = cdk.Stack.of(self)
        logical_id = stack.resolve(stack.get_logical_id(self.bucket.node.default_child))  # type: ignore[arg-type]
        nag.acknowledge(
            function.role,
            f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{CLAIM_PREFIX}*]",
            "Claims are named by event id (claims/<event id>.json), unknown at deploy time; access is limited to the "
            "claims/ prefix of the one claim-check bucket.",
        )


class OutboxPublisher(Construct):
    """`outbox_publisher`, fed by the stream of each table in `tables` (new images still carrying an outbox), its
    on-failure queue and that queue's depth alarm."""

    def __init__(self, scope: Construct, id: str, *, platform: Platform, tables: Sequence[dynamodb.Table]) -> None:
        super().__init__(scope, id)
        config, key, observability = platform.config, platform.key, platform.observability
        self.handler = ServiceFunction(
            self,
            "Publisher",
            name="outbox_publisher",
            description="Publishes the events writers left on their records (DynamoDB Streams), then clears them",
            platform=platform,
            environment={"EVENT_BUS_NAME": platform.bus.event_bus_name},
        )
        function = self.handler.function
        platform.bus.grant_put_events_to(function)

        queue_name = f"{config.prefix}-outbox-publisher-dlq"
        self.failures = sqs.Queue(
            self,
            "Failures",
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=FAILURE_RETENTION,
        )
        nag.acknowledge(
            self.failures,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue: the on-failure destination of the outbox publisher's stream "
            "mappings (cdk-nag only recognises DLQs referenced by another queue's RedrivePolicy).",
        )
        self.failures_alarm = observability.alarm(
            self.failures,
            "DepthAlarm",
            metric=self.failures.metric_approximate_number_of_messages_visible(
                period=observability.period, statistic="Maximum"
            ),
            threshold=config.alarms.dlq_depth,
            description=f"{queue_name}: stream records whose outboxes the publisher gave up on",
        )

        only_outboxes = lambda_.FilterCriteria.filter(
            {"dynamodb": {"NewImage": {OUTBOX_ATTRIBUTE: {"B": lambda_.FilterRule.exists()}}}}
        )
        self.mappings: list[lambda_.EventSourceMapping] = []
        for table in tables:
            stream_arn = table.table_stream_arn
            if stream_arn is None:
                raise ValueError(f"{table.node.path} has no stream: give it stream=OUTBOX_STREAM (infra/tables.py)")
            name = f"{table.node.scope.node.id}{table.node.id}"  # e.g. PurchasingTable
            mapping = lambda_.EventSourceMapping(
                self,
                f"{name}Mapping",
                target=function,
                event_source_arn=stream_arn,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=PUBLISHER_BATCH_SIZE,
                bisect_batch_on_error=True,
                retry_attempts=PUBLISHER_RETRY_ATTEMPTS,
                max_record_age=PUBLISHER_MAX_RECORD_AGE,
                on_failure=sources.SqsDlq(self.failures),
                report_batch_item_failures=True,
                filters=[only_outboxes],
            )
            self.mappings.append(mapping)
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=[
                        "dynamodb:DescribeStream",
                        "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator",
                        "dynamodb:ListStreams",
                    ],
                    resources=[stream_arn],
                )
            )
            # Read the record again and clear its outbox: nothing else on the table.
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["dynamodb:GetItem", "dynamodb:UpdateItem"], resources=[table.table_arn])
            )
        key.grant(function, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
            nag.acknowledge(
                self.handler.role,
                f"AwsSolutions-IAM5[Action::{action}]",
                "CDK's SendMessage grant on the on-failure queue, encrypted with the customer-managed data key; the "
                "wildcard only spans that action's variants and the resource is that single key.",
            )
