"""A synthesized CloudFormation template: loading, typed resource views, intrinsic functions, ordering.

The embedded runtime creates everything from this one source (the CDK cloud assembly), never from a second
hand-written list. `load_template` accepts a template file or a cloud assembly directory (`cdk.out`, read
through its `manifest.json`). `Resolver` evaluates intrinsic functions against the physical ids and
attributes of resources created so far; `creation_order` sorts resources so that each comes after what it
references (Ref, Fn::GetAtt, Fn::Sub, DependsOn).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

MOTO_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
_UNKNOWN_ENV = ("unknown-account", "unknown-region")


class TemplateError(Exception):
    """The template cannot be loaded or evaluated."""


class UnresolvedReference(TemplateError):
    """An intrinsic function refers to something that does not exist (yet)."""

    def __init__(self, target: str, attribute: str | None = None) -> None:
        self.target = target
        self.attribute = attribute
        what = f"{target}.{attribute}" if attribute else target
        super().__init__(f"cannot resolve reference to {what}")


class _NoValue:
    """AWS::NoValue: removes the property or list element that evaluates to it."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    depends_on: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    condition: str | None = None

    @classmethod
    def from_json(cls, logical_id: str, body: Mapping[str, Any]) -> Resource:
        depends = body.get("DependsOn", ())
        if isinstance(depends, str):
            depends = (depends,)
        return cls(
            logical_id=logical_id,
            type=body["Type"],
            properties=body.get("Properties") or {},
            depends_on=tuple(depends),
            metadata=body.get("Metadata") or {},
            condition=body.get("Condition"),
        )


@dataclass(frozen=True)
class StackTemplate:
    """One stack's template plus what the cloud assembly says about its environment."""

    body: Mapping[str, Any]
    stack_name: str
    path: Path
    region: str | None = None
    account: str | None = None

    @cached_property
    def resources(self) -> dict[str, Resource]:
        return {lid: Resource.from_json(lid, r) for lid, r in (self.body.get("Resources") or {}).items()}

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type in types]

    @property
    def outputs(self) -> Mapping[str, Mapping[str, Any]]:
        return self.body.get("Outputs") or {}

    @property
    def parameters(self) -> Mapping[str, Mapping[str, Any]]:
        return self.body.get("Parameters") or {}

    @property
    def conditions(self) -> Mapping[str, Any]:
        return self.body.get("Conditions") or {}

    @property
    def mappings(self) -> Mapping[str, Any]:
        return self.body.get("Mappings") or {}

    @property
    def assembly_dir(self) -> Path:
        return self.path.parent


def load_template(path: Path | str, stack_name: str | None = None) -> StackTemplate:
    """Load `path`: a `*.template.json` file or a cloud assembly directory holding `manifest.json`."""
    path = Path(path)
    if path.is_dir():
        return _load_from_assembly(path, stack_name)
    if not path.exists():
        raise TemplateError(f"no template at {path}")
    body = json.loads(path.read_text())
    name = stack_name or path.name.removesuffix(".json").removesuffix(".template")
    env = _environment_from_manifest(path.parent, path.name)
    return StackTemplate(body=body, stack_name=name, path=path, region=env[1], account=env[0])


def _load_from_assembly(directory: Path, stack_name: str | None) -> StackTemplate:
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        raise TemplateError(f"{directory} is not a cloud assembly (no manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    stacks = {
        art.get("properties", {}).get("stackName") or art_id: art
        for art_id, art in manifest.get("artifacts", {}).items()
        if art.get("type") == "aws:cloudformation:stack"
    }
    if not stacks:
        raise TemplateError(f"the cloud assembly {directory} holds no stack")
    if stack_name is None:
        if len(stacks) > 1:
            raise TemplateError(f"the cloud assembly holds several stacks, name one of: {sorted(stacks)}")
        stack_name = next(iter(stacks))
    if stack_name not in stacks:
        raise TemplateError(f"no stack {stack_name!r} in {directory}; stacks: {sorted(stacks)}")
    art = stacks[stack_name]
    template_path = directory / art["properties"]["templateFile"]
    account, region = _parse_environment(art.get("environment", ""))
    return StackTemplate(
        body=json.loads(template_path.read_text()),
        stack_name=stack_name,
        path=template_path,
        region=region,
        account=account,
    )


