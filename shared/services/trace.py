"""`distrosync trace KEY`: everything that happened to a PO, an order, a SKU or a supplier, in time order.

Four sources, each a `TraceSource` (shared/services/trace_entries.py), merged by `trace`:

- the journal (`shared/aws/journal_store.py`): the key's events, and the state changes they announce;
- the order's Step Functions execution (named `execution_name(order_id)`): its steps, waits and failures;
- delivery records (`shared/aws/delivery_store.py`): which system was given which of those events, and how it
  answered (found by the journal's event ids, so only events the journal knows are looked up);
- dead letters (`DeadLetterQueues` of `shared/services/dead_letter_ops.py`): messages naming the key, or one of
  its events, that wait in a dead-letter queue.

A source that cannot be read (missing permission, a table from an older stack) does not hide the others: its
error is reported beside the entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.canonical.business_keys import KINDS
from shared.services.journal import iso_millis
from shared.services.trace_entries import TraceEntry, TraceSource

STEP_EVENT_LIMIT = 1000  # history events read per execution
DEAD_LETTER_PEEK_LIMIT = 100  # messages read per dead-letter queue
CAUSE_LIMIT = 200
# Versioned subjects keep one delivery record per (system, subject): the latest version (shared/services/outbound.py).
_SUPPLIER_RECORD_EVENTS = frozenset({"supplier.created", "supplier.updated", "supplier.merged"})
_SUBJECT_RECORD_EVENTS = frozenset({"purchase_order.acknowledged", "inbound.expectation_changed"})
# Execution history events shown as steps (entering a Pass or Choice state says nothing to ops).
_ENTERED = ("TaskStateEntered", "WaitStateEntered", "ParallelStateEntered", "MapStateEntered", "FailStateEntered")
_EXECUTION_END = {
    "ExecutionSucceeded": "succeeded",
    "ExecutionFailed": "failed",
    "ExecutionAborted": "aborted",
    "ExecutionTimedOut": "timed out",
}


def parse_at(value: str | datetime | float | int) -> datetime:
    """A timezone-aware UTC datetime from an ISO text, a datetime or epoch seconds."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def matches(key: str | None, kind: str | None, value: str) -> bool:
    """Whether the business key `key` (`po:PO-1`) is the one looked up (`kind` None: any kind)."""
    if not key:
        return False
    if kind is not None:
        return key == f"{kind}:{value}"
    return key == value or key.partition(":")[2] == value


# --------------------------------------------------------------------------------------------------- journal
class JournalReader(Protocol):
    def entries(self, key: str, limit: int = 1000) -> list[dict[str, Any]]: ...


class JournalSource:
    """The key's journal items (every kind for a bare value), one per event; read once and shared with the
    sources that follow the events (deliveries, dead letters)."""

    def __init__(self, store: JournalReader) -> None:
        self.store = store
        self._events: dict[tuple[str | None, str], list[dict[str, Any]]] = {}

    def events(self, kind: str | None, value: str) -> list[dict[str, Any]]:
        cached = self._events.get((kind, value))
        if cached is None:
            by_id: dict[str, dict[str, Any]] = {}
            for each in (kind,) if kind else KINDS:
                for item in self.store.entries(f"{each}:{value}"):
                    by_id.setdefault(str(item["event_id"]), item)
            # At one instant (the events of one change), the event about the key itself first, then what it caused.
            cached = sorted(by_id.values(), key=lambda i: (str(i["received_at"]), i.get("subject") != value))
            self._events[(kind, value)] = cached
        return cached

    def entries(self, kind: str | None, value: str) -> Iterable[TraceEntry]:
        for item in self.events(kind, value):
            summary = str(item.get("summary") or f"{item.get('type')} {item.get('subject', '')}")
            details = {
                name: item.get(name)
                for name in ("event_id", "type", "subject", "key", "correlation_id", "causation_id", "source_partner")
                if item.get(name) is not None
            }
            details["occurred_at"] = item.get("occurred_at")
            yield TraceEntry(
                at=parse_at(item["received_at"]),
                kind="state" if " -> " in summary else "event",
                summary=summary,
                source="journal",
                details=details,
            )


