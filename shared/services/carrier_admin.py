"""Registering carriers (run by operators through the CLI, not by Lambdas): `distrosync carriers add`.

A carrier is a partner of kind `carrier` with `CarrierSettings`, its API credentials (a carrier may call the API
like any partner: canonical tracking events, or dispatch reports) and, for EasyPost, a webhook secret
`<prefix><id>/webhook` that EasyPost signs its tracking webhooks with (`X-Hmac-Signature`). EasyPost lets the
webhook's owner choose that secret: distrosync generates one (or takes the operator's) and prints it, with the
URL, to paste into EasyPost's webhook settings.
"""

from __future__ import annotations

import secrets as token
from dataclasses import dataclass

from shared.aws import api_keys
from shared.aws.clients import client
from shared.aws.partners import WEBHOOK_FIELD, SigningSecrets
from shared.canonical.partner import CarrierSettings, Partner
from shared.services.partner_admin import Credentials, PartnerAdmin, PartnerAdminError

DEFAULT_SCOPES = ("location:*",)
WEBHOOK_SECRET_PLATFORMS = frozenset({"easypost"})


@dataclass(frozen=True)
class CarrierCredentials:
    credentials: Credentials
    webhook_secret: str | None  # EasyPost's webhook secret (None: the carrier sends canonical events)
    webhook_secret_generated: bool


def webhook_secret_name(admin: PartnerAdmin, partner_id: str) -> str:
    return f"{admin.resources.secrets_prefix}{partner_id}/webhook"


def add_carrier(
    admin: PartnerAdmin,
    partner_id: str,
    platform: str,
    *,
    scopes: list[str] | None = None,
    tier: str = "standard",
    webhook_secret: str | None = None,
) -> CarrierCredentials:
    """Register a carrier partner with its settings and, for EasyPost, its webhook secret (generated unless
    given). Undone entirely if a part fails."""
    try:
        settings = CarrierSettings(platform=platform)  # type: ignore[arg-type]
    except ValueError as exc:
        raise PartnerAdminError(str(exc)) from None
    if webhook_secret and platform not in WEBHOOK_SECRET_PLATFORMS:
        raise PartnerAdminError(f"platform {platform} sends no webhooks: it needs no webhook secret")
    if admin.repo.get(partner_id) is not None:
        raise PartnerAdminError(f"partner '{partner_id}' already exists (use 'partners rotate' for new credentials)")

    secret: str | None = None
    created_secret: str | None = None
    if platform in WEBHOOK_SECRET_PLATFORMS:
        secret = webhook_secret or token.token_urlsafe(32)
        created_secret = webhook_secret_name(admin, partner_id)
        SigningSecrets.create(
            created_secret,
            secret,
            admin.resources.data_key_arn,
            partner_id,
            field=WEBHOOK_FIELD,
            description=f"distrosync webhook secret of carrier {partner_id} (EasyPost signs tracking webhooks)",
        )
        settings = settings.model_copy(update={"webhook_secret_name": created_secret})
    try:
        creds = admin.add(partner_id, "carrier", list(scopes or DEFAULT_SCOPES), tier)
    except Exception:
        if created_secret:
            SigningSecrets.delete(created_secret)
        raise
    partner = creds.partner.model_copy(update={"carrier": settings})
    try:
        admin.repo.put(partner)
    except Exception:
        _undo(admin, creds, created_secret)
        raise
    return CarrierCredentials(Credentials(partner, creds.api_key, creds.signing_secret), secret, not webhook_secret)


def carriers(admin: PartnerAdmin) -> list[Partner]:
    return [p for p in admin.list() if p.kind == "carrier"]


def _undo(admin: PartnerAdmin, creds: Credentials, webhook_secret: str | None) -> None:
    """Remove what `add_carrier` created (the partner item, its API key and secrets)."""
    partner = creds.partner
    client("dynamodb").delete_item(
        TableName=admin.resources.partners_table, Key={"partner_id": {"S": partner.partner_id}}
    )
    api_keys.delete_api_key(partner.api_key_id)
    SigningSecrets.delete(partner.secret_name)
    if webhook_secret:
        SigningSecrets.delete(webhook_secret)
