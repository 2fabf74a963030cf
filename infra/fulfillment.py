"""Order to ship: the Standard state machine (CDK constructs), its step function, the starter, and the callback
routes (docs/order-to-ship.md).

bus (order.created) --> queue --> order_starter --StartExecution (name = order)--> state machine
state machine --Lambda tasks--> order_flow (one function, one handler per step)
WMS / TMS / carriers --> ingress (pick-complete, dispatch, tracking, cancel) --SendTask*--> state machine

Validate -> Reserve -> Short? (backorder: wait and reserve again | split: reserve what is there, the rest
becomes an order of its own) -> Release (WMS; task token, heartbeat, timeout) -> ErpStatus -> ShipmentReady
(TMS; task token, timeout) -> Dispatch -> Track (task token until delivered) -> Complete.
Every task retries the transient errors with backoff and full jitter; OrderCancelled goes to Compensate ->
Cancelled; anything else to `<Step>Failed` -> RecordException -> Failed (`order.exception`, exceptions list).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra import nag
from infra.api import PartnerApi
from infra.flow import EventFlow
from infra.functions import ApiHandlers, ServiceFunction
from infra.platform import Platform
from shared.domain import order_flow as flow

CALLBACK_ROUTES = (
    ("POST", "/v1/orders/{order_id}/pick-progress"),
    ("POST", "/v1/orders/{order_id}/pick-complete"),
    ("POST", "/v1/orders/{order_id}/dispatch"),
    ("POST", "/v1/orders/{order_id}/cancel"),
)
TRACKING_PATH = "/v1/carriers/{carrier}/tracking"
TRACKING_AUTHENTICATION = (
    "Carriers' tracking webhooks (EasyPost) cannot send our API key. The ingress authenticates every delivery "
    "before any other work: EasyPost's X-Hmac-Signature (hmac-sha256-hex of the raw body with the carrier's "
    "webhook secret, compared in constant time), or, without it, the carrier partner's request signature "
    "(HMAC-SHA256 over timestamp and raw body with its signing secret), verified by the ingress."
)
STARTER_EVENTS = ["order.created"]
STATE_MACHINE_OUTPUT = "OrderFlowStateMachineArn"


class OrderFlow(Construct):
    """The order-to-ship state machine with its functions and routes."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        platform: Platform,
        api: PartnerApi,
        ingress: ApiHandlers,
        orders_table: dynamodb.Table,
        reservations_table: dynamodb.Table,
        inventory_table: dynamodb.Table,
        partners_table: dynamodb.Table,
        idempotency_table: dynamodb.Table,
    ) -> None:
        super().__init__(scope, id)
        config, key, observability = platform.config, platform.key, platform.observability
        settings = config.order_flow
        self._settings = settings

        # ------------------------------------------------------------------------------- the step function
        self.steps = ServiceFunction(
            self,
            "Steps",
            name="order_flow",
            description="The order-to-ship state machine's steps (reserve, release, dispatch, compensate, ...)",
            platform=platform,
            timeout_seconds=settings.step_timeout_seconds,
            environment={
                "ORDERS_TABLE_NAME": orders_table.table_name,
                "RESERVATIONS_TABLE_NAME": reservations_table.table_name,
                "INVENTORY_TABLE_NAME": inventory_table.table_name,
                "PARTNERS_TABLE_NAME": partners_table.table_name,
                "IDEMPOTENCY_TABLE_NAME": idempotency_table.table_name,
                "EVENT_BUS_NAME": platform.bus.event_bus_name,
                "SYSTEM_SECRETS_PREFIX": config.system_secrets_prefix,
                "PARTNER_BREAKER": config.breaker.env_value,
            },
        )
        self.steps.grant_table(orders_table, write=True)  # flow state, demand lines, exceptions list
        self.steps.grant_table(reservations_table, write=True)  # reserve, commit, release
        self.steps.grant_table(inventory_table, write=True)  # the reservation arithmetic on positions
        self.steps.grant_table(partners_table)  # which systems (WMS, TMS, ERP) receive what
        self.steps.grant_table(idempotency_table, write=True)  # delivery records of the adapter calls
        self.steps.grant_secrets_under(
            config.system_secrets_prefix,
            why="The steps call the WMS, TMS and ERP through their adapters; system connection secrets are "
            "created at run time by 'distrosync systems add', one per system.",
        )
        key.grant_decrypt(self.steps.function)
        platform.bus.grant_put_events_to(self.steps.function)

        # ------------------------------------------------------------------------------ the state machine
        self.definition = self._definition()
        machine_name = f"{config.prefix}-order-to-ship"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/{config.prefix}-order-to-ship",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
            encryption_key=key,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(self.definition),
            comment="Order to ship: validate, reserve, release to the WMS, ship with the TMS, track to delivery",
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        nag.acknowledge(
            self.state_machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions' log delivery (logs:CreateLogDelivery, PutResourcePolicy, Describe*...) and X-Ray "
            "tracing support no resource-level permissions; CDK adds them for the logging and tracing it is asked for.",
        )
        nag.acknowledge(
            self.state_machine.role,
            f"AwsSolutions-IAM5[Resource::<{_logical_id(self.steps.function)}.Arn>:*]",
            "CDK grants lambda:InvokeFunction on the step function's ARN and its versions/aliases (`:*`); it is one "
            "function.",
        )

        # ------------------------------------------------------------------------------------ the starter
        self.starter = ServiceFunction(
            self,
            "Starter",
            name="order_starter",
            description="Starts one order-to-ship execution per order.created (named by the order)",
            platform=platform,
            environment={
                "STATE_MACHINE_ARN": self.state_machine.state_machine_arn,
                "ORDER_FLOW_TIMERS": json.dumps(settings.timers.as_input(), sort_keys=True),
            },
        )
        self.state_machine.grant_start_execution(self.starter.function)
        self.start_flow = EventFlow(self, "Flow", platform=platform, event_types=STARTER_EVENTS, handler=self.starter)

        # -------------------------------------------------------------------------------------- callbacks
        ingress.add_environment("ORDER_FLOW_STATE_MACHINE_ARN", self.state_machine.state_machine_arn)
        ingress.grant(self.state_machine.grant_task_response)  # pick-complete, dispatch, tracking, cancel
        # The track step answers its own token when the carrier reported delivery before it started (out of order).
        # By the machine's name, not a reference: the machine already depends on the function.
        self.steps.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                resources=[
                    cdk.Stack.of(self).format_arn(
                        service="states",
                        resource="stateMachine",
                        resource_name=machine_name,
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        for method, path in CALLBACK_ROUTES:
            api.add_route(method, path, ingress.function)
        self.tracking = api.add_route(
            "POST", TRACKING_PATH, ingress.function, api_key_required=False, authenticated_by=TRACKING_AUTHENTICATION
        )

        # ------------------------------------------------------------------------------------ observability
        period = observability.period
        self.failed_alarm = observability.alarm(
            self,
            "ExecutionsFailedAlarm",
            metric=self.state_machine.metric_failed(period=period, statistic="Sum"),
            threshold=1,
            description="order-to-ship executions ended in the exception path: see GET /v1/exceptions",
        )
        self.exceptions_alarm = observability.alarm(
            self,
            "OrderExceptionsAlarm",
            metric=cloudwatch.Metric(
                namespace="Distrosync",
                metric_name="OrderException",
                dimensions_map={"service": "order_flow"},
                period=period,
                statistic="Sum",
            ),
            threshold=1,
            description="orders went to the exception path (a step failed after its retries)",
        )
        observability.add_row(
            "Order to ship",
            observability.graph(
                "Executions started / succeeded / failed",
                self.state_machine.metric_started(period=period, statistic="Sum"),
                right=[
                    self.state_machine.metric_succeeded(period=period, statistic="Sum"),
                    self.state_machine.metric_failed(period=period, statistic="Sum"),
                ],
            ),
            observability.graph(
                "Order to ship time p50 / p90 (s)",
                _custom("OrderToShipSeconds", "p50", period),
                right=[_custom("OrderToShipSeconds", "p90", period)],
            ),
            observability.graph(
                "SLA breaches / exceptions",
                _custom("SlaBreach", "Sum", period, service="ingress"),
                right=[_custom("OrderException", "Sum", period)],
            ),
        )

    # ------------------------------------------------------------------------------------- the definition
    def _definition(self) -> sfn.IChainable:
        failed = sfn.Fail(self, "Failed", error="OrderException", cause="a step failed: see GET /v1/exceptions")
        record_exception = self._task(
            "RecordException",
            "exception",
            extra={"failed_step.$": "$.failed_step", "error.$": "$.error", "timers.$": "$.timers"},
        )
        record_exception.next(failed)
        cancelled = sfn.Succeed(self, "Cancelled", comment="Cancelled before dispatch; compensation done")
        compensate = self._task("Compensate", "compensate", extra={"error.$": "$.error"})
        compensate.next(cancelled)
        self._guard(compensate, "compensate", record_exception, cancellable=False)

        def guarded(task: tasks.LambdaInvoke, step: str) -> tasks.LambdaInvoke:
            self._guard(task, step, record_exception, compensate=compensate)
            return task

        validate = guarded(self._task("Validate", "validate"), "validate")
        reserve = guarded(self._task("Reserve", "reserve", result_path="$.reserve"), "reserve")
        split = guarded(self._task("Split", "split", result_path="$.reserve"), "split")
        backorder = guarded(
            self._task("Backorder", "backorder", extra={"max_rounds.$": "$.timers.backorder_rounds"}), "backorder"
        )
        recheck = sfn.Wait(self, "WaitForStock", time=sfn.WaitTime.seconds_path("$.timers.backorder_recheck"))
        release = guarded(
            self._task(
                "Release",
                "release",
                token=True,
                heartbeat=sfn.Timeout.at("$.timers.pick_heartbeat"),
                timeout=sfn.Timeout.at("$.timers.pick_timeout"),
            ),
            "release",
        )
        erp_status = guarded(self._task("ErpStatus", "erp_status"), "erp_status")
        ship = guarded(
            self._task("ShipmentReady", "ship", token=True, timeout=sfn.Timeout.at("$.timers.dispatch_timeout")),
            "ship",
        )
        dispatch = guarded(self._task("Dispatch", "dispatch"), "dispatch")
        track = guarded(
            self._task("Track", "track", token=True, timeout=sfn.Timeout.at("$.timers.delivery_timeout")), "track"
        )
        complete = guarded(self._task("Complete", "complete"), "complete")
        completed = sfn.Succeed(self, "Completed", comment="Delivered")

        short = (
            sfn.Choice(self, "Short?")
            .when(sfn.Condition.string_equals("$.reserve.outcome", "reserved"), release)
            .when(
                sfn.Condition.and_(
                    sfn.Condition.string_equals("$.reserve.outcome", "short"),
                    sfn.Condition.string_equals("$.reserve.policy", "split"),
                ),
                split,
            )
            .otherwise(backorder)
        )
        split.next(short)
        backorder.next(recheck)
        recheck.next(reserve)
        reserve.next(short)
        release.next(erp_status).next(ship).next(dispatch).next(track).next(complete).next(completed)
        return validate.next(reserve)

    def _task(
        self,
        id: str,
        step: str,
        *,
        token: bool = False,
        result_path: str | None = None,
        heartbeat: sfn.Timeout | None = None,
        timeout: sfn.Timeout | None = None,
        extra: dict[str, str] | None = None,
    ) -> tasks.LambdaInvoke:
        """A Lambda task of the step function: `{"step", "order_id", ["token"]}` in; the output (small) at
        `result_path` or discarded. Transient errors are retried with backoff and full jitter."""
        payload: dict[str, object] = {"step": step, "order_id.$": "$.order_id", "correlation_id.$": "$.correlation_id"}
        if token:
            payload["token"] = sfn.JsonPath.task_token
        for name, path in (extra or {}).items():
            payload[name] = path
        options: dict[str, object] = (
            {"integration_pattern": sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN}
            if token
            else {"payload_response_only": True}  # the output is the function's return value
        )
        task = tasks.LambdaInvoke(
            self,
            id,
            lambda_function=self.steps.function,
            payload=sfn.TaskInput.from_object(payload),
            result_path=result_path or sfn.JsonPath.DISCARD,
            heartbeat_timeout=heartbeat,
            task_timeout=timeout,
            retry_on_service_exceptions=True,
            **options,
        )
        self._retry(task)
        return task

    def _retry(self, task: tasks.LambdaInvoke) -> None:
        settings = self._settings
        task.add_retry(
            errors=list(flow.TRANSIENT_ERRORS),
            interval=cdk.Duration.seconds(settings.retry_interval_seconds),
            max_attempts=settings.retry_max_attempts,
            backoff_rate=2.0,
            max_delay=cdk.Duration.seconds(settings.retry_max_delay_seconds),
            jitter_strategy=sfn.JitterType.FULL,
        )

    def _guard(
        self,
        task: tasks.LambdaInvoke,
        step: str,
        record_exception: sfn.IChainable,
        *,
        compensate: sfn.IChainable | None = None,
        cancellable: bool = True,
    ) -> None:
        """OrderCancelled -> compensation; any other error -> `<Step>Failed` (names the step) -> RecordException."""
        if cancellable and compensate is not None:
            task.add_catch(compensate, errors=[flow.ORDER_CANCELLED], result_path="$.error")
        name = "".join(part.capitalize() for part in step.split("_"))
        mark = sfn.Pass(self, f"{name}Failed", result=sfn.Result.from_string(step), result_path="$.failed_step").next(
            record_exception
        )
        task.add_catch(mark, errors=[sfn.Errors.ALL], result_path="$.error")


def _logical_id(function: object) -> str:
    stack = cdk.Stack.of(function)  # type: ignore[arg-type]
    return stack.resolve(stack.get_logical_id(function.node.default_child))  # type: ignore[attr-defined]


def _custom(name: str, statistic: str, period: cdk.Duration, service: str = "order_flow") -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="Distrosync",
        metric_name=name,
        dimensions_map={"service": service},
        period=period,
        statistic=statistic,
    )
