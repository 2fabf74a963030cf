"""The `ingress` function behind every API route: authenticates, validates, publishes to the bus.

Its twins (`ApiHandlers`: e.g. `edi_inbound`) call the same services as a partner, so everything the ingress is
given here for those services (environment, tables, secrets, the bus, the key) is given to them too.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.functions import ApiHandlers, ServiceFunction
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
        twins: Sequence[ServiceFunction] = (),
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
        )
        self.handlers = ApiHandlers(self.handler, *twins)
        environment = {
            "PARTNERS_TABLE_NAME": partners.table_name,
            "IDEMPOTENCY_TABLE_NAME": idempotency.table_name,
            "EVENT_BUS_NAME": bus.event_bus_name,
            "PARTNER_SECRETS_PREFIX": config.partner_secrets_prefix,
            "SIGNATURE_MAX_SKEW_SECONDS": str(config.api.signature_max_skew_seconds),
            "MAX_BODY_BYTES": str(config.api.max_body_bytes),
        }
        for name, value in environment.items():
            self.handlers.add_environment(name, value)
        self.handlers.grant_table(partners)  # includes the by-api-key index
        self.handlers.grant_table(idempotency, write=True)
        self.handlers.grant(bus.grant_put_events_to)
        # Partner signing secrets are created by the CLI under the prefix, encrypted with the data key.
        self.handlers.grant_secrets_under(
            config.partner_secrets_prefix,
            why="Partner signing secrets are created at run time by the distrosync CLI, one per partner.",
        )
        self.handlers.grant(key.grant_decrypt)
