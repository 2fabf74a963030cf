"""The stack's SQS queues as the runtime sees them: names, depths, and which queue dead-letters into which."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from local.aws_clients import AwsClients
from local.provision import ProvisionedStack

_DEPTH_ATTRIBUTES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


@dataclass(frozen=True)
class QueueRef:
    """A queue declared in the template."""

    logical_id: str
    name: str
    url: str
    arn: str
    fifo: bool
    dead_letter_arn: str | None
    max_receive_count: int | None


@dataclass(frozen=True)
class QueueInfo:
    """A queue with its depth at the time of asking (what `LocalRuntime.queues()` returns)."""

    logical_id: str
    name: str
    url: str
    arn: str
    depth: int
    in_flight: int
    delayed: int
    is_dlq: bool  # the dead-letter queue of a queue (redrive policy), an EventBridge rule target or a mapping
    source_queue: str | None  # for a queue's DLQ: the name of the queue that dead-letters into it
    max_receive_count: int | None  # for a queue with a redrive policy
    _clients: AwsClients

    def peek(self, max_messages: int = 10) -> list[dict[str, Any]]:
        """Receive up to `max_messages` without hiding them (visibility 0); counts as a receive, as in AWS."""
        response = self._clients("sqs").receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=min(max_messages, 10),
            VisibilityTimeout=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))


class QueueDirectory:
    """The template's queues, found by logical id, name, URL or ARN."""

    def __init__(self, stack: ProvisionedStack, clients: AwsClients) -> None:
        self._clients = clients
        self._target_dlqs = {
            str(target["DeadLetterConfig"]["Arn"])
            for rule in stack.of_type("AWS::Events::Rule")
            for target in rule.properties.get("Targets") or []
            if (target.get("DeadLetterConfig") or {}).get("Arn")
        } | {  # the on-failure destinations of event-source mappings (a stream's records that kept failing)
            str(destination)
            for mapping in stack.of_type("AWS::Lambda::EventSourceMapping")
            if (
                destination := ((mapping.properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                    "Destination"
                )
            )
        }
        self.queues: list[QueueRef] = []
        for res in stack.of_type("AWS::SQS::Queue"):
            redrive = res.properties.get("RedrivePolicy") or {}
            self.queues.append(
                QueueRef(
                    logical_id=res.logical_id,
                    name=str(res.attributes["QueueName"]),
                    url=str(res.ref),
                    arn=str(res.attributes["Arn"]),
                    fifo=str(res.properties.get("FifoQueue", "")).lower() == "true",
                    dead_letter_arn=redrive.get("deadLetterTargetArn"),
                    max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
                )
            )

    def __iter__(self) -> Iterator[QueueRef]:
        return iter(self.queues)

    def get(self, name: str) -> QueueRef:
        for q in self.queues:
            if name in (q.logical_id, q.name, q.url, q.arn):
                return q
        raise KeyError(f"no queue {name!r}; queues: {[q.name for q in self.queues]}")

    def find(self, name: str) -> QueueRef | None:
        try:
            return self.get(name)
        except KeyError:
            return None

    def depth(self, queue: QueueRef) -> tuple[int, int, int]:
        """(visible, in flight, delayed)."""
        attrs = self._clients("sqs").get_queue_attributes(QueueUrl=queue.url, AttributeNames=_DEPTH_ATTRIBUTES)
        values = attrs["Attributes"]
        return tuple(int(values.get(name, 0)) for name in _DEPTH_ATTRIBUTES)  # type: ignore[return-value]

    def info(self) -> list[QueueInfo]:
        sources = {q.dead_letter_arn: q for q in self.queues if q.dead_letter_arn}
        out = []
        for q in self.queues:
            visible, in_flight, delayed = self.depth(q)
            source = sources.get(q.arn)
            out.append(
                QueueInfo(
                    logical_id=q.logical_id,
                    name=q.name,
                    url=q.url,
                    arn=q.arn,
                    depth=visible,
                    in_flight=in_flight,
                    delayed=delayed,
                    is_dlq=source is not None or q.arn in self._target_dlqs,
                    source_queue=source.name if source else None,
                    max_receive_count=q.max_receive_count,
                    _clients=self._clients,
                )
            )
        return out
