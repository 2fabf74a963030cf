"""The one SQS consumer every SQS-fed function runs its batch through (docs/reliability.md, "SQS consumers").

Records go through Powertools' `BatchProcessor` (partial batch responses); every failed record is then settled
by the class of its error (`shared.domain.failures.classify`):

- permanent (validation, missing reference): sent to its DLQ with its story (`distrosync-dead-letter`) and
  reported processed; if that send fails, reported failed (SQS keeps it);
- transient: reported failed, its visibility set to a full-jitter backoff (one ChangeMessageVisibilityBatch per
  queue); on its last attempt it is dead-lettered here, with its story, before SQS would move it without one;
- partner unavailable: re-sent to its source queue with a delay, its attempts travelling in `distrosync-attempts`,
  the original acknowledged; after `partner_wait_hours` it is dead-lettered;
- duplicate: acknowledged and counted.

The function learns its DLQs from `DEAD_LETTERS` (written by infra/flow.py):
`{"<source queue name>": {"dlq": "<DLQ URL>", "queue": "<source queue URL>", "max_receive_count": N}}`.
"""

from __future__ import annotations

import base64
import json
import math
import os
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.aws.clients import client
from shared.canonical.business_keys import primary_business_key
from shared.domain.batching import chunks_within
from shared.domain.failures import ClassifiedError, FailureClass, InvalidMessage, classify, describe
from shared.observability import MetricUnit, logger, metrics

DEAD_LETTER_ATTRIBUTE = "distrosync-dead-letter"
ATTEMPTS_ATTRIBUTE = "distrosync-attempts"
MAX_MESSAGE_BYTES = 256 * 1024  # SQS: body plus every message attribute's name, type and value
MAX_DELAY_SECONDS = 900  # SQS DelaySeconds
MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS: a message's visibility, counted from its receive
MAX_BATCH_ENTRIES = 10
ERROR_LIMIT = 1000
_OWN_ATTRIBUTES = (DEAD_LETTER_ATTRIBUTE, ATTEMPTS_ATTRIBUTE)
_CORE_STORY_FIELDS = ("error_class", "handler", "attempts", "first_failure_at", "last_failure_at", "message_id")

T = TypeVar("T")


@dataclass(frozen=True)
class DeadLetterTarget:
    """Where the messages of one source queue go when they fail for good."""

    dlq_url: str
    queue_url: str
    max_receive_count: int


@dataclass(frozen=True)
class ConsumerSettings:
    dead_letters: Mapping[str, DeadLetterTarget]  # by source queue name
    retry_base_seconds: float = 2.0
    retry_max_seconds: int = 300
    partner_wait_hours: float = 72.0

    @classmethod
    def from_env(cls) -> ConsumerSettings:
        raw = json.loads(os.environ.get("DEAD_LETTERS") or "{}")
        return cls(
            dead_letters={
                name: DeadLetterTarget(
                    dlq_url=str(entry["dlq"]),
                    queue_url=str(entry.get("queue", "")),
                    max_receive_count=int(entry["max_receive_count"]),
                )
                for name, entry in raw.items()
            },
            retry_base_seconds=float(os.environ.get("RETRY_BASE_SECONDS", "2")),
            retry_max_seconds=int(os.environ.get("RETRY_MAX_SECONDS", "300")),
            partner_wait_hours=float(os.environ.get("PARTNER_WAIT_HOURS", "72")),
        )


class BatchStepFailed(ClassifiedError):
    """A record that succeeded alone but whose batch's completion (a shared refresh, a publication) failed."""

    failure_class = FailureClass.INTERNAL


def parse_body(parse: Callable[[str], T], record: SQSRecord) -> T:
    """`parse(record.body)`; a body it cannot read is a validation failure (dead-lettered at once), logged and
    counted (`Unprocessable`)."""
    try:
        return parse(record.body)
    except (ValueError, TypeError, KeyError, AssertionError) as exc:
        logger.error("unprocessable message", extra={"message_id": record.message_id, "error": describe(exc)})
        metrics.add_metric(name="Unprocessable", unit=MetricUnit.Count, value=1)
        raise InvalidMessage(describe(exc)) from exc


