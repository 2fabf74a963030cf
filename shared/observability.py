"""The one place that creates the Powertools Logger, Metrics and Tracer of a function.

Each Lambda is its own process, so module-level instances are per function. Service name and metrics
namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, set by `infra/functions.py`.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

logger = Logger()
metrics = Metrics()
tracer = Tracer()

__all__ = ["MetricUnit", "count_rejection", "logger", "metrics", "tracer"]


def count_rejection(cause: str) -> None:
    """One `Rejected` metric with a `Cause` dimension (kept apart from the function's other dimensions)."""
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "distrosync")
    with single_metric(
        name="Rejected", unit=MetricUnit.Count, value=1, default_dimensions={"service": service}
    ) as metric:
        metric.add_dimension(name="Cause", value=cause)
