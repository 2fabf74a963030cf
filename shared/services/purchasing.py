"""Purchasing: purchase orders from the ERP, acknowledgments and ship notices from the supplier, lead times, and the
overdue-acknowledgment sweep (docs/supplier-collaboration.md, "Purchasing").

AWS requests of an acknowledgment or ship notice: one BatchGetItem (the PO and the document's id), the supplier
directory when the partner's scope does not name the PO's supplier (merges), one TransactWriteItems (the PO at
the version read, and the document), the PutEvents calls of its events (one up to 10 events) and one UpdateItem
that removes the published events from the document. That last write is the price of never losing an event: a
publication that fails leaves them on the document, and the request's retry (same id and body) publishes them.
A duplicate publishes nothing. Decisions are in `shared.domain.purchase_orders`; writes in
`shared.aws.purchasing_store`.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from shared.aws.bus import publish
from shared.aws.purchasing_store import Document, DueEntry, LeadTime, PurchasingStore, WriteOutcome, revision_sk
from shared.canonical.envelope import Envelope, EventData, utcnow
from shared.canonical.inventory import IncomingUpdated
from shared.canonical.partner import Partner
from shared.canonical.purchasing import (
    AckLineOutcome,
    Carton,
    CartonLine,
    ExpectedLine,
    InboundExpectationChanged,
    PurchaseOrder,
    PurchaseOrderAcknowledged,
    PurchaseOrderAckOverdue,
    PurchaseOrderChanged,
    PurchaseOrderCreated,
    PurchaseOrderLine,
    ReplenishmentRiskChanged,
    ShipNotice,
    ShipNoticeLine,
    ShipNoticeReceived,
)
from shared.canonical.supplier import LeadTimeUpdated
from shared.domain import purchase_orders as po
from shared.domain.errors import OutOfScope
from shared.domain.scopes import allows
from shared.http import problems as p
from shared.http.problems import Problem
from shared.observability import logger

if TYPE_CHECKING:  # the overdue sweeper imports this module: it needs none of these
    from shared.api.purchasing_models import (
        AcknowledgmentRequest,
        LeadTimeRequest,
        PurchaseOrderRequest,
        ShipNoticeRequest,
    )
    from shared.services.inventory_ingest import RequestMeta
    from shared.services.master_data import MasterData

ATTEMPTS = 5  # per request, against concurrent writers of the same PO
BACKOFF_SECONDS = 0.02
SWEEPER_SOURCE = "distrosync.ack-overdue"
SWEEP_PUBLISH_CHUNK = 50  # POs published (then marked) at a time by the overdue sweep
WRITER_KINDS = ("erp",)
LEAD_TIME_WRITER_KINDS = ("erp", "procurement")


class SupplierRefLike(Protocol):
    supplier_id: str
    ack_window_hours: int


class SupplierDirectoryLike(Protocol):
    """`shared.aws.supplier_directory.SupplierDirectory`: golden ids by (system, local id), merges followed."""

    def resolve(self, system: str, local_id: str) -> str | None: ...
    def get(self, supplier_id: str) -> SupplierRefLike | None: ...


class Contended(Exception):
    """The PO kept changing under this request; the API answers 503 with Retry-After."""


class DocumentConflict(Exception):
    """The document id was used before with another body."""

    def __init__(self, kind: str, document_id: str) -> None:
        self.kind, self.document_id = kind, document_id
        super().__init__(f"{kind} '{document_id}' was already received with a different body")


@dataclass(frozen=True)
class OrderWritten:
    outcome: Literal["created", "changed", "unchanged", "superseded"]
    state: po.PoState
    event_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AckReply:
    outcome: Literal["applied", "unchanged", "superseded"]
    acknowledgment_id: str
    version: int
    lines: list[AckLineOutcome]
    event_ids: list[str]
    replayed: bool = False


@dataclass(frozen=True)
class ShipReply:
    outcome: Literal["applied", "unchanged"]
    ship_notice: ShipNotice
    version: int
    event_ids: list[str]
    replayed: bool = False


@dataclass(frozen=True)
class LeadTimeWriteResult:
    outcome: Literal["created", "updated", "unchanged", "stale"]
    lead_time: LeadTime
    event_id: str | None = None


@dataclass(frozen=True)
class OverdueReport:
    overdue: int = 0
    skipped: int = 0  # listed, but acknowledged or changed meanwhile
    complete: bool = True


def body_hash(body: Any) -> str:
    """The request's identity for duplicate detection: its canonical JSON."""
    text = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class PurchasingService:
    def __init__(
        self,
        store: PurchasingStore,
        bus_name: str,
        *,
        directory: SupplierDirectoryLike | None = None,
        master: MasterData | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.bus_name = bus_name
        self.directory = directory
        self.master = master
        self._clock = clock
        self._sleep = sleep

    # ------------------------------------------------------------------------------------ purchase orders
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
                        return OrderWritten(completed, state, [e.id for e in _envelopes(document)])  # type: ignore[arg-type]
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
            raise _problem(exc) from None
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

    # ------------------------------------------------------------------------------------ acknowledgments
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
            raise _problem(exc) from None
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

    # --------------------------------------------------------------------------------------- ship notices
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
            raise _problem(exc) from None
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

    # ----------------------------------------------------------------------------------------- lead times
    def put_lead_time(
        self, supplier_id: str, sku: str, body: LeadTimeRequest, partner: Partner, meta: RequestMeta
    ) -> LeadTimeWriteResult:
        """A supplier's lead time for an item (at one location or all), ordered by sequence: an older one is
        stale; the same value again is unchanged (no event)."""
        gid = self._authorize_lead_time(supplier_id, partner)
        master = self._master()
        from shared.services.master_data import Need

        location = master.location_codes([body.location])[body.location] if body.location else None
        master.require([Need(sku=sku, at=""), *([Need(location=location)] if location else [])])
        effective_at = body.effective_at or meta.received_at
        sequence = body.sequence if body.sequence is not None else int(effective_at.timestamp() * 1000)
        for attempt in range(ATTEMPTS):
            self._backoff(attempt)
            current, pending = self.store.get_lead_time(gid, sku, location)
            if pending and current is not None:
                publish([Envelope[LeadTimeUpdated].model_validate_json(pending)], self.bus_name)
                self.store.clear_lead_time_outbox(current)
            if current is not None and sequence <= current.sequence:
                same = sequence == current.sequence and current.lead_time_days == body.lead_time_days
                return LeadTimeWriteResult("unchanged" if same else "stale", current)
            lead_time = LeadTime(
                supplier_id=gid,
                sku=sku,
                location=location,
                lead_time_days=body.lead_time_days,
                sequence=sequence,
                effective_at=effective_at,
                updated_at=meta.received_at,
                updated_by=partner.partner_id,
            )
            envelope = None
            if current is None or current.lead_time_days != body.lead_time_days:
                data = LeadTimeUpdated(
                    supplier_id=gid,
                    sku=sku,
                    location=location,
                    lead_time_days=body.lead_time_days,
                    previous_lead_time_days=current.lead_time_days if current else None,
                    effective_at=effective_at,
                    sequence=sequence,
                )
                envelope = Envelope[LeadTimeUpdated].wrap(
                    data,
                    source_partner=partner.partner_id,
                    occurred_at=effective_at,
                    received_at=meta.received_at,
                    correlation_id=meta.correlation_id,
                    causation_id=meta.request_id or None,
                )
            expected = current.sequence if current else None
            outbox = envelope.model_dump_json() if envelope else None
            if not self.store.put_lead_time(lead_time, expected_sequence=expected, outbox=outbox):
                continue
            if envelope is None:
                return LeadTimeWriteResult("unchanged", lead_time)
            publish([envelope], self.bus_name)
            self.store.clear_lead_time_outbox(lead_time)
            return LeadTimeWriteResult("created" if current is None else "updated", lead_time, envelope.id)
        raise Contended(f"the lead time of '{sku}' from '{gid}' kept changing; retry")

    def get_lead_time(self, supplier_id: str, sku: str, location: str | None, partner: Partner) -> LeadTime:
        gid = self._authorize_lead_time(supplier_id, partner)
        current, _ = self.store.get_lead_time(gid, sku, location)
        if current is None:
            where = f" at {location}" if location else ""
            raise Problem(p.NOT_FOUND, f"no lead time of '{sku}'{where} from supplier '{gid}'")
        return current

    def _authorize_lead_time(self, supplier_id: str, partner: Partner) -> str:
        """The golden id the lead time is stored under (merges followed), if the partner may act for it: the
        supplier itself through its scope, or an ERP or procurement system."""
        ref = self._directory().get(supplier_id)
        if ref is None:
            raise Problem(p.UNKNOWN_SUPPLIER, f"supplier '{supplier_id}' is not in the supplier master")
        gid = ref.supplier_id
        if "*" in partner.scopes or partner.kind in LEAD_TIME_WRITER_KINDS:
            return gid
        if partner.kind == "supplier" and self._owns(partner, gid):
            return gid
        raise OutOfScope(partner.partner_id, "supplier", gid)

    # ------------------------------------------------------------------------------------ overdue sweep
    def sweep_overdue(self, *, should_stop: Callable[[], bool] = lambda: False) -> OverdueReport:
        """Publish `purchase_order.ack_overdue` for every PO whose acknowledgment window has passed, then take it
        out of the index. Publishing first, with an id derived from the PO and its due time, means a sweep that
        dies in between publishes the same event again next time (consumers drop it), never loses it."""
        now = self._clock()
        report = OverdueReport()
        batch: list[DueEntry] = []
        for entry in self.store.due(now):
            if should_stop():
                report = OverdueReport(report.overdue, report.skipped, complete=False)
                break
            batch.append(entry)
            if len(batch) == SWEEP_PUBLISH_CHUNK:
                report = self._overdue(batch, now, report)
                batch = []
        if batch:
            report = self._overdue(batch, now, report)
        return report

    def _overdue(self, entries: Sequence[DueEntry], now: datetime, report: OverdueReport) -> OverdueReport:
        publish([_overdue_envelope(e) for e in entries], self.bus_name)
        marked = sum(1 for e in entries if self.store.mark_ack_overdue(e, now))
        if marked < len(entries):
            logger.info("POs changed while swept", extra={"listed": len(entries), "marked": marked})
        return OverdueReport(report.overdue + marked, report.skipped + len(entries) - marked, report.complete)

    # ------------------------------------------------------------------------------------------ plumbing
    def _load_owned(self, po_number: str, sk: str, partner: Partner) -> tuple[po.PoState, Document | None]:
        state, document = self.store.load(po_number, sk)
        if state is None:
            raise Problem(p.UNKNOWN_PURCHASE_ORDER, f"no purchase order '{po_number}'")
        self._require_owner(partner, state)
        return state, document

    def _require_owner(self, partner: Partner, state: po.PoState) -> None:
        if partner.kind != "supplier" and "*" not in partner.scopes:
            raise Problem(p.OUT_OF_SCOPE, f"partner '{partner.partner_id}' ({partner.kind}) is not a supplier")
        if not self._owns(partner, state.order.supplier_id):
            raise Problem(
                p.NOT_YOUR_PURCHASE_ORDER,
                f"purchase order '{state.po_number}' belongs to another supplier",
                {"po_number": state.po_number},
            )

    def _owns(self, partner: Partner, supplier_id: str) -> bool:
        """The partner's `supplier:` scope names the supplier, or names a record merged with it."""
        if allows(partner.scopes, "supplier", supplier_id):
            return True
        scoped = [s.partition(":")[2] for s in partner.scopes if s.startswith("supplier:") and s != "supplier:*"]
        if not scoped:
            return False
        directory = self._directory()
        ref = directory.get(supplier_id)
        survivor = ref.supplier_id if ref else supplier_id
        if survivor in scoped:
            return True
        for gid in scoped:
            mine = directory.get(gid)
            if mine is not None and mine.supplier_id in (supplier_id, survivor):
                return True
        return False

    def _ack_window(self, supplier_id: str) -> int:
        ref = self._directory().get(supplier_id)
        return ref.ack_window_hours if ref and ref.ack_window_hours else po.DEFAULT_ACK_WINDOW_HOURS

    def _replay(self, po_number: str, document: Document, digest: str, kind: str, document_id: str) -> Any:
        """A document received before: the same body is a duplicate (its events are published now if the first
        request could not); another body is a conflict."""
        if document.body_hash != digest:
            raise DocumentConflict(kind, document_id)
        if document.outbox:
            self._flush(po_number, document)
            return document.outcome
        return "unchanged"

    def _flush(self, po_number: str, document: Document) -> None:
        publish(_envelopes(document), self.bus_name)
        self.store.clear_outbox(po_number, document.sk)

    def _publish_document(self, po_number: str, document: Document, envelopes: Sequence[Envelope[Any]]) -> None:
        if envelopes:
            publish(envelopes, self.bus_name)
            self.store.clear_outbox(po_number, document.sk)

    def _document(
        self,
        sk: str,
        digest: str,
        outcome: str,
        version: int,
        result: str,
        partner: Partner,
        meta: RequestMeta,
        envelopes: Sequence[Envelope[Any]],
    ) -> Document:
        return Document(
            sk=sk,
            body_hash=digest,
            outcome=outcome,
            version=version,
            result=result,
            partner_id=partner.partner_id,
            received_at=meta.received_at,
            outbox=tuple(e.model_dump_json() for e in envelopes),
        )

    def _effects(
        self,
        before: po.PoState | None,
        after: po.PoState,
        head: EventData,
        *,
        source: str,
        occurred_at: datetime,
        meta: RequestMeta,
    ) -> list[Envelope[Any]]:
        """The change's events: `head`, the incoming lines whose open supply changed (sequence = PO version), the
        warehouse's whole open view of the PO when its supply changed, and each line whose risk changed."""
        order = after.order
        keyed: list[tuple[str, EventData]] = [(head.subject(), head)]
        changes = po.supply_changes(before, after)
        keyed += [
            (
                s.reference,
                IncomingUpdated(
                    sku=s.sku,
                    location=order.location,
                    reference=s.reference,
                    kind=s.kind,
                    quantity=s.quantity,
                    basis="confirmed",  # the supplier does not see receipts: inventory deducts them
                    expected_date=s.expected_date,
                    sequence=after.version,
                ),
            )
            for s in changes
        ]
        if changes:
            expectation = InboundExpectationChanged(
                po_number=order.po_number,
                supplier_id=order.supplier_id,
                location=order.location,
                version=after.version,
                lines=expected_lines(po.supply(after).values()),
            )
            keyed.append((expectation.subject(), expectation))
        for line, risk in po.risk_changes(before, after):
            data = ReplenishmentRiskChanged(
                po_number=order.po_number,
                line=line.line,
                sku=line.sku,
                location=order.location,
                supplier_id=order.supplier_id,
                at_risk=risk.at_risk,
                reasons=list(risk.reasons),
                need_date=po.need_date(line),
                promised_date=risk.expected_date,
                days_late=risk.days_late,
                shortfall=risk.shortfall,
            )
            keyed.append((data.subject(), data))
        return [
            Envelope[type(data)].wrap(  # type: ignore[misc]
                data,
                source_partner=source,
                occurred_at=occurred_at,
                received_at=meta.received_at,
                correlation_id=meta.correlation_id,
                causation_id=meta.request_id or None,
                event_id=po.event_id(order.po_number, after.version, data.event_type, key),
            )
            for key, data in keyed
        ]

    def _converter(self, needs: Sequence[tuple[str, str, str]]) -> Callable[[str, int, str], int]:
        """(sku, unit, pointer) of the lines -> a function converting their quantities to eaches; units other
        than `each` are checked with the item master (`unknown-unit-of-measure`)."""
        wanted = [(sku, unit, at) for sku, unit, at in needs if unit != "each"]
        if not wanted:
            return lambda sku, quantity, unit: quantity
        from shared.services.master_data import Need

        resolved = self._master().require([Need(sku=sku, unit=unit, at=at) for sku, unit, at in wanted])
        return lambda sku, quantity, unit: quantity if unit == "each" else resolved.eaches(sku, quantity, unit)

    def _master(self) -> MasterData:
        if self.master is None:
            raise RuntimeError("this purchasing service was built without the master data")
        return self.master

    def _directory(self) -> SupplierDirectoryLike:
        if self.directory is None:
            raise RuntimeError("this purchasing service was built without the supplier directory")
        return self.directory

    def _backoff(self, attempt: int) -> None:
        if attempt:
            self._sleep(random.uniform(0, BACKOFF_SECONDS * 2**attempt))  # full jitter


def _overdue_envelope(entry: DueEntry) -> Envelope[PurchaseOrderAckOverdue]:
    data = PurchaseOrderAckOverdue(
        po_number=entry.po_number,
        supplier_id=entry.supplier_id,
        location=entry.location,
        sent_at=entry.sent_at,
        ack_due_at=entry.ack_due_at,
        ack_window_hours=entry.ack_window_hours,
        erp_reference=entry.erp_reference,
    )
    event_id = po.event_id(entry.po_number, 0, data.event_type, entry.ack_due_at.isoformat())
    return Envelope[PurchaseOrderAckOverdue].wrap(
        data,
        source_partner=SWEEPER_SOURCE,
        occurred_at=entry.ack_due_at,
        correlation_id=entry.correlation_id,
        event_id=event_id,
    )


def _envelopes(document: Document | None) -> list[Envelope[Any]]:
    """The events a document still owes (stored as the envelopes' JSON)."""
    return [Envelope[Any].model_validate_json(text) for text in document.outbox] if document else []


def _pointer(pointer: str, message: str, code: str) -> dict[str, Any]:
    return {"in": "body", "pointer": pointer, "message": message, "code": code}


_KINDS: dict[str, p.ProblemKind] = {
    "unknown-po-line": p.UNKNOWN_PO_LINE,
    "invalid-acknowledgment": p.INVALID_ACKNOWLEDGMENT,
    "invalid-sscc": p.INVALID_SSCC,
    "over-shipment": p.OVER_SHIPMENT,
    "purchase-order-closed": p.PURCHASE_ORDER_CLOSED,
}


def _problem(exc: po.PurchasingError) -> Problem:
    kind = _KINDS.get(exc.code, p.VALIDATION_FAILED)
    extensions: dict[str, Any] = {"errors": exc.errors} if exc.errors else {}
    if isinstance(exc, po.UnknownPoLine):
        extensions["lines"] = exc.lines
    if isinstance(exc, po.PurchaseOrderClosed):
        extensions["po_status"] = exc.status
    return Problem(kind, str(exc), extensions)


def expected_lines(supply: Iterable[Any]) -> list[ExpectedLine]:
    """A PO's open supply lines as the warehouse and the API show them."""
    return [
        ExpectedLine(
            line=s.line,
            sku=s.sku,
            reference=s.reference,
            kind=s.kind,
            quantity=s.quantity,
            expected_date=s.expected_date,
            ship_notice_id=s.ship_notice_id,
        )
        for s in supply
    ]
