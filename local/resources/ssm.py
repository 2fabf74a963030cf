"""AWS::SSM::Parameter on moto."""

from __future__ import annotations

from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import pick, tag_list
from local.template import Resource


def create_parameter(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    name = props.get("Name") or ctx.name(resource.logical_id, 2048)
    kwargs = pick(props, ("Type", "Value", "Description", "Tier", "AllowedPattern", "DataType"))
    if props.get("Tags"):
        kwargs["Tags"] = tag_list(props["Tags"])
    ctx.clients("ssm").put_parameter(Name=name, **kwargs)
    return Created(ref=name, attributes={"Type": props.get("Type"), "Value": props.get("Value")})


CREATORS: dict[str, Creator] = {"AWS::SSM::Parameter": create_parameter}
