"""EDI outbound (SQS, from the rule on purchase_order.created and order.released): each event becomes an 850 or a
940 file for the trading partners it concerns (see EdiOutbound).

Partial batch failures: a message whose file could not be written for some partner (S3 or DynamoDB unavailable) is
reported alone; SQS retries it later and the partners already served are skipped (their documents are recorded).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.aws.consumer import SqsConsumer, parse_body
from shared.canonical.parse import envelope_from_eventbridge
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.edi.outbound import EdiOutbound
from shared.settings import EdiOutboundSettings

settings = EdiOutboundSettings.from_env()
outbound = EdiOutbound.from_settings(settings)
consumer = SqsConsumer()


@tracer.capture_method
def record_handler(record: SQSRecord) -> int:
    envelope = parse_body(envelope_from_eventbridge, record)
    logger.set_correlation_id(envelope.correlation_id)
    return len(outbound.deliver(envelope))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = consumer.process(event, context, record_handler)
    failed = len(result["batchItemFailures"])
    metrics.add_metric(name="Processed", unit=MetricUnit.Count, value=len(event.get("Records", [])) - failed)
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=failed)
    return result