def full_jitter_seconds(attempt: int, base: float, cap: float) -> int:
    """A wait drawn uniformly from [0, min(cap, base * 2**(attempt-1))], rounded to whole seconds (SQS's unit)."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return round(random.uniform(0, ceiling)) if ceiling > 0 else 0


def utc_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass
class _Failure:
    """One failed record and what was decided for it."""

    record: dict[str, Any]
    error: BaseException
    error_class: FailureClass
    attempts: int
    first_failure_at: datetime
    now: datetime
    action: str = ""  # dead_letter | retry | wait | duplicate
    delay: int = 0
    reported_failed: bool = False

    @property
    def message_id(self) -> str:
        return str(self.record["messageId"])

    @property
    def source_name(self) -> str:
        return str(self.record.get("eventSourceARN", "")).rsplit(":", 1)[-1]


@dataclass
class _Body:
    """What a body says about itself (an EventBridge event with a canonical envelope as its detail)."""

    correlation_id: str | None = None
    business_key: str | None = None
    event_id: str | None = None
    event_type: str | None = None

    @classmethod
    def read(cls, body: str) -> _Body:
        try:
            event = json.loads(body)
        except ValueError:
            return cls()
        if not isinstance(event, dict):
            return cls()
        detail = event.get("detail")
        if not isinstance(detail, dict):
            return cls()
        if isinstance(detail.get("type"), str):  # a canonical envelope (or its claim check), valid or not
            return cls(
                correlation_id=_text(detail.get("correlation_id")),
                business_key=primary_business_key(detail),
                event_id=_text(detail.get("id")) or _text(event.get("id")),
                event_type=_text(detail.get("type")),
            )
        return cls(event_id=_text(event.get("id")), event_type=_text(event.get("detail-type")))


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


@dataclass
class SqsConsumer:
    """Runs a batch through `record_handler` and settles its failures; see the module's docstring."""

    settings: ConsumerSettings | None = None
    processor: BatchProcessor = field(
        default_factory=lambda: BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    )

    def process(
        self,
        event: dict[str, Any],
        context: Any,
        record_handler: Callable[[SQSRecord], Any],
        *,
        complete: Callable[[set[str]], Iterable[str]] | None = None,
    ) -> dict[str, Any]:
        """The partial batch response for `event`. `complete(failed ids)`, when given, finishes the batch (work
        shared by its records) and returns the ids of records that must fail with it."""
        if self.settings is None:
            self.settings = ConsumerSettings.from_env()
        records = {str(r["messageId"]): r for r in event.get("Records", [])}
        process_partial_response(event=event, record_handler=record_handler, processor=self.processor, context=context)
        errors: dict[str, BaseException] = {}
        for message, info in zip(self.processor.fail_messages, self.processor.exceptions, strict=True):
            exc = info[1] if info[1] is not None else ClassifiedError("record failed without an exception")
            errors[str(message.message_id)] = exc
        if complete is not None:
            for message_id in complete(set(errors)):
                if message_id in records and message_id not in errors:
                    errors[message_id] = BatchStepFailed("its batch could not be completed (see the function's log)")
        handler = getattr(context, "function_name", None) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        failed = self.settle([(records[mid], exc) for mid, exc in errors.items() if mid in records], handler)
        return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failed]}

    # ------------------------------------------------------------------------------------------------ settle
    def settle(self, failures: list[tuple[dict[str, Any], BaseException]], handler: str) -> list[str]:
        """Decide and carry out what happens to each failed record; returns the ids to report failed."""
        settings = self.settings or ConsumerSettings.from_env()
        now = datetime.now(UTC)
        decided = [self._decide(record, exc, now, settings) for record, exc in failures]
        dead = [f for f in decided if f.action == "dead_letter"]
        waiting = [f for f in decided if f.action == "wait"]
        for failure in self._send_dead_letters(dead, handler, settings):
            failure.reported_failed = True
            failure.delay = full_jitter_seconds(
                failure.attempts, settings.retry_base_seconds, settings.retry_max_seconds
            )
        for failure in self._send_waits(waiting, settings):
            failure.reported_failed = True
        retried = [f for f in decided if f.action == "retry" or f.reported_failed]
        for failure in retried:
            failure.reported_failed = True
        self._change_visibility(retried, settings)
        for failure in decided:
            self._log(failure, handler)
        return [f.message_id for f in decided if f.reported_failed]

    def _decide(
        self, record: dict[str, Any], exc: BaseException, now: datetime, settings: ConsumerSettings
    ) -> _Failure:
        carried = _attempts_attribute(record)
        receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1") or 1)
        first = _parse_time(carried.get("first_failure_at"))
        if first is None:
            first_receive = (record.get("attributes") or {}).get("ApproximateFirstReceiveTimestamp")
            first = datetime.fromtimestamp(int(first_receive) / 1000, UTC) if receives > 1 and first_receive else now
        failure = _Failure(
            record=record,
            error=exc,
            error_class=classify(exc),
            attempts=int(carried.get("attempts", 0) or 0) + receives,
            first_failure_at=min(first, now),
            now=now,
        )
        target = settings.dead_letters.get(failure.source_name)
        cls = failure.error_class
        if cls.settled:
            failure.action = "duplicate"
        elif cls.permanent:
            failure.action = "dead_letter"
        elif cls is FailureClass.PARTNER_UNAVAILABLE:
            waited = now - failure.first_failure_at
            if waited >= timedelta(hours=settings.partner_wait_hours):
                failure.action = "dead_letter"
            else:
                failure.action = "wait"
                retry_after = getattr(exc, "retry_after_seconds", None)
                wait = (
                    math.ceil(float(retry_after))
                    if isinstance(retry_after, int | float) and retry_after > 0
                    else full_jitter_seconds(failure.attempts, settings.retry_base_seconds, settings.retry_max_seconds)
                )
                failure.delay = max(0, min(MAX_DELAY_SECONDS, wait))
        elif target is not None and receives >= target.max_receive_count:
            failure.action = "dead_letter"  # its last attempt: SQS would move it without its story
        else:
            failure.action = "retry"
            failure.delay = full_jitter_seconds(
                failure.attempts, settings.retry_base_seconds, settings.retry_max_seconds
            )
        if (failure.action == "dead_letter" and not (target and target.dlq_url)) or (
            failure.action == "wait" and not (target and target.queue_url)
        ):
            # Not a queue this function knows (DEAD_LETTERS): SQS's own redrive is all there is.
            failure.action = "retry"
            failure.delay = full_jitter_seconds(
                failure.attempts, settings.retry_base_seconds, settings.retry_max_seconds
            )
        return failure

    # ---------------------------------------------------------------------------------------------- SQS calls
    def _send_dead_letters(self, failures: list[_Failure], handler: str, settings: ConsumerSettings) -> list[_Failure]:
        """SendMessageBatch to each DLQ; returns the failures whose send did not succeed."""
        by_queue: dict[str, list[tuple[_Failure, dict[str, Any]]]] = {}
        for failure in failures:
            target = settings.dead_letters[failure.source_name]
            entry = {
                "MessageBody": failure.record["body"],
                "MessageAttributes": _story_attribute(story(failure, handler), failure.record["body"]),
            }
            by_queue.setdefault(target.dlq_url, []).append((failure, entry))
        return _send_batches(by_queue)

    def _send_waits(self, failures: list[_Failure], settings: ConsumerSettings) -> list[_Failure]:
        """Re-send each waiting message to its source queue with its delay; returns those not re-sent."""
        by_queue: dict[str, list[tuple[_Failure, dict[str, Any]]]] = {}
        unsent: list[_Failure] = []
        for failure in failures:
            attributes = _carried_attributes(failure.record)
            attributes[ATTEMPTS_ATTRIBUTE] = {
                "DataType": "String",
                "StringValue": json.dumps(
                    {
                        "attempts": failure.attempts,
                        "first_failure_at": utc_text(failure.first_failure_at),
                        "last_error": describe(failure.error, 300),
                    }
                ),
            }
            body = failure.record["body"]
            if _message_bytes(body, attributes) > MAX_MESSAGE_BYTES or len(attributes) > 10:
                unsent.append(failure)  # cannot carry its attempts: it waits by visibility instead
                continue
            entry = {"MessageBody": body, "MessageAttributes": attributes, "DelaySeconds": failure.delay}
            queue_url = settings.dead_letters[failure.source_name].queue_url
            by_queue.setdefault(queue_url, []).append((failure, entry))
        return unsent + _send_batches(by_queue)

    def _change_visibility(self, failures: list[_Failure], settings: ConsumerSettings) -> None:
        """One ChangeMessageVisibilityBatch per source queue (a batch holds at most 10 records)."""
        by_queue: dict[str, list[_Failure]] = {}
        for failure in failures:
            target = settings.dead_letters.get(failure.source_name)
            if target is not None and target.queue_url:
                by_queue.setdefault(target.queue_url, []).append(failure)
        sqs = client("sqs")
        for queue_url, items in by_queue.items():
            for chunk in _chunks(items, MAX_BATCH_ENTRIES):
                entries = [
                    {
                        "Id": str(i),
                        "ReceiptHandle": f.record["receiptHandle"],
                        "VisibilityTimeout": min(f.delay, MAX_VISIBILITY_SECONDS),
                    }
                    for i, f in enumerate(chunk)
                ]
                try:
                    response = sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
                except Exception as exc:  # the message comes back after the queue's visibility timeout instead
                    logger.warning("backoff not set", extra={"queue": queue_url, "error": describe(exc)})
                    continue
                for failed in response.get("Failed", []):
                    logger.warning("backoff not set", extra={"queue": queue_url, "entry": failed})

    # ---------------------------------------------------------------------------------------------- telling
    def _log(self, failure: _Failure, handler: str) -> None:
        body = _Body.read(failure.record["body"])
        if body.correlation_id:
            logger.set_correlation_id(body.correlation_id)
        extra = {
            "message_id": failure.message_id,
            "error_class": failure.error_class.value,
            "error": describe(_reported(failure.error), 300),
            "attempts": failure.attempts,
            "event_id": body.event_id,
            "event_type": body.event_type,
            "business_key": body.business_key,
        }
        if failure.action == "duplicate":
            metrics.add_metric(name="Duplicate", unit=MetricUnit.Count, value=1)
            logger.info("duplicate message acknowledged", extra=extra)
        elif failure.action == "dead_letter" and not failure.reported_failed:
            _count_dead_letter(failure.error_class)
            logger.error("message dead-lettered", extra=extra)
        elif failure.action == "wait" and not failure.reported_failed:
            metrics.add_metric(name="PartnerWait", unit=MetricUnit.Count, value=1)
            logger.warning("message waits for its partner", extra={**extra, "delay_seconds": failure.delay})
        else:
            metrics.add_metric(name="RetryScheduled", unit=MetricUnit.Count, value=1)
            logger.warning(
                "message will be retried",
                extra={**extra, "visibility_seconds": failure.delay, "decided": failure.action},
            )


