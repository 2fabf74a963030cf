"""Typed per-environment configuration: everything that differs between dev, staging and prod.

Constructs read these values; they never branch on the environment name themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs

from shared.domain.order_flow import Timers

DEFAULT_ACCOUNT = "123456789012"  # offline synth only: a real deployment passes the account explicitly
DEFAULT_REGION = "us-east-1"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Tier:
    """Throttling and quota of one API usage plan (partners are assigned to a tier by the CLI)."""

    rate_limit: float  # steady-state requests per second
    burst_limit: int  # bucket size
    quota_limit: int  # requests per quota_period
    quota_period: apigw.Period = apigw.Period.DAY


@dataclass(frozen=True)
class AlarmThresholds:
    """Alarm when a metric reaches (>=) the threshold within one period."""

    dlq_depth: int = 1  # any message in a dead-letter queue needs a human
    lambda_errors: int = 1  # invocation errors per period and function
    api_5xx: int = 5  # API Gateway 5xx responses per period
    period_minutes: int = 5


@dataclass(frozen=True)
class QueueSettings:
    """SQS buffering between the bus and a consumer function."""

    max_receive_count: int = 5  # deliveries before a message moves to the DLQ
    batch_size: int = 10
    max_batching_window_seconds: int = 1
    visibility_timeout_factor: int = 6  # AWS guidance: visibility timeout = 6 x function timeout
    retention_days: int = 4
    dlq_retention_days: int = 14
    target_retry_attempts: int = 8  # EventBridge -> SQS delivery retries before the target DLQ
    target_max_event_age_hours: int = 24
    # The consumer's own waits (shared/aws/consumer.py): a transient failure's retry comes back after a full-jitter
    # backoff of up to min(retry_max, retry_base * 2**(attempt-1)); a message whose partner is down waits (re-sent
    # with a delay) for up to partner_wait_hours before it is dead-lettered.
    retry_base_seconds: int = 2
    retry_max_seconds: int = 300
    partner_wait_hours: int = 72

    def visibility_timeout_seconds(self, function_timeout_seconds: int) -> int:
        return self.visibility_timeout_factor * function_timeout_seconds


@dataclass(frozen=True)
class FunctionSettings:
    memory_mb: int = 512
    api_timeout_seconds: int = 10  # API Gateway gives up after 29 s anyway
    worker_timeout_seconds: int = 30
    log_level: str = "INFO"  # POWERTOOLS_LOG_LEVEL


@dataclass(frozen=True)
class ApiSettings:
    stage_rate_limit: float = 100  # default method throttling for the whole stage
    stage_burst_limit: int = 200
    max_body_bytes: int = MIB  # enforced by the ingress Lambda (MAX_BODY_BYTES)
    signature_max_skew_seconds: int = 300


@dataclass(frozen=True)
class OrderFlowSettings:
    """The order-to-ship state machine (docs/order-to-ship.md). `timers` go into every execution's input, which the
    definition reads (TimeoutSecondsPath...): shorter waits are configuration, not another definition."""

    timers: Timers = field(default_factory=Timers)
    retry_interval_seconds: int = 2  # first retry of a transient error; doubled each time, full jitter
    retry_max_attempts: int = 6
    retry_max_delay_seconds: int = 60
    step_timeout_seconds: int = 60  # the step function: a synchronous adapter call has a 25 s budget


@dataclass(frozen=True)
class EnvConfig:
    name: str
    account: str
    region: str
    log_retention: logs.RetentionDays
    retain_data: bool  # prod: keep tables, key and logs when the stack is deleted
    tiers: dict[str, Tier]
    archive_retention_days: int
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)
    queue: QueueSettings = field(default_factory=QueueSettings)
    functions: FunctionSettings = field(default_factory=FunctionSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    order_flow: OrderFlowSettings = field(default_factory=OrderFlowSettings)
    alarm_email: str | None = None
    # An AWS Transfer Family SFTP server in front of the EDI bucket (billed per hour while it exists): off unless
    # asked for (`cdk deploy -c edi_sftp=true`); partners and VANs can always use POST /v1/edi/inbound.
    edi_sftp: bool = False

    @property
    def prefix(self) -> str:
        return f"distrosync-{self.name}"

    @property
    def stack_name(self) -> str:
        return self.prefix

    @property
    def stage_name(self) -> str:
        return self.name

    @property
    def partner_secrets_prefix(self) -> str:
        return f"{self.prefix}/partners/"

    @property
    def system_secrets_prefix(self) -> str:
        """Connections to the systems distrosync calls (outbound adapters); only the outbound function reads them."""
        return f"{self.prefix}/systems/"

    @property
    def removal_policy(self) -> RemovalPolicy:
        return RemovalPolicy.RETAIN if self.retain_data else RemovalPolicy.DESTROY


# Staging throttles like prod, so that load tests there tell the truth about prod.
PRODUCTION_TIERS: dict[str, Tier] = {
    "sandbox": Tier(rate_limit=5, burst_limit=10, quota_limit=5_000),
    "standard": Tier(rate_limit=50, burst_limit=100, quota_limit=200_000),
    "premium": Tier(rate_limit=200, burst_limit=400, quota_limit=2_000_000),
}


def _dev(account: str, region: str) -> EnvConfig:
    return EnvConfig(
        name="dev",
        account=account,
        region=region,
        log_retention=logs.RetentionDays.ONE_WEEK,
        retain_data=False,
        archive_retention_days=7,
        tiers={
            "sandbox": Tier(rate_limit=5, burst_limit=10, quota_limit=1_000),
            "standard": Tier(rate_limit=20, burst_limit=40, quota_limit=20_000),
            "premium": Tier(rate_limit=50, burst_limit=100, quota_limit=100_000),
        },
        functions=FunctionSettings(log_level="DEBUG"),
        api=ApiSettings(stage_rate_limit=50, stage_burst_limit=100),
        queue=QueueSettings(retry_base_seconds=1, retry_max_seconds=30),
        # dev is also what the embedded runtime runs: retries wait 1 s (Step Functions' minimum) at first.
        order_flow=OrderFlowSettings(
            timers=Timers(pick_heartbeat=3600, pick_timeout=8 * 3600, dispatch_timeout=24 * 3600),
            retry_interval_seconds=1,
            retry_max_attempts=4,
            retry_max_delay_seconds=10,
        ),
    )


def _staging(account: str, region: str) -> EnvConfig:
    return EnvConfig(
        name="staging",
        account=account,
        region=region,
        log_retention=logs.RetentionDays.ONE_MONTH,
        retain_data=False,
        archive_retention_days=14,
        tiers=dict(PRODUCTION_TIERS),
        api=ApiSettings(stage_rate_limit=300, stage_burst_limit=600),
    )


def _prod(account: str, region: str) -> EnvConfig:
    return EnvConfig(
        name="prod",
        account=account,
        region=region,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        retain_data=True,
        archive_retention_days=90,
        tiers=dict(PRODUCTION_TIERS),
        api=ApiSettings(stage_rate_limit=500, stage_burst_limit=1_000),
    )


ENVIRONMENTS = {"dev": _dev, "staging": _staging, "prod": _prod}


class UnknownEnvironmentError(ValueError):
    pass


def context_flag(name: str, value: bool | str | None) -> bool | None:
    """A boolean CDK context value: `-c name=true` arrives as the string "true"; None when it is not set."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"context {name}={value!r} is not a boolean: use true or false (e.g. `-c {name}=true`)")


def load_config(
    env_name: str,
    account: str | None = None,
    region: str | None = None,
    alarm_email: str | None = None,
    edi_sftp: bool | str | None = None,
) -> EnvConfig:
    """The configuration of `env_name` (dev, staging or prod).

    Account and region fall back to CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION (set by the CDK CLI
    from your credentials), then to a placeholder account so that synth works offline. `edi_sftp` (a bool or the
    context's "true"/"false") overrides the environment's default (off).
    """
    try:
        factory = ENVIRONMENTS[env_name]
    except KeyError:
        known = ", ".join(ENVIRONMENTS)
        raise UnknownEnvironmentError(
            f"unknown environment {env_name!r}: use one of {known} (e.g. `cdk synth -c env=dev`)"
        ) from None
    config = factory(
        account or os.environ.get("CDK_DEFAULT_ACCOUNT") or DEFAULT_ACCOUNT,
        region or os.environ.get("CDK_DEFAULT_REGION") or DEFAULT_REGION,
    )
    if alarm_email:
        config = replace(config, alarm_email=alarm_email)
    sftp = context_flag("edi_sftp", edi_sftp)
    if sftp is not None:
        config = replace(config, edi_sftp=sftp)
    return config
