"""Publishing canonical envelopes to EventBridge: batches of 10 and 256 KB, failed entries retried one by one.

PutEvents can succeed as a call while failing some entries (FailedEntryCount); those are retried with
backoff and jitter. What still fails raises `PublishError`, so the caller's request or message fails
instead of an event silently vanishing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shared.aws.clients import client
from shared.canonical.envelope import Envelope
from shared.domain.backoff import full_jitter

MAX_ENTRIES_PER_CALL = 10
MAX_REQUEST_BYTES = 256 * 1024
# Entry size as EventBridge counts it: detail-type + source + detail + resources (+ fixed overhead for time).
_ENTRY_OVERHEAD = 14


class PublishError(RuntimeError):
    """Some events could not be published after retries."""

    def __init__(self, failures: list[dict[str, Any]]) -> None:
        self.failures = failures
        codes = sorted({f.get("ErrorCode", "?") for f in failures})
        super().__init__(f"{len(failures)} event(s) not published: {', '.join(codes)}")


@dataclass(frozen=True)
class PublishResult:
    event_ids: list[str]
    calls: int


def to_entry(envelope: Envelope[Any], bus_name: str) -> dict[str, Any]:
    return {
        "EventBusName": bus_name,
        "Source": envelope.eventbridge_source,
        "DetailType": envelope.detail_type,
        "Detail": json.dumps(envelope.to_detail(), separators=(",", ":")),
        "Resources": [],
        "Time": envelope.occurred_at,
    }


def entry_size(entry: dict[str, Any]) -> int:
    return _ENTRY_OVERHEAD + sum(len(entry[k].encode()) for k in ("Source", "DetailType", "Detail"))


def batches(entries: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split entries into PutEvents calls that respect both the count and the size limit."""
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        n = entry_size(entry)
        if n > MAX_REQUEST_BYTES:
            raise ValueError(f"event of {n} bytes exceeds the EventBridge limit of {MAX_REQUEST_BYTES}")
        if current and (len(current) == MAX_ENTRIES_PER_CALL or size + n > MAX_REQUEST_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(entry)
        size += n
    if current:
        out.append(current)
    return out


def publish(
    envelopes: Sequence[Envelope[Any]],
    bus_name: str,
    *,
    attempts: int = 4,
    base_delay: float = 0.05,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishResult:
    """Publish all envelopes or raise `PublishError` with the entries that kept failing."""
    events = client("events")
    calls = 0
    failures: list[dict[str, Any]] = []
    for batch in batches([to_entry(e, bus_name) for e in envelopes]):
        pending = batch
        for attempt in range(attempts):
            calls += 1
            response = events.put_events(Entries=pending)
            if not response.get("FailedEntryCount"):
                pending = []
                break
            results = response["Entries"]
            failed = [(entry, res) for entry, res in zip(pending, results, strict=True) if res.get("ErrorCode")]
            pending = [entry for entry, _ in failed]
            if attempt == attempts - 1:
                failures.extend({**res, "Source": e["Source"], "DetailType": e["DetailType"]} for e, res in failed)
                break
            sleep(full_jitter(attempt, base_delay))
    if failures:
        raise PublishError(failures)
    return PublishResult(event_ids=[e.id for e in envelopes], calls=calls)
