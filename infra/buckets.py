"""How distrosync's S3 buckets are made: private, TLS only, SSE-KMS with the data key, server access logs to a
bucket of their own (which cdk-nag's S1 is acknowledged for, with the reason)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import nag
from infra.config import EnvConfig


def private_bucket(
    scope: Construct,
    *,
    config: EnvConfig,
    key: kms.IKey,
    what: str,
    log_prefix: str,
    log_retention: cdk.Duration,
    lifecycle_rules: Sequence[s3.LifecycleRule],
    versioned: bool = False,
) -> tuple[s3.Bucket, s3.Bucket]:
    """(`Bucket`, `AccessLogs`) in `scope`; `what` names the bucket in the access-log bucket's nag reason."""
    common = {
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "removal_policy": config.removal_policy,
    }
    access_logs = s3.Bucket(
        scope,
        "AccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,  # server access logs cannot be delivered to SSE-KMS buckets
        lifecycle_rules=[s3.LifecycleRule(id="ExpireAccessLogs", expiration=log_retention)],
        **common,
    )
    nag.acknowledge(
        access_logs,
        "AwsSolutions-S1",
        f"This bucket receives the {what}'s server access logs; logging it into itself would log each log "
        "delivery, and a further bucket would only move the question. Writes come from the S3 log service only.",
    )
    bucket = s3.Bucket(
        scope,
        "Bucket",
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,  # one data key per bucket and period, not one KMS call per object
        versioned=versioned,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=log_prefix,
        lifecycle_rules=list(lifecycle_rules),
        **common,
    )
    return bucket, access_logs
