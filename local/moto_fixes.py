"""Corrections to moto where it differs from AWS in ways handlers would notice, and one speed-up.

1. Events delivered to targets lack the `account` field (moto's default input template omits it), so
   consumers that validate the EventBridge envelope (Powertools' `EventBridgeModel` requires `account`)
   would fail locally only. The template below is AWS's envelope, field for field.
2. Rules in state DISABLED still deliver. AWS does not.
3. moto parses the same eight JSONPath expressions again for every target of every event (~0.8 ms each,
   most of a PutEvents call); parsed expressions are immutable, so `jsonpath_ng.ext.parse` is memoized.
4. DynamoDB makes every conditional write and every transaction atomic: a condition is evaluated and the
   write applied with nothing in between, and no reader sees half a transaction. moto's DynamoDB backend takes
   no lock: two threads (server mode serves requests on threads; tests run services on threads) can both pass
   `available >= :q` and both subtract, and moto's `transact_write_items` applies items one by one and rolls
   back by swapping in deep copies of whole tables, under the feet of a concurrent reader. Every DynamoDB
   data-plane request (reads too) and every mutating backend operation therefore runs under one process-wide
   re-entrant lock: requests are serialized, as if DynamoDB were a single partition. That is stricter than
   AWS, never weaker, and cheap at local request rates.

Applied once per process by the runtime (`apply()` is idempotent); 1, 2 and 4 are verified by tests/local.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import jsonpath_ng.ext
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb import responses as dynamodb_responses
from moto.events import models as events_models
from moto.events import utils as events_utils

AWS_EVENT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, "detail": <detail>}'
)

# The backend's mutating operations (what other moto services and the request handlers below call).
DYNAMODB_BACKEND_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
# Whole requests of the data plane: a request reads before it writes (ReturnValues, batch validation), and a
# read must not interleave with a transaction's writes or its rollback.
DYNAMODB_REQUESTS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "batch_get_item",
    "batch_write_item",
    "query",
    "scan",
    "transact_get_items",
    "transact_write_items",
    "execute_statement",
    "batch_execute_statement",
    "execute_transaction",
)
DYNAMODB_LOCK = threading.RLock()

_applied = False


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run_locked(*args: Any, **kwargs: Any) -> Any:
        with DYNAMODB_LOCK:
            return method(*args, **kwargs)

    return run_locked


def _serialize_dynamodb() -> None:
    for owner, names in (
        (dynamodb_models.DynamoDBBackend, DYNAMODB_BACKEND_WRITES),
        (dynamodb_responses.DynamoHandler, DYNAMODB_REQUESTS),
    ):
        for name in names:
            method = owner.__dict__.get(name)
            if method is None:  # not in this moto version
                continue
            setattr(owner, name, _locked(method))


def apply() -> None:
    global _applied
    if _applied:
        return
    events_utils.EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = AWS_EVENT_TEMPLATE
    original = events_models.Rule.send_to_targets

    def send_to_enabled_targets(self: Any, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "state", "ENABLED") == "DISABLED":
            return
        original(self, *args, **kwargs)

    events_models.Rule.send_to_targets = send_to_enabled_targets  # type: ignore[method-assign]
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=512)(jsonpath_ng.ext.parse)
    _serialize_dynamodb()
    _applied = True
