"""The transport of outbound adapters: one HTTP call to a system, retried while it is worth retrying.

- urllib3 directly (it ships with botocore, so it is in the layer already; `requests` is not, and moto's mock
  intercepts it), one process-wide pool manager so that warm invocations reuse connections;
- classification: connection errors, timeouts, 408, 425, 429, 500, 502, 503 and 504 are transient; any
  other 4xx (and 501/505) is permanent: the system refused the request and will refuse it again;
- retries with exponential backoff and full jitter; 429 and 503 honour `Retry-After` (seconds or an HTTP
  date) when it fits under a cap; a wait longer than the cap, or than what is left of the delivery's budget,
  ends the call at once (the message goes back to SQS, which retries it much later);
- a time budget per delivery (`Deadline`), shared by every call the delivery makes, so that a Lambda never
  times out in the middle of a retry; each attempt's timeout is cut to what is left of it;
- every attempt is logged (system, operation, method, path without its query, status, attempt, ms,
  correlation id: never a header value), traced as an X-Ray subsegment and counted.

The sleep, clock and random source are injectable: unit tests do not sleep.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from shared.observability import MetricUnit, logger, metrics, tracer

CORRELATION_HEADER = "X-Correlation-Id"
USER_AGENT = "distrosync-outbound/1"
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})
_MIN_ATTEMPT_SECONDS = 0.05  # below this, an attempt cannot succeed: give the rest back to SQS
_CONNECT_TIMEOUT_SECONDS = 3.0

_pool: Any = None


class Outcome(Enum):
    OK = "ok"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


def classify(status: int | None) -> Outcome:
    """None (no response: connection error or timeout) and the retryable statuses are transient."""
    if status is None or status in TRANSIENT_STATUSES:
        return Outcome.TRANSIENT
    if 200 <= status < 300:
        return Outcome.OK
    return Outcome.PERMANENT


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries. `budget_seconds` bounds a whole delivery (see `Deadline`)."""

    max_attempts: int = 4
    timeout_seconds: float = 10.0
    base_delay: float = 0.2
    max_delay: float = 5.0
    retry_after_cap: float = 10.0
    budget_seconds: float = 25.0

    def backoff(self, attempt: int, rng: Callable[[], float]) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2^(attempt-1))]."""
        return rng() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


@dataclass
class Deadline:
    """The moment a delivery must stop trying (monotonic clock)."""

    at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        return self.at - self.clock()


@dataclass(frozen=True)
class SystemCall:
    """The last attempt of a call and how it went."""

    system: str
    operation: str
    method: str
    path: str
    status: int | None
    attempts: int
    elapsed_ms: float
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None  # connection error or timeout, when there was no response
    gave_up: str | None = None  # why retrying stopped early (budget, Retry-After beyond the cap)

    @property
    def outcome(self) -> Outcome:
        return classify(self.status)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON (an HTML error page from a proxy, say)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def describe(self) -> str:
        """One line for logs and delivery records: what happened, without secrets."""
        what = f"HTTP {self.status}" if self.status is not None else (self.error or "no response")
        tail = f"; {self.gave_up}" if self.gave_up else ""
        return f"{self.method} {self.path}: {what} after {self.attempts} attempt(s){tail}"


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def quote_path(*segments: str) -> str:
    """`/api/resource/Purchase Order/PO 1` style paths with each segment percent-encoded."""
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def _pool_manager() -> Any:
    global _pool
    if _pool is None:
        import urllib3

        _pool = urllib3.PoolManager(num_pools=20, maxsize=4, retries=False)
    return _pool


class Transport:
    """Calls one system at `base_url`. `default_headers` (e.g. credentials) are sent, never logged."""

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        policy: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        pool: Any = None,
    ) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self.base_path = urlsplit(self.base_url).path  # logged in front of each path; the query never is
        self.policy = policy or RetryPolicy()
        self.default_headers = dict(default_headers or {})
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self._pool = pool

    def deadline(self) -> Deadline:
        """A fresh budget for one delivery."""
        return Deadline.after(self.policy.budget_seconds, self.clock)

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        correlation_id: str,
        deadline: Deadline | None = None,
        query: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> SystemCall:
        """Send the request until it succeeds, is refused for good, or the budget or attempts run out."""
        deadline = deadline or self.deadline()
        url = self.base_url + path + (("?" + urlencode(query)) if query else "")
        path = (self.base_path + path) or "/"
        sent_headers = {"User-Agent": USER_AGENT, CORRELATION_HEADER: correlation_id, **self.default_headers}
        sent_headers.update(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":"), default=str).encode()
            sent_headers.setdefault("Content-Type", "application/json")
        elif form is not None:
            body = urlencode(form).encode()
            sent_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        sent_headers.setdefault("Accept", "application/json")

        attempt = 0
        while True:
            attempt += 1
            remaining = deadline.remaining()
            if remaining < _MIN_ATTEMPT_SECONDS:
                return self._give_up(operation, method, path, attempt - 1, "the delivery's time budget is spent")
            result = self._attempt(operation, method, path, url, sent_headers, body, attempt, remaining, correlation_id)
            if result.outcome is not Outcome.TRANSIENT:
                return result
            if attempt >= self.policy.max_attempts:
                return result
            wait = self.policy.backoff(attempt, self.rng)
            if result.status in RETRY_AFTER_STATUSES:
                asked = retry_after_seconds(result.headers.get("retry-after"))
                if asked is not None:
                    if asked > self.policy.retry_after_cap:
                        return _replace(
                            result,
                            gave_up=f"Retry-After {asked:.0f}s is beyond the {self.policy.retry_after_cap:.0f}s cap",
                        )
                    wait = max(wait, asked)
            if wait >= deadline.remaining() - _MIN_ATTEMPT_SECONDS:
                return _replace(result, gave_up=f"a {wait:.2f}s wait does not fit in the delivery's time budget")
            metrics.add_metric(name="SystemCallRetries", unit=MetricUnit.Count, value=1)
            self.sleep(wait)

    # ------------------------------------------------------------------------------------------------ internals
    def _attempt(
        self,
        operation: str,
        method: str,
        path: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        attempt: int,
        remaining: float,
        correlation_id: str,
    ) -> SystemCall:
        import urllib3

        read_timeout = max(_MIN_ATTEMPT_SECONDS, min(self.policy.timeout_seconds, remaining))
        timeout = urllib3.Timeout(connect=min(_CONNECT_TIMEOUT_SECONDS, read_timeout), read=read_timeout)
        started = self.clock()
        status: int | None = None
        response_body, response_headers, error = b"", {}, None
        with tracer.provider.in_subsegment(f"## {self.system} {operation}") as subsegment:
            subsegment.put_annotation("system", self.system)
            subsegment.put_annotation("operation", operation)
            try:
                response = (self._pool or _pool_manager()).request(
                    method, url, body=body, headers=headers, timeout=timeout, redirect=False, retries=False
                )
                status = response.status
                response_body = response.data or b""
                response_headers = {k.lower(): v for k, v in response.headers.items()}
            except urllib3.exceptions.HTTPError as exc:  # connect errors, timeouts, resets, protocol errors
                error = f"{type(exc).__name__}: {_reason(exc)}"
            if status is not None:
                subsegment.put_annotation("status", status)
        elapsed_ms = (self.clock() - started) * 1000
        call = SystemCall(
            system=self.system,
            operation=operation,
            method=method,
            path=path,
            status=status,
            attempts=attempt,
            elapsed_ms=elapsed_ms,
            body=response_body,
            headers=response_headers,
            error=error,
        )
        outcome = call.outcome
        log = logger.info if outcome is Outcome.OK else logger.warning
        log(
            "system call",
            extra={
                "system": self.system,
                "operation": operation,
                "method": method,
                "path": path,
                "status": status,
                "attempt": attempt,
                "ms": round(elapsed_ms, 1),
                "outcome": outcome.value,
                "error": error,
                "correlation_id": correlation_id,
            },
        )
        metrics.add_metric(name="SystemCalls", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="SystemCallLatency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
        if outcome is not Outcome.OK:
            metrics.add_metric(name=f"SystemCall{outcome.value.capitalize()}Failures", unit=MetricUnit.Count, value=1)
        return call

    def _give_up(self, operation: str, method: str, path: str, attempts: int, why: str) -> SystemCall:
        return SystemCall(
            system=self.system,
            operation=operation,
            method=method,
            path=path,
            status=None,
            attempts=attempts,
            elapsed_ms=0.0,
            error="not sent",
            gave_up=why,
        )


def _replace(call: SystemCall, **changes: Any) -> SystemCall:
    from dataclasses import replace

    return replace(call, **changes)


def _reason(exc: Exception) -> str:
    """A short reason without the URL's query (urllib3 puts the URL in some messages)."""
    reason = getattr(exc, "reason", None) or exc
    return str(reason).split("?", 1)[0][:300]
