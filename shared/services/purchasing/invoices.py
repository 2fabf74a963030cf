"""Supplier invoices: what the PO's supplier bills against it (an 810 or the portal), kept as a document of the PO
with its three-way match against the PO and what the warehouse received (docs/supplier-collaboration.md,
"Invoices"). The match itself is `shared.domain.invoice_matching`.

AWS requests of an invoice: one BatchGetItem (the PO, the invoice's document, the PO's invoiced tally), the item
master for units other than `each` and for product ids that are not the PO line's SKU (cached), one BatchGetItem
of the lines' inventory positions (what was received against each line), one TransactWriteItems (the tally at the
version read, and the document with its event), one PutEvents and one UpdateItem clearing the document's outbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Literal

from shared.aws.bus import MAX_REQUEST_BYTES, entry_size, to_entry
from shared.aws.purchasing_store import InvoicedTally, WriteOutcome, invoice_sk
from shared.canonical.envelope import Envelope
from shared.canonical.partner import Partner
from shared.canonical.purchasing import (
    InvoiceLineMatch,
    InvoiceMatch,
    SupplierInvoice,
    SupplierInvoiceLine,
    SupplierInvoiceReceived,
)
from shared.domain import invoice_matching as im
from shared.domain import purchase_orders as po
from shared.http import problems as p
from shared.http.problems import Problem
from shared.services.purchasing._base import ATTEMPTS, Contended, ServiceBase, body_hash, to_problem

if TYPE_CHECKING:  # the overdue sweeper imports this package: it needs none of these
    from shared.api.purchasing_models import SupplierInvoiceRequest
    from shared.services.inventory_ingest import RequestMeta


@dataclass(frozen=True)
class InvoiceReply:
    outcome: Literal["applied", "unchanged"]
    invoice: SupplierInvoice
    event_ids: list[str]
    replayed: bool = False


class Invoices(ServiceBase):
    """The supplier invoices its POs; each invoice is kept with its match, never refused for a mismatch."""

    def invoice(
        self, po_number: str, body: SupplierInvoiceRequest, partner: Partner, meta: RequestMeta
    ) -> InvoiceReply:
        """The PO's supplier's invoice, matched and kept (`applied`); the same invoice again is `unchanged` and
        publishes nothing (unless the first request could not), another body under its id a conflict. Invoices
        against closed or cancelled POs are kept too (a cancelled PO is an issue of the match)."""
        digest = body_hash(body)
        try:
            for attempt in range(ATTEMPTS):
                self._backoff(attempt)
                state, document, tally = self.store.load_invoicing(po_number, body.invoice_id)
                if state is None:
                    raise Problem(p.UNKNOWN_PURCHASE_ORDER, f"no purchase order '{po_number}'")
                self._require_owner(partner, state)
                if document is not None:
                    replay = self._replay(po_number, document, digest, "invoice", body.invoice_id)
                    stored = json.loads(document.result)
                    return InvoiceReply(
                        replay,  # type: ignore[arg-type]
                        SupplierInvoice.model_validate(stored["invoice"]),
                        stored.get("event_ids", []),
                        replayed=True,
                    )
                invoice, invoiced = self._match(state, body, partner, tally)
                after = InvoicedTally(version=tally.version + 1, lines=invoiced, invoices=tally.invoices + 1)
                head = SupplierInvoiceReceived(
                    invoice=invoice,
                    erp_reference=state.order.erp_reference,
                    supplier_reference=state.order.supplier_reference,
                )
                envelope = Envelope[SupplierInvoiceReceived].wrap(
                    head,
                    source_partner=partner.partner_id,
                    occurred_at=datetime.combine(body.invoice_date, time(), UTC),
                    received_at=meta.received_at,
                    correlation_id=meta.correlation_id,
                    causation_id=meta.request_id or None,
                    event_id=po.event_id(po_number, after.version, head.event_type, head.subject()),
                )
                self._require_publishable(envelope, len(body.lines))
                answer = {"invoice": invoice.model_dump(mode="json"), "event_ids": [envelope.id]}
                document = self._document(
                    invoice_sk(body.invoice_id),
                    digest,
                    "applied",
                    state.version,
                    json.dumps(answer),
                    partner,
                    meta,
                    [envelope],
                )
                if self.store.save_invoice(po_number, tally.version, after, document) is WriteOutcome.OK:
                    self._publish_document(po_number, document, [envelope])
                    return InvoiceReply("applied", invoice, [envelope.id])
        except po.PurchasingError as exc:
            raise to_problem(exc) from None
        raise Contended(f"purchase order '{po_number}' kept changing; retry")

    def _match(
        self, state: po.PoState, body: SupplierInvoiceRequest, partner: Partner, tally: InvoicedTally
    ) -> tuple[SupplierInvoice, dict[int, int]]:
        """The invoice in eaches and prices per each, matched against the PO, the receipts and earlier invoices;
        and the PO's new invoiced tally."""
        order = state.order
        skus = self._invoiced_skus(state, body, partner)
        # Quantities convert with the PO line's item (as ship notices do); a line not on the PO with the item it
        # names, which is needed only for a unit other than `each`.
        items: list[str | None] = []
        for i, x in enumerate(body.lines):
            line = state.line(x.line)
            item = line.sku if line else (skus.get(x.sku, x.sku) if x.sku else None)
            if item is None and x.unit != "each":
                raise po.PurchasingError(
                    f"line {x.line} is not on purchase order {order.po_number} and names no SKU: its quantity in "
                    f"'{x.unit}' cannot be converted to eaches",
                    [
                        {
                            "in": "body",
                            "pointer": f"/lines/{i}/unit",
                            "message": "a line that is not on the purchase order needs a SKU to convert its unit",
                            "code": "validation-failed",
                        }
                    ],
                )
            items.append(item)
        eaches = self._converter(
            [
                (item, x.unit, f"/lines/{i}")
                for i, (item, x) in enumerate(zip(items, body.lines, strict=True))
                if item is not None
            ]
        )
        invoiced: list[im.InvoicedLine] = []
        for item, x in zip(items, body.lines, strict=True):
            factor = eaches(item, 1, x.unit) if item is not None else 1
            invoiced.append(
                im.InvoicedLine(
                    line=x.line,
                    sku=skus.get(x.sku, x.sku) if x.sku else None,
                    quantity=x.quantity * factor,
                    unit_price=im.per_each(x.unit_price, factor),
                    amount=x.quantity * x.unit_price,
                )
            )
        numbers = sorted({x.line for x in body.lines if state.line(x.line) is not None})
        received = self._received(state, numbers)
        facts = {}
        for n in numbers:
            line = state.line(n)
            assert line is not None
            ack = state.acks.get(n)
            price = line.unit_price if line.unit_price is not None else (ack.unit_price if ack else None)
            facts[n] = im.PoLineFacts(n, line.sku, line.quantity, price, received[n])
        result = im.match_invoice(
            invoiced,
            facts,
            invoiced_before=tally.lines,
            stated_total=body.total,
            currency=body.currency,
            po_currency=order.currency,
            po_cancelled=order.status == "cancelled",
        )
        lines = [
            SupplierInvoiceLine(
                line=x.line,
                sku=body.lines[i].sku,
                quantity=x.quantity,
                unit_price=x.unit_price,
                amount=x.amount,
                match=InvoiceLineMatch(
                    status=m.status,
                    issues=list(m.issues),
                    po_sku=m.po_sku,
                    ordered_quantity=m.ordered,
                    received_quantity=m.received,
                    invoiced_quantity=m.invoiced_to_date,
                    po_unit_price=m.po_unit_price,
                    price_variance=m.price_variance,
                ),
            )
            for i, (x, m) in enumerate(zip(invoiced, result.lines, strict=True))
        ]
        invoice = SupplierInvoice(
            invoice_id=body.invoice_id,
            po_number=order.po_number,
            supplier_id=order.supplier_id,
            location=order.location,
            invoice_date=body.invoice_date,
            currency=body.currency or order.currency,
            terms=body.terms,
            total=body.total,
            lines=lines,
            match=InvoiceMatch(
                status=result.status,
                issues=list(result.issues),
                lines_total=result.lines_total,
                exception_lines=sum(1 for m in result.lines if m.issues),
            ),
        )
        return invoice, dict(result.invoiced)

    def _require_publishable(self, envelope: Envelope[SupplierInvoiceReceived], lines: int) -> None:
        """Refuse, before anything is written, an invoice whose event EventBridge would not take (256 KB): kept, it
        would wait on its document forever."""
        size = entry_size(to_entry(envelope, self.bus_name))
        if size > MAX_REQUEST_BYTES:
            raise Problem(
                p.TOO_MANY_LINES,
                f"the invoice's event would be {size} bytes with its {lines} lines; an event holds at most "
                f"{MAX_REQUEST_BYTES}: invoice the purchase order in several invoices",
                {"lines": lines, "event_bytes": size, "limit_bytes": MAX_REQUEST_BYTES},
            )

    def _invoiced_skus(self, state: po.PoState, body: SupplierInvoiceRequest, partner: Partner) -> dict[str, str]:
        """The product ids the invoice names -> our SKU, for those that denote one: the PO line's SKU itself, the
        GTIN of the PO line's item, or a cross-reference of the item under the partner's id (`system`). Ids that
        resolve to nothing are absent (compared as they are)."""
        named = [(x.sku, state.line(x.line)) for x in body.lines if x.sku]
        out = {sku: sku for sku, line in named if line is not None and sku == line.sku}
        pending = [(sku, line) for sku, line in named if sku not in out]
        if not pending:
            return out
        items = self._master().items(line.sku for _, line in pending if line is not None)
        for sku, line in pending:
            item = items.get(line.sku) if line is not None else None
            if item is not None and item.gtin and sku.isdigit() and sku.zfill(14) == item.gtin.zfill(14):
                out[sku] = item.sku
        rest = [sku for sku, _ in pending if sku not in out]
        if rest:
            out |= self._master().skus_for(partner.partner_id, rest)
        return out

    def _received(self, state: po.PoState, numbers: Iterable[int]) -> dict[int, int]:
        """Eaches received against each PO line so far: the receipts the inventory positions counted against
        the line's incoming references (the projector's view: a receipt posted moments ago may not be in yet)."""
        numbers = list(numbers)
        if not numbers:
            return {}
        location = state.order.location
        keys = {n: (state.line(n).sku, location) for n in numbers}  # type: ignore[union-attr]
        positions = self._positions().get_many(keys.values())
        out = {}
        for n, key in keys.items():
            position = positions.get(key)
            counted = {ref: inc.received for ref, inc in position.incoming.items()} if position else {}
            out[n] = im.received_against(state.po_number, n, counted)
        return out


def invoice_metric(reply: InvoiceReply) -> str:
    """The metric a reply counts toward."""
    if reply.replayed:
        return "Replayed"
    return "SupplierInvoiceMatched" if reply.invoice.match.status == "matched" else "SupplierInvoiceExceptions"
