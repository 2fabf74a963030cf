"""`POST /v1/edi/inbound`: a VAN's or trading partner's webhook for raw X12 (docs/edi.md, "Gateway").

The envelope is read at once, so that a body with no readable interchange is refused while the caller waits; the
body is then kept where a file the partner drops would be (`inbound/<partner>/<sha256>.x12` in the EDI bucket), and
its processing is the S3 path's (`edi_inbound`): profile checks, 997s, the sets to their flows. The same body posted
twice is the same object (the same S3 event again, processed once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from shared.api.problem_response import CORRELATION_HEADER
from shared.api.request import RawRequest
from shared.canonical.partner import Partner
from shared.http import problems as p
from shared.http.problems import Problem
from shared.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from shared.api.deps import Deps
    from shared.aws.edi_files import EdiFiles

router = Router()

EDI_INBOUND_RESOURCE = "/v1/edi/inbound"  # its raw body skips the gate's JSON check (gate.RAW_BODY_RESOURCES)
# What the route accepts: X12 as its media type, or as plain text (what most VANs send).
X12_MEDIA_TYPES = ("application/edi-x12", "text/plain")

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}


class EdiInboundAccepted(BaseModel):
    """The body was kept for processing; its envelopes as `distrosync edi parse --json` prints them."""

    object_key: str = Field(description="Where the body is kept in the EDI bucket (inbound/<partner>/<sha256>.x12).")
    interchanges: list[dict[str, Any]] = Field(
        description="Each interchange read: control_number, sender, receiver, version, groups (functional_id, "
        "version, control_number, transactions: set_id, control_number, segment_count)."
    )
    errors: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Envelope errors (kind, message, interchange, group, transaction, segment); the 997s say what "
        "they reject.",
    )
    correlation_id: str


def media_type(request: RawRequest) -> str:
    return (request.header("content-type") or "").split(";", 1)[0].strip().lower()


def require_x12(request: RawRequest) -> None:
    """The body is declared as X12 or text, or the problem says what is accepted."""
    if media_type(request) not in X12_MEDIA_TYPES:
        declared = request.header("content-type") or "(none)"
        raise Problem(
            p.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {declared} is not one of {', '.join(X12_MEDIA_TYPES)}: send the raw X12 interchange(s)",
        )


def build_files(deps: Deps) -> EdiFiles:
    from shared.aws.edi_files import EdiFiles

    return EdiFiles(deps.settings.edi_bucket)


@router.post(
    EDI_INBOUND_RESOURCE,
    summary="Send X12 interchanges (a VAN's or trading partner's webhook)",
    description=(
        "The raw X12 as the body (Content-Type application/edi-x12 or text/plain), signed like every request. "
        "Partners with an EDI profile only. The envelopes are read at once (400 edi-unreadable when no interchange "
        "can be read); the body is then processed as a file dropped under inbound/<partner>/: the sender, receiver "
        "and test flag checked against the profile, a 997 per group (and a TA1 for an interchange refused) written "
        "under outbound/<partner>/, and each accepted set sent to its flow, as the API's routes do."
    ),
    tags=["edi"],
    responses={
        202: {"description": "Kept for processing", "content": {"application/json": {"model": EdiInboundAccepted}}},
        **{status: _PROBLEM for status in (400, 401, 403, 413, 415, 503)},
    },
)
def post_edi_inbound() -> Response[EdiInboundAccepted]:
    from shared.adapters.x12 import read

    ctx = router.context
    partner: Partner = ctx["partner"]
    request: RawRequest = ctx["request"]
    meta = ctx["meta"]
    if partner.edi is None:
        raise Problem(
            p.EDI_PROFILE_MISSING,
            f"partner '{partner.partner_id}' has no EDI profile: ask for one (distrosync edi partners set)",
        )
    require_x12(request)
    if not request.body.strip():
        raise Problem(p.EDI_UNREADABLE, "the body is empty: send the X12 interchange(s)")
    result = read(request.body)
    if not result.interchanges:
        reason = result.errors[0].message if result.errors else "no interchange (ISA) in the body"
        raise Problem(p.EDI_UNREADABLE, reason, {"errors": [e.to_dict() for e in result.errors[:20]]})
    key = ctx["deps"].service(build_files).put_inbound(partner.partner_id, request.body)
    metrics.add_metric(name="EdiInboundPosted", unit=MetricUnit.Count, value=1)
    logger.info(
        "X12 body kept for processing",
        extra={"object_key": key, "interchanges": [ic.control_number for ic in result.interchanges]},
    )
    parsed = result.to_dict()
    reply = EdiInboundAccepted(
        object_key=key, interchanges=parsed["interchanges"], errors=parsed["errors"], correlation_id=meta.correlation_id
    )
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=reply,
        headers={CORRELATION_HEADER: meta.correlation_id},
    )
