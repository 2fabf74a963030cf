"""Request signing: `X-Distrosync-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`.

The timestamp (`X-Distrosync-Timestamp`, unix seconds) is inside the signed string, so a captured request
cannot be replayed outside the allowed skew window.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Distrosync-Signature"
TIMESTAMP_HEADER = "X-Distrosync-Timestamp"
SCHEME = "sha256="


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return SCHEME + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Constant-time comparison of the presented signature with the expected one."""
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.strip().encode())


def parse_timestamp(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) <= 12 else None


def signed_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The two headers a client adds to a request (used by the CLI, the demo and tests)."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}
