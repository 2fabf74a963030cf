"""Outbox publisher (DynamoDB Streams of the tables whose writers keep an outbox; ADR 0013, ADR 0016).

The mapping's filter lets through only new images that still carry an `outbox`: the events a writer stored with
its change and had not yet published (and removed) when the image was written. Each is published unless the record
no longer carries it, then removed on condition that it is still the same outbox. Partial batch responses by
SequenceNumber: the first record that fails is reported, and Lambda retries from it (stream order is kept).
"""

from __future__ import annotations

import os
from typing import Any

from shared.aws.bus import publish
from shared.canonical.envelope import Envelope
from shared.domain.failures import classify, describe
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.outbox_publisher import OutboxPublisher, pending_outbox

publisher = OutboxPublisher(os.environ["EVENT_BUS_NAME"], publish)


def _failed(record: dict[str, Any], exc: BaseException) -> None:
    stream = record.get("dynamodb") or {}
    logger.exception(
        "outbox not published",
        extra={
            "sequence_number": stream.get("SequenceNumber"),
            "keys": stream.get("Keys"),
            "error_class": str(classify(exc)),
            "error": describe(exc),
        },
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    for record in records:  # the flow the first outbox belongs to, for the lines below
        pending = pending_outbox(record)
        if pending is not None and pending.events:
            logger.set_correlation_id(Envelope[Any].model_validate_json(pending.events[0]).correlation_id)
            break
    outcome = publisher.process(records, on_error=_failed)
    summary = {
        "records": len(records),
        "records_published": outcome.records_published,
        "events_published": len(outcome.published),
        "already_published": outcome.already_published,
        "clear_lost": outcome.clear_lost,
        "failed": outcome.failed,
    }
    logger.info("outboxes published", extra={**summary, "event_ids": outcome.published})
    metrics.add_metric(name="OutboxEventsPublished", unit=MetricUnit.Count, value=len(outcome.published))
    metrics.add_metric(name="OutboxAlreadyPublished", unit=MetricUnit.Count, value=outcome.already_published)
    metrics.add_metric(name="OutboxFailed", unit=MetricUnit.Count, value=1 if outcome.failed else 0)
    if outcome.failed is None:
        return {"batchItemFailures": []}
    return {"batchItemFailures": [{"itemIdentifier": outcome.failed}]}
