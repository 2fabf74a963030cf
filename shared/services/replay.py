"""`distrosync replay`: re-deliver a window of the bus's archive to the rules that consume a type (or to all).

EventBridge's StartReplay sends the archived events of [from, to] back to the bus, each marked with the
replay's name, only to the rules given in `FilterArns` (all rules of the bus when there are none). Which rules
consume TYPE is decided here, by matching their event patterns against an event of that type
(`pattern_matches`): a pattern that looks at fields of `detail` cannot be decided without the event, so such a
rule is included (a consumer is idempotent: an extra delivery costs a duplicate, a missing one a lost replay).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.canonical.envelope import eventbridge_source

FINAL_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
MAX_REPLAY_NAME = 64


class ReplayError(RuntimeError):
    pass


@dataclass(frozen=True)
class Rule:
    name: str
    arn: str
    pattern: dict[str, Any] | None


@dataclass
class ReplayReport:
    name: str
    start: datetime
    end: datetime
    event_type: str | None
    rules: list[str]
    state: str
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- pattern matching
_UNKNOWN = object()  # a field the sample event does not have (e.g. anything in `detail`)


def pattern_matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether an EventBridge pattern may match `event`; fields the event lacks are undecidable, so they match."""
    for name, expected in pattern.items():
        if name == "$or":
            if not any(pattern_matches(option, event) for option in expected):
                return False
            continue
        actual = event.get(name, _UNKNOWN) if isinstance(event, Mapping) else _UNKNOWN
        if isinstance(expected, Mapping):
            if actual is _UNKNOWN:
                continue
            if not isinstance(actual, Mapping) or not pattern_matches(expected, actual):
                return False
        elif isinstance(expected, list):
            if actual is _UNKNOWN and not any(_is_exists(m) for m in expected):
                continue
            values = actual if isinstance(actual, list) else [actual]
            if not any(_value_matches(m, v) for m in expected for v in values):
                return False
    return True


def _is_exists(matcher: Any) -> bool:
    return isinstance(matcher, Mapping) and "exists" in matcher


