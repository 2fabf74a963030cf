"""Echoes what API Gateway handed it, plus a few routes that misbehave on purpose."""

import base64
import json
import os

from sample_shared import config

GREETING_AT_IMPORT = os.environ.get("GREETING")


def lambda_handler(event, context):
    path = event["path"]
    if path.endswith("/boom"):
        raise ValueError("boom")
    if path.endswith("/malformed"):
        return {"statusCode": 200, "body": {"not": "a string"}}
    if path.endswith("/binary"):
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(b"\x00\xff").decode(),
            "isBase64Encoded": True,
        }
    seen = {
        "event": event,
        "service_at_import": config.SERVICE,
        "greeting_at_import": GREETING_AT_IMPORT,
        "greeting_now": os.environ.get("GREETING"),
        "context": {
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
        },
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "X-Echo": "yes"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(seen),
    }
