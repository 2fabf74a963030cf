"""Inventory positions in DynamoDB: `pk=SKU#<sku>`, `sk=LOC#<location>`; writes are conditional on version."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item
from shared.domain.inventory_position import Position, SourceState


class VersionConflict(Exception):
    """Someone else wrote the position since it was read; read again and retry."""


def _key(sku: str, location: str) -> dict[str, Any]:
    return {"pk": {"S": f"SKU#{sku}"}, "sk": {"S": f"LOC#{location}"}}


def _to_item(position: Position) -> dict[str, Any]:
    return to_item(
        {
            "pk": f"SKU#{position.sku}",
            "sk": f"LOC#{position.location}",
            "sku": position.sku,
            "location": position.location,
            "on_hand": position.on_hand,
            "committed": position.committed,
            "reserved": position.reserved,
            "unavailable": position.unavailable,
            "as_of": position.as_of.isoformat() if position.as_of else None,
            "updated_at": datetime.now(UTC).isoformat(),
            "version": position.version,
            "last_event_id": position.last_event_id,
            "sources": {
                name: {
                    "sequence": s.sequence,
                    "occurred_at": s.occurred_at.isoformat(),
                    "snapshot_sequence": s.snapshot_sequence,
                    "recent": list(s.recent),
                }
                for name, s in position.sources.items()
            },
        }
    )


def position_from_item(item: dict[str, Any]) -> Position:
    data = from_item(item)
    return Position(
        sku=data["sku"],
        location=data["location"],
        on_hand=data.get("on_hand", 0),
        committed=data.get("committed", 0),
        reserved=data.get("reserved", 0),
        unavailable=data.get("unavailable", 0),
        as_of=datetime.fromisoformat(data["as_of"]) if data.get("as_of") else None,
        version=data.get("version", 0),
        last_event_id=data.get("last_event_id"),
        sources={
            name: SourceState(
                sequence=s["sequence"],
                occurred_at=datetime.fromisoformat(s["occurred_at"]),
                snapshot_sequence=s.get("snapshot_sequence", -1),
                recent=tuple(s.get("recent", ())),
            )
            for name, s in data.get("sources", {}).items()
        },
    )


class InventoryStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def get(self, sku: str, location: str) -> Position | None:
        item = client("dynamodb").get_item(TableName=self.table_name, Key=_key(sku, location), ConsistentRead=True)
        return position_from_item(item["Item"]) if "Item" in item else None

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Position]:
        """One BatchGetItem per 100 keys (unprocessed keys are fetched again)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[tuple[str, str], Position] = {}
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [_key(*k) for k in wanted[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = client("dynamodb").batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table_name, []):
                    position = position_from_item(item)
                    found[(position.sku, position.location)] = position
                request = response.get("UnprocessedKeys") or {}
        return found

    def positions_for_sku(self, sku: str) -> list[Position]:
        response = client("dynamodb").query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"SKU#{sku}"}},
        )
        return [position_from_item(item) for item in response["Items"]]

    def save(self, position: Position, expected_version: int) -> None:
        """Write the position if nobody else did since `expected_version` (0: it must not exist yet)."""
        condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :expected"
        kwargs: dict[str, Any] = {}
        if expected_version:
            kwargs["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        try:
            client("dynamodb").put_item(
                TableName=self.table_name, Item=_to_item(position), ConditionExpression=condition, **kwargs
            )
        except client("dynamodb").exceptions.ConditionalCheckFailedException as exc:
            raise VersionConflict(position.key) from exc
