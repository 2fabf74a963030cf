"""Sales channels: their inventory webhooks and the availability route, both served by the ingress.

Channel settings live on the partner records; webhook secrets under the partner-secrets prefix (which the
ingress may already read); channel figures in the inventory table (written by the projector, read here).
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.api import PartnerApi
from infra.functions import ApiHandlers
from infra.platform import Platform

WEBHOOK_PATH = "/v1/channels/{channel}/webhooks"
AVAILABILITY_PATH = "/v1/availability/{sku}"
WEBHOOK_AUTHENTICATION = (
    "Shopify and BigCommerce cannot send our API key. The ingress authenticates every delivery before any "
    "other work: Shopify's X-Shopify-Hmac-Sha256 (HMAC-SHA256 of the raw body with the app's client secret) "
    "or the BigCommerce token header, compared in constant time with the channel's webhook secret in Secrets "
    "Manager; an API Gateway authorizer cannot see the raw body."
)


class Channels(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        platform: Platform,
        api: PartnerApi,
        ingress: ApiHandlers,
        inventory_table: dynamodb.Table,
    ) -> None:
        super().__init__(scope, id)
        # Cross-references and channel figures are read from the inventory table, which the Inventory construct
        # already grants to the ingress and names in its INVENTORY_TABLE_NAME.
        self.webhook = api.add_route(
            "POST",
            WEBHOOK_PATH,
            ingress.function,
            api_key_required=False,
            authenticated_by=WEBHOOK_AUTHENTICATION,
        )
        self.availability = api.add_route("GET", AVAILABILITY_PATH, ingress.function)
