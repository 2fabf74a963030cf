"""AWS::SecretsManager::Secret on moto, with GenerateSecretString honoured."""

from __future__ import annotations

import json
from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import pick, tag_list
from local.template import Resource

_PASSWORD_OPTIONS = (
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "ExcludeLowercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)


def create_secret(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    client = ctx.clients("secretsmanager")
    name = props.get("Name") or ctx.name(resource.logical_id, 512)
    kwargs: dict[str, Any] = pick(props, ("Description", "KmsKeyId"))
    if "SecretString" in props:
        kwargs["SecretString"] = props["SecretString"]
    elif "GenerateSecretString" in props:
        kwargs["SecretString"] = _generate(client, props["GenerateSecretString"] or {})
    if props.get("Tags"):
        kwargs["Tags"] = tag_list(props["Tags"])
    arn = client.create_secret(Name=name, **kwargs)["ARN"]
    return Created(ref=arn, attributes={"Id": arn})


def _generate(client: Any, spec: dict[str, Any]) -> str:
    password = client.get_random_password(**pick(spec, _PASSWORD_OPTIONS))["RandomPassword"]
    if spec.get("SecretStringTemplate") and spec.get("GenerateStringKey"):
        document = json.loads(spec["SecretStringTemplate"])
        document[spec["GenerateStringKey"]] = password
        return json.dumps(document)
    return password


CREATORS: dict[str, Creator] = {"AWS::SecretsManager::Secret": create_secret}
