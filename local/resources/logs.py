"""AWS::Logs::LogGroup on moto."""

from __future__ import annotations

from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import tag_map
from local.template import Resource


def create_log_group(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    name = props.get("LogGroupName") or ctx.name(resource.logical_id, 512)
    logs = ctx.clients("logs")
    kwargs: dict[str, Any] = {"logGroupName": name}
    if props.get("KmsKeyId"):
        kwargs["kmsKeyId"] = props["KmsKeyId"]
    if props.get("Tags"):
        kwargs["tags"] = tag_map(props["Tags"])
    logs.create_log_group(**kwargs)
    if props.get("RetentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    return Created(ref=name, attributes={"Arn": ctx.arn("logs", f"log-group:{name}:*")})


CREATORS: dict[str, Creator] = {"AWS::Logs::LogGroup": create_log_group}
