"""Local stand-ins for the systems distrosync calls, served on 127.0.0.1 for the demo and the tests.

- `erpnext.ErpNextSimulator`: the ERPNext/Frappe REST subset the reference ERP adapter uses, with Frappe's
  behaviour (token auth, validation errors as 417, 404s, docstatus rules) and injectable faults.
- `webhook_receiver.WebhookReceiver`: records signed webhook deliveries (a WMS, a planning system) and
  verifies their signature.

- `bigcommerce.BigCommerceSimulator`: the BigCommerce V2 order reads for thin order webhooks.

Each is a real HTTP server in a background thread (`start()` / `stop()`, or a `with` block), thread-safe; the
parts they share are here: `Faults` with its controls (`FaultControls`), the server (`BackgroundServer`) and the
request handler of the API simulators (`SimulatorHandler`).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Faults:
    """Failures a simulator injects, consumed request by request (thread-safe through the owner's lock)."""

    down: bool = False
    fail: deque[int] = field(default_factory=deque)  # statuses to answer with
    rate_limited: deque[float] = field(default_factory=deque)  # Retry-After seconds of the next 429s
    slow: deque[float] = field(default_factory=deque)  # seconds to stall before answering
    # what was injected so far, by kind ("down", "fail <status>", "rate_limit", "slow"): the fault suite's report
    injected: Counter[str] = field(default_factory=Counter)

    def next_fault(self) -> tuple[str, Any] | None:
        """What to do with the next request: ("down", None), ("fail", status), ("rate_limit", s) or None;
        a pending stall is returned by `stall()` separately (a slow request still gets processed)."""
        fault: tuple[str, Any] | None = None
        if self.down:
            fault = ("down", None)
        elif self.fail:
            fault = ("fail", self.fail.popleft())
        elif self.rate_limited:
            fault = ("rate_limit", self.rate_limited.popleft())
        if fault is not None:
            self.injected[fault[0] if fault[0] != "fail" else f"fail {fault[1]}"] += 1
        return fault

    def stall(self) -> float:
        seconds = self.slow.popleft() if self.slow else 0.0
        if seconds:
            self.injected["slow"] += 1
        return seconds


class FaultControls:
    """`fail_next`, `rate_limit_next`, `slow_next`, `down` and `outage()` for a simulator holding `faults` and
    `_lock`; `injected()` says what was injected so far."""

    faults: Faults
    _lock: AbstractContextManager[Any]

    def fail_next(self, n: int, status: int = 503) -> None:
        with self._lock:
            self.faults.fail.extend([status] * n)

    def rate_limit_next(self, n: int, retry_after: float = 1) -> None:
        with self._lock:
            self.faults.rate_limited.extend([retry_after] * n)

    def slow_next(self, n: int, seconds: float, *, after: int = 0) -> None:
        """Stall `n` requests for `seconds` each, starting `after` requests from now (the request is still
        processed after the stall, as a real server does when the client has already given up)."""
        with self._lock:
            self.faults.slow.extend([0.0] * after + [seconds] * n)

    def injected(self) -> dict[str, int]:
        """The faults injected so far, by kind."""
        with self._lock:
            return dict(self.faults.injected)

    @property
    def down(self) -> bool:
        return self.faults.down

    @down.setter
    def down(self, value: bool) -> None:
        with self._lock:
            self.faults.down = value

    @contextmanager
    def outage(self) -> Iterator[None]:
        self.down = True
        try:
            yield
        finally:
            self.down = False


def proxy_down() -> tuple[int, dict[str, str], bytes]:
    """What the nginx in front of a down server answers (the `down` fault): an HTML page, not the API's JSON."""
    page = b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>nginx</body></html>"
    return 503, {"Content-Type": "text/html"}, page


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the simulators keep their own record of calls


class SimulatorHandler(QuietHandler):
    """Serves every method through `simulator.handle(method, path, lower-cased headers, body)`, which answers
    (status, headers, body)."""

    simulator: Any

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out_headers, out = self.simulator.handle(self.command, self.path, headers, body)
        try:
            self.send_response(status)
            for name, value in out_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout): what the request changed stands, as on a real server

    do_GET = do_PUT = do_POST = do_DELETE = _serve


class BackgroundServer:
    """A `QuietServer` on 127.0.0.1:<free port> in a daemon thread."""

    handler_class: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self._server: QuietServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._server is not None:
            return self
        handler = type("BoundHandler", (self.handler_class,), {"simulator": self})
        self._server = QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
