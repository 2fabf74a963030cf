"""The partner registry (DynamoDB) and partner secrets (Secrets Manager), with short caches.

Lookups on the request path are cached per process: a partner for 60 s, the list of channels for 60 s, a
secret for 5 min (Powertools parameters). A signature that fails against a cached secret is checked once more
against a fresh one, so a rotation takes effect at once.

A secret is a JSON document: `{"signing_secret": ...}` for request signing, `{"webhook_secret": ...}` for a
channel's webhooks (the Shopify app's client secret, or the token we issued to BigCommerce).
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item
from shared.canonical.partner import Partner

API_KEY_INDEX = "by-api-key"
PARTNER_CACHE_SECONDS = 60
CHANNELS_CACHE_SECONDS = 60  # and every list of partners with settings (`active_with`)
SECRET_CACHE_SECONDS = 300
FORCE_INTERVAL = 30.0
SIGNING_FIELD = "signing_secret"
WEBHOOK_FIELD = "webhook_secret"


def _decimals(value: Any) -> Any:
    """DynamoDB takes numbers as Decimal: floats (e.g. a channel's share) become the decimal they were written as."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


class PartnerRepository:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self._by_key: dict[str, tuple[float, Partner]] = {}
        self._by_id: dict[str, tuple[float, Partner]] = {}
        self._with: dict[str, tuple[float, list[Partner]]] = {}

    def by_api_key_id(self, api_key_id: str) -> Partner | None:
        cached = self._by_key.get(api_key_id)
        if cached and time.monotonic() - cached[0] < PARTNER_CACHE_SECONDS:
            return cached[1]
        response = client("dynamodb").query(
            TableName=self.table_name,
            IndexName=API_KEY_INDEX,
            KeyConditionExpression="api_key_id = :k",
            ExpressionAttributeValues={":k": {"S": api_key_id}},
            Limit=2,
        )
        items = response.get("Items", [])
        if len(items) != 1:
            return None
        partner = Partner.model_validate(from_item(items[0]))
        self._by_key[api_key_id] = (time.monotonic(), partner)
        return partner

    def get(self, partner_id: str) -> Partner | None:
        response = client("dynamodb").get_item(
            TableName=self.table_name, Key={"partner_id": {"S": partner_id}}, ConsistentRead=True
        )
        return Partner.model_validate(from_item(response["Item"])) if "Item" in response else None

    def get_cached(self, partner_id: str) -> Partner | None:
        """`get`, cached for PARTNER_CACHE_SECONDS (unknown ids are not cached: nothing to grow without bound)."""
        cached = self._by_id.get(partner_id)
        if cached and time.monotonic() - cached[0] < PARTNER_CACHE_SECONDS:
            return cached[1]
        partner = self.get(partner_id)
        if partner is not None:
            self._by_id[partner_id] = (time.monotonic(), partner)
        return partner

    def channels(self) -> list[Partner]:
        """Active channel partners with channel settings, sorted by id (only channels carry them)."""
        return self.active_with("channel")

    def active_with(self, settings: str) -> list[Partner]:
        """Active partners carrying `settings` (channel, outbound, edi), sorted by id; one filtered Scan per
        CHANNELS_CACHE_SECONDS per kind of settings."""
        cached = self._with.get(settings)
        if cached and time.monotonic() - cached[0] < CHANNELS_CACHE_SECONDS:
            return cached[1]
        paginator = client("dynamodb").get_paginator("scan")
        pages = paginator.paginate(
            TableName=self.table_name,
            FilterExpression="#status = :active AND attribute_exists(#settings)",
            ExpressionAttributeNames={"#status": "status", "#settings": settings},
            ExpressionAttributeValues={":active": {"S": "active"}},
        )
        found = [Partner.model_validate(from_item(item)) for page in pages for item in page.get("Items", [])]
        partners = sorted(found, key=lambda p: p.partner_id)
        self._with[settings] = (time.monotonic(), partners)
        return partners

    def list(self) -> list[Partner]:
        paginator = client("dynamodb").get_paginator("scan")
        partners = [
            Partner.model_validate(from_item(item))
            for page in paginator.paginate(TableName=self.table_name)
            for item in page.get("Items", [])
        ]
        return sorted(partners, key=lambda p: p.partner_id)

    def put(self, partner: Partner, *, must_not_exist: bool = False) -> None:
        kwargs: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(partner_id)"} if must_not_exist else {}
        item = to_item(_decimals(partner.model_dump(mode="json")))
        client("dynamodb").put_item(TableName=self.table_name, Item=item, **kwargs)


class SigningSecrets:
    """Partner secrets: a JSON secret `{"signing_secret": "..."}` per partner, and `{"webhook_secret": "..."}`
    per channel (`field` picks which)."""

    def __init__(self) -> None:
        self._forced_at: dict[str, float] = {}
        self._provider: Any = None

    def _secrets_provider(self) -> Any:
        """A Powertools SecretsProvider of our own (its cache lives with this object), on the shared client."""
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            self._provider = SecretsProvider(boto3_client=client("secretsmanager"))
        return self._provider

    def get(self, secret_name: str, *, fresh: bool = False, field: str = SIGNING_FIELD) -> str:
        """The secret's `field`; `fresh` bypasses the cache, at most once per FORCE_INTERVAL per secret so
        that a flood of badly signed requests cannot turn into a flood of Secrets Manager calls."""
        force = False
        if fresh and time.monotonic() - self._forced_at.get(secret_name, -FORCE_INTERVAL) >= FORCE_INTERVAL:
            self._forced_at[secret_name] = time.monotonic()
            force = True
        value: Any = self._secrets_provider().get(secret_name, max_age=SECRET_CACHE_SECONDS, force_fetch=force)
        return str(json.loads(value)[field])

    @staticmethod
    def create(
        secret_name: str,
        signing_secret: str,
        kms_key_id: str | None,
        partner_id: str,
        *,
        field: str = SIGNING_FIELD,
        description: str | None = None,
    ) -> str:
        kwargs: dict[str, Any] = {"KmsKeyId": kms_key_id} if kms_key_id else {}
        response = client("secretsmanager").create_secret(
            Name=secret_name,
            SecretString=json.dumps({field: signing_secret}),
            Description=description or f"distrosync request-signing secret of partner {partner_id}",
            Tags=[{"Key": "distrosync:partner", "Value": partner_id}],
            **kwargs,
        )
        return str(response["ARN"])

    @staticmethod
    def put(secret_name: str, signing_secret: str, *, field: str = SIGNING_FIELD) -> None:
        client("secretsmanager").put_secret_value(
            SecretId=secret_name, SecretString=json.dumps({field: signing_secret})
        )

    @staticmethod
    def delete(secret_name: str) -> None:
        """Delete at once (no recovery window): used to undo a registration that failed half-way."""
        client("secretsmanager").delete_secret(SecretId=secret_name, ForceDeleteWithoutRecovery=True)
