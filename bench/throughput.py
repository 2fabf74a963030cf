"""Worker: events/s on one core of a real handler with AWS faked in memory, or of a pure decision.

`python -m bench.throughput <target> <seconds> <out.json>`, run by `python -m bench` in a fresh process with the
settings of docs/contracts.md and an unreachable AWS endpoint (a call that misses the fakes fails). Targets:

- `ingress`: signed `POST /v1/inventory/adjustments` through the ingress handler (gate, master data check,
  idempotent intake, publish);
- `projector`: SQS batches of 10 `inventory.adjusted` through the projector handler (decide, conditional write,
  availability refresh per SKU, publish);
- `position`: `apply_adjusted` alone over a realistic feed (bench/workload.py `movements`);
- `reservation` / `reservation500`: the pure planning of a reservation request (typical order mix / 500 lines);
- `availability`: `plan_refresh` alone, one SKU at three locations sold by two channels.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import SETTINGS, LambdaContext, load_handler, percentile, stdout_to_devnull, write_json

Step = Callable[[], tuple[int, int, int]]  # -> (wall ns, thread CPU ns inside the measured call, events handled)
Check = Callable[[], dict[str, Any]]

API_KEY_ID = "bench-key-id"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef0123456789"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:distrosync-bench-projector"
WARMUP_SECONDS = 0.5
SKUS = 100
POSITION_POOL = 20_000  # movements of one position, replayed from an empty position when exhausted


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


def _timed(call: Callable[[], Any]) -> tuple[Any, int, int]:
    t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
    result = call()
    return result, time.perf_counter_ns() - t0, time.thread_time_ns() - c0


def _seed_master(skus: list[str], locations: tuple[str, ...]) -> None:
    """Items and locations written by the real MasterStore (into whatever client is installed)."""
    from bench.workload import item, location
    from shared.aws.master_store import MasterStore, Versioned

    store, now = MasterStore(SETTINGS["INVENTORY_TABLE_NAME"]), datetime.now(UTC)
    for sku in skus:
        store.put_item(Versioned(item(sku), 1, now, "bench-erp"), None)
    for code in locations:
        store.put_location(Versioned(location(code), 1, now, "bench-erp"), None)


# ------------------------------------------------------------------------------------------------- handlers
def ingress() -> tuple[Step, Check]:
    from bench.events import signed_adjustment_event
    from bench.fakes import FakeDynamoDB, FakeEvents, install_clients, memory_idempotency
    from bench.workload import WAREHOUSE
    from shared.canonical.partner import Partner

    dynamodb, events = FakeDynamoDB(), FakeEvents()
    install_clients(dynamodb, events)
    _seed_master([f"SKU-{i}" for i in range(SKUS)], ("DC-EAST",))
    handler = load_handler("ingress")
    partner = Partner(
        partner_id=WAREHOUSE,
        kind="warehouse",
        scopes=["location:*"],
        api_key_id=API_KEY_ID,
        secret_name=f"{SETTINGS['PARTNER_SECRETS_PREFIX']}{WAREHOUSE}",
        created_at=datetime.now(UTC),
    )
    deps = handler.deps
    deps.partners.by_api_key_id = lambda key: partner if key == API_KEY_ID else None  # 60 s cache on AWS
    deps.secrets.get = lambda name, fresh=False: SIGNING_SECRET  # 5 min cache on AWS
    records = memory_idempotency(deps.intake.persistence())
    context = LambdaContext("distrosync-bench-ingress")
    counter = itertools.count()

    def step() -> tuple[int, int, int]:
        event = signed_adjustment_event(next(counter), api_key_id=API_KEY_ID, secret=SIGNING_SECRET, skus=SKUS)
        response, elapsed, cpu = _timed(lambda: handler.lambda_handler(event, context))
        if response["statusCode"] != 202 or response["multiValueHeaders"]["Idempotent-Replayed"] != ["false"]:
            raise RuntimeError(f"ingress did not accept the adjustment: {response}")
        return elapsed, cpu, 1

    return step, lambda: {
        "published": dict(events.published),
        "idempotency_records": len(records),
        "dynamodb_calls": dict(dynamodb.calls),
    }


def projector() -> tuple[Step, Check]:
    from bench.events import eventbridge_body, sqs_event
    from bench.fakes import FakeDynamoDB, FakeEvents, install_clients
    from bench.workload import LOCATIONS, channel_partners, movements
    from shared.aws.inventory_store import POSITION_PREFIX, InventoryStore
    from shared.domain.inventory_position import Mark, apply_count

    dynamodb, events = FakeDynamoDB(), FakeEvents()
    install_clients(dynamodb, events)
    skus = [f"SKU-{i}" for i in range(SKUS)]
    _seed_master(skus, LOCATIONS)
    # The third location's positions exist but see no movements here (its stock still counts for channels).
    store, now = InventoryStore(SETTINGS["INVENTORY_TABLE_NAME"]), datetime.now(UTC)
    for sku in skus:
        mark = Mark(now, "bench-3pl", 1)
        counted = apply_count(None, sku=sku, location=LOCATIONS[2], mark=mark, counts={"on_hand": 300}, event_id="s")
        store.save(counted.position, 0)

    handler = load_handler("projector")
    channels = channel_partners(now)
    handler.availability.channels = lambda: channels  # one partners-table Scan a minute on AWS
    moving = LOCATIONS[:2]
    feeds = {(sku, loc): movements(sku, loc, seed=n) for n, (sku, loc) in enumerate(itertools.product(skus, moving))}
    context = LambdaContext("distrosync-bench-projector")
    batches = itertools.count()

    def step() -> tuple[int, int, int]:
        b = next(batches)
        # 10 messages: 5 SKUs, each moving at both DCs (10 positions), consecutive batches on the next 5 SKUs.
        keys = [(skus[(5 * b + j % 5) % SKUS], moving[j // 5]) for j in range(10)]
        bodies = [eventbridge_body(next(feeds[key]), SETTINGS["EVENT_BUS_NAME"]) for key in keys]
        event = sqs_event(bodies, QUEUE_ARN)
        result, elapsed, cpu = _timed(lambda: handler.lambda_handler(event, context))
        if result["batchItemFailures"]:
            raise RuntimeError(f"projector failed records: {result}")
        return elapsed, cpu, len(bodies)

    def check() -> dict[str, Any]:
        items = dynamodb.items(SETTINGS["INVENTORY_TABLE_NAME"])
        positions = [i for i in items if i["sk"]["S"].startswith(POSITION_PREFIX)]
        return {
            "positions": len(positions),
            "avail_records": sum(1 for i in items if i["sk"]["S"] == "AVAIL"),
            "published": dict(events.published),
            "put_events_calls": events.calls,
            "dynamodb_calls": dict(dynamodb.calls),
        }

    return step, check


# ----------------------------------------------------------------------------------------------------- pure
def position() -> tuple[Step, Check]:
    from bench.workload import movements
    from shared.domain.inventory_position import Position, apply_adjusted

    pool = list(itertools.islice(movements("SKU-1", "DC-EAST", seed=7), POSITION_POOL))
    state: dict[str, Any] = {"i": 0, "current": None}
    outcomes: Counter[str] = Counter()
    tails: list[int] = []

    def step() -> tuple[int, int, int]:
        if state["i"] == len(pool):
            state["i"], state["current"] = 0, None
        current: Position | None = state["current"]
        envelope = pool[state["i"]]
        decision, elapsed, cpu = _timed(lambda: apply_adjusted(current, envelope))
        outcomes[decision.outcome.value] += 1
        tails.append(len(current.tail) if current else 0)
        state["i"] += 1
        state["current"] = decision.position
        return elapsed, cpu, 1

    def check() -> dict[str, Any]:
        kinds = Counter(
            "count" if e.data.on_hand is not None else "status_change" if e.data.status_change else "delta"
            for e in pool
        )
        return {
            "outcomes": dict(outcomes),
            "pool": {"movements": len(pool), **kinds, "distinct": len({e.id for e in pool})},
            "tail_length": {"mean": round(statistics.fmean(tails), 1), "p50": percentile(tails, 50), "max": max(tails)},
        }

    return step, check


def _reservation(lines: int | None) -> tuple[Step, Check]:
    from bench.workload import LOCATIONS, WAREHOUSE, item, reservation_cases
    from shared.domain.reservations import after_apply, new_record, shortfalls, to_eaches
    from shared.domain.scopes import allows

    cases = reservation_cases(50 if lines else 2000, seed=11, lines=lines)
    items = {sku: item(sku) for case in cases for sku in {line.sku for line in case.draft.lines}}
    scopes = [f"location:{code}" for code in LOCATIONS]
    now = datetime.now(UTC)
    order = itertools.cycle(cases)
    tally: Counter[str] = Counter()

    def plan(case: Any) -> tuple[Any, Any]:
        eaches = to_eaches(case.draft.lines, items)  # line count check, units -> eaches, added up per position
        if not all(allows(scopes, "location", line.location) for line in eaches):
            raise RuntimeError("out of scope")
        record = new_record(WAREHOUSE, case.draft, eaches, now=now, correlation_id="bench")
        while record.applied < record.chunks:
            record = after_apply(record, now=now)
        return record, shortfalls(eaches, case.available)

    def step() -> tuple[int, int, int]:
        case = next(order)
        (record, report), elapsed, cpu = _timed(lambda: plan(case))
        if record.status != "held" or any(s.shortfall for s in report) != case.short:
            raise RuntimeError(f"unexpected plan for {case.draft.reference}: {record.status}, {report}")
        tally["requests"] += 1
        tally["lines"] += len(case.draft.lines)
        tally["positions"] += len(report)
        tally["chunks"] += record.chunks
        tally["short"] += case.short
        return elapsed, cpu, 1

    def check() -> dict[str, Any]:
        n = tally["requests"]
        return {
            "requests": n,
            "lines_per_request": round(tally["lines"] / n, 2),
            "positions_per_request": round(tally["positions"] / n, 2),
            "chunks_per_request": round(tally["chunks"] / n, 2),
            "short_share": round(tally["short"] / n, 3),
        }

    return step, check


def reservation() -> tuple[Step, Check]:
    return _reservation(None)


def reservation500() -> tuple[Step, Check]:
    return _reservation(500)


def availability() -> tuple[Step, Check]:
    from bench.workload import LOCATIONS, channel_partners
    from shared.aws.availability_store import AVAIL_SK
    from shared.aws.dynamo import to_item
    from shared.domain.inventory_position import Position
    from shared.services.availability import plan_refresh

    now = datetime.now(UTC)
    channels = channel_partners(now)
    # Stock at the first DC falls by 1 to 3 units a step: most steps change what both channels may sell.
    stock, frames = 5000, []
    for n in range(512):
        stock -= 1 + n % 3
        counts = {LOCATIONS[0]: stock, LOCATIONS[1]: 800, LOCATIONS[2]: 300}
        frames.append([Position(sku="SKU-1", location=c, base={"on_hand": q}, as_of=now) for c, q in counts.items()])
    state: dict[str, Any] = {"i": 0, "other_items": {}}
    published: Counter[str] = Counter()

    def step() -> tuple[int, int, int]:
        if state["i"] == len(frames):
            state["i"], state["other_items"] = 0, {}
        positions, other_items = frames[state["i"]], state["other_items"]
        plan, elapsed, cpu = _timed(
            lambda: plan_refresh(
                "SKU-1", positions, other_items, [], channels, correlation_id="bench", causation_id=None, now=now
            )
        )
        published.update(e.type for e in plan.events)
        if plan.avail is not None:  # what the store would write, read back with the partition next time
            state["other_items"] = {AVAIL_SK: to_item({**plan.avail, "pk": "SKU#SKU-1", "sk": AVAIL_SK})}
        state["i"] += 1
        return elapsed, cpu, 1

    return step, lambda: {"channels": len(channels), "locations": len(LOCATIONS), "published": dict(published)}


TARGETS: dict[str, Callable[[], tuple[Step, Check]]] = {
    "ingress": ingress,
    "projector": projector,
    "position": position,
    "reservation": reservation,
    "reservation500": reservation500,
    "availability": availability,
}


def main(argv: list[str]) -> None:
    target, seconds, out = argv[0], float(argv[1]), Path(argv[2])
    step, check = TARGETS[target]()
    with stdout_to_devnull():
        result = measure(step, seconds)
    write_json(out, {**result, "target": target, "check": check()})


if __name__ == "__main__":
    main(sys.argv[1:])
