"""AWS::SNS::Topic (with inline subscriptions) and AWS::SNS::Subscription on moto.

moto delivers SNS to SQS, HTTP and email subscriptions; Lambda subscriptions would need moto's Lambda (Docker),
so they are reported as warnings and not registered.
"""

from __future__ import annotations

from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import api_string, tag_list
from local.template import Resource

_TOPIC_ATTRIBUTES = ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication", "SignatureVersion")
_SUBSCRIPTION_ATTRIBUTES = ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")


def create_topic(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    fifo = str(props.get("FifoTopic", "")).lower() == "true"
    name = props.get("TopicName") or ctx.name(resource.logical_id, 256, ".fifo" if fifo else "")
    kwargs: dict[str, Any] = {
        "Name": name,
        "Attributes": {k: api_string(props[k]) for k in _TOPIC_ATTRIBUTES if k in props},
    }
    if props.get("Tags"):
        kwargs["Tags"] = tag_list(props["Tags"])
    arn = ctx.clients("sns").create_topic(**kwargs)["TopicArn"]
    for sub in props.get("Subscription") or []:
        _subscribe(ctx, resource, arn, sub["Protocol"], sub["Endpoint"], {})
    return Created(ref=arn, attributes={"TopicArn": arn, "TopicName": name})


def create_subscription(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    attributes = {k: api_string(props[k]) for k in _SUBSCRIPTION_ATTRIBUTES if k in props}
    arn = _subscribe(ctx, resource, props["TopicArn"], props["Protocol"], props.get("Endpoint", ""), attributes)
    return Created(ref=arn or f"{props['TopicArn']}:{resource.logical_id}", status="created" if arn else "skipped")


def _subscribe(
    ctx: CreateContext, resource: Resource, topic: str, protocol: str, endpoint: str, attributes: dict[str, str]
) -> str | None:
    if protocol == "lambda":
        ctx.warn(f"{resource.logical_id}: SNS -> Lambda subscription to {endpoint} not registered")
        return None
    response = ctx.clients("sns").subscribe(
        TopicArn=topic, Protocol=protocol, Endpoint=endpoint, Attributes=attributes, ReturnSubscriptionArn=True
    )
    return str(response["SubscriptionArn"])


CREATORS: dict[str, Creator] = {"AWS::SNS::Topic": create_topic, "AWS::SNS::Subscription": create_subscription}
