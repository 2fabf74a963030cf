"""Inventory positions in DynamoDB (layout in docs/inventory.md): `pk=SKU#<sku>`, `sk=LOC#<location>`.

The projector writes whole positions, conditional on the version it read; reservations adjust `committed`,
`reserved` and `available` arithmetically (shared/aws/reservation_store.py). Both bump `version`, so either
sees the other's write. The derived `on_hand`, `unavailable_total` and `available` are stored for conditions
and for readers that do not load the domain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item
from shared.domain.inventory_position import Incoming, Mark, Position, TailEntry

SKU_PREFIX = "SKU#"
POSITION_PREFIX = "LOC#"
BATCH_GET_LIMIT = 100


class VersionConflict(Exception):
    """Someone else wrote the position since it was read; read again and retry."""


def position_key(sku: str, location: str) -> dict[str, Any]:
    return {"pk": {"S": f"{SKU_PREFIX}{sku}"}, "sk": {"S": f"{POSITION_PREFIX}{location}"}}


def _mark(mark: Mark | None) -> list[Any] | None:
    return [mark.at.isoformat(), mark.source, mark.sequence] if mark else None


def _unmark(value: list[Any] | None) -> Mark | None:
    return Mark(datetime.fromisoformat(value[0]), value[1], int(value[2])) if value else None


def position_to_item(position: Position) -> dict[str, Any]:
    return to_item(
        {
            "pk": f"{SKU_PREFIX}{position.sku}",
            "sk": f"{POSITION_PREFIX}{position.location}",
            "sku": position.sku,
            "location": position.location,
            "base": dict(position.base),
            "base_mark": _mark(position.base_mark),
            "tail": [[*_mark(t.mark), t.event_id, dict(t.changes)] for t in position.tail],  # type: ignore[misc]
            "committed": position.committed,
            "reserved": position.reserved,
            "safety_stock": position.safety_stock,
            "incoming": {
                ref: {
                    "kind": i.kind,
                    "quantity": i.quantity,
                    "expected_date": i.expected_date.isoformat(),
                    "sequence": i.sequence,
                    "received": i.received,
                    "receipts": list(i.receipts),
                }
                for ref, i in position.incoming.items()
            },
            "as_of": position.as_of.isoformat() if position.as_of else None,
            "version": position.version,
            "last_event_id": position.last_event_id,
            "updated_at": datetime.now(UTC).isoformat(),
            "on_hand": position.on_hand,
            "unavailable_total": position.unavailable_total,
            "available": position.available,
        }
    )


def position_from_item(item: dict[str, Any]) -> Position:
    data = from_item(item)
    return Position(
        sku=data["sku"],
        location=data["location"],
        base={k: int(v) for k, v in data.get("base", {}).items()},
        base_mark=_unmark(data.get("base_mark")),
        tail=tuple(
            TailEntry(mark=_unmark(t[:3]), event_id=t[3], changes={k: int(v) for k, v in t[4].items()})  # type: ignore[arg-type]
            for t in data.get("tail", [])
        ),
        committed=int(data.get("committed", 0)),
        reserved=int(data.get("reserved", 0)),
        safety_stock=int(data.get("safety_stock", 0)),
        incoming={
            ref: Incoming(
                reference=ref,
                kind=i["kind"],
                quantity=int(i["quantity"]),
                expected_date=date.fromisoformat(i["expected_date"]),
                sequence=int(i["sequence"]),
                received=int(i.get("received", 0)),
                receipts=tuple(i.get("receipts", ())),
            )
            for ref, i in data.get("incoming", {}).items()
        },
        as_of=datetime.fromisoformat(data["as_of"]) if data.get("as_of") else None,
        version=int(data.get("version", 0)),
        last_event_id=data.get("last_event_id"),
    )


@dataclass(frozen=True)
class SkuPartition:
    """Everything stored under one SKU: its positions, its item master record and the other items (by `sk`:
    `AVAIL`, `CHANNEL#...`), read with one Query."""

    sku: str
    positions: list[Position] = field(default_factory=list)
    item: dict[str, Any] | None = None
    other_items: dict[str, dict[str, Any]] = field(default_factory=dict)


class InventoryStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def get(self, sku: str, location: str) -> Position | None:
        item = client("dynamodb").get_item(
            TableName=self.table_name, Key=position_key(sku, location), ConsistentRead=True
        )
        return position_from_item(item["Item"]) if "Item" in item else None

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Position]:
        """One BatchGetItem per 100 keys (unprocessed keys are fetched again)."""
        return self.get_many_with_items(keys, ())[0]

    def get_many_with_items(
        self, keys: Iterable[tuple[str, str]], skus: Iterable[str]
    ) -> tuple[dict[tuple[str, str], Position], dict[str, dict[str, Any]]]:
        """Positions and the item master records of `skus`, in the same BatchGetItem calls (100 keys each)."""
        wanted = [position_key(*k) for k in dict.fromkeys(keys)]
        wanted += [{"pk": {"S": f"{SKU_PREFIX}{sku}"}, "sk": {"S": "ITEM"}} for sku in dict.fromkeys(skus)]
        found: dict[tuple[str, str], Position] = {}
        masters: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table_name: {"Keys": wanted[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}
            }
            while request:
                response = client("dynamodb").batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table_name, []):
                    if item["sk"]["S"] == "ITEM":
                        masters[item["pk"]["S"].removeprefix(SKU_PREFIX)] = from_item(item)
                    else:
                        position = position_from_item(item)
                        found[(position.sku, position.location)] = position
                request = response.get("UnprocessedKeys") or {}
        return found, masters

    def sku_partition(self, sku: str, *, consistent: bool = True) -> SkuPartition:
        """All items of the SKU (positions, item master, channel records): one Query, paginated if large."""
        positions: list[Position] = []
        others: dict[str, dict[str, Any]] = {}
        master: dict[str, Any] | None = None
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"{SKU_PREFIX}{sku}"}},
            "ConsistentRead": consistent,
        }
        while True:
            response = client("dynamodb").query(**kwargs)
            for item in response["Items"]:
                sk = item["sk"]["S"]
                if sk.startswith(POSITION_PREFIX):
                    positions.append(position_from_item(item))
                elif sk == "ITEM":
                    master = from_item(item)
                else:
                    others[sk] = item
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        positions.sort(key=lambda p: p.location)
        return SkuPartition(sku=sku, positions=positions, item=master, other_items=others)

    def positions_for_sku(self, sku: str) -> list[Position]:
        return self.sku_partition(sku).positions

    def save(self, position: Position, expected_version: int) -> None:
        """Write the position if nobody else did since `expected_version` (0: it must not exist yet)."""
        condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :expected"
        kwargs: dict[str, Any] = {}
        if expected_version:
            kwargs["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        try:
            client("dynamodb").put_item(
                TableName=self.table_name, Item=position_to_item(position), ConditionExpression=condition, **kwargs
            )
        except client("dynamodb").exceptions.ConditionalCheckFailedException as exc:
            raise VersionConflict(position.key) from exc
