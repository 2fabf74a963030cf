"""Error classes (docs/reliability.md, "Error classes"): what each failure of an asynchronous path is."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from pydantic import BaseModel

from shared.aws.bus import PublishError
from shared.aws.consumer import (
    DEAD_LETTER_ATTRIBUTE,
    MAX_MESSAGE_BYTES,
    _message_bytes,
    _story_attribute,
    full_jitter_seconds,
)
from shared.aws.edi_files import EdiFileMissing
from shared.aws.inventory_store import VersionConflict
from shared.canonical.parse import UnknownEventType
from shared.domain.errors import NotFound
from shared.domain.failures import ClassifiedError, FailureClass, InvalidMessage, classify, describe
from shared.domain.order_flow import PartnerUnavailable, Throttled
from shared.domain.purchase_orders import UnknownPoLine
from shared.services.edi.outbound import EdiDeliveryDeferred
from shared.services.outbound import DeliveryDeferred


def client_error(code: str, status: int = 400, operation: str = "PutItem") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"{code} happened"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


class _Model(BaseModel):
    n: int


def _pydantic_error() -> Exception:
    try:
        _Model.model_validate({"n": "x"})
    except Exception as exc:
        return exc
    raise AssertionError("pydantic accepted a bad value")


def _json_error() -> Exception:
    try:
        json.loads("{not json")
    except ValueError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # AWS error codes (botocore ClientError), whatever the operation
        (client_error("ThrottlingException"), FailureClass.RATE_LIMIT),
        (client_error("ProvisionedThroughputExceededException"), FailureClass.RATE_LIMIT),
        (client_error("RequestLimitExceeded"), FailureClass.RATE_LIMIT),
        (client_error("SlowDown", 503, "PutObject"), FailureClass.RATE_LIMIT),
        (client_error("TooManyRequestsException", 429, "StartExecution"), FailureClass.RATE_LIMIT),
        (client_error("RequestTimeout", 400, "PutObject"), FailureClass.TIMEOUT),
        (client_error("ServiceUnavailable", 503), FailureClass.INTERNAL),
        (client_error("InternalServerError", 500), FailureClass.INTERNAL),
        (client_error("SomethingNew", 502), FailureClass.INTERNAL),  # any 5xx
        (client_error("ResourceNotFoundException"), FailureClass.MISSING_REFERENCE),
        (client_error("NoSuchKey", 404, "GetObject"), FailureClass.MISSING_REFERENCE),
        (client_error("ValidationException"), FailureClass.VALIDATION),
        (client_error("ConditionalCheckFailedException"), FailureClass.INTERNAL),  # a lost race: re-read and retry
        (client_error("TransactionCanceledException"), FailureClass.INTERNAL),
        # transport
        (ReadTimeoutError(endpoint_url="https://dynamodb"), FailureClass.TIMEOUT),
        (ConnectTimeoutError(endpoint_url="https://dynamodb"), FailureClass.TIMEOUT),
        (TimeoutError("read timed out"), FailureClass.TIMEOUT),
        (EndpointConnectionError(endpoint_url="https://erp.example"), FailureClass.PARTNER_UNAVAILABLE),
        (ConnectionResetError("reset by peer"), FailureClass.PARTNER_UNAVAILABLE),
        # bodies that cannot be read
        (_pydantic_error(), FailureClass.VALIDATION),
        (_json_error(), FailureClass.VALIDATION),
        (UnknownEventType("unknown event type 'x'"), FailureClass.VALIDATION),
        (InvalidMessage("not an EventBridge event"), FailureClass.VALIDATION),
        # the domain's own errors
        (NotFound("order SO-1"), FailureClass.MISSING_REFERENCE),
        (UnknownPoLine("PO-1", [("/lines/0", 3)]), FailureClass.MISSING_REFERENCE),
        (EdiFileMissing("inbound/acme/x.edi"), FailureClass.MISSING_REFERENCE),
        (DeliveryDeferred("not delivered to erp"), FailureClass.PARTNER_UNAVAILABLE),
        (PartnerUnavailable("erp"), FailureClass.PARTNER_UNAVAILABLE),
        (Throttled("erp"), FailureClass.RATE_LIMIT),
        (PublishError([{"ErrorCode": "InternalFailure"}]), FailureClass.INTERNAL),
        (VersionConflict("SKU-1@DC-EAST"), FailureClass.INTERNAL),
        (RuntimeError("anything else"), FailureClass.INTERNAL),
        # an error's own say beats its type and code
        (ClassifiedError("already done", FailureClass.DUPLICATE), FailureClass.DUPLICATE),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_classify(error, expected):
    assert classify(error) is expected


def test_permanent_settled_and_transient_classes():
    assert {c for c in FailureClass if c.permanent} == {
        FailureClass.VALIDATION,
        FailureClass.MISSING_REFERENCE,
        FailureClass.PARTNER_REFUSED,
    }
    assert {c for c in FailureClass if c.settled} == {FailureClass.DUPLICATE}
    assert {c for c in FailureClass if c.transient} == {
        FailureClass.RATE_LIMIT,
        FailureClass.PARTNER_UNAVAILABLE,
        FailureClass.TIMEOUT,
        FailureClass.INTERNAL,
    }


def test_an_edi_file_not_written_is_classified_by_its_cause_not_as_a_partner_outage():
    """EDI outbound writes to our own bucket: a throttled S3 is a rate limit, a refused document is permanent."""
    try:
        raise EdiDeliveryDeferred("not written") from client_error("SlowDown", 503, "PutObject")
    except EdiDeliveryDeferred as exc:
        assert classify(exc) is FailureClass.RATE_LIMIT
    try:
        raise EdiDeliveryDeferred("not written") from _pydantic_error()
    except EdiDeliveryDeferred as exc:
        assert classify(exc) is FailureClass.VALIDATION
    assert classify(EdiDeliveryDeferred("no cause")) is FailureClass.INTERNAL


def test_an_error_may_carry_how_long_to_wait():
    error = ClassifiedError("circuit open", FailureClass.PARTNER_UNAVAILABLE, retry_after_seconds=42)
    assert (classify(error), error.retry_after_seconds) == (FailureClass.PARTNER_UNAVAILABLE, 42)
    assert ClassifiedError("plain").retry_after_seconds is None


def test_describe_names_the_type_and_cuts_the_message():
    assert describe(ValueError("bad value")) == "ValueError: bad value"
    assert describe(KeyError()) == "KeyError"
    long = describe(RuntimeError("x" * 5000))
    assert len(long) == 1000 and long.startswith("RuntimeError: xxx") and long.endswith("…")


@pytest.mark.parametrize("attempt", [1, 2, 3, 8, 30])
def test_backoff_is_full_jitter_capped(attempt):
    ceiling = min(60, 2 * 2 ** (attempt - 1))
    draws = [full_jitter_seconds(attempt, 2, 60) for _ in range(400)]
    assert all(0 <= d <= ceiling for d in draws)
    assert len(set(draws)) > 1  # jittered: retries of one batch spread out
    assert max(draws) >= ceiling * 0.7


def test_no_backoff_when_the_base_is_zero():
    assert {full_jitter_seconds(n, 0, 60) for n in range(1, 6)} == {0}


def _story(error: str) -> dict:
    return {
        "error_class": "validation",
        "error": error,
        "handler": "distrosync-dev-projector",
        "attempts": 1,
        "first_failure_at": "2026-11-27T10:00:00Z",
        "last_failure_at": "2026-11-27T10:00:00Z",
        "correlation_id": "c-1",
        "business_key": "po:PO-1",
        "event_id": "e-1",
        "event_type": "receipt.posted",
        "source_queue": "arn:aws:sqs:us-east-1:123456789012:distrosync-dev-projector",
        "message_id": "m-1",
    }


def test_a_story_fits_the_message_size_limit_by_cutting_its_error_first():
    story = _story("ValidationError: " + "e" * 999)
    small = _story_attribute(story, "{}")
    assert json.loads(small[DEAD_LETTER_ATTRIBUTE]["StringValue"]) == story

    body = "b" * (MAX_MESSAGE_BYTES - 700)  # room for the story without most of its error
    cut = _story_attribute(story, body)
    kept = json.loads(cut[DEAD_LETTER_ATTRIBUTE]["StringValue"])
    assert _message_bytes(body, cut) <= MAX_MESSAGE_BYTES
    assert kept["error"].startswith("ValidationError: e") and len(kept["error"]) < len(story["error"])
    assert {k: v for k, v in kept.items() if k != "error"} == {k: v for k, v in story.items() if k != "error"}

    body = "b" * (MAX_MESSAGE_BYTES - 250)  # room for the core fields only
    core = json.loads(_story_attribute(story, body)[DEAD_LETTER_ATTRIBUTE]["StringValue"])
    assert set(core) == {"error_class", "handler", "attempts", "first_failure_at", "last_failure_at", "message_id"}

    assert _story_attribute(story, "b" * MAX_MESSAGE_BYTES) == {}  # the body still goes: never lost for a story
