"""The stack's dead-letter queues for ops: list, peek, redrive, purge (docs/reliability.md, "Ops CLI: dead letters").

A stack's DLQs are its queues named `<prefix>-...-dlq`: the processing DLQs of its consumers (SQS moves a message
there after `maxReceiveCount`, or the consumer sends it with its story), the `-delivery-dlq`s of its EventBridge
rule targets, and the DLQs of its schedules. A message is read by receiving it with a short visibility timeout and
releasing it (visibility 0) when done, so reading changes nothing but its receive count.

Redrive sends a selected message back where it came from and deletes it from the DLQ only after that send
succeeded: its story's `source_queue`, else the queue that dead-letters into the DLQ (ListDeadLetterSourceQueues);
for an EventBridge target's DLQ (no source queue), the target's own queue (the DLQ message's `TARGET_ARN`, else the
queue the `-delivery-dlq` is named after), which receives exactly what EventBridge failed to deliver, so the other
rules' consumers see no copy; failing that, a distrosync event is put on its bus again (PutEvents).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.aws.clients import client
from shared.canonical.business_keys import primary_business_key

STORY_ATTRIBUTE = "distrosync-dead-letter"
ATTEMPTS_ATTRIBUTE = "distrosync-attempts"  # a partner wait's count; a redriven message starts afresh
WHERE_FIELDS = ("error_class", "handler", "business_key", "correlation_id", "event_type", "event_id")
DELIVERY_SUFFIX = "-delivery-dlq"
DLQ_SUFFIX = "-dlq"
HOLD_SECONDS = 60  # visibility of the messages a scan holds; extended while the scan goes on
_MAX_RECEIVE = 10

Progress = Callable[[int, int, int], None]  # (messages scanned, messages in the DLQ when it started, moved)


class DeadLetterOpsError(ValueError):
    """What ops asked for cannot be done as asked (unknown queue, not a DLQ, unknown --where field)."""


@dataclass(frozen=True)
class QueueSummary:
    name: str
    url: str
    depth: int  # visible messages
    in_flight: int  # received and not yet deleted or released (e.g. being redriven)
    oldest_sent_at: datetime | None  # of the messages peeked (up to `peek_limit`)
    oldest_age_seconds: float | None
    source_queue: str | None  # the queue it dead-letters for (name), or an EventBridge target's queue
    kind: str  # "processing" (a queue's DLQ), "delivery" (an EventBridge target's) or "other" (a schedule's...)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["oldest_sent_at"] = _iso(self.oldest_sent_at)
        return doc


@dataclass(frozen=True)
class DeadLetter:
    """One DLQ message, decoded: its story when the consumer wrote one, else what SQS and its body say."""

    queue_name: str
    message_id: str  # in the DLQ
    body: str
    story: dict[str, Any] | None
    receive_count: int
    sent_at: datetime | None
    event_id: str | None
    event_type: str | None
    correlation_id: str | None
    business_key: str | None
    error_class: str | None
    error: str | None
    handler: str | None
    attempts: int | None
    first_failure_at: datetime | None
    last_failure_at: datetime | None
    source_queue: str | None  # queue name
    original_message_id: str | None = None  # the story's message_id: the id it had on its source queue
    attributes: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)  # SQS API shape
    receipt_handle: str | None = field(default=None, repr=False, compare=False)

    def matches_id(self, ident: str) -> bool:
        """`--id`: the DLQ message id, the original message id or the event id."""
        return ident in (self.message_id, self.original_message_id, self.event_id)

    def matches(self, where: Mapping[str, str]) -> bool:
        """Every `FIELD=VALUE` holds. A business key without its kind (`PO-1`) matches any kind (`po:PO-1`)."""
        for name, wanted in where.items():
            value = getattr(self, name)
            if value is None:
                return False
            value = str(value)
            if name == "business_key" and ":" not in wanted:
                value = value.partition(":")[2] or value
            if value != wanted:
                return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue_name,
            "message_id": self.message_id,
            "original_message_id": self.original_message_id,
            "error_class": self.error_class,
            "error": self.error,
            "handler": self.handler,
            "attempts": self.attempts,
            "first_failure_at": _iso(self.first_failure_at),
            "last_failure_at": _iso(self.last_failure_at),
            "business_key": self.business_key,
            "correlation_id": self.correlation_id,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "source_queue": self.source_queue,
            "receive_count": self.receive_count,
            "sent_at": _iso(self.sent_at),
            "has_story": self.story is not None,
            "body": self.body,
        }


@dataclass(frozen=True)
class Destination:
    """Where a redriven message goes: a queue (`target` is its URL) or a bus (`target` is its name)."""

    kind: str  # "queue" | "bus"
    target: str

    def __str__(self) -> str:
        return f"{self.kind} {self.target.rsplit('/', 1)[-1]}"


@dataclass
class RedriveReport:
    queue: str
    dry_run: bool
    scanned: int = 0
    moved: list[tuple[DeadLetter, Destination]] = field(default_factory=list)  # dry run: what would move
    failed: list[tuple[DeadLetter, str]] = field(default_factory=list)  # left in the DLQ, with why
    not_found: list[str] = field(default_factory=list)  # --id values no message matched
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_found

    def to_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "dry_run": self.dry_run,
            "scanned": self.scanned,
            "moved" if not self.dry_run else "would_move": [
                {"message_id": d.message_id, "event_id": d.event_id, "event_type": d.event_type, "to": str(dest)}
                for d, dest in self.moved
            ],
            "failed": [{"message_id": d.message_id, "event_id": d.event_id, "reason": why} for d, why in self.failed],
            "not_found": self.not_found,
            "seconds": round(self.seconds, 3),
        }


def parse_where(pairs: Iterable[str]) -> dict[str, str]:
    """`["error_class=validation", ...]` -> a dict; DeadLetterOpsError names a malformed pair or unknown field."""
    where: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not value:
            raise DeadLetterOpsError(f"--where {pair!r}: expected FIELD=VALUE")
        if name not in WHERE_FIELDS:
            raise DeadLetterOpsError(
                f"--where {name}: not a field of a dead letter's story ({', '.join(WHERE_FIELDS)})"
            )
        where[name] = value
    return where


def decode(queue_name: str, message: Mapping[str, Any], source_queue: str | None = None) -> DeadLetter:
    """A received SQS message (ReceiveMessage shape, with `All` attributes) -> a DeadLetter. Pure."""
    attributes = message.get("Attributes") or {}
    message_attributes = message.get("MessageAttributes") or {}
    story = _story(message_attributes)
    body = str(message.get("Body", ""))
    event, detail = _event_of(body)
    s = story or {}
    first_receive = _from_millis(attributes.get("ApproximateFirstReceiveTimestamp"))
    bus_error = _bus_error(message_attributes)
    return DeadLetter(
        queue_name=queue_name,
        message_id=str(message.get("MessageId", "")),
        body=body,
        story=story,
        receive_count=int(attributes.get("ApproximateReceiveCount", 0) or 0),
        sent_at=_from_millis(attributes.get("SentTimestamp")),
        event_id=_text(s.get("event_id")) or _text(detail.get("id")) or _text(event.get("id")),
        event_type=_text(s.get("event_type")) or _text(detail.get("type")) or _text(event.get("detail-type")),
        correlation_id=_text(s.get("correlation_id")) or _text(detail.get("correlation_id")),
        business_key=_text(s.get("business_key")) or (primary_business_key(detail) if detail else None),
        error_class=_text(s.get("error_class")),
        error=_text(s.get("error")) or bus_error,
        handler=_text(s.get("handler")),
        attempts=_int(s.get("attempts")),
        first_failure_at=_from_iso(s.get("first_failure_at")) if story else first_receive,
        last_failure_at=_from_iso(s.get("last_failure_at")) if story else None,
        source_queue=_queue_name(_text(s.get("source_queue"))) or source_queue,
        original_message_id=_text(s.get("message_id")),
        attributes=dict(message_attributes),
        receipt_handle=message.get("ReceiptHandle"),
    )


class DeadLetterQueues:
    """The DLQs of the stack whose resource names start with `prefix` (`distrosync-dev`)."""

    def __init__(self, prefix: str, *, bus_name: str | None = None, sleep: Callable[[float], None] = time.sleep):
        self.prefix = prefix
        self.bus_name = bus_name  # where a distrosync event from a DLQ without a queue to return to is put again
        self._sleep = sleep
        self._urls: dict[str, str] = {}

    # ------------------------------------------------------------------------------------------------- list
    def list(self, peek_limit: int = 100) -> list[QueueSummary]:
        """Every DLQ of the stack with its depth, the age of its oldest message and its source, by name."""
        sqs = client("sqs")
        urls = [
            url
            for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=self.prefix)
            for url in page.get("QueueUrls", [])
        ]
        names = {_queue_name(url): url for url in urls}
        summaries = []
        for name, url in sorted(names.items()):
            if not (name.startswith(f"{self.prefix}-") and name.endswith(DLQ_SUFFIX)):
                continue
            depth, in_flight = self._depth(url)
            sources = self._sources(url)
            kind = "processing" if sources else "other"
            if not sources and name.endswith(DELIVERY_SUFFIX) and name.removesuffix(DELIVERY_SUFFIX) in names:
                kind, sources = "delivery", [name.removesuffix(DELIVERY_SUFFIX)]
            oldest = None
            if depth:
                sent = [d.sent_at for d in self.peek(url, limit=peek_limit) if d.sent_at is not None]
                oldest = min(sent) if sent else None
            summaries.append(
                QueueSummary(
                    name=name,
                    url=url,
                    depth=depth,
                    in_flight=in_flight,
                    oldest_sent_at=oldest,
                    oldest_age_seconds=max((_now() - oldest).total_seconds(), 0.0) if oldest else None,
                    source_queue=", ".join(sources) or None,
                    kind=kind,
                )
            )
        return summaries

    # ------------------------------------------------------------------------------------------------- peek
    def peek(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        """Up to `limit` messages of the DLQ, decoded, oldest first; every one is left in the DLQ."""
        url = self.url(queue)
        name, source = _queue_name(url), self._single_source(url)
        found: list[DeadLetter] = []
        with _Scan(client("sqs"), url) as scan:
            for message in scan.messages():
                found.append(decode(name, message, source))
                if len(found) >= limit:
                    break
        return sorted(found, key=lambda d: (d.sent_at or datetime.max.replace(tzinfo=UTC), d.message_id))

    # ---------------------------------------------------------------------------------------------- redrive
    def redrive(
        self,
        queue: str,
        ids: Iterable[str] = (),
        where: Mapping[str, str] | None = None,
        rate: float | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> RedriveReport:
        """Send the selected messages (all, when neither `ids` nor `where` is given) back where they came from, at
        most `rate` a second. Each is deleted from the DLQ only after its send succeeded; messages not selected,
        or whose send failed, are released (visibility 0) as soon as the scan is over. `dry_run` says what would
        move and changes nothing."""
        where = dict(where or {})
        unknown = sorted(set(where) - set(WHERE_FIELDS))
        if unknown:
            raise DeadLetterOpsError(f"--where {unknown[0]}: not a field of a dead letter's story")
        if rate is not None and rate <= 0:
            raise DeadLetterOpsError("--rate must be a positive number of messages per second")
        url = self.url(queue)
        name, source = _queue_name(url), self._single_source(url)
        wanted, found = list(dict.fromkeys(ids)), set()
        report = RedriveReport(queue=name, dry_run=dry_run)
        total = self._depth(url)[0]
        pace = _Pace(rate, self._sleep)
        started = time.monotonic()
        # A hold long enough for two sends in each half of it (SQS allows at most 12 hours).
        hold = min(max(HOLD_SECONDS, int(4 / rate) + 1), 43_200) if rate else HOLD_SECONDS
        with _Scan(client("sqs"), url, hold) as scan:
            for message in scan.messages():
                report.scanned += 1
                letter = decode(name, message, source)
                hits = [i for i in wanted if letter.matches_id(i)]
                selected = (not wanted or bool(hits)) and letter.matches(where)
                if selected:
                    found.update(hits)
                    self._move(scan, letter, report, pace, dry_run)
                if progress is not None:
                    progress(report.scanned, max(total, report.scanned), len(report.moved))
                if wanted and found.issuperset(wanted):
                    break  # every message asked for was seen: no need to read the rest
        report.not_found = [i for i in wanted if i not in found]
        report.seconds = time.monotonic() - started
        return report

    def _move(self, scan: _Scan, letter: DeadLetter, report: RedriveReport, pace: _Pace, dry_run: bool) -> None:
        try:
            destination = self._destination(letter)
        except DeadLetterOpsError as exc:
            report.failed.append((letter, str(exc)))
            return
        if dry_run:
            report.moved.append((letter, destination))
            return
        pace.wait()
        scan.keep_alive()  # a slow rate must not let the messages held meanwhile go back to the queue
        try:
            self._send(letter, destination)
        except Exception as exc:  # the message stays in the DLQ: nothing is lost
            report.failed.append((letter, f"not sent to {destination}: {_reason(exc)}"))
            return
        try:
            scan.delete(letter.message_id)
        except Exception as exc:  # it is back on its source and still here: consumers drop the duplicate
            report.failed.append((letter, f"sent to {destination} but still in the DLQ: {_reason(exc)}"))
            return
        report.moved.append((letter, destination))

    def _destination(self, letter: DeadLetter) -> Destination:
        if letter.source_queue:
            return Destination("queue", self.url(letter.source_queue, dlq=False))
        target = _text((letter.attributes.get("TARGET_ARN") or {}).get("StringValue"))
        if target and target.startswith("arn:aws:sqs:"):
            return Destination("queue", self.url(_queue_name(target), dlq=False))
        if letter.queue_name.endswith(DELIVERY_SUFFIX):
            own = letter.queue_name.removesuffix(DELIVERY_SUFFIX)
            try:
                return Destination("queue", self.url(own, dlq=False))
            except DeadLetterOpsError:
                pass
        event, _ = _event_of(letter.body)
        bus = _bus_of(letter.attributes) or self.bus_name
        if str(event.get("source", "")).startswith("distrosync.") and bus:
            return Destination("bus", bus)
        raise DeadLetterOpsError("no source queue to send it back to (not a distrosync event on a bus)")

    def _send(self, letter: DeadLetter, destination: Destination) -> None:
        if destination.kind == "bus":
            event, _ = _event_of(letter.body)
            entry = {
                "EventBusName": destination.target,
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": list(event.get("resources") or []),
            }
            response = client("events").put_events(Entries=[entry])
            if response.get("FailedEntryCount"):
                failure = response["Entries"][0]
                raise RuntimeError(f"PutEvents refused it: {failure.get('ErrorCode')} {failure.get('ErrorMessage')}")
            return
        request: dict[str, Any] = {"QueueUrl": destination.target, "MessageBody": letter.body}
        attributes = _carried_attributes(letter.attributes)
        if attributes:
            request["MessageAttributes"] = attributes
        if destination.target.endswith(".fifo"):
            request["MessageGroupId"] = letter.event_id or letter.message_id
            request["MessageDeduplicationId"] = f"redrive-{letter.message_id}"[:128]
        client("sqs").send_message(**request)

    # ------------------------------------------------------------------------------------------------ purge
    def purge(self, queue: str) -> int:
        """Delete every message of the DLQ (PurgeQueue); returns how many it held."""
        url = self.url(queue)
        visible, in_flight = self._depth(url)
        sqs = client("sqs")
        try:
            sqs.purge_queue(QueueUrl=url)
        except sqs.exceptions.PurgeQueueInProgress as exc:
            raise DeadLetterOpsError(f"{_queue_name(url)}: a purge is already in progress (one a minute)") from exc
        return visible + in_flight

    # ------------------------------------------------------------------------------------------------ queues
    def url(self, queue: str, *, dlq: bool = True) -> str:
        """A queue's URL from its URL, ARN, name, or name without the stack prefix (`projector-dlq`). With `dlq`,
        only a dead-letter queue of the stack is accepted (a purge of a source queue by mistake is refused)."""
        name = _queue_name(queue)
        if not name.startswith(f"{self.prefix}-"):
            name = f"{self.prefix}-{name}"
        if dlq and not name.endswith(DLQ_SUFFIX):
            raise DeadLetterOpsError(f"{name} is not a dead-letter queue (their names end in {DLQ_SUFFIX})")
        if queue.startswith(("https://", "http://")) and _queue_name(queue) == name:
            return queue
        if name not in self._urls:
            sqs = client("sqs")
            try:
                self._urls[name] = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            except sqs.exceptions.QueueDoesNotExist as exc:
                raise DeadLetterOpsError(f"no queue {name} (see 'distrosync dlq list')") from exc
        return self._urls[name]

    def _depth(self, url: str) -> tuple[int, int]:
        attrs = client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attrs.get("ApproximateNumberOfMessages", 0)), int(
            attrs.get("ApproximateNumberOfMessagesNotVisible", 0)
        )

    def _sources(self, url: str) -> list[str]:
        pages = client("sqs").get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=url)
        return sorted(_queue_name(u) for page in pages for u in page.get("queueUrls", []))

    def _single_source(self, url: str) -> str | None:
        """The queue a story-less message came from, when only one queue dead-letters into the DLQ."""
        sources = self._sources(url)
        return sources[0] if len(sources) == 1 else None


class _Scan:
    """Receives every message of a queue once, holding each (visibility `HOLD_SECONDS`, extended while the scan
    lasts) so that the next receive returns the others; on exit releases whatever it still holds."""

    def __init__(self, sqs: Any, url: str, hold_seconds: int = HOLD_SECONDS) -> None:
        self.sqs, self.url, self.hold_seconds = sqs, url, hold_seconds
        self.held: dict[str, str] = {}  # message id -> receipt handle
        self.seen: set[str] = set()
        self._held_at = time.monotonic()

    def __enter__(self) -> _Scan:
        return self

    def __exit__(self, *exc: object) -> None:
        self._change_visibility(0)

    def messages(self) -> Iterator[dict[str, Any]]:
        patient = False
        while True:
            self.keep_alive()
            batch = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=_MAX_RECEIVE,
                VisibilityTimeout=self.hold_seconds,
                WaitTimeSeconds=1 if patient else 0,
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in self.seen]
            for m in batch:
                self.held[m["MessageId"]] = m["ReceiptHandle"]
            if not fresh:
                # A short poll may miss messages on some SQS servers: one long poll before concluding.
                if patient or not self._more_visible():
                    return
                patient = True
                continue
            patient = False
            for m in fresh:
                self.seen.add(m["MessageId"])
                yield m

    def keep_alive(self) -> None:
        """Extend the hold on every message held, once half of it has gone by."""
        if self.held and time.monotonic() - self._held_at > self.hold_seconds / 2:
            self._change_visibility(self.hold_seconds)

    def delete(self, message_id: str) -> None:
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=self.held[message_id])
        del self.held[message_id]

    def _more_visible(self) -> bool:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attrs["Attributes"].get("ApproximateNumberOfMessages", 0)) > 0

    def _change_visibility(self, seconds: int) -> None:
        handles = list(self.held.items())
        for start in range(0, len(handles), _MAX_RECEIVE):
            chunk = handles[start : start + _MAX_RECEIVE]
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                    for i, (_, handle) in enumerate(chunk)
                ],
            )
        if seconds == 0:
            self.held.clear()
        self._held_at = time.monotonic()


class _Pace:
    """At most `rate` sends a second (None: no limit)."""

    def __init__(self, rate: float | None, sleep: Callable[[float], None]) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.sleep = sleep
        self.next_at: float | None = None

    def wait(self) -> None:
        now = time.monotonic()
        if self.next_at is not None and now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


# ------------------------------------------------------------------------------------------------------ helpers
def _story(message_attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    raw = (message_attributes.get(STORY_ATTRIBUTE) or {}).get("StringValue")
    if not raw:
        return None
    try:
        story = json.loads(raw)
    except ValueError:
        return None
    return story if isinstance(story, dict) else None


def _event_of(body: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the EventBridge event, its detail: the envelope) of a body; a bare envelope is its own detail."""
    try:
        doc = json.loads(body)
    except ValueError:
        return {}, {}
    if not isinstance(doc, dict):
        return {}, {}
    detail = doc.get("detail")
    if isinstance(detail, dict):
        return doc, detail
    return doc, doc if "type" in doc else {}


