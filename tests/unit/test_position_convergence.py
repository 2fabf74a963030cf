"""The convergence property of docs/inventory.md ("Ordering and convergence"), a "done when" of issue #3.

Several sources each emit an ordered stream of movements (absolute counts of the whole position, deltas,
status changes, receipts, with lots), with increasing sequences and non-decreasing times. The movements are
delivered in a random order (sources interleaved, and reordered within a source too, as SQS may) with random
re-deliveries, some much later, as long as no movement arrives more than `TAIL_LIMIT` movements late. The
position must end with the same counts as delivering each distinct movement once in mark order, and as a
plain model of that order (latest count, plus every later delta).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from shared.canonical.envelope import Envelope
from shared.canonical.inventory import (
    InventoryAdjusted,
    InventorySnapshotReceived,
    ReceiptPosted,
    SnapshotLine,
    StatusChange,
)
from shared.domain.inventory_position import (
    TAIL_LIMIT,
    Decision,
    Mark,
    Outcome,
    Position,
    apply_adjusted,
    apply_receipt_event,
    apply_snapshot_line,
)

SKU, LOC = "SKU-1", "DC-EAST"
T0 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
SOURCES = ("erp", "wms", "3pl-north", "3pl-south")
STATUSES = ("available", "damaged", "quality_control", "blocked", "returns")
LOTS = ("L1", "L2", "L3")
# Delivery slots a movement may be late by: at most TAIL_LIMIT later movements are delivered before it.
MAX_DELAY = TAIL_LIMIT + 1


@dataclass(frozen=True)
class Movement:
    mark: Mark
    envelope: Envelope[Any]
    is_count: bool
    effect: dict[str, int]  # the buckets a count sets, or the changes a delta makes (the model's view)


def deliver(position: Position | None, movement: Movement) -> Decision:
    envelope = movement.envelope
    if isinstance(envelope.data, InventorySnapshotReceived):
        return apply_snapshot_line(position, envelope, envelope.data.lines[0])
    if isinstance(envelope.data, ReceiptPosted):
        return apply_receipt_event(position, envelope)
    return apply_adjusted(position, envelope)


def _lot_key(lot: str) -> str:
    return f"lot:{lot}"


def make_movement(source: str, sequence: int, at: datetime, kind: str, values: dict[str, Any]) -> Movement:
    """One movement as the canonical event a partner's feed becomes, and the model's view of its effect."""
    wrap: dict[str, Any] = {"source_partner": source, "occurred_at": at, "event_id": f"{source}-{sequence}"}
    lot = values.get("lot")
    if kind == "snapshot":
        line = SnapshotLine(sku=SKU, on_hand=values["on_hand"], unavailable=values["unavailable"], lots=values["lots"])
        data = InventorySnapshotReceived(
            location=LOC, snapshot_id=f"{source}-snap-{sequence}", sequence=sequence, part=1, parts=1, lines=[line]
        )
        effect = {"on_hand": line.on_hand, **line.unavailable, **{_lot_key(k): q for k, q in line.lots.items()}}
        envelope: Envelope[Any] = Envelope[InventorySnapshotReceived].wrap(data, **wrap)
        return Movement(Mark(at, source, sequence), envelope, True, effect)
    if kind == "receipt":
        quantity = values["quantity"]
        data = ReceiptPosted(sku=SKU, location=LOC, lot=lot, quantity=quantity, sequence=sequence)
        effect = {"on_hand": quantity, **({_lot_key(lot): quantity} if lot else {})}
        return Movement(Mark(at, source, sequence), Envelope[ReceiptPosted].wrap(data, **wrap), False, effect)
    common = {"sku": SKU, "location": LOC, "sequence": sequence, "lot": lot}
    if kind == "count":
        data = InventoryAdjusted(
            **common, on_hand=values["on_hand"], unavailable=values["unavailable"], reason="cycle_count"
        )
        effect = {
            "on_hand": values["on_hand"],
            **values["unavailable"],
            **({_lot_key(lot): values["on_hand"]} if lot else {}),
        }
        is_count = True
    elif kind == "delta":
        data = InventoryAdjusted(**common, delta=values["delta"], reason="pick")
        effect = {"on_hand": values["delta"], **({_lot_key(lot): values["delta"]} if lot else {})}
        is_count = False
    else:
        from_status, to_status, quantity = values["from"], values["to"], values["quantity"]
        change = StatusChange(from_status=from_status, to_status=to_status, quantity=quantity)
        data = InventoryAdjusted(**{**common, "lot": None}, status_change=change, reason="status_change")
        effect = {}
        if to_status != "available":
            effect[to_status] = quantity
        if from_status != "available":
            effect[from_status] = effect.get(from_status, 0) - quantity
        is_count = False
    return Movement(Mark(at, source, sequence), Envelope[InventoryAdjusted].wrap(data, **wrap), is_count, effect)


class Genes:
    """Reads a movement's details from one drawn integer, so that a long stream costs few draws (and a gene
    shrinks towards the simplest movement: the first kind of the mix, small quantities)."""

    def __init__(self, gene: int) -> None:
        self.gene = gene

    def take(self, choices: int) -> int:
        self.gene, value = divmod(self.gene, choices)
        return value

    def pick(self, options: tuple[Any, ...]) -> Any:
        return options[self.take(len(options))]


GENE_BITS = 128
STEPS_SECONDS = (0, 1, 30, 200, 0)  # equal times happen


def decode(source: str, sequence: int, at: datetime, kind: str, genes: Genes) -> Movement:
    """The movement of `kind` that `genes` describe."""
    if kind == "snapshot":
        values: dict[str, Any] = {"on_hand": genes.take(501), "unavailable": unavailable(genes), "lots": {}}
        for _ in range(genes.take(3)):
            values["lots"][genes.pick(LOTS)] = genes.take(201)
    elif kind == "count":
        values = {"on_hand": genes.take(501), "unavailable": unavailable(genes), "lot": genes.pick((None, *LOTS))}
    elif kind == "delta":
        values = {"delta": genes.take(61) - 30, "lot": genes.pick((None, *LOTS))}
    elif kind == "receipt":
        values = {"quantity": 1 + genes.take(50), "lot": genes.pick((None, *LOTS))}
    else:
        from_status = genes.pick(STATUSES)
        to_status = genes.pick(tuple(status for status in STATUSES if status != from_status))
        values = {"from": from_status, "to": to_status, "quantity": 1 + genes.take(10)}
    return make_movement(source, sequence, at, kind, values)


def unavailable(genes: Genes) -> dict[str, int]:
    return {genes.pick(STATUSES[1:]): genes.take(21) for _ in range(genes.take(3))}


# How often each kind appears: counts rare (or absent) so that long delta runs fill and fold the tail.
MIXES = (
    ("delta",) * 6 + ("status", "receipt", "count", "snapshot"),
    ("delta",) * 3 + ("status", "receipt"),
    ("delta", "count", "snapshot", "status"),
)


@dataclass(frozen=True)
class Scenario:
    movements: list[Movement]  # in mark order
    deliveries: list[int]  # indexes into movements, in delivery order; repeats are re-deliveries


@dataclass(frozen=True)
class Planned:
    movement: Movement
    delay: int  # slots late, 0..MAX_DELAY
    again_after: int | None  # re-delivered this many slots after the first delivery


# How much later than its first delivery a re-delivery may come: up to several whole streams.
MAX_AGAIN_AFTER = 4 * 45 * len(SOURCES)


def stream(source: str, start: datetime, mix: tuple[str, ...], genes: list[int]) -> list[Planned]:
    """A source's movements (increasing sequences, non-decreasing times) and their delivery, one gene each."""
    planned, at, sequence = [], start, 0
    for gene in genes:
        reader = Genes(gene)
        delay = reader.take(4) if reader.take(2) == 0 else reader.take(MAX_DELAY + 1)
        again_after = reader.take(MAX_AGAIN_AFTER + 1) if reader.take(3) == 1 else None
        at += timedelta(seconds=reader.pick(STEPS_SECONDS))
        sequence += 1 + reader.take(3)
        planned.append(Planned(decode(source, sequence, at, reader.pick(mix), reader), delay, again_after))
    return planned


