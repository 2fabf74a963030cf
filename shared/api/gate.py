"""The gate every request passes before routing: partner key, body size, signature, JSON.

It runs before the resolver's body validation on purpose: an unsigned request is a 401 whatever its body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from shared.api.request import RawRequest
from shared.aws.partners import PartnerRepository, SigningSecrets
from shared.canonical.partner import Partner
from shared.http import problems as p
from shared.http.problems import Problem
from shared.http.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, parse_timestamp, signature_matches

# Routes whose body is not JSON (raw X12 from a VAN): signed like every body, the route checks its media type.
RAW_BODY_RESOURCES = frozenset({"/v1/edi/inbound"})


@dataclass(frozen=True)
class GatePolicy:
    max_body_bytes: int
    max_skew_seconds: int


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def authenticate(
    request: RawRequest,
    *,
    partners: PartnerRepository,
    secrets: SigningSecrets,
    policy: GatePolicy,
    now: float,
) -> Partner:
    """Return the calling partner, or raise the `Problem` that says precisely what is wrong."""
    if not request.api_key_id:
        raise Problem(p.MISSING_API_KEY, "send your API key in the X-Api-Key header")
    partner = partners.by_api_key_id(request.api_key_id)
    if partner is None or partner.status != "active":
        raise Problem(p.INVALID_API_KEY, "the API key is not registered to an active partner")
    verify_signed_request(request, partner, secrets=secrets, policy=policy, now=now)
    return partner


def verify_signed_request(
    request: RawRequest, partner: Partner, *, secrets: SigningSecrets, policy: GatePolicy, now: float
) -> None:
    """Body size, timestamp and signature of a request from `partner`, then its JSON; else the `Problem`."""
    if len(request.body) > policy.max_body_bytes:
        raise Problem(
            p.PAYLOAD_TOO_LARGE,
            f"the body has {len(request.body)} bytes; this route accepts at most {policy.max_body_bytes}",
            {"limit_bytes": policy.max_body_bytes},
        )

    timestamp_header, signature = request.header(TIMESTAMP_HEADER), request.header(SIGNATURE_HEADER)
    if not timestamp_header or not signature:
        missing = [h for h, v in ((TIMESTAMP_HEADER, timestamp_header), (SIGNATURE_HEADER, signature)) if not v]
        raise Problem(p.MISSING_SIGNATURE, f"missing header(s): {', '.join(missing)}")
    timestamp = parse_timestamp(timestamp_header)
    if timestamp is None:
        raise Problem(p.INVALID_SIGNATURE, f"{TIMESTAMP_HEADER} must be unix time in seconds")
    skew = abs(now - timestamp)
    if skew > policy.max_skew_seconds:
        raise Problem(
            p.STALE_TIMESTAMP,
            f"{TIMESTAMP_HEADER} is {int(skew)} s away from server time; at most {policy.max_skew_seconds} s allowed",
            {"server_time": int(now)},
        )
    if not _signature_ok(partner, secrets, timestamp_header, request.body, signature):
        raise Problem(
            p.INVALID_SIGNATURE,
            f'{SIGNATURE_HEADER} must be "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + raw body)',
        )

    if request.has_body and request.resource not in RAW_BODY_RESOURCES:
        require_json(request)


def require_json(request: RawRequest) -> None:
    """The body is declared as JSON and parses as JSON, or the problem says which of the two it is not."""
    content_type = request.header("content-type")
    if not _is_json(content_type):
        raise Problem(p.UNSUPPORTED_MEDIA_TYPE, f"Content-Type {content_type or '(none)'} is not application/json")
    try:
        json.loads(request.body)
    except ValueError as exc:
        raise Problem(p.MALFORMED_JSON, f"the body is not valid JSON: {exc}") from None


def _signature_ok(partner: Partner, secrets: SigningSecrets, timestamp: str, body: bytes, signature: str) -> bool:
    if signature_matches(secrets.get(partner.secret_name), timestamp, body, signature):
        return True
    # The cached secret may predate a rotation: check once against the current one.
    return signature_matches(secrets.get(partner.secret_name, fresh=True), timestamp, body, signature)
