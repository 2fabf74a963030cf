"""Outbound delivery: the events other systems subscribe to, delivered through their adapters (ERPNext REST,
signed webhooks) by the `outbound` function (docs/supplier-collaboration.md, "Partners and adapters").

bus --rule(DELIVERABLE_EVENTS)--> queue --(batch, partial failures)--> outbound --HTTPS--> ERP, WMS, planning

Each system has a circuit breaker (`BREAKER#<partner>` items in the idempotency table, ADR 0017), configured by
`config.breaker` through `PARTNER_BREAKER`; the function's write grant on that table covers it.

A system that refuses distrosync's credentials (or whose connection secret is unusable) is counted as
`PartnerRefused` by whichever function called it (this one, or the order flow's steps through `deliver_now`);
one alarm watches both: retrying cannot help, an operator must fix the connection (docs/reliability.md).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.flow import EventFlow
from infra.functions import METRICS_NAMESPACE, ServiceFunction
from infra.platform import Platform
from shared.adapters.outbound import DELIVERABLE_EVENT_TYPES, DELIVERY_BUDGET_SECONDS, SAFETY_MARGIN_SECONDS

# Every event type a system may subscribe to (`systems add` refuses others).
DELIVERABLE_EVENTS = list(DELIVERABLE_EVENT_TYPES)
# Room for two full delivery budgets per invocation; a delivery never gets more than the invocation has left
# (minus a margin), so a timeout never cuts one mid-retry: messages of a batch that find no time left are handed
# back to SQS untried. The queue's visibility timeout is 6 x this (EventFlow: 360 s).
TIMEOUT_SECONDS = 60

assert TIMEOUT_SECONDS > 2 * (DELIVERY_BUDGET_SECONDS + SAFETY_MARGIN_SECONDS), "outbound timeout below its budget"
# The functions that call systems through the outbound dispatcher (their POWERTOOLS_SERVICE_NAME): each counts
# `PartnerRefused` under its own `service` dimension.
PARTNER_CALLERS = ("outbound", "order_flow")


class Outbound(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        platform: Platform,
        partners: dynamodb.Table,
        idempotency: dynamodb.Table,
    ) -> None:
        super().__init__(scope, id)
        config, key = platform.config, platform.key
        self.handler = ServiceFunction(
            self,
            "Handler",
            name="outbound",
            description="Delivers subscribed events to ERP, WMS and planning systems through their adapters",
            platform=platform,
            timeout_seconds=TIMEOUT_SECONDS,
            environment={
                "PARTNERS_TABLE_NAME": partners.table_name,
                "IDEMPOTENCY_TABLE_NAME": idempotency.table_name,
                "SYSTEM_SECRETS_PREFIX": config.system_secrets_prefix,
                "PARTNER_BREAKER": config.breaker.env_value,
            },
        )
        function = self.handler.function
        self.handler.grant_table(partners)  # which systems subscribe to what
        self.handler.grant_table(idempotency, write=True)  # delivery records and partner circuit breakers
        self.handler.grant_secrets_under(
            config.system_secrets_prefix,
            why="System connection secrets are created at run time by 'distrosync systems add', one per system.",
        )
        key.grant_decrypt(function)

        self.refused_alarm = platform.observability.alarm(
            self,
            "PartnerRefusedAlarm",
            metric=partner_refused(platform.observability.period),
            threshold=1,
            description="a system refused distrosync's credentials (401/403) or its connection secret is unusable: "
            "its deliveries are dead-lettered (error_class partner_refused) until the connection is fixed; then "
            "'distrosync dlq redrive outbound-dlq --where error_class=partner_refused'",
        )

        self.flow = EventFlow(
            self,
            "Flow",
            platform=platform,
            event_types=DELIVERABLE_EVENTS,
            handler=self.handler,
        )


def partner_refused(period: cdk.Duration) -> cw.IMetric:
    """`PartnerRefused` of every partner caller, summed (a caller that counted nothing in a period counts 0)."""
    callers = {
        f"m{i}": cw.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="PartnerRefused",
            dimensions_map={"service": service},
            period=period,
            statistic="Sum",
        )
        for i, service in enumerate(PARTNER_CALLERS)
    }
    return cw.MathExpression(
        expression=" + ".join(f"FILL({name}, 0)" for name in callers),
        using_metrics=callers,
        label="PartnerRefused",
        period=period,
    )
