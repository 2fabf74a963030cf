"""Ship notices: the supplier's shipment against a PO, its lines in transit and their cartons."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from shared.aws.purchasing_store import WriteOutcome
from shared.canonical.partner import Partner
from shared.canonical.purchasing import Carton, CartonLine, ShipNotice, ShipNoticeLine, ShipNoticeReceived
from shared.domain import purchase_orders as po
from shared.services.purchasing._base import ATTEMPTS, Contended, ServiceBase, body_hash, to_problem

if TYPE_CHECKING:  # the overdue sweeper imports this module: it needs none of these
    from shared.api.purchasing_models import ShipNoticeRequest
    from shared.services.inventory_ingest import RequestMeta


@dataclass(frozen=True)
class ShipReply:
    outcome: Literal["applied", "unchanged"]
    ship_notice: ShipNotice
    version: int
    event_ids: list[str]
    replayed: bool = False


class ShipNotices(ServiceBase):
    """The supplier notifies its shipments against its POs."""

    def ship_notice(self, po_number: str, body: ShipNoticeRequest, partner: Partner, meta: RequestMeta) -> ShipReply:
        """The supplier's ship notice: its lines in transit, the unshipped rest on order."""
        digest, sk = body_hash(body), f"ASN#{body.ship_notice_id}"
        try:
            for attempt in range(ATTEMPTS):
                self._backoff(attempt)
                state, document = self._load_owned(po_number, sk, partner)
                if document is not None:
                    replay = self._replay(po_number, document, digest, "ship notice", body.ship_notice_id)
                    stored = json.loads(document.result)
                    return ShipReply(
                        replay,  # type: ignore[arg-type]
                        ShipNotice.model_validate(stored["ship_notice"]),
                        document.version,
                        stored.get("event_ids", []),
                        replayed=True,
                    )
                notice_input = self._notice_input(state, body)
                after = po.apply_ship_notice(state, notice_input, now=self._clock())
                notice = ShipNotice(
                    ship_notice_id=body.ship_notice_id,
                    po_number=po_number,
                    supplier_id=after.order.supplier_id,
                    location=after.order.location,
                    shipped_at=body.shipped_at,
                    carrier=body.carrier,
                    tracking_number=body.tracking_number,
                    eta=body.eta,
                    lines=[
                        ShipNoticeLine(
                            line=n,
                            sku=after.line(n).sku,  # type: ignore[union-attr]
                            quantity=quantity,
                            reference=po.shipment_reference(po_number, n, body.ship_notice_id),
                        )
                        for n, quantity in notice_input.lines
                    ],
                    cartons=[
                        Carton(sscc=c.sscc, lines=[CartonLine(line=n, quantity=q) for n, q in c.lines])
                        for c in notice_input.cartons
                    ],
                )
                head = ShipNoticeReceived(
                    ship_notice=notice, version=after.version, erp_reference=after.order.erp_reference
                )
                envelopes = self._effects(
                    state, after, head, source=partner.partner_id, occurred_at=body.shipped_at, meta=meta
                )
                answer = {"ship_notice": notice.model_dump(mode="json"), "event_ids": [e.id for e in envelopes]}
                document = self._document(
                    sk, digest, "applied", after.version, json.dumps(answer), partner, meta, envelopes
                )
                if self.store.save(state.version, after, document) is WriteOutcome.OK:
                    self._publish_document(po_number, document, envelopes)
                    return ShipReply("applied", notice, after.version, answer["event_ids"])
        except po.PurchasingError as exc:
            raise to_problem(exc) from None
        raise Contended(f"purchase order '{po_number}' kept changing; retry")

    def _notice_input(self, state: po.PoState, body: ShipNoticeRequest) -> po.ShipNoticeInput:
        """The notice in eaches; carton quantities are in the unit of the notice's line for the same PO line."""
        pointers = [(f"/lines/{i}/line", x.line) for i, x in enumerate(body.lines)]
        pointers += [
            (f"/cartons/{c}/lines/{i}/line", x.line)
            for c, carton in enumerate(body.cartons)
            for i, x in enumerate(carton.lines)
        ]
        unknown = [(ptr, n) for ptr, n in pointers if state.line(n) is None]
        if unknown:
            raise po.UnknownPoLine(po_number=state.po_number, lines=unknown)
        units = {x.line: x.unit for x in body.lines}
        eaches = self._converter([(state.line(x.line).sku, x.unit, f"/lines/{i}") for i, x in enumerate(body.lines)])  # type: ignore[union-attr]

        def convert(line: int, quantity: int) -> int:
            return eaches(state.line(line).sku, quantity, units.get(line, "each"))  # type: ignore[union-attr]

        return po.ShipNoticeInput(
            ship_notice_id=body.ship_notice_id,
            eta=body.eta,
            lines=tuple((x.line, convert(x.line, x.quantity)) for x in body.lines),
            cartons=tuple(
                po.CartonInput(c.sscc, tuple((x.line, convert(x.line, x.quantity)) for x in c.lines))
                for c in body.cartons
            ),
        )
