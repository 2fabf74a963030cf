"""Order starter (SQS, from EventBridge `order.created`): one order-to-ship execution per order.

The execution is named after the order (`execution_name`), so a duplicate `order.created`, a replay or a
second channel delivery of the same order cannot start a second one: Step Functions answers
ExecutionAlreadyExists, a `Duplicate` the consumer acknowledges and counts. The input is the order id, the flow's
correlation id and the timers (ORDER_FLOW_TIMERS) the definition reads its waits from.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.aws.clients import client
from shared.aws.consumer import SqsConsumer, parse_body
from shared.canonical.parse import envelope_from_eventbridge
from shared.domain.failures import Duplicate
from shared.domain.order_flow import Timers, execution_name
from shared.observability import MetricUnit, logger, metrics, tracer
from shared.settings import OrderStarterSettings

settings = OrderStarterSettings.from_env()
timers = Timers.parse(settings.timers_json)  # a bad value fails the cold start, loudly, not each order
consumer = SqsConsumer()


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    envelope = parse_body(envelope_from_eventbridge, record)
    order_id = envelope.subject
    logger.set_correlation_id(envelope.correlation_id)
    sfn = client("stepfunctions")
    document = {"order_id": order_id, "correlation_id": envelope.correlation_id, "timers": timers.as_input()}
    try:
        started = sfn.start_execution(
            stateMachineArn=settings.state_machine_arn,
            name=execution_name(order_id),
            input=json.dumps(document),
        )
    except sfn.exceptions.ExecutionAlreadyExists as exc:
        metrics.add_metric(name="OrderFlowDuplicate", unit=MetricUnit.Count, value=1)
        raise Duplicate(f"the order flow of {order_id} is already started") from exc  # acknowledged, counted
    logger.info("order flow started", extra={"order_id": order_id, "execution_arn": started["executionArn"]})
    metrics.add_metric(name="OrderFlowStarted", unit=MetricUnit.Count, value=1)
    return "started"


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consumer.process(event, context, record_handler)
