"""Order flow steps (invoked by the order-to-ship state machine; docs/order-to-ship.md).

The event is what the definition's Lambda tasks send: `{"step", "order_id", "correlation_id"}`, plus `token`
on the steps that wait for a task token and `error` / `failed_step` on the compensation and exception steps.
The return value is small (the state machine keeps the order in DynamoDB, not in its state). Errors are raised
as `shared.domain.order_flow` errors, whose class names the definition's Retry and Catch name.
"""

from __future__ import annotations

from typing import Any

from shared.observability import logger, metrics, tracer
from shared.services.fulfillment.steps import StepRequest, build_steps
from shared.settings import OrderFlowSettings

settings = OrderFlowSettings.from_env()
steps = build_steps(settings)


@logger.inject_lambda_context(clear_state=True, correlation_id_path="correlation_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = StepRequest.from_event(event)
    logger.append_keys(order_id=request.order_id, step=request.step)
    tracer.put_annotation("order_id", request.order_id)
    tracer.put_annotation("step", request.step)
    return steps.run(request)