def _environment_from_manifest(directory: Path, template_file: str) -> tuple[str | None, str | None]:
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        return None, None
    for art in json.loads(manifest_path.read_text()).get("artifacts", {}).values():
        if art.get("properties", {}).get("templateFile") == template_file:
            return _parse_environment(art.get("environment", ""))
    return None, None


def _parse_environment(env: str) -> tuple[str | None, str | None]:
    """`aws://123456789012/us-east-1` -> (account, region); unknown parts -> None."""
    parts = env.removeprefix("aws://").split("/")
    if len(parts) != 2:
        return None, None
    account, region = parts
    return (None if account in _UNKNOWN_ENV else account), (None if region in _UNKNOWN_ENV else region)


# ---------------------------------------------------------------------------------------------- intrinsics


@dataclass(frozen=True)
class PseudoParameters:
    region: str
    account_id: str
    stack_name: str
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    @property
    def stack_id(self) -> str:
        stack_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.account_id}/{self.region}/{self.stack_name}")
        stack = f"stack/{self.stack_name}/{stack_uuid}"
        return f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:{stack}"

    def as_refs(self) -> dict[str, Any]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }


# Looks up the value of `Ref` (attribute None) or `Fn::GetAtt` for a logical id; raises UnresolvedReference.
ReferenceLookup = Callable[[str, str | None], Any]

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates intrinsic functions in a template fragment.

    `lookup(logical_id, attribute)` answers Ref (attribute None) and Fn::GetAtt for resources; parameters
    take their Default unless `parameter_values` overrides them.
    """

    def __init__(
        self,
        template: StackTemplate,
        pseudo: PseudoParameters,
        lookup: ReferenceLookup,
        parameter_values: Mapping[str, Any] | None = None,
    ) -> None:
        self._template = template
        self._pseudo = pseudo.as_refs()
        self._lookup = lookup
        self._parameters = {
            name: (parameter_values or {}).get(name, spec.get("Default")) for name, spec in template.parameters.items()
        }
        self._condition_cache: dict[str, bool] = {}

    # -- public
    def resolve(self, value: Any) -> Any:
        result = self._resolve(value)
        return None if result is NO_VALUE else result

    def condition(self, name: str) -> bool:
        if name not in self._condition_cache:
            if name not in self._template.conditions:
                raise TemplateError(f"unknown condition {name!r}")
            self._condition_cache[name] = bool(self._resolve(self._template.conditions[name]))
        return self._condition_cache[name]

    def ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        return self._lookup(name, None)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return self._lookup(logical_id, attribute)

    # -- evaluation
    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, arg)] = value.items()
            handler = self._FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, arg)
        out = {}
        for k, v in value.items():
            resolved = self._resolve(v)
            if resolved is not NO_VALUE:
                out[k] = resolved
        return out

    def _fn_ref(self, arg: str) -> Any:
        return self.ref(arg)

    def _fn_get_att(self, arg: Any) -> Any:
        if isinstance(arg, str):
            logical_id, _, attribute = arg.partition(".")
        else:
            logical_id, attribute = arg[0], self._resolve(arg[1])
        return self.get_att(logical_id, attribute)

    def _fn_join(self, arg: list[Any]) -> str:
        delimiter, items = arg
        return str(self._resolve(delimiter)).join(_as_str(v) for v in self._resolve(items))

    def _fn_sub(self, arg: Any) -> str:
        if isinstance(arg, str):
            text, variables = arg, {}
        else:
            text, variables = arg[0], {k: self._resolve(v) for k, v in arg[1].items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _as_str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, _, attribute = name.partition(".")
                return _as_str(self.get_att(logical_id, attribute))
            return _as_str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def _fn_select(self, arg: list[Any]) -> Any:
        index, items = self._resolve(arg[0]), self._resolve(arg[1])
        return items[int(index)]

    def _fn_split(self, arg: list[Any]) -> list[str]:
        delimiter, text = arg
        return str(self._resolve(text)).split(self._resolve(delimiter))

    def _fn_if(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self._resolve(when_true if self.condition(name) else when_false)

    def _fn_equals(self, arg: list[Any]) -> bool:
        left, right = (self._resolve(v) for v in arg)
        return _as_str(left) == _as_str(right)

    def _fn_and(self, arg: list[Any]) -> bool:
        return all(self._resolve(v) for v in arg)

    def _fn_or(self, arg: list[Any]) -> bool:
        return any(self._resolve(v) for v in arg)

    def _fn_not(self, arg: list[Any]) -> bool:
        return not self._resolve(arg[0])

    def _fn_condition(self, arg: str) -> bool:
        return self.condition(arg)

    def _fn_find_in_map(self, arg: list[Any]) -> Any:
        name, top, second = (self._resolve(v) for v in arg[:3])
        try:
            return self._template.mappings[name][top][second]
        except KeyError as exc:
            raise TemplateError(f"Fn::FindInMap: no {name}/{top}/{second}") from exc

    def _fn_get_azs(self, arg: Any) -> list[str]:
        region = self._resolve(arg) or self._pseudo["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]

    def _fn_base64(self, arg: Any) -> str:
        return base64.b64encode(_as_str(self._resolve(arg)).encode()).decode()

    def _fn_to_json_string(self, arg: Any) -> str:
        return json.dumps(self._resolve(arg), separators=(",", ":"))

    def _fn_length(self, arg: Any) -> int:
        return len(self._resolve(arg))

    def _fn_import_value(self, arg: Any) -> Any:
        raise TemplateError(f"Fn::ImportValue {self._resolve(arg)!r}: cross-stack imports are not supported")

    _FUNCTIONS: Mapping[str, Callable[[Resolver, Any], Any]] = {
        "Ref": _fn_ref,
        "Fn::GetAtt": _fn_get_att,
        "Fn::Join": _fn_join,
        "Fn::Sub": _fn_sub,
        "Fn::Select": _fn_select,
        "Fn::Split": _fn_split,
        "Fn::If": _fn_if,
        "Fn::Equals": _fn_equals,
        "Fn::And": _fn_and,
        "Fn::Or": _fn_or,
        "Fn::Not": _fn_not,
        "Condition": _fn_condition,
        "Fn::FindInMap": _fn_find_in_map,
        "Fn::GetAZs": _fn_get_azs,
        "Fn::Base64": _fn_base64,
        "Fn::ToJsonString": _fn_to_json_string,
        "Fn::Length": _fn_length,
        "Fn::ImportValue": _fn_import_value,
    }


def _as_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# ------------------------------------------------------------------------------------------------ ordering


def references(value: Any) -> set[str]:
    """Every name an intrinsic in `value` points at (pseudo parameters and parameters included)."""
    found: set[str] = set()
    _collect_references(value, found)
    return found


def _collect_references(value: Any, found: set[str]) -> None:
    if isinstance(value, list):
        for v in value:
            _collect_references(v, found)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        [(key, arg)] = value.items()
        if key == "Ref" and isinstance(arg, str):
            found.add(arg)
            return
        if key == "Fn::GetAtt":
            found.add(arg.partition(".")[0] if isinstance(arg, str) else arg[0])
            _collect_references(arg if isinstance(arg, str) else arg[1:], found)
            return
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            for name in _SUB_VARIABLE.findall(text):
                if not name.startswith("!") and name not in variables:
                    found.add(name.partition(".")[0] if not name.startswith("AWS::") else name)
            _collect_references(variables, found)
            return
    for v in value.values():
        _collect_references(v, found)


def dependencies(resource: Resource, known: Iterable[str]) -> set[str]:
    """Logical ids of the resources `resource` must come after."""
    known = set(known)
    refs = references(dict(resource.properties)) | set(resource.depends_on)
    return {r for r in refs if r in known and r != resource.logical_id}


def creation_order(template: StackTemplate) -> list[Resource]:
    """Resources sorted so that each follows everything it references; ties keep template order."""
    resources = template.resources
    pending = {lid: dependencies(r, resources) for lid, r in resources.items()}
    ordered: list[Resource] = []
    while pending:
        ready = [lid for lid, deps in pending.items() if not deps]
        if not ready:
            raise TemplateError(f"circular dependency between {sorted(pending)}")
        for lid in ready:
            ordered.append(resources[lid])
            del pending[lid]
        for deps in pending.values():
            deps.difference_update(ready)
    return ordered
