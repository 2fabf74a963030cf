"""Raises `edi.ack_overdue` for the groups sent to trading partners (850, 940) whose 997 has not come within their
profile's window (EventBridge schedule, every 15 minutes); see EdiAcks.sweep_overdue."""

from __future__ import annotations

from typing import Any

from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.edi.acks import EdiAcks
from shared.settings import EdiAckOverdueSettings

# Stop listing groups this long before the function's timeout; the next run continues.
RESERVE_MILLIS = 5_000

settings = EdiAckOverdueSettings.from_env()
acks = EdiAcks.from_settings(settings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # A scheduled run has no business flow of its own: its id correlates the run's logs (each event published keeps
    # the correlation id of the document's flow).
    logger.set_correlation_id(event.get("id"))
    report = acks.sweep_overdue(should_stop=lambda: context.get_remaining_time_in_millis() < RESERVE_MILLIS)
    metrics.add_metric(name="EdiAckOverdue", unit=MetricUnit.Count, value=report.overdue)
    metrics.add_metric(name="EdiAckOverdueSkipped", unit=MetricUnit.Count, value=report.skipped)
    summary = {
        "overdue": report.overdue,
        "skipped": report.skipped,
        "complete": report.complete,
        "scheduled_at": event.get("time"),
    }
    logger.info("997s due swept", extra=summary)
    return summary
