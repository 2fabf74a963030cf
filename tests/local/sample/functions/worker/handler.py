"""An SQS consumer with partial batch responses (Powertools BatchProcessor); bodies holding "poison" fail."""

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from sample_shared import config

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
table = boto3.client("dynamodb")


def record_handler(record):
    if "poison" in record.body:
        raise ValueError(f"poison message {record.message_id}")
    table.put_item(TableName=config.TABLE_NAME, Item={"pk": {"S": record.body}, "sk": {"S": "processed"}})
    metrics.add_metric(name="Processed", unit=MetricUnit.Count, value=1)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event, context):
    logger.info("batch", extra={"size": len(event["Records"]), "service_at_import": config.SERVICE})
    metrics.add_metric(name="Batches", unit=MetricUnit.Count, value=1)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
