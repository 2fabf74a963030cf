"""The partner-facing REST API: API keys + usage plans per tier, RFC 7807 gateway responses.

Domains add their own routes with `PartnerApi.add_route(method, path, handler)`; a route that platforms call
without our API key (channel webhooks) passes `api_key_required=False` and says what authenticates it instead.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import nag
from infra.config import EnvConfig
from infra.observability import Observability
from shared.http import problems

ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "apiKeyId": "$context.identity.apiKeyId",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "errorType": "$context.error.responseType",
    "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}

# API Gateway's own rejections, answered with the same problem types as the Lambda's (shared/http/problems.py).
PROBLEM_RESPONSES: dict[apigw.ResponseType, tuple[problems.ProblemKind, str]] = {
    apigw.ResponseType.INVALID_API_KEY: (
        problems.INVALID_API_KEY,
        "The x-api-key header is missing or does not hold an active API key.",
    ),
    apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN: (  # API Gateway's answer to an unknown route or method
        problems.NOT_FOUND,
        "No route matches $context.httpMethod $context.path.",
    ),
    apigw.ResponseType.THROTTLED: (
        problems.THROTTLED,
        "The request rate exceeds the usage plan of this API key; retry with exponential backoff.",
    ),
    apigw.ResponseType.QUOTA_EXCEEDED: (
        problems.QUOTA_EXCEEDED,
        "The usage-plan quota of this API key is used up for the current period.",
    ),
    apigw.ResponseType.REQUEST_TOO_LARGE: (
        problems.PAYLOAD_TOO_LARGE,
        "The request exceeds the size API Gateway accepts.",
    ),
}
# The gateway's message, e.g. "Forbidden"; already a quoted JSON string.
GATEWAY_MESSAGE = "$context.error.messageString"


def problem_template(type_: str, title: str, detail: str, status: int | None = None) -> str:
    """A problem+json body with `instance` and `request_id` from the request context."""
    status_member = f'"status":{status},' if status is not None else ""
    detail_value = detail if detail == GATEWAY_MESSAGE else json.dumps(detail)
    return (
        f'{{"type":{json.dumps(type_)},"title":{json.dumps(title)},{status_member}"detail":{detail_value},'
        '"instance":"$context.path","request_id":"$context.requestId"}'
    )


# Fallbacks keep API Gateway's status code (unknown here), so their bodies carry no `status` member.
GENERIC_4XX_TEMPLATE = problem_template("about:blank", "Request rejected", GATEWAY_MESSAGE)
GENERIC_5XX_TEMPLATE = problem_template(problems.INTERNAL.type, problems.INTERNAL.title, GATEWAY_MESSAGE)


class PartnerApi(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvConfig,
        key: kms.IKey,
        observability: Observability,
    ) -> None:
        super().__init__(scope, id)
        self._config = config
        self._integrations: dict[str, apigw.LambdaIntegration] = {}
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/aws/apigateway/{config.prefix}-api/access",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
            encryption_key=key,
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{config.prefix}-api",
            description="distrosync partner API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            api_key_source_type=apigw.ApiKeySourceType.HEADER,
            # Execution logging needs the account-level API Gateway CloudWatch role. It is shared by all
            # stacks of the account and region, so it outlives this stack.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage_name,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # bodies carry partner data: never log them
                throttling_rate_limit=config.api.stage_rate_limit,
                throttling_burst_limit=config.api.stage_burst_limit,
            ),
        )
        # CDK adds an `Endpoint` output; the stack publishes the URL under the contract's name instead.
        self.rest_api.node.try_remove_child("Endpoint")
        self.stage = self.rest_api.deployment_stage

        for response_type, (kind, detail) in PROBLEM_RESPONSES.items():
            template = problem_template(kind.type, kind.title, detail, kind.status)
            self._problem_response(response_type, template, str(kind.status))
        self._problem_response(apigw.ResponseType.DEFAULT_4_XX, GENERIC_4XX_TEMPLATE)
        self._problem_response(apigw.ResponseType.DEFAULT_5_XX, GENERIC_5XX_TEMPLATE)

        self.usage_plans: dict[str, apigw.UsagePlan] = {}
        for tier_name, tier in config.tiers.items():
            self.usage_plans[tier_name] = self.rest_api.add_usage_plan(
                f"UsagePlan{tier_name.capitalize()}",
                name=f"{config.prefix}-{tier_name}",
                description=(
                    f"{tier_name} tier: {tier.rate_limit:g} req/s, burst {tier.burst_limit}, "
                    f"{tier.quota_limit} per {tier.quota_period.value.lower()}"
                ),
                throttle=apigw.ThrottleSettings(rate_limit=tier.rate_limit, burst_limit=tier.burst_limit),
                quota=apigw.QuotaSettings(limit=tier.quota_limit, period=tier.quota_period),
                api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.stage)],
            )

        self._acknowledge_findings()
        self._observe(observability)

    @property
    def url(self) -> str:
        return self.rest_api.url

    def add_route(
        self,
        method: str,
        path: str,
        handler: lambda_.IFunction,
        *,
        api_key_required: bool = True,
        authenticated_by: str | None = None,
    ) -> apigw.Method:
        """`METHOD /path/{param}` -> Lambda proxy integration of `handler`, API key required unless
        `api_key_required=False`, which needs `authenticated_by`: what the handler verifies instead (it becomes
        the reason of the method's cdk-nag APIG4 acknowledgment)."""
        if not api_key_required and not authenticated_by:
            raise ValueError(f"{method} {path}: a route without an API key must say what authenticates it")
        resource = self.rest_api.root.resource_for_path(path)
        added = resource.add_method(
            method.upper(),
            self._integration(handler),
            api_key_required=api_key_required,
            authorization_type=apigw.AuthorizationType.NONE,
        )
        if not api_key_required:
            assert authenticated_by is not None
            nag.acknowledge(added, "AwsSolutions-APIG4", authenticated_by)
            nag.acknowledge(added, "AwsSolutions-COG4", authenticated_by)
        return added

    def _integration(self, handler: lambda_.IFunction) -> apigw.LambdaIntegration:
        key = handler.node.path
        if key not in self._integrations:
            # No console test-invoke permission: one less resource policy statement per method.
            self._integrations[key] = apigw.LambdaIntegration(handler, proxy=True, allow_test_invoke=False)
        return self._integrations[key]

    def _problem_response(
        self, response_type: apigw.ResponseType, template: str, status_code: str | None = None
    ) -> None:
        self.rest_api.add_gateway_response(
            f"Problem{response_type.response_type}",
            type=response_type,
            status_code=status_code,
            response_headers={
                "Content-Type": f"'{problems.PROBLEM_CONTENT_TYPE}'",
                "Cache-Control": "'no-store'",
            },
            templates={"application/json": template},
        )

    def _acknowledge_findings(self) -> None:
        nag.acknowledge(
            self.rest_api,
            "AwsSolutions-APIG4",
            "Partners authenticate with an API key (usage plan) plus an HMAC request signature that the "
            "ingress Lambda verifies against the partner's secret; API Gateway authorizers cannot verify it.",
        )
        nag.acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "Partners are machine clients identified by API key + HMAC request signature (verified in the "
            "ingress Lambda), not Cognito users.",
        )
        nag.acknowledge(
            self.rest_api,
            "AwsSolutions-APIG2",
            "Bodies are validated by the ingress Lambda against the canonical pydantic models, which "
            "returns RFC 7807 errors with field paths; an API Gateway validator would answer differently.",
        )
        nag.acknowledge(
            self.rest_api,
            "AwsSolutions-APIG3",
            "No WAF web ACL yet: every method needs an API key (usage plans throttle and cap each partner) "
            "except channel webhooks, which the ingress authenticates by the channel's HMAC or token before "
            "any other work; the stage has default method throttling. Revisit before any unauthenticated route.",
        )
        nag.acknowledge(
            self.rest_api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level API Gateway CloudWatch role uses the AWS-managed policy that AWS documents "
            "for exactly this purpose; it is needed for stage execution logging.",
        )

    def _observe(self, observability: Observability) -> None:
        period = observability.period
        api = self.rest_api
        observability.alarm(
            self,
            "ServerErrorsAlarm",
            metric=api.metric_server_error(period=period, statistic="Sum"),
            threshold=self._config.alarms.api_5xx,
            description=f"{api.rest_api_name} answers with 5xx",
        )
        observability.add_row(
            f"API {api.rest_api_name}",
            observability.graph("Requests", api.metric_count(period=period, statistic="Sum")),
            observability.graph("4xx", api.metric_client_error(period=period, statistic="Sum")),
            observability.graph("5xx", api.metric_server_error(period=period, statistic="Sum")),
            observability.graph(
                "Latency (ms)",
                api.metric_latency(period=period, statistic="p50", label="p50"),
                api.metric_latency(period=period, statistic="p90", label="p90"),
                api.metric_integration_latency(period=period, statistic="p90", label="integration p90"),
            ),
        )
