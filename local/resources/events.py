"""EventBridge on moto: AWS::Events::EventBus, ::Archive and ::Rule with its targets.

moto routes `put_events` to SQS queues, event buses and log groups (pattern matching, InputTransformer,
DeadLetterConfig/RetryPolicy stored). Targets of other services (Lambda, Step Functions, SNS, ...) make moto's
`put_events` fail (moto does not implement them), so they are not registered: each is reported as a warning.
"""

from __future__ import annotations

import json
from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import pick, tag_list
from local.template import Resource

ROUTED_TARGET_SERVICES = frozenset({"sqs", "events", "logs"})
_TARGET_KEYS = (
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "DeadLetterConfig",
    "RetryPolicy",
    "SqsParameters",
    "HttpParameters",
)


def create_event_bus(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    name = props.get("Name") or ctx.name(resource.logical_id, 256)
    kwargs: dict[str, Any] = pick(props, ("Description",))
    if props.get("Tags"):
        kwargs["Tags"] = tag_list(props["Tags"])
    arn = ctx.clients("events").create_event_bus(Name=name, **kwargs)["EventBusArn"]
    return Created(ref=name, attributes={"Arn": arn, "Name": name})


def create_archive(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    name = props.get("ArchiveName") or ctx.name(resource.logical_id, 48)
    kwargs: dict[str, Any] = {"ArchiveName": name, "EventSourceArn": props["SourceArn"]}
    kwargs.update(pick(props, ("Description", "RetentionDays")))
    if props.get("EventPattern"):
        kwargs["EventPattern"] = _json(props["EventPattern"])
    arn = ctx.clients("events").create_archive(**kwargs)["ArchiveArn"]
    return Created(ref=name, attributes={"Arn": arn, "ArchiveName": name})


def create_rule(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    events = ctx.clients("events")
    name = props.get("Name") or ctx.name(resource.logical_id, 64)
    bus = props.get("EventBusName")
    kwargs: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
    kwargs.update(pick(props, ("Description", "ScheduleExpression", "RoleArn")))
    if bus:
        kwargs["EventBusName"] = bus
    if props.get("EventPattern"):
        kwargs["EventPattern"] = _json(props["EventPattern"])
    arn = events.put_rule(**kwargs)["RuleArn"]

    targets = []
    for target in props.get("Targets") or []:
        service = str(target["Arn"]).split(":")[2]
        if service in ROUTED_TARGET_SERVICES:
            targets.append(pick(target, _TARGET_KEYS))
        else:
            ctx.warn(
                f"{resource.logical_id}: target {target.get('Id')} ({service}) not registered: "
                "moto cannot deliver EventBridge events to it"
            )
    if targets:
        target_kwargs: dict[str, Any] = {"Rule": name, "Targets": targets}
        if bus:
            target_kwargs["EventBusName"] = bus
        events.put_targets(**target_kwargs)
    bus_name = str(bus).rsplit("/", 1)[-1] if bus else "default"
    ref = name if bus_name == "default" else f"{bus_name}|{name}"
    return Created(ref=ref, attributes={"Arn": arn})


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


CREATORS: dict[str, Creator] = {
    "AWS::Events::EventBus": create_event_bus,
    "AWS::Events::Archive": create_archive,
    "AWS::Events::Rule": create_rule,
}
