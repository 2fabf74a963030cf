"""EDI outbound (SQS, from the rule on purchase_order.created and order.released): each event becomes an 850 or a
940 file for the trading partners it concerns (see EdiOutbound).

Partial batch failures: a message whose file could not be written for some partner (S3 or DynamoDB unavailable) is
reported alone; SQS retries it later and the partners already served are skipped (their documents are recorded).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.aws.claim_check import envelope_from_eventbridge
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.edi.outbound import EdiOutbound
from shared.settings import EdiOutboundSettings

settings = EdiOutboundSettings.from_env()
outbound = EdiOutbound.from_settings(settings)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> int:
    try:
        envelope = envelope_from_eventbridge(record.body)
    except ValueError as exc:
        logger.error("unprocessable message", extra={"message_id": record.message_id, "error": str(exc)[:2000]})
        metrics.add_metric(name="Unprocessable", unit=MetricUnit.Count, value=1)
        raise
    logger.set_correlation_id(envelope.correlation_id)
    return len(outbound.deliver(envelope))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    failed = len(result.get("batchItemFailures", []))
    metrics.add_metric(name="Processed", unit=MetricUnit.Count, value=len(event.get("Records", [])) - failed)
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=failed)
    return result
