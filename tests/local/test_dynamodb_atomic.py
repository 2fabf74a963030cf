"""moto_fixes: DynamoDB conditional writes and transactions are atomic under concurrency, as on AWS, and a
cancelled transaction puts back exactly what it changed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import moto_fixes

TABLE = "atomic"
RANGED = "ranged"
THREADS = 24


@pytest.fixture
def ddb() -> Iterator[object]:
    moto_fixes.apply()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        client.create_table(
            TableName=RANGED,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        yield client


def _put(client, pk: str, available: int) -> None:
    client.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "available": {"N": str(available)}})


def _available(client, pk: str) -> int:
    return int(client.get_item(TableName=TABLE, Key={"pk": {"S": pk}})["Item"]["available"]["N"])


def _decrement(pk: str, quantity: int) -> dict:
    return {
        "TableName": TABLE,
        "Key": {"pk": {"S": pk}},
        "UpdateExpression": "SET available = available - :q",
        "ConditionExpression": "available >= :q",
        "ExpressionAttributeValues": {":q": {"N": str(quantity)}},
    }


def _race(work: Callable[[], bool], attempts: int, watch: Callable[[], None] | None = None) -> int:
    """Run `work` `attempts` times on each of THREADS threads released together; returns how many succeeded."""
    start, wins, lock, stop = threading.Barrier(THREADS + (1 if watch else 0)), [0], threading.Lock(), threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            for _ in range(attempts):
                if work():
                    with lock:
                        wins[0] += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def watcher() -> None:
        start.wait()
        try:
            while not stop.is_set():
                watch()  # type: ignore[misc]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    observer = threading.Thread(target=watcher) if watch else None
    for t in [*threads, *([observer] if observer else [])]:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    if observer:
        observer.join()
    assert not errors, errors[0]
    return wins[0]


def test_parallel_conditional_decrements_never_go_below_zero(ddb):
    _put(ddb, "SKU-1", 40)
    seen: list[int] = []

    def take_one() -> bool:
        try:
            ddb.update_item(**_decrement("SKU-1", 1))
            return True
        except ddb.exceptions.ConditionalCheckFailedException:
            return False

    wins = _race(take_one, attempts=4, watch=lambda: seen.append(_available(ddb, "SKU-1")))
    assert wins == 40  # 96 attempts for 40 units: exactly the stock was taken
    assert _available(ddb, "SKU-1") == 0
    assert seen and min(seen) >= 0


def test_parallel_transactions_are_all_or_nothing_and_never_seen_half_applied(ddb):
    _put(ddb, "A", 30)
    _put(ddb, "B", 30)
    _put(ddb, "C", 1000)
    torn: list[tuple[int, int]] = []

    def take_from_all() -> bool:
        # A and B move together; C has plenty, so only A or B can cancel the transaction.
        try:
            ddb.transact_write_items(TransactItems=[{"Update": _decrement(pk, 1)} for pk in ("C", "A", "B")])
            return True
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "TransactionCanceledException"
            return False

    def read_both() -> None:
        items = ddb.transact_get_items(
            TransactItems=[{"Get": {"TableName": TABLE, "Key": {"pk": {"S": pk}}}} for pk in ("A", "B")]
        )["Responses"]
        a, b = (int(r["Item"]["available"]["N"]) for r in items)
        if a != b or a < 0:
            torn.append((a, b))

    wins = _race(take_from_all, attempts=3, watch=read_both)
    assert wins == 30
    assert (_available(ddb, "A"), _available(ddb, "B"), _available(ddb, "C")) == (0, 0, 970)
    assert torn == []


def test_a_cancelled_transaction_puts_back_exactly_what_it_changed_and_keeps_what_it_did_not_name(ddb):
    def key(sk: str) -> dict:
        return {"pk": {"S": "SKU#1"}, "sk": {"S": sk}}

    for sk, n in (("LOC#A", 5), ("LOC#B", 5), ("LOC#C", 5), ("LOC#D", 5)):
        ddb.put_item(TableName=RANGED, Item={**key(sk), "n": {"N": str(n)}, "tags": {"L": [{"S": "x"}]}})
    _put(ddb, "OTHER", 1)
    items = [
        {"Put": {"TableName": RANGED, "Item": {**key("LOC#NEW"), "n": {"N": "1"}}}},
        {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "NEW"}, "available": {"N": "1"}}}},
        {
            "Update": {
                "TableName": RANGED,
                "Key": key("LOC#A"),
                "UpdateExpression": "SET n = n - :q, tags = list_append(tags, :t)",
                "ExpressionAttributeValues": {":q": {"N": "2"}, ":t": {"L": [{"S": "y"}]}},
            }
        },
        {"Delete": {"TableName": RANGED, "Key": key("LOC#B")}},
        {
            "Update": {
                "TableName": RANGED,
                "Key": key("LOC#C"),
                "UpdateExpression": "SET n = n - :q",
                "ConditionExpression": "n >= :q",
                "ExpressionAttributeValues": {":q": {"N": "9"}},
            }
        },
    ]
    with pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(TransactItems=items)
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "None", "ConditionalCheckFailed"]

    stored = ddb.query(
        TableName=RANGED, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "SKU#1"}}
    )["Items"]
    assert {i["sk"]["S"]: (i["n"]["N"], i["tags"]["L"]) for i in stored} == {
        sk: ("5", [{"S": "x"}]) for sk in ("LOC#A", "LOC#B", "LOC#C", "LOC#D")
    }
    assert "Item" not in ddb.get_item(TableName=TABLE, Key={"pk": {"S": "NEW"}})
    assert _available(ddb, "OTHER") == 1

    items[-1]["Update"]["ExpressionAttributeValues"] = {":q": {"N": "1"}}
    ddb.transact_write_items(TransactItems=items)  # the same, now possible: all of it happens
    stored = ddb.query(
        TableName=RANGED, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "SKU#1"}}
    )["Items"]
    assert {i["sk"]["S"]: i["n"]["N"] for i in stored} == {"LOC#A": "3", "LOC#C": "4", "LOC#D": "5", "LOC#NEW": "1"}
