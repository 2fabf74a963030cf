"""What the purchasing service's parts share: its dependencies, writing a PO's documents and publishing their
events, the change's events, supplier ownership, unit conversion, and the errors the routes turn into problems.

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
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared.aws.bus import publish
from shared.aws.purchasing_store import Document, PurchasingStore
from shared.canonical.envelope import Envelope, EventData, utcnow
from shared.canonical.inventory import IncomingUpdated
from shared.canonical.partner import Partner
from shared.canonical.purchasing import ExpectedLine, InboundExpectationChanged, ReplenishmentRiskChanged
from shared.domain import purchase_orders as po
from shared.domain.backoff import full_jitter
from shared.domain.scopes import allows
from shared.http import problems as p
from shared.http.problems import Problem

if TYPE_CHECKING:  # the overdue sweeper imports this module: it needs none of these
    from shared.services.inventory_ingest import RequestMeta
    from shared.services.master_data import MasterData

ATTEMPTS = 5  # per request, against concurrent writers of the same PO


class SupplierRefLike(Protocol):
    supplier_id: str
    ack_window_hours: int


class SupplierDirectoryLike(Protocol):
    """`shared.aws.supplier_directory.SupplierDirectory`: golden ids by (system, local id), merges followed."""

    def resolve(self, system: str, local_id: str) -> str | None: ...
    def get(self, supplier_id: str) -> SupplierRefLike | None: ...


class IncomingLike(Protocol):
    @property
    def received(self) -> int: ...


class PositionLike(Protocol):
    @property
    def incoming(self) -> Mapping[str, IncomingLike]: ...


class PositionsLike(Protocol):
    """`shared.aws.inventory_store.InventoryStore`: inventory positions by (sku, location), whose incoming lines
    count what was received against each PO reference."""

    def get_many(self, keys: Iterable[tuple[str, str]]) -> Mapping[tuple[str, str], PositionLike]: ...


class Contended(Exception):
    """The PO kept changing under this request; the API answers 503 with Retry-After."""


class DocumentConflict(Exception):
    """The document id was used before with another body."""

    def __init__(self, kind: str, document_id: str) -> None:
        self.kind, self.document_id = kind, document_id
        super().__init__(f"{kind} '{document_id}' was already received with a different body")


def body_hash(body: Any) -> str:
    """The request's identity for duplicate detection: its canonical JSON."""
    text = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ServiceBase:
    """The service's dependencies and the plumbing its parts (purchase orders, acknowledgments, ship notices,
    invoices, lead times, the overdue sweep) share."""

    def __init__(
        self,
        store: PurchasingStore,
        bus_name: str,
        *,
        directory: SupplierDirectoryLike | None = None,
        master: MasterData | None = None,
        positions: PositionsLike | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.bus_name = bus_name
        self.directory = directory
        self.master = master
        self.positions = positions
        self._clock = clock
        self._sleep = sleep

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
        publish(outbox_envelopes(document), self.bus_name)
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

    def _positions(self) -> PositionsLike:
        if self.positions is None:
            raise RuntimeError("this purchasing service was built without the inventory positions")
        return self.positions

    def _directory(self) -> SupplierDirectoryLike:
        if self.directory is None:
            raise RuntimeError("this purchasing service was built without the supplier directory")
        return self.directory

    def _backoff(self, attempt: int) -> None:
        if attempt:
            self._sleep(full_jitter(attempt))


def outbox_envelopes(document: Document | None) -> list[Envelope[Any]]:
    """The events a document still owes (stored as the envelopes' JSON)."""
    return [Envelope[Any].model_validate_json(text) for text in document.outbox] if document else []


_KINDS: dict[str, p.ProblemKind] = {
    "unknown-po-line": p.UNKNOWN_PO_LINE,
    "invalid-acknowledgment": p.INVALID_ACKNOWLEDGMENT,
    "invalid-sscc": p.INVALID_SSCC,
    "over-shipment": p.OVER_SHIPMENT,
    "purchase-order-closed": p.PURCHASE_ORDER_CLOSED,
}


def to_problem(exc: po.PurchasingError) -> Problem:
    """The problem type (and its extensions) of a refusal by the purchase-order domain."""
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
