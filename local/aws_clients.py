"""boto3 clients of the embedded runtime itself, pointed at moto (in-process mock or a moto server)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import moto.core.models  # noqa: F401  (registers moto's botocore hook before our session copies the handlers)
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=30)
_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


def _shared_session() -> boto3.session.Session:
    """One session for the runtime's clients in this process.

    botocore caches loaded service models per session, and `mock_aws` replaces boto3's default session at every
    start: clients made from it would reload their models each time a runtime starts (~50 ms per client).
    """
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session


class AwsClients:
    """One cached client per service; safe to share between threads (boto3 clients are thread-safe)."""

    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = _shared_session().client(  # type: ignore[call-overload]
                    service,
                    region_name=self.region,
                    endpoint_url=self.endpoint_url,
                    config=_CONFIG,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    aws_session_token="testing",
                )
                self._clients[service] = client
            return client
