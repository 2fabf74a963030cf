"""The stream publisher of record outboxes (ADR 0013, ADR 0016): what a writer left unpublished gets published.

A writer keeps its change's events on the record it writes (`outbox`) and removes them after PutEvents. When it
stops in between (a crash, a timeout, PutEvents failing), the events stay on the record. DynamoDB Streams hands
every new image that carries an outbox to this publisher, which:

1. reads the record again (consistent read): if it no longer carries that very outbox, the writer (or the next
   writer of the record) published it already, or a newer change replaced it and has its own stream record: skip;
2. publishes the envelopes (`shared.aws.bus.publish`: event ids unchanged, so a publication by both the writer and
   the publisher is a duplicate consumers drop);
3. removes the outbox (and `outbox_result`, which lives only while its outbox does) on condition that the record
   still carries the outbox it published (one UpdateItem). Conditioning on the outbox's own value, rather than a
   version, serves every table alike: purchasing documents are written once, lead times count `sequence`,
   goldens and demand lines `version`.

A record that fails stops the batch: it and everything after it are retried (stream order is kept per shard).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.aws import record_outbox
from shared.aws.bus import PublishResult
from shared.aws.clients import client
from shared.canonical.envelope import Envelope

# Attributes kept only while their outbox is (the supplier master's answer to a retried request, ADR 0013).
COMPANIONS = ("outbox_result",)

Publisher = Callable[[Sequence[Envelope[Any]], str], PublishResult]


@dataclass(frozen=True)
class PendingOutbox:
    """An outbox a stream record's new image carries."""

    sequence_number: str
    table_name: str
    key: dict[str, Any]  # attribute values as boto3 takes them
    value: dict[str, Any]  # the `outbox` attribute value as stored ({"B": bytes})

    @property
    def events(self) -> tuple[str, ...]:
        return record_outbox.decode(self.value)


def pending_outbox(record: Mapping[str, Any]) -> PendingOutbox | None:
    """The outbox of a DynamoDB Streams record as Lambda delivers it; None when its new image carries none."""
    stream = record.get("dynamodb") or {}
    image = stream.get("NewImage") or {}
    value = image.get(record_outbox.ATTRIBUTE)
    if not value:
        return None
    return PendingOutbox(
        sequence_number=str(stream["SequenceNumber"]),
        table_name=table_of(str(record["eventSourceARN"])),
        key={name: from_lambda_value(v) for name, v in stream["Keys"].items()},
        value=from_lambda_value(value),
    )


def table_of(stream_arn: str) -> str:
    """`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` -> `<name>`."""
    resource = stream_arn.split(":", 5)[5]
    parts = resource.split("/")
    if len(parts) < 2 or parts[0] != "table":
        raise ValueError(f"not a DynamoDB stream ARN: {stream_arn}")
    return parts[1]


def from_lambda_value(value: Mapping[str, Any]) -> dict[str, Any]:
    """An attribute value of Lambda's JSON event (binaries as base64 text) -> as boto3 takes it (bytes)."""
    (kind, content), *_ = value.items()
    if kind == "B":
        return {"B": base64.b64decode(content)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in content]}
    if kind == "L":
        return {"L": [from_lambda_value(v) for v in content]}
    if kind == "M":
        return {"M": {k: from_lambda_value(v) for k, v in content.items()}}
    return {kind: content}


@dataclass
class BatchOutcome:
    published: list[str] = field(default_factory=list)  # event ids
    records_published: int = 0
    already_published: int = 0  # the record no longer carried that outbox
    clear_lost: int = 0  # published, but the record moved on before the clear (its new outbox is its own)
    failed: str | None = None  # SequenceNumber of the record that failed: it and the rest are retried
    correlation_ids: list[str] = field(default_factory=list)


class OutboxPublisher:
    def __init__(self, bus_name: str, publish: Publisher) -> None:
        self.bus_name = bus_name
        self.publish = publish

    def process(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        on_error: Callable[[Mapping[str, Any], BaseException], None] | None = None,
    ) -> BatchOutcome:
        """Publish and clear the outboxes of `records`, in order, stopping at the first that fails."""
        outcome = BatchOutcome()
        for record in records:
            try:
                pending = pending_outbox(record)
                if pending is not None:
                    self._publish(pending, outcome)
            except Exception as exc:
                outcome.failed = str(record.get("dynamodb", {}).get("SequenceNumber", ""))
                if on_error is not None:
                    on_error(record, exc)
                break
        return outcome

    def _publish(self, pending: PendingOutbox, outcome: BatchOutcome) -> None:
        if current_outbox(pending.table_name, pending.key) != pending.value:
            outcome.already_published += 1
            return
        envelopes = [Envelope[Any].model_validate_json(text) for text in pending.events]
        outcome.correlation_ids.extend(e.correlation_id for e in envelopes)
        if envelopes:
            self.publish(envelopes, self.bus_name)
        outcome.published.extend(e.id for e in envelopes)
        outcome.records_published += 1
        if not record_outbox.clear(pending.table_name, pending.key, also=COMPANIONS, outbox=pending.value):
            outcome.clear_lost += 1


def current_outbox(table_name: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """The outbox the record carries now (consistent read), None when it carries none or is gone."""
    item = (
        client("dynamodb")
        .get_item(
            TableName=table_name,
            Key=dict(key),
            ConsistentRead=True,
            ProjectionExpression="#o",
            ExpressionAttributeNames={"#o": record_outbox.ATTRIBUTE},
        )
        .get("Item")
    )
    if not item or record_outbox.ATTRIBUTE not in item:
        return None
    value = item[record_outbox.ATTRIBUTE]
    return {"B": bytes(value["B"])}