def _value_matches(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return matcher == value
    if "exists" in matcher:
        return bool(matcher["exists"]) == (value is not _UNKNOWN)
    if value is _UNKNOWN:
        return True
    if "prefix" in matcher:
        prefix = matcher["prefix"]
        if isinstance(prefix, Mapping):  # {"prefix": {"equals-ignore-case": "..."}}
            return isinstance(value, str) and value.lower().startswith(str(next(iter(prefix.values()))).lower())
        return isinstance(value, str) and value.startswith(prefix)
    if "suffix" in matcher:
        return isinstance(value, str) and isinstance(matcher["suffix"], str) and value.endswith(matcher["suffix"])
    if "equals-ignore-case" in matcher:
        return isinstance(value, str) and value.lower() == str(matcher["equals-ignore-case"]).lower()
    if "anything-but" in matcher:
        excluded = matcher["anything-but"]
        if isinstance(excluded, Mapping):
            return not any(_value_matches({op: arg}, value) for op, arg in excluded.items())
        return value not in (excluded if isinstance(excluded, list) else [excluded])
    if "wildcard" in matcher:
        regex = ".*".join(re.escape(part) for part in str(matcher["wildcard"]).split("*"))
        return isinstance(value, str) and re.fullmatch(regex, value) is not None
    return True  # numeric ranges, cidr: not about source or detail-type; undecidable here


def sample_event(event_type: str, account: str, region: str) -> dict[str, Any]:
    """The envelope fields every rule can decide on: source, detail-type, account, region."""
    return {
        "source": eventbridge_source(event_type),
        "detail-type": event_type,
        "account": account,
        "region": region,
    }


def rules_for(rules: list[Rule], event_type: str | None, account: str, region: str) -> list[Rule]:
    """The rules an event of `event_type` may reach (every rule with a pattern when no type is given)."""
    with_pattern = [r for r in rules if r.pattern is not None]
    if event_type is None:
        return with_pattern
    event = sample_event(event_type, account, region)
    return [r for r in with_pattern if pattern_matches(r.pattern or {}, event)]


def replay_name(start: datetime, now: datetime, event_type: str | None) -> str:
    """`distrosync-20261127T1000-order.created-20261127T103512`: the window start, the type, when it was asked."""
    text = f"distrosync-{start:%Y%m%dT%H%M}-{event_type or 'all'}-{now:%Y%m%dT%H%M%S}"
    return _NAME_UNSAFE.sub("_", text)[:MAX_REPLAY_NAME]


# ------------------------------------------------------------------------------------------------------ AWS
class Replayer:
    """StartReplay of a bus's archive, and waiting for it (EventBridge API only)."""

    def __init__(self, events: Any, bus_name: str, archive_name: str, *, sleep: Callable[[float], None] = time.sleep):
        self.events = events
        self.bus_name = bus_name
        self.archive_name = archive_name
        self._sleep = sleep

    def rules(self) -> list[Rule]:
        """The bus's rules, except those EventBridge manages itself (the archive's own rule)."""
        found: list[Rule] = []
        kwargs: dict[str, Any] = {"EventBusName": self.bus_name}
        while True:
            page = self.events.list_rules(**kwargs)
            for rule in page.get("Rules", []):
                if rule.get("ManagedBy"):
                    continue
                pattern = json.loads(rule["EventPattern"]) if rule.get("EventPattern") else None
                found.append(Rule(rule["Name"], rule["Arn"], pattern))
            if not page.get("NextToken"):
                return sorted(found, key=lambda r: r.name)
            kwargs["NextToken"] = page["NextToken"]

    def start(
        self, start: datetime, end: datetime, event_type: str | None, *, now: datetime | None = None
    ) -> ReplayReport:
        if start.tzinfo is None or end.tzinfo is None:
            raise ReplayError("--from and --to need a time zone (e.g. 2026-11-27T10:00:00Z)")
        if start >= end:
            raise ReplayError(f"the window is empty: {start.isoformat()} is not before {end.isoformat()}")
        bus = self.events.describe_event_bus(Name=self.bus_name)
        archive = self.events.describe_archive(ArchiveName=self.archive_name)
        account, region = bus["Arn"].split(":")[4], bus["Arn"].split(":")[3]
        chosen = rules_for(self.rules(), event_type, account, region)
        if event_type is not None and not chosen:
            raise ReplayError(f"no rule of {self.bus_name} consumes {event_type}: nothing to replay it to")
        name = replay_name(start, now or datetime.now(UTC), event_type)
        destination: dict[str, Any] = {"Arn": bus["Arn"]}
        if event_type is not None:
            destination["FilterArns"] = [r.arn for r in chosen]
        self.events.start_replay(
            ReplayName=name,
            Description=f"distrosync replay of {event_type or 'every type'}",
            EventSourceArn=archive["ArchiveArn"],
            EventStartTime=start,
            EventEndTime=end,
            Destination=destination,
        )
        return ReplayReport(name, start, end, event_type, [r.name for r in chosen], "STARTING")

    def wait(self, report: ReplayReport, *, timeout_seconds: float = 900, poll_seconds: float = 2) -> ReplayReport:
        """DescribeReplay until the replay is COMPLETED, FAILED or CANCELLED (ReplayError after the timeout)."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            described = self.events.describe_replay(ReplayName=report.name)
            report.state = str(described.get("State", "UNKNOWN"))
            report.reason = str(described.get("StateReason") or "")
            report.details = {
                k: _plain(described[k])
                for k in ("ReplayStartTime", "ReplayEndTime", "EventLastReplayedTime")
                if described.get(k) is not None
            }
            if report.state in FINAL_STATES:
                return report
            if time.monotonic() > deadline:
                raise ReplayError(f"replay {report.name} is still {report.state} after {timeout_seconds:.0f} s")
            self._sleep(poll_seconds)


def _plain(value: Any) -> Any:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
