"""Acknowledgments: the supplier's answer to a PO, line by line (applied, superseded by a newer one, or a
duplicate)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from shared.aws.purchasing_store import WriteOutcome
from shared.canonical.partner import Partner
from shared.canonical.purchasing import AckLineOutcome, PurchaseOrderAcknowledged
from shared.domain import purchase_orders as po
from shared.services.purchasing._base import ATTEMPTS, Contended, ServiceBase, body_hash, to_problem

if TYPE_CHECKING:  # the overdue sweeper imports this module: it needs none of these
    from shared.api.purchasing_models import AcknowledgmentRequest
    from shared.services.inventory_ingest import RequestMeta


@dataclass(frozen=True)
class AckReply:
    outcome: Literal["applied", "unchanged", "superseded"]
    acknowledgment_id: str
    version: int
    lines: list[AckLineOutcome]
    event_ids: list[str]
    replayed: bool = False


class Acknowledgments(ServiceBase):
    """The supplier acknowledges its POs."""

    def acknowledge(self, po_number: str, body: AcknowledgmentRequest, partner: Partner, meta: RequestMeta) -> AckReply:
        """The supplier's acknowledgment: applied (its diff, supply, expectation and risk events), superseded by
        a newer one, or unchanged (a duplicate: nothing published)."""
        digest, sk = body_hash(body), f"ACK#{body.acknowledgment_id}"
        try:
            for attempt in range(ATTEMPTS):
                self._backoff(attempt)
                state, document = self._load_owned(po_number, sk, partner)
                if document is not None:
                    replay = self._replay(po_number, document, digest, "acknowledgment", body.acknowledgment_id)
                    stored = json.loads(document.result)
                    return AckReply(
                        replay,
                        body.acknowledgment_id,
                        document.version,
                        [AckLineOutcome.model_validate(x) for x in stored.get("lines", [])],
                        stored.get("event_ids", []),
                        replayed=True,
                    )
                ack = self._acknowledgment(state, body)
                result = po.apply_acknowledgment(state, ack, now=self._clock())
                if result.outcome == "superseded":
                    document = self._document(sk, digest, "superseded", state.version, "{}", partner, meta, [])
                    if self.store.put_document(po_number, document) is WriteOutcome.OK:
                        return AckReply("superseded", body.acknowledgment_id, state.version, [], [])
                    continue
                after = result.state
                head = PurchaseOrderAcknowledged(
                    po_number=po_number,
                    supplier_id=after.order.supplier_id,
                    acknowledgment_id=body.acknowledgment_id,
                    issued_at=body.issued_at,
                    version=after.version,
                    erp_reference=after.order.erp_reference,
                    lines=list(result.lines),
                    supplier_reference=after.order.supplier_reference,
                    location=after.order.location,
                )
                envelopes = self._effects(
                    state, after, head, source=partner.partner_id, occurred_at=body.issued_at, meta=meta
                )
                answer = {
                    "lines": [x.model_dump(mode="json") for x in result.lines],
                    "event_ids": [e.id for e in envelopes],
                }
                document = self._document(
                    sk, digest, "applied", after.version, json.dumps(answer), partner, meta, envelopes
                )
                if self.store.save(state.version, after, document) is WriteOutcome.OK:
                    self._publish_document(po_number, document, envelopes)
                    return AckReply(
                        "applied", body.acknowledgment_id, after.version, list(result.lines), answer["event_ids"]
                    )
        except po.PurchasingError as exc:
            raise to_problem(exc) from None
        raise Contended(f"purchase order '{po_number}' kept changing; retry")

    def _acknowledgment(self, state: po.PoState, body: AcknowledgmentRequest) -> po.Acknowledgment:
        """The request in eaches (each line's quantities in its unit, with its SKU's conversions)."""
        unknown = [(f"/lines/{i}/line", x.line) for i, x in enumerate(body.lines) if state.line(x.line) is None]
        if unknown:
            raise po.UnknownPoLine(po_number=state.po_number, lines=unknown)
        eaches = self._converter([(state.line(x.line).sku, x.unit, f"/lines/{i}") for i, x in enumerate(body.lines)])  # type: ignore[union-attr]
        lines = []
        for i, x in enumerate(body.lines):
            sku = state.line(x.line).sku  # type: ignore[union-attr]
            lines.append(
                po.AckLineInput(
                    line=x.line,
                    status=x.status,
                    quantity=None if x.quantity is None else eaches(sku, x.quantity, x.unit),
                    promised_date=x.promised_date,
                    unit_price=x.unit_price,
                    schedule=tuple(po.Delivery(eaches(sku, d.quantity, x.unit), d.date) for d in x.schedule),
                    at=f"/lines/{i}",
                )
            )
        return po.Acknowledgment(body.acknowledgment_id, body.issued_at, tuple(lines))
