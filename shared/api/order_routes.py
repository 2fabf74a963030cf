"""Customer orders and the exceptions list (issue #4; docs/supplier-collaboration.md, "Promising")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel

from shared.api.fulfillment_models import FulfillmentExceptionList, OrderDetail
from shared.api.order_models import ORDER_ID_PATTERN, ExceptionKind, OrderRequest, OrderView
from shared.api.problem_response import CORRELATION_HEADER
from shared.aws.fulfillment_store import FulfillmentStore
from shared.aws.orders_store import OrdersStore
from shared.observability import MetricUnit, metrics
from shared.services.exceptions import ExceptionsService
from shared.services.fulfillment.view import OrderDetails
from shared.services.orders import OrderService

if TYPE_CHECKING:
    from shared.api.deps import Deps

router = Router()

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}
_ORDER = {"application/json": {"model": OrderView}}
_OrderId = Annotated[str, Path(min_length=1, max_length=64, pattern=ORDER_ID_PATTERN)]


def build_orders(deps: Deps) -> OrderService:
    return OrderService(OrdersStore(deps.settings.orders_table), deps.settings.event_bus_name, master=deps.master)


def build_details(deps: Deps) -> OrderDetails:
    return OrderDetails(FulfillmentStore(deps.settings.orders_table), deps.service(build_orders))


def build_exceptions(deps: Deps) -> ExceptionsService:
    return ExceptionsService(OrdersStore(deps.settings.orders_table))


def _reply(status: int, body: BaseModel, **headers: str) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={CORRELATION_HEADER: router.context["meta"].correlation_id, **headers},
    )


@router.post(
    "/v1/orders",
    summary="Place a customer order: its lines are promised against stock and supply",
    description=(
        "Partners of kind channel or erp, for locations in their scope. The order and a demand line per order "
        "line are written at once, then order.created is published; each line's promise follows (GET the order)."
    ),
    tags=["orders"],
    responses={
        201: {"description": "Accepted; order.created published", "content": _ORDER},
        200: {"description": "The same order again: the existing order, with its promises", "content": _ORDER},
        401: _PROBLEM,
        403: _PROBLEM,
        409: {"description": "order-conflict: the order id exists with other lines", **_PROBLEM},
        422: _PROBLEM,
        503: _PROBLEM,
    },
)
def create_order(body: Annotated[OrderRequest, Body()]) -> Response[OrderView]:
    ctx = router.context
    order, replayed = ctx["deps"].service(build_orders).create(body, ctx["partner"], ctx["meta"])
    metrics.add_metric(name="OrderReplayed" if replayed else "OrderCreated", unit=MetricUnit.Count, value=1)
    if not replayed:
        metrics.add_metric(name="OrderLines", unit=MetricUnit.Count, value=len(order.lines))
    return _reply(
        200 if replayed else 201,
        order,
        Location=f"/v1/orders/{order.order_id}",
        **{"Idempotent-Replayed": str(replayed).lower()},
    )


@router.get(
    "/v1/orders/<order_id>",
    summary="A customer order with each line's promise and its order-to-ship state",
    description=(
        "The partner that placed it, or one whose scopes cover every location it ships from. `fulfillment`: the "
        "order's status and flow step, what it waits for (pick, dispatch, delivery) and since when, its "
        "reservation, shipment, exception and cancel request, and its timeline in time order."
    ),
    tags=["orders"],
    responses={
        200: {"description": "The order", "content": {"application/json": {"model": OrderDetail}}},
        401: _PROBLEM,
        404: _PROBLEM,
    },
)
def get_order(order_id: _OrderId) -> Response[OrderDetail]:
    ctx = router.context
    return _reply(200, ctx["deps"].service(build_details).get(ctx["partner"], order_id))


@router.get(
    "/v1/exceptions",
    summary="Orders that need attention: promise_at_risk (lines promised after their requested date), "
    "order_exception (the order-to-ship flow failed for good), shipment_delayed (the carrier expects to deliver "
    "after the promised date)",
    description=(
        "Every partner; the entries at the locations its scopes cover. A line leaves promise_at_risk when its "
        "promise is back on or before its requested date; an order leaves shipment_delayed when the carrier's "
        "estimate is back on or before the promised date, order_exception when the order leaves `exception`."
    ),
    tags=["orders"],
    responses={
        200: {
            "description": "One page of the list",
            "content": {"application/json": {"model": FulfillmentExceptionList}},
        },
        401: _PROBLEM,
        422: _PROBLEM,
    },
)
def list_exceptions(
    kind: Annotated[
        ExceptionKind, Query(description="The list: promise_at_risk, order_exception or shipment_delayed.")
    ],
    limit: Annotated[int, Query(ge=1, le=100, description="Entries per page.")] = 50,
    next: Annotated[str | None, Query(max_length=1024, description="The token of the previous page.")] = None,
) -> Response[FulfillmentExceptionList]:
    ctx = router.context
    page = ctx["deps"].service(build_exceptions).list(ctx["partner"], kind, limit=limit, next_token=next)
    return _reply(200, page)
