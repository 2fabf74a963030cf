"""Supplier master routes: systems send their supplier records; partners read golden suppliers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from shared.api.problem_response import CORRELATION_HEADER
from shared.api.supplier_models import SupplierRecordAccepted
from shared.canonical.supplier import SupplierDetail, SupplierId, SupplierRecord
from shared.domain.errors import OutOfScope
from shared.domain.scopes import allows
from shared.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from shared.api.deps import Deps
    from shared.services.supplier_master import SupplierMaster

router = Router()

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}
_ACCEPTED = {"application/json": {"model": SupplierRecordAccepted}}
_STATUS = {"created": 201, "pending_review": 202}


def build_service(deps: Deps) -> SupplierMaster:
    from shared.aws.field_crypto import FieldCrypto
    from shared.aws.supplier_store import SupplierStore
    from shared.domain.supplier_survivorship import ATTRIBUTES
    from shared.services.supplier_master import SupplierMaster

    settings = deps.settings
    return SupplierMaster(
        SupplierStore(settings.suppliers_table, ATTRIBUTES), settings.event_bus_name, FieldCrypto(settings.data_key_arn)
    )


def _service() -> SupplierMaster:
    return router.context["deps"].service(build_service)


def _reply(status: int, body: Any) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={CORRELATION_HEADER: router.context["meta"].correlation_id},
    )


@router.post(
    "/v1/supplier-records",
    summary="Send your system's record of a supplier (ERP, finance, procurement, quality)",
    description=(
        "The record is matched to a golden supplier (tax id, DUNS, or name and postal code), the golden's "
        "attributes survive by source priority, and supplier.created / supplier.updated is published when a golden "
        "attribute changed. The bank account is stored encrypted and only ever shown masked."
    ),
    tags=["suppliers"],
    responses={
        201: {"description": "created: a new golden supplier", "content": _ACCEPTED},
        200: {"description": "matched, updated or unchanged", "content": _ACCEPTED},
        202: {"description": "pending_review: queued for a steward", "content": _ACCEPTED},
        401: _PROBLEM,
        403: _PROBLEM,
        413: _PROBLEM,
        415: _PROBLEM,
        422: _PROBLEM,
        503: _PROBLEM,
    },
)
def post_supplier_record(body: Annotated[SupplierRecord, Body()]) -> Response[SupplierRecordAccepted]:
    ctx = router.context
    submitted = _service().submit(body, ctx["partner"], ctx["meta"])
    # Ids and the outcome only: the record itself (bank account) is never logged.
    logger.info(
        "supplier record",
        extra={
            "local_id": body.local_id,
            "supplier_id": submitted.supplier_id,
            "outcome": submitted.outcome,
            "changed": submitted.changed,
        },
    )
    outcome = submitted.outcome.title().replace("_", "")
    metrics.add_metric(name=f"SupplierRecord{outcome}", unit=MetricUnit.Count, value=1)
    accepted = SupplierRecordAccepted(
        supplier_id=submitted.supplier_id,
        outcome=submitted.outcome,
        changed=submitted.changed,
        superseded=submitted.superseded,
        review_id=submitted.review_id,
        candidates=submitted.candidates,
        event_ids=list(submitted.event_ids),
    )
    return _reply(_STATUS.get(submitted.outcome, 200), accepted)


@router.get(
    "/v1/suppliers/<supplier_id>",
    summary="A golden supplier with its source records (bank accounts masked); follows merges",
    tags=["suppliers"],
    responses={
        200: {
            "description": "The golden supplier; requested_id differs from supplier.supplier_id when it was merged",
            "content": {"application/json": {"model": SupplierDetail}},
        },
        401: _PROBLEM,
        403: _PROBLEM,
        404: _PROBLEM,
        422: _PROBLEM,
    },
)
def get_supplier(supplier_id: Annotated[SupplierId, Path()]) -> Response[SupplierDetail]:
    from shared.domain.supplier_survivorship import SOURCE_KINDS

    partner = router.context["partner"]
    detail = _service().detail(supplier_id)
    # The systems that keep suppliers read every one; anyone else (a supplier's portal) only its own.
    if partner.kind not in SOURCE_KINDS and not allows(partner.scopes, "supplier", detail.supplier.supplier_id):
        raise OutOfScope(partner.partner_id, "supplier", supplier_id)
    return _reply(200, detail)
