"""Corrections to moto's EventBridge where it differs from AWS in ways handlers would notice, and one speed-up.

1. Events delivered to targets lack the `account` field (moto's default input template omits it), so
   consumers that validate the EventBridge envelope (Powertools' `EventBridgeModel` requires `account`)
   would fail locally only. The template below is AWS's envelope, field for field.
2. Rules in state DISABLED still deliver. AWS does not.
3. moto parses the same eight JSONPath expressions again for every target of every event (~0.8 ms each,
   most of a PutEvents call); parsed expressions are immutable, so `jsonpath_ng.ext.parse` is memoized.

Applied once per process by the runtime (`apply()` is idempotent); 1 and 2 are verified by tests/local.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonpath_ng.ext
from moto.events import models as events_models
from moto.events import utils as events_utils

AWS_EVENT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, "detail": <detail>}'
)

_applied = False


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
    _applied = True
