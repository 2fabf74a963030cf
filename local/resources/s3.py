"""AWS::S3::Bucket on moto.

A bucket gets its versioning, default encryption, public access block, tags and EventBridge notifications (moto then
sends each object's `Object Created` / `Object Deleted` to the matching rules of the region's buses). Lifecycle
rules and server access logging are not applied: moto expires nothing and writes no access logs.

AWS::S3::BucketPolicy is skipped like the other resource policies: moto would evaluate a policy's Deny statements
without their conditions, so `aws:SecureTransport = false` (TLS only) would refuse every request.
"""

from __future__ import annotations

from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import tag_list
from local.template import Resource

MAX_NAME = 63  # S3 bucket names: 3..63 lowercase letters, digits, '.' and '-'
_PUBLIC_ACCESS_BLOCK = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")


def create_bucket(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    s3 = ctx.clients("s3")
    region = ctx.pseudo.region
    name = props.get("BucketName") or ctx.name(resource.logical_id, MAX_NAME).lower()
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":  # us-east-1 refuses its own name as a location constraint
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)

    versioning = (props.get("VersioningConfiguration") or {}).get("Status")
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
    rules = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")
    if rules:
        s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": [_api_rule(rule) for rule in rules]}
        )
    block = props.get("PublicAccessBlockConfiguration")
    if block:
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={k: bool(block[k]) for k in _PUBLIC_ACCESS_BLOCK if k in block},
        )
    if props.get("Tags"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(props["Tags"])})
    eventbridge = (props.get("NotificationConfiguration") or {}).get("EventBridgeConfiguration") or {}
    if str(eventbridge.get("EventBridgeEnabled", "")).lower() == "true":
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )

    arn = f"arn:{ctx.pseudo.partition}:s3:::{name}"
    return Created(
        ref=name,
        attributes={
            "Arn": arn,
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
            "DualStackDomainName": f"{name}.s3.dualstack.{region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{region}.amazonaws.com",
        },
    )


def _api_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's `ServerSideEncryptionByDefault` is the API's `ApplyServerSideEncryptionByDefault`."""
    out: dict[str, Any] = {}
    if "ServerSideEncryptionByDefault" in rule:
        out["ApplyServerSideEncryptionByDefault"] = dict(rule["ServerSideEncryptionByDefault"])
    if "BucketKeyEnabled" in rule:
        out["BucketKeyEnabled"] = str(rule["BucketKeyEnabled"]).lower() == "true"
    return out


CREATORS: dict[str, Creator] = {"AWS::S3::Bucket": create_bucket}
