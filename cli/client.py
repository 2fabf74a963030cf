"""A partner-side client that signs requests the way distrosync expects (used by the demo and the tests).

It is also the reference for partners: X-Api-Key, X-Distrosync-Timestamp and
X-Distrosync-Signature = "sha256=" + hex(HMAC-SHA256(signing secret, timestamp + "." + raw body)).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.http.signing import signed_headers


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


# (method, path, headers, query, body) -> Reply
Transport = Callable[[str, str, dict[str, str], dict[str, str], bytes], Reply]


def http_transport(base_url: str, timeout: float = 10.0) -> Transport:
    """Send over real HTTP (e.g. to `distrosync serve` or a deployed stage)."""

    def send(method: str, path: str, headers: dict[str, str], query: dict[str, str], body: bytes) -> Reply:
        url = base_url.rstrip("/") + path + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(url, data=body or None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Reply(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as err:
            return Reply(err.code, dict(err.headers.items()), err.read())

    return send


@dataclass
class PartnerClient:
    transport: Transport
    api_key: str | None
    signing_secret: str | None
    clock: Callable[[], float] = time.time
    extra_headers: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw_body: bytes | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        timestamp: int | None = None,
    ) -> Reply:
        body = raw_body if raw_body is not None else (json.dumps(json_body).encode() if json_body is not None else b"")
        all_headers = {**self.extra_headers}
        if body and raw_body is None:
            all_headers["Content-Type"] = "application/json"
        if self.api_key:
            all_headers["X-Api-Key"] = self.api_key
        if sign and self.signing_secret is not None:
            all_headers.update(signed_headers(self.signing_secret, body, timestamp or int(self.clock())))
        all_headers.update(headers or {})
        return self.transport(method, path, all_headers, query or {}, body)

    def post(self, path: str, body: Any, **kwargs: Any) -> Reply:
        return self.request("POST", path, json_body=body, **kwargs)

    def get(self, path: str, query: dict[str, str] | None = None, **kwargs: Any) -> Reply:
        return self.request("GET", path, query=query, **kwargs)
