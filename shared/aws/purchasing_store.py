"""Purchase orders, the documents received against them, and supplier lead times in DynamoDB.

Layout (docs/supplier-collaboration.md, "Purchasing"):
- `PO#<po>` / `PO`: the state (the ERP's latest revision, the supplier's answer per line, shipments, `version`);
  `ack_queue` and `ack_due_at` are set while the PO awaits its acknowledgment (sparse GSI `by-ack-due`).
- `PO#<po>` / `REV#<revision>`, `ACK#<id>`, `ASN#<id>`, `INV#<id>`: what each request carried (its hash, for
  duplicates), the answer it got (zlib-compressed when large), and its events until they are published (`outbox`,
  zlib-compressed JSON envelopes).
- `PO#<po>` / `INVOICED`: eaches invoiced per PO line over the PO's invoices (`version`), the tally later invoices
  are matched against; written with each invoice's document, so that concurrent invoices of a PO serialize.
- `SUPPLIER#<gid>` / `LEADTIME#<sku>[#<location>]`: a lead time, ordered by `sequence`.

A state change is one conditional write of the PO (`version` as read) together with its document, in one
TransactWriteItems (an invoice writes the tally instead of the PO, which it does not change); the outbox
(`shared.aws.record_outbox`, ADR 0013) is removed once its events are published, so a request retried after a
failed publication finds them and publishes them. A lead time keeps its event the same way.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.aws import record_outbox
from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item, to_value
from shared.canonical.purchasing import PurchaseOrder
from shared.domain.purchase_orders import Delivery, LineAck, PoState, Shipment

ACK_DUE_INDEX = "by-ack-due"
ACK_QUEUE = "AWAITING"
# What the overdue sweeper reads from the index (besides the keys) to publish and mark without reading the PO.
ACK_DUE_INDEX_ATTRIBUTES = (
    "po_number",
    "supplier_id",
    "location",
    "sent_at",
    "erp_reference",
    "ack_window_hours",
    "version",
    "correlation_id",
)


class WriteOutcome(StrEnum):
    OK = "ok"
    CHANGED = "changed"  # the PO is not at the version read
    DOCUMENT_EXISTS = "document_exists"  # another request wrote this document first
    CONTENDED = "contended"  # cancelled for a concurrent transaction


def iso(value: datetime) -> str:
    """Fixed-width UTC timestamps, so that the index's string sort key sorts by time."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def po_key(po_number: str, sk: str = "PO") -> dict[str, Any]:
    return {"pk": {"S": f"PO#{po_number}"}, "sk": {"S": sk}}


def revision_sk(revision: int) -> str:
    return f"REV#{revision:012d}"


def invoice_sk(invoice_id: str) -> str:
    return f"INV#{invoice_id}"


INVOICED_SK = "INVOICED"
# A document's answer longer than this is stored zlib-compressed (`result_z`): an invoice of 999 lines answers
# with a few hundred KB of JSON, which would not fit an item beside its outbox.
RESULT_COMPRESS_ABOVE = 16 * 1024


def lead_time_key(supplier_id: str, sku: str, location: str | None) -> dict[str, Any]:
    sk = f"LEADTIME#{sku}" + (f"#{location}" if location else "")
    return {"pk": {"S": f"SUPPLIER#{supplier_id}"}, "sk": {"S": sk}}


# ------------------------------------------------------------------------------------------------ PO state
def state_to_item(state: PoState) -> dict[str, Any]:
    order = state.order
    data: dict[str, Any] = {
        "pk": f"PO#{order.po_number}",
        "sk": "PO",
        "po_number": order.po_number,
        "supplier_id": order.supplier_id,
        "location": order.location,
        "status": order.status,
        "revision": order.revision,
        "sent_at": iso(order.sent_at),
        "erp_reference": order.erp_reference,
        "version": state.version,
        "order": order.model_dump(mode="json"),
        "acks": [
            {
                "line": number,
                "status": ack.status,
                "confirmed": ack.confirmed,
                "promised_date": ack.promised_date.isoformat() if ack.promised_date else None,
                "unit_price": str(ack.unit_price) if ack.unit_price is not None else None,
                "schedule": [{"quantity": d.quantity, "date": d.date.isoformat()} for d in ack.schedule],
            }
            for number, ack in sorted(state.acks.items())
        ],
        "shipments": [
            {"ship_notice_id": s.ship_notice_id, "line": s.line, "quantity": s.quantity, "eta": s.eta.isoformat()}
            for s in state.shipments
        ],
        "ack_window_hours": state.ack_window_hours,
        "ack_due_at": iso(state.ack_due_at) if state.ack_due_at else None,
        "ack_overdue_at": iso(state.ack_overdue_at) if state.ack_overdue_at else None,
        "ack_id": state.ack_id,
        "ack_issued_at": iso(state.ack_issued_at) if state.ack_issued_at else None,
        "created_at": iso(state.created_at) if state.created_at else None,
        "updated_at": iso(state.updated_at) if state.updated_at else None,
        "correlation_id": state.correlation_id,
    }
    if state.awaiting_ack:
        data["ack_queue"] = ACK_QUEUE
    return to_item(_without_none_in_maps(data))


