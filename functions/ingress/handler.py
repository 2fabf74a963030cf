"""Partner API (API Gateway REST proxy): gate the request, then route it."""

from __future__ import annotations

import time
from typing import Any

from shared.api.app import create_app
from shared.api.carrier_gate import authenticate_carrier, is_carrier_tracking
from shared.api.channel_gate import authenticate_channel, is_channel_webhook
from shared.api.correlation import correlation_id
from shared.api.deps import Deps
from shared.api.gate import authenticate
from shared.api.problem_response import problem_proxy_result
from shared.api.request import RawRequest
from shared.canonical.envelope import utcnow
from shared.http.problems import Problem
from shared.observability import MetricUnit, count_rejection, logger, metrics, tracer
from shared.services.inventory_ingest import RequestMeta
from shared.settings import IngressSettings

deps = Deps.from_settings(IngressSettings.from_env())
app = create_app()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = RawRequest.from_event(event)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    meta = RequestMeta(
        correlation_id=correlation_id(request.header("x-correlation-id")),
        request_id=request.request_id,
        received_at=utcnow(),
        idempotency_key=request.header("idempotency-key"),
    )
    logger.set_correlation_id(meta.correlation_id)
    try:
        if is_channel_webhook(request):
            partner = authenticate_channel(request, partners=deps.partners, secrets=deps.secrets, policy=deps.policy)
        elif is_carrier_tracking(request):
            partner = authenticate_carrier(
                request,
                partners=deps.partners,
                secrets=deps.secrets,
                policy=deps.policy,
                now=time.time(),
            )
        else:
            partner = authenticate(
                request, partners=deps.partners, secrets=deps.secrets, policy=deps.policy, now=time.time()
            )
    except Problem as problem:
        count_rejection(problem.kind.slug)
        logger.info("request rejected", extra={"problem": problem.kind.slug, "path": request.path})
        return problem_proxy_result(problem, request.path, meta.correlation_id)
    logger.append_keys(partner_id=partner.partner_id)
    deps.intake.register_lambda_context(context)
    app.append_context(partner=partner, deps=deps, meta=meta, request=request)
    return app.resolve(event, context)
