"""`ScheduledSweep`: a function run on a rate schedule, with a target DLQ for invocations that failed every retry
(or aged out) and an alarm on that DLQ's depth.

schedule (default bus) --> function --(retries exhausted / too old)--> DLQ (alarm)

A schedule rule lives on the account's default bus: custom buses carry events, not schedules.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import nag
from infra.functions import ServiceFunction
from infra.platform import Platform


class ScheduledSweep(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        platform: Platform,
        function: ServiceFunction,
        every: cdk.Duration,
        description: str,
        max_event_age: cdk.Duration,
        retry_attempts: int = 2,
        alarm_description: str,
    ) -> None:
        super().__init__(scope, id)
        config, key, observability = platform.config, platform.key, platform.observability
        dlq_name = f"{config.prefix}-{function.name.replace('_', '-')}-dlq"
        self.dlq = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=dlq_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(config.queue.dlq_retention_days),
        )
        nag.acknowledge(
            self.dlq,
            "AwsSolutions-SQS3",
            f"This queue is itself a dead-letter queue: the DeadLetterConfig of the {function.name} schedule's "
            "Lambda target (cdk-nag only recognises DLQs referenced by another queue's RedrivePolicy).",
        )
        self.rule = events.Rule(
            self,
            "Rule",
            description=description,
            schedule=events.Schedule.rate(every),
            targets=[
                targets.LambdaFunction(
                    function.function,
                    dead_letter_queue=self.dlq,
                    retry_attempts=retry_attempts,
                    max_event_age=max_event_age,
                )
            ],
        )
        self.dlq_depth: cloudwatch.IMetric = self.dlq.metric_approximate_number_of_messages_visible(
            period=observability.period, statistic="Maximum"
        )
        observability.alarm(
            self.dlq,
            "DepthAlarm",
            metric=self.dlq_depth,
            threshold=config.alarms.dlq_depth,
            description=f"{dlq_name}: {alarm_description}",
        )


def grant_due_index_sweeper(
    function: ServiceFunction, table: dynamodb.Table, platform: Platform, *, index: str
) -> None:
    """What a sweep over a table's sparse due index needs, and nothing else: query the index, update the items it
    marks, the data key for both, PutEvents for what it raises."""
    table.grant(function.function, "dynamodb:Query", "dynamodb:UpdateItem")
    platform.key.grant(function.function, "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
    stack = cdk.Stack.of(table)
    logical_id = stack.resolve(stack.get_logical_id(table.node.default_child))  # type: ignore[arg-type]
    nag.acknowledge(
        function.role,
        f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/index/*]",
        f"The sweeper queries the {index} index of this one table: CDK grants <table ARN>/index/*, which spans "
        "only that table's indexes.",
    )
    platform.bus.grant_put_events_to(function.function)
