"""Outbound delivery: the events other systems subscribe to, delivered through their adapters (ERPNext REST,
signed webhooks) by the `outbound` function (docs/supplier-collaboration.md, "Partners and adapters").

bus --rule(DELIVERABLE_EVENTS)--> queue --(batch, partial failures)--> outbound --HTTPS--> ERP, WMS, planning

Each system has a circuit breaker (`BREAKER#<partner>` items in the idempotency table, ADR 0017), configured by
`config.breaker` through `PARTNER_BREAKER`; the function's write grant on that table covers it.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.flow import EventFlow
from infra.functions import ServiceFunction
from infra.platform import Platform
from shared.adapters.outbound import DELIVERABLE_EVENT_TYPES, DELIVERY_BUDGET_SECONDS, SAFETY_MARGIN_SECONDS

# Every event type a system may subscribe to (`systems add` refuses others).
DELIVERABLE_EVENTS = list(DELIVERABLE_EVENT_TYPES)
# Room for two full delivery budgets per invocation; a delivery never gets more than the invocation has left
# (minus a margin), so a timeout never cuts one mid-retry: messages of a batch that find no time left are handed
# back to SQS untried. The queue's visibility timeout is 6 x this (EventFlow: 360 s).
TIMEOUT_SECONDS = 60

assert TIMEOUT_SECONDS > 2 * (DELIVERY_BUDGET_SECONDS + SAFETY_MARGIN_SECONDS), "outbound timeout below its budget"


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

        self.flow = EventFlow(
            self,
            "Flow",
            platform=platform,
            event_types=DELIVERABLE_EVENTS,
            handler=self.handler,
        )
