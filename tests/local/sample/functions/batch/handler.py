"""An SQS consumer without partial batch responses: one bad record fails the whole batch.

Bodies are JSON: {"kind": "task", "id": ..., "fail": bool}. The mapping filters on kind = task.
"""

import json

import boto3
from sample_shared import config

table = boto3.client("dynamodb")


def lambda_handler(event, context):
    bodies = [json.loads(r["body"]) for r in event["Records"]]
    print(json.dumps({"batch_size": len(bodies), "ids": [b["id"] for b in bodies]}))
    if any(b.get("fail") for b in bodies):
        raise RuntimeError("a record failed")
    for body in bodies:
        table.put_item(TableName=config.TABLE_NAME, Item={"pk": {"S": body["id"]}, "sk": {"S": "batch"}})
