"""Events kept on the record whose change they announce until they are published (ADR 0013).

A writer puts the envelopes of its change on an item its transaction already writes (attribute `outbox`: the
envelopes' JSON, as one zlib-compressed JSON list), publishes them, then removes the attribute. A crash or a
failed PutEvents in between leaves them on the record, where the next writer of that record (a retried request,
a later change) finds them and publishes them first; event ids are deterministic, so publishing twice is a
duplicate that consumers drop. An item must stay under DynamoDB's 400 KB: `attach` and `encode` refuse an
outbox that would not fit (`OutboxTooLarge`) instead of letting the transaction fail later for a vaguer reason.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from shared.aws.clients import client

ATTRIBUTE = "outbox"
ITEM_LIMIT = 400 * 1024  # DynamoDB's item size limit, attribute names included


class OutboxTooLarge(ValueError):
    """The events of a change do not fit on their record (with the rest of the item) under 400 KB."""

    def __init__(self, events: int, size: int) -> None:
        self.events, self.size = events, size
        super().__init__(
            f"the record with the outbox of {events} event(s) would be {size} bytes; an item holds {ITEM_LIMIT}"
        )


def encode(events: Sequence[str], *, rest: int = 0) -> dict[str, Any]:
    """The attribute value holding `events` (envelope JSON texts), for an item of `rest` bytes without it."""
    value = zlib.compress(json.dumps(list(events), separators=(",", ":")).encode())
    size = rest + len(ATTRIBUTE) + len(value)
    if size > ITEM_LIMIT:
        raise OutboxTooLarge(len(events), size)
    return {"B": value}


def decode(value: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The envelope JSON texts held by an attribute value (none for an absent attribute)."""
    if not value:
        return ()
    return tuple(json.loads(zlib.decompress(bytes(value["B"]))))


def pop(item: dict[str, Any]) -> tuple[str, ...]:
    """Take the outbox off a raw item as read (so that the rest converts as plain attributes) and decode it."""
    return decode(item.pop(ATTRIBUTE, None))


def attach(item: dict[str, Any], events: Sequence[str]) -> dict[str, Any]:
    """`item` (attribute values) with `events` as its outbox; the item unchanged when there are none."""
    if not events:
        return item
    return {**item, ATTRIBUTE: encode(events, rest=item_size(item))}


def clearing(
    table_name: str,
    key: Mapping[str, Any],
    *,
    version: int | None = None,
    version_attribute: str = "version",
    also: Sequence[str] = (),
    outbox: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Parameters of the update that removes the outbox (and the attributes named in `also`): an UpdateItem, or
    an `Update` of a transaction. With `version`, only while the record is still at that version: a newer change
    carries its own outbox, which this must not remove (and the condition keeps a record deleted meanwhile from
    being recreated empty). With `outbox` (the attribute value as read), only while the record still carries that
    very outbox: what a reader that does not know the record's version attribute (the stream publisher) uses."""
    update: dict[str, Any] = {
        "TableName": table_name,
        "Key": dict(key),
        "UpdateExpression": "REMOVE " + ", ".join([ATTRIBUTE, *also]),
    }
    conditions: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    if version is not None:
        conditions.append("#outbox_v = :outbox_v")
        names["#outbox_v"] = version_attribute
        values[":outbox_v"] = {"N": str(version)}
    if outbox is not None:
        conditions.append("#outbox = :outbox")
        names["#outbox"] = ATTRIBUTE
        values[":outbox"] = dict(outbox)
    if conditions:
        update["ConditionExpression"] = " AND ".join(conditions)
        update["ExpressionAttributeNames"] = names
        update["ExpressionAttributeValues"] = values
    return update


def clear(
    table_name: str,
    key: Mapping[str, Any],
    *,
    version: int | None = None,
    version_attribute: str = "version",
    also: Sequence[str] = (),
    outbox: Mapping[str, Any] | None = None,
) -> bool:
    """Remove the published outbox (one UpdateItem). False: the record moved on from `version` (or from
    `outbox`) meanwhile, and its outbox is the newer change's."""
    update = clearing(table_name, key, version=version, version_attribute=version_attribute, also=also, outbox=outbox)
    dynamodb = client("dynamodb")
    try:
        dynamodb.update_item(**update)
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def item_size(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it (attribute names + values), rounded up where DynamoDB's own rule
    is approximate (numbers), so that a check against ITEM_LIMIT errs on the safe side."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    (kind, content), *_ = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return len(content) // 2 + 2
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in content)
    if kind == "NS":
        return sum(len(n) // 2 + 2 for n in content)
    if kind == "BS":
        return sum(len(b) for b in content)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in content)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in content.items())
    raise ValueError(f"unknown attribute value type {kind!r}")
