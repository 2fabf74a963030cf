"""Purchasing routes (docs/supplier-collaboration.md): purchase orders from the ERP, acknowledgments, ship notices
and invoices from the supplier, lead times from the supplier or the ERP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, Field

from shared.api.problem_response import CORRELATION_HEADER
from shared.api.purchasing_models import (
    AcknowledgmentRequest,
    AcknowledgmentResult,
    LeadTimeRequest,
    LeadTimeView,
    LeadTimeWritten,
    PurchaseOrderLineView,
    PurchaseOrderRequest,
    PurchaseOrderView,
    PurchaseOrderWritten,
    ShipNoticeRequest,
    ShipNoticeResult,
    SupplierInvoiceRequest,
)
from shared.aws.purchasing_store import LeadTime, PurchasingStore
from shared.canonical.inventory import LocationCode, Sku
from shared.canonical.purchasing import PoNumber, ScheduledDelivery, SupplierInvoice
from shared.domain import purchase_orders as po
from shared.http import problems as p
from shared.http.problems import Problem
from shared.observability import MetricUnit, metrics
from shared.services.purchasing import (
    Contended,
    DocumentConflict,
    PurchasingService,
    expected_lines,
    invoice_metric,
)

if TYPE_CHECKING:
    from shared.api.deps import Deps

router = Router()

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}
_Po = Annotated[PoNumber, Path()]
_SupplierId = Annotated[str, Path(pattern=r"^SUP-[0-9A-Z]{8,26}$")]


def build_service(deps: Deps) -> PurchasingService:
    from shared.aws.supplier_directory import SupplierDirectory

    settings = deps.settings
    return PurchasingService(
        PurchasingStore(settings.purchasing_table),
        settings.event_bus_name,
        directory=SupplierDirectory(settings.suppliers_table),
        master=deps.master,
        positions=deps.store,
    )


def _service() -> PurchasingService:
    return router.context["deps"].service(build_service)


@contextmanager
def _as_problems() -> Iterator[None]:
    try:
        yield
    except DocumentConflict as exc:
        raise Problem(p.CONFLICT, str(exc), {"document": exc.kind, "id": exc.document_id}) from None
    except Contended as exc:
        raise Problem(p.UNAVAILABLE, str(exc), headers={"Retry-After": "1"}) from None


def _reply(status: int, body: Any, *, replayed: bool | None = None, **headers: str) -> Response[Any]:
    out: dict[str, Any] = {CORRELATION_HEADER: router.context["meta"].correlation_id, **headers}
    if replayed is not None:
        out["Idempotent-Replayed"] = str(replayed).lower()
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=out)


def _count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def order_view(state: po.PoState) -> PurchaseOrderView:
    order = state.order
    supply = po.supply(state)
    lines = []
    for line in order.lines:
        ack = state.acks.get(line.line)
        risk = po.line_risk(state, line.line)
        lines.append(
            PurchaseOrderLineView(
                line=line.line,
                sku=line.sku,
                ordered_quantity=line.quantity,
                unit_price=line.unit_price,
                requested_date=line.requested_date,
                need_date=po.need_date(line),
                status=state.status_of(line.line),
                confirmed_quantity=ack.confirmed if ack else None,
                promised_date=ack.promised_date if ack else None,
                confirmed_unit_price=ack.unit_price if ack else None,
                schedule=[
                    ScheduledDelivery(
                        reference=po.schedule_reference(order.po_number, line.line, n), quantity=d.quantity, date=d.date
                    )
                    for n, d in enumerate(ack.schedule if ack else (), start=1)
                ],
                shipped_quantity=state.shipped(line.line),
                at_risk=risk.at_risk,
                risk=list(risk.reasons),
                days_late=risk.days_late,
                shortfall=risk.shortfall,
            )
        )
    return PurchaseOrderView(
        po_number=order.po_number,
        revision=order.revision,
        status=order.status,
        supplier_id=order.supplier_id,
        supplier_reference=order.supplier_reference,
        location=order.location,
        currency=order.currency,
        sent_at=order.sent_at,
        erp_reference=order.erp_reference,
        version=state.version,
        ack_due_at=state.ack_due_at if state.awaiting_ack else None,
        ack_overdue_at=state.ack_overdue_at,
        acknowledgment_id=state.ack_id,
        acknowledged_at=state.ack_issued_at,
        lines=lines,
        incoming=expected_lines(supply.values()),
    )


def _lead_time_view(lead_time: LeadTime) -> LeadTimeView:
    return LeadTimeView(
        supplier_id=lead_time.supplier_id,
        sku=lead_time.sku,
        location=lead_time.location,
        lead_time_days=lead_time.lead_time_days,
        sequence=lead_time.sequence,
        effective_at=lead_time.effective_at,
        updated_at=lead_time.updated_at,
        updated_by=lead_time.updated_by,
    )


# ------------------------------------------------------------------------------------------ purchase orders
@router.put(
    "/v1/purchase-orders/<po_number>",
    summary="Create or revise a purchase order (ERP)",
    description=(
        "The whole PO in one revision. An older revision than the stored one changes nothing (`superseded`), the "
        "same revision again is `unchanged`. Publishes purchase_order.created or purchase_order.changed, the "
        "lines' incoming supply (inventory.incoming_updated) and the warehouse's inbound expectation."
    ),
    tags=["purchasing"],
    responses={
        201: {"description": "Created", "content": {"application/json": {"model": PurchaseOrderWritten}}},
        200: {
            "description": "Changed, unchanged or superseded",
            "content": {"application/json": {"model": PurchaseOrderWritten}},
        },
        **{status: _PROBLEM for status in (401, 403, 409, 413, 415, 422, 503)},
    },
)
def put_purchase_order(po_number: _Po, body: Annotated[PurchaseOrderRequest, Body()]) -> Response[PurchaseOrderWritten]:
    ctx = router.context
    with _as_problems():
        written = _service().put_order(po_number, body, ctx["partner"], ctx["meta"])
    _count(f"PurchaseOrder{written.outcome.capitalize()}")
    reply = PurchaseOrderWritten(
        outcome=written.outcome, purchase_order=order_view(written.state), event_ids=written.event_ids
    )
    return _reply(201 if written.outcome == "created" else 200, reply)


@router.get(
    "/v1/purchase-orders/<po_number>",
    summary="A purchase order with its acknowledged state, shipments, risk and open supply",
    tags=["purchasing"],
    responses={
        200: {"description": "The PO", "content": {"application/json": {"model": PurchaseOrderView}}},
        **{status: _PROBLEM for status in (401, 403, 404)},
    },
)
def get_purchase_order(po_number: _Po) -> Response[PurchaseOrderView]:
    return _reply(200, order_view(_service().get_order(po_number, router.context["partner"])))


# ------------------------------------------------------------------------------------------ acknowledgments
@router.post(
    "/v1/purchase-orders/<po_number>/acknowledgments",
    summary="Acknowledge a purchase order, line by line (the PO's supplier)",
    description=(
        "Per line: accepted, changed (quantity, promised date, price, split schedule), rejected or backordered. "
        "An acknowledgment issued before the last one applied is `superseded`; the same one again is "
        "`unchanged` and publishes nothing; the same id with another body is a conflict (409)."
    ),
    tags=["purchasing"],
    responses={
        201: {"description": "Applied", "content": {"application/json": {"model": AcknowledgmentResult}}},
        200: {
            "description": "Unchanged or superseded",
            "content": {"application/json": {"model": AcknowledgmentResult}},
        },
        **{status: _PROBLEM for status in (401, 403, 404, 409, 413, 415, 422, 503)},
    },
)
def post_acknowledgment(
    po_number: _Po, body: Annotated[AcknowledgmentRequest, Body()]
) -> Response[AcknowledgmentResult]:
    ctx = router.context
    with _as_problems():
        ack = _service().acknowledge(po_number, body, ctx["partner"], ctx["meta"])
    _count({"applied": "AcknowledgmentApplied", "superseded": "AcknowledgmentSuperseded"}.get(ack.outcome, "Replayed"))
    reply = AcknowledgmentResult(
        outcome=ack.outcome,
        po_number=po_number,
        acknowledgment_id=ack.acknowledgment_id,
        version=ack.version,
        lines=ack.lines,
        event_ids=ack.event_ids,
    )
    status = 201 if ack.outcome == "applied" and not ack.replayed else 200
    return _reply(status, reply, replayed=ack.replayed)


# --------------------------------------------------------------------------------------------- ship notices
@router.post(
    "/v1/purchase-orders/<po_number>/ship-notices",
    summary="Announce a shipment against a purchase order (the PO's supplier)",
    description=(
        "Shipped lines become in-transit supply (`<po>/<line>/<ship notice id>`, at the ETA) and leave the "
        "line's on-order supply; the unshipped rest stays on order. Cartons carry SSCC-18s with a valid check "
        "digit and add up to the lines. A receipt against the in-transit reference closes it."
    ),
    tags=["purchasing"],
    responses={
        201: {"description": "Applied", "content": {"application/json": {"model": ShipNoticeResult}}},
        200: {"description": "The same notice again", "content": {"application/json": {"model": ShipNoticeResult}}},
        **{status: _PROBLEM for status in (401, 403, 404, 409, 413, 415, 422, 503)},
    },
)
def post_ship_notice(po_number: _Po, body: Annotated[ShipNoticeRequest, Body()]) -> Response[ShipNoticeResult]:
    ctx = router.context
    with _as_problems():
        shipped = _service().ship_notice(po_number, body, ctx["partner"], ctx["meta"])
    _count("ShipNoticeApplied" if shipped.outcome == "applied" and not shipped.replayed else "Replayed")
    reply = ShipNoticeResult(
        outcome=shipped.outcome, ship_notice=shipped.ship_notice, version=shipped.version, event_ids=shipped.event_ids
    )
    return _reply(
        201 if shipped.outcome == "applied" and not shipped.replayed else 200, reply, replayed=shipped.replayed
    )


# ------------------------------------------------------------------------------------------ supplier invoices
class SupplierInvoiceResult(BaseModel):
    outcome: Literal["applied", "unchanged"]
    invoice: SupplierInvoice = Field(description="The invoice in eaches, with its three-way match as of its arrival.")
    event_ids: list[str] = Field(default_factory=list)


@router.post(
    "/v1/purchase-orders/<po_number>/invoices",
    summary="Invoice a purchase order (the PO's supplier); kept with its three-way match",
    description=(
        "Each line is matched against its PO line (SKU, ordered quantity, price per each within the larger of 1% "
        "and 0.01) and what was received against it, counting the PO's earlier invoices; the stated total against "
        "the lines. A mismatch is not a refusal: the invoice is kept with its issues (`match.status` `exceptions`) "
        "and supplier_invoice.received published. The same invoice again is `unchanged` and publishes nothing; "
        "the same id with another body is a conflict (409)."
    ),
    tags=["purchasing"],
    responses={
        201: {"description": "Received and matched", "content": {"application/json": {"model": SupplierInvoiceResult}}},
        200: {
            "description": "The same invoice again",
            "content": {"application/json": {"model": SupplierInvoiceResult}},
        },
        **{status: _PROBLEM for status in (401, 403, 404, 409, 413, 415, 422, 503)},
    },
)
def post_invoice(po_number: _Po, body: Annotated[SupplierInvoiceRequest, Body()]) -> Response[SupplierInvoiceResult]:
    ctx = router.context
    with _as_problems():
        received = _service().invoice(po_number, body, ctx["partner"], ctx["meta"])
    _count(invoice_metric(received))
    reply = SupplierInvoiceResult(outcome=received.outcome, invoice=received.invoice, event_ids=received.event_ids)
    applied = received.outcome == "applied" and not received.replayed
    return _reply(201 if applied else 200, reply, replayed=received.replayed)


# ----------------------------------------------------------------------------------------------- lead times
@router.put(
    "/v1/suppliers/<supplier_id>/items/<sku>/lead-time",
    summary="Set a supplier's lead time for an item (the supplier, or an ERP / procurement system)",
    description="Ordered by `sequence` (or `effective_at`): an older update is `stale`; the same value is "
    "`unchanged` and publishes nothing; a change publishes supplier.lead_time_updated with the previous value.",
    tags=["purchasing"],
    responses={
        200: {
            "description": "Written, unchanged or stale",
            "content": {"application/json": {"model": LeadTimeWritten}},
        },
        **{status: _PROBLEM for status in (401, 403, 413, 415, 422, 503)},
    },
)
def put_lead_time(
    supplier_id: _SupplierId, sku: Annotated[Sku, Path()], body: Annotated[LeadTimeRequest, Body()]
) -> Response[LeadTimeWritten]:
    ctx = router.context
    with _as_problems():
        written = _service().put_lead_time(supplier_id, sku, body, ctx["partner"], ctx["meta"])
    _count("LeadTimeStale" if written.outcome == "stale" else "LeadTimeWritten")
    reply = LeadTimeWritten(
        outcome=written.outcome, lead_time=_lead_time_view(written.lead_time), event_id=written.event_id
    )
    return _reply(200, reply)


@router.get(
    "/v1/suppliers/<supplier_id>/items/<sku>/lead-time",
    summary="A supplier's lead time for an item (every location, or one)",
    tags=["purchasing"],
    responses={
        200: {"description": "The lead time", "content": {"application/json": {"model": LeadTimeView}}},
        **{status: _PROBLEM for status in (401, 403, 404, 422)},
    },
)
def get_lead_time(
    supplier_id: _SupplierId,
    sku: Annotated[Sku, Path()],
    location: Annotated[LocationCode | None, Query(description="One ship-to location's lead time.")] = None,
) -> Response[LeadTimeView]:
    lead_time = _service().get_lead_time(supplier_id, sku, location, router.context["partner"])
    return _reply(200, _lead_time_view(lead_time))
