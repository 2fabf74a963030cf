"""A runtime kept for reuse: `checkpoint`, `reset` and `suspend`/`resume` (what the flow tests' pool relies on)."""

import json

import boto3
import pytest
from moto import mock_aws
from sample_stack import SAMPLE

from local.runtime import LocalRuntime


@pytest.fixture
def kept(base_template):
    runtime = LocalRuntime.start(base_template, source_root=SAMPLE)
    try:
        runtime.checkpoint()
        yield runtime
    finally:
        runtime.stop()


def items(rt) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=rt.outputs["TableName"])["Items"]


def test_reset_undoes_writes_messages_new_resources_and_function_configuration(kept):
    ddb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    queues_before = sorted(sqs.list_queues()["QueueUrls"])
    setting_before = kept.functions.get("worker").environment.get("SAMPLE_SETTING")
    ddb.put_item(TableName=kept.outputs["TableName"], Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
    sqs.send_message(QueueUrl=kept.outputs["WorkQueueUrl"], MessageBody=json.dumps({"id": "left-behind"}))
    sqs.create_queue(QueueName="made-by-a-test")
    sqs.set_queue_attributes(QueueUrl=kept.outputs["WorkQueueUrl"], Attributes={"DelaySeconds": "7"})
    kept.functions.configure("worker", SAMPLE_SETTING="changed")
    warm = kept.invoke("worker", {"Records": []})
    assert warm.init_duration_ms is not None and kept.logs("worker")

    kept.reset()

    assert items(kept) == []
    assert sorted(sqs.list_queues()["QueueUrls"]) == queues_before
    attributes = sqs.get_queue_attributes(QueueUrl=kept.outputs["WorkQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0" and attributes["DelaySeconds"] == "0"
    assert kept.functions.get("worker").environment.get("SAMPLE_SETTING") == setting_before
    assert kept.logs("worker") == []
    assert kept.invoke("worker", {"Records": []}).init_duration_ms is not None  # cold again
    # and it works as before: a message is delivered to its function by the (new) poller
    sqs.send_message(QueueUrl=kept.outputs["WorkQueueUrl"], MessageBody=json.dumps({"id": "after-reset"}))
    assert kept.drain().drained


def test_a_suspended_runtime_leaves_moto_to_others_and_resumes_at_its_checkpoint(kept):
    boto3.client("dynamodb").put_item(TableName=kept.outputs["TableName"], Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
    kept.suspend()

    with mock_aws():  # another test's moto: empty, not joined to the kept stack
        assert boto3.client("dynamodb").list_tables()["TableNames"] == []
        boto3.client("sqs").create_queue(QueueName="someone-elses")
        with pytest.raises(RuntimeError, match="another mock_aws"):
            kept.resume()

    kept.resume()
    assert kept.outputs["TableName"] in boto3.client("dynamodb").list_tables()["TableNames"]
    assert items(kept) == []
    assert "someone-elses" not in " ".join(boto3.client("sqs").list_queues()["QueueUrls"])
    kept.stop()
    kept.stop()  # idempotent


def test_only_an_in_process_runtime_can_be_kept(tmp_path, base_template):
    served = LocalRuntime.start(base_template, source_root=SAMPLE, mode="server", state_dir=tmp_path)
    with served, pytest.raises(RuntimeError, match="inprocess"):
        served.checkpoint()


def test_reset_to_a_later_checkpoint_keeps_what_was_written_before_it(kept):
    ddb = boto3.client("dynamodb")
    table = kept.outputs["TableName"]
    ddb.put_item(TableName=table, Item={"pk": {"S": "prepared"}, "sk": {"S": "1"}})
    prepared = kept.checkpoint(default=False)
    ddb.put_item(TableName=table, Item={"pk": {"S": "by-the-test"}, "sk": {"S": "1"}})

    kept.reset(to=prepared)
    assert [i["pk"]["S"] for i in items(kept)] == ["prepared"]
    kept.suspend()
    kept.resume(to=prepared)
    assert [i["pk"]["S"] for i in items(kept)] == ["prepared"]
    kept.reset()  # the default checkpoint: just provisioned
    assert items(kept) == []
