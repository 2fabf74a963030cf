"""The gate of carrier tracking webhooks: `POST /v1/carriers/{carrier}/tracking` is declared without an API key
(EasyPost cannot send ours), so the ingress authenticates every delivery itself, before any other work.

`{carrier}` names the carrier partner (kind `carrier`, active, with `CarrierSettings`). A delivery carrying
`X-Hmac-Signature` is an EasyPost webhook: the signature is checked in constant time against the carrier's
webhook secret (a mismatch against the cached secret is checked once more against a fresh one, so a rotation
works at once). Without it, the delivery is a canonical tracking event from the carrier partner itself: the
request signature (`X-Distrosync-Signature` over the timestamp and the raw body) must match that partner's signing
secret, which proves who sent it. API Gateway does not check (or meter) an API key on this route, and the ingress
does not read key values from API Gateway to compare them: that would need `apigateway:GET` on every key of the
account, for no more assurance than the signature gives.

EasyPost's signature covers no timestamp: a captured delivery could be replayed, and then repeats scans already
recorded (a scan is known by its status and time), which changes nothing.
"""

from __future__ import annotations

from shared.adapters import easypost
from shared.api.gate import GatePolicy, require_json, verify_signed_request
from shared.api.request import RawRequest
from shared.aws.partners import WEBHOOK_FIELD, PartnerRepository, SigningSecrets
from shared.canonical.partner import Partner
from shared.http import problems as p
from shared.http.problems import Problem

CARRIER_TRACKING_RESOURCE = "/v1/carriers/{carrier}/tracking"


def is_carrier_tracking(request: RawRequest) -> bool:
    return request.resource == CARRIER_TRACKING_RESOURCE


def is_easypost_delivery(request: RawRequest) -> bool:
    return request.header(easypost.SIGNATURE_HEADER) is not None


def carrier_of(request: RawRequest) -> str | None:
    """The `{carrier}` of `/v1/carriers/{carrier}/tracking` (the path may carry a stage or base path before)."""
    parts = [part for part in request.path.split("/") if part]
    if len(parts) >= 3 and parts[-3] == "carriers" and parts[-1] == "tracking":
        return parts[-2]
    return None


def authenticate_carrier(
    request: RawRequest,
    *,
    partners: PartnerRepository,
    secrets: SigningSecrets,
    policy: GatePolicy,
    now: float,
) -> Partner:
    """Return the carrier partner the delivery is from, or raise the `Problem` that says what is wrong."""
    name = carrier_of(request)
    partner = partners.get_cached(name) if name else None
    if partner is None or partner.kind != "carrier" or partner.status != "active" or partner.carrier is None:
        raise Problem(p.UNKNOWN_CARRIER, f"no active carrier '{name}'")
    if not is_easypost_delivery(request):
        verify_signed_request(request, partner, secrets=secrets, policy=policy, now=now)
        return partner

    settings = partner.carrier
    if settings.platform != "easypost" or not settings.webhook_secret_name:
        raise Problem(p.UNKNOWN_CARRIER, f"carrier '{name}' (platform {settings.platform}) sends no EasyPost webhooks")
    if len(request.body) > policy.max_body_bytes:
        raise Problem(
            p.PAYLOAD_TOO_LARGE,
            f"the body has {len(request.body)} bytes; this route accepts at most {policy.max_body_bytes}",
            {"limit_bytes": policy.max_body_bytes},
        )
    if not _verified(secrets, settings.webhook_secret_name, request):
        raise Problem(
            p.INVALID_WEBHOOK_SIGNATURE,
            f"X-Hmac-Signature does not match the webhook secret of carrier '{name}' "
            '("hmac-sha256-hex=" + hex HMAC-SHA256(secret, raw body))',
        )
    require_json(request)
    return partner


def _verified(secrets: SigningSecrets, secret_name: str, request: RawRequest) -> bool:
    if easypost.verify(secrets.get(secret_name, field=WEBHOOK_FIELD), request.headers, request.body):
        return True
    return easypost.verify(secrets.get(secret_name, fresh=True, field=WEBHOOK_FIELD), request.headers, request.body)
