"""In-memory stand-ins for the AWS layer; everything above them (gate, resolver, idempotency, projection) is real."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer, DataRecord

from shared.aws.inventory_store import InventoryStore, VersionConflict, _to_item, position_from_item
from shared.domain.inventory_position import Position


class FakeEvents:
    """`events` client: every entry accepted."""

    def __init__(self) -> None:
        self.published = 0

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.published += len(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(uuid.uuid4())} for _ in Entries]}


def memory_idempotency(layer: BasePersistenceLayer) -> dict[str, DataRecord]:
    """Replace the layer's DynamoDB record calls with a dict (same conflict rule: exists and not expired)."""
    records: dict[str, DataRecord] = {}

    def put(data_record: DataRecord) -> None:
        old = records.get(data_record.idempotency_key)
        if old is not None and not old.is_expired:
            raise IdempotencyItemAlreadyExistsError(old_data_record=old)
        records[data_record.idempotency_key] = data_record

    def get(idempotency_key: str) -> DataRecord:
        try:
            return records[idempotency_key]
        except KeyError:
            raise IdempotencyItemNotFoundError from None

    def update(data_record: DataRecord) -> None:
        records[data_record.idempotency_key] = data_record

    def delete(data_record: DataRecord) -> None:
        records.pop(data_record.idempotency_key, None)

    layer._put_record = put  # type: ignore[method-assign]
    layer._get_record = get  # type: ignore[method-assign]
    layer._update_record = update  # type: ignore[method-assign]
    layer._delete_record = delete  # type: ignore[method-assign]
    return records


def memory_inventory(store: InventoryStore) -> dict[tuple[str, str], dict[str, Any]]:
    """Back the store's get/get_many/save with a dict of DynamoDB items, keeping the item (un)marshalling
    in the measured path; `save` keeps the version condition."""
    items: dict[tuple[str, str], dict[str, Any]] = {}

    def get(sku: str, location: str) -> Position | None:
        item = items.get((sku, location))
        return position_from_item(item) if item else None

    def get_many(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Position]:
        return {key: position_from_item(items[key]) for key in dict.fromkeys(keys) if key in items}

    def save(position: Position, expected_version: int) -> None:
        key = (position.sku, position.location)
        current = items.get(key)
        if (int(current["version"]["N"]) if current else 0) != expected_version:
            raise VersionConflict(position.key)
        items[key] = _to_item(position)

    store.get = get  # type: ignore[method-assign]
    store.get_many = get_many  # type: ignore[method-assign]
    store.save = save  # type: ignore[method-assign]
    return items