def story(failure: _Failure, handler: str) -> dict[str, Any]:
    """The `distrosync-dead-letter` attribute of a dead letter (docs/reliability.md, "A dead letter's story")."""
    body = _Body.read(failure.record["body"])
    return {
        "error_class": failure.error_class.value,
        "error": describe(_reported(failure.error), ERROR_LIMIT),
        "handler": handler,
        "attempts": failure.attempts,
        "first_failure_at": utc_text(failure.first_failure_at),
        "last_failure_at": utc_text(failure.now),
        "correlation_id": body.correlation_id,
        "business_key": body.business_key,
        "event_id": body.event_id,
        "event_type": body.event_type,
        "source_queue": failure.record.get("eventSourceARN"),
        "message_id": failure.message_id,
    }


def _reported(exc: BaseException) -> BaseException:
    """The error a story names: the cause of an `InvalidMessage` (what could not be read, and why)."""
    if isinstance(exc, InvalidMessage) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


def _story_attribute(content: dict[str, Any], body: str) -> dict[str, Any]:
    """The story as a message attribute that fits SQS's size limit with the body: `error` is cut first, then
    only the core fields are kept; a body too large for even those goes without (never lost for a story)."""

    def attribute(value: dict[str, Any]) -> dict[str, Any]:
        return {DEAD_LETTER_ATTRIBUTE: {"DataType": "String", "StringValue": json.dumps(value)}}

    full = attribute(content)
    spare = MAX_MESSAGE_BYTES - _message_bytes(body, full)
    if spare >= 0:
        return full
    error = str(content.get("error") or "")
    room = len(error.encode()) + spare - 8  # JSON escaping and the ellipsis
    if room > 0:
        cut = attribute({**content, "error": error.encode()[:room].decode(errors="ignore") + "…"})
        if _message_bytes(body, cut) <= MAX_MESSAGE_BYTES:
            return cut
    core = attribute({k: content.get(k) for k in _CORE_STORY_FIELDS})
    if _message_bytes(body, core) <= MAX_MESSAGE_BYTES:
        return core
    logger.warning("dead letter too large for its story", extra={"message_id": content.get("message_id")})
    return {}


