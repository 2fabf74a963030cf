"""Promiser (SQS, from EventBridge): re-pegs customer demand when supply, lead times or orders change.

Each SKU touched by a batch is re-pegged once (see PromisingService). Partial batch failures: a message that
cannot be parsed is reported alone; a SKU that fails fails the messages that touched it (re-pegging is
idempotent, so their retry is harmless).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.aws.consumer import SqsConsumer, parse_body
from shared.aws.inventory_store import InventoryStore
from shared.aws.orders_store import OrdersStore
from shared.canonical.envelope import utcnow
from shared.canonical.parse import envelope_from_eventbridge
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.promising import PromisingService
from shared.settings import PromiserSettings

settings = PromiserSettings.from_env()
service = PromisingService(
    OrdersStore(settings.orders_table), InventoryStore(settings.inventory_table), settings.event_bus_name
)
consumer = SqsConsumer()

_parsed: dict[str, Any] = {}  # message id -> envelope, for the batch being processed
_summary: dict[str, int] = {}  # what the batch did, for its log line and metrics


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    envelope = parse_body(envelope_from_eventbridge, record)
    _parsed[record.message_id] = envelope
    lag_ms = (utcnow() - envelope.received_at).total_seconds() * 1000
    metrics.add_metric(name="EventLag", unit=MetricUnit.Milliseconds, value=max(lag_ms, 0))
    return envelope.type


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _parsed.clear()
    _summary.clear()
    result = consumer.process(event, context, record_handler, complete=_repeg)
    _summary.update(messages=len(event.get("Records", [])), failed=len(result["batchItemFailures"]))
    logger.info("batch re-pegged", extra=_summary)
    for name, key in (
        ("SkusRepegged", "skus"),
        ("PromisesChanged", "lines_changed"),
        ("Published", "published"),
        ("LeftOverPublished", "left_over"),
        ("LeadTimesStored", "lead_times_stored"),
        ("RepegRetries", "retries"),
        ("Failed", "failed"),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=_summary.get(key, 0))
    return result


def _repeg(failed: set[str]) -> set[str]:
    """Each SKU the batch touched re-pegged once; the messages that must fail with a SKU that failed."""
    if _parsed:
        logger.set_correlation_id(next(reversed(_parsed.values())).correlation_id)
    outcome = service.process(_parsed)
    _summary.update(
        skus=outcome.skus,
        lines_changed=outcome.lines_changed,
        published=outcome.published,
        left_over=outcome.left_over,
        lead_times_stored=outcome.lead_times_stored,
        retries=outcome.retries,
    )
    return outcome.failed
