from datetime import UTC, datetime, timedelta

import pytest

from shared.canonical.envelope import Envelope
from shared.canonical.inventory import InventoryAdjusted
from shared.domain.inventory_position import DEDUP_WINDOW, Outcome, apply_adjustment

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def adj(seq, *, delta=None, on_hand=None, source="wh-east", at=None):
    data = InventoryAdjusted(
        sku="SKU-1", location="DC-EAST", delta=delta, on_hand=on_hand, reason="cycle_count", sequence=seq
    )
    return Envelope[InventoryAdjusted].wrap(data, source_partner=source, occurred_at=at or T0 + timedelta(minutes=seq))


def run(*events):
    position, outcomes = None, []
    for event in events:
        decision = apply_adjustment(position, event)
        position = decision.position
        outcomes.append(decision.outcome)
    return position, outcomes


def test_count_then_deltas():
    position, outcomes = run(adj(1, on_hand=100), adj(2, delta=-3), adj(3, delta=5))
    assert outcomes == [Outcome.APPLIED] * 3
    assert position.on_hand == 102 and position.available == 102 and position.version == 3
    assert position.as_of == T0 + timedelta(minutes=3)


def test_duplicate_delta_applies_once():
    position, outcomes = run(adj(1, on_hand=10), adj(2, delta=-1), adj(2, delta=-1), adj(2, delta=-1))
    assert position.on_hand == 9
    assert outcomes[2:] == [Outcome.DUPLICATE, Outcome.DUPLICATE]


def test_out_of_order_deltas_both_apply_once():
    position, outcomes = run(adj(1, on_hand=10), adj(3, delta=-2), adj(2, delta=-1), adj(2, delta=-1))
    assert position.on_hand == 7
    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED, Outcome.APPLIED, Outcome.DUPLICATE]


def test_older_count_does_not_overwrite_newer():
    position, outcomes = run(adj(5, on_hand=50), adj(4, on_hand=40))
    assert position.on_hand == 50 and outcomes[1] is Outcome.STALE


def test_count_with_higher_sequence_but_older_time_is_stale():
    position, outcomes = run(adj(5, on_hand=50), adj(6, on_hand=60, at=T0))
    assert position.on_hand == 50 and outcomes[1] is Outcome.STALE


def test_count_supersedes_earlier_deltas_of_its_source():
    position, outcomes = run(adj(1, delta=5), adj(3, on_hand=20), adj(2, delta=4))
    assert position.on_hand == 20 and outcomes[2] is Outcome.STALE


def test_sources_are_independent():
    position, _ = run(adj(1, on_hand=10, source="wms"), adj(1, delta=2, source="3pl"), adj(2, delta=-1, source="wms"))
    assert position.on_hand == 11
    assert set(position.sources) == {"wms", "3pl"}


def test_delta_older_than_dedup_window_is_stale_not_reapplied():
    events = [adj(1, on_hand=0)] + [adj(s, delta=1) for s in range(2, DEDUP_WINDOW + 10)]
    position, _ = run(*events)
    before = position.on_hand
    late = apply_adjustment(position, adj(3, delta=1))
    assert late.outcome is Outcome.DUPLICATE or late.outcome is Outcome.STALE
    assert late.position.on_hand == before


def test_exactly_one_of_delta_or_on_hand():
    with pytest.raises(ValueError, match="exactly one"):
        InventoryAdjusted(sku="S", location="L", delta=1, on_hand=2, reason="other", sequence=1)
    with pytest.raises(ValueError, match="exactly one"):
        InventoryAdjusted(sku="S", location="L", reason="other", sequence=1)
