"""moto_fixes: DynamoDB conditional writes and transactions are atomic under concurrency, as on AWS."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import moto_fixes

TABLE = "atomic"
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
