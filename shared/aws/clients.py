"""Lazily created, process-wide boto3 clients with bounded retries and timeouts (no AWS calls at import)."""

from __future__ import annotations

import os
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


def client(service: str) -> Any:
    """The shared client for `service`. Keyed by region and endpoint too, so that a process that switches
    between AWS and a local endpoint (the CLI with --local, tests) never talks to the wrong one."""
    return _client(
        service,
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        os.environ.get("AWS_ENDPOINT_URL"),
    )


@cache
def _client(service: str, region: str | None, endpoint_url: str | None) -> Any:
    return boto3.client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]
