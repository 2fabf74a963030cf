"""Why a message failed, and what that means for it: the error classes of docs/reliability.md.

Permanent failures (validation, missing reference, a partner refusing our credentials) cannot succeed by
retrying the same message: they go to the dead-letter queue at once, with their reason, instead of burning
retries (a refusal waits for ops to fix the connection, then `distrosync dlq redrive`). A duplicate is settled (the
effect already happened): the message is acknowledged and counted, never dead-lettered. The rest are
transient and retry with backoff and jitter; `partner_unavailable` messages wait for the partner
(docs/reliability.md, "Partner outages") without counting towards the dead-letter queue.

Pure: no AWS calls. botocore's and urllib3's exceptions are recognised by name and attributes, so this module
imports neither.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class FailureClass(StrEnum):
    VALIDATION = "validation"
    MISSING_REFERENCE = "missing_reference"
    DUPLICATE = "duplicate"
    RATE_LIMIT = "rate_limit"
    PARTNER_UNAVAILABLE = "partner_unavailable"
    PARTNER_REFUSED = "partner_refused"  # 401/403 or an unusable connection secret: only ops can fix it
    TIMEOUT = "timeout"
    INTERNAL = "internal"

    @property
    def permanent(self) -> bool:
        """Dead-lettered at once: retrying the same message cannot succeed."""
        return self in (FailureClass.VALIDATION, FailureClass.MISSING_REFERENCE, FailureClass.PARTNER_REFUSED)

    @property
    def settled(self) -> bool:
        """Acknowledged without effect: the message's effect already happened."""
        return self is FailureClass.DUPLICATE

    @property
    def transient(self) -> bool:
        return not (self.permanent or self.settled)


class ClassifiedError(Exception):
    """An error that says its own class; raise it (or subclass it) where the class is known best."""

    failure_class: FailureClass = FailureClass.INTERNAL

    retry_after_seconds: float | None = None

    def __init__(
        self, message: str, failure_class: FailureClass | None = None, *, retry_after_seconds: float | None = None
    ) -> None:
        super().__init__(message)
        if failure_class is not None:
            self.failure_class = failure_class
        if retry_after_seconds is not None:
            self.retry_after_seconds = retry_after_seconds


class Duplicate(ClassifiedError):
    """The message's effect already happened (raise it from the error that says so): acknowledged and counted."""

    failure_class = FailureClass.DUPLICATE


class InvalidMessage(ClassifiedError):
    """A message whose body cannot be read as what its consumer expects (raised from the reading error)."""

    failure_class = FailureClass.VALIDATION


# botocore ClientError codes (AWS services) by class.
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "SlowDown",
        "LimitExceededException",
        "KMSThrottlingException",
    }
)
_UNAVAILABLE_CODES = frozenset(
    {"ServiceUnavailable", "ServiceUnavailableException", "InternalServerError", "InternalFailure", "InternalError"}
)
_TIMEOUT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
_MISSING_CODES = frozenset({"ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "NotFoundException"})
_VALIDATION_CODES = frozenset({"ValidationException", "InvalidParameterValue", "InvalidParameterException"})

# Exception class names (anywhere in the MRO) by class, for errors of modules this one does not import.
_NAMES: dict[str, FailureClass] = {
    # pydantic and our own parsing
    "ValidationError": FailureClass.VALIDATION,
    "PayloadError": FailureClass.VALIDATION,
    "UnknownEventType": FailureClass.VALIDATION,
    "JSONDecodeError": FailureClass.VALIDATION,
    "OutOfScope": FailureClass.VALIDATION,
    "PurchasingError": FailureClass.VALIDATION,
    "OrderInvalid": FailureClass.VALIDATION,
    "DeliveryRejected": FailureClass.VALIDATION,
    "DocumentError": FailureClass.VALIDATION,
    "OutboxTooLarge": FailureClass.VALIDATION,
    "EdiFileTooLarge": FailureClass.VALIDATION,
    # references that do not exist (yet)
    "NotFound": FailureClass.MISSING_REFERENCE,
    "UnknownOrder": FailureClass.MISSING_REFERENCE,
    "UnknownPoLine": FailureClass.MISSING_REFERENCE,
    "EdiFileMissing": FailureClass.MISSING_REFERENCE,
    "BigCommerceOrderMissing": FailureClass.MISSING_REFERENCE,
    # partners and their APIs
    "PartnerUnavailable": FailureClass.PARTNER_UNAVAILABLE,
    "DeliveryDeferred": FailureClass.PARTNER_UNAVAILABLE,
    "DeliveryRefused": FailureClass.PARTNER_REFUSED,
    "BigCommerceUnavailable": FailureClass.PARTNER_UNAVAILABLE,
    "Throttled": FailureClass.RATE_LIMIT,
    # transport (botocore, urllib3, the standard library)
    "ReadTimeoutError": FailureClass.TIMEOUT,
    "ConnectTimeoutError": FailureClass.TIMEOUT,
    "TimeoutError": FailureClass.TIMEOUT,
    "timeout": FailureClass.TIMEOUT,
    "EndpointConnectionError": FailureClass.PARTNER_UNAVAILABLE,
    "ConnectionClosedError": FailureClass.PARTNER_UNAVAILABLE,
    "ConnectionError": FailureClass.PARTNER_UNAVAILABLE,
}


# Errors that stand for another (`raise ... from cause`): classified as their cause, else internal. EDI outbound
# writes files to our own bucket: a file not written is an AWS failure (or a bad document), not a partner's outage.
_WRAPPERS = frozenset({"EdiDeliveryDeferred"})


def classify(exc: BaseException) -> FailureClass:
    """The class of `exc`: its own say (`failure_class`), an AWS error code, else its type's name."""
    own = getattr(exc, "failure_class", None)
    if isinstance(own, FailureClass):
        return own
    if type(exc).__name__ in _WRAPPERS:
        cause = exc.__cause__
        return classify(cause) if cause is not None and cause is not exc else FailureClass.INTERNAL
    code = _aws_error_code(exc)
    if code is not None:
        return _by_aws_code(code, _http_status(exc))
    for cls in type(exc).__mro__:
        found = _NAMES.get(cls.__name__)
        if found is not None:
            return found
    return FailureClass.INTERNAL


def describe(exc: BaseException, limit: int = 1000) -> str:
    """`Type: message`, cut to `limit` characters (dead letters carry it; no payload is ever included)."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _aws_error_code(exc: BaseException) -> str | None:
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        if code:
            return str(code)
    return None


def _http_status(exc: BaseException) -> int | None:
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return int(status) if status else None
    return None


def _by_aws_code(code: str, status: int | None) -> FailureClass:
    if code in _THROTTLING_CODES:
        return FailureClass.RATE_LIMIT
    if code in _TIMEOUT_CODES:
        return FailureClass.TIMEOUT
    if code in _UNAVAILABLE_CODES or (status is not None and status >= 500):
        return FailureClass.INTERNAL
    if code in _MISSING_CODES:
        return FailureClass.MISSING_REFERENCE
    if code in _VALIDATION_CODES:
        return FailureClass.VALIDATION
    if code == "ConditionalCheckFailedException" or code == "TransactionCanceledException":
        return FailureClass.INTERNAL  # a lost race the retry re-reads; services handle the ones they expect
    return FailureClass.INTERNAL
