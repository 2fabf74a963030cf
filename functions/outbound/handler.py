"""Outbound delivery (SQS, from EventBridge): each deliverable event to the systems subscribed to it.

Partial batch failures: a message whose delivery to some system failed transiently (after the retries its
budget allowed) is reported alone; SQS retries it later, and the systems it already reached are skipped.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.aws.consumer import SqsConsumer, parse_body
from shared.canonical.parse import envelope_from_eventbridge
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.outbound import OutboundDispatcher
from shared.settings import OutboundSettings

settings = OutboundSettings.from_env()
dispatcher = OutboundDispatcher.from_settings(settings)
consumer = SqsConsumer()

_parsed: dict[str, Any] = {}  # message id -> (envelope, published detail), for the batch being processed
_records: dict[str, Any] = {}  # delivery records of the batch, read once
_context: Any = None


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    envelope, detail = _parsed.pop(record.message_id, None) or parse_body(_parse, record)
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
        except (ValueError, KeyError, TypeError):
            continue  # reported per record by record_handler
    _records.update(dispatcher.prefetch(envelope for envelope, _ in _parsed.values()))
    result = consumer.process(event, context, record_handler)
    failed = len(result["batchItemFailures"])
    metrics.add_metric(name="Processed", unit=MetricUnit.Count, value=len(event.get("Records", [])) - failed)
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=failed)
    return result
