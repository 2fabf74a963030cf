"""Publishing canonical envelopes to EventBridge: batches of 10 and 256 KB, failed entries retried one by one.

PutEvents can succeed as a call while failing some entries (FailedEntryCount); those are retried with
backoff and jitter. What still fails raises `PublishError`, so the caller's request or message fails
instead of an event silently vanishing.

An envelope whose entry would exceed EventBridge's 256 KB goes by claim check (ADR 0016): its JSON is written to
the claim-check bucket (`CLAIM_CHECK_BUCKET`, `claims/<event id>.json`) and the entry's detail is a pointer with the
envelope's id, type, subject and correlation id, and `claim_check: {bucket, key, sha256}`; same source and
detail-type, so rules route it as the whole event. `shared.aws.claim_check.envelope_from_eventbridge` resolves it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shared.aws.clients import client
from shared.canonical.envelope import Envelope
from shared.domain.backoff import full_jitter
from shared.domain.batching import chunks_within

MAX_ENTRIES_PER_CALL = 10
MAX_REQUEST_BYTES = 256 * 1024
MAX_ENTRY_BYTES = MAX_REQUEST_BYTES  # one entry may fill a whole request
CLAIM_CHECK_ENV = "CLAIM_CHECK_BUCKET"
CLAIM_PREFIX = "claims/"
CLAIM_CHECK_FIELD = "claim_check"
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


def to_entry(envelope: Envelope[Any], bus_name: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """The PutEvents entry of `envelope` (with `detail` instead of the envelope's own: a claim-check pointer)."""
    return {
        "EventBusName": bus_name,
        "Source": envelope.eventbridge_source,
        "DetailType": envelope.detail_type,
        "Detail": json.dumps(envelope.to_detail() if detail is None else detail, separators=(",", ":")),
        "Resources": [],
        "Time": envelope.occurred_at,
    }


@dataclass(frozen=True)
class Claim:
    """What a claim check stores (`body` at `key`) and what the bus carries instead (`pointer`)."""

    key: str
    body: bytes
    pointer: dict[str, Any]


def claim_for(envelope: Envelope[Any], bucket: str) -> Claim:
    """The claim of an envelope too large for an entry: its JSON under claims/<event id>.json, and the pointer."""
    body = json.dumps(envelope.to_detail(), separators=(",", ":")).encode()
    key = f"{CLAIM_PREFIX}{envelope.id}.json"
    pointer = {
        "id": envelope.id,
        "type": envelope.type,
        "subject": envelope.subject,
        "correlation_id": envelope.correlation_id,
        CLAIM_CHECK_FIELD: {"bucket": bucket, "key": key, "sha256": hashlib.sha256(body).hexdigest()},
    }
    return Claim(key=key, body=body, pointer=pointer)


def entries_for(
    envelopes: Sequence[Envelope[Any]], bus_name: str, *, claim_check_bucket: str | None = None
) -> tuple[list[dict[str, Any]], list[Claim]]:
    """The entries to put, each whole or, over MAX_ENTRY_BYTES, as a claim-check pointer (with the claims to store
    first). Raises ValueError for an oversized envelope when no claim-check bucket is configured."""
    entries: list[dict[str, Any]] = []
    claims: list[Claim] = []
    for envelope in envelopes:
        entry = to_entry(envelope, bus_name)
        size = entry_size(entry)
        if size > MAX_ENTRY_BYTES:
            if not claim_check_bucket:
                raise ValueError(
                    f"event {envelope.id} of {size} bytes exceeds the EventBridge limit of {MAX_ENTRY_BYTES} and no "
                    f"claim-check bucket is configured ({CLAIM_CHECK_ENV})"
                )
            claim = claim_for(envelope, claim_check_bucket)
            claims.append(claim)
            entry = to_entry(envelope, bus_name, claim.pointer)
        entries.append(entry)
    return entries, claims


def store_claims(claims: Sequence[Claim], bucket: str) -> None:
    """Write the claims before their pointers are published (a pointer never names a missing object)."""
    if not claims:
        return
    s3 = client("s3")
    for claim in claims:
        s3.put_object(Bucket=bucket, Key=claim.key, Body=claim.body, ContentType="application/json")


def entry_size(entry: dict[str, Any]) -> int:
    return _ENTRY_OVERHEAD + sum(len(entry[k].encode()) for k in ("Source", "DetailType", "Detail"))


def batches(entries: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split entries into PutEvents calls that respect both the count and the size limit."""
    for entry in entries:
        n = entry_size(entry)
        if n > MAX_REQUEST_BYTES:
            raise ValueError(f"event of {n} bytes exceeds the EventBridge limit of {MAX_REQUEST_BYTES}")
    return chunks_within(entries, entry_size, max_count=MAX_ENTRIES_PER_CALL, max_bytes=MAX_REQUEST_BYTES)


def publish(
    envelopes: Sequence[Envelope[Any]],
    bus_name: str,
    *,
    attempts: int = 4,
    base_delay: float = 0.05,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishResult:
    """Publish all envelopes or raise `PublishError` with the entries that kept failing."""
    bucket = os.environ.get(CLAIM_CHECK_ENV) or None
    entries, claims = entries_for(envelopes, bus_name, claim_check_bucket=bucket)
    if bucket is not None:
        store_claims(claims, bucket)
    events = client("events")
    calls = 0
    failures: list[dict[str, Any]] = []
    for batch in batches(entries):
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
