"""SQS event-source mappings behave like Lambda's: batch size, partial failures, redrive, filters, event shape."""

import json
import re
from pathlib import Path

import boto3
import pytest

from local.functions import Invocation
from local.queues import QueueRef
from local.sqs_mappings import SqsMapping, SqsPoller

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "aws"


def queue(rt, construct_id):
    """A queue by its CDK construct id (the logical id is that id plus an 8-character hash)."""
    return next(q for q in rt.queue_directory if re.fullmatch(f"{construct_id}[0-9A-F]{{8}}", q.logical_id))


def send(url, *bodies, **kwargs):
    sqs = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body if isinstance(body, str) else json.dumps(body), **kwargs)


def worker_batches(rt):
    return [line["size"] for line in rt.functions.logs.json_lines("worker") if line.get("message") == "batch"]


def batcher_batches(rt):
    return [line["ids"] for line in rt.functions.logs.json_lines("batch") if "batch_size" in line]


def processed(rt, sk):
    items = boto3.client("dynamodb").scan(TableName=rt.outputs["TableName"])["Items"]
    return sorted(i["pk"]["S"] for i in items if i["sk"]["S"] == sk)


def depth(rt, prefix):
    return rt.queue_directory.depth(queue(rt, prefix))[0]


def test_batch_size_is_honoured(rt):
    send(rt.outputs["WorkQueueUrl"], *(f"m{i:02d}" for i in range(12)))
    report = rt.drain()
    assert report.drained and report.invocations["worker"] == 3
    assert worker_batches(rt) == [5, 5, 2]
    assert processed(rt, "processed") == [f"m{i:02d}" for i in range(12)]


def test_batches_over_ten_take_several_receives(rt):
    send(queue(rt, "Batch").url, *({"kind": "task", "id": f"t{i:02d}"} for i in range(25)))
    rt.drain()
    assert [len(ids) for ids in batcher_batches(rt)] == [20, 5]


def test_a_poison_message_fails_alone_and_reaches_the_dlq_after_max_receive_count(rt):
    send(rt.outputs["WorkQueueUrl"], "a", "b", "poison", "c")
    report = rt.drain()
    assert processed(rt, "processed") == ["a", "b", "c"]  # deleted after the first batch, never redelivered
    assert worker_batches(rt) == [4, 1, 1]  # the poison message was received maxReceiveCount (3) times
    assert (report.ok_records, report.failed_records) == (3, 3)
    (dead,) = [q for q in rt.queues() if q.is_dlq and q.depth]
    assert dead.source_queue == "local-base-work" and rt.max_receive_count(dead.source_queue) == 3
    assert [m["Body"] for m in dead.peek()] == ["poison"]
    assert depth(rt, "Work") == 0


def test_without_partial_batch_responses_one_error_fails_the_whole_batch(rt):
    batch_url = queue(rt, "Batch").url
    bad = {"kind": "task", "id": "bad", "fail": True}
    send(batch_url, {"kind": "task", "id": "ok-1"}, bad, {"kind": "task", "id": "ok-2"})
    report = rt.drain()
    assert batcher_batches(rt) == [["ok-1", "bad", "ok-2"]] * 2  # maxReceiveCount is 2 on this queue
    assert processed(rt, "batch") == [] and report.function_errors["batch"] == 2
    assert depth(rt, "BatchDlq") == 3


def test_messages_outside_the_filter_are_dropped_without_an_invocation(rt):
    send(queue(rt, "Batch").url, {"kind": "noise", "id": "n"}, "not json")
    report = rt.drain()
    assert report.filtered_records == 2 and report.invocations["batch"] == 0
    assert depth(rt, "Batch") == 0 and depth(rt, "BatchDlq") == 0


def test_the_event_has_lambdas_sqs_shape(rt, monkeypatch):
    events = []
    invoke = rt.functions.invoke
    monkeypatch.setattr(rt.functions, "invoke", lambda name, event: events.append(event) or invoke(name, event))
    send(
        rt.outputs["WorkQueueUrl"],
        "hello",
        MessageAttributes={
            "testAttr": {"DataType": "Number", "StringValue": "100"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    rt.drain()
    (record,) = events[0]["Records"]
    (expected,) = json.loads((CORPUS / "powertools_sqsEvent.json").read_text())["Records"][:1]
    assert set(expected) <= set(record) and set(record) - set(expected) <= {"md5OfMessageAttributes"}
    assert list(record["attributes"]) == list(expected["attributes"])
    assert record["eventSource"] == "aws:sqs" and record["awsRegion"] == "us-east-1"
    assert record["eventSourceARN"] == queue(rt, "Work").arn and record["body"] == "hello"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"] == {
        "testAttr": {"stringValue": "100", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "blob": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }


MAPPING = SqsMapping(
    logical_id="M",
    uuid="u",
    function="f",
    queue=QueueRef("Q", "q", "url", "arn:aws:sqs:us-east-1:123456789012:q", False, None, None),
    batch_size=10,
    report_batch_item_failures=True,
    enabled=True,
)
IDS = ["m1", "m2", "m3"]


@pytest.mark.parametrize(
    ("payload", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, set(IDS)),
        ({"batchItemFailures": [{"id": "m2"}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, set(IDS)),
        ("not an object", set(IDS)),
    ],
)
def test_partial_batch_responses_follow_lambdas_rules(payload, failed):
    invocation = Invocation(function="f", request_id="r", payload=payload)
    assert SqsPoller._failed_ids(MAPPING, invocation, IDS) == failed


def test_a_function_error_fails_the_whole_batch_even_with_partial_responses():
    invocation = Invocation(function="f", request_id="r", payload={}, error={"errorType": "ValueError"})
    assert SqsPoller._failed_ids(MAPPING, invocation, IDS) == set(IDS)
