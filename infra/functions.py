"""`ServiceFunction`: how every distrosync Lambda is built (see docs/contracts.md, "Lambda functions")."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import aws_cdk as cdk
import jsii
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import nag, target
from infra.layers import IGNORED
from infra.platform import Platform
from infra.wheelhouse import REPO_ROOT

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64 if target.ARCHITECTURE == "arm64" else lambda_.Architecture.X86_64
FUNCTIONS_DIR = REPO_ROOT / "functions"
SOURCE_METADATA_KEY = "distrosync:source"
METRICS_NAMESPACE = "Distrosync"

assert RUNTIME.name == f"python{target.PYTHON_VERSION}", "infra/target.py and RUNTIME disagree"


class ServiceFunction(Construct):
    """A Python function whose code is `functions/<name>/` (entry point `handler.lambda_handler`).

    Comes with its own encrypted log group, a role that can write only to that log group, active
    X-Ray tracing, the contract's environment variables, the `distrosync:source` metadata the
    embedded runtime uses, and an errors alarm.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        platform: Platform,
        environment: Mapping[str, str] | None = None,
        timeout_seconds: int | None = None,
        memory_mb: int | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        config, key, observability = platform.config, platform.key, platform.observability
        source = FUNCTIONS_DIR / name
        if not (source / "handler.py").is_file():
            raise FileNotFoundError(f"{source}/handler.py is missing: every function needs one")
        self.name = name
        self.source = f"functions/{name}"
        self._dead_letters: dict[str, dict[str, object]] = {}
        self.timeout_seconds = timeout_seconds or config.functions.worker_timeout_seconds
        function_name = f"{config.prefix}-{name}"

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
            encryption_key=key,
        )
        # A dedicated role instead of AWSLambdaBasicExecutionRole: it may write to its log group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{function_name} execution role",
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description or f"distrosync {name}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.lambda_handler",
            code=lambda_.Code.from_asset(str(source), exclude=list(IGNORED)),
            layers=platform.layers.all,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=cdk.Duration.seconds(self.timeout_seconds),
            memory_size=memory_mb or config.functions.memory_mb,
            environment={
                "DISTROSYNC_ENV": config.name,
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": config.functions.log_level,
                **(environment or {}),
            },
        )
        cfn_function: lambda_.CfnFunction = self.function.node.default_child  # type: ignore[assignment]
        cfn_function.add_metadata(SOURCE_METADATA_KEY, self.source)
        nag.acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support "
            "no resource-level permissions (tests/infra assert that only X-Ray actions use Resource *).",
        )

        self.errors_alarm = observability.alarm(
            self,
            "ErrorsAlarm",
            metric=self.function.metric_errors(period=observability.period, statistic="Sum"),
            threshold=config.alarms.lambda_errors,
            description=f"{function_name} invocations are failing",
        )

    def add_environment(self, name: str, value: str) -> None:
        self.function.add_environment(name, value)

    def add_dead_letters(self, source_queue_name: str, *, dlq_url: str, queue_url: str, max_receive_count: int) -> None:
        """Tell the function's SQS consumer (DEAD_LETTERS) where the messages of one source queue go when they fail
        for good. A function fed by several flows gets one entry per queue, written once all are known."""
        if not self._dead_letters:
            stack = cdk.Stack.of(self)
            entries = self._dead_letters
            self.function.add_environment(
                "DEAD_LETTERS", cdk.Lazy.uncached_string(_Produce(lambda: stack.to_json_string(entries)))
            )
        self._dead_letters[source_queue_name] = {
            "dlq": dlq_url,
            "queue": queue_url,
            "max_receive_count": max_receive_count,
        }

    def grant_secrets_under(self, prefix: str, *, why: str) -> None:
        """GetSecretValue on the secrets whose names start with `prefix` (created at run time, one per partner or
        system, so their ARNs, which end in a random suffix, are not known at deploy time)."""
        stack = cdk.Stack.of(self)
        arn = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{prefix}*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[arn])
        )
        nag.acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::arn:aws:secretsmanager:{stack.region}:{stack.account}:secret:{prefix}*]",
            f"{why} Their ARNs end in a random suffix unknown at deploy time; access is limited to the prefix.",
        )

    def grant_table(self, table: dynamodb.Table, *, write: bool = False) -> None:
        """Read (or read/write) access to `table` and its indexes, including use of its KMS key."""
        if write:
            table.grant_read_write_data(self.function)
            for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
                nag.acknowledge(
                    self.role,
                    f"AwsSolutions-IAM5[Action::{action}]",
                    "CDK's DynamoDB write grant on a table encrypted with the customer-managed data key; the "
                    "wildcard only spans that action's variants and the resource is that single key.",
                )
        else:
            table.grant_read_data(self.function)
        stack = cdk.Stack.of(table)
        logical_id = stack.resolve(stack.get_logical_id(table.node.default_child))  # type: ignore[arg-type]
        nag.acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/index/*]",
            "Queries on the secondary indexes of this one table (e.g. partners by-api-key): CDK grants "
            "<table ARN>/index/*, which spans only that table's indexes.",
        )


@jsii.implements(cdk.IStringProducer)
class _Produce:
    """A string produced at synthesis (`cdk.Lazy`), once every construct has had its say."""

    def __init__(self, produce: Callable[[], str]) -> None:
        self._produce = produce

    def produce(self, context: cdk.IResolveContext) -> str:
        return self._produce()


class ApiHandlers:
    """The ingress and its twins: functions that call the same services as the API routes, as a partner.

    A twin (e.g. `edi_inbound`, which hands mapped X12 sets to those services) must be able to do whatever the
    ingress does, so every construct that gives the ingress an environment variable or a permission for its
    services gives it to the twins as well, through this one object. Routes go to the ingress alone (`function`).
    """

    def __init__(self, primary: ServiceFunction, *twins: ServiceFunction) -> None:
        self.primary = primary
        self.twins = twins

    @property
    def all(self) -> tuple[ServiceFunction, ...]:
        return (self.primary, *self.twins)

    @property
    def function(self) -> lambda_.Function:
        """The ingress's function: the target of the API routes."""
        return self.primary.function

    def add_environment(self, name: str, value: str) -> None:
        for handler in self.all:
            handler.add_environment(name, value)

    def grant_table(self, table: dynamodb.Table, *, write: bool = False) -> None:
        for handler in self.all:
            handler.grant_table(table, write=write)

    def grant_secrets_under(self, prefix: str, *, why: str) -> None:
        for handler in self.all:
            handler.grant_secrets_under(prefix, why=why)

    def grant(self, apply: Callable[[lambda_.IFunction], object]) -> None:
        """Apply a grant made for one function to each, e.g. `grant(state_machine.grant_task_response)`."""
        for handler in self.all:
            apply(handler.function)