def schedule(planned: list[Planned]) -> Scenario:
    """Movement `rank` (in mark order) is first delivered at slot rank + delay; sorting by (slot, rank) lets at
    most delay - 1 <= TAIL_LIMIT movements with a later mark arrive before it. A re-delivery comes `again_after`
    slots after the first delivery, however much later that is."""
    planned = sorted(planned, key=lambda p: p.movement.mark)
    slots = []
    for rank, plan in enumerate(planned):
        assert 0 <= plan.delay <= MAX_DELAY
        slots.append((rank + plan.delay, 0, rank))
        if plan.again_after is not None:
            slots.append((rank + plan.delay + plan.again_after, 1, rank))
    return Scenario([plan.movement for plan in planned], [rank for _, _, rank in sorted(slots)])


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    mix = draw(st.sampled_from(MIXES))
    planned = []
    for source in SOURCES[: draw(st.integers(2, len(SOURCES)))]:
        length = draw(st.integers(0, 45))  # drawn apart: a plain list strategy keeps streams short
        genes = draw(st.lists(st.integers(0, 2**GENE_BITS - 1), min_size=length, max_size=length))
        planned += stream(source, T0 + timedelta(seconds=draw(st.integers(0, 600))), mix, genes)
    return schedule(planned)


def model_counts(movements: list[Movement]) -> dict[str, int]:
    """The meaning of the movements, without tails or marks: the latest count plus every later delta."""
    counts: dict[str, int] = {}
    for movement in movements:  # in mark order
        if movement.is_count:
            counts = dict(movement.effect)
        else:
            for bucket, change in movement.effect.items():
                counts[bucket] = counts.get(bucket, 0) + change
    return {bucket: value for bucket, value in counts.items() if value}


