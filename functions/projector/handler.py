"""Projects `inventory.adjusted` (SQS, from EventBridge) onto inventory positions; partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.aws.inventory_store import InventoryStore
from shared.canonical.envelope import utcnow
from shared.canonical.inventory import InventoryAdjusted
from shared.canonical.parse import envelope_from_eventbridge
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.inventory_projection import InventoryProjector
from shared.settings import ProjectorSettings

projector = InventoryProjector(InventoryStore(ProjectorSettings.from_env().inventory_table))
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _adjustment(body: str) -> Any:
    envelope = envelope_from_eventbridge(body)
    if not isinstance(envelope.data, InventoryAdjusted):
        raise ValueError(f"projector does not handle {envelope.type}")
    return envelope


_parsed: dict[str, Any] = {}  # message id -> envelope, for the batch being processed


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    try:
        envelope = _parsed.pop(record.message_id, None) or _adjustment(record.body)
    except ValueError as exc:
        logger.error("unprocessable message", extra={"message_id": record.message_id, "error": str(exc)[:2000]})
        metrics.add_metric(name="Unprocessable", unit=MetricUnit.Count, value=1)
        raise
    logger.set_correlation_id(envelope.correlation_id)
    decision = projector.project(envelope)
    lag_ms = (utcnow() - envelope.received_at).total_seconds() * 1000
    metrics.add_metric(name="EventLag", unit=MetricUnit.Milliseconds, value=max(lag_ms, 0))
    metrics.add_metric(name=decision.outcome.value.capitalize(), unit=MetricUnit.Count, value=1)
    logger.info(
        "adjustment projected",
        extra={
            "event_id": envelope.id,
            "subject": envelope.subject,
            "outcome": decision.outcome.value,
            "reason": decision.reason,
            "on_hand": decision.position.on_hand,
            "version": decision.position.version,
        },
    )
    return decision.outcome.value


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _parsed.clear()
    for record in event.get("Records", []):
        try:
            _parsed[record["messageId"]] = _adjustment(record["body"])
        except (ValueError, KeyError):
            continue  # reported per record by record_handler
    projector.prefetch(_parsed.values())
    result = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    failed = len(result.get("batchItemFailures", []))
    metrics.add_metric(name="Processed", unit=MetricUnit.Count, value=len(event.get("Records", [])) - failed)
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=failed)
    return result
