"""Inventory routes: adjustments in, positions out."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from shared.api.models import Accepted, AdjustmentRequest, InventoryView
from shared.api.problem_response import CORRELATION_HEADER
from shared.observability import MetricUnit, metrics
from shared.services.inventory_query import inventory_view

router = Router()

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}


@router.post(
    "/v1/inventory/adjustments",
    summary="Report an inventory adjustment (delta or absolute count)",
    tags=["inventory"],
    responses={
        202: {
            "description": "Accepted; inventory.adjusted published",
            "content": {"application/json": {"model": Accepted}},
        },
        401: _PROBLEM,
        403: _PROBLEM,
        409: _PROBLEM,
        413: _PROBLEM,
        415: _PROBLEM,
        422: _PROBLEM,
    },
)
def post_adjustment(body: Annotated[AdjustmentRequest, Body()]) -> Response[Accepted]:
    ctx = router.context
    accepted, replayed = ctx["deps"].intake.accept(body, ctx["partner"], ctx["meta"])
    if replayed:
        metrics.add_metric(name="Replayed", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="Accepted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=accepted,
        headers={CORRELATION_HEADER: accepted.correlation_id, "Idempotent-Replayed": str(replayed).lower()},
    )


@router.get(
    "/v1/inventory/<sku>",
    summary="Inventory positions of a SKU (all your locations, or one)",
    tags=["inventory"],
    responses={
        200: {"description": "Positions", "content": {"application/json": {"model": InventoryView}}},
        401: _PROBLEM,
        403: _PROBLEM,
        404: _PROBLEM,
    },
)
def get_inventory(
    sku: Annotated[str, Path(max_length=64)],
    location: Annotated[str | None, Query(max_length=64)] = None,
) -> Response[InventoryView]:
    ctx = router.context
    view = inventory_view(ctx["deps"].store, ctx["partner"], sku, location)
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=view,
        headers={CORRELATION_HEADER: ctx["meta"].correlation_id},
    )
