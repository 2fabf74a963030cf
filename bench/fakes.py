"""In-memory stand-ins for AWS; everything above the boto3 clients (gate, resolver, idempotency, stores with their
request building and (un)marshalling, projection, availability) is the real code.

`install_clients` replaces the process-wide clients of shared/aws/clients.py, so every store and the bus talk to
`FakeDynamoDB` and `FakeEvents`. The fake understands only the requests and condition expressions the stores
make today; anything else raises `NotImplementedError`, so a store that starts making another request fails the
bench loudly instead of being measured against a fake that does not do what DynamoDB would.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer, DataRecord
from botocore.exceptions import ClientError

Item = dict[str, Any]  # DynamoDB JSON


class FakeEvents:
    """`events` client: every entry accepted, counted by detail type."""

    def __init__(self) -> None:
        self.calls = 0
        self.published: Counter[str] = Counter()

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if not 1 <= len(Entries) <= 10:
            raise ValueError(f"PutEvents takes 1 to 10 entries, got {len(Entries)}")
        self.calls += 1
        self.published.update(entry["DetailType"] for entry in Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(uuid.uuid4())} for _ in Entries]}


class _Exceptions:
    """The modeled exceptions the stores catch (`client.exceptions.<name>`), as botocore raises them."""

    class ConditionalCheckFailedException(ClientError):
        pass

    class TransactionCanceledException(ClientError):
        pass


_CONDITION = re.compile(
    r"^(?:attribute_(?P<fn>not_exists|exists)\((?P<attr>[#\w]+)\)|(?P<lhs>[#\w]+) = (?P<rhs>:\w+))$"
)


class FakeDynamoDB:
    """`dynamodb` client over dicts, for tables keyed `pk` (+ `sk`): GetItem, BatchGetItem, Query on the
    partition key, PutItem and TransactWriteItems of Puts, with `attribute_(not_)exists(...)` and `a = :v`
    conditions joined by AND. Items are kept as given and returned as stored (the stores never mutate them)."""

    exceptions = _Exceptions

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Item]]] = {}  # table -> pk -> sk -> item
        self.calls: Counter[str] = Counter()

    # ----------------------------------------------------------------------------------------------- reads
    def get_item(self, *, TableName: str, Key: Item, **kwargs: Any) -> dict[str, Any]:
        self.calls["GetItem"] += 1
        item = self._lookup(TableName, Key)
        return {"Item": _project(item, kwargs)} if item is not None else {}

    def batch_get_item(self, *, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:
        self.calls["BatchGetItem"] += 1
        responses: dict[str, list[Item]] = {}
        for table, request in RequestItems.items():
            if len(request["Keys"]) > 100:
                raise ValueError("BatchGetItem takes at most 100 keys")
            found = (self._lookup(table, key) for key in request["Keys"])
            responses[table] = [_project(item, request) for item in found if item is not None]
        return {"Responses": responses, "UnprocessedKeys": {}}

    def query(
        self, *, TableName: str, KeyConditionExpression: str, ExpressionAttributeValues: Item, **kwargs: Any
    ) -> dict[str, Any]:
        self.calls["Query"] += 1
        if KeyConditionExpression != "pk = :pk" or set(kwargs) - {"ConsistentRead"}:
            raise NotImplementedError(f"bench FakeDynamoDB: query {KeyConditionExpression!r} {sorted(kwargs)}")
        partition = self.tables.get(TableName, {}).get(ExpressionAttributeValues[":pk"]["S"], {})
        # DynamoDB returns a partition sorted by sort key (byte order of UTF-8: the code point order of str).
        return {"Items": [partition[sk] for sk in sorted(partition)], "Count": len(partition)}

    # ---------------------------------------------------------------------------------------------- writes
    def put_item(self, *, TableName: str, Item: Item, **kwargs: Any) -> dict[str, Any]:
        self.calls["PutItem"] += 1
        if not self._holds(TableName, Item, kwargs):
            raise _Exceptions.ConditionalCheckFailedException(
                {"Error": {"Code": "ConditionalCheckFailedException", "Message": "The conditional request failed"}},
                "PutItem",
            )
        self._store(TableName, Item)
        return {}

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls["TransactWriteItems"] += 1
        if not 1 <= len(TransactItems) <= 100:
            raise ValueError(f"TransactWriteItems takes 1 to 100 items, got {len(TransactItems)}")
        puts = []
        for action in TransactItems:
            if set(action) != {"Put"}:
                raise NotImplementedError(f"bench FakeDynamoDB: transaction action {sorted(action)}")
            puts.append(action["Put"])
        reasons = [
            {"Code": "None"} if self._holds(p["TableName"], p["Item"], p) else {"Code": "ConditionalCheckFailed"}
            for p in puts
        ]
        if any(r["Code"] != "None" for r in reasons):
            raise _Exceptions.TransactionCanceledException(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        for put in puts:
            self._store(put["TableName"], put["Item"])
        return {}

    # ------------------------------------------------------------------------------------------- internals
    def items(self, table: str) -> list[Item]:
        return [item for partition in self.tables.get(table, {}).values() for item in partition.values()]

    def _lookup(self, table: str, key: Item) -> Item | None:
        return self.tables.get(table, {}).get(key["pk"]["S"], {}).get(key.get("sk", {}).get("S", ""))

    def _store(self, table: str, item: Item) -> None:
        self.tables.setdefault(table, {}).setdefault(item["pk"]["S"], {})[item.get("sk", {}).get("S", "")] = item

    def _holds(self, table: str, item: Item, request: dict[str, Any]) -> bool:
        expression = request.get("ConditionExpression")
        if expression is None:
            return True
        current = self._lookup(table, item)
        names = request.get("ExpressionAttributeNames") or {}
        values = request.get("ExpressionAttributeValues") or {}
        for clause in expression.split(" AND "):
            match = _CONDITION.match(clause.strip())
            if match is None:
                raise NotImplementedError(f"bench FakeDynamoDB: condition {expression!r}")
            if match["fn"]:
                exists = current is not None and names.get(match["attr"], match["attr"]) in current
                if exists != (match["fn"] == "exists"):
                    return False
            elif current is None or current.get(names.get(match["lhs"], match["lhs"])) != values[match["rhs"]]:
                return False
        return True


def _project(item: Item, request: dict[str, Any]) -> Item:
    """The attributes a ProjectionExpression of plain names asks for (the whole item without one)."""
    expression = request.get("ProjectionExpression")
    if not expression:
        return item
    names = request.get("ExpressionAttributeNames") or {}
    wanted = [names.get(part.strip(), part.strip()) for part in expression.split(",")]
    return {name: item[name] for name in wanted if name in item}


class RefusingSqs:
    """`sqs` client of a benchmark: a consumer only calls SQS for a record that failed (a dead letter, a retry's
    backoff), which a throughput figure must never include, so any call fails with what the consumer sent."""

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        stories = [e.get("MessageAttributes", {}).get("distrosync-dead-letter", {}).get("StringValue") for e in Entries]
        raise RuntimeError(f"bench: a record failed and was sent to {QueueUrl}: {stories}")

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        raise RuntimeError(f"bench: {len(Entries)} record(s) failed and were scheduled for a retry on {QueueUrl}")


def install_clients(dynamodb: FakeDynamoDB, events: FakeEvents) -> None:
    """Every `shared.aws.clients.client(...)` call in this process returns the fakes (others: an error)."""
    import shared.aws.clients as clients

    fakes: dict[str, Any] = {"dynamodb": dynamodb, "events": events, "sqs": RefusingSqs()}

    def fake_client(service: str, region: str | None, endpoint_url: str | None) -> Any:
        try:
            return fakes[service]
        except KeyError:
            raise NotImplementedError(f"bench: no fake for the {service} client") from None

    clients._client = fake_client  # type: ignore[assignment]


def memory_idempotency(layer: BasePersistenceLayer) -> dict[str, DataRecord]:
    """Replace the layer's DynamoDB record calls with a dict (same conflict rule: exists and not expired).
    Powertools makes its own boto3 client for the idempotency table, so it is faked at the layer."""
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
