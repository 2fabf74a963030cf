"""Journal (SQS, from EventBridge: every distrosync event): one item per business key and event, for `trace`.

The batch's items are written together after every record was read (BatchWriteItem, 25 a call); a message whose
items could not all be written is reported failed alone, and its retry writes the same items again.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.aws.consumer import SqsConsumer
from shared.aws.journal_store import JournalStore
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.journal import JournalSettings, NotAnEvent, journal_items

settings = JournalSettings.from_env()
store = JournalStore(settings.table_name)
consumer = SqsConsumer()

_pending: dict[str, list[dict[str, Any]]] = {}  # message id -> its journal items, for the batch being processed


def _event(body: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The EventBridge event and its envelope (`detail`)."""
    try:
        event = json.loads(body)
    except json.JSONDecodeError as exc:
        raise NotAnEvent(f"not JSON: {exc}") from None
    detail = event.get("detail") if isinstance(event, dict) else None
    if not isinstance(detail, dict):
        raise NotAnEvent("not an EventBridge event: no 'detail'")
    if "claim_check" in detail:  # the envelope is in S3: read it the way every consumer does
        from shared.aws.claim_check import envelope_from_eventbridge

        return event, envelope_from_eventbridge(event).to_detail()
    return event, detail


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    try:
        event, detail = _event(record.body)
        items = journal_items(detail, retention_days=settings.retention_days)
    except NotAnEvent as exc:  # dead-lettered at once by the consumer (class validation)
        logger.error("unprocessable message", extra={"message_id": record.message_id, "error": str(exc)[:500]})
        metrics.add_metric(name="Unprocessable", unit=MetricUnit.Count, value=1)
        raise
    logger.set_correlation_id(detail.get("correlation_id"))
    if event.get("replay-name"):  # EventBridge marks the events of an archive replay
        logger.info("replayed event", extra={"event_id": detail["id"], "replay": event["replay-name"]})
        metrics.add_metric(name="Replayed", unit=MetricUnit.Count, value=1)
    _pending[record.message_id] = items
    if not items:
        metrics.add_metric(name="Unkeyed", unit=MetricUnit.Count, value=1)
    logger.debug("journaled", extra={"event_id": detail["id"], "type": detail["type"], "keys": len(items)})
    return str(detail["type"])


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _pending.clear()
    records = event.get("Records", [])
    result = consumer.process(event, context, record_handler, complete=_write)
    failed = len(result["batchItemFailures"])
    metrics.add_metric(name="Events", unit=MetricUnit.Count, value=len(records) - failed)
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=failed)
    return result


def _write(failed: set[str]) -> set[str]:
    """Stage 2: the batch's items in one go; the messages whose items could not all be written must fail."""
    items = [item for message_id, found in _pending.items() if message_id not in failed for item in found]
    unwritten = {(item["pk"], item["sk"]) for item in store.write(items)} if items else set()
    lost: set[str] = set()
    if unwritten:
        lost = {mid for mid, found in _pending.items() if any((i["pk"], i["sk"]) in unwritten for i in found)}
        logger.warning("journal items not written", extra={"items": len(unwritten), "messages": len(lost)})
    written = len({(item["pk"], item["sk"]) for item in items}) - len(unwritten)  # a redelivery in the batch: once
    metrics.add_metric(name="Journaled", unit=MetricUnit.Count, value=written)
    return lost
