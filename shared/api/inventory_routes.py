"""Inventory inputs: adjustments, snapshots, receipts and incoming supply (202 once published).

Every route has the same replay semantics: the Idempotency-Key header, else the body's `message_id`, else the
position in the partner's feed identifies the request; a replay answers the first acceptance with
`Idempotent-Replayed: true` and publishes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from shared.api.deps import Deps
from shared.api.models import Accepted, AdjustmentRequest, IncomingRequest, ReceiptRequest, SnapshotRequest
from shared.api.problem_response import CORRELATION_HEADER
from shared.observability import MetricUnit, metrics
from shared.services.inventory_ingest import InventoryIngest

router = Router()

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}


def _responses(published: str) -> dict[int, Any]:
    return {
        202: {"description": f"Accepted; {published} published", "content": {"application/json": {"model": Accepted}}},
        **{status: _PROBLEM for status in (401, 403, 409, 413, 415, 422)},
    }


def build_ingest(deps: Deps) -> InventoryIngest:
    return InventoryIngest(deps.intake, deps.master)


def _accepted(accepted: Accepted, replayed: bool) -> Response[Accepted]:
    metrics.add_metric(name="Replayed" if replayed else "Accepted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=accepted,
        headers={CORRELATION_HEADER: accepted.correlation_id, "Idempotent-Replayed": str(replayed).lower()},
    )


def _service() -> tuple[InventoryIngest, Any, Any]:
    ctx = router.context
    return ctx["deps"].service(build_ingest), ctx["partner"], ctx["meta"]


@router.post(
    "/v1/inventory/adjustments",
    summary="Report an inventory adjustment (delta, absolute count or status change)",
    tags=["inventory"],
    responses=_responses("inventory.adjusted"),
)
def post_adjustment(body: Annotated[AdjustmentRequest, Body()]) -> Response[Accepted]:
    ingest, partner, meta = _service()
    return _accepted(*ingest.adjustment(body, partner, meta))


@router.post(
    "/v1/inventory/snapshots",
    summary="Report the absolute counts of a location (up to 1000 lines)",
    tags=["inventory"],
    responses=_responses("inventory.snapshot_received (one event per 100 lines)"),
)
def post_snapshot(body: Annotated[SnapshotRequest, Body()]) -> Response[Accepted]:
    ingest, partner, meta = _service()
    return _accepted(*ingest.snapshot(body, partner, meta))


@router.post(
    "/v1/inventory/receipts",
    summary="Report goods received, optionally against an incoming supply line",
    tags=["inventory"],
    responses=_responses("receipt.posted"),
)
def post_receipt(body: Annotated[ReceiptRequest, Body()]) -> Response[Accepted]:
    ingest, partner, meta = _service()
    return _accepted(*ingest.receipt(body, partner, meta))


@router.post(
    "/v1/inventory/incoming",
    summary="Report supply on its way: confirmed PO lines or ship-notice lines (up to 500 lines)",
    tags=["inventory"],
    responses=_responses("inventory.incoming_updated (one event per line)"),
)
def post_incoming(body: Annotated[IncomingRequest, Body()]) -> Response[Accepted]:
    ingest, partner, meta = _service()
    return _accepted(*ingest.incoming(body, partner, meta))
