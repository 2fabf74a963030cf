"""The gate of channel webhooks: no API key, the channel's own signature or token authenticates them.

`POST /v1/channels/{channel}/webhooks` is declared without an API key (platforms cannot send ours). In its
place: the channel must be an active partner of kind `channel` with settings, and the delivery must carry the
platform's credential, checked in constant time against the channel's webhook secret (Shopify: base64 HMAC-
SHA256 of the raw body with the app's client secret; BigCommerce: the token we issued, in a custom header).
A mismatch against the cached secret is checked once more against a fresh one, so a rotation works at once.

Shopify's signature covers no timestamp, so a captured delivery could be replayed: it then carries the same
delivery id (same event id, deduplicated) and the same `updated_at` (never newer than the figure stored).
"""

from __future__ import annotations

from shared.adapters import ChannelAdapter, adapter_for
from shared.api.gate import GatePolicy, require_json
from shared.api.request import RawRequest
from shared.aws.partners import WEBHOOK_FIELD, PartnerRepository, SigningSecrets
from shared.canonical.partner import Partner
from shared.http import problems as p
from shared.http.problems import Problem

CHANNEL_WEBHOOK_RESOURCE = "/v1/channels/{channel}/webhooks"


def is_channel_webhook(request: RawRequest) -> bool:
    return request.resource == CHANNEL_WEBHOOK_RESOURCE


def channel_of(request: RawRequest) -> str | None:
    """The `{channel}` of `/v1/channels/{channel}/webhooks` (the path may carry a stage or base path before)."""
    parts = [part for part in request.path.split("/") if part]
    if len(parts) >= 3 and parts[-3] == "channels" and parts[-1] == "webhooks":
        return parts[-2]
    return None


def authenticate_channel(
    request: RawRequest, *, partners: PartnerRepository, secrets: SigningSecrets, policy: GatePolicy
) -> Partner:
    """Return the channel partner the delivery is for, or raise the `Problem` that says what is wrong."""
    name = channel_of(request)
    partner = partners.get_cached(name) if name else None
    if partner is None or partner.kind != "channel" or partner.status != "active" or partner.channel is None:
        raise Problem(p.UNKNOWN_CHANNEL, f"no active channel '{name}'")
    settings = partner.channel
    adapter = adapter_for(settings.platform)
    if adapter is None or not settings.webhook_secret_name:
        raise Problem(p.UNKNOWN_CHANNEL, f"channel '{name}' (platform {settings.platform}) receives no webhooks")

    if len(request.body) > policy.max_body_bytes:
        raise Problem(
            p.PAYLOAD_TOO_LARGE,
            f"the body has {len(request.body)} bytes; this route accepts at most {policy.max_body_bytes}",
            {"limit_bytes": policy.max_body_bytes},
        )
    if not request.header(adapter.credential_header):
        raise Problem(p.MISSING_SIGNATURE, f"missing header {adapter.credential_header}")
    if not _verified(adapter, secrets, settings.webhook_secret_name, request):
        raise Problem(
            p.INVALID_WEBHOOK_SIGNATURE,
            f"{adapter.credential_header} does not match the webhook secret of channel '{name}'",
        )

    require_json(request)
    return partner


def _verified(adapter: ChannelAdapter, secrets: SigningSecrets, secret_name: str, request: RawRequest) -> bool:
    if adapter.verify(secrets.get(secret_name, field=WEBHOOK_FIELD), request.headers, request.body):
        return True
    return adapter.verify(secrets.get(secret_name, fresh=True, field=WEBHOOK_FIELD), request.headers, request.body)