def state_from_item(item: dict[str, Any]) -> PoState:
    data = from_item(item)
    acks = {
        int(a["line"]): LineAck(
            status=a["status"],
            confirmed=int(a["confirmed"]),
            promised_date=_date(a.get("promised_date")),
            unit_price=Decimal(a["unit_price"]) if a.get("unit_price") is not None else None,
            schedule=tuple(Delivery(int(d["quantity"]), date.fromisoformat(d["date"])) for d in a.get("schedule", [])),
        )
        for a in data.get("acks", [])
    }
    shipments = tuple(
        Shipment(s["ship_notice_id"], int(s["line"]), int(s["quantity"]), date.fromisoformat(s["eta"]))
        for s in data.get("shipments", [])
    )
    return PoState(
        order=PurchaseOrder.model_validate(data["order"]),
        version=int(data["version"]),
        acks=acks,
        shipments=shipments,
        ack_window_hours=int(data["ack_window_hours"]),
        ack_due_at=_datetime(data.get("ack_due_at")),
        ack_overdue_at=_datetime(data.get("ack_overdue_at")),
        ack_id=data.get("ack_id"),
        ack_issued_at=_datetime(data.get("ack_issued_at")),
        created_at=_datetime(data.get("created_at")),
        updated_at=_datetime(data.get("updated_at")),
        correlation_id=data.get("correlation_id"),
    )


