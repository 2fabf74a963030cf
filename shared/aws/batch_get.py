"""BatchGetItem over one or several tables, with DynamoDB's limits kept: at most 100 keys per request, and
unprocessed keys asked for again (with a short backoff) until every key was read or the attempts are spent.

Reads a dispatcher needs together (delivery records and circuit breakers, in two tables) go in one request.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from shared.aws.clients import client

BATCH_GET_LIMIT = 100  # keys per BatchGetItem, across its tables
ATTEMPTS = 5


def batch_get(
    keys: Mapping[str, Sequence[dict[str, Any]]], *, consistent: bool = True
) -> dict[str, list[dict[str, Any]]]:
    """The items found for `keys` (table name -> key documents), by table. Raises RuntimeError when some keys
    stay unprocessed after ATTEMPTS tries (the caller's message is retried)."""
    pending = [(table, key) for table, table_keys in keys.items() for key in table_keys]
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in keys}
    dynamodb = client("dynamodb")
    for start in range(0, len(pending), BATCH_GET_LIMIT):
        request: dict[str, Any] = {}
        for table, key in pending[start : start + BATCH_GET_LIMIT]:
            request.setdefault(table, {"Keys": [], "ConsistentRead": consistent})["Keys"].append(key)
        for attempt in range(ATTEMPTS):
            response = dynamodb.batch_get_item(RequestItems=request)
            for table, items in response.get("Responses", {}).items():
                found.setdefault(table, []).extend(items)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            unread = sum(len(r.get("Keys", [])) for r in request.values())
            raise RuntimeError(f"{unread} of {len(pending)} item(s) could not be read ({', '.join(sorted(request))})")
    return found
