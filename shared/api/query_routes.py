"""Inventory queries: every bucket of a SKU, time-phased ATP, and up to 100 SKUs at once."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel

from shared.api.problem_response import CORRELATION_HEADER
from shared.api.query_models import AtpView, InventoryQuery, InventoryQueryResult, InventoryView
from shared.canonical.envelope import utcnow
from shared.services import inventory_query

router = Router()

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}


def _ok(body: BaseModel) -> Response:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={CORRELATION_HEADER: router.context["meta"].correlation_id},
    )


@router.get(
    "/v1/inventory/<sku>",
    summary="Positions of a SKU: every bucket, at all your locations or one",
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
    return _ok(inventory_query.inventory_view(ctx["deps"].store, ctx["partner"], sku, location))


@router.get(
    "/v1/inventory/<sku>/atp",
    summary="Time-phased available-to-promise for a date (default today), per location",
    tags=["inventory"],
    responses={
        200: {"description": "ATP", "content": {"application/json": {"model": AtpView}}},
        401: _PROBLEM,
        403: _PROBLEM,
        404: _PROBLEM,
        422: _PROBLEM,
    },
)
def get_atp(
    sku: Annotated[str, Path(max_length=64)],
    location: Annotated[str | None, Query(max_length=64)] = None,
    date: Annotated[date | None, Query(description="YYYY-MM-DD, today or later (UTC).")] = None,
) -> Response[AtpView]:
    ctx = router.context
    today = utcnow().date()
    return _ok(inventory_query.atp_view(ctx["deps"].store, ctx["partner"], sku, location, date, today))


@router.post(
    "/v1/inventory/query",
    summary="Positions of up to 100 SKUs at once",
    tags=["inventory"],
    responses={
        200: {"description": "Positions", "content": {"application/json": {"model": InventoryQueryResult}}},
        401: _PROBLEM,
        403: _PROBLEM,
        422: _PROBLEM,
    },
)
def post_query(body: Annotated[InventoryQuery, Body()]) -> Response[InventoryQueryResult]:
    ctx = router.context
    items, missing = inventory_query.query(ctx["deps"].store, ctx["partner"], body.skus, body.locations)
    return _ok(InventoryQueryResult(items=items, not_found=missing))
