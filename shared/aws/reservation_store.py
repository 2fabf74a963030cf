"""Reservations in DynamoDB and the arithmetic they do on inventory positions (layout: docs/inventory.md).

Every write is one TransactWriteItems: the reservation record (item 0, conditional on the progress the writer
read) and the positions of one chunk. Reserving conditions each position on `available >= :q`, so stock is
never promised twice however many writers race; undoing conditions only on the position existing. The
derived `available` is maintained here arithmetically, as the projector maintains it on its full writes;
both bump `version`, so each sees the other's writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item, to_value
from shared.aws.inventory_store import position_key
from shared.canonical.reservation import Reservation, ReservationLine
from shared.domain.reservations import (
    PositionKey,
    ReservationRecord,
    bucket,
    expiry_shard,
    pending_deadline,
)

EXPIRY_INDEX = "by-expiry"
# What the expiry sweeper reads from the index to act without reading the table (besides the keys).
EXPIRY_INDEX_ATTRIBUTES = (
    "partner_id",
    "reference",
    "kind",
    "channel",
    "status",
    "lines",
    "created_at",
    "updated_at",
    "correlation_id",
    "chunks",
    "applied",
    "hold_seconds",
)
BATCH_GET_LIMIT = 100


class TxOutcome(StrEnum):
    OK = "ok"
    RECORD_CHANGED = "record_changed"  # the record is not as read: another writer got there first
    SHORT = "short"  # a position has less available than a line asks
    CONTENDED = "contended"  # DynamoDB cancelled it for a concurrent transaction on the same items


def iso(value: datetime) -> str:
    """Fixed-width UTC timestamps, so that the expiry index's string sort key sorts by time."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _in_expiry_index(record: ReservationRecord) -> bool:
    """Listed while the sweeper may have work: pending, held with an expiry, or a close of such a hold still
    under way (a close never adds a reservation to the index, it takes it out once done)."""
    if record.status == "pending":
        return True
    if record.reservation.expires_at is None:
        return False
    return record.status == "held" or record.applied > 0


def _sort_key(record: ReservationRecord) -> datetime | None:
    if record.status == "pending":
        return pending_deadline(record.reservation)
    return record.reservation.expires_at


def record_to_item(record: ReservationRecord) -> dict[str, Any]:
    r = record.reservation
    sort_key = _sort_key(record)
    data: dict[str, Any] = {
        "reservation_id": r.reservation_id,
        "partner_id": r.partner_id,
        "reference": r.reference,
        "kind": r.kind,
        "channel": r.channel,
        "status": r.status,
        "lines": [{"sku": x.sku, "location": x.location, "quantity": x.quantity} for x in r.lines],
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "expires_at": iso(sort_key) if sort_key else None,
        "correlation_id": record.correlation_id,
        "chunks": record.chunks,
        "applied": record.applied,
        "hold_seconds": record.hold_seconds,
    }
    if _in_expiry_index(record):
        data["expiry_shard"] = expiry_shard(r.reservation_id)
    return to_item(data)


def record_from_item(item: dict[str, Any]) -> ReservationRecord:
    data = from_item(item)
    status = data["status"]
    expires_at = data.get("expires_at")
    reservation = Reservation(
        reservation_id=data["reservation_id"],
        partner_id=data["partner_id"],
        reference=data["reference"],
        kind=data["kind"],
        channel=data.get("channel"),
        status=status,
        lines=[ReservationLine(**line) for line in data["lines"]],
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        # while pending, the index's sort key is the abandonment deadline, not an expiry
        expires_at=datetime.fromisoformat(expires_at) if expires_at and status != "pending" else None,
    )
    return ReservationRecord(
        reservation=reservation,
        chunks=int(data["chunks"]),
        applied=int(data["applied"]),
        correlation_id=data["correlation_id"],
        hold_seconds=int(data["hold_seconds"]) if data.get("hold_seconds") is not None else None,
    )


