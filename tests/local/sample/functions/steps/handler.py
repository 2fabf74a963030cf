"""Tasks of the sample order flow (a state machine): price an order, reserve it, park it for confirmation.

"reserve" fails with TransientError on an order's first attempt (attempts are counted in the table, as they
would be across Lambda instances), so that the state machine's Retry is what makes it succeed; "price" raises
PermanentError for a quantity below 1, which the state machine catches; "park" answers its own token for an
order named `answered-...` (what it waits for had happened already).
"""

import json

import boto3
from aws_lambda_powertools import Logger
from sample_shared import config

logger = Logger()
table = boto3.client("dynamodb")
UNIT_PRICE = 5


class TransientError(Exception):
    pass


class PermanentError(Exception):
    pass


def price(event):
    if event["quantity"] < 1:
        raise PermanentError(f"quantity {event['quantity']} of {event['sku']} is not orderable")
    return {"sku": event["sku"], "total": event["quantity"] * UNIT_PRICE}


def reserve(event):
    updated = table.update_item(
        TableName=config.TABLE_NAME,
        Key={"pk": {"S": f"order#{event['order']}"}, "sk": {"S": "reserve-attempts"}},
        UpdateExpression="ADD attempts :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    attempts = int(updated["Attributes"]["attempts"]["N"])
    if attempts < 2:
        raise TransientError(f"reservation of {event['order']} timed out (attempt {attempts})")
    return {"reserved": event["order"], "attempts": attempts}


def park(event):
    logger.info("waiting for confirmation", extra={"order": event["order"], "has_token": bool(event["token"])})
    if event["order"].startswith("answered-"):
        output = json.dumps({"confirmed": True, "by": "park"})
        boto3.client("stepfunctions").send_task_success(taskToken=event["token"], output=output)
    return {"parked": event["order"]}


STEPS = {"price": price, "reserve": reserve, "park": park}


@logger.inject_lambda_context
def lambda_handler(event, context):
    return STEPS[event["step"]](event)
