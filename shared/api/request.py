"""The raw request as API Gateway (REST, proxy integration) hands it to the Lambda."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str
    resource: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    api_key_id: str | None
    request_id: str

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> RawRequest:
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items() if v is not None}
        raw = event.get("body") or ""
        body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
        context = event.get("requestContext") or {}
        identity = context.get("identity") or {}
        return cls(
            method=str(event.get("httpMethod", "")).upper(),
            path=str(event.get("path", "")),
            resource=str(event.get("resource", "")),
            headers=headers,
            body=body,
            api_key_id=identity.get("apiKeyId"),
            request_id=str(context.get("requestId", "")),
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def has_body(self) -> bool:
        """A body to check as JSON: POST/PUT/PATCH with content (an action like `.../release` may send none)."""
        return self.method in ("POST", "PUT", "PATCH") and bool(self.body)
