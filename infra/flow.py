"""`EventFlow`: canonical events from the bus, buffered in SQS, processed in batches by one function.

bus --rule(source, detail-type)--> queue --(batch, partial failures)--> handler
         | delivery failures                 | after max_receive_count
         v                                   v
   delivery DLQ (alarm)               processing DLQ (alarm)

The handler's SQS consumer (shared/aws/consumer.py) learns the processing DLQ and its retry settings from its
environment (DEAD_LETTERS, RETRY_*, PARTNER_WAIT_HOURS): it dead-letters permanent failures itself, with their
story, and re-sends messages waiting for a partner to the queue with a delay.

The same shape serves events that are not canonical (e.g. S3 `Object Created` on the account's default bus): pass
`event_pattern`, `bus` and a `label` instead of `event_types`.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import nag
from infra.functions import ServiceFunction
from infra.platform import Platform
from shared.canonical.envelope import eventbridge_source

MAX_BATCH_SIZE = 10  # the flows' handlers process a batch within one invocation's timeout


def event_pattern_of(event_types: list[str]) -> events.EventPattern:
    """`{"source": ["distrosync.<domain>", ...], "detail-type": [<event type>, ...]}`."""
    return events.EventPattern(
        source=sorted({eventbridge_source(event_type) for event_type in event_types}),
        detail_type=list(event_types),
    )


class EventFlow(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        platform: Platform,
        handler: ServiceFunction,
        event_types: list[str] | None = None,
        event_pattern: events.EventPattern | None = None,
        bus: events.IEventBus | None = None,
        label: str | None = None,
        batch_size: int | None = None,
        max_batching_window_seconds: int | None = None,
    ) -> None:
        """Canonical `event_types` from the platform's bus, or any `event_pattern` (with a `label` saying what it
        matches, for the rule's description and the dashboard) on `bus` (default: the platform's bus)."""
        super().__init__(scope, id)
        if event_types and event_pattern is None:
            pattern, what = event_pattern_of(event_types), ", ".join(event_types)
        elif event_pattern is not None and not event_types and label:
            pattern, what = event_pattern, label
        else:
            raise ValueError("an EventFlow needs either event types, or an event pattern and a label")
        if batch_size is not None and not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch size {batch_size} is not within 1..{MAX_BATCH_SIZE}")
        config, key, observability = platform.config, platform.key, platform.observability
        settings = config.queue
        name = f"{config.prefix}-{handler.name}"

        def encrypted_queue(queue_id: str, queue_name: str, retention_days: int, **extra) -> sqs.Queue:
            return sqs.Queue(
                self,
                queue_id,
                queue_name=queue_name,
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=key,
                enforce_ssl=True,
                retention_period=cdk.Duration.days(retention_days),
                **extra,
            )

        self.dlq = encrypted_queue("DeadLetterQueue", f"{name}-dlq", settings.dlq_retention_days)
        self.queue = encrypted_queue(
            "Queue",
            name,
            settings.retention_days,
            visibility_timeout=cdk.Duration.seconds(settings.visibility_timeout_seconds(handler.timeout_seconds)),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=settings.max_receive_count, queue=self.dlq),
        )
        # Where EventBridge puts events it could not deliver to the queue (e.g. KMS or policy errors).
        self.delivery_dlq = encrypted_queue(
            "DeliveryDeadLetterQueue", f"{name}-delivery-dlq", settings.dlq_retention_days
        )
        nag.acknowledge(
            self.delivery_dlq,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue: the DeadLetterConfig of the EventBridge rule target "
            "(cdk-nag only recognises DLQs referenced by another queue's RedrivePolicy).",
        )

        self.rule = events.Rule(
            self,
            "Rule",
            event_bus=bus or platform.bus,
            description=_description(what, handler.name),
            event_pattern=pattern,
            targets=[
                targets.SqsQueue(
                    self.queue,
                    dead_letter_queue=self.delivery_dlq,
                    retry_attempts=settings.target_retry_attempts,
                    max_event_age=cdk.Duration.hours(settings.target_max_event_age_hours),
                )
            ],
        )

        handler.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=batch_size or settings.batch_size,
                max_batching_window=cdk.Duration.seconds(
                    max_batching_window_seconds
                    if max_batching_window_seconds is not None
                    else settings.max_batching_window_seconds
                ),
                report_batch_item_failures=True,
            )
        )

        self._wire_consumer(handler, platform, name)

        period = observability.period
        self.dlq_alarms = [
            observability.alarm(
                queue,
                "DepthAlarm",
                metric=queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum"),
                threshold=config.alarms.dlq_depth,
                description=f"{queue_name} holds messages that need attention",
            )
            for queue, queue_name in (
                (self.dlq, f"{name}-dlq (failed processing)"),
                (self.delivery_dlq, f"{name}-delivery-dlq (failed delivery from the bus)"),
            )
        ]
        observability.add_row(
            f"Flow {what} -> {handler.name}",
            observability.graph(
                "Queue depth",
                self.queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum"),
            ),
            observability.graph(
                "Oldest message age (s)",
                self.queue.metric_approximate_age_of_oldest_message(period=period, statistic="Maximum"),
            ),
            observability.graph(
                "Dead-letter queues",
                self.dlq.metric_approximate_number_of_messages_visible(
                    period=period, statistic="Maximum", label="processing DLQ"
                ),
                self.delivery_dlq.metric_approximate_number_of_messages_visible(
                    period=period, statistic="Maximum", label="delivery DLQ"
                ),
            ),
            observability.graph(
                f"{handler.name} errors / duration p90",
                handler.function.metric_errors(period=period, statistic="Sum"),
                right=[handler.function.metric_duration(period=period, statistic="p90")],
            ),
        )

    def _wire_consumer(self, handler: ServiceFunction, platform: Platform, name: str) -> None:
        """What the handler's SQS consumer (shared/aws/consumer.py) needs: its DLQ and retry settings, and leave to
        send dead letters with their story to the DLQ and waiting messages back to the queue with a delay (both
        queues are encrypted with the platform's key). Receiving, deleting and ChangeMessageVisibility come with
        the event source's grant."""
        settings = platform.config.queue
        handler.add_dead_letters(
            name,
            dlq_url=self.dlq.queue_url,
            queue_url=self.queue.queue_url,
            max_receive_count=settings.max_receive_count,
        )
        handler.add_environment("RETRY_BASE_SECONDS", str(settings.retry_base_seconds))
        handler.add_environment("RETRY_MAX_SECONDS", str(settings.retry_max_seconds))
        handler.add_environment("PARTNER_WAIT_HOURS", str(settings.partner_wait_hours))
        handler.function.add_to_role_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dlq.queue_arn, self.queue.queue_arn])
        )
        handler.function.add_to_role_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[platform.key.key_arn])
        )


RULE_DESCRIPTION_LIMIT = 512  # CloudFormation's limit on AWS::Events::Rule Description


def _description(what: str, handler: str) -> str:
    """`<what it matches> -> <handler>`, the list of types cut (with its count) to fit CloudFormation's limit."""
    text = f"{what} -> {handler}"
    if len(text) <= RULE_DESCRIPTION_LIMIT:
        return text
    tail = f"... ({what.count(',') + 1} types) -> {handler}"
    return what[: RULE_DESCRIPTION_LIMIT - len(tail)].rsplit(",", 1)[0] + tail
