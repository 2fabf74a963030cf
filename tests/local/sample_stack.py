"""The sample CDK stacks of the embedded runtime's tests, and helpers the tests share.

`local-base` has one of each kind of resource the runtime handles; `local-extended` is the same stack plus one
queue and one rule added "in infra", to show they appear and route with no other change, and a state machine
(`OrderFlow`: Lambda tasks with a Retry, a Catch and a task-token wait). Both are built by the same function and
synthesized by one `app.synth()`. Handlers live in `sample/functions/<name>/`.
"""

from __future__ import annotations

import json
from pathlib import Path

SAMPLE = Path(__file__).parent / "sample"
BASE, EXTENDED = "local-base", "local-extended"
API_KEY_HEADERS = {"Content-Type": "'application/problem+json'"}


def build_stack(app, name: str, *, extended: bool = False):
    import aws_cdk as cdk
    from aws_cdk import aws_apigateway as apigw
    from aws_cdk import aws_cloudwatch as cw
    from aws_cdk import aws_cloudwatch_actions as cw_actions
    from aws_cdk import aws_dynamodb as ddb
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_lambda_event_sources as sources
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_secretsmanager as secrets
    from aws_cdk import aws_sns as sns
    from aws_cdk import aws_sqs as sqs
    from aws_cdk import aws_ssm as ssm

    stack = cdk.Stack(app, name, env=cdk.Environment(account="123456789012", region="us-east-1"))
    key = kms.Key(stack, "DataKey", enable_key_rotation=True)
    table = ddb.Table(
        stack,
        "Items",
        partition_key=ddb.Attribute(name="pk", type=ddb.AttributeType.STRING),
        sort_key=ddb.Attribute(name="sk", type=ddb.AttributeType.STRING),
        billing_mode=ddb.BillingMode.PAY_PER_REQUEST,
        time_to_live_attribute="expires",
        stream=ddb.StreamViewType.NEW_AND_OLD_IMAGES,
        encryption=ddb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    table.add_global_secondary_index(
        index_name="by-owner", partition_key=ddb.Attribute(name="owner", type=ddb.AttributeType.STRING)
    )

    work_dlq = sqs.Queue(stack, "WorkDlq", queue_name=f"{name}-work-dlq")
    work = sqs.Queue(
        stack,
        "Work",
        queue_name=f"{name}-work",
        visibility_timeout=cdk.Duration.seconds(30),
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        dead_letter_queue=sqs.DeadLetterQueue(queue=work_dlq, max_receive_count=3),
    )
    batch_dlq = sqs.Queue(stack, "BatchDlq")
    batch = sqs.Queue(stack, "Batch", dead_letter_queue=sqs.DeadLetterQueue(queue=batch_dlq, max_receive_count=2))
    sqs.Queue(stack, "Ordered", fifo=True, content_based_deduplication=True)
    parked = sqs.Queue(stack, "Parked")

    bus = events.EventBus(stack, "Bus", event_bus_name=f"{name}-bus")
    bus.archive("Archive", event_pattern=events.EventPattern(source=["sample.work"]), retention=cdk.Duration.days(1))
    events.Rule(
        stack,
        "WorkRule",
        event_bus=bus,
        event_pattern=events.EventPattern(source=["sample.work", "sample.other"], detail_type=["work.requested"]),
        targets=[targets.SqsQueue(work, dead_letter_queue=work_dlq, retry_attempts=2)],
    )
    events.Rule(
        stack,
        "DisabledRule",
        event_bus=bus,
        enabled=False,
        event_pattern=events.EventPattern(source=["sample.parked"]),
        targets=[targets.SqsQueue(parked)],
    )

    environment = {"TABLE_NAME": table.table_name, "GREETING": "hello", "QUEUE_URL": work.queue_url}

    def function(logical_id: str, folder: str, **kwargs) -> lambda_.Function:
        fn = lambda_.Function(
            stack,
            logical_id,
            function_name=f"{name}-{folder}",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="handler.lambda_handler",
            code=lambda_.Code.from_asset(str(SAMPLE / "functions" / folder)),
            environment={**environment, "POWERTOOLS_SERVICE_NAME": folder},
            **kwargs,
        )
        fn.node.default_child.add_metadata("distrosync:source", f"functions/{folder}")
        table.grant_read_write_data(fn)
        return fn

    worker = function("Worker", "worker", timeout=cdk.Duration.seconds(10), memory_size=256)
    worker.add_event_source(sources.SqsEventSource(work, batch_size=5, report_batch_item_failures=True))
    batcher = function("Batcher", "batch")
    batcher.add_event_source(
        sources.SqsEventSource(
            batch,
            batch_size=20,
            max_batching_window=cdk.Duration.seconds(1),
            filters=[lambda_.FilterCriteria.filter({"body": {"kind": lambda_.FilterRule.is_equal("task")}})],
        )
    )
    api_fn = function("ApiHandler", "api")

    api = apigw.RestApi(
        stack,
        "Api",
        rest_api_name=f"{name}-api",
        deploy_options=apigw.StageOptions(stage_name="v1"),
        binary_media_types=["application/octet-stream"],
    )
    integration = apigw.LambdaIntegration(api_fn)
    inventory = api.root.add_resource("v1").add_resource(
        "inventory", default_cors_preflight_options=apigw.CorsOptions(allow_origins=["https://example.com"])
    )
    inventory.add_method("POST", integration, api_key_required=True)
    inventory.add_resource("{sku}").add_method("GET", integration, api_key_required=True)
    inventory.add_resource("summary").add_method("GET", integration, api_key_required=True)
    api.root.add_resource("open").add_proxy(default_integration=integration, any_method=True)
    standard = api.add_usage_plan(
        "Standard",
        name=f"{name}-standard",
        throttle=apigw.ThrottleSettings(rate_limit=1, burst_limit=2),
        quota=apigw.QuotaSettings(limit=1000, period=apigw.Period.DAY),
    )
    standard.add_api_stage(stage=api.deployment_stage)
    tiny = api.add_usage_plan("Tiny", name=f"{name}-tiny", quota=apigw.QuotaSettings(limit=3, period=apigw.Period.DAY))
    tiny.add_api_stage(stage=api.deployment_stage)
    problem = (
        '{"type":"urn:sample:problem:%s","status":%d,"instance":"$context.path","request_id":"$context.requestId"}'
    )
    for logical_id, kind, status, slug in (
        ("BadKey", apigw.ResponseType.INVALID_API_KEY, "401", "invalid-api-key"),
        ("Throttled", apigw.ResponseType.THROTTLED, "429", "throttled"),
        ("NoRoute", apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "not-found"),
        ("Default4xx", apigw.ResponseType.DEFAULT_4_XX, None, "client-error"),
    ):
        api.add_gateway_response(
            logical_id,
            type=kind,
            status_code=status,
            response_headers=API_KEY_HEADERS,
            templates={"application/json": problem % (slug, int(status or 400))},
        )

    topic = sns.Topic(stack, "Alarms")
    alarm = cw.Alarm(
        stack,
        "WorkDlqAlarm",
        metric=work_dlq.metric_approximate_number_of_messages_visible(),
        threshold=1,
        evaluation_periods=1,
    )
    alarm.add_alarm_action(cw_actions.SnsAction(topic))
    logs.LogGroup(stack, "AuditLog", retention=logs.RetentionDays.ONE_WEEK, removal_policy=cdk.RemovalPolicy.DESTROY)
    secret = secrets.Secret(
        stack,
        "Signing",
        generate_secret_string=secrets.SecretStringGenerator(
            secret_string_template=json.dumps({"user": "sample"}), generate_string_key="password"
        ),
    )
    ssm.StringParameter(stack, "Setting", parameter_name=f"/{name}/setting", string_value="on")

    outputs = {
        "TableName": table.table_name,
        "BusName": bus.event_bus_name,
        "WorkQueueUrl": work.queue_url,
        "SecretArn": secret.secret_arn,
        "ApiUrl": api.url,
        "UsagePlanIdStandard": standard.usage_plan_id,
        "UsagePlanIdTiny": tiny.usage_plan_id,
        "AlarmTopicArn": topic.topic_arn,
    }
    if extended:  # what an infra change adds: one queue and one rule routing to it, and a state machine
        audit = sqs.Queue(stack, "AuditQueue", queue_name=f"{name}-audit")
        events.Rule(
            stack,
            "AuditRule",
            event_bus=bus,
            event_pattern=events.EventPattern(source=events.Match.prefix("sample."), detail_type=["audit.recorded"]),
            targets=[targets.SqsQueue(audit)],
        )
        outputs["OrderFlowArn"] = order_flow(stack, name, function("Steps", "steps")).state_machine_arn
    for output_id, value in outputs.items():
        cdk.CfnOutput(stack, output_id, value=value)
    return stack


def order_flow(stack, name: str, steps):
    """Price (`lambda:invoke`, PermanentError caught to Release -> Rejected), Reserve (plain Lambda ARN task,
    TransientError retried once), Confirm (`lambda:invoke.waitForTaskToken` with a heartbeat: waits for
    SendTaskSuccess)."""
    import aws_cdk as cdk
    from aws_cdk import aws_stepfunctions as sfn
    from aws_cdk import aws_stepfunctions_tasks as tasks

    order = sfn.JsonPath.string_at("$.order")
    price = tasks.LambdaInvoke(
        stack,
        "Price",
        lambda_function=steps,
        payload=sfn.TaskInput.from_object(
            {"step": "price", "sku": sfn.JsonPath.string_at("$.sku"), "quantity": sfn.JsonPath.number_at("$.quantity")}
        ),
        result_selector={"total": sfn.JsonPath.number_at("$.Payload.total")},
        result_path="$.price",
    )
    reserve = tasks.LambdaInvoke(
        stack,
        "Reserve",
        lambda_function=steps,
        payload_response_only=True,
        payload=sfn.TaskInput.from_object({"step": "reserve", "order": order}),
        result_path="$.reservation",
    )
    reserve.add_retry(errors=["TransientError"], interval=cdk.Duration.seconds(1), max_attempts=2, backoff_rate=1)
    confirm = tasks.LambdaInvoke(
        stack,
        "Confirm",
        lambda_function=steps,
        integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload=sfn.TaskInput.from_object({"step": "park", "order": order, "token": sfn.JsonPath.task_token}),
        result_path="$.confirmation",
        heartbeat_timeout=sfn.Timeout.duration(cdk.Duration.seconds(60)),
    )
    rejected = sfn.Pass(stack, "Release").next(
        sfn.Fail(stack, "Rejected", error="OrderRejected", cause="the order cannot be priced")
    )
    price.add_catch(rejected, errors=["PermanentError"], result_path="$.error")
    definition = price.next(reserve).next(confirm).next(sfn.Succeed(stack, "Done"))
    return sfn.StateMachine(
        stack,
        "OrderFlow",
        state_machine_name=f"{name}-order-flow",
        definition_body=sfn.DefinitionBody.from_chainable(definition),
    )


def make_api_key(rt, plan_output: str, *, enabled: bool = True) -> dict:
    import boto3

    apigw = boto3.client("apigateway")
    key = apigw.create_api_key(name=f"key-{plan_output}", enabled=enabled)
    apigw.create_usage_plan_key(usagePlanId=rt.outputs[plan_output], keyId=key["id"], keyType="API_KEY")
    return key