def _message_bytes(body: str, attributes: Mapping[str, Mapping[str, Any]]) -> int:
    size = len(body.encode())
    for name, value in attributes.items():
        size += len(name.encode()) + len(str(value["DataType"]).encode())
        if "StringValue" in value:
            size += len(str(value["StringValue"]).encode())
        if "BinaryValue" in value:
            size += len(value["BinaryValue"])
    return size


def _attempts_attribute(record: dict[str, Any]) -> dict[str, Any]:
    value = ((record.get("messageAttributes") or {}).get(ATTEMPTS_ATTRIBUTE) or {}).get("stringValue")
    try:
        carried = json.loads(value) if value else {}
    except ValueError:
        return {}
    return carried if isinstance(carried, dict) else {}


def _carried_attributes(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The record's message attributes (Lambda's shape) back in SendMessage's shape, without ours."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in (record.get("messageAttributes") or {}).items():
        if name in _OWN_ATTRIBUTES or not isinstance(value, dict):
            continue
        converted: dict[str, Any] = {"DataType": value.get("dataType", "String")}
        if value.get("stringValue") is not None:
            converted["StringValue"] = value["stringValue"]
        elif value.get("binaryValue") is not None:
            converted["BinaryValue"] = base64.b64decode(value["binaryValue"])
        else:
            continue
        out[name] = converted
    return out


