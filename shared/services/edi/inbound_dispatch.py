"""Each request mapped from an inbound X12 set goes to the service its API route calls, as the partner (docs/edi.md,
"Gateway", step 5), so that no flow can tell EDI from API.

The services are the route modules' own (`deps.service(factory)` with the routes' factories). What a service
refuses for good (unknown PO, out of scope, a conflict...) becomes a `SetResult` rejected with the problem's slug
and detail: it is not a 997 matter (the 997 speaks of syntax). What may pass on a retry (throttling, a 503, a PO
that kept changing, events not published) is raised, so that the SQS message is retried; every service is
idempotent on the request's document id or on the idempotency key `RequestMeta` carries, which is derived from the
set (sender, ISA13, GS06, ST02), so a retried message replays instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from shared.adapters.x12 import canonical as x12
from shared.canonical.partner import Partner
from shared.domain.errors import NotFound, OutOfScope
from shared.http.problems import Problem
from shared.services.inventory_ingest import RequestMeta

if TYPE_CHECKING:
    from shared.api.deps import Deps
    from shared.aws.edi_store import EdiStore

# Problems a retry may cure: they are raised, never turned into a rejection.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REASON = 500

Outcome = Literal["accepted", "rejected", "duplicate"]


@dataclass(frozen=True)
class SetResult:
    """What the service made of one request: accepted, a duplicate of one it had (nothing new), or rejected."""

    outcome: Outcome
    reason: str | None = None


def set_meta(
    *,
    partner_id: str,
    sender: str,
    interchange: str,
    group: str,
    transaction: str,
    part: int,
    parts: int,
    correlation_id: str,
    received_at: datetime,
) -> RequestMeta:
    """The request metadata of one request made from a set: the interchange's correlation id, and a request id and
    idempotency key that are the same every time the same set is read (an 856 with several orders makes several
    requests: `part` of `parts`)."""
    suffix = f"-{part}" if parts > 1 else ""
    return RequestMeta(
        correlation_id=correlation_id,
        request_id=f"edi-{partner_id}-{interchange}-{group}-{transaction}{suffix}",
        received_at=received_at,
        idempotency_key=f"x12:{sender}:{interchange}:{group}:{transaction}{suffix}",
    )


def _problem_reason(problem: Problem) -> str:
    """The problem's slug and detail, with the first field errors it carries (pointer: message), as the API's
    problem document would show them."""
    errors = problem.extensions.get("errors")
    listed = [
        f"{e.get('pointer', '')}: {e.get('message', '')}".strip(": ")
        for e in (errors if isinstance(errors, list) else [])[:5]
        if isinstance(e, dict)
    ]
    return f"{problem.kind.slug}: {problem.detail}" + (f" ({'; '.join(listed)})" if listed else "")


def _reason(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


class InboundDispatch:
    """`send(mapped, partner, meta)`: the mapped request through its service."""

    def __init__(self, deps: Deps, edi_store: EdiStore) -> None:
        self.deps = deps
        self.edi_store = edi_store
        self._handlers: dict[str, Callable[[str | None, Any, Partner, RequestMeta], SetResult]] = {
            x12.ACKNOWLEDGMENT: self._acknowledgment,
            x12.SHIP_NOTICE: self._ship_notice,
            x12.INVOICE: self._invoice,
            x12.ORDER: self._order,
            x12.INVENTORY_ADVICE: self._inventory_advice,
            x12.SHIPPING_ADVICE: self._shipping_advice,
            x12.CARRIER_MILESTONE: self._carrier_milestone,
            x12.FUNCTIONAL_ACK: self._functional_ack,
        }

    def send(self, mapped: x12.Mapped, partner: Partner, meta: RequestMeta) -> SetResult:
        if not mapped.ok:
            raise ValueError(f"set {mapped.control_number} did not map: nothing to send")
        handler = self._handlers.get(mapped.kind)
        if handler is None:
            return SetResult("rejected", f"no flow takes '{mapped.kind}' requests")
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

        from shared.services.purchasing import DocumentConflict

        try:
            return handler(mapped.reference, mapped.request, partner, meta)
        except Problem as exc:
            if exc.status in TRANSIENT_STATUSES:
                raise
            return SetResult("rejected", _reason(_problem_reason(exc)))
        except OutOfScope as exc:
            return SetResult("rejected", _reason(f"out-of-scope: {exc}"))
        except NotFound as exc:
            return SetResult("rejected", _reason(f"not-found: {exc}"))
        except DocumentConflict as exc:
            return SetResult("rejected", _reason(f"conflict: {exc}"))
        except IdempotencyValidationError:
            return SetResult(
                "rejected", "idempotency-key-reused: this set was received before with other content (same ISA13)"
            )

    # ------------------------------------------------------------------------------------------- purchasing
    def _purchasing(self) -> Any:
        from shared.api.purchasing_routes import build_service

        return self.deps.service(build_service)

    def _acknowledgment(self, po: str | None, body: Any, partner: Partner, meta: RequestMeta) -> SetResult:
        reply = self._purchasing().acknowledge(_required(po, "PO number"), body, partner, meta)
        if reply.replayed or reply.outcome == "unchanged":
            return SetResult("duplicate", f"acknowledgment {reply.acknowledgment_id} was applied before")
        if reply.outcome == "superseded":
            return SetResult("accepted", f"superseded: a later acknowledgment of {po} was applied before this one")
        return SetResult("accepted")

    def _ship_notice(self, po: str | None, body: Any, partner: Partner, meta: RequestMeta) -> SetResult:
        reply = self._purchasing().ship_notice(_required(po, "PO number"), body, partner, meta)
        if reply.replayed or reply.outcome == "unchanged":
            return SetResult("duplicate", f"ship notice {body.ship_notice_id} was applied before")
        return SetResult("accepted")

    def _invoice(self, po: str | None, body: Any, partner: Partner, meta: RequestMeta) -> SetResult:
        reply = self._purchasing().invoice(_required(po, "PO number"), body, partner, meta)
        if reply.replayed or reply.outcome == "unchanged":
            return SetResult("duplicate", f"invoice {body.invoice_id} was received before")
        return SetResult("accepted")

    # --------------------------------------------------------------------------------------- orders, stock
    def _order(self, _: str | None, body: Any, partner: Partner, meta: RequestMeta) -> SetResult:
        from shared.api.order_routes import build_orders

        order, replayed = self.deps.service(build_orders).create(body, partner, meta)
        return (
            SetResult("duplicate", f"order {order.order_id} was placed before") if replayed else SetResult("accepted")
        )

    def _inventory_advice(self, _: str | None, body: Any, partner: Partner, meta: RequestMeta) -> SetResult:
        from shared.api.inventory_routes import build_ingest

        _, replayed = self.deps.service(build_ingest).snapshot(body, partner, meta)
        if replayed:
            return SetResult("duplicate", f"snapshot {body.snapshot_id} of {body.location} was received before")
        return SetResult("accepted")

    # ---------------------------------------------------------------------------------------- order-to-ship
    def _shipping_advice(self, order_id: str | None, body: Any, partner: Partner, meta: RequestMeta) -> SetResult:
        from shared.api.fulfillment_routes import build_callbacks

        outcome = self.deps.service(build_callbacks).pick_complete(partner, _required(order_id, "order id"), body)
        if outcome.result == "duplicate":
            return SetResult("duplicate", f"the pick of order {order_id} was reported before")
        return SetResult("accepted")

    def _carrier_milestone(self, _: str | None, body: Any, partner: Partner, meta: RequestMeta) -> SetResult:
        from shared.adapters.easypost import CarrierScan, TrackingReport
        from shared.api.fulfillment_routes import build_tracking

        if partner.kind != "carrier":  # as POST /v1/carriers/{carrier}/tracking: carriers only
            return SetResult("rejected", f"out-of-scope: partners of kind '{partner.kind}' send no carrier milestones")
        report = TrackingReport(
            carrier=body.carrier or partner.partner_id,
            tracking_number=body.tracking_number,
            status=body.status,
            scans=(CarrierScan(status=body.status, at=body.occurred_at, detail=body.detail, where=body.where),),
            estimated_delivery=body.estimated_delivery,
            reported_at=meta.received_at,
        )
        outcome = self.deps.service(build_tracking).receive(partner, report, meta.request_id)
        if outcome.result == "duplicate":
            return SetResult("duplicate", f"milestone {body.status} of {body.tracking_number} was recorded before")
        return SetResult("accepted")

    # ------------------------------------------------------------------------------------------------ 997
    def _functional_ack(self, group: str | None, body: Any, partner: Partner, meta: RequestMeta) -> SetResult:
        ack: x12.FunctionalAck = body
        gs06 = _required(group, "group control number")
        recorded = self.edi_store.record_ack(
            partner.partner_id, gs06, ack.status, received_at=meta.received_at, detail=ack.detail()
        )
        if recorded is None:
            return SetResult("rejected", f"not-found: no group {gs06} was sent to partner '{partner.partner_id}'")
        return SetResult("accepted")


def _required(reference: str | None, what: str) -> str:
    if not reference:
        raise ValueError(f"the mapping gave no {what}")
    return reference
