"""AWS::StepFunctions::StateMachine on moto, which executes the ASL itself (the runtime enables that).

The definition is taken as CDK synthesizes it: `DefinitionString` (usually an `Fn::Join` of strings and ARNs,
already resolved to one string by the resolver) or an inline `Definition` object, with `DefinitionSubstitutions`
applied (`${name}` -> value). `DefinitionS3Location` is refused: the runtime reads no assets from S3.
`LoggingConfiguration` and `TracingConfiguration` are ignored: execution history (GetExecutionHistory) is the
local view of what a run did, and X-Ray is off locally. Ref is the state machine ARN; GetAtt Arn and Name.
"""

from __future__ import annotations

import json
import re
from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import tag_map
from local.template import Resource

MAX_STATE_MACHINE_NAME = 80
_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


def definition_of(props: dict[str, Any]) -> str:
    """The ASL document as a string, with `DefinitionSubstitutions` applied (unknown `${...}` left as is)."""
    if "DefinitionS3Location" in props:
        raise ValueError("DefinitionS3Location is not supported locally: synthesize the definition inline")
    if "DefinitionString" in props:
        definition = str(props["DefinitionString"])
    elif "Definition" in props:
        definition = json.dumps(props["Definition"])
    else:
        raise ValueError("state machine has neither DefinitionString nor Definition")
    substitutions = {str(k): str(v) for k, v in (props.get("DefinitionSubstitutions") or {}).items()}
    if substitutions:
        definition = _SUBSTITUTION.sub(lambda m: substitutions.get(m.group(1), m.group(0)), definition)
    return definition


def create_state_machine(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    name = props.get("StateMachineName") or ctx.name(resource.logical_id, MAX_STATE_MACHINE_NAME)
    kwargs: dict[str, Any] = {
        "name": name,
        "definition": definition_of(props),
        "roleArn": props.get("RoleArn") or ctx.arn("iam", f"role/{name}", region=False),
        "type": props.get("StateMachineType", "STANDARD"),
    }
    if props.get("Tags"):
        kwargs["tags"] = [{"key": k, "value": v} for k, v in tag_map(props["Tags"]).items()]
    arn = ctx.clients("stepfunctions").create_state_machine(**kwargs)["stateMachineArn"]
    return Created(ref=arn, attributes={"Arn": arn, "Name": name})


CREATORS: dict[str, Creator] = {"AWS::StepFunctions::StateMachine": create_state_machine}
