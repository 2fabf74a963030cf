"""Raises `purchase_order.ack_overdue` for POs not acknowledged within their supplier's window (EventBridge schedule,
every 15 minutes); see PurchasingService.sweep_overdue."""

from __future__ import annotations

from typing import Any

from shared.aws.purchasing_store import PurchasingStore
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.purchasing import PurchasingService
from shared.settings import AckOverdueSettings

# Stop listing POs this long before the function's timeout; the next run continues.
RESERVE_MILLIS = 5_000

settings = AckOverdueSettings.from_env()
service = PurchasingService(PurchasingStore(settings.purchasing_table), settings.event_bus_name)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # A scheduled run has no business flow of its own: its id correlates the run's logs.
    logger.set_correlation_id(event.get("id"))
    report = service.sweep_overdue(should_stop=lambda: context.get_remaining_time_in_millis() < RESERVE_MILLIS)
    metrics.add_metric(name="AckOverdue", unit=MetricUnit.Count, value=report.overdue)
    metrics.add_metric(name="AckOverdueSkipped", unit=MetricUnit.Count, value=report.skipped)
    summary = {
        "overdue": report.overdue,
        "skipped": report.skipped,
        "complete": report.complete,
        "scheduled_at": event.get("time"),
    }
    logger.info("acknowledgments swept", extra=summary)
    return summary
