"""Creators for the CloudFormation types the embedded runtime provisions, one module per service.

Each module exposes `CREATORS: dict[type, Creator]`; a type missing here is skipped by `local.provision`.
"""

from __future__ import annotations

from collections.abc import Mapping

from local.provision import Creator
from local.resources import (
    apigateway,
    cloudwatch,
    dynamodb,
    events,
    kms,
    lambda_,
    logs,
    s3,
    secrets,
    sns,
    sqs,
    ssm,
    stepfunctions,
)

CREATORS: Mapping[str, Creator] = {
    **apigateway.CREATORS,
    **cloudwatch.CREATORS,
    **dynamodb.CREATORS,
    **events.CREATORS,
    **kms.CREATORS,
    **lambda_.CREATORS,
    **logs.CREATORS,
    **s3.CREATORS,
    **secrets.CREATORS,
    **sns.CREATORS,
    **sqs.CREATORS,
    **ssm.CREATORS,
    **stepfunctions.CREATORS,
}
