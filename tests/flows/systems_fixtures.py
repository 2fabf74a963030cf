"""Fixtures for the simulated systems distrosync calls (owner: outbound; see docs/supplier-collaboration.md).

- `erpnext`: a started `ErpNextSimulator` (stopped after the test);
- `webhook_receiver`: a factory of started `WebhookReceiver`s (a WMS, a planning tool...), all stopped after
  the test: `wms = webhook_receiver()`;
- `connect_system(rt, partner_id, kind, adapter, *, target=..., subscriptions=[...])`: a plain function (the
  demo imports it too) that registers the system, or connects an existing partner such as the catalog's
  `erp`, the way `distrosync systems add` does. `target` is the simulator or receiver it talks to (its URL and
  credentials are taken from it; a receiver is given the signing secret distrosync generated).

Connect systems before their events flow: the outbound function caches the list of systems for a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.simulators.erpnext import ErpNextSimulator
from local.simulators.webhook_receiver import WebhookReceiver


def connect_system(
    rt: Any,
    partner_id: str,
    kind: str,
    adapter: str,
    *,
    subscriptions: list[str],
    target: ErpNextSimulator | WebhookReceiver | None = None,
    url: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    scopes: list[str] | None = None,
    max_attempts: int | None = None,
    timeout_seconds: float | None = None,
) -> Any:
    """Register `partner_id` as a system on the runtime `rt`; returns the `SystemRegistration`."""
    from shared.services.system_admin import SystemAdmin

    if isinstance(target, ErpNextSimulator):
        url = url or target.url
        api_key = api_key or target.api_key
        api_secret = api_secret or target.api_secret
    elif isinstance(target, WebhookReceiver):
        url = url or target.url
    if url is None:
        raise ValueError("connect_system needs a target (simulator or receiver) or a url")
    registration = SystemAdmin.from_outputs(rt.outputs).add(
        partner_id,
        kind,
        adapter,
        subscriptions=subscriptions,
        url=url,
        api_key=api_key,
        api_secret=api_secret,
        scopes=scopes,
        max_attempts=max_attempts,
        timeout_seconds=timeout_seconds,
    )
    if isinstance(target, WebhookReceiver):
        target.secret = registration.webhook_signing_secret
    return registration


@pytest.fixture
def erpnext() -> Iterator[ErpNextSimulator]:
    with ErpNextSimulator() as simulator:
        yield simulator


@pytest.fixture
def webhook_receiver() -> Iterator[Any]:
    started: list[WebhookReceiver] = []

    def start(path: str = "/hooks/distrosync") -> WebhookReceiver:
        receiver = WebhookReceiver(path=path).start()
        started.append(receiver)
        return receiver

    try:
        yield start
    finally:
        for receiver in started:
            receiver.stop()
