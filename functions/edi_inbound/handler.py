"""Inbound EDI (SQS, from EventBridge): each S3 `Object Created` under the EDI bucket's `inbound/` prefix through
`EdiGateway.receive_object` (docs/edi.md, "Gateway").

A file refused for good (unknown partner, no profile, unreadable) is logged and counted, not retried. A transient
failure fails its message alone (partial batch response); SQS retries it and the gateway picks up where it stopped.
EventBridge's S3 events carry the object key as it is (not URL-encoded, unlike S3's own notifications).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.aws.consumer import SqsConsumer, parse_body
from shared.observability import MetricUnit, count_rejection, logger, metrics, tracer
from shared.services.edi.gateway import EdiGateway
from shared.settings import IngressSettings

settings = IngressSettings.from_env()
gateway = EdiGateway.from_settings(settings)
consumer = SqsConsumer()


def object_created(body: str) -> tuple[str, str, str, datetime | None]:
    """(event id, bucket, key, when) of an EventBridge S3 `Object Created` event; ValueError when it is not one."""
    event = json.loads(body)
    if not isinstance(event, dict) or event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        raise ValueError("not an S3 Object Created event from EventBridge")
    detail = event.get("detail") or {}
    bucket, key = (detail.get("bucket") or {}).get("name"), (detail.get("object") or {}).get("key")
    if not bucket or not key:
        raise ValueError("the event names no bucket or object key")
    when = event.get("time")
    try:
        created = datetime.fromisoformat(when.replace("Z", "+00:00")) if isinstance(when, str) else None
    except ValueError:
        created = None
    return str(event.get("id") or ""), bucket, key, created if created and created.tzinfo else None


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    event_id, bucket, key, created = parse_body(object_created, record)
    logger.remove_keys(["partner_id", "object_key", "interchange"])  # the previous record's
    logger.set_correlation_id(f"s3-{event_id or record.message_id}")
    receipt = gateway.receive_object(bucket, key, received_at=created)
    if receipt.status == "rejected":
        count_rejection("edi-file-refused")
        logger.warning("EDI file refused", extra={"object_key": key, "reason": receipt.reason})
    else:
        logger.info(
            "EDI file processed",
            extra={"object_key": key, "interchanges": {r.control_number: r.status for r in receipt.interchanges}},
        )
    return receipt.status


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    gateway.register_lambda_context(context)
    result = consumer.process(event, context, record_handler)
    failed = len(result["batchItemFailures"])
    metrics.add_metric(name="Processed", unit=MetricUnit.Count, value=len(event.get("Records", [])) - failed)
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=failed)
    return result
