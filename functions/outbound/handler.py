"""Outbound delivery (SQS, from EventBridge): each deliverable event to the systems subscribed to it.

Partial batch failures: a message whose delivery to some system failed transiently (after the retries its
budget allowed) is reported alone; SQS retries it later, and the systems it already reached are skipped.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.aws.claim_check import envelope_from_eventbridge
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.outbound import OutboundDispatcher
from shared.settings import OutboundSettings

settings = OutboundSettings.from_env()
dispatcher = OutboundDispatcher.from_settings(settings)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

_parsed: dict[str, Any] = {}  # message id -> (envelope, published detail), for the batch being processed
_records: dict[str, Any] = {}  # delivery records of the batch, read once
_context: Any = None


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    try:
        envelope, detail = _parsed.pop(record.message_id, None) or _parse(record.body)
    except ValueError as exc:
        logger.error("unprocessable message", extra={"message_id": record.message_id, "error": str(exc)[:2000]})
        metrics.add_metric(name="Unprocessable", unit=MetricUnit.Count, value=1)
        raise
    logger.set_correlation_id(envelope.correlation_id)
    remaining = (lambda: _context.get_remaining_time_in_millis() / 1000) if _context is not None else None
    dispatcher.dispatch(envelope, detail, records=_records, remaining_seconds=remaining)
    return envelope.type


def _parse(body: str) -> tuple[Any, dict[str, Any]]:
    event = json.loads(body)
    return envelope_from_eventbridge(event), event["detail"]


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _context
    _context = context
    _parsed.clear()
    _records.clear()
    for record in event.get("Records", []):
        try:
            _parsed[record["messageId"]] = _parse(record["body"])
        except (ValueError, KeyError):
            continue  # reported per record by record_handler
    _records.update(dispatcher.prefetch(envelope for envelope, _ in _parsed.values()))
    result = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    failed = len(result.get("batchItemFailures", []))
    metrics.add_metric(name="Processed", unit=MetricUnit.Count, value=len(event.get("Records", [])) - failed)
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=failed)
    return result
