"""DynamoDB Streams event-source mappings with Lambda's semantics, reading moto's streams for in-process functions.

moto stores a table's stream (GetShardIterator/GetRecords work) but never invokes anything from it, so the runtime
polls. For each `AWS::Lambda::EventSourceMapping` whose source is the stream of one of the stack's tables:

- records are read in order from every shard (`TRIM_HORIZON` or `LATEST`, taken when the runtime starts);
- records that match none of the mapping's `FilterCriteria` patterns are dropped (checkpointed past) before
  batching, as Lambda does; the patterns see the record as the function would (`dynamodb.NewImage.outbox.B`...);
- batches of up to `BatchSize` records are built in Lambda's event shape (`Records[]` with eventID, eventName,
  eventVersion, eventSource `aws:dynamodb`, awsRegion, `dynamodb` with ApproximateCreationDateTime in epoch
  seconds, Keys, NewImage/OldImage per the view type, SequenceNumber, SizeBytes, StreamViewType, and
  eventSourceARN; binary values base64 text);
- a shard's records are processed strictly in order: a failed batch blocks its shard until it succeeds or is
  discarded. A function error retries the batch; with `BisectBatchOnFunctionError` a batch of several records is
  split in two first (splitting consumes no retry, as in Lambda). With `ReportBatchItemFailures`, the records
  before the lowest reported `SequenceNumber` are checkpointed and the rest retried (an invalid response fails the
  whole batch). After `MaximumRetryAttempts` retries (-1: unlimited), or once its oldest record is older than
  `MaximumRecordAgeInSeconds`, the batch is discarded and, with an SQS `DestinationConfig.OnFailure`, Lambda's
  failure record (`DDBStreamBatchInfo`) is sent there.

`drain` polls until every shard is read to its end and nothing is left to retry.
"""

from __future__ import annotations

import base64
import copy
import json
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.events.models import EventPattern

from local.aws_clients import AwsClients
from local.functions import FunctionHost, Invocation
from local.provision import ProvisionedResource, ProvisionedStack
from local.queues import QueueDirectory
from local.sqs_mappings import BatchOutcome, DrainReport

DEFAULT_BATCH_SIZE = 100  # Lambda's default for DynamoDB Streams
READ_LIMIT = 1000  # GetRecords' maximum
UNLIMITED = -1


@dataclass(frozen=True)
class StreamMapping:
    logical_id: str
    uuid: str
    function: str
    function_arn: str
    stream_arn: str
    table_name: str
    batch_size: int
    starting_position: str
    report_batch_item_failures: bool
    bisect_on_error: bool
    max_retry_attempts: int
    max_record_age_seconds: int
    on_failure_queue_url: str | None
    enabled: bool
    filters: tuple[str, ...] = ()

    @classmethod
    def from_resource(
        cls, res: ProvisionedResource, host: FunctionHost, stack: ProvisionedStack, queues: QueueDirectory
    ) -> StreamMapping | None:
        """The mapping, or None when its source is not the stream of one of the stack's tables."""
        source = str(res.properties.get("EventSourceArn", ""))
        table = next(
            (t for t in stack.of_type("AWS::DynamoDB::Table") if t.attributes.get("StreamArn") == source), None
        )
        if not source or table is None:
            return None
        props = res.properties
        criteria = (props.get("FilterCriteria") or {}).get("Filters") or []
        destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        queue = queues.find(str(destination)) if destination else None
        if destination and queue is None:
            raise ValueError(f"{res.logical_id}: on-failure destination {destination} is not a queue of the stack")
        spec = host.get(str(props["FunctionName"]))
        return cls(
            logical_id=res.logical_id,
            uuid=str(res.ref),
            function=spec.key,
            function_arn=spec.arn,
            stream_arn=source,
            table_name=str(table.ref),
            batch_size=int(props.get("BatchSize", DEFAULT_BATCH_SIZE)),
            starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
            report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            bisect_on_error=props.get("BisectBatchOnFunctionError") in (True, "true"),
            max_retry_attempts=int(props.get("MaximumRetryAttempts", UNLIMITED)),
            max_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", UNLIMITED)),
            on_failure_queue_url=queue.url if queue else None,
            enabled=props.get("Enabled", True) not in (False, "false"),
            filters=tuple(str(f["Pattern"]) for f in criteria if f.get("Pattern")),
        )


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    retries: int = 0


@dataclass
class _Shard:
    """Where a mapping is in one shard: the next iterator, records read and not yet checkpointed, and the
    batches being retried (a split batch's halves, first half on top)."""

    shard_id: str
    iterator: str | None
    buffer: deque[dict[str, Any]] = field(default_factory=deque)
    retrying: list[_Batch] = field(default_factory=list)
    exhausted: bool = False  # the last GetRecords returned nothing

    @property
    def idle(self) -> bool:
        return self.exhausted and not self.buffer and not self.retrying


