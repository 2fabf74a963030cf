"""SQS event-source mappings with Lambda's semantics, polling moto's queues for in-process functions.

moto's own mappings call a function one record at a time and ignore `batchItemFailures`, so the runtime
polls instead. For each `AWS::Lambda::EventSourceMapping` whose source is a queue of the stack, a poll:

- receives up to `BatchSize` messages (several receives of at most 10; `MaximumBatchingWindowInSeconds`
  only means "take what is there"), with all system and message attributes;
- drops (deletes) messages that match none of the mapping's `FilterCriteria` patterns, as Lambda does;
- builds the SQS event exactly as Lambda does (`Records[]` with messageId, receiptHandle, body, attributes,
  messageAttributes in Lambda's shape, md5OfBody, eventSource, eventSourceARN, awsRegion) and invokes;
- deletes what succeeded: with `ReportBatchItemFailures`, every record except the `batchItemFailures`
  identifiers; a function error, or an invalid response, fails the whole batch;
- leaves failed messages as the function left them when it set their visibility itself (the consumer's
  backoff, shared/aws/consumer.py: Lambda never touches it); the others become visible again after
  `retry_delay_seconds` (the queue's visibility timeout, shortened by configuration; 0 by default so tests are
  fast). moto moves a message to the queue's dead-letter queue on the receive after `maxReceiveCount`
  receives, as SQS does.

`drain` pumps every mapping until all source queues are empty, waiting (within its timeout) for messages that
are delayed or invisible.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.events.models import EventPattern

from local.aws_clients import AwsClients
from local.functions import FunctionHost, Invocation
from local.provision import ProvisionedResource
from local.queues import QueueDirectory, QueueRef

MAX_RECEIVE = 10
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
)


@dataclass(frozen=True)
class SqsMapping:
    logical_id: str
    uuid: str
    function: str
    queue: QueueRef
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool
    filters: tuple[str, ...] = ()

    @classmethod
    def from_resource(cls, res: ProvisionedResource, host: FunctionHost, queues: QueueDirectory) -> SqsMapping | None:
        """The mapping, or None when its source is not one of the stack's queues (streams, Kafka, ...)."""
        source = str(res.properties.get("EventSourceArn", ""))
        queue = queues.find(source) if source.startswith("arn:aws:sqs:") else None
        if queue is None:
            return None
        props = res.properties
        criteria = (props.get("FilterCriteria") or {}).get("Filters") or []
        return cls(
            logical_id=res.logical_id,
            uuid=str(res.ref),
            function=host.get(str(props["FunctionName"])).key,
            queue=queue,
            batch_size=int(props.get("BatchSize", 10)),
            report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            enabled=props.get("Enabled", True) not in (False, "false"),
            filters=tuple(str(f["Pattern"]) for f in criteria if f.get("Pattern")),
        )


@dataclass
class BatchOutcome:
    received: int = 0
    succeeded: int = 0
    failed: int = 0
    filtered: int = 0
    invocation: Invocation | None = None


@dataclass
class DrainReport:
    """What `drain` did. `invocations` counts per function key (e.g. `projector`)."""

    rounds: int = 0
    received: int = 0
    invocations: Counter[str] = field(default_factory=Counter)
    ok_records: int = 0
    failed_records: int = 0
    filtered_records: int = 0
    function_errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    drained: bool = False

    def add(self, mapping: SqsMapping, outcome: BatchOutcome) -> None:
        self.received += outcome.received
        self.ok_records += outcome.succeeded
        self.failed_records += outcome.failed
        self.filtered_records += outcome.filtered
        if outcome.invocation is not None:
            self.invocations[mapping.function] += 1
            if not outcome.invocation.ok:
                self.function_errors[mapping.function] += 1

    def __str__(self) -> str:
        calls = ", ".join(f"{name} x{count}" for name, count in sorted(self.invocations.items())) or "none"
        state = "queues empty" if self.drained else "NOT drained"
        return (
            f"drained in {self.seconds:.2f}s ({self.rounds} rounds): invocations {calls}; records ok "
            f"{self.ok_records}, failed {self.failed_records}, filtered {self.filtered_records}; {state}"
        )


