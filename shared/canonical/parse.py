"""Reading canonical envelopes back from what AWS delivers (EventBridge events, SQS bodies)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from shared.canonical.envelope import Envelope, EventData
from shared.canonical.registry import EVENT_TYPES

CLAIM_CHECK_FIELD = "claim_check"  # the pointer's field (shared.aws.bus)


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
    detail = event["detail"]
    if isinstance(detail, dict) and CLAIM_CHECK_FIELD in detail:
        detail = claimed_detail(detail)
    return envelope_from_detail(detail)


class ClaimCheckMismatch(ValueError):
    """The claimed object is not the envelope its pointer describes (another sha256, id or type)."""


def claimed_detail(pointer: dict[str, Any]) -> dict[str, Any]:
    """The envelope a claim-check pointer names (`shared.aws.bus`, ADR 0016): read from S3, checked against the
    pointer's sha256, id and type. S3 is reached only for such a pointer (imported here, not at module load)."""
    from shared.aws.clients import client

    claim = pointer[CLAIM_CHECK_FIELD]
    body = client("s3").get_object(Bucket=claim["bucket"], Key=claim["key"])["Body"].read()
    if hashlib.sha256(body).hexdigest() != claim["sha256"]:
        raise ClaimCheckMismatch(f"claim {claim['key']}: sha256 differs from the pointer's")
    detail = json.loads(body)
    if (
        not isinstance(detail, dict)
        or detail.get("id") != pointer.get("id")
        or detail.get("type") != pointer.get("type")
    ):
        raise ClaimCheckMismatch(f"claim {claim['key']} holds another envelope than its pointer names")
    return detail
