"""Small readers for synthesized CloudFormation templates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Resource = dict[str, Any]


def resources(template: dict[str, Any], type_: str) -> Iterator[tuple[str, Resource]]:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == type_:
            yield logical_id, resource


def one(template: dict[str, Any], type_: str, prefix: str) -> tuple[str, Resource]:
    """The only resource of `type_` whose logical id starts with `prefix`."""
    found = [(lid, r) for lid, r in resources(template, type_) if lid.startswith(prefix)]
    assert len(found) == 1, f"{type_} {prefix}*: {[lid for lid, _ in found]}"
    return found[0]


def functions_by_source(template: dict[str, Any]) -> dict[str, tuple[str, Resource]]:
    """Lambda functions by their `functions/<name>` folder (`distrosync:source` metadata): name -> (id, resource)."""
    return {
        r["Metadata"]["distrosync:source"].removeprefix("functions/"): (lid, r)
        for lid, r in resources(template, "AWS::Lambda::Function")
    }


def props(resource: Resource) -> dict[str, Any]:
    return resource.get("Properties", {})


def ref_id(value: Any) -> str | None:
    """The logical id behind `{"Ref": id}` or `{"Fn::GetAtt": [id, attr]}`."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def resource_text(value: Any) -> str:
    """A policy statement's resource as text, logical-id hashes dropped: `<EdiBucket.Arn>/inbound/*`."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        return "".join(resource_text(part) for part in value["Fn::Join"][1])
    lid = ref_id(value)
    assert lid is not None, value
    short = lid.rstrip("0123456789ABCDEF")
    return f"<{short}.{value['Fn::GetAtt'][1]}>" if "Fn::GetAtt" in value else f"<{short}>"


def dlq_alarms(template: dict[str, Any], queue_id: str) -> list[Resource]:
    """Alarms on the visible-message count of the queue `queue_id`."""
    found = []
    for _, alarm in resources(template, "AWS::CloudWatch::Alarm"):
        p = props(alarm)
        dims = {d["Name"]: ref_id(d["Value"]) for d in p.get("Dimensions", [])}
        if p.get("MetricName") == "ApproximateNumberOfMessagesVisible" and dims.get("QueueName") == queue_id:
            found.append(alarm)
    return found


def api_paths(template: dict[str, Any]) -> dict[str, str]:
    """Logical id of every API Gateway resource -> its full path (e.g. `/v1/inventory/{sku}`)."""
    nodes = {lid: props(r) for lid, r in resources(template, "AWS::ApiGateway::Resource")}

    def path(lid: str) -> str:
        node = nodes[lid]
        parent = ref_id(node["ParentId"])
        prefix = path(parent) if parent in nodes else ""
        return f"{prefix}/{node['PathPart']}"

    return {lid: path(lid) for lid in nodes}
