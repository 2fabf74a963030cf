"""Serve a `LocalRuntime` over real HTTP, as its API Gateway would, and keep its queues drained.

`start_http_server(rt)` returns at once (tests, the demo); `serve(rt)` blocks until Ctrl-C (`distrosync
serve`). Paths are those of a custom domain (`/v1/inventory/SKU-1`); `/<stage>/...` works too. A background
thread pumps the SQS mappings continuously, so asynchronous flows complete while serving. Handler execution
is serialized by the runtime's function lock.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.runtime import LocalRuntime

log = logging.getLogger("distrosync.local.http")
IDLE_SLEEP_SECONDS = 0.1


class LocalHttpServer:
    """A running HTTP front door plus the queue pump; `stop()` ends both."""

    def __init__(self, rt: LocalRuntime, host: str = "127.0.0.1", port: int = 8080, *, pump: bool = True) -> None:
        self.rt = rt
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(rt))
        self.httpd.daemon_threads = True
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self.httpd.serve_forever, name="local-http", daemon=True)]
        if pump:
            self._threads.append(threading.Thread(target=self._pump, name="local-sqs-pump", daemon=True))

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalHttpServer:
        for thread in self._threads:
            thread.start()
        self.rt.write_state(api_url=self.url)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self.rt.write_state(api_url=None)

    def _pump(self) -> None:
        while not self._stopping.is_set():
            try:
                report = self.rt.poller.poll_round()
                self.rt.streams.poll_round(report)
            except Exception:  # keep serving; the next round retries
                log.exception("SQS/stream pump round failed")
                report = None
            if report is None or not report.received:
                self._stopping.wait(IDLE_SLEEP_SECONDS)


def start_http_server(
    rt: LocalRuntime, host: str = "127.0.0.1", port: int = 8080, *, pump: bool = True
) -> LocalHttpServer:
    """Start serving in background threads; `port=0` picks a free port (see `.url`)."""
    return LocalHttpServer(rt, host, port, pump=pump).start()


def serve(rt: LocalRuntime, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve until Ctrl-C or SIGTERM (both end in `server.stop()`; the caller then stops the runtime)."""
    server = start_http_server(rt, host, port)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main_thread else None
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _handler_for(rt: LocalRuntime) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "distrosync-local"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            response = rt.api.request(
                self.command,
                self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            self.send_response(response.status)
            for name, values in response.multi_value_headers.items():
                for value in values:
                    self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s - %s", self.address_string(), format % args)

    return Handler