# ------------------------------------------------------------------------------------------------ executions
class ExecutionSource:
    """The order-to-ship execution of an order: its steps, the waits on task tokens, failures and its end."""

    def __init__(self, state_machine_arn: str, sfn: Any, name_of: Callable[[str], str]) -> None:
        self.state_machine_arn = state_machine_arn
        self.sfn = sfn
        self.name_of = name_of

    def entries(self, kind: str | None, value: str) -> Iterable[TraceEntry]:
        if kind not in (None, "order") or not self.state_machine_arn:
            return []
        name = self.name_of(value)
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        history: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": min(STEP_EVENT_LIMIT, 1000)}
        try:
            while len(history) < STEP_EVENT_LIMIT:
                page = self.sfn.get_execution_history(**kwargs)
                history.extend(page.get("events", []))
                if not page.get("nextToken"):
                    break
                kwargs["nextToken"] = page["nextToken"]
        except self.sfn.exceptions.ExecutionDoesNotExist:
            return []
        return list(step_entries(history, f"execution {name}"))


def step_entries(history: Sequence[dict[str, Any]], source: str) -> Iterable[TraceEntry]:
    """Execution history events -> trace lines (pure)."""
    state = "execution"
    for event in history:
        kind, at = str(event.get("type", "")), parse_at(event["timestamp"])
        details: dict[str, Any] = {"history_event": kind, "id": event.get("id")}
        if kind.endswith("StateEntered"):
            state = str(event.get("stateEnteredEventDetails", {}).get("name", state))
        if kind == "ExecutionStarted":
            text = f"{source} started"
        elif kind in _ENTERED:
            text = f"{state} {'waits' if kind == 'WaitStateEntered' else 'entered'}"
        elif kind == "TaskScheduled" and str(event.get("taskScheduledEventDetails", {}).get("resource", "")).endswith(
            ".waitForTaskToken"
        ):
            text = f"{state} waits for its task token"
        elif kind == "TaskStateExited":
            text = f"{state} done"
        elif kind in _EXECUTION_END:
            text = f"execution {_EXECUTION_END[kind]}"
            failure = _failure(event)
            if failure:
                text += f": {failure}"
        elif kind.endswith(("Failed", "TimedOut")):
            failure = _failure(event)
            text = f"{state} {'timed out' if kind.endswith('TimedOut') else 'failed'}" + (
                f": {failure}" if failure else ""
            )
        else:
            continue
        yield TraceEntry(at=at, kind="step", summary=text, source=source, details={**details, "state": state})


def _failure(event: dict[str, Any]) -> str:
    for name, value in event.items():
        if name.endswith("EventDetails") and isinstance(value, dict) and ("error" in value or "cause" in value):
            text = ": ".join(str(value[k]) for k in ("error", "cause") if value.get(k))
            return text if len(text) <= CAUSE_LIMIT else text[: CAUSE_LIMIT - 1] + "…"
    return ""


# ------------------------------------------------------------------------------------------------ deliveries
class DeliveryReader(Protocol):
    def load(self, keys: Iterable[Any]) -> dict[str, Any]: ...


class DeliverySource:
    """Adapter calls: the delivery records of the key's events, for every system distrosync calls."""

    def __init__(self, journal: JournalSource, store: DeliveryReader, systems: Callable[[], list[str]]) -> None:
        self.journal = journal
        self.store = store
        self.systems = systems

    def entries(self, kind: str | None, value: str) -> Iterable[TraceEntry]:
        from shared.aws.delivery_store import DeliveryKey

        events = self.journal.events(kind, value)
        if not events:
            return []
        keys: dict[str, tuple[Any, dict[str, Any]]] = {}
        for partner in self.systems():
            for item in events:
                for key in (DeliveryKey(partner, str(item["event_id"])), _versioned_key(partner, item)):
                    if key is not None:
                        keys[key.item_id] = (key, item)
        found = self.store.load(key for key, _ in keys.values())
        entries = []
        for item_id, record in found.items():
            key, item = keys[item_id]
            if record.event_id != item["event_id"] or not record.at:
                continue  # a versioned record now about a later event of the subject
            text = f"{item.get('type')} {item.get('subject', '')} -> {key.partner}: {record.status}"
            if record.detail:
                text += f": {record.detail[:CAUSE_LIMIT]}"
            entries.append(
                TraceEntry(
                    at=parse_at(record.at),
                    kind="call",
                    summary=text,
                    source="deliveries",
                    details={"system": key.partner, "status": record.status, "event_id": record.event_id},
                )
            )
        return entries


