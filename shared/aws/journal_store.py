"""The journal table (`shared/services/journal.py` says what its items are): batched writes, reads by key."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import Any

from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item
from shared.services.journal import partition_key

BATCH_WRITE_LIMIT = 25
MAX_ATTEMPTS = 6
BASE_DELAY_SECONDS = 0.05


class JournalStore:
    def __init__(self, table_name: str, *, sleep: Any = time.sleep) -> None:
        self.table_name = table_name
        self._sleep = sleep

    def write(self, items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Put `items` (BatchWriteItem, 25 a call; unprocessed items retried with backoff and full jitter).

        Returns the items that were still unprocessed after the last attempt (empty: all written). Items with the
        same key are written once (a batch may carry the same event twice; BatchWriteItem refuses duplicates).
        """
        unique = {(item["pk"], item["sk"]): item for item in items}
        pending = [to_item(item) for item in unique.values()]
        dynamodb = client("dynamodb")
        left: list[dict[str, Any]] = []
        for start in range(0, len(pending), BATCH_WRITE_LIMIT):
            requests = [{"PutRequest": {"Item": item}} for item in pending[start : start + BATCH_WRITE_LIMIT]]
            for attempt in range(MAX_ATTEMPTS):
                response = dynamodb.batch_write_item(RequestItems={self.table_name: requests})
                requests = (response.get("UnprocessedItems") or {}).get(self.table_name) or []
                if not requests:
                    break
                if attempt < MAX_ATTEMPTS - 1:
                    self._sleep(random.uniform(0, BASE_DELAY_SECONDS * 2**attempt))
            left.extend(from_item(r["PutRequest"]["Item"]) for r in requests)
        return left

    def entries(self, key: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The items of business key `key` (`po:PO-1`), oldest first, at most `limit`."""
        dynamodb = client("dynamodb")
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition_key(key)}},
        }
        while len(found) < limit:
            response = dynamodb.query(**kwargs, Limit=min(limit - len(found), 500))
            found.extend(from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found
