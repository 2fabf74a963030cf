"""Inventory projector (SQS, from EventBridge): movements onto positions, then channel availability per SKU.

Partial batch failures: a message that cannot be processed is reported alone; a failure while refreshing a
SKU or publishing fails the messages that touched it (they are idempotent, so the retry is harmless).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.aws.consumer import SqsConsumer, parse_body
from shared.aws.inventory_store import InventoryStore
from shared.canonical.envelope import utcnow
from shared.canonical.parse import envelope_from_eventbridge
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.availability import ChannelAvailability
from shared.services.inventory_projection import InventoryProjector, MessageResult, complete_batch
from shared.settings import ProjectorSettings

settings = ProjectorSettings.from_env()
store = InventoryStore(settings.inventory_table)
projector = InventoryProjector(store)
availability = ChannelAvailability.from_settings(settings)
consumer = SqsConsumer()

_parsed: dict[str, Any] = {}  # message id -> envelope, for the batch being processed
_results: dict[str, MessageResult] = {}  # message id -> what it did


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    envelope = _parsed.pop(record.message_id, None) or parse_body(envelope_from_eventbridge, record)
    logger.set_correlation_id(envelope.correlation_id)
    result = projector.project(envelope)
    _results[record.message_id] = result
    lag_ms = (utcnow() - envelope.received_at).total_seconds() * 1000
    metrics.add_metric(name="EventLag", unit=MetricUnit.Milliseconds, value=max(lag_ms, 0))
    for sku, location, decision in result.decisions:
        metrics.add_metric(name=decision.outcome.value.capitalize(), unit=MetricUnit.Count, value=1)
        logger.info(
            "movement projected",
            extra={
                "event_id": envelope.id,
                "type": envelope.type,
                "subject": f"{sku}@{location}",
                "outcome": decision.outcome.value,
                "reason": decision.reason,
                "on_hand": decision.position.on_hand,
                "available": decision.position.available,
                "version": decision.position.version,
            },
        )
    return envelope.type


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _parsed.clear()
    _results.clear()
    records = event.get("Records", [])
    for record in records:
        try:
            _parsed[record["messageId"]] = envelope_from_eventbridge(record["body"])
        except (ValueError, KeyError):
            continue  # reported per record by record_handler
    projector.prefetch(_parsed.values())
    result = consumer.process(event, context, record_handler, complete=_complete)
    failed = len(result["batchItemFailures"])
    metrics.add_metric(name="Processed", unit=MetricUnit.Count, value=len(records) - failed)
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=failed)
    return result


def _complete(failed: set[str]) -> set[str]:
    """Stage 2: availability refreshed per SKU and the batch's events published; the messages that must fail."""
    outcome = complete_batch(projector, availability, _results, failed, bus_name=settings.event_bus_name)
    metrics.add_metric(name="Published", unit=MetricUnit.Count, value=outcome.published)
    if outcome.refresh_failures:
        metrics.add_metric(name="RefreshFailed", unit=MetricUnit.Count, value=outcome.refresh_failures)
    return outcome.failed