def _without_none_in_maps(value: Any) -> Any:
    """DynamoDB maps cannot hold NULL through `to_item`'s top-level filter: drop None inside nested maps too."""
    if isinstance(value, dict):
        return {k: _without_none_in_maps(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none_in_maps(v) for v in value]
    return value


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# ------------------------------------------------------------------------------------------------ documents
@dataclass(frozen=True)
class Document:
    """A request received against a PO: its hash (a duplicate has the same), its answer, its unpublished events."""

    sk: str
    body_hash: str
    outcome: str
    version: int
    result: str  # JSON of the answer, replayed to a duplicate
    partner_id: str
    received_at: datetime
    outbox: tuple[str, ...] = ()  # envelope JSON, until published


def document_to_item(po_number: str, doc: Document) -> dict[str, Any]:
    data: dict[str, Any] = {
        "pk": f"PO#{po_number}",
        "sk": doc.sk,
        "body_hash": doc.body_hash,
        "outcome": doc.outcome,
        "version": doc.version,
        "partner_id": doc.partner_id,
        "received_at": iso(doc.received_at),
    }
    item = to_item(data)
    if len(doc.result) > RESULT_COMPRESS_ABOVE:
        item["result_z"] = {"B": zlib.compress(doc.result.encode())}
    else:
        item["result"] = {"S": doc.result}
    return record_outbox.attach(item, doc.outbox)


def document_from_item(item: dict[str, Any]) -> Document:
    outbox = record_outbox.pop(item)
    packed = item.pop("result_z", None)
    data = from_item(item)
    return Document(
        sk=data["sk"],
        body_hash=data["body_hash"],
        outcome=data["outcome"],
        version=int(data["version"]),
        result=zlib.decompress(bytes(packed["B"])).decode() if packed else data["result"],
        partner_id=data["partner_id"],
        received_at=datetime.fromisoformat(data["received_at"]),
        outbox=outbox,
    )


# ------------------------------------------------------------------------------------------------ invoiced
@dataclass(frozen=True)
class InvoicedTally:
    """Eaches invoiced per PO line over the PO's invoices; `version` 0: no invoice yet (no item)."""

    version: int = 0
    lines: Mapping[int, int] = field(default_factory=dict)
    invoices: int = 0


def tally_to_item(po_number: str, tally: InvoicedTally) -> dict[str, Any]:
    return {
        "pk": {"S": f"PO#{po_number}"},
        "sk": {"S": INVOICED_SK},
        "version": to_value(tally.version),
        "invoices": to_value(tally.invoices),
        "lines": {"M": {str(line): to_value(quantity) for line, quantity in sorted(tally.lines.items())}},
    }


def tally_from_item(item: dict[str, Any]) -> InvoicedTally:
    data = from_item(item)
    return InvoicedTally(
        version=int(data["version"]),
        lines={int(line): int(quantity) for line, quantity in data.get("lines", {}).items()},
        invoices=int(data.get("invoices", 0)),
    )


# ------------------------------------------------------------------------------------------------ lead times
@dataclass(frozen=True)
class LeadTime:
    supplier_id: str
    sku: str
    location: str | None
    lead_time_days: int
    sequence: int
    effective_at: datetime
    updated_at: datetime
    updated_by: str


def _lead_time_from(data: dict[str, Any]) -> LeadTime:
    return LeadTime(
        supplier_id=data["supplier_id"],
        sku=data["sku"],
        location=data.get("location"),
        lead_time_days=int(data["lead_time_days"]),
        sequence=int(data["sequence"]),
        effective_at=datetime.fromisoformat(data["effective_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        updated_by=data["updated_by"],
    )


@dataclass(frozen=True)
class DueEntry:
    """A PO listed in the acknowledgment-due index (eventually consistent: it may have moved on since)."""

    po_number: str
    supplier_id: str
    location: str
    sent_at: datetime
    ack_due_at: datetime
    ack_window_hours: int
    erp_reference: str | None
    version: int
    correlation_id: str | None = None


class PurchasingStore:
    def __init__(self, table_name: str) -> None:
        if not table_name:
            raise ValueError("the purchasing table name is required")
        self.table_name = table_name

    # ---------------------------------------------------------------------------------------------- reads
    def load(self, po_number: str, document_sk: str | None = None) -> tuple[PoState | None, Document | None]:
        """The PO and, optionally, one of its documents: one strongly consistent BatchGetItem."""
        keys = [po_key(po_number)] + ([po_key(po_number, document_sk)] if document_sk else [])
        request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        items: list[dict[str, Any]] = []
        while request:
            response = client("dynamodb").batch_get_item(RequestItems=request)
            items += response["Responses"].get(self.table_name, [])
            request = response.get("UnprocessedKeys") or {}
        state = next((state_from_item(i) for i in items if i["sk"]["S"] == "PO"), None)
        document = next((document_from_item(i) for i in items if i["sk"]["S"] != "PO"), None)
        return state, document

    def load_invoicing(self, po_number: str, invoice_id: str) -> tuple[PoState | None, Document | None, InvoicedTally]:
        """The PO, the invoice's document if it was received before, and the PO's invoiced tally: one strongly
        consistent BatchGetItem."""
        sk = invoice_sk(invoice_id)
        keys = [po_key(po_number), po_key(po_number, sk), po_key(po_number, INVOICED_SK)]
        request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        found: dict[str, dict[str, Any]] = {}
        while request:
            response = client("dynamodb").batch_get_item(RequestItems=request)
            found |= {i["sk"]["S"]: i for i in response["Responses"].get(self.table_name, [])}
            request = response.get("UnprocessedKeys") or {}
        state = state_from_item(found["PO"]) if "PO" in found else None
        document = document_from_item(found[sk]) if sk in found else None
        tally = tally_from_item(found[INVOICED_SK]) if INVOICED_SK in found else InvoicedTally()
        return state, document, tally

    def due(self, now: datetime) -> Iterator[DueEntry]:
        """POs awaiting acknowledgment whose window ended at or before `now`, earliest first."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": ACK_DUE_INDEX,
            "KeyConditionExpression": "ack_queue = :q AND ack_due_at <= :now",
            "ExpressionAttributeValues": {":q": {"S": ACK_QUEUE}, ":now": {"S": iso(now)}},
        }
        while True:
            response = client("dynamodb").query(**kwargs)
            for item in response["Items"]:
                data = from_item(item)
                yield DueEntry(
                    po_number=data["po_number"],
                    supplier_id=data["supplier_id"],
                    location=data["location"],
                    sent_at=datetime.fromisoformat(data["sent_at"]),
                    ack_due_at=datetime.fromisoformat(data["ack_due_at"]),
                    ack_window_hours=int(data["ack_window_hours"]),
                    erp_reference=data.get("erp_reference"),
                    version=int(data["version"]),
                    correlation_id=data.get("correlation_id"),
                )
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # --------------------------------------------------------------------------------------------- writes
    def save(self, before_version: int | None, state: PoState, document: Document | None) -> WriteOutcome:
        """The PO as `state` if it is still at `before_version` (None: it must not exist), with `document` if
        given (which must not exist)."""
        if before_version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": to_value(before_version)},
            }
        put = {"TableName": self.table_name, "Item": state_to_item(state), **condition}
        dynamodb = client("dynamodb")
        if document is None:
            try:
                dynamodb.put_item(**put)
            except dynamodb.exceptions.ConditionalCheckFailedException:
                return WriteOutcome.CHANGED
            return WriteOutcome.OK
        return self._transact([{"Put": put}, {"Put": self._new_document(state.po_number, document)}])

    def save_invoice(
        self, po_number: str, before_version: int, tally: InvoicedTally, document: Document
    ) -> WriteOutcome:
        """The invoice's document (which must not exist) with the PO's new tally, if the tally is still at
        `before_version` (0: no invoice yet); the PO itself is not written."""
        if before_version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(sk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": to_value(before_version)},
            }
        put = {"TableName": self.table_name, "Item": tally_to_item(po_number, tally), **condition}
        return self._transact([{"Put": put}, {"Put": self._new_document(po_number, document)}])

    def put_document(self, po_number: str, document: Document) -> WriteOutcome:
        """A document that changes nothing on the PO (a superseded acknowledgment or revision)."""
        dynamodb = client("dynamodb")
        try:
            dynamodb.put_item(**self._new_document(po_number, document))
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return WriteOutcome.DOCUMENT_EXISTS
        return WriteOutcome.OK

    def clear_outbox(self, po_number: str, sk: str) -> None:
        """The document's events are published (a document is written once: no version to condition on)."""
        record_outbox.clear(self.table_name, po_key(po_number, sk))

    def mark_ack_overdue(self, entry: DueEntry, now: datetime) -> bool:
        """Take the PO out of the due index at the version listed; False when it changed meanwhile."""
        dynamodb = client("dynamodb")
        try:
            dynamodb.update_item(
                TableName=self.table_name,
                Key=po_key(entry.po_number),
                UpdateExpression="SET #v = :next, ack_overdue_at = :now, updated_at = :now REMOVE ack_queue",
                ConditionExpression="#v = :v AND attribute_exists(ack_queue)",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={
                    ":v": to_value(entry.version),
                    ":next": to_value(entry.version + 1),
                    ":now": {"S": iso(now)},
                },
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # ----------------------------------------------------------------------------------------- lead times
    def get_lead_time(self, supplier_id: str, sku: str, location: str | None) -> tuple[LeadTime | None, str | None]:
        """The lead time and its unpublished event (envelope JSON), if any."""
        item = (
            client("dynamodb")
            .get_item(TableName=self.table_name, Key=lead_time_key(supplier_id, sku, location), ConsistentRead=True)
            .get("Item")
        )
        if item is None:
            return None, None
        pending = record_outbox.pop(item)
        return _lead_time_from(from_item(item)), pending[0] if pending else None

    def put_lead_time(self, lead_time: LeadTime, *, expected_sequence: int | None, outbox: str | None) -> bool:
        """Write it over the stored one read at `expected_sequence` (None: there was none); False when another
        writer got there first. `outbox` is its event until published."""
        values: dict[str, Any] = {
            "supplier_id": lead_time.supplier_id,
            "sku": lead_time.sku,
            "location": lead_time.location,
            "lead_time_days": lead_time.lead_time_days,
            "sequence": lead_time.sequence,
            "effective_at": iso(lead_time.effective_at),
            "updated_at": iso(lead_time.updated_at),
            "updated_by": lead_time.updated_by,
        }
        key = lead_time_key(lead_time.supplier_id, lead_time.sku, lead_time.location)
        item = record_outbox.attach({**key, **to_item(values)}, [outbox] if outbox else [])
        if expected_sequence is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(sk)"}
        else:
            condition = {
                "ConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "sequence"},
                "ExpressionAttributeValues": {":s": to_value(expected_sequence)},
            }
        dynamodb = client("dynamodb")
        try:
            dynamodb.put_item(TableName=self.table_name, Item=item, **condition)
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def clear_lead_time_outbox(self, lead_time: LeadTime) -> None:
        """Forget the published event, unless a newer lead time replaced the record meanwhile."""
        record_outbox.clear(
            self.table_name,
            lead_time_key(lead_time.supplier_id, lead_time.sku, lead_time.location),
            version=lead_time.sequence,
            version_attribute="sequence",
        )

    # ------------------------------------------------------------------------------------------- plumbing
    def _new_document(self, po_number: str, document: Document) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Item": document_to_item(po_number, document),
            "ConditionExpression": "attribute_not_exists(sk)",
        }

    def _transact(self, items: Sequence[dict[str, Any]]) -> WriteOutcome:
        dynamodb = client("dynamodb")
        try:
            dynamodb.transact_write_items(TransactItems=list(items))
        except dynamodb.exceptions.TransactionCanceledException as exc:
            codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
            if codes and codes[0] == "ConditionalCheckFailed":
                return WriteOutcome.CHANGED
            if "ConditionalCheckFailed" in codes[1:]:
                return WriteOutcome.DOCUMENT_EXISTS
            if "TransactionConflict" in codes:
                return WriteOutcome.CONTENDED
            raise
        return WriteOutcome.OK
