"""The circuit breakers of the partner systems distrosync calls, kept in DynamoDB (ADR 0017).

One item per system in the delivery table (the idempotency table): `id = BREAKER#<partner>`, with `open`,
`failures`, `opened_at`, `cool_down_seconds`, `probe_until`, `version`, `updated_at` and a TTL (`expiration`:
a breaker nobody touched for 30 days is closed and forgotten).

- Reads: one consistent BatchGetItem per batch for the systems it calls (`load`), cached for the invocation;
  `forget()` starts a new batch.
- Writes: only when the state changes or a failure is counted (a success on a closed breaker with no failures
  writes nothing), each conditioned on the `version` read. A lost race re-reads and applies the outcome again,
  so concurrent consumers count every failure once and agree on one state.
- Probes: in half-open, the caller that wins the conditional write of `probe_until` probes; the others wait.
- Failing open: a breaker that cannot be read or written (DynamoDB throttled beyond the client's retries, say)
  is taken as closed for the batch and left alone: the breaker spares a down partner calls, it must never stop
  deliveries to a healthy one.

The transitions themselves are pure (`shared.domain.circuit`); this module stores them, logs them with the
partner and the reason, and counts `CircuitOpened` / `CircuitClosed` (dimension `partner`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from shared.aws.batch_get import batch_get
from shared.aws.clients import client
from shared.domain.circuit import BreakerPolicy, BreakerState, Decision, Transition
from shared.domain.failures import describe
from shared.observability import MetricUnit, logger

ITEM_PREFIX = "BREAKER#"
POLICY_ENV = "PARTNER_BREAKER"
BREAKER_TTL_SECONDS = 30 * 24 * 3600
_RACE_ATTEMPTS = 5


def item_id(partner: str) -> str:
    return f"{ITEM_PREFIX}{partner}"


class PartnerHealth:
    def __init__(
        self, table_name: str, policy: BreakerPolicy | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.table_name = table_name
        self.policy = policy or BreakerPolicy.from_json(os.environ.get(POLICY_ENV))
        self.clock = clock
        self._states: dict[str, BreakerState] = {}
        self._unknown: set[str] = set()  # could not be read this batch: taken as closed, never written

    # ----------------------------------------------------------------------------------------------- reading
    def forget(self) -> None:
        """A new batch: the next look at a breaker reads it again."""
        self._states.clear()
        self._unknown.clear()

    def load(self, partners: Iterable[str]) -> None:
        """Read the breakers of `partners` not read yet in this batch, in one request."""
        wanted = self.unread(partners)
        if not wanted:
            return
        try:
            found = batch_get(self.keys(wanted))
        except Exception as exc:  # botocore's errors, unread keys: fail open (module docstring)
            logger.warning("circuit breakers not readable: taken as closed", extra={"error": describe(exc)})
            self._unknown.update(wanted)
            found = {}
        self.absorb(wanted, found.get(self.table_name, []))

    def unread(self, partners: Iterable[str]) -> list[str]:
        """Those of `partners` whose breaker this batch has not read yet."""
        return sorted({p for p in partners if p not in self._states})

    def keys(self, partners: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The BatchGetItem keys of `partners`' breakers (for a read shared with other tables)."""
        return {self.table_name: [{"id": {"S": item_id(p)}} for p in partners]}

    def absorb(self, partners: Iterable[str], items: Iterable[dict[str, Any]]) -> None:
        """The breakers of `partners` as read (`items` of this table; a partner without an item is closed)."""
        found = {
            item["partner"]["S"]: _from_item(item)
            for item in items
            if item.get("id", {}).get("S", "").startswith(ITEM_PREFIX) and "partner" in item
        }
        for partner in partners:
            self._states[partner] = found.get(partner, BreakerState())

    def state(self, partner: str) -> BreakerState:
        if partner not in self._states:
            self.load([partner])
        return self._states[partner]

    # ---------------------------------------------------------------------------------------------- deciding
    def decide(self, partner: str) -> Decision:
        """May the caller call `partner` now? In half-open, the probe is claimed here (conditional write): a
        caller told `call=True, probe=True` is the one prober; the others are told to wait."""
        for _ in range(_RACE_ATTEMPTS):
            state = self.state(partner)
            now = self.clock()
            decision = state.decide(now)
            if partner in self._unknown:
                return Decision(call=True)
            if not decision.probe:
                return decision
            if self._write(partner, state, state.claim_probe(now, self.policy)):
                logger.info("circuit half-open: probing", extra={"partner": partner})
                return decision
            self._reread(partner)
        return Decision(call=False, retry_after_seconds=self.policy.probe_lease_seconds)

    # -------------------------------------------------------------------------------------------- outcomes
    def succeeded(self, partner: str) -> Transition | None:
        """The system answered (a success or a refusal)."""
        return self._apply(partner, lambda s, now: s.on_success(now), "the system answered")

    def failed(self, partner: str, reason: str) -> Transition | None:
        """The system could not be reached: a connection error, a timeout or a 5xx (`reason` says which)."""
        return self._apply(partner, lambda s, now: s.on_failure(now, self.policy), reason)

    def _apply(
        self,
        partner: str,
        change: Callable[[BreakerState, float], tuple[BreakerState, Transition | None]],
        reason: str,
    ) -> Transition | None:
        for _ in range(_RACE_ATTEMPTS):
            state = self.state(partner)
            if partner in self._unknown:
                return None
            now = self.clock()
            new, transition = change(state, now)
            if new == state:
                return None
            if self._write(partner, state, new):
                if transition is not None:
                    self._announce(partner, transition, new, reason)
                return transition
            self._reread(partner)
        # Others kept changing it: theirs stands (they saw the system too); this outcome is not counted.
        logger.warning("circuit state not updated: too many concurrent changes", extra={"partner": partner})
        return None

    def _announce(self, partner: str, transition: Transition, state: BreakerState, reason: str) -> None:
        extra = {"partner": partner, "transition": transition.value, "reason": reason[:500]}
        if transition is Transition.CLOSED:
            logger.info("circuit closed", extra=extra)
            _count("CircuitClosed", partner)
        else:
            extra.update(failures=state.failures, cool_down_seconds=state.cool_down_seconds)
            logger.warning(f"circuit {transition.value}", extra=extra)
            _count("CircuitOpened", partner)

    # ------------------------------------------------------------------------------------------------ store
    def _reread(self, partner: str) -> None:
        self._states.pop(partner, None)
        self.load([partner])

    def _write(self, partner: str, old: BreakerState, new: BreakerState) -> bool:
        """Store `new` if the item is still at `old.version`; False when another caller changed it first."""
        dynamodb = client("dynamodb")
        stored = BreakerState(
            open=new.open,
            failures=new.failures,
            opened_at=new.opened_at,
            cool_down_seconds=new.cool_down_seconds,
            probe_until=new.probe_until,
            version=old.version + 1,
        )
        now = datetime.now(UTC)
        item = {
            "id": {"S": item_id(partner)},
            "partner": {"S": partner},
            "open": {"BOOL": stored.open},
            "failures": _n(stored.failures),
            "opened_at": _n(stored.opened_at),
            "cool_down_seconds": _n(stored.cool_down_seconds),
            "probe_until": _n(stored.probe_until),
            "version": _n(stored.version),
            "updated_at": {"S": now.isoformat()},
            "expiration": _n(int(now.timestamp()) + BREAKER_TTL_SECONDS),
        }
        if old.version:
            condition = {"ConditionExpression": "version = :v", "ExpressionAttributeValues": {":v": _n(old.version)}}
        else:
            condition = {"ConditionExpression": "attribute_not_exists(id)"}
        try:
            dynamodb.put_item(TableName=self.table_name, Item=item, **condition)
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        except Exception as exc:  # fail open: this outcome is not recorded, the breaker is left alone
            logger.warning("circuit breaker not written", extra={"partner": partner, "error": describe(exc)})
            self._unknown.add(partner)
            return False
        self._states[partner] = stored
        return True


def _n(value: float) -> dict[str, str]:
    return {"N": str(int(value)) if float(value).is_integer() else f"{value:.3f}"}


def _from_item(item: dict[str, Any]) -> BreakerState:
    def number(name: str) -> float:
        return float(item[name]["N"]) if name in item else 0.0

    return BreakerState(
        open=bool(item.get("open", {}).get("BOOL", False)),
        failures=int(number("failures")),
        opened_at=number("opened_at"),
        cool_down_seconds=number("cool_down_seconds"),
        probe_until=number("probe_until"),
        version=int(number("version")),
    )


def _count(name: str, partner: str) -> None:
    """One metric with a `partner` dimension, apart from the function's other metrics and dimensions."""
    from aws_lambda_powertools.metrics import single_metric

    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "distrosync")
    with single_metric(name=name, unit=MetricUnit.Count, value=1, default_dimensions={"service": service}) as metric:
        metric.add_dimension(name="partner", value=partner)
