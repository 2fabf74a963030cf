"""The REST resolver: routes of every domain, and one mapping from errors to problem types."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError, ResponseValidationError
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from shared.api import (
    channel_routes,
    edi_routes,
    fulfillment_routes,
    inventory_routes,
    master_routes,
    order_routes,
    purchasing_routes,
    query_routes,
    reservation_routes,
    supplier_routes,
)
from shared.api.problem_response import field_errors, problem_response
from shared.aws.bus import PublishError
from shared.domain.errors import NotFound, OutOfScope
from shared.http import problems as p
from shared.http.problems import Problem
from shared.observability import count_rejection, logger

API_TITLE = "distrosync API"
API_VERSION = "1.0.0"


def create_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True, response_validation_error_http_code=500)
    for module in (
        inventory_routes,
        query_routes,
        master_routes,
        reservation_routes,
        channel_routes,
        supplier_routes,
        purchasing_routes,
        order_routes,
        fulfillment_routes,
        edi_routes,
    ):
        app.include_router(module.router)

    def render(problem: Problem) -> Response:
        count_rejection(problem.kind.slug)
        meta = app.context.get("meta")
        return problem_response(problem, app.current_event.path, meta.correlation_id if meta else "")

    @app.exception_handler(Problem)
    def _problem(exc: Problem) -> Response:
        return render(exc)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        errors = field_errors(exc.errors())
        detail = "; ".join(f"{e['in']} {e['pointer']}: {e['message']}" for e in errors)
        return render(Problem(p.VALIDATION_FAILED, detail, {"errors": errors}))

    @app.exception_handler(ResponseValidationError)
    def _bad_response(exc: ResponseValidationError) -> Response:
        logger.error("response failed validation", extra={"errors": field_errors(exc.errors())})
        return render(Problem(p.INTERNAL, "the response could not be produced"))

    @app.exception_handler(OutOfScope)
    def _scope(exc: OutOfScope) -> Response:
        return render(Problem(p.OUT_OF_SCOPE, str(exc), {"scope": f"{exc.kind}:{exc.value}"}))

    @app.exception_handler(NotFound)
    def _missing(exc: NotFound) -> Response:
        return render(Problem(p.NOT_FOUND, str(exc)))

    @app.exception_handler(IdempotencyValidationError)
    def _reused(exc: IdempotencyValidationError) -> Response:
        return render(Problem(p.IDEMPOTENCY_KEY_REUSED, "this idempotency key was used with a different body"))

    @app.exception_handler(IdempotencyAlreadyInProgressError)
    def _in_progress(exc: IdempotencyAlreadyInProgressError) -> Response:
        return render(
            Problem(
                p.IDEMPOTENCY_IN_PROGRESS,
                "the first request with this key is still being processed",
                headers={"Retry-After": "1"},
            )
        )

    @app.exception_handler(PublishError)
    def _unpublished(exc: PublishError) -> Response:
        logger.error("events not published", extra={"failures": exc.failures})
        return render(
            Problem(p.UNAVAILABLE, "the event could not be published; retry later", headers={"Retry-After": "5"})
        )

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unexpected error")
        return render(Problem(p.INTERNAL, "an unexpected error occurred; it has been logged with the request id"))

    @app.not_found
    def _no_route(exc: Exception) -> Response:
        return render(Problem(p.NOT_FOUND, f"no route for {app.current_event.http_method} {app.current_event.path}"))

    return app


def openapi_json(app: APIGatewayRestResolver | None = None) -> str:
    """The OpenAPI document, generated from the routes (committed as docs/openapi.json)."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    return (app or create_app()).get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        security_schemes={
            "apiKey": APIKey(name="X-Api-Key", in_=APIKeyIn.header, description="The partner's API key."),
            "signature": APIKey(
                name="X-Distrosync-Signature",
                in_=APIKeyIn.header,
                description='sha256=hex(HMAC-SHA256(signing secret, X-Distrosync-Timestamp + "." + raw body))',
            ),
            "shopifyHmac": APIKey(
                name="X-Shopify-Hmac-Sha256",
                in_=APIKeyIn.header,
                description="Shopify webhooks: base64(HMAC-SHA256(app client secret, raw body)).",
            ),
            "easypostHmac": APIKey(
                name="X-Hmac-Signature",
                in_=APIKeyIn.header,
                description='EasyPost webhooks: "hmac-sha256-hex=" + hex(HMAC-SHA256(webhook secret, raw body)).',
            ),
            "webhookToken": APIKey(
                name="X-Distrosync-Webhook-Token",
                in_=APIKeyIn.header,
                description="BigCommerce webhooks: the token issued by 'distrosync channels add'.",
            ),
        },
        security=[{"apiKey": [], "signature": []}],
        description=(
            "Partner API of distrosync. Every request carries X-Api-Key, X-Distrosync-Timestamp (unix seconds) "
            'and X-Distrosync-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + raw body)). '
            "Errors are RFC 7807 problem documents with a stable `type` per cause."
        ),
    )