class SqsPoller:
    """Polls the template's SQS event-source mappings and dispatches batches to in-process functions."""

    def __init__(
        self,
        mappings: Iterable[SqsMapping],
        host: FunctionHost,
        queues: QueueDirectory,
        clients: AwsClients,
        *,
        retry_delay_seconds: int = 0,
    ) -> None:
        self.mappings = [m for m in mappings if m.enabled]
        self.host = host
        self.queues = queues
        self.clients = clients
        self.region = clients.region
        self.retry_delay_seconds = retry_delay_seconds
        self._patterns = {m.logical_id: [EventPattern.load(p) for p in m.filters] for m in self.mappings}

    def poll(self, mapping: SqsMapping) -> BatchOutcome:
        """One batch: receive, filter, invoke, delete the successes, release the failures."""
        messages = self._receive(mapping)
        outcome = BatchOutcome(received=len(messages))
        if not messages:
            return outcome
        kept, dropped = [], []
        for message in messages:
            record = self._record(mapping, message)
            (kept if self._matches(mapping, record) else dropped).append(record)
        outcome.filtered = len(dropped)
        self._delete(mapping.queue, dropped)
        if not kept:
            return outcome
        handles = {r["receiptHandle"] for r in kept}
        received = _visible_at(mapping.queue, handles)
        invocation = self.host.invoke(mapping.function, {"Records": kept})
        outcome.invocation = invocation
        failed_ids = self._failed_ids(mapping, invocation, [r["messageId"] for r in kept])
        failed = [r for r in kept if r["messageId"] in failed_ids]
        succeeded = [r for r in kept if r["messageId"] not in failed_ids]
        self._delete(mapping.queue, succeeded)
        released = failed
        if received is not None:  # what the function set itself stays as it is
            now = _visible_at(mapping.queue, {r["receiptHandle"] for r in failed}) or {}
            released = [r for r in failed if now.get(r["receiptHandle"]) == received.get(r["receiptHandle"])]
        self._release(mapping.queue, released)
        outcome.succeeded, outcome.failed = len(succeeded), len(failed)
        return outcome

    def poll_round(self, report: DrainReport | None = None) -> DrainReport:
        """One batch from every mapping (what the background pump of `serve` repeats)."""
        report = report or DrainReport()
        report.rounds += 1
        for mapping in self.mappings:
            report.add(mapping, self.poll(mapping))
        return report

    def drain(self, max_rounds: int = 1000, timeout: float = 60.0) -> DrainReport:
        """Poll every mapping until all their queues are empty (or `max_rounds`/`timeout` is reached)."""
        started = time.monotonic()
        report = DrainReport()
        sources = {m.queue.url: m.queue for m in self.mappings}.values()
        while report.rounds < max_rounds and time.monotonic() - started < timeout:
            received_before = report.received
            self.poll_round(report)
            if report.received > received_before:
                continue
            if all(sum(self.queues.depth(q)) == 0 for q in sources):
                report.drained = True
                break
            time.sleep(0.05)  # messages still invisible (retry delay) or delayed
        report.seconds = time.monotonic() - started
        return report

    # -- receive and the event shape
    def _receive(self, mapping: SqsMapping) -> list[dict[str, Any]]:
        sqs = self.clients("sqs")
        messages: list[dict[str, Any]] = []
        while len(messages) < mapping.batch_size:
            response = sqs.receive_message(
                QueueUrl=mapping.queue.url,
                MaxNumberOfMessages=min(MAX_RECEIVE, mapping.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            batch = response.get("Messages", [])
            messages.extend(batch)
            if len(batch) < MAX_RECEIVE:
                break
        return messages

    def _record(self, mapping: SqsMapping, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {k: attributes[k] for k in _RECORD_ATTRIBUTES if k in attributes},
            "messageAttributes": {
                name: _lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        record.update({"eventSource": "aws:sqs", "eventSourceARN": mapping.queue.arn, "awsRegion": self.region})
        return record

    def _matches(self, mapping: SqsMapping, record: dict[str, Any]) -> bool:
        patterns = self._patterns[mapping.logical_id]
        if not patterns:
            return True
        subject = dict(record)
        try:  # a JSON body is filtered on its fields, as Lambda does
            body = json.loads(record["body"])
            if isinstance(body, dict):
                subject["body"] = body
        except ValueError:
            pass
        return any(p.matches_event(subject) for p in patterns)

    # -- outcome
    @staticmethod
    def _failed_ids(mapping: SqsMapping, invocation: Invocation, batch_ids: list[str]) -> set[str]:
        """Which records failed, following Lambda's rules for partial batch responses."""
        if not invocation.ok:
            return set(batch_ids)
        if not mapping.report_batch_item_failures:
            return set()
        response = invocation.payload
        if response is None or response == {}:
            return set()
        if not isinstance(response, dict):
            return set(batch_ids)  # not a valid response: the whole batch failed
        failures = response.get("batchItemFailures")
        if failures is None or failures == []:
            return set()
        if not isinstance(failures, list):
            return set(batch_ids)
        ids = set()
        for item in failures:
            identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not isinstance(identifier, str) or identifier not in batch_ids:
                return set(batch_ids)  # empty, null, misnamed or unknown identifier: the whole batch failed
            ids.add(identifier)
        return ids

    def _delete(self, queue: QueueRef, records: list[dict[str, Any]]) -> None:
        sqs = self.clients("sqs")
        for chunk in _chunks(records, MAX_RECEIVE):
            sqs.delete_message_batch(
                QueueUrl=queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )

    def _release(self, queue: QueueRef, records: list[dict[str, Any]]) -> None:
        sqs = self.clients("sqs")
        for chunk in _chunks(records, MAX_RECEIVE):
            sqs.change_message_visibility_batch(
                QueueUrl=queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": self.retry_delay_seconds}
                    for i, r in enumerate(chunk)
                ],
            )


def _visible_at(queue: QueueRef, handles: set[str]) -> dict[str, float] | None:
    """When each message (by receipt handle) becomes visible again, read from moto's backend in this process;
    None when the queue is not there (a moto server of another process), so the caller cannot tell."""
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = queue.arn.split(":", 5)
    try:
        backend_queue = sqs_backends[account][region].queues.get(name)
    except KeyError:
        return None
    if backend_queue is None:
        return None
    return {m.receipt_handle: m.visible_at for m in list(backend_queue._messages) if m.receipt_handle in handles}


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS API shape (`StringValue`, `BinaryValue` bytes) -> Lambda's (`stringValue`, base64 `binaryValue`)."""
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        out["binaryValue"] = base64.b64encode(raw if isinstance(raw, bytes) else str(raw).encode()).decode()
    out["stringListValues"] = list(value.get("StringListValues", []))
    out["binaryListValues"] = [base64.b64encode(b).decode() for b in value.get("BinaryListValues", [])]
    out["dataType"] = value["DataType"]
    return out


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
