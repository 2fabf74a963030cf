"""Create a synthesized stack on moto, resource by resource, in dependency order.

Each supported CloudFormation type has a creator in `local/resources/` that turns the resolved properties
into moto API calls (or, for Lambda and its event-source mappings, registers them for in-process execution)
and returns the resource's `Ref` value and `Fn::GetAtt` attributes. Types without a creator (IAM, resource
policies, CDK metadata, custom resources, ...) are skipped: they get synthetic names and ARNs so that
references to them still resolve, and are listed in `ProvisionedStack.skipped` for diagnostics.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from local.aws_clients import AwsClients
from local.template import (
    MOTO_ACCOUNT_ID,
    PseudoParameters,
    Resolver,
    Resource,
    StackTemplate,
    TemplateError,
    UnresolvedReference,
    creation_order,
)

Status = Literal["created", "local", "skipped"]


class ProvisionError(Exception):
    """A resource could not be created; names the resource and its type."""

    def __init__(self, resource: Resource, cause: BaseException) -> None:
        self.resource = resource
        super().__init__(f"{resource.logical_id} ({resource.type}): {cause}")


@dataclass(frozen=True)
class Created:
    """What a creator returns: the value of `Ref` and the `Fn::GetAtt` attributes."""

    ref: Any
    attributes: Mapping[str, Any] = field(default_factory=dict)
    status: Status = "created"


@dataclass
class ProvisionedResource:
    logical_id: str
    type: str
    ref: Any
    attributes: Mapping[str, Any]
    properties: Mapping[str, Any]
    metadata: Mapping[str, Any]
    status: Status


@dataclass
class ProvisionedStack:
    template: StackTemplate
    pseudo: PseudoParameters
    resources: dict[str, ProvisionedResource] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def of_type(self, *types: str) -> list[ProvisionedResource]:
        return [r for r in self.resources.values() if r.type in types]

    def physical_id(self, logical_id: str) -> str:
        try:
            return str(self.resources[logical_id].ref)
        except KeyError:
            raise KeyError(f"no resource {logical_id!r} in stack {self.pseudo.stack_name}") from None

    @property
    def skipped(self) -> dict[str, list[str]]:
        """Skipped resource types -> their logical ids (IAM, policies, custom resources, unknown types)."""
        out: dict[str, list[str]] = {}
        for r in self.resources.values():
            if r.status == "skipped":
                out.setdefault(r.type, []).append(r.logical_id)
        return out


@dataclass
class CreateContext:
    """What a creator may use: clients, the environment, naming, and the resources created so far."""

    clients: AwsClients
    pseudo: PseudoParameters
    stack: ProvisionedStack

    def name(self, logical_id: str, max_length: int, suffix: str = "") -> str:
        return physical_name(self.pseudo.stack_name, logical_id, max_length, suffix)

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        p = self.pseudo
        return f"arn:{p.partition}:{service}:{p.region if region else ''}:{p.account_id}:{resource}"

    def warn(self, message: str) -> None:
        self.stack.warnings.append(message)


Creator = Callable[[CreateContext, Resource, dict[str, Any]], Created]


def physical_name(stack_name: str, logical_id: str, max_length: int, suffix: str = "") -> str:
    """Readable and deterministic: `<stack>-<logicalId><suffix>`, shortened with a hash to fit."""
    base = f"{stack_name}-{logical_id}"
    if len(base) + len(suffix) <= max_length:
        return base + suffix
    digest = hashlib.sha1(base.encode()).hexdigest()[:8]
    keep = max_length - len(suffix) - len(digest) - 1
    return f"{base[:keep]}-{digest}{suffix}"


def provision(
    template: StackTemplate,
    clients: AwsClients,
    *,
    account_id: str = MOTO_ACCOUNT_ID,
    parameter_values: Mapping[str, Any] | None = None,
    creators: Mapping[str, Creator] | None = None,
) -> ProvisionedStack:
    """Create every supported resource of `template` on moto and resolve the stack outputs."""
    from local.resources import CREATORS

    creators = CREATORS if creators is None else creators
    started = time.perf_counter()
    pseudo = PseudoParameters(region=clients.region, account_id=account_id, stack_name=template.stack_name)
    stack = ProvisionedStack(template=template, pseudo=pseudo)
    ctx = CreateContext(clients=clients, pseudo=pseudo, stack=stack)
    resolver = Resolver(template, pseudo, _lookup_in(stack), parameter_values)

    for resource in creation_order(template):
        if resource.condition and not resolver.condition(resource.condition):
            continue
        creator = creators.get(resource.type)
        if creator is None:
            stack.resources[resource.logical_id] = _skipped(ctx, resource, resolver)
            continue
        try:
            props = resolver.resolve(dict(resource.properties)) or {}
            created = creator(ctx, resource, props)
        except Exception as exc:
            raise ProvisionError(resource, exc) from exc
        stack.resources[resource.logical_id] = ProvisionedResource(
            logical_id=resource.logical_id,
            type=resource.type,
            ref=created.ref,
            attributes=dict(created.attributes),
            properties=props,
            metadata=resource.metadata,
            status=created.status,
        )

    for name, output in template.outputs.items():
        if output.get("Condition") and not resolver.condition(output["Condition"]):
            continue
        value = resolver.resolve(output["Value"])
        stack.outputs[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    stack.seconds = time.perf_counter() - started
    return stack


def _lookup_in(stack: ProvisionedStack) -> Callable[[str, str | None], Any]:
    def lookup(logical_id: str, attribute: str | None) -> Any:
        resource = stack.resources.get(logical_id)
        if resource is None:
            raise UnresolvedReference(logical_id, attribute)
        if attribute is None:
            return resource.ref
        if attribute in resource.attributes:
            return resource.attributes[attribute]
        if resource.status == "skipped":
            return f"{logical_id}.{attribute}"
        raise TemplateError(f"{logical_id} ({resource.type}) has no attribute {attribute!r}")

    return lookup


# Skipped types whose Ref is an ARN rather than a name.
_REF_IS_ARN = {"AWS::IAM::ManagedPolicy", "AWS::SNS::TopicPolicy", "AWS::StepFunctions::StateMachine"}


def _skipped(ctx: CreateContext, resource: Resource, resolver: Resolver) -> ProvisionedResource:
    """A resource the runtime does not create: synthetic, resolvable identifiers, best-effort properties."""
    name = ctx.name(resource.logical_id, 64)
    service = resource.type.split("::")[1].lower() if resource.type.startswith("AWS::") else "custom"
    if service == "iam":
        kind = resource.type.split("::")[2].lower()
        arn = ctx.arn("iam", f"{kind}/{name}", region=False)
    else:
        arn = ctx.arn(service, name)
    try:
        props = resolver.resolve(dict(resource.properties)) or {}
    except TemplateError:
        props = {}
    return ProvisionedResource(
        logical_id=resource.logical_id,
        type=resource.type,
        ref=arn if resource.type in _REF_IS_ARN else name,
        attributes={"Arn": arn},
        properties=props,
        metadata=resource.metadata,
        status="skipped",
    )
