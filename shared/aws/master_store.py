"""Item and location master in the inventory table (layout in docs/inventory.md).

- item: `pk=SKU#<sku>`, `sk=ITEM`, the `Item` fields as top-level attributes;
- location: `pk=LOC#<code>`, `sk=LOCATION`, the `Location` fields;
- cross-reference: `pk=XREF#<system>#<id>`, `sk=XREF`, attributes `sku`, `system`, `external_id`; written in the
  same transaction as its item, so an item and its cross-references never disagree;
- a location's GLN: `pk=XREF#gln#<gln>`, `sk=XREF`, attributes `location`, `system` (`gln`), `external_id`;
  written in the same transaction as its location.

Every record also carries `sequence` (the ERP's version), `updated_at`, `updated_by` and, until its event is
known to be published, `outbox` (the envelope as JSON): a writer that finds an outbox publishes it (see
shared/services/master_data.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item
from shared.canonical.items import Item, Location

ITEM_SK = "ITEM"
LOCATION_SK = "LOCATION"
XREF_SK = "XREF"
BATCH_GET_LIMIT = 100
TRANSACTION_LIMIT = 100

R = TypeVar("R", Item, Location)


def item_key(sku: str) -> dict[str, Any]:
    return {"pk": {"S": f"SKU#{sku}"}, "sk": {"S": ITEM_SK}}


def location_key(code: str) -> dict[str, Any]:
    return {"pk": {"S": f"LOC#{code}"}, "sk": {"S": LOCATION_SK}}


def xref_key(system: str, external_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"XREF#{system}#{external_id}"}, "sk": {"S": XREF_SK}}


@dataclass(frozen=True)
class Versioned(Generic[R]):
    """A master record as stored: the record, the ERP's version of it, and the event still owed, if any."""

    record: R
    sequence: int
    updated_at: datetime
    updated_by: str
    outbox: str | None = None


StoredItem = Versioned[Item]
StoredLocation = Versioned[Location]


class Superseded(Exception):
    """The record changed since it was read; read it again."""


class CrossReferenceTaken(Exception):
    """A cross-reference of the item already points at another SKU."""

    def __init__(self, system: str, external_id: str, sku: str | None) -> None:
        self.system, self.external_id, self.sku = system, external_id, sku
        owner = f"SKU '{sku}'" if sku else "another SKU"
        super().__init__(f"cross-reference {system}:{external_id} already points at {owner}")


class GlnTaken(Exception):
    """The GLN already identifies another location."""

    def __init__(self, gln: str, location: str | None) -> None:
        self.gln, self.location = gln, location
        owner = f"location '{location}'" if location else "another location"
        super().__init__(f"GLN {gln} already identifies {owner}")


GLN_SYSTEM = "gln"


def _attributes(stored: Versioned[Any], keys: dict[str, Any]) -> dict[str, Any]:
    data = {k: v["S"] for k, v in keys.items()}
    data.update(stored.record.model_dump(mode="json"))
    data.update(
        sequence=stored.sequence,
        updated_at=stored.updated_at.isoformat(),
        updated_by=stored.updated_by,
        outbox=stored.outbox,
    )
    return to_item(data)


