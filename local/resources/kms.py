"""AWS::KMS::Key and AWS::KMS::Alias on moto."""

from __future__ import annotations

import json
from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import pick, tag_list
from local.template import Resource


def create_key(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    kms = ctx.clients("kms")
    kwargs: dict[str, Any] = pick(props, ("Description", "KeyUsage", "KeySpec", "MultiRegion"))
    if props.get("KeyPolicy"):
        policy = props["KeyPolicy"]
        kwargs["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
    if props.get("Tags"):
        kwargs["Tags"] = tag_list(props["Tags"], "TagKey", "TagValue")
    meta = kms.create_key(**kwargs)["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    if props.get("Enabled") is False:
        kms.disable_key(KeyId=meta["KeyId"])
    return Created(ref=meta["KeyId"], attributes={"Arn": meta["Arn"], "KeyId": meta["KeyId"]})


def create_alias(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    ctx.clients("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    return Created(ref=props["AliasName"])


CREATORS: dict[str, Creator] = {"AWS::KMS::Key": create_key, "AWS::KMS::Alias": create_alias}
