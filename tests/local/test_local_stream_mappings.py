"""DynamoDB Streams event-source mappings behave like Lambda's: event shape, filters, batch size, partial batch
responses by SequenceNumber, bisection, retries and the on-failure destination's record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from moto import mock_aws

from local.aws_clients import AwsClients
from local.functions import Invocation
from local.stream_mappings import StreamMapping, StreamPoller

REGION = "us-east-1"
OUTBOX_FILTER = json.dumps({"dynamodb": {"NewImage": {"outbox": {"B": [{"exists": True}]}}}})


class FakeHost:
    """Stands for `FunctionHost`: records each event and answers with what `respond` says."""

    def __init__(self, respond: Callable[[list[dict[str, Any]]], Any]) -> None:
        self.respond = respond
        self.events: list[dict[str, Any]] = []

    def invoke(self, name: str, event: Any) -> Invocation:
        event = json.loads(json.dumps(event))  # what the function receives is JSON
        self.events.append(event)
        answer = self.respond(event["Records"])
        if isinstance(answer, Exception):
            error = {"errorMessage": str(answer), "errorType": type(answer).__name__}
            return Invocation(function=name, request_id=str(uuid.uuid4()), payload=error, error=error)
        return Invocation(function=name, request_id=str(uuid.uuid4()), payload=answer)

    def batches(self) -> list[list[str]]:
        return [[r["dynamodb"]["Keys"]["pk"]["S"] for r in e["Records"]] for e in self.events]


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    with mock_aws():
        clients = AwsClients(REGION)
        table = clients("dynamodb").create_table(
            TableName="records",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]
        queue_url = clients("sqs").create_queue(QueueName="records-dlq")["QueueUrl"]
        yield clients, table["LatestStreamArn"], queue_url


def mapping(stream_arn: str, queue_url: str | None = None, **overrides: Any) -> StreamMapping:
    settings: dict[str, Any] = {
        "logical_id": "Mapping",
        "uuid": "m-1",
        "function": "publisher",
        "function_arn": f"arn:aws:lambda:{REGION}:123456789012:function:publisher",
        "stream_arn": stream_arn,
        "table_name": "records",
        "batch_size": 10,
        "starting_position": "TRIM_HORIZON",
        "report_batch_item_failures": True,
        "bisect_on_error": False,
        "max_retry_attempts": -1,
        "max_record_age_seconds": -1,
        "on_failure_queue_url": queue_url,
        "enabled": True,
        "filters": (),
        **overrides,
    }
    return StreamMapping(**settings)


def put(clients: AwsClients, pk: str, outbox: bytes | None = None) -> None:
    item: dict[str, Any] = {"pk": {"S": pk}, "n": {"N": "1"}}
    if outbox is not None:
        item["outbox"] = {"B": outbox}
    clients("dynamodb").put_item(TableName="records", Item=item)


def failure_records(clients: AwsClients, queue_url: str) -> list[dict[str, Any]]:
    messages = clients("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_records_reach_the_function_in_lambdas_shape_filtered_and_in_batches(aws):
    clients, stream_arn, _ = aws
    host = FakeHost(lambda records: {"batchItemFailures": []})
    poller = StreamPoller([mapping(stream_arn, batch_size=2, filters=(OUTBOX_FILTER,))], host, clients)  # type: ignore[arg-type]
    put(clients, "a", b"events-a")
    put(clients, "b")  # no outbox: filtered out
    put(clients, "c", b"events-c")
    put(clients, "d", b"events-d")

    report = poller.drain()
    assert report.drained and report.filtered_records == 1 and report.ok_records == 3
    assert host.batches() == [["a", "c"], ["d"]]
    record = host.events[0]["Records"][0]
    assert set(record) == {
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    }
    assert (record["eventName"], record["eventSource"], record["awsRegion"]) == ("INSERT", "aws:dynamodb", REGION)
    assert record["eventSourceARN"] == stream_arn
    stream = record["dynamodb"]
    assert set(stream) == {
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    }
    assert isinstance(stream["ApproximateCreationDateTime"], float) and stream["StreamViewType"] == "NEW_IMAGE"
    assert stream["NewImage"]["outbox"] == {"B": "ZXZlbnRzLWE="}  # base64 text, as in Lambda's JSON

    assert poller.drain().invocations == {}  # nothing new: nothing invoked again


def test_a_reported_failure_retries_from_its_sequence_number_then_goes_to_the_on_failure_queue(aws):
    clients, stream_arn, queue_url = aws

    def fail_b(records):
        failing = [r["dynamodb"]["SequenceNumber"] for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == "b"]
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failing]}

    host = FakeHost(fail_b)
    poller = StreamPoller([mapping(stream_arn, queue_url, max_retry_attempts=2)], host, clients)  # type: ignore[arg-type]
    for pk in ("a", "b", "c"):
        put(clients, pk)
    report = poller.drain()
    assert report.drained
    # a is checkpointed; b and what follows it are retried twice, then b's batch is given up and c goes on
    assert host.batches() == [["a", "b", "c"], ["b", "c"], ["b", "c"]]
    (failure,) = failure_records(clients, queue_url)
    info = failure["DDBStreamBatchInfo"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert (info["batchSize"], info["streamArn"]) == (2, stream_arn)
    assert int(info["startSequenceNumber"]) < int(info["endSequenceNumber"])


def test_a_function_error_bisects_the_batch_until_the_bad_record_is_alone(aws):
    clients, stream_arn, queue_url = aws

    def poison(records):
        if any(r["dynamodb"]["Keys"]["pk"]["S"] == "c" for r in records):
            return RuntimeError("boom")
        return None

    host = FakeHost(poison)
    poller = StreamPoller(
        [mapping(stream_arn, queue_url, bisect_on_error=True, max_retry_attempts=1, report_batch_item_failures=False)],
        host,  # type: ignore[arg-type]
        clients,
    )
    for pk in ("a", "b", "c", "d"):
        put(clients, pk)
    poller.drain()
    assert host.batches() == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"], ["c"], ["c"], ["d"]]
    (failure,) = failure_records(clients, queue_url)
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failure["responseContext"]["functionError"] == "Unhandled"


def test_an_invalid_partial_response_fails_the_whole_batch(aws):
    clients, stream_arn, _ = aws
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "not-a-sequence-number"}]}, None])
    host = FakeHost(lambda records: next(answers))
    poller = StreamPoller([mapping(stream_arn)], host, clients)  # type: ignore[arg-type]
    put(clients, "a")
    put(clients, "b")
    poller.drain()
    assert host.batches() == [["a", "b"], ["a", "b"]]
