"""AWS::DynamoDB::Table and AWS::DynamoDB::GlobalTable (CDK TableV2, created as one regional table) on moto."""

from __future__ import annotations

from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import pick, tag_list
from local.template import Resource

MAX_NAME = 255
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")


def create_table(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    name = props.get("TableName") or ctx.name(resource.logical_id, MAX_NAME)
    replica = _replica_for(ctx.pseudo.region, props) if resource.type == "AWS::DynamoDB::GlobalTable" else {}
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if kwargs["BillingMode"] == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = props.get("ProvisionedThroughput") or _throughput(props)
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            kwargs[key] = [_index(i, kwargs["BillingMode"]) for i in props[key]]
    if (stream := props.get("StreamSpecification")) and stream.get("StreamViewType"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    if sse := _sse(props.get("SSESpecification"), replica.get("SSESpecification")):
        kwargs["SSESpecification"] = sse
    kwargs.update(pick(props, ("TableClass", "DeletionProtectionEnabled")))
    kwargs.update(pick(replica, ("TableClass", "DeletionProtectionEnabled")))
    tags = props.get("Tags") or replica.get("Tags")
    if tags:
        kwargs["Tags"] = tag_list(tags)

    ddb = ctx.clients("dynamodb")
    table = ddb.create_table(**kwargs)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
        )
    pitr = props.get("PointInTimeRecoverySpecification") or replica.get("PointInTimeRecoverySpecification")
    if pitr and pitr.get("PointInTimeRecoveryEnabled"):
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    attributes = {"Arn": table["TableArn"], "TableId": table.get("TableId", "")}
    if table.get("LatestStreamArn"):
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Created(ref=name, attributes=attributes)


def _replica_for(region: str, props: dict[str, Any]) -> dict[str, Any]:
    replicas = props.get("Replicas") or []
    return next((r for r in replicas if r.get("Region") == region), replicas[0] if replicas else {})


def _throughput(props: dict[str, Any]) -> dict[str, int]:
    write = (props.get("WriteProvisionedThroughputSettings") or {}).get("WriteCapacityAutoScalingSettings", {})
    return {"ReadCapacityUnits": 5, "WriteCapacityUnits": int(write.get("MinCapacity", 5))}


def _index(index: dict[str, Any], billing_mode: str) -> dict[str, Any]:
    out = pick(index, _INDEX_KEYS)
    if billing_mode == "PROVISIONED" and "ProvisionedThroughput" not in out:
        out["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    return out


def _sse(table_sse: dict[str, Any] | None, replica_sse: dict[str, Any] | None) -> dict[str, Any] | None:
    if not table_sse or not table_sse.get("SSEEnabled"):
        return None
    sse: dict[str, Any] = {"Enabled": True}
    if table_sse.get("SSEType"):
        sse["SSEType"] = table_sse["SSEType"]
    key = table_sse.get("KMSMasterKeyId") or (replica_sse or {}).get("KMSMasterKeyId")
    if key:
        sse["KMSMasterKeyId"] = key
    return sse


CREATORS: dict[str, Creator] = {
    "AWS::DynamoDB::Table": create_table,
    "AWS::DynamoDB::GlobalTable": create_table,
}
