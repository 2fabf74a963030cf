"""Faults in the first flow: partner -> API -> ingress -> bus -> projector -> positions and channel availability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.faults.harness import (
    assert_permanent_failures_told,
    assert_same_end_state,
    dead_letters,
    faulted,
    normalized,
)
from tests.faults.world import start_world

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CHANGES = (  # (on_hand | delta, unit): a count, then deltas in eaches and in cases, one of them out of order
    {"on_hand": 120, "reason": "cycle_count"},
    {"delta": -3, "reason": "pick"},
    {"delta": 2, "unit": "case", "reason": "receipt"},
    {"delta": -5, "reason": "pick"},
)
ORDER = (0, 1, 3, 2)  # the sequence-3 delta arrives after the sequence-4 one


@pytest.fixture(scope="module")
def world(request, dev_template_path):
    yield from start_world(request, dev_template_path)


def adjust(world, sku: str) -> dict:
    for i in ORDER:
        body = {
            "sku": sku,
            "location": "DC-EAST",
            "sequence": i + 1,
            "occurred_at": (T0 + timedelta(minutes=i)).isoformat(),
            **CHANGES[i],
        }
        reply = world.warehouse.post("/v1/inventory/adjustments", body)
        assert reply.status == 202, reply.body
    world.rt.drain()
    return end_state(world, sku)


def end_state(world, sku: str) -> dict:
    reply = world.warehouse.get(f"/v1/inventory/{sku}", {"location": "DC-EAST"})
    assert reply.status == 200, reply.body
    (position,) = reply.json()["positions"]
    availability = world.erp.get(f"/v1/availability/{sku}")
    assert availability.status == 200, availability.body
    adjusted = [e["data"]["sequence"] for e in world.tap.events("inventory.adjusted") if e["data"]["sku"] == sku]
    return normalized(
        {"position": position, "availability": availability.json(), "adjusted": sorted(set(adjusted))},
        {sku: "SKU"},
    )


def test_adjustments_under_faults_are_counted_once_and_reach_availability(world, injector):
    with injector.recording() as calls:
        expected = adjust(world, "SKU-1")
    assert expected["position"]["on_hand"] == 120 - 3 + 24 - 5
    assert expected["position"]["version"] == len(CHANGES)

    with faulted(injector, sorted(calls), seed=7) as faults:
        got = adjust(world, "SKU-2")
    assert faults.total >= len(calls) // 2, faults.injected
    assert_same_end_state(got, expected)
    assert_permanent_failures_told(dead_letters(world.rt))
