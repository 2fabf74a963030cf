"""The outbound transport: classification, backoff with full jitter, Retry-After, the delivery budget, timeouts.

Calls go over real HTTP to the ERPNext simulator (or to a closed port); sleeping and the clock are faked where
the test is about waiting, so nothing here sleeps for long.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from local.simulators.erpnext import ErpNextSimulator
from shared.adapters.outbound.erpnext import frappe_error
from shared.adapters.outbound.http import (
    Deadline,
    Outcome,
    RetryPolicy,
    Transport,
    classify,
    quote_path,
    retry_after_seconds,
)

PO_PATH = quote_path("api", "resource", "Purchase Order", "PO-1")


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def sim():
    with ErpNextSimulator() as simulator:
        simulator.add_purchase_order(
            "PO-1", "Acme", [{"item_code": "SKU-1", "qty": 10, "rate": 2, "schedule_date": "2026-03-01"}]
        )
        yield simulator


def transport(sim: ErpNextSimulator, fake: FakeTime | None = None, **policy) -> Transport:
    extra = {"sleep": fake.sleep, "clock": fake.clock} if fake else {"sleep": lambda s: None}
    return Transport(
        "erp",
        sim.url,
        policy=RetryPolicy(**policy),
        default_headers={"Authorization": f"token {sim.api_key}:{sim.api_secret}"},
        rng=lambda: 1.0,  # the top of the jitter range: deterministic waits
        **extra,
    )


def get_po(t: Transport, **kwargs):
    return t.call("get_purchase_order", "GET", PO_PATH, correlation_id="corr-1", **kwargs)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (None, Outcome.TRANSIENT),
        (200, Outcome.OK),
        (204, Outcome.OK),
        (408, Outcome.TRANSIENT),
        (425, Outcome.TRANSIENT),
        (429, Outcome.TRANSIENT),
        (500, Outcome.TRANSIENT),
        (502, Outcome.TRANSIENT),
        (503, Outcome.TRANSIENT),
        (504, Outcome.TRANSIENT),
        (400, Outcome.PERMANENT),
        (404, Outcome.PERMANENT),
        (409, Outcome.PERMANENT),
        (417, Outcome.PERMANENT),
        (501, Outcome.PERMANENT),
        (302, Outcome.PERMANENT),
    ],
)
def test_classification(status, outcome):
    assert classify(status) is outcome


def test_retry_after_in_seconds_or_as_an_http_date():
    now = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_backoff_is_exponential_full_jitter_capped():
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    assert [policy.backoff(n, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.backoff(3, lambda: 0.0) == 0.0
    assert policy.backoff(3, lambda: 0.25) == 0.5


def test_transient_failures_are_retried_with_backoff_until_success(sim):
    fake = FakeTime()
    sim.fail_next(2, status=503)
    call = get_po(transport(sim, fake, base_delay=0.2))
    assert call.ok and call.attempts == 3
    assert fake.sleeps == [0.2, 0.4]
    assert [c.status for c in sim.calls] == [503, 503, 200]
    assert call.json()["data"]["name"] == "PO-1"


def test_a_permanent_refusal_is_not_retried(sim):
    t = transport(sim)
    call = t.call(
        "get_purchase_order", "GET", quote_path("api", "resource", "Purchase Order", "PO-404"), correlation_id="c"
    )
    assert call.outcome is Outcome.PERMANENT and call.status == 404 and call.attempts == 1
    assert frappe_error(call) == "DoesNotExistError: Purchase Order PO-404 not found"
    assert len(sim.calls) == 1


def test_attempts_are_bounded(sim):
    fake = FakeTime()
    sim.fail_next(10, status=502)
    call = get_po(transport(sim, fake, max_attempts=3))
    assert call.outcome is Outcome.TRANSIENT and call.status == 502 and call.attempts == 3
    assert len(sim.calls) == 3 and len(fake.sleeps) == 2


def test_429_honours_retry_after(sim):
    fake = FakeTime()
    sim.rate_limit_next(2, retry_after=3)
    call = get_po(transport(sim, fake, base_delay=0.1))
    assert call.ok and call.attempts == 3
    assert fake.sleeps == [3.0, 3.0]  # Retry-After, not the shorter backoff


def test_a_retry_after_beyond_the_cap_hands_the_message_back_at_once(sim):
    fake = FakeTime()
    sim.rate_limit_next(1, retry_after=120)
    call = get_po(transport(sim, fake, retry_after_cap=10))
    assert call.status == 429 and call.outcome is Outcome.TRANSIENT and call.attempts == 1
    assert fake.sleeps == [] and "beyond the 10s cap" in (call.gave_up or "")


def test_the_delivery_budget_stops_retrying_before_it_is_spent(sim):
    fake = FakeTime()
    sim.fail_next(10, status=503)
    t = transport(sim, fake, max_attempts=10, base_delay=1.0, max_delay=8.0, budget_seconds=5.0)
    deadline = t.deadline()
    call = get_po(t, deadline=deadline)
    assert call.outcome is Outcome.TRANSIENT and call.attempts == 3  # waits 1 + 2; a wait of 4 would not fit
    assert sum(fake.sleeps) < 5.0 and deadline.remaining() > 0
    assert "time budget" in (call.gave_up or "")


def test_a_spent_budget_sends_nothing(sim):
    fake = FakeTime()
    t = transport(sim, fake)
    call = get_po(t, deadline=Deadline(fake.now - 1, fake.clock))
    assert call.status is None and call.attempts == 0 and sim.calls == []


def test_a_slow_answer_times_out_and_is_retried(sim):
    sim.slow_next(1, 1.0)
    call = get_po(transport(sim, timeout_seconds=0.2))
    assert call.ok and call.attempts == 2


def test_connection_errors_are_transient():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fake = FakeTime()
    t = Transport(
        "erp", f"http://127.0.0.1:{port}", policy=RetryPolicy(max_attempts=2), sleep=fake.sleep, clock=fake.clock
    )
    call = t.call("get_purchase_order", "GET", PO_PATH, correlation_id="c")
    assert call.status is None and call.outcome is Outcome.TRANSIENT and call.attempts == 2
    assert call.error is not None and call.error.startswith("NewConnectionError")
    assert call.describe().startswith("GET /api/resource/Purchase%20Order/PO-1: NewConnectionError")


def test_every_attempt_is_logged_without_secrets_and_carries_the_correlation_id(sim, caplog):
    sim.fail_next(1, status=503)
    t = Transport(
        "erp",
        sim.url,
        policy=RetryPolicy(base_delay=0.0),
        default_headers={"Authorization": f"token {sim.api_key}:{sim.api_secret}"},
        sleep=lambda s: None,
    )
    call = t.call("get_purchase_order", "GET", PO_PATH, correlation_id="corr-42", query={"fields": "secret-ish"})
    assert call.ok
    assert [c.correlation_id for c in sim.calls] == ["corr-42", "corr-42"]
    fields = ("system", "operation", "method", "path", "status", "attempt", "ms", "outcome", "correlation_id")
    lines = [{f: getattr(r, f, None) for f in fields} for r in caplog.records if r.getMessage() == "system call"]
    assert [(d["status"], d["attempt"], d["outcome"]) for d in lines] == [(503, 1, "transient"), (200, 2, "ok")]
    for d in lines:
        assert d["system"] == "erp" and d["operation"] == "get_purchase_order" and d["method"] == "GET"
        assert d["path"] == "/api/resource/Purchase%20Order/PO-1" and d["correlation_id"] == "corr-42"
        assert d["ms"] >= 0
    text = json.dumps([r.__dict__ for r in caplog.records], default=str)
    assert sim.api_secret not in text and sim.api_key not in text and "secret-ish" not in text
