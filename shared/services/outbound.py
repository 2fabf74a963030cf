"""The outbound dispatcher: each deliverable event to every system subscribed to it, through its adapter.

For an event, the targets are the active partners with `outbound` settings subscribed to its type (the list
is cached for a minute, like channels in the projector), except the partner the event came from and, for
supplier events, the system whose record caused the change (`origin_system`): no echo loops. The documents of
one location (`LOCATION_SCOPED_EVENT_TYPES`: an order released to a warehouse...) go only to the systems whose
`location` scopes cover it.

Per target: a delivery record says it is served already (a retried message, a duplicate, an older version
of a newer change) -> nothing; else the adapter delivers; `delivered`, `skipped` and `rejected` (a permanent
refusal, with the system's message: counted, logged, never retried) are recorded. A transient failure that
outlives the delivery's budget raises `DeliveryDeferred`: the handler fails that SQS message alone, SQS
retries it later and the targets already served are not called again.

A system that refuses our credentials (401/403 even with a freshly read secret), or whose connection secret is
unusable (missing, deleted, undecryptable, not a valid connection), cannot be helped by waiting: the delivery is
recorded `refused` with the system's status and answer (secrets masked), counted (`PartnerRefused{partner}`) and,
once the message's other targets are served, `DeliveryRefused` (`partner_refused`, permanent) dead-letters the
message at once. `refused` is not final: after ops fix the connection, a redrive delivers it. A refusal shows the
system is up: its breaker is told so (it never counts as an outage).

Per system, a circuit breaker (`shared.aws.partner_health`, docs/reliability.md "Partner outages"): while a
system's breaker is open its deliveries are not attempted (`CallsSkipped`) and wait for the time left until it
half-opens; after the cool-down one probe decides. Each delivery that reached the system, or could not, is
reported to its breaker. `DeliveryDeferred` is a `partner_unavailable` failure carrying `retry_after_seconds`
(the shortest wait of its deferred targets), so the consumer makes the message wait rather than burn retries.
Other targets of the message, and other messages of the batch, go ahead.

`deliver_now` is the order-to-ship flow's way (docs/order-to-ship.md, "Delivery now vs later"): a step delivers
a document a system must have before the flow waits on it, with the envelope it then publishes; the same delivery
records are written, so the outbound consumer skips those targets when the published event reaches it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.adapters.outbound import (
    DELIVERY_BUDGET_SECONDS,
    LOCATION_SCOPED_EVENT_TYPES,
    SAFETY_MARGIN_SECONDS,
    Adapter,
    DeliveryResult,
    build_adapter,
)
from shared.adapters.outbound import redact as redact_secrets
from shared.adapters.outbound.http import RETRY_AFTER_STATUSES, TRANSIENT_STATUSES, Deadline, RetryPolicy
from shared.adapters.outbound.http import retry_after_seconds as parse_retry_after
from shared.aws.batch_get import batch_get
from shared.aws.delivery_store import DeliveryKey, DeliveryRecord, DeliveryStore, already_served
from shared.aws.partner_health import PartnerHealth
from shared.aws.partners import PartnerRepository
from shared.aws.system_secrets import SystemSecrets
from shared.canonical.envelope import Envelope
from shared.canonical.partner import Partner
from shared.domain.failures import ClassifiedError, FailureClass
from shared.domain.order_flow import DeliveryRejected, PartnerUnavailable
from shared.domain.scopes import allows
from shared.observability import MetricUnit, logger, metrics

SUPPLIER_EVENTS = frozenset({"supplier.created", "supplier.updated", "supplier.merged"})
# Answers that say the system is down (for its breaker); a 429 says it is up but busy: it counts neither way.
UNAVAILABLE_STATUSES = TRANSIENT_STATUSES - {429}
# Secrets Manager's answers that mean the connection secret cannot be used until an operator fixes it.
UNUSABLE_SECRET_CODES = frozenset(
    {"ResourceNotFoundException", "InvalidRequestException", "DecryptionFailure", "AccessDeniedException"}
)
_AWS_CODE = re.compile(r"An error occurred \((\w+)\)")


class DeliveryDeferred(ClassifiedError):
    """At least one system could not be reached in time (or its breaker is open): the message waits."""

    failure_class = FailureClass.PARTNER_UNAVAILABLE

    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class DeliveryRefused(ClassifiedError):
    """A system refused our credentials (or its connection secret is unusable): permanent until ops fix the
    connection, so the message is dead-lettered at once (and redriven once fixed)."""

    failure_class = FailureClass.PARTNER_REFUSED


@dataclass(frozen=True)
class TargetOutcome:
    partner: str
    status: str  # delivered | skipped | rejected | refused | failed | served (already)
    detail: str = ""
    retry_after_seconds: float | None = None  # failed: the wait the system or its breaker asks for


@dataclass
class Dispatch:
    """What one event came to, per target."""

    event_id: str
    event_type: str
    outcomes: list[TargetOutcome] = field(default_factory=list)

    @property
    def deferred(self) -> list[TargetOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def refused(self) -> list[TargetOutcome]:
        return [o for o in self.outcomes if o.status == "refused"]

    @property
    def retry_after_seconds(self) -> float | None:
        """The shortest wait asked for by a deferred target (None: none asked, the consumer's backoff decides)."""
        waits = [o.retry_after_seconds for o in self.deferred if o.retry_after_seconds is not None]
        return min(waits) if waits else None


def reachability(result: DeliveryResult) -> tuple[bool | None, str]:
    """What a delivery says about its system, for its breaker: True (it answered, even with a refusal or a
    401/403), False (connection error, timeout, 5xx), None (nothing learned: no call made, or a 429), with the
    reason. The last call that was sent decides."""
    for call in reversed(result.calls):
        if call.status is None and call.error == "not sent":
            continue  # the budget ran out before this call: it says nothing about the system
        if call.status is None or call.status in UNAVAILABLE_STATUSES:
            return False, call.describe()
        return (None if call.status == 429 else True), call.describe()
    return None, result.detail


def ordering(envelope: Envelope[Any]) -> tuple[str, int] | None:
    """The (ordering key, version) of events whose subject is versioned; None for the others."""
    data = envelope.data
    if envelope.type in SUPPLIER_EVENTS:
        return f"supplier#{data.supplier.supplier_id}", int(data.supplier.version)
    if envelope.type in ("purchase_order.acknowledged", "inbound.expectation_changed"):
        return f"{envelope.type}#{envelope.subject}", int(data.version)
    if envelope.type == "supplier.lead_time_updated":
        return f"{envelope.type}#{envelope.subject}#{data.location or '*'}", int(data.sequence)
    return None


def delivery_key(envelope: Envelope[Any], partner_id: str) -> DeliveryKey:
    order = ordering(envelope)
    if order is None:
        return DeliveryKey(partner_id, envelope.id)
    return DeliveryKey(partner_id, envelope.id, order[0], order[1])


def excluded(envelope: Envelope[Any], partner_id: str) -> bool:
    """No echo: not back to the partner it came from, nor (supplier events) to the system that caused it."""
    if envelope.source_partner == partner_id:
        return True
    return envelope.type in SUPPLIER_EVENTS and getattr(envelope.data, "origin_system", None) == partner_id


def covers(partner: Partner, envelope: Envelope[Any]) -> bool:
    """Whether the partner may receive the event: a document of one location only where its scopes cover it."""
    if envelope.type not in LOCATION_SCOPED_EVENT_TYPES:
        return True
    location = getattr(envelope.data, "location", None)
    return location is not None and allows(partner.scopes, "location", location)


class OutboundDispatcher:
    def __init__(
        self,
        partners: PartnerRepository,
        store: DeliveryStore,
        secrets: SystemSecrets,
        *,
        health: PartnerHealth | None = None,
        adapter_factory: Callable[..., Adapter] = build_adapter,
    ) -> None:
        self.partners = partners
        self.store = store
        self.secrets = secrets
        self.health = health or PartnerHealth(store.table_name)
        self.adapter_factory = adapter_factory

    @classmethod
    def from_settings(cls, settings: Any) -> OutboundDispatcher:
        """Breakers in the delivery table, with the policy of the `PARTNER_BREAKER` environment variable."""
        return cls(
            PartnerRepository(settings.partners_table), DeliveryStore(settings.idempotency_table), SystemSecrets()
        )

    # ------------------------------------------------------------------------------------------------ targets
    def systems(self) -> list[Partner]:
        """Active partners with outbound settings (the repository caches the list a minute)."""
        return self.partners.active_with("outbound")

    def targets(self, envelope: Envelope[Any]) -> list[Partner]:
        return [
            p
            for p in self.systems()
            if p.outbound is not None
            and envelope.type in p.outbound.subscriptions
            and not excluded(envelope, p.partner_id)
            and covers(p, envelope)
        ]

    def prefetch(self, envelopes: Iterable[Envelope[Any]]) -> dict[str, DeliveryRecord]:
        """The delivery records of every (event, target) of a batch and the breakers of its targets, in one read
        (a new batch: breakers read for an earlier one are read again)."""
        pairs = [(e, p.partner_id) for e in envelopes for p in self.targets(e)]
        self.health.forget()
        if not pairs:
            return {}
        return self._read_with_breakers([delivery_key(e, partner) for e, partner in pairs], {p for _, p in pairs})

    def _read_with_breakers(self, keys: list[DeliveryKey], partners: set[str]) -> dict[str, DeliveryRecord]:
        """One BatchGetItem over both tables: the delivery records of `keys` and the breakers of `partners` not
        read yet. A read that fails raises (the message is retried), as a failed read of the records did."""
        unread = self.health.unread(partners)
        wanted = dict(self.store.keys(keys))
        for table, breaker_keys in self.health.keys(unread).items():
            wanted[table] = [*wanted.get(table, []), *breaker_keys]
        found = batch_get(wanted)
        if unread:
            self.health.absorb(unread, found.get(self.health.table_name, []))
        return self.store.absorb(found.get(self.store.table_name, []))

    # --------------------------------------------------------------------------------------------- delivery
    def dispatch(
        self,
        envelope: Envelope[Any],
        detail: Mapping[str, Any],
        *,
        records: Mapping[str, DeliveryRecord] | None = None,
        remaining_seconds: Callable[[], float] | None = None,
    ) -> Dispatch:
        """Deliver to every target not yet served; raises DeliveryDeferred after trying them all if one failed."""
        targets = self.targets(envelope)
        if records is None:  # a message on its own, not a prefetched batch
            self.health.forget()
            records = self.store.load([delivery_key(envelope, p.partner_id) for p in targets]) if targets else {}
        result = Dispatch(envelope.id, envelope.type)
        for partner in targets:
            key = delivery_key(envelope, partner.partner_id)
            if already_served(key, records.get(key.item_id)):
                result.outcomes.append(TargetOutcome(partner.partner_id, "served"))
                metrics.add_metric(name="AlreadyDelivered", unit=MetricUnit.Count, value=1)
                continue
            outcome = self._deliver_one(envelope, detail, partner, key, remaining_seconds)
            result.outcomes.append(outcome)
            if outcome.status not in ("failed", "refused") and isinstance(records, dict):
                # Later messages of the same batch see it (an older version after a newer one is skipped).
                current = records.get(key.item_id)
                if current is None or current.version is None or (key.version or 0) > current.version:
                    records[key.item_id] = DeliveryRecord(outcome.status, envelope.id, outcome.detail, key.version)
        refused = "; ".join(f"{o.partner} ({o.detail})" for o in result.refused)
        if result.deferred:
            # The message waits for the systems that may come back; a refusal is told at once (PartnerRefused)
            # and, once nothing else is pending, dead-letters the message.
            names = ", ".join(f"{o.partner} ({o.detail})" for o in result.deferred)
            also = f"; refused by {refused}" if refused else ""
            raise DeliveryDeferred(
                f"{envelope.type} {envelope.id} not delivered to {names}{also}"[:1000], result.retry_after_seconds
            )
        if refused:
            raise DeliveryRefused(f"{envelope.type} {envelope.id} refused by {refused}"[:1000])
        return result

    def deliver_now(
        self, envelope: Envelope[Any], *, kinds: frozenset[str] | None = None, attempts: int | None = 1
    ) -> Dispatch:
        """Deliver `envelope` to its targets (of `kinds` only, when given) at once, for a caller that cannot go on
        without it (a flow step). Targets already served are skipped; each outcome is recorded as the outbound
        consumer records it. `attempts` caps the HTTP calls per target (None: the system's own setting): the
        caller's retry policy (the state machine's Retry) owns the waiting between attempts.

        Raises `DeliveryRejected` when a target refused it for good (a 4xx, or our credentials: the flow's
        permanent error), else `PartnerUnavailable` when one could not be reached; only after trying every
        target."""
        detail = envelope.to_detail()
        targets = [p for p in self.targets(envelope) if kinds is None or p.kind in kinds]
        keys = {p.partner_id: delivery_key(envelope, p.partner_id) for p in targets}
        self.health.forget()
        records = self._read_with_breakers(list(keys.values()), set(keys)) if targets else {}
        result = Dispatch(envelope.id, envelope.type)
        for partner in targets:
            key = keys[partner.partner_id]
            record = records.get(key.item_id)
            if already_served(key, record):
                assert record is not None
                # A rejection stays a rejection: the same document would be refused again.
                status = "rejected" if record.status == "rejected" else "served"
                result.outcomes.append(TargetOutcome(partner.partner_id, status, record.detail))
                continue
            result.outcomes.append(self._deliver_one(envelope, detail, partner, key, None, attempts=attempts))
        rejected = [o for o in result.outcomes if o.status in ("rejected", "refused")]
        if rejected:
            names = "; ".join(f"{o.partner}: {o.detail}" for o in rejected)
            raise DeliveryRejected(f"{envelope.type} refused by {names}"[:1000])
        if result.deferred:
            names = "; ".join(f"{o.partner}: {o.detail}" for o in result.deferred)
            unavailable = PartnerUnavailable(f"{envelope.type} not delivered to {names}"[:1000])
            unavailable.retry_after_seconds = result.retry_after_seconds  # type: ignore[attr-defined]
            raise unavailable
        return result

    def _deliver_one(
        self,
        envelope: Envelope[Any],
        detail: Mapping[str, Any],
        partner: Partner,
        key: DeliveryKey,
        remaining_seconds: Callable[[], float] | None,
        *,
        attempts: int | None = None,
    ) -> TargetOutcome:
        settings = partner.outbound
        assert settings is not None
        budget = DELIVERY_BUDGET_SECONDS
        if remaining_seconds is not None:
            budget = min(budget, remaining_seconds() - SAFETY_MARGIN_SECONDS)
        if budget <= 0.5:
            return self._finish(envelope, partner, key, DeliveryResult("failed", "no time left in this invocation"))
        decision = self.health.decide(partner.partner_id)
        if not decision.call:
            return self._skip(envelope, partner, decision.retry_after_seconds)
        max_attempts = settings.max_attempts if attempts is None else max(1, min(attempts, settings.max_attempts))
        policy = RetryPolicy(max_attempts=max_attempts, timeout_seconds=settings.timeout_seconds, budget_seconds=budget)
        deadline = Deadline.after(budget)
        connection: Mapping[str, Any] = {}
        delivered = DeliveryResult("failed", "not attempted")
        for fresh in (False, True):
            # A refusal with the cached copy: the connection may have been fixed or rotated since it was cached,
            # so once more with a fresh copy (the same copy would be refused the same way: no second call then).
            try:
                latest = self.secrets.get(settings.secret_name, fresh=fresh)
            except Exception as exc:
                delivered = unusable_connection(exc)
                break
            if fresh and latest == connection:
                break
            connection = latest
            try:
                adapter = self.adapter_factory(settings.adapter, partner.partner_id, connection, policy)
            except ValueError as exc:  # not a connection document (ConnectionSettingsError)
                delivered = unusable_connection(exc)
            else:
                delivered = adapter.deliver(envelope, detail, deadline)
            if delivered.status != "refused":
                break
        if delivered.status in ("refused", "rejected"):
            delivered = DeliveryResult(delivered.status, redact_secrets(delivered.detail, connection), delivered.calls)
        if delivered.status == "refused":
            self.secrets.forget(settings.secret_name)
        reached, reason = reachability(delivered)
        if reached:
            self.health.succeeded(partner.partner_id)
        elif reached is False:
            self.health.failed(partner.partner_id, reason)
        return self._finish(envelope, partner, key, delivered)

    def _skip(self, envelope: Envelope[Any], partner: Partner, retry_after: float | None) -> TargetOutcome:
        """The system's breaker is open (or another caller is probing it): no call, the delivery waits."""
        wait = max(1.0, retry_after or 1.0)
        logger.info(
            "delivery deferred: circuit open",
            extra={
                "event_id": envelope.id,
                "type": envelope.type,
                "system": partner.partner_id,
                "retry_after_seconds": round(wait, 1),
                "correlation_id": envelope.correlation_id,
            },
        )
        metrics.add_metric(name="CallsSkipped", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="DeliveryDeferred", unit=MetricUnit.Count, value=1)
        return TargetOutcome(partner.partner_id, "failed", f"circuit open for {wait:.0f}s", wait)

    def _finish(
        self, envelope: Envelope[Any], partner: Partner, key: DeliveryKey, result: DeliveryResult
    ) -> TargetOutcome:
        adapter = partner.outbound.adapter if partner.outbound else "?"
        extra = {
            "event_id": envelope.id,
            "type": envelope.type,
            "subject": envelope.subject,
            "system": partner.partner_id,
            "adapter": adapter,
            "status": result.status,
            "detail": result.detail,
            "calls": len(result.calls),
            "correlation_id": envelope.correlation_id,
        }
        if result.status == "failed":
            logger.warning("delivery deferred", extra=extra)
            metrics.add_metric(name="DeliveryDeferred", unit=MetricUnit.Count, value=1)
        elif result.status == "refused":
            self.store.record_refusal(key, event_type=envelope.type, detail=result.detail)
            logger.error("credentials refused: the connection needs an operator", extra=extra)
            count_refusal(partner.partner_id)
        else:
            self.store.record(key, result.status, event_type=envelope.type, detail=result.detail)
            if result.status == "rejected":
                logger.error("delivery rejected by the system", extra=extra)
                metrics.add_metric(name="DeliveryRejected", unit=MetricUnit.Count, value=1)
            elif result.status == "skipped":
                logger.info("delivery skipped", extra=extra)
                metrics.add_metric(name="DeliverySkipped", unit=MetricUnit.Count, value=1)
            else:
                logger.info("delivered", extra=extra)
                metrics.add_metric(name="Delivered", unit=MetricUnit.Count, value=1)
        retry_after = _asked_wait(result) if result.status == "failed" else None
        return TargetOutcome(partner.partner_id, result.status, result.detail, retry_after)


def unusable_connection(exc: Exception) -> DeliveryResult:
    """The delivery when the connection secret could not be used: `refused` when only an operator can fix it (a
    secret missing, deleted, undecryptable or not a valid connection document), else the error is raised again
    (a throttled or failing Secrets Manager: the message is retried like any AWS failure)."""
    if isinstance(exc, ValueError):  # not JSON, not an object, a field missing (ConnectionSettingsError)
        return DeliveryResult("refused", f"connection settings: {exc}"[:500])
    code = _secret_error_code(exc)
    if code in UNUSABLE_SECRET_CODES:
        return DeliveryResult("refused", f"connection secret unusable: {code}")
    raise exc


def _secret_error_code(exc: BaseException) -> str | None:
    """The AWS error code behind `exc`: Powertools wraps botocore's ClientError in a GetParameterError (its
    `__context__`, and the code in its message)."""
    seen: BaseException | None = exc
    for _ in range(5):  # a chain of wrappers, never walked for ever
        if seen is None:
            break
        response = getattr(seen, "response", None)
        if isinstance(response, dict) and (response.get("Error") or {}).get("Code"):
            return str(response["Error"]["Code"])
        found = _AWS_CODE.search(str(seen))
        if found:
            return found.group(1)
        seen = seen.__cause__ or seen.__context__
    return None


def count_refusal(partner: str) -> None:
    """`PartnerRefused` twice: with the function's dimensions (its alarm) and with a `partner` dimension (who)."""
    from aws_lambda_powertools.metrics import single_metric

    metrics.add_metric(name="PartnerRefused", unit=MetricUnit.Count, value=1)
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "distrosync")
    with single_metric(
        name="PartnerRefused", unit=MetricUnit.Count, value=1, default_dimensions={"service": service}
    ) as metric:
        metric.add_dimension(name="partner", value=partner)


def _asked_wait(result: DeliveryResult) -> float | None:
    """The system's `Retry-After` on the last call of a failed delivery (429 or 503), if it gave one."""
    last = result.calls[-1] if result.calls else None
    if last is None or last.status not in RETRY_AFTER_STATUSES:
        return None
    return parse_retry_after(last.headers.get("retry-after"))
