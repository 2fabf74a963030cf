"""Reading canonical envelopes back from what AWS delivers (EventBridge events, SQS bodies)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from typing import Any

from shared.canonical.envelope import Envelope, EventData
from shared.canonical.registry import EVENT_TYPES

CLAIM_CHECK_FIELD = "claim_check"  # the field of a claim-check pointer (ADR 0016)


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


def envelope_from_eventbridge(
    event: dict[str, Any] | str, *, fetch_claim: Callable[[dict[str, Any]], bytes] | None = None
) -> Envelope[EventData]:
    """An EventBridge event (dict, or the JSON an SQS target receives) -> its canonical envelope.

    A claim-check pointer (ADR 0016) is resolved with `fetch_claim` (the claim's `{bucket, key, sha256}` -> the
    object's bytes): consumers use the AWS side's `claim_check.envelope_from_eventbridge`, which reads S3. This
    package reaches no AWS itself (it is shared by every function of the embedded runtime)."""
    if isinstance(event, str):
        event = json.loads(event)
    assert isinstance(event, dict)
    if "detail" not in event:
        raise ValueError("not an EventBridge event: no 'detail'")
    detail = event["detail"]
    if isinstance(detail, dict) and CLAIM_CHECK_FIELD in detail:
        if fetch_claim is None:
            raise UnresolvedClaimCheck(
                f"event {detail.get('id')} is a claim-check pointer and no claim reader was given"
            )
        detail = claimed_detail(detail, fetch_claim(detail[CLAIM_CHECK_FIELD]))
    return envelope_from_detail(detail)


class ClaimCheckMismatch(ValueError):
    """The claimed object is not the envelope its pointer describes (another sha256, id or type)."""


class UnresolvedClaimCheck(RuntimeError):
    """A claim-check pointer reached a reader that cannot fetch claims (a wiring error, not the message's fault)."""


def claimed_detail(pointer: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The envelope detail a pointer's claim holds, checked against the pointer's sha256, id and type."""
    claim = pointer[CLAIM_CHECK_FIELD]
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
