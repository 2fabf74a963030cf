"""boto3 clients of the embedded runtime itself, pointed at moto (in-process mock or a moto server)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=30)


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
                client = boto3.client(  # type: ignore[call-overload]
                    service, region_name=self.region, endpoint_url=self.endpoint_url, config=_CONFIG
                )
                self._clients[service] = client
            return client
