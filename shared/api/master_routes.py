"""Master data: items and locations, written by the ERP, read by every partner."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from shared.api.models import ItemBody, ItemView, ItemWritten, LocationBody, LocationView, LocationWritten
from shared.api.problem_response import CORRELATION_HEADER
from shared.aws.master_store import StoredItem, StoredLocation, Versioned
from shared.canonical.inventory import LocationCode, Sku
from shared.domain.errors import NotFound
from shared.observability import MetricUnit, metrics
from shared.services.master_data import Written

router = Router()

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}
_WRITE_PROBLEMS = {status: _PROBLEM for status in (401, 403, 409, 413, 415, 422)}
_READ_PROBLEMS = {status: _PROBLEM for status in (401, 404, 422)}


def _item_view(stored: StoredItem) -> ItemView:
    return ItemView(**stored.record.model_dump(), **_versioning(stored))


def _location_view(stored: StoredLocation) -> LocationView:
    return LocationView(**stored.record.model_dump(), **_versioning(stored))


def _versioning(stored: Versioned[Any]) -> dict[str, Any]:
    return {"sequence": stored.sequence, "updated_at": stored.updated_at, "updated_by": stored.updated_by}


def _ok(body: Any) -> Response[Any]:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={CORRELATION_HEADER: router.context["meta"].correlation_id},
    )


def _count(written: Written[Any]) -> None:
    name = "MasterDataStale" if written.status == "stale" else "MasterDataWritten"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@router.put(
    "/v1/items/<sku>",
    summary="Create or update an item (ERP): units of measure, safety stock, cross-references",
    tags=["master data"],
    responses={200: {"description": "Written, or stale", "content": {"application/json": {"model": ItemWritten}}}}
    | _WRITE_PROBLEMS,
)
def put_item(sku: Annotated[Sku, Path()], body: Annotated[ItemBody, Body()]) -> Response[ItemWritten]:
    ctx = router.context
    written = ctx["deps"].master.put_item(body.item(sku), body.sequence, partner=ctx["partner"], meta=ctx["meta"])
    _count(written)
    return _ok(ItemWritten(status=written.status, event_id=written.event_id, item=_item_view(written.stored)))


@router.get(
    "/v1/items/<sku>",
    summary="An item of the item master",
    tags=["master data"],
    responses={200: {"description": "The item", "content": {"application/json": {"model": ItemView}}}} | _READ_PROBLEMS,
)
def get_item(sku: Annotated[Sku, Path()]) -> Response[ItemView]:
    stored = router.context["deps"].master.get_item(sku)
    if stored is None:
        raise NotFound(f"SKU '{sku}' is not in the item master")
    return _ok(_item_view(stored))


@router.put(
    "/v1/locations/<code>",
    summary="Create or update a location (ERP)",
    tags=["master data"],
    responses={200: {"description": "Written, or stale", "content": {"application/json": {"model": LocationWritten}}}}
    | _WRITE_PROBLEMS,
)
def put_location(
    code: Annotated[LocationCode, Path()], body: Annotated[LocationBody, Body()]
) -> Response[LocationWritten]:
    ctx = router.context
    written = ctx["deps"].master.put_location(
        body.location(code), body.sequence, partner=ctx["partner"], meta=ctx["meta"]
    )
    _count(written)
    return _ok(
        LocationWritten(status=written.status, event_id=written.event_id, location=_location_view(written.stored))
    )


@router.get(
    "/v1/locations/<code>",
    summary="A location of the location master",
    tags=["master data"],
    responses={200: {"description": "The location", "content": {"application/json": {"model": LocationView}}}}
    | _READ_PROBLEMS,
)
def get_location(code: Annotated[LocationCode, Path()]) -> Response[LocationView]:
    stored = router.context["deps"].master.get_location(code)
    if stored is None:
        raise NotFound(f"location '{code}' is not in the location master")
    return _ok(_location_view(stored))
