"""Worker: events/s on one core of a real handler (or the pure decision), AWS layer replaced by in-memory fakes.

`python -m bench.throughput ingress|projector|decision <seconds> <out.json>`, run by `python -m bench` in a
fresh process with the settings of docs/contracts.md and an unreachable AWS endpoint (a missed stub fails).
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import SETTINGS, LambdaContext, load_handler, percentile, stdout_to_devnull, write_json

Step = Callable[[], tuple[int, int, int]]  # -> (wall ns, thread CPU ns inside the measured call, events handled)

PARTNER_ID = "bench-warehouse"
API_KEY_ID = "bench-key-id"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef0123456789"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:distrosync-bench-projector"
WARMUP_SECONDS = 0.5


def measure(step: Step, seconds: float) -> dict[str, Any]:
    """Warm up, then call `step` for `seconds`; throughput counts only the time inside the measured calls, both
    wall clock and this thread's CPU time (the per-core figure that other load on the machine does not skew)."""
    until = time.perf_counter() + WARMUP_SECONDS
    while time.perf_counter() < until:
        step()
    per_event_ns: list[float] = []
    busy_ns = cpu_ns = events = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        ns, cpu, n = step()
        busy_ns += ns
        cpu_ns += cpu
        events += n
        per_event_ns.append(ns / n)
    return {
        "calls": len(per_event_ns),
        "events": events,
        "events_per_s": events / (busy_ns / 1e9),
        "events_per_cpu_s": events / (cpu_ns / 1e9),
        "p50_us": percentile(per_event_ns, 50) / 1e3,
        "p99_us": percentile(per_event_ns, 99) / 1e3,
        "measured_s": round(time.perf_counter() - start, 3),
    }


def ingress() -> tuple[Step, Callable[[], dict[str, Any]]]:
    import shared.aws.bus as bus
    from bench.events import signed_adjustment_event
    from bench.fakes import FakeEvents, memory_idempotency
    from shared.canonical.partner import Partner

    handler = load_handler("ingress")
    partner = Partner(
        partner_id=PARTNER_ID,
        kind="warehouse",
        scopes=["location:*"],
        api_key_id=API_KEY_ID,
        secret_name=f"{SETTINGS['PARTNER_SECRETS_PREFIX']}{PARTNER_ID}",
        created_at=datetime.now(UTC),
    )
    deps = handler.deps
    deps.partners.by_api_key_id = lambda key: partner if key == API_KEY_ID else None
    deps.secrets.get = lambda name, fresh=False: SIGNING_SECRET
    events = FakeEvents()
    bus.client = lambda service: events  # type: ignore[assignment]
    records = memory_idempotency(deps.intake.persistence())
    context = LambdaContext("distrosync-bench-ingress")
    counter = itertools.count()

    def step() -> tuple[int, int, int]:
        i = next(counter)
        event = signed_adjustment_event(i, api_key_id=API_KEY_ID, secret=SIGNING_SECRET)
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        response = handler.lambda_handler(event, context)
        elapsed, cpu = time.perf_counter_ns() - t0, time.thread_time_ns() - c0
        if response["statusCode"] != 202 or response["multiValueHeaders"]["Idempotent-Replayed"] != ["false"]:
            raise RuntimeError(f"ingress did not accept the adjustment: {response}")
        return elapsed, cpu, 1

    return step, lambda: {"published": events.published, "idempotency_records": len(records)}


def projector() -> tuple[Step, Callable[[], dict[str, Any]]]:
    from bench.events import adjusted, eventbridge_body, sqs_event
    from bench.fakes import memory_inventory

    handler = load_handler("projector")
    items = memory_inventory(handler.projector.store)
    context = LambdaContext("distrosync-bench-projector")
    batches = itertools.count()

    def step() -> tuple[int, int, int]:
        b = next(batches)
        bodies = [
            eventbridge_body(adjusted(PARTNER_ID, f"SKU-{(5 * b + j % 5) % 100}", "DC-EAST", 10 * b + j), "bus")
            for j in range(10)
        ]
        event = sqs_event(bodies, QUEUE_ARN)
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        result = handler.lambda_handler(event, context)
        elapsed, cpu = time.perf_counter_ns() - t0, time.thread_time_ns() - c0
        if result["batchItemFailures"]:
            raise RuntimeError(f"projector failed records: {result}")
        return elapsed, cpu, len(bodies)

    def check() -> dict[str, Any]:
        versions = sum(int(item["version"]["N"]) for item in items.values())
        return {"positions": len(items), "applied_writes": versions}

    return step, check


def decision() -> tuple[Step, Callable[[], dict[str, Any]]]:
    from bench.events import adjusted
    from shared.domain.inventory_position import Outcome, Position, apply_adjustment

    pool = [adjusted(PARTNER_ID, "SKU-1", "DC-EAST", seq) for seq in range(256)]
    state: dict[str, Any] = {"i": 0, "current": None}
    applied = itertools.count()

    def step() -> tuple[int, int, int]:
        if state["i"] == len(pool):
            state["i"], state["current"] = 0, None
        current: Position | None = state["current"]
        envelope = pool[state["i"]]
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        result = apply_adjustment(current, envelope)
        elapsed, cpu = time.perf_counter_ns() - t0, time.thread_time_ns() - c0
        if result.outcome is not Outcome.APPLIED:
            raise RuntimeError(f"unexpected decision {result}")
        next(applied)
        state["i"] += 1
        state["current"] = result.position
        return elapsed, cpu, 1

    return step, lambda: {"applied": next(applied)}


TARGETS = {"ingress": ingress, "projector": projector, "decision": decision}


def main(argv: list[str]) -> None:
    target, seconds, out = argv[0], float(argv[1]), Path(argv[2])
    step, check = TARGETS[target]()
    with stdout_to_devnull():
        result = measure(step, seconds)
    write_json(out, {**result, "target": target, "check": check()})


if __name__ == "__main__":
    main(sys.argv[1:])
