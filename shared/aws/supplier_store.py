"""The supplier master's table: golden records, source records, cross-references, match keys, the review queue.

Layout (docs/supplier-collaboration.md, ADR 0011):
- golden: `SUPPLIER#<gid>` / `GOLDEN`: the survived attributes, `version`, `winners` (attribute -> source key),
  `cross_references`, `profile` (what the matcher knows of it), `match_keys`, `merged_into`, and until they are
  published the events of the change that wrote it (`outbox`, `shared.aws.record_outbox`, ADR 0013) with the
  answer the request that made it got (`outbox_result`, JSON), so that its retry answers the same;
- source record: `SUPPLIER#<gid>` / `SOURCE#<system>#<local id>`: the system's record as received (the bank account
  only as ciphertext + mask), its `sequence` / `updated_at`, the system's partner kind;
- cross-reference: `XREF#<system>#<local id>` / `XREF` (`supplier_id`);
- match key: `MATCH#TAX#<tax id>` | `MATCH#DUNS#<duns>` | `MATCH#NAME#<normalized name>` |
  `MATCH#POSTAL#<country>:<postal>` / `MATCH`: one attribute per golden carrying the key (its name is the golden id,
  its value the golden's profile) and a counter `v`. One BatchGetItem of a record's keys gives every candidate with
  what the matcher needs; a writer conditions on the counters it read, so two records of one new supplier arriving
  together cannot both create it (the second retries and matches). An item holds up to ~1,500 profiles (400 KB).
- review: `REVIEW` / `<created>#<review id>`: a record kept apart and the goldens a steward should compare it with.

Every change is one TransactWriteItems (`Transaction`); a failed condition raises `Conflict` (read again, decide
again). The golden a change writes carries the change's events; `clear_outbox` removes them once published.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.aws import record_outbox
from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item, to_value
from shared.aws.supplier_directory import golden_key, xref_key
from shared.domain.supplier_matching import Profile

GOLDEN_SK = "GOLDEN"
MATCH_SK = "MATCH"
REVIEW_PK = "REVIEW"
SOURCE_PREFIX = "SOURCE#"
BATCH_GET_LIMIT = 100
TRANSACTION_LIMIT = 100
_GOLDEN_ID_PREFIX = "SUP-"


def supplier_pk(supplier_id: str) -> str:
    return f"SUPPLIER#{supplier_id}"


def source_key(system: str, local_id: str) -> str:
    return f"{system}#{local_id}"


def match_key(key: str) -> dict[str, Any]:
    return {"pk": {"S": f"MATCH#{key}"}, "sk": {"S": MATCH_SK}}


class Conflict(Exception):
    """Something this change was decided on changed meanwhile (or the transaction met another): decide again."""


class TooLarge(Exception):
    """The change needs more items than one transaction may hold."""


@dataclass(frozen=True)
class Golden:
    supplier_id: str
    version: int
    values: dict[str, Any]  # survived attributes (bank_account: {"ciphertext", "masked", "record"})
    winners: dict[str, str]
    cross_references: dict[str, str]
    profile: Profile
    match_keys: frozenset[str]
    created_at: str
    updated_at: str
    merged_into: str | None = None
    # As read: the events a change wrote on the golden and could not publish yet (envelope JSON), and the answer
    # its request got. Never written from here: a writer says what its own change leaves (`put_golden`).
    outbox: tuple[str, ...] = ()
    outbox_result: str | None = None

    def item(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "pk": supplier_pk(self.supplier_id),
            "sk": GOLDEN_SK,
            "supplier_id": self.supplier_id,
            "version": self.version,
            **{k: v for k, v in self.values.items() if v is not None},
            "winners": self.winners,
            "cross_references": self.cross_references,
            "profile": self.profile.to_dict(),
            "match_keys": sorted(self.match_keys),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "merged_into": self.merged_into,
        }
        return to_item(data)

    @classmethod
    def from_item(cls, item: Mapping[str, Any], attributes: Iterable[str]) -> Golden:
        raw = dict(item)
        outbox = record_outbox.pop(raw)
        data = from_item(raw)
        return cls(
            supplier_id=data["supplier_id"],
            version=int(data["version"]),
            values={a: data.get(a) for a in attributes},
            winners=dict(data.get("winners") or {}),
            cross_references=dict(data.get("cross_references") or {}),
            profile=Profile.from_dict(data.get("profile") or {}),
            match_keys=frozenset(data.get("match_keys") or ()),
            created_at=data["created_at"],
            updated_at=data["updated_at"],
            merged_into=data.get("merged_into"),
            outbox=outbox,
            outbox_result=data.get("outbox_result"),
        )


@dataclass(frozen=True)
class Source:
    system: str
    local_id: str
    kind: str
    sequence: int | None
    updated_at: str | None  # the system's own timestamp (ISO), if it gave one
    as_of: str  # for recency: updated_at, else when distrosync received it
    received_at: str
    record: dict[str, Any]  # the SupplierRecord as JSON, without bank_account, sequence and updated_at
    bank_account: dict[str, str] | None = None  # {"ciphertext", "masked", "record"}

    @property
    def key(self) -> str:
        return source_key(self.system, self.local_id)

    def item(self, supplier_id: str) -> dict[str, Any]:
        return to_item(
            {
                "pk": supplier_pk(supplier_id),
                "sk": SOURCE_PREFIX + self.key,
                "system": self.system,
                "local_id": self.local_id,
                "kind": self.kind,
                "sequence": self.sequence,
                "updated_at": self.updated_at,
                "as_of": self.as_of,
                "received_at": self.received_at,
                "record": self.record,
                "bank_account": self.bank_account,
            }
        )

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Source:
        data = from_item(dict(item))
        return cls(
            system=data["system"],
            local_id=data["local_id"],
            kind=data["kind"],
            sequence=None if data.get("sequence") is None else int(data["sequence"]),
            updated_at=data.get("updated_at"),
            as_of=data["as_of"],
            received_at=data["received_at"],
            record=dict(data.get("record") or {}),
            bank_account=data.get("bank_account"),
        )


@dataclass(frozen=True)
class Review:
    review_id: str
    created_at: str
    supplier_id: str  # the golden the queued record was kept as
    record: str  # "<system>#<local id>"
    candidates: dict[str, list[str]]  # golden id -> reasons

    @property
    def sk(self) -> str:
        return f"{self.created_at}#{self.review_id}"

    def item(self) -> dict[str, Any]:
        return to_item(
            {
                "pk": REVIEW_PK,
                "sk": self.sk,
                "review_id": self.review_id,
                "created_at": self.created_at,
                "supplier_id": self.supplier_id,
                "record": self.record,
                "candidates": self.candidates,
            }
        )

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Review:
        data = from_item(dict(item))
        return cls(
            review_id=data["review_id"],
            created_at=data["created_at"],
            supplier_id=data["supplier_id"],
            record=data["record"],
            candidates={k: list(v) for k, v in (data.get("candidates") or {}).items()},
        )


@dataclass(frozen=True)
class MatchEntry:
    """A match key as read: its counter (None: no item) and the goldens carrying it."""

    version: int | None
    profiles: dict[str, Profile]


@dataclass(frozen=True)
class Lookup:
    xref: str | None  # the golden the record's cross-reference points at
    keys: dict[str, MatchEntry]  # every looked-up key (absent ones with version None)

    def candidates(self) -> dict[str, Profile]:
        out: dict[str, Profile] = {}
        for entry in self.keys.values():
            out.update(entry.profiles)
        return out


@dataclass
class Transaction:
    """The writes of one change, committed as one TransactWriteItems."""

    table_name: str
    _items: list[dict[str, Any]] = field(default_factory=list)
    _match: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {"set": {gid: profile}, ...}

    def put_golden(
        self,
        golden: Golden,
        *,
        read_version: int | None,
        outbox: Sequence[str] = (),
        result: str | None = None,
    ) -> None:
        """Write over the version that was read (None: over nothing), with the events of the change until they are
        published (`outbox`, envelope JSON) and the answer to give a retry of the request meanwhile (`result`).
        Whatever outbox the version read carried is replaced: publish it first."""
        item = golden.item()
        if outbox and result is not None:
            item["outbox_result"] = {"S": result}
        put: dict[str, Any] = {"TableName": self.table_name, "Item": record_outbox.attach(item, outbox)}
        if read_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :read"
            put["ExpressionAttributeValues"] = {":read": {"N": str(read_version)}}
        self._items.append({"Put": put})

    def put_source(self, supplier_id: str, source: Source, *, must_be_new: bool = False) -> None:
        put: dict[str, Any] = {"TableName": self.table_name, "Item": source.item(supplier_id)}
        if must_be_new:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        self._items.append({"Put": put})

    def delete_source(self, supplier_id: str, key: str) -> None:
        self._items.append(
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": {"pk": {"S": supplier_pk(supplier_id)}, "sk": {"S": SOURCE_PREFIX + key}},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            }
        )

    def put_xref(self, system: str, local_id: str, supplier_id: str, *, was: str | None) -> None:
        """Point the cross-reference at `supplier_id`; it must point at `was` now (None: not exist)."""
        put: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": {
                **xref_key(system, local_id),
                "supplier_id": {"S": supplier_id},
                "system": {"S": system},
                "local_id": {"S": local_id},
            },
        }
        if was is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "supplier_id = :was"
            put["ExpressionAttributeValues"] = {":was": {"S": was}}
        self._items.append({"Put": put})

    def put_review(self, review: Review) -> None:
        self._items.append({"Put": {"TableName": self.table_name, "Item": review.item()}})

    def delete_review(self, sk: str) -> None:
        self._items.append({"Delete": {"TableName": self.table_name, "Key": {"pk": {"S": REVIEW_PK}, "sk": {"S": sk}}}})

    def match_set(self, key: str, supplier_id: str, profile: Profile) -> None:
        self._match.setdefault(key, {}).setdefault("set", {})[supplier_id] = profile

    def match_remove(self, key: str, supplier_id: str) -> None:
        self._match.setdefault(key, {}).setdefault("remove", set()).add(supplier_id)

    def match_unchanged_since(self, key: str, version: int | None) -> None:
        """The decision relied on what this key listed: fail if another writer changed it meanwhile."""
        self._match.setdefault(key, {})["read"] = version

    def __len__(self) -> int:
        return len(self._items) + len(self._match)

    def _match_updates(self) -> list[dict[str, Any]]:
        out = []
        for key, ops in sorted(self._match.items()):
            names: dict[str, str] = {"#v": "v"}
            values: dict[str, Any] = {":one": {"N": "1"}}
            sets, removes = [], []
            for i, (gid, profile) in enumerate(sorted(ops.get("set", {}).items())):
                names[f"#s{i}"], values[f":s{i}"] = gid, to_value(profile.to_dict())
                sets.append(f"#s{i} = :s{i}")
            for i, gid in enumerate(sorted(ops.get("remove", set()) - set(ops.get("set", {})))):
                names[f"#r{i}"] = gid
                removes.append(f"#r{i}")
            expression = "ADD #v :one" + (f" SET {', '.join(sets)}" if sets else "")
            expression += f" REMOVE {', '.join(removes)}" if removes else ""
            update: dict[str, Any] = {
                "TableName": self.table_name,
                "Key": match_key(key),
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
            if "read" in ops:
                if ops["read"] is None:
                    update["ConditionExpression"] = "attribute_not_exists(pk)"
                else:
                    update["ConditionExpression"] = "#v = :read"
                    values[":read"] = {"N": str(ops["read"])}
            out.append({"Update": update})
        return out

    def commit(self) -> None:
        items = self._items + self._match_updates()
        if len(items) > TRANSACTION_LIMIT:
            raise TooLarge(f"this change needs {len(items)} writes; one transaction holds {TRANSACTION_LIMIT}")
        dynamodb = client("dynamodb")
        try:
            dynamodb.transact_write_items(TransactItems=items)
        except dynamodb.exceptions.TransactionCanceledException as exc:
            codes = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if any(c in ("ConditionalCheckFailed", "TransactionConflict") for c in codes):
                raise Conflict(
                    f"the supplier master changed meanwhile ({', '.join(c or 'None' for c in codes)})"
                ) from None
            raise


class SupplierStore:
    def __init__(self, table_name: str, attributes: Iterable[str]) -> None:
        self.table_name = table_name
        self.attributes = tuple(attributes)

    def transaction(self) -> Transaction:
        return Transaction(self.table_name)

    # ------------------------------------------------------------------------------------------------ reads
    def lookup(self, system: str, local_id: str, keys: Iterable[str]) -> Lookup:
        """The record's cross-reference and its match keys, in one BatchGetItem (consistent reads)."""
        wanted = sorted(set(keys))[: BATCH_GET_LIMIT - 1]
        xref: str | None = None
        found: dict[str, MatchEntry] = {k: MatchEntry(None, {}) for k in wanted}
        for item in self._batch_get([xref_key(system, local_id)] + [match_key(k) for k in wanted]):
            pk = item["pk"]["S"]
            if pk.startswith("XREF#"):
                xref = item["supplier_id"]["S"]
                continue
            data = from_item(item)
            profiles = {
                name: Profile.from_dict(value) for name, value in data.items() if name.startswith(_GOLDEN_ID_PREFIX)
            }
            found[pk.removeprefix("MATCH#")] = MatchEntry(int(data.get("v", 0)), profiles)
        return Lookup(xref, found)

    def supplier(self, supplier_id: str) -> tuple[Golden | None, list[Source]]:
        """A golden and its source records (one Query)."""
        golden: Golden | None = None
        sources: list[Source] = []
        for item in self._query(supplier_pk(supplier_id)):
            sk = item["sk"]["S"]
            if sk == GOLDEN_SK:
                golden = Golden.from_item(item, self.attributes)
            elif sk.startswith(SOURCE_PREFIX):
                sources.append(Source.from_item(item))
        return golden, sources

    def goldens(self, supplier_ids: Iterable[str]) -> dict[str, Golden]:
        keys = [golden_key(gid) for gid in dict.fromkeys(supplier_ids)]
        out = {}
        for item in self._batch_get(keys):
            golden = Golden.from_item(item, self.attributes)
            out[golden.supplier_id] = golden
        return out

    def xref(self, system: str, local_id: str) -> str | None:
        item = client("dynamodb").get_item(
            TableName=self.table_name, Key=xref_key(system, local_id), ConsistentRead=True
        )
        return item["Item"]["supplier_id"]["S"] if "Item" in item else None

    def clear_outbox(self, supplier_id: str, version: int) -> bool:
        """The events the golden's `version` carried are published: remove them (with the answer kept for a retry).
        False: the golden moved on meanwhile and carries the newer change's events."""
        return record_outbox.clear(self.table_name, golden_key(supplier_id), version=version, also=("outbox_result",))

    def reviews(self) -> list[Review]:
        """The stewardship queue, oldest first."""
        return [Review.from_item(item) for item in self._query(REVIEW_PK)]

    def _query(self, pk: str) -> list[dict[str, Any]]:
        dynamodb = client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            response = dynamodb.query(**kwargs)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        dynamodb = client("dynamodb")
        out: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            pending: dict[str, Any] = {
                self.table_name: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}
            }
            for _ in range(8):
                response = dynamodb.batch_get_item(RequestItems=pending)
                out.extend(response.get("Responses", {}).get(self.table_name, []))
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
            if pending:
                raise Conflict("DynamoDB left keys unprocessed; retry")
        return out


def now_iso(at: datetime) -> str:
    return at.isoformat()
