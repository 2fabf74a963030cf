"""Reading canonical envelopes back from what AWS delivers (EventBridge events, SQS bodies)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from shared.canonical.envelope import Envelope, EventData
from shared.canonical.registry import EVENT_TYPES


class UnknownEventType(ValueError):
    pass


@cache
def _envelope_model(model: type[EventData]) -> type[Envelope[Any]]:
    """`Envelope[Model]`, built once per type (pydantic caches parametrized models only weakly)."""
    return Envelope[model]  # type: ignore[valid-type]


def envelope_from_detail(detail: dict[str, Any]) -> Envelope[EventData]:
    """Validate an envelope dict against the typed model of its `type`."""
    event_type = detail.get("type")
    model = EVENT_TYPES.get(str(event_type))
    if model is None:
        raise UnknownEventType(f"unknown event type {event_type!r}")
    return _envelope_model(model).model_validate(detail)


def envelope_from_eventbridge(event: dict[str, Any] | str) -> Envelope[EventData]:
    """An EventBridge event (dict, or the JSON an SQS target receives) -> its canonical envelope."""
    if isinstance(event, str):
        event = json.loads(event)
    assert isinstance(event, dict)
    if "detail" not in event:
        raise ValueError("not an EventBridge event: no 'detail'")
    return envelope_from_detail(event["detail"])