def _bus_error(message_attributes: Mapping[str, Any]) -> str | None:
    """EventBridge's reason on a target DLQ message (ERROR_CODE, ERROR_MESSAGE attributes)."""
    code = (message_attributes.get("ERROR_CODE") or {}).get("StringValue")
    text = (message_attributes.get("ERROR_MESSAGE") or {}).get("StringValue")
    return ": ".join(p for p in (code, text) if p) or None


def _bus_of(message_attributes: Mapping[str, Any]) -> str | None:
    """The bus of the rule named by RULE_ARN (`...:rule/<bus>/<rule>`; `rule/<rule>` is the default bus)."""
    arn = (message_attributes.get("RULE_ARN") or {}).get("StringValue") or ""
    path = arn.partition(":rule/")[2]
    return path.split("/")[0] if path.count("/") == 1 else None


def _carried_attributes(message_attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The message attributes a redriven message keeps: not its story, not a past partner wait, nor
    EventBridge's delivery error."""
    dropped = {STORY_ATTRIBUTE, ATTEMPTS_ATTRIBUTE, "ERROR_CODE", "ERROR_MESSAGE", "RULE_ARN", "TARGET_ARN"}
    carried = {}
    for name, value in message_attributes.items():
        if name in dropped:
            continue
        carried[name] = {k: value[k] for k in ("DataType", "StringValue", "BinaryValue") if k in value}
    return carried


def _queue_name(queue: str | None) -> str | None:
    """The name in a queue URL or ARN (or a name)."""
    if not queue:
        return None
    if queue.startswith("arn:"):
        return queue.rsplit(":", 1)[-1]
    return queue.rstrip("/").rsplit("/", 1)[-1]


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _from_millis(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC) if value else None
    except (TypeError, ValueError):
        return None


def _from_iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _now() -> datetime:
    return datetime.now(UTC)
