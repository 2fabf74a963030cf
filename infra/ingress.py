"""The `ingress` function behind every API route: authenticates, validates, publishes to the bus."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.functions import ServiceFunction
from infra.platform import Platform


class Ingress(Construct):
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
        config, key, bus = platform.config, platform.key, platform.bus
        self.handler = ServiceFunction(
            self,
            "Handler",
            name="ingress",
            description="distrosync partner API: authenticate, validate, publish canonical events",
            platform=platform,
            timeout_seconds=config.functions.api_timeout_seconds,
            environment={
                "PARTNERS_TABLE_NAME": partners.table_name,
                "IDEMPOTENCY_TABLE_NAME": idempotency.table_name,
                "EVENT_BUS_NAME": bus.event_bus_name,
                "PARTNER_SECRETS_PREFIX": config.partner_secrets_prefix,
                "SIGNATURE_MAX_SKEW_SECONDS": str(config.api.signature_max_skew_seconds),
                "MAX_BODY_BYTES": str(config.api.max_body_bytes),
            },
        )
        function = self.handler.function
        self.handler.grant_table(partners)  # includes the by-api-key index
        self.handler.grant_table(idempotency, write=True)
        bus.grant_put_events_to(function)
        # Partner signing secrets are created by the CLI under the prefix, encrypted with the data key.
        self.handler.grant_secrets_under(
            config.partner_secrets_prefix,
            why="Partner signing secrets are created at run time by the distrosync CLI, one per partner.",
        )
        key.grant_decrypt(function)