def _versioned_key(partner: str, item: dict[str, Any]) -> Any:
    from shared.aws.delivery_store import DeliveryKey

    event_type, event_id = str(item.get("type")), str(item["event_id"])
    if event_type in _SUBJECT_RECORD_EVENTS:
        return DeliveryKey(partner, event_id, f"{event_type}#{item.get('subject')}", 0)
    if event_type in _SUPPLIER_RECORD_EVENTS:
        supplier = next((k.partition(":")[2] for k in item.get("keys", []) if k.startswith("supplier:")), None)
        return DeliveryKey(partner, event_id, f"supplier#{supplier}", 0) if supplier else None
    return None


# ---------------------------------------------------------------------------------------------- dead letters
class DeadLetterQueuesLike(Protocol):
    """What `shared.services.dead_letter_ops.DeadLetterQueues` offers the trace."""

    def list(self) -> Sequence[Any]: ...

    def peek(self, queue: str, limit: int = 100) -> Sequence[Any]: ...


class DeadLetterSource:
    """Dead letters whose business key is the one looked up, or whose event is one of the key's events."""

    def __init__(self, queues: DeadLetterQueuesLike, journal: JournalSource | None = None) -> None:
        self.queues = queues
        self.journal = journal

    def entries(self, kind: str | None, value: str) -> Iterable[TraceEntry]:
        event_ids = {str(i["event_id"]) for i in self.journal.events(kind, value)} if self.journal else set()
        entries = []
        for queue in self.queues.list():
            if getattr(queue, "depth", 1) == 0 and getattr(queue, "in_flight", 0) == 0:
                continue  # empty: nothing to peek
            name = str(getattr(queue, "name", queue))
            for letter in self.queues.peek(name, DEAD_LETTER_PEEK_LIMIT):
                if not (
                    matches(letter.business_key, kind, value) or (letter.event_id and letter.event_id in event_ids)
                ):
                    continue
                when = letter.last_failure_at or letter.sent_at or letter.first_failure_at
                if not when:
                    continue
                cause = ": ".join(str(x) for x in (letter.error_class, letter.error) if x) or "moved by SQS"
                text = f"{letter.event_type or 'message'} {letter.business_key or ''} in {name}: {cause}"
                entries.append(
                    TraceEntry(
                        at=parse_at(when),
                        kind="dead_letter",
                        summary=" ".join(text.split())[: CAUSE_LIMIT + 80],
                        source=name,
                        details={
                            "queue": name,
                            "message_id": letter.message_id,
                            "event_id": letter.event_id,
                            "handler": letter.handler,
                            "attempts": letter.attempts,
                            "error_class": letter.error_class,
                        },
                    )
                )
        return entries


# ------------------------------------------------------------------------------------------------------ trace
@dataclass
class Trace:
    key: str
    entries: list[TraceEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # sources that could not be read, and why


def trace(kind: str | None, value: str, sources: Sequence[tuple[str, TraceSource]]) -> Trace:
    """Every source's entries about the key, in time order (cause before effect at the same instant)."""
    result = Trace(f"{kind}:{value}" if kind else value)
    for name, source in sources:
        try:
            result.entries.extend(source.entries(kind, value))
        except Exception as exc:  # one unreadable source must not hide the others
            result.problems.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
    # Stable: entries of one source at the same instant keep its order (an execution's history is in order).
    result.entries.sort(key=lambda e: e.sort_key()[:2])
    return result


def line(entry: TraceEntry) -> str:
    """`2026-11-27T10:00:01.123Z  event  purchase_order.created PO-1 (erp-main)`."""
    return f"{iso_millis(entry.at)}  {entry.kind:<5}  {entry.summary}"


def as_json(entry: TraceEntry) -> dict[str, Any]:
    return {
        "at": iso_millis(entry.at),
        "kind": entry.kind,
        "summary": entry.summary,
        "source": entry.source,
        "details": entry.details,
    }
