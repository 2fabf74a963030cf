"""Expires held reservations whose time is up (EventBridge schedule, every minute); see ReservationService."""

from __future__ import annotations

from typing import Any

from shared.aws.reservation_store import ReservationStore
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.services.reservations import ReservationService
from shared.settings import ReservationExpirySettings

# Stop taking new reservations this long before the function's timeout; the next run continues.
RESERVE_MILLIS = 5_000

settings = ReservationExpirySettings.from_env()
service = ReservationService(
    ReservationStore(settings.reservations_table, settings.inventory_table), settings.event_bus_name
)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = service.expire_due(should_stop=lambda: context.get_remaining_time_in_millis() < RESERVE_MILLIS)
    for name, value in (
        ("Expired", report.expired),
        ("Finished", report.finished),
        ("Abandoned", report.abandoned),
        ("Failed", report.failed),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    summary = {
        "expired": report.expired,
        "finished": report.finished,
        "abandoned": report.abandoned,
        "failed": report.failed,
        "complete": report.complete,
        "scheduled_at": event.get("time"),
    }
    logger.info("reservations swept", extra=summary)
    if report.failed:
        # Fail the invocation so that the errors alarm fires; the failed ones stay due for the next run.
        raise RuntimeError(f"{report.failed} reservation(s) could not be swept; see the logged exceptions")
    return summary
