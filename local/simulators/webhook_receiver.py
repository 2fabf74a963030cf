"""A webhook receiver standing in for a system distrosync notifies (a WMS, a planning tool).

It records every POST, checks `X-Distrosync-Signature` over `X-Distrosync-Timestamp` and the raw body with
the signing secret it was given (a bad or missing signature gets 401, as a careful receiver answers), and
can inject failures: `fail_next(n, status=503)`, `rate_limit_next(n, retry_after=1)` (429 with `Retry-After`),
`slow_next(n, seconds)` (the delivery is recorded after the stall, even when the sender gave up), `down = True` or
`with receiver.outage():` (503). `events(type)` lists the envelopes it accepted, in arrival order;
`deliveries` holds everything, accepted or not.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from local.simulators import BackgroundServer, FaultControls, Faults, QuietHandler
from shared.http.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_matches

EVENT_ID_HEADER = "X-Distrosync-Event-Id"


@dataclass(frozen=True)
class WebhookDelivery:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int  # what the receiver answered
    verified: bool

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str | None:
        return self.headers.get(EVENT_ID_HEADER.lower())


class WebhookReceiver(FaultControls, BackgroundServer):
    def __init__(self, secret: str | None = None, path: str = "/hooks/distrosync") -> None:
        super().__init__()
        self.secret = secret  # set it to the signing secret `systems add` printed
        self.path = path
        self.faults = Faults()
        self.deliveries: list[WebhookDelivery] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def events(self, *types: str) -> list[dict[str, Any]]:
        """The envelopes accepted (signature verified, 2xx answered), optionally of some types."""
        with self._lock:
            accepted = [d.json() for d in self.deliveries if d.verified and d.status < 300]
        return [e for e in accepted if not types or e.get("type") in types]

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        return self.answer(path, headers, body)[0]

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        """One delivery -> (status, response headers): a 429 says when to come back (`Retry-After`)."""
        with self._lock:
            fault = self.faults.next_fault()
            stall = self.faults.stall() if fault is None else 0.0
        if stall:
            time.sleep(stall)
        verified = self._verified(headers, body)
        out: dict[str, str] = {}
        if fault is not None:
            status = 503 if fault[0] == "down" else 429 if fault[0] == "rate_limit" else int(fault[1])
            if fault[0] == "rate_limit":
                out["Retry-After"] = str(int(fault[1])) if float(fault[1]).is_integer() else str(fault[1])
        elif path.split("?", 1)[0] != self.path:
            status = 404
        else:
            status = 204 if verified else 401
        with self._lock:
            self.deliveries.append(WebhookDelivery(path, headers, body, status, verified))
        return status, out

    def _verified(self, headers: dict[str, str], body: bytes) -> bool:
        timestamp = headers.get(TIMESTAMP_HEADER.lower(), "")
        signature = headers.get(SIGNATURE_HEADER.lower(), "")
        return bool(
            self.secret and timestamp and signature and signature_matches(self.secret, timestamp, body, signature)
        )


class _Handler(QuietHandler):
    simulator: WebhookReceiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers = self.simulator.answer(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up (a timeout): the delivery stands, as on a real server


WebhookReceiver.handler_class = _Handler