class StreamPoller:
    """Polls the template's DynamoDB Streams event-source mappings and dispatches batches to in-process functions."""

    def __init__(self, mappings: Iterable[StreamMapping], host: FunctionHost, clients: AwsClients) -> None:
        self.mappings = [m for m in mappings if m.enabled]
        self.host = host
        self.clients = clients
        self.region = clients.region
        self._patterns = {m.logical_id: [EventPattern.load(p) for p in m.filters] for m in self.mappings}
        self._shards: dict[str, list[_Shard]] = {m.logical_id: self._open(m) for m in self.mappings}

    def positions(self) -> dict[str, list[_Shard]]:
        """Where each mapping is in each shard (a copy), for `restore` on a poller of the same stack."""
        return copy.deepcopy(self._shards)

    def restore(self, positions: dict[str, list[_Shard]]) -> None:
        self._shards = {k: v for k, v in copy.deepcopy(positions).items() if k in self._shards}

    # -- polling
    def poll(self, mapping: StreamMapping) -> BatchOutcome:
        """At most one invocation per shard: read what is new, then run the shard's next batch."""
        outcome = BatchOutcome()
        for shard in self._shards[mapping.logical_id]:
            self._read(mapping, shard, outcome)
            self._run(mapping, shard, outcome)
        return outcome

    def poll_round(self, report: DrainReport | None = None) -> DrainReport:
        report = report or DrainReport()
        report.rounds += 1
        for mapping in self.mappings:
            report.add(mapping, self.poll(mapping))  # type: ignore[arg-type]  # DrainReport reads .function only
        return report

    def idle(self) -> bool:
        return all(s.idle for shards in self._shards.values() for s in shards)

    def drain(self, max_rounds: int = 1000, timeout: float = 60.0) -> DrainReport:
        """Poll every mapping until each shard is read to its end with nothing left to retry."""
        started = time.monotonic()
        report = DrainReport()
        while report.rounds < max_rounds and time.monotonic() - started < timeout:
            self.poll_round(report)
            if self.idle():
                report.drained = True
                break
        report.seconds = time.monotonic() - started
        return report

    # -- reading
    def _open(self, mapping: StreamMapping) -> list[_Shard]:
        streams = self.clients("dynamodbstreams")
        description = streams.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"]
        iterator_type = "LATEST" if mapping.starting_position == "LATEST" else "TRIM_HORIZON"
        return [
            _Shard(
                shard_id=shard["ShardId"],
                iterator=streams.get_shard_iterator(
                    StreamArn=mapping.stream_arn, ShardId=shard["ShardId"], ShardIteratorType=iterator_type
                )["ShardIterator"],
            )
            for shard in description.get("Shards", [])
        ]

    def _read(self, mapping: StreamMapping, shard: _Shard, outcome: BatchOutcome) -> None:
        streams = self.clients("dynamodbstreams")
        while shard.iterator is not None:
            response = streams.get_records(ShardIterator=shard.iterator, Limit=READ_LIMIT)
            shard.iterator = response.get("NextShardIterator")
            raw = response.get("Records", [])
            for record in (self._record(mapping, r) for r in raw):
                outcome.received += 1
                if self._matches(mapping, record):
                    shard.buffer.append(record)
                else:
                    outcome.filtered += 1
            if len(raw) < READ_LIMIT:
                shard.exhausted = not raw
                break

    def _record(self, mapping: StreamMapping, raw: Mapping[str, Any]) -> dict[str, Any]:
        """GetRecords' record (boto3 types) -> the record in Lambda's event (JSON types)."""
        stream = raw["dynamodb"]
        created = stream.get("ApproximateCreationDateTime")
        body: dict[str, Any] = {
            "ApproximateCreationDateTime": float(int(created.timestamp() if isinstance(created, datetime) else created))
            if created is not None
            else float(int(time.time())),
            "Keys": _image(stream["Keys"]),
        }
        for image in ("NewImage", "OldImage"):
            if image in stream:
                body[image] = _image(stream[image])
        body.update(
            {
                "SequenceNumber": str(stream["SequenceNumber"]),
                "SizeBytes": int(stream["SizeBytes"]),
                "StreamViewType": stream["StreamViewType"],
            }
        )
        return {
            "eventID": raw.get("eventID") or uuid.uuid4().hex,
            "eventName": raw["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": self.region,
            "dynamodb": body,
            "eventSourceARN": mapping.stream_arn,
        }

    def _matches(self, mapping: StreamMapping, record: dict[str, Any]) -> bool:
        patterns = self._patterns[mapping.logical_id]
        return not patterns or any(p.matches_event(record) for p in patterns)

    # -- running
    def _run(self, mapping: StreamMapping, shard: _Shard, outcome: BatchOutcome) -> None:
        if not shard.retrying:
            if not shard.buffer:
                return
            shard.retrying.append(_Batch([shard.buffer[i] for i in range(min(mapping.batch_size, len(shard.buffer)))]))
        batch = shard.retrying[-1]
        if self._too_old(mapping, batch):
            self._discard(mapping, shard, batch, "RecordAgeExceeded", None, outcome)
            return
        invocation = self.host.invoke(mapping.function, {"Records": batch.records})
        outcome.invocation = invocation
        failed_from = self._first_failed(mapping, invocation, batch.records)
        succeeded = batch.records[:failed_from]
        self._checkpoint(shard, len(succeeded))
        outcome.succeeded += len(succeeded)
        if failed_from == len(batch.records):
            shard.retrying.pop()
            return
        remaining = batch.records[failed_from:]
        outcome.failed += len(remaining)
        if not invocation.ok and mapping.bisect_on_error and len(remaining) > 1:
            half = (len(remaining) + 1) // 2
            shard.retrying[-1:] = [_Batch(remaining[half:], batch.retries), _Batch(remaining[:half], batch.retries)]
            return
        if mapping.max_retry_attempts != UNLIMITED and batch.retries >= mapping.max_retry_attempts:
            self._discard(
                mapping, shard, _Batch(remaining, batch.retries), "RetryAttemptsExhausted", invocation, outcome
            )
            return
        shard.retrying[-1] = _Batch(remaining, batch.retries + 1)

    def _first_failed(self, mapping: StreamMapping, invocation: Invocation, records: list[dict[str, Any]]) -> int:
        """Index of the first record to retry (len(records): none), following Lambda's partial batch rules."""
        if not invocation.ok:
            return 0
        if not mapping.report_batch_item_failures:
            return len(records)
        response = invocation.payload
        if response is None or response == {}:
            return len(records)
        if not isinstance(response, dict):
            return 0
        failures = response.get("batchItemFailures")
        if failures is None or failures == []:
            return len(records)
        if not isinstance(failures, list):
            return 0
        sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
        positions = []
        for item in failures:
            identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not isinstance(identifier, str) or identifier not in sequence:
                return 0  # empty, null, misnamed or unknown identifier: the whole batch failed
            positions.append(sequence.index(identifier))
        return min(positions)

    @staticmethod
    def _checkpoint(shard: _Shard, count: int) -> None:
        """The first `count` records not yet checkpointed are done."""
        for _ in range(count):
            shard.buffer.popleft()

    @staticmethod
    def _too_old(mapping: StreamMapping, batch: _Batch) -> bool:
        if mapping.max_record_age_seconds == UNLIMITED:
            return False
        oldest = min(r["dynamodb"]["ApproximateCreationDateTime"] for r in batch.records)
        return time.time() - oldest > mapping.max_record_age_seconds

    def _discard(
        self,
        mapping: StreamMapping,
        shard: _Shard,
        batch: _Batch,
        condition: str,
        invocation: Invocation | None,
        outcome: BatchOutcome,
    ) -> None:
        """Skip the batch's records; tell the on-failure destination what was skipped, as Lambda does."""
        shard.retrying.pop()
        self._checkpoint(shard, len(batch.records))
        if mapping.on_failure_queue_url is None:
            return
        self.clients("sqs").send_message(
            QueueUrl=mapping.on_failure_queue_url,
            MessageBody=json.dumps(self._failure_record(mapping, shard, batch, condition, invocation)),
        )

    def _failure_record(
        self, mapping: StreamMapping, shard: _Shard, batch: _Batch, condition: str, invocation: Invocation | None
    ) -> dict[str, Any]:
        first, last = batch.records[0]["dynamodb"], batch.records[-1]["dynamodb"]
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if invocation is not None and not invocation.ok:
            response["functionError"] = "Unhandled"
        return {
            "requestContext": {
                "requestId": invocation.request_id if invocation else str(uuid.uuid4()),
                "functionArn": mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": batch.retries + 1,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _iso(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _iso(last["ApproximateCreationDateTime"]),
                "batchSize": len(batch.records),
                "streamArn": mapping.stream_arn,
            },
        }


def _image(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _value(value) for name, value in item.items()}


def _value(value: Mapping[str, Any]) -> dict[str, Any]:
    """An attribute value as boto3 returns it (bytes for binaries) -> as Lambda's JSON event carries it."""
    (kind, content), *_ = value.items()
    if kind == "B":
        return {"B": _b64(content)}
    if kind == "BS":
        return {"BS": [_b64(b) for b in content]}
    if kind == "L":
        return {"L": [_value(v) for v in content]}
    if kind == "M":
        return {"M": _image(content)}
    if kind in ("SS", "NS"):
        return {kind: list(content)}
    return {kind: content}


def _b64(content: Any) -> str:
    raw = content if isinstance(content, bytes | bytearray) else bytes(getattr(content, "value", content))
    return base64.b64encode(raw).decode()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"