def _send_batches(by_queue: dict[str, list[tuple[_Failure, dict[str, Any]]]]) -> list[_Failure]:
    """SendMessageBatch per queue, in chunks within 10 entries and 256 KB; returns the failures not sent."""
    sqs = client("sqs")
    unsent: list[_Failure] = []
    for queue_url, items in by_queue.items():
        for chunk in _size_chunks(items):
            entries = [{"Id": str(i), **entry} for i, (_, entry) in enumerate(chunk)]
            try:
                response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            except Exception as exc:
                logger.error("messages not sent", extra={"queue": queue_url, "error": describe(exc)})
                unsent.extend(f for f, _ in chunk)
                continue
            ok = {item["Id"] for item in response.get("Successful", [])}
            for i, (failure, _) in enumerate(chunk):
                if str(i) not in ok:
                    unsent.append(failure)
            for failed in response.get("Failed", []):
                logger.error("message not sent", extra={"queue": queue_url, "entry": failed})
    return unsent


def _size_chunks(items: list[tuple[_Failure, dict[str, Any]]]) -> list[list[tuple[_Failure, dict[str, Any]]]]:
    return chunks_within(
        items,
        lambda item: _message_bytes(item[1]["MessageBody"], item[1].get("MessageAttributes", {})),
        max_count=MAX_BATCH_ENTRIES,
        max_bytes=MAX_MESSAGE_BYTES,
    )


def _chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _count_dead_letter(error_class: FailureClass) -> None:
    """`DeadLettered` with an `error_class` dimension (kept apart from the function's other metrics)."""
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "distrosync")
    with single_metric(
        name="DeadLettered", unit=MetricUnit.Count, value=1, default_dimensions={"service": service}
    ) as metric:
        metric.add_dimension(name="error_class", value=error_class.value)
