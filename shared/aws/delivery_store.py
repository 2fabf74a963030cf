"""Delivery records in the idempotency table: which systems already have which events.

Two kinds of record (partition key `id`, TTL attribute `expiration`, as every item of that table):

- `delivery#<event id>#<partner>`: one event delivered to one system (events without a version);
- `delivery#<partner>#<ordering key>`: for versioned subjects (a PO's acknowledgments, a supplier's golden
  record, an inbound expectation, a lead time), the highest version this system was given. An event at or
  below it is skipped: a duplicate, or an older change that SQS delivered after a newer one (it must not
  overwrite the newer one in the system).

A system that refused our credentials gets `status = refused` on the event's own record (`delivery#<event
id>#<partner>`, versioned subjects too: their subject record keeps the highest version *given*). `refused` is
not final: the delivery is attempted again when its message is redriven, and a success overwrites it.

Attributes: `status` (delivered | rejected | skipped | refused), `detail` (the system's words for a rejection),
`event_id`, `event_type`, `version`, `at`. Reads are one consistent BatchGetItem per SQS batch; writes one
PutItem per delivery (conditional on the version for versioned subjects).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.aws.batch_get import batch_get
from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item

RECORD_TTL_SECONDS = 30 * 24 * 3600  # longer than SQS retention (4 days) plus the DLQ's (14 days)
_FINAL = frozenset({"delivered", "rejected", "skipped"})


@dataclass(frozen=True)
class DeliveryKey:
    partner: str
    event_id: str
    ordering_key: str | None = None  # e.g. purchase_order.acknowledged#PO-1
    version: int | None = None

    @property
    def item_id(self) -> str:
        if self.ordering_key is not None:
            return f"delivery#{self.partner}#{self.ordering_key}"
        return f"delivery#{self.event_id}#{self.partner}"


@dataclass(frozen=True)
class DeliveryRecord:
    status: str
    event_id: str
    detail: str = ""
    version: int | None = None
    at: str = ""


def already_served(key: DeliveryKey, record: DeliveryRecord | None) -> bool:
    """True when the system needs nothing more for this event (pure)."""
    if record is None or record.status not in _FINAL:
        return False
    if key.ordering_key is None or key.version is None or record.version is None:
        return record.event_id == key.event_id
    return record.version >= key.version


class DeliveryStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def load(self, keys: Iterable[DeliveryKey]) -> dict[str, DeliveryRecord]:
        """The records of `keys` that exist, by item id (consistent reads; unprocessed keys re-requested)."""
        return self.absorb(batch_get(self.keys(keys)).get(self.table_name, []))

    def keys(self, keys: Iterable[DeliveryKey]) -> dict[str, list[dict[str, Any]]]:
        """The BatchGetItem keys of `keys`' records (for a read shared with other tables)."""
        return {self.table_name: [{"id": {"S": item_id}} for item_id in sorted({key.item_id for key in keys})]}

    @staticmethod
    def absorb(items: Iterable[dict[str, Any]]) -> dict[str, DeliveryRecord]:
        """The records among `items` (this table's, as read), by item id."""
        found: dict[str, DeliveryRecord] = {}
        for item in items:
            doc = from_item(item)
            found[doc["id"]] = DeliveryRecord(
                status=str(doc.get("status", "")),
                event_id=str(doc.get("event_id", "")),
                detail=str(doc.get("detail", "")),
                version=int(doc["version"]) if doc.get("version") is not None else None,
                at=str(doc.get("at", "")),
            )
        return found

    def record(self, key: DeliveryKey, status: str, *, event_type: str, detail: str = "") -> DeliveryRecord:
        """Write the outcome. For a versioned subject the write only raises the version: when a newer one is
        already recorded (another invocation got there first) the record is left as it is."""
        if status not in _FINAL:
            raise ValueError(f"not a final delivery status: {status!r}")
        record, item = _record_item(key.item_id, key, status, event_type, detail)
        dynamodb = client("dynamodb")
        if key.ordering_key is None or key.version is None:
            dynamodb.put_item(TableName=self.table_name, Item=item)
            return record
        with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):
            dynamodb.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(id) OR version < :v",
                ExpressionAttributeValues={":v": {"N": str(key.version)}},
            )
        return record

    def record_refusal(self, key: DeliveryKey, *, event_type: str, detail: str) -> DeliveryRecord:
        """The system refused our credentials for this event: `refused` on the event's own record, unless that
        record already says the event was served (a concurrent delivery got through first)."""
        event_key = DeliveryKey(key.partner, key.event_id)
        record, item = _record_item(event_key.item_id, key, "refused", event_type, detail)
        dynamodb = client("dynamodb")
        with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):
            dynamodb.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(id) OR #s = :refused",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":refused": {"S": "refused"}},
            )
        return record


def _record_item(
    item_id: str, key: DeliveryKey, status: str, event_type: str, detail: str
) -> tuple[DeliveryRecord, dict[str, Any]]:
    """A delivery record and its item (kept for RECORD_TTL_SECONDS)."""
    now = datetime.now(UTC)
    record = DeliveryRecord(status, key.event_id, detail[:2000], key.version, now.isoformat())
    item = to_item(
        {
            "id": item_id,
            "status": status,
            "detail": record.detail or None,
            "event_id": key.event_id,
            "event_type": event_type,
            "partner": key.partner,
            "version": key.version,
            "at": record.at,
            "expiration": int(now.timestamp()) + RECORD_TTL_SECONDS,
        }
    )
    return record, item
