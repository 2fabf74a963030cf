"""Purchase orders: the ERP's revisions of a PO (created, changed, unchanged or superseded) and reading one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from shared.aws.purchasing_store import WriteOutcome, revision_sk
from shared.canonical.envelope import EventData
from shared.canonical.partner import Partner
from shared.canonical.purchasing import (
    PurchaseOrder,
    PurchaseOrderChanged,
    PurchaseOrderCreated,
    PurchaseOrderLine,
)
from shared.domain import purchase_orders as po
from shared.domain.errors import OutOfScope
from shared.domain.scopes import allows
from shared.http import problems as p
from shared.http.problems import Problem
from shared.services.purchasing._base import (
    ATTEMPTS,
    Contended,
    ServiceBase,
    body_hash,
    outbox_envelopes,
    to_problem,
)

if TYPE_CHECKING:  # the overdue sweeper imports this module: it needs none of these
    from shared.api.purchasing_models import PurchaseOrderRequest
    from shared.services.inventory_ingest import RequestMeta

WRITER_KINDS = ("erp",)


@dataclass(frozen=True)
class OrderWritten:
    outcome: Literal["created", "changed", "unchanged", "superseded"]
    state: po.PoState
    event_ids: list[str] = field(default_factory=list)


class PurchaseOrders(ServiceBase):
    """The ERP writes a PO's revisions; its supplier and the partners scoped to its ship-to read it."""

    def put_order(
        self, po_number: str, body: PurchaseOrderRequest, partner: Partner, meta: RequestMeta
    ) -> OrderWritten:
        """The ERP's revision of a PO. Refuses partners that are not an ERP, a ship-to out of scope, unknown
        suppliers, SKUs, locations and units (each with its problem type)."""
        if partner.kind not in WRITER_KINDS and "*" not in partner.scopes:
            raise Problem(
                p.OUT_OF_SCOPE, f"partner '{partner.partner_id}' ({partner.kind}) may not send purchase orders"
            )
        master = self._master()
        body = master.with_location_codes(body)
        if not allows(partner.scopes, "location", body.location):
            raise OutOfScope(partner.partner_id, "location", body.location)
        if len(body.lines) > po.MAX_PO_LINES:
            raise Problem(
                p.TOO_MANY_LINES,
                f"the purchase order has {len(body.lines)} lines; at most {po.MAX_PO_LINES}",
                {"limit": po.MAX_PO_LINES, "lines": len(body.lines)},
            )
        from shared.services.master_data import Need

        resolved = master.require(
            [Need(location=body.location)]
            + [Need(sku=x.sku, unit=x.unit, at=f"/lines/{i}") for i, x in enumerate(body.lines)]
        )
        supplier_id = self._directory().resolve(partner.partner_id, body.supplier)
        if supplier_id is None:
            raise Problem(
                p.UNKNOWN_SUPPLIER,
                f"supplier '{body.supplier}' of system '{partner.partner_id}' is not in the supplier master",
                {"errors": [_pointer("/supplier", f"no supplier record '{body.supplier}'", p.UNKNOWN_SUPPLIER.slug)]},
            )
        now = self._clock()
        order = PurchaseOrder(
            po_number=po_number,
            revision=body.revision,
            status=body.status,
            supplier_id=supplier_id,
            supplier_reference=body.supplier,
            location=body.location,
            currency=body.currency,
            sent_at=body.sent_at or meta.received_at,
            erp_reference=body.erp_reference,
            lines=[
                PurchaseOrderLine(
                    line=x.line,
                    sku=x.sku,
                    quantity=resolved.eaches(x.sku, x.quantity, x.unit, at=f"/lines/{i}"),
                    unit_price=x.unit_price,
                    requested_date=x.requested_date,
                    need_date=x.need_date,
                )
                for i, x in enumerate(body.lines)
            ],
        )
        digest, sk = body_hash(body), revision_sk(body.revision)
        try:
            for attempt in range(ATTEMPTS):
                self._backoff(attempt)
                state, document = self.store.load(po_number, sk)
                completed = None  # this revision was written by an earlier request whose events are published now
                if document is not None and document.outbox:
                    self._flush(po_number, document)
                    completed = document.outcome
                window = state.ack_window_hours if state else self._ack_window(supplier_id)
                result = po.apply_revision(
                    state, order, now=now, ack_window_hours=window, correlation_id=meta.correlation_id
                )
                if result.outcome in ("unchanged", "superseded"):
                    assert state is not None
                    if completed and result.outcome == "unchanged":
                        return OrderWritten(completed, state, [e.id for e in outbox_envelopes(document)])  # type: ignore[arg-type]
                    return OrderWritten(result.outcome, state)
                head: EventData
                if result.outcome == "created":
                    head = PurchaseOrderCreated(purchase_order=order, version=1, ack_due_at=result.state.ack_due_at)
                else:
                    assert state is not None
                    head = PurchaseOrderChanged(
                        purchase_order=order,
                        version=result.state.version,
                        previous_revision=state.order.revision,
                        changed_lines=list(result.changed_lines),
                    )
                envelopes = self._effects(
                    state, result.state, head, source=partner.partner_id, occurred_at=meta.received_at, meta=meta
                )
                document = self._document(
                    sk, digest, result.outcome, result.state.version, "{}", partner, meta, envelopes
                )
                written = self.store.save(state.version if state else None, result.state, document)
                if written is WriteOutcome.OK:
                    self._publish_document(po_number, document, envelopes)
                    return OrderWritten(result.outcome, result.state, [e.id for e in envelopes])
        except po.PurchasingError as exc:
            raise to_problem(exc) from None
        raise Contended(f"purchase order '{po_number}' kept changing; retry")

    def get_order(self, po_number: str, partner: Partner) -> po.PoState:
        state, _ = self.store.load(po_number)
        if state is None:
            raise Problem(p.UNKNOWN_PURCHASE_ORDER, f"no purchase order '{po_number}'")
        if partner.kind == "supplier":
            self._require_owner(partner, state)
        elif not allows(partner.scopes, "location", state.order.location):
            raise OutOfScope(partner.partner_id, "location", state.order.location)
        return state

    def _ack_window(self, supplier_id: str) -> int:
        ref = self._directory().get(supplier_id)
        return ref.ack_window_hours if ref and ref.ack_window_hours else po.DEFAULT_ACK_WINDOW_HOURS


def _pointer(pointer: str, message: str, code: str) -> dict[str, Any]:
    return {"in": "body", "pointer": pointer, "message": message, "code": code}
