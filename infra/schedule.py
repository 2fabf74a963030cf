"""`ScheduledSweep`: a function run on a rate schedule, with a target DLQ for invocations that failed every retry
(or aged out) and an alarm on that DLQ's depth.

schedule (default bus) --> function --(retries exhausted / too old)--> DLQ (alarm)

A schedule rule lives on the account's default bus: custom buses carry events, not schedules.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
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