def _versioned(model: type[BaseModel], item: dict[str, Any]) -> Versioned[Any]:
    data = from_item(item)
    record = model.model_validate({k: data[k] for k in model.model_fields if k in data})
    return Versioned(
        record=record,
        sequence=int(data["sequence"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        updated_by=str(data.get("updated_by", "")),
        outbox=data.get("outbox"),
    )


def _version_condition(previous: Versioned[Any] | None) -> dict[str, Any]:
    """Write only over the version that was read (or over nothing)."""
    if previous is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "#sequence = :read",
        "ExpressionAttributeNames": {"#sequence": "sequence"},
        "ExpressionAttributeValues": {":read": {"N": str(previous.sequence)}},
    }


class MasterStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    # ------------------------------------------------------------------------------------------------ reads
    def read(
        self, skus: Iterable[str] = (), locations: Iterable[str] = (), *, consistent: bool = False
    ) -> tuple[dict[str, StoredItem], dict[str, StoredLocation]]:
        """Items and locations in one BatchGetItem per 100 keys (absent ones are left out)."""
        keys = [item_key(s) for s in dict.fromkeys(skus)] + [location_key(c) for c in dict.fromkeys(locations)]
        items: dict[str, StoredItem] = {}
        found_locations: dict[str, StoredLocation] = {}
        for raw in self._batch_get(keys, consistent=consistent):
            if raw["sk"]["S"] == ITEM_SK:
                stored = _versioned(Item, raw)
                items[stored.record.sku] = stored
            else:
                located = _versioned(Location, raw)
                found_locations[located.record.code] = located
        return items, found_locations

    def item(self, sku: str) -> StoredItem | None:
        response = client("dynamodb").get_item(TableName=self.table_name, Key=item_key(sku), ConsistentRead=True)
        return _versioned(Item, response["Item"]) if "Item" in response else None

    def location(self, code: str) -> StoredLocation | None:
        response = client("dynamodb").get_item(TableName=self.table_name, Key=location_key(code), ConsistentRead=True)
        return _versioned(Location, response["Item"]) if "Item" in response else None

    def cross_references(self, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(system, external id) -> SKU, for the references that exist."""
        wanted = list(dict.fromkeys(refs))
        found: dict[tuple[str, str], str] = {}
        for raw in self._batch_get([xref_key(s, i) for s, i in wanted], consistent=False):
            data = from_item(raw)
            found[(data["system"], data["external_id"])] = data["sku"]
        return found

    def locations_by_gln(self, glns: Iterable[str]) -> dict[str, str]:
        """GLN -> location code, for the GLNs some location carries."""
        found: dict[str, str] = {}
        for raw in self._batch_get([xref_key(GLN_SYSTEM, g) for g in dict.fromkeys(glns)], consistent=False):
            data = from_item(raw)
            found[data["external_id"]] = data["location"]
        return found

    def _batch_get(self, keys: list[dict[str, Any]], *, consistent: bool) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table_name: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": consistent}
            }
            while request:
                response = client("dynamodb").batch_get_item(RequestItems=request)
                out.extend(response["Responses"].get(self.table_name, []))
                request = response.get("UnprocessedKeys") or {}
        return out

    # ----------------------------------------------------------------------------------------------- writes
    def put_item(self, new: StoredItem, previous: StoredItem | None) -> None:
        """Write the item and its cross-references in one transaction, over the version read.

        Cross-references the new version dropped are deleted; new ones must not point at another SKU.
        Raises `Superseded` or `CrossReferenceTaken`.
        """
        sku = new.record.sku
        before = {(x.system, x.id) for x in previous.record.cross_references} if previous else set()
        after = {(x.system, x.id) for x in new.record.cross_references}
        added, dropped = sorted(after - before), sorted(before - after)
        if 1 + len(added) + len(dropped) > TRANSACTION_LIMIT:
            raise ValueError(
                f"{len(added)} new and {len(dropped)} dropped cross-references exceed one transaction; "
                "change at most 99 at a time"
            )
        owner = {":sku": {"S": sku}}
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _attributes(new, item_key(sku)),
                    **_version_condition(previous),
                }
            }
        ]
        for system, external_id in added:
            record = {"sku": sku, "system": system, "external_id": external_id}
            actions.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": to_item({**{k: v["S"] for k, v in xref_key(system, external_id).items()}, **record}),
                        "ConditionExpression": "attribute_not_exists(pk) OR sku = :sku",
                        "ExpressionAttributeValues": owner,
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        for system, external_id in dropped:
            actions.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": xref_key(system, external_id),
                        "ConditionExpression": "attribute_not_exists(pk) OR sku = :sku",
                        "ExpressionAttributeValues": owner,
                    }
                }
            )
        ddb = client("dynamodb")
        try:
            ddb.transact_write_items(TransactItems=actions)
        except ddb.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            failed = [i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"]
            added_failed = [i for i in failed if 1 <= i <= len(added)]
            if added_failed:
                system, external_id = added[added_failed[0] - 1]
                old = reasons[added_failed[0]].get("Item")
                taken_by = (
                    from_item(old).get("sku")
                    if old
                    else self.cross_references([(system, external_id)]).get((system, external_id))
                )
                raise CrossReferenceTaken(system, external_id, taken_by) from exc
            if failed:  # the item itself, or a dropped reference someone else re-pointed meanwhile
                raise Superseded(sku) from exc
            raise

    def put_location(self, new: StoredLocation, previous: StoredLocation | None) -> None:
        """Write the location, and its GLN reference when the GLN changed, in one transaction over the version
        read; raises `Superseded` or `GlnTaken`."""
        code = new.record.code
        old_gln, new_gln = previous.record.gln if previous else None, new.record.gln
        owner = {":code": {"S": code}}
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _attributes(new, location_key(code)),
                    **_version_condition(previous),
                }
            }
        ]
        if new_gln and new_gln != old_gln:
            record = {"location": code, "system": GLN_SYSTEM, "external_id": new_gln}
            actions.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": to_item({**{k: v["S"] for k, v in xref_key(GLN_SYSTEM, new_gln).items()}, **record}),
                        "ConditionExpression": "attribute_not_exists(pk) OR #location = :code",
                        "ExpressionAttributeNames": {"#location": "location"},
                        "ExpressionAttributeValues": owner,
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        if old_gln and old_gln != new_gln:
            actions.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": xref_key(GLN_SYSTEM, old_gln),
                        "ConditionExpression": "attribute_not_exists(pk) OR #location = :code",
                        "ExpressionAttributeNames": {"#location": "location"},
                        "ExpressionAttributeValues": owner,
                    }
                }
            )
        ddb = client("dynamodb")
        try:
            ddb.transact_write_items(TransactItems=actions)
        except ddb.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            gln_refused = len(reasons) > 1 and reasons[1].get("Code") == "ConditionalCheckFailed"
            if new_gln and new_gln != old_gln and gln_refused:
                old = reasons[1].get("Item")
                taken_by = from_item(old).get("location") if old else self.locations_by_gln([new_gln]).get(new_gln)
                raise GlnTaken(new_gln, taken_by) from exc
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                raise Superseded(code) from exc
            raise

    def clear_item_outbox(self, sku: str, sequence: int) -> None:
        self._clear_outbox(item_key(sku), sequence)

    def clear_location_outbox(self, code: str, sequence: int) -> None:
        self._clear_outbox(location_key(code), sequence)

    def _clear_outbox(self, key: dict[str, Any], sequence: int) -> None:
        """The event of version `sequence` is published; a newer version keeps its own outbox."""
        ddb = client("dynamodb")
        with contextlib.suppress(ddb.exceptions.ConditionalCheckFailedException):
            ddb.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="REMOVE outbox",
                ConditionExpression="#sequence = :published",
                ExpressionAttributeNames={"#sequence": "sequence"},
                ExpressionAttributeValues={":published": {"N": str(sequence)}},
            )
