"""Lambda types are not created on moto (its Lambda needs Docker): they get their names and ARNs here and
are run in-process by `local.functions` (functions) and `local.sqs_mappings` (event-source mappings)."""

from __future__ import annotations

import uuid
from typing import Any

from local.provision import CreateContext, Created, Creator
from local.template import Resource

MAX_FUNCTION_NAME = 64


def register_function(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    name = props.get("FunctionName") or ctx.name(resource.logical_id, MAX_FUNCTION_NAME)
    arn = ctx.arn("lambda", f"function:{name}")
    return Created(ref=name, attributes={"Arn": arn}, status="local")


def register_layer_version(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    name = props.get("LayerName") or ctx.name(resource.logical_id, 140)
    arn = ctx.arn("lambda", f"layer:{name}:1")
    return Created(ref=arn, attributes={"LayerVersionArn": arn}, status="local")


def register_version(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    function_arn = _function_arn(ctx, props["FunctionName"])
    return Created(ref=f"{function_arn}:1", attributes={"Version": "1", "FunctionArn": function_arn}, status="local")


def register_alias(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    arn = f"{_function_arn(ctx, props['FunctionName'])}:{props['Name']}"
    return Created(ref=arn, attributes={"AliasArn": arn}, status="local")


def register_event_source_mapping(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.pseudo.stack_id}/{resource.logical_id}"))
    arn = ctx.arn("lambda", f"event-source-mapping:{mapping_id}")
    return Created(ref=mapping_id, attributes={"Id": mapping_id, "EventSourceMappingArn": arn}, status="local")


def _function_arn(ctx: CreateContext, name_or_arn: str) -> str:
    return name_or_arn if name_or_arn.startswith("arn:") else ctx.arn("lambda", f"function:{name_or_arn}")


CREATORS: dict[str, Creator] = {
    "AWS::Lambda::Function": register_function,
    "AWS::Lambda::LayerVersion": register_layer_version,
    "AWS::Lambda::Version": register_version,
    "AWS::Lambda::Alias": register_alias,
    "AWS::Lambda::EventSourceMapping": register_event_source_mapping,
}