class ReservationStore:
    def __init__(self, table_name: str, inventory_table: str) -> None:
        if not table_name or not inventory_table:
            raise ValueError("the reservations and inventory table names are both required")
        self.table_name = table_name
        self.inventory_table = inventory_table

    # ----------------------------------------------------------------------------------------------- reads
    def get(self, reservation_id: str) -> ReservationRecord | None:
        item = client("dynamodb").get_item(
            TableName=self.table_name, Key={"reservation_id": {"S": reservation_id}}, ConsistentRead=True
        )
        return record_from_item(item["Item"]) if "Item" in item else None

    def available(self, keys: Iterable[PositionKey]) -> dict[PositionKey, int]:
        """`available` of each position that exists (BatchGetItem per 100 keys, strongly consistent)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[PositionKey, int] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.inventory_table: {
                    "Keys": [position_key(*k) for k in wanted[start : start + BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                    "ProjectionExpression": "#sku, #loc, #a",
                    "ExpressionAttributeNames": {"#sku": "sku", "#loc": "location", "#a": "available"},
                }
            }
            while request:
                response = client("dynamodb").batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.inventory_table, []):
                    data = from_item(item)
                    found[(data["sku"], data["location"])] = int(data.get("available", 0))
                request = response.get("UnprocessedKeys") or {}
        return found

    def due(self, shard: str, now: datetime) -> Iterator[ReservationRecord]:
        """Reservations of one expiry shard whose sort key (expiry, or abandonment deadline) is <= `now`.

        The index is eventually consistent: what it lists may already be closed; every write that follows is
        conditional on the record, so acting on a stale entry changes nothing."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": EXPIRY_INDEX,
            "KeyConditionExpression": "expiry_shard = :shard AND expires_at <= :now",
            "ExpressionAttributeValues": {":shard": {"S": shard}, ":now": {"S": iso(now)}},
        }
        while True:
            response = client("dynamodb").query(**kwargs)
            for item in response["Items"]:
                yield record_from_item(item)
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ---------------------------------------------------------------------------------------------- writes
    def apply_chunk(self, before: ReservationRecord, after: ReservationRecord) -> TxOutcome:
        """Reserve the stock of chunk `before.applied` and write the record as `after`."""
        index = before.applied
        if index == 0:
            record_op = {
                "Put": {
                    "TableName": self.table_name,
                    "Item": record_to_item(after),
                    "ConditionExpression": "attribute_not_exists(reservation_id)",
                }
            }
        else:
            record_op = {"Update": self._record_update(before, after)}
        positions = [self._position_update(line, bucket(before.reservation.kind), +1) for line in after.chunk(index)]
        return self._transact([record_op, *positions])

    def revert_chunk(self, before: ReservationRecord, after: ReservationRecord | None) -> TxOutcome:
        """Give back the stock of chunk `before.applied - 1` and write the record as `after` (None: delete it,
        for a creation undone before it was ever held)."""
        index = before.applied - 1
        if after is None:
            record_op = {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": {"reservation_id": {"S": before.reservation_id}},
                    **self._progress_condition(before),
                }
            }
        else:
            record_op = {"Update": self._record_update(before, after)}
        positions = [self._position_update(line, bucket(before.reservation.kind), -1) for line in before.chunk(index)]
        return self._transact([record_op, *positions])

    # ------------------------------------------------------------------------------------------- internals
    def _progress_condition(self, before: ReservationRecord) -> dict[str, Any]:
        """The record is exactly as `before` was read: same status, same chunks applied."""
        return {
            "ConditionExpression": "#status = :was_status AND applied = :was_applied",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":was_status": {"S": before.status},
                ":was_applied": {"N": str(before.applied)},
            },
        }

    def _record_update(self, before: ReservationRecord, after: ReservationRecord) -> dict[str, Any]:
        condition = self._progress_condition(before)
        values = condition["ExpressionAttributeValues"]
        sets = ["#status = :status", "applied = :applied", "updated_at = :updated_at"]
        values.update(
            {
                ":status": {"S": after.status},
                ":applied": {"N": str(after.applied)},
                ":updated_at": {"S": iso(after.reservation.updated_at)},
            }
        )
        removes = []
        if after.hold_seconds is None and before.hold_seconds is not None:
            removes.append("hold_seconds")
        sort_key = _sort_key(after)
        if _in_expiry_index(after) and sort_key is not None:
            if not _in_expiry_index(before) or sort_key != _sort_key(before):
                sets += ["expiry_shard = :shard", "expires_at = :expires_at"]
                values[":shard"] = {"S": expiry_shard(after.reservation_id)}
                values[":expires_at"] = {"S": iso(sort_key)}
        else:
            removes.append("expiry_shard")
            if after.status == "held":  # became held without an expiry: the pending deadline goes too
                removes.append("expires_at")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return {
            "TableName": self.table_name,
            "Key": {"reservation_id": {"S": before.reservation_id}},
            "UpdateExpression": expression,
            **condition,
        }

    def _position_update(self, line: ReservationLine, bucket_name: str, sign: int) -> dict[str, Any]:
        if sign > 0:
            expression = "SET #b = if_not_exists(#b, :zero) + :q, #a = #a - :q ADD #v :one"
            condition = "attribute_exists(pk) AND #a >= :q"
            values = {":q": to_value(line.quantity), ":zero": to_value(0), ":one": to_value(1)}
        else:
            expression = "SET #b = #b - :q, #a = #a + :q ADD #v :one"
            condition = "attribute_exists(pk)"
            values = {":q": to_value(line.quantity), ":one": to_value(1)}
        return {
            "Update": {
                "TableName": self.inventory_table,
                "Key": position_key(line.sku, line.location),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#b": bucket_name, "#a": "available", "#v": "version"},
                "ExpressionAttributeValues": values,
            }
        }

    def _transact(self, items: Sequence[dict[str, Any]]) -> TxOutcome:
        dynamodb = client("dynamodb")
        try:
            dynamodb.transact_write_items(TransactItems=list(items))
        except dynamodb.exceptions.TransactionCanceledException as exc:
            return _cancelled(exc)
        return TxOutcome.OK


def _cancelled(exc: Any) -> TxOutcome:
    """Why the transaction was cancelled, from its per-item reasons (item 0 is the record)."""
    codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
    if codes and codes[0] == "ConditionalCheckFailed":
        return TxOutcome.RECORD_CHANGED
    if "ConditionalCheckFailed" in codes[1:]:
        return TxOutcome.SHORT
    if "TransactionConflict" in codes:
        return TxOutcome.CONTENDED
    raise exc