@dataclass
class Run:
    position: Position | None = None  # delivered as scheduled
    in_order: Position | None = None  # each distinct movement once, in mark order
    folds: int = 0  # deltas whose delivery folded the tail
    late_stale: int = 0  # first deliveries found stale (a count delivered earlier covers them)
    repeats: int = 0  # re-deliveries


def check_delivery(scenario: Scenario) -> Run:
    """Deliver as scheduled and in mark order; check every duplicate and stale outcome changed nothing."""
    run = Run()
    delivered: set[int] = set()
    for rank in scenario.deliveries:
        movement, before = scenario.movements[rank], run.position
        decision = deliver(before, movement)
        if rank in delivered:
            run.repeats += 1
            assert decision.outcome is not Outcome.APPLIED, f"re-delivery of {movement.mark} applied"
        elif decision.outcome is Outcome.STALE:
            run.late_stale += 1
        if decision.outcome is not Outcome.APPLIED:
            assert before is not None and decision.position is before
        elif before is not None and not movement.is_count and decision.position.base_mark != before.base_mark:
            run.folds += 1
        delivered.add(rank)
        run.position = decision.position

    for movement in scenario.movements:
        decision = deliver(run.in_order, movement)
        assert decision.outcome is Outcome.APPLIED  # distinct movements, in mark order: nothing is stale
        run.in_order = decision.position
    return run


def assert_converged(scenario: Scenario) -> Run:
    run = check_delivery(scenario)
    position, in_order = run.position, run.in_order
    if in_order is None or position is None:
        assert position is in_order is None and not scenario.movements
        return run
    assert position.counts == in_order.counts == model_counts(scenario.movements)
    assert position.on_hand == in_order.on_hand
    assert position.unavailable == in_order.unavailable
    assert position.lots == in_order.lots
    assert position.available == in_order.available
    assert position.as_of == in_order.as_of == max(m.mark.at for m in scenario.movements)
    return run


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_any_interleaving_with_duplicates_converges_to_mark_order(scenario):
    run = assert_converged(scenario)
    # what the examples covered: pytest --hypothesis-show-statistics
    event("movements", f"{len(scenario.movements) // 50 * 50}+")
    event("tail folded", run.folds > 0)
    event("re-delivered", run.repeats > 0)
    event("late first delivery covered by a count", run.late_stale > 0)


def seeded_scenario(seed: int, *, sources: int, per_source: int) -> Scenario:
    """A large scenario without counts (the tail must fold), scheduled with the same lateness bound."""
    rng = random.Random(seed)
    mix = ("delta", "delta", "delta", "status", "receipt")
    planned = []
    for source in SOURCES[:sources]:
        planned += stream(source, T0, mix, [rng.getrandbits(GENE_BITS) for _ in range(per_source)])
    return schedule(planned)


def test_long_delta_streams_fold_the_tail_and_still_converge():
    for seed in range(5):
        run = assert_converged(seeded_scenario(seed, sources=3, per_source=80))
        assert run.folds > 0 and run.repeats > 0
        assert run.position is not None and len(run.position.tail) == TAIL_LIMIT


# ---------------------------------------------------------------------------------------- the lateness bound


def deltas(count: int, *, source: str = "wms") -> list[Movement]:
    return [
        make_movement(source, seq, T0 + timedelta(minutes=seq), "delta", {"delta": 1, "lot": None})
        for seq in range(1, count + 1)
    ]


def deliver_all(movements: list[Movement]) -> Position | None:
    position: Position | None = None
    for movement in movements:
        position = deliver(position, movement).position
    return position


def test_a_movement_exactly_tail_limit_late_is_still_applied():
    stream = deltas(TAIL_LIMIT + 1)
    position = deliver_all(stream[1:])  # TAIL_LIMIT later deltas arrive first
    late = deliver(position, stream[0])
    assert late.outcome is Outcome.APPLIED and late.position.on_hand == TAIL_LIMIT + 1


def test_a_movement_more_than_tail_limit_late_is_stale_and_never_applied_twice():
    stream = deltas(TAIL_LIMIT + 2)
    position = deliver_all(stream[1:])  # TAIL_LIMIT + 1 later deltas: the oldest of them was folded
    assert position is not None and position.base_mark == stream[1].mark
    late = deliver(position, stream[0])
    assert late.outcome is Outcome.STALE and late.position is position
    assert late.position.on_hand == TAIL_LIMIT + 1  # in mark order it would be TAIL_LIMIT + 2: it is lost
    again = deliver(late.position, stream[0])
    assert again.outcome is Outcome.STALE and again.position.on_hand == TAIL_LIMIT + 1
    # every delivered movement, re-delivered now, still changes nothing
    for movement in stream[1:]:
        assert deliver(position, movement).outcome in (Outcome.STALE, Outcome.DUPLICATE)


def test_a_count_more_than_tail_limit_late_is_stale():
    stream = deltas(TAIL_LIMIT + 2)
    count = make_movement("erp", 1, stream[0].mark.at, "count", {"on_hand": 500, "unavailable": {}, "lot": None})
    position = deliver_all(stream[1:])
    late = deliver(position, count)
    assert late.outcome is Outcome.STALE and late.position.on_hand == TAIL_LIMIT + 1
