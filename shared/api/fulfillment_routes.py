"""Order-to-ship callbacks: the WMS's pick progress and pick completion, the TMS's dispatch, cancel requests and
carrier tracking (docs/order-to-ship.md, "Callbacks"). Thin: the services decide (shared/services/fulfillment)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel, ValidationError

from shared.adapters import PayloadError, easypost
from shared.adapters.easypost import CarrierScan, TrackingReport
from shared.api.carrier_gate import is_easypost_delivery
from shared.api.fulfillment_models import (
    CallbackReceipt,
    CancelRequest,
    DispatchRequest,
    PickCompleteRequest,
    TrackingEvent,
    TrackingReceipt,
)
from shared.api.order_models import ORDER_ID_PATTERN
from shared.api.problem_response import CORRELATION_HEADER, field_errors
from shared.api.request import RawRequest
from shared.aws.fulfillment_store import FulfillmentStore
from shared.canonical.envelope import utcnow
from shared.canonical.partner import Partner
from shared.http import problems as p
from shared.http.problems import Problem
from shared.observability import logger
from shared.services.fulfillment.callbacks import Callbacks, Outcome, TaskTokens
from shared.services.fulfillment.tracking import TrackingService

if TYPE_CHECKING:
    from shared.api.deps import Deps

router = Router()

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}
_RECEIPT = {"application/json": {"model": CallbackReceipt}}
_OrderId = Annotated[str, Path(min_length=1, max_length=64, pattern=ORDER_ID_PATTERN)]
_STATUS = {"accepted": 202, "cancelling": 202, "duplicate": 200, "cancelled": 200}
_CALLBACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Accepted: the flow moves on", "content": _RECEIPT},
    200: {"description": "Reported already: nothing more happens", "content": _RECEIPT},
    401: _PROBLEM,
    403: {"description": "out-of-scope: partners of this kind may not report this", **_PROBLEM},
    404: {"description": "unknown-order (also for an order outside the partner's scopes)", **_PROBLEM},
    409: {"description": "order-not-awaiting or order-closed", **_PROBLEM},
    422: _PROBLEM,
    503: _PROBLEM,
}


def build_callbacks(deps: Deps) -> Callbacks:
    return Callbacks(FulfillmentStore(deps.settings.orders_table), TaskTokens())


def build_tracking(deps: Deps) -> TrackingService:
    return TrackingService(FulfillmentStore(deps.settings.orders_table), TaskTokens(), deps.settings.event_bus_name)


def _reply(status: int, body: BaseModel) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={CORRELATION_HEADER: router.context["meta"].correlation_id},
    )


def _receipt(outcome: Outcome) -> Response:
    receipt = CallbackReceipt(
        order_id=outcome.record.order_id,
        result=outcome.result,  # type: ignore[arg-type]
        status=outcome.record.status,
        correlation_id=router.context["meta"].correlation_id,
    )
    return _reply(_STATUS[outcome.result], receipt)


def _callbacks() -> Callbacks:
    return router.context["deps"].service(build_callbacks)


@router.post(
    "/v1/orders/<order_id>/pick-progress",
    summary="The warehouse is still picking the order (a heartbeat of the release wait)",
    description="Partners of kind warehouse whose scopes cover the order's location. No body.",
    tags=["fulfillment"],
    responses=_CALLBACK_RESPONSES,
)
def pick_progress(order_id: _OrderId) -> Response[CallbackReceipt]:
    ctx = router.context
    return _receipt(_callbacks().pick_progress(ctx["partner"], order_id))


@router.post(
    "/v1/orders/<order_id>/pick-complete",
    summary="The warehouse picked and packed the released order",
    description=(
        "Partners of kind warehouse whose scopes cover the order's location. Without `lines` every released unit "
        "was picked; with them, fewer units than released end the flow as a short pick (an order exception). "
        "A repeat is answered 200 `duplicate`."
    ),
    tags=["fulfillment"],
    responses=_CALLBACK_RESPONSES,
)
def pick_complete(order_id: _OrderId, body: Annotated[PickCompleteRequest, Body()]) -> Response[CallbackReceipt]:
    ctx = router.context
    return _receipt(_callbacks().pick_complete(ctx["partner"], order_id, body))


@router.post(
    "/v1/orders/<order_id>/dispatch",
    summary="The TMS booked the carrier and handed the shipment over",
    description=(
        "Partners of kind tms, warehouse or carrier whose scopes cover the order's location. The carrier and "
        "tracking number identify the shipment in later carrier tracking updates. A repeat is answered 200."
    ),
    tags=["fulfillment"],
    responses={
        **_CALLBACK_RESPONSES,
        409: {"description": "order-not-awaiting, order-closed, or conflict (another order's tracking)", **_PROBLEM},
    },
)
def dispatch(order_id: _OrderId, body: Annotated[DispatchRequest, Body()]) -> Response[CallbackReceipt]:
    ctx = router.context
    return _receipt(_callbacks().dispatch(ctx["partner"], order_id, body))


@router.post(
    "/v1/orders/<order_id>/cancel",
    summary="Cancel the order (until it is dispatched)",
    description=(
        "The partner that placed the order, or one whose scopes cover its location. 202 `cancelling`: the flow "
        "releases the reservation and tells the warehouse; 200 `cancelled`: cancelled or being cancelled already."
    ),
    tags=["fulfillment"],
    responses={
        202: {"description": "Cancelling", "content": _RECEIPT},
        200: {"description": "Cancelled already, or a cancel is under way", "content": _RECEIPT},
        401: _PROBLEM,
        404: _PROBLEM,
        409: {"description": "order-dispatched, or order-closed (in exception)", **_PROBLEM},
        422: _PROBLEM,
        503: _PROBLEM,
    },
)
def cancel(order_id: _OrderId, body: Annotated[CancelRequest, Body()]) -> Response[CallbackReceipt]:
    ctx = router.context
    return _receipt(_callbacks().cancel(ctx["partner"], order_id, body))


@router.post(
    "/v1/carriers/<carrier>/tracking",
    summary="A carrier's tracking update: an EasyPost webhook (Event or Tracker), or a canonical tracking event",
    description=(
        "Called without an API key by EasyPost: X-Hmac-Signature = 'hmac-sha256-hex=' + hex(HMAC-SHA256(the "
        "carrier's webhook secret, raw body)); EasyPost events other than tracker.created/updated are answered "
        "200 `ignored`. Other carriers send a canonical event {tracking_number, status, occurred_at, "
        "estimated_delivery?, detail?, where?, carrier?} with their API key and request signature. The shipment "
        "is found by the carrier named in the update and its tracking number (given at dispatch); repeats change "
        "nothing (200 `duplicate`)."
    ),
    tags=["fulfillment"],
    security=[{"easypostHmac": []}, {"apiKey": [], "signature": []}],
    responses={
        202: {"description": "New scans recorded", "content": {"application/json": {"model": TrackingReceipt}}},
        200: {
            "description": "Nothing new (duplicate), or not a tracking update (ignored)",
            "content": {"application/json": {"model": TrackingReceipt}},
        },
        401: _PROBLEM,
        404: {"description": "unknown-carrier, unknown-shipment", **_PROBLEM},
        413: _PROBLEM,
        415: _PROBLEM,
        422: _PROBLEM,
        503: _PROBLEM,
    },
)
def carrier_tracking(carrier: Annotated[str, Path(max_length=63)]) -> Response[TrackingReceipt]:
    ctx = router.context
    partner: Partner = ctx["partner"]
    if partner.partner_id != carrier or partner.kind != "carrier":  # the carrier gate authenticated it
        raise Problem(p.UNKNOWN_CARRIER, f"no active carrier '{carrier}'")
    request: RawRequest = ctx["request"]
    meta = ctx["meta"]
    report = _tracking_report(partner, request)
    if report is None:
        logger.info("carrier webhook ignored (not a tracker event)")
        return _reply(
            200, TrackingReceipt(result="ignored", reason="not a tracker event", correlation_id=meta.correlation_id)
        )
    logger.append_keys(tracking_number=report.tracking_number)
    outcome = ctx["deps"].service(build_tracking).receive(partner, report, meta.request_id)
    receipt = TrackingReceipt(
        order_id=outcome.record.order_id,
        result=outcome.result,  # type: ignore[arg-type]
        new_milestones=outcome.new_milestones,
        status=outcome.record.status,
        delayed=outcome.delayed,
        correlation_id=meta.correlation_id,
    )
    return _reply(202 if outcome.result == "accepted" else 200, receipt)


def _tracking_report(partner: Partner, request: RawRequest) -> TrackingReport | None:
    """The update as the carrier sent it: EasyPost's Event or Tracker (signed), else our canonical event."""
    if is_easypost_delivery(request):
        try:
            return easypost.read(request.body)
        except PayloadError as exc:
            raise Problem(p.VALIDATION_FAILED, f"not an EasyPost tracker: {exc}") from None
    try:
        event = TrackingEvent.model_validate_json(request.body)
    except ValidationError as exc:
        errors = field_errors([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
        detail = "; ".join(f"{e['pointer']}: {e['message']}" for e in errors)
        raise Problem(p.VALIDATION_FAILED, detail, {"errors": errors}) from None
    return TrackingReport(
        carrier=event.carrier or partner.partner_id,
        tracking_number=event.tracking_number,
        status=event.status,
        scans=(CarrierScan(status=event.status, at=event.occurred_at, detail=event.detail, where=event.where),),
        estimated_delivery=event.estimated_delivery,
        reported_at=utcnow(),
    )
