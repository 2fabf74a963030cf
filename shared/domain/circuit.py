"""A circuit breaker per partner system (docs/reliability.md, "Partner outages"): pure state and transitions.

    closed --N consecutive transient failures--> open --cool-down elapsed--> half-open
    half-open --the one probe succeeds--> closed
    half-open --the probe fails--> open again, for twice the last cool-down (capped)

Half-open is not stored: it is an open breaker whose cool-down has elapsed (`phase(now)`). In that phase one
caller at a time may probe the system: it claims the probe (`claim_probe`) for a lease long enough for one
delivery; the others keep waiting, and if the prober dies the lease runs out and another may probe. Any answer
that shows the system is up (a success, or a refusal: the system answered) closes the breaker.

Times are epoch seconds (`time.time()`): the state is shared by every Lambda calling the system. `version`
counts writes; the store (shared/aws/partner_health.py) writes conditioned on it so concurrent callers agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Transition(StrEnum):
    """A change worth logging and counting (`CircuitOpened` / `CircuitClosed`)."""

    OPENED = "opened"
    REOPENED = "reopened"
    CLOSED = "closed"


@dataclass(frozen=True)
class BreakerPolicy:
    """When a breaker opens and for how long. The functions that call partners get it as `PARTNER_BREAKER`
    (JSON, written by infra from `infra.config.BreakerSettings`)."""

    failure_threshold: int = 5  # consecutive transient failures that open the breaker
    cool_down_seconds: float = 30.0  # first open period
    max_cool_down_seconds: float = 900.0  # doubling stops here (SQS's longest delay)
    probe_lease_seconds: float = 60.0  # one probe's claim: longer than a delivery's budget

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if not 0 < self.cool_down_seconds <= self.max_cool_down_seconds:
            raise ValueError("need 0 < cool_down_seconds <= max_cool_down_seconds")
        if self.probe_lease_seconds <= 0:
            raise ValueError("probe_lease_seconds must be positive")

    @classmethod
    def from_json(cls, text: str | None) -> BreakerPolicy:
        """The policy in `text` (JSON object, any subset of the fields); the defaults when empty."""
        if not text:
            return cls()
        values: Mapping[str, Any] = json.loads(text)
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        return cls(**known)

    def to_json(self) -> str:
        return json.dumps(
            {
                "failure_threshold": self.failure_threshold,
                "cool_down_seconds": self.cool_down_seconds,
                "max_cool_down_seconds": self.max_cool_down_seconds,
                "probe_lease_seconds": self.probe_lease_seconds,
            },
            separators=(",", ":"),
        )


@dataclass(frozen=True)
class Decision:
    """What a caller may do now: `call` (closed), `probe` (half-open, no probe running: claim it first) or
    neither (open, or another caller is probing), then wait `retry_after_seconds`."""

    call: bool
    probe: bool = False
    retry_after_seconds: float | None = None


@dataclass(frozen=True)
class BreakerState:
    open: bool = False
    failures: int = 0  # consecutive transient failures (while closed)
    opened_at: float = 0.0
    cool_down_seconds: float = 0.0  # of the current open period
    probe_until: float = 0.0  # a probe is claimed until then
    version: int = 0  # writes so far (0: never stored)

    # ----------------------------------------------------------------------------------------------- reading
    def phase(self, now: float) -> Phase:
        if not self.open:
            return Phase.CLOSED
        return Phase.HALF_OPEN if now >= self.half_open_at else Phase.OPEN

    @property
    def half_open_at(self) -> float:
        return self.opened_at + self.cool_down_seconds

    def probing(self, now: float) -> bool:
        return now < self.probe_until

    def decide(self, now: float) -> Decision:
        phase = self.phase(now)
        if phase is Phase.CLOSED:
            return Decision(call=True)
        if phase is Phase.OPEN:
            return Decision(call=False, retry_after_seconds=self.half_open_at - now)
        if self.probing(now):
            return Decision(call=False, retry_after_seconds=self.probe_until - now)
        return Decision(call=True, probe=True)

    # ------------------------------------------------------------------------------------------- transitions
    def claim_probe(self, now: float, policy: BreakerPolicy) -> BreakerState:
        """The state with a probe claimed by the caller; only valid when `decide(now).probe`."""
        if not self.decide(now).probe:
            raise ValueError("no probe to claim: the breaker is not half-open, or a probe is running")
        return replace(self, probe_until=now + policy.probe_lease_seconds)

    def on_success(self, now: float) -> tuple[BreakerState, Transition | None]:
        """The system answered. Closes an open breaker (a probe succeeded, or a call started before it opened);
        resets the failure count. The same state (no write needed) when nothing changes."""
        if self.open:
            return BreakerState(version=self.version), Transition.CLOSED
        if self.failures:
            return replace(self, failures=0), None
        return self, None

    def on_failure(self, now: float, policy: BreakerPolicy) -> tuple[BreakerState, Transition | None]:
        """The system could not be reached (connection error, timeout, 5xx)."""
        phase = self.phase(now)
        if phase is Phase.CLOSED:
            failures = self.failures + 1
            if failures < policy.failure_threshold:
                return replace(self, failures=failures), None
            opened = BreakerState(
                open=True,
                failures=failures,
                opened_at=now,
                cool_down_seconds=policy.cool_down_seconds,
                version=self.version,
            )
            return opened, Transition.OPENED
        if phase is Phase.OPEN:
            return self, None  # a call that started before the breaker opened: it is open already
        # Half-open: the probe failed. Open again for twice as long, capped.
        cool_down = min(policy.max_cool_down_seconds, max(policy.cool_down_seconds, 2 * self.cool_down_seconds))
        reopened = BreakerState(
            open=True,
            failures=self.failures + 1,
            opened_at=now,
            cool_down_seconds=cool_down,
            version=self.version,
        )
        return reopened, Transition.REOPENED
