"""AWS::SQS::Queue on moto (queue policies are IAM and are skipped)."""

from __future__ import annotations

from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import api_string, tag_map
from local.template import Resource

_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)
MAX_NAME = 80


def create_queue(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    fifo = str(props.get("FifoQueue", "")).lower() == "true"
    name = props.get("QueueName") or ctx.name(resource.logical_id, MAX_NAME, ".fifo" if fifo else "")
    attributes = {k: api_string(props[k]) for k in _ATTRIBUTES if k in props}
    sqs = ctx.clients("sqs")
    kwargs: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
    if props.get("Tags"):
        kwargs["tags"] = tag_map(props["Tags"])
    url = sqs.create_queue(**kwargs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Created(ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url})


CREATORS: dict[str, Creator] = {"AWS::SQS::Queue": create_queue}
