"""Lazily created, process-wide boto3 clients with bounded retries and timeouts (no AWS calls at import)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]
