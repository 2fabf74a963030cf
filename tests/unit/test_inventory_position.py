"""The pure inventory position: counts, deltas, status changes, lots, de-duplication, receipts and incoming."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from shared.canonical.envelope import Envelope
from shared.canonical.inventory import (
    IncomingUpdated,
    InventoryAdjusted,
    InventorySnapshotReceived,
    ReceiptPosted,
    SnapshotLine,
    StatusChange,
)
from shared.domain.inventory_position import (
    RECEIPTS_KEPT,
    TAIL_LIMIT,
    Mark,
    Outcome,
    Position,
    apply_adjusted,
    apply_count,
    apply_delta,
    apply_incoming,
    apply_incoming_event,
    apply_receipt,
    apply_receipt_event,
    apply_snapshot_line,
    mark_of,
    with_safety_stock,
)

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
SKU, LOC = "SKU-1", "DC-EAST"


def mark(seq, *, source="wms", minutes=None):
    return Mark(T0 + timedelta(minutes=seq if minutes is None else minutes), source, seq)


def count(position, seq, *, source="wms", minutes=None, **counts):
    return apply_count(
        position,
        sku=SKU,
        location=LOC,
        mark=mark(seq, source=source, minutes=minutes),
        counts=counts,
        event_id=f"c{seq}",
    )


def delta(position, seq, *, source="wms", minutes=None, **changes):
    return apply_delta(
        position,
        sku=SKU,
        location=LOC,
        mark=mark(seq, source=source, minutes=minutes),
        changes=changes,
        event_id=f"{source}-d{seq}",
    )


def receipt(position, seq, quantity, *, ref=None, lot=None, source="wms", minutes=None):
    return apply_receipt(
        position,
        sku=SKU,
        location=LOC,
        mark=mark(seq, source=source, minutes=minutes),
        quantity=quantity,
        lot=lot,
        incoming_reference=ref,
        event_id=f"r{seq}",
    )


def incoming(position, ref, quantity, *, seq=1, kind="on_order", expected=date(2026, 12, 1), basis="open"):
    return apply_incoming(
        position,
        sku=SKU,
        location=LOC,
        reference=ref,
        kind=kind,
        quantity=quantity,
        expected_date=expected,
        sequence=seq,
        event_id=f"{ref}#{seq}",
        at=T0,
        basis=basis,
    )


def chain(position, *steps):
    """Apply steps (functions of a position returning a Decision) in turn; the final position and outcomes."""
    outcomes = []
    for step in steps:
        decision = step(position)
        position = decision.position
        outcomes.append(decision.outcome)
    return position, outcomes


# ----------------------------------------------------------------------------------------------- vocabulary


def test_count_then_deltas_bookkeeping():
    first = count(None, 1, on_hand=100, damaged=4)
    assert first.outcome is Outcome.APPLIED and first.on_hand_before is None
    second = delta(first.position, 2, on_hand=-3)
    assert second.on_hand_before == 100
    position = second.position
    assert position.key == "SKU-1@DC-EAST" and (position.sku, position.location) == (SKU, LOC)
    assert position.counts == {"on_hand": 97, "damaged": 4}
    assert position.on_hand == 97 and position.available == 93
    assert position.version == 2 and position.last_event_id == "wms-d2"
    assert position.as_of == T0 + timedelta(minutes=2)


def test_as_of_is_the_newest_movement_not_the_last_delivered():
    position, _ = chain(None, lambda p: delta(p, 5, on_hand=1), lambda p: delta(p, 3, on_hand=1))
    assert position.as_of == T0 + timedelta(minutes=5) and position.last_event_id == "wms-d3"


def test_counts_drop_zero_buckets_and_unavailable_lists_every_reason():
    position = count(None, 1, on_hand=10, damaged=0, blocked=2).position
    assert position.counts == {"on_hand": 10, "blocked": 2}
    assert position.base == {"on_hand": 10, "blocked": 2}
    position = delta(position, 2, blocked=-2).position
    assert position.counts == {"on_hand": 10}
    assert position.unavailable == {
        "damaged": 0,
        "quality_control": 0,
        "blocked": 0,
        "returns": 0,
        "safety_stock": 0,
    }


def test_available_subtracts_committed_reserved_unavailable_and_safety_stock():
    position = count(None, 1, on_hand=50, damaged=3, quality_control=2, returns=1).position
    position = replace(position, committed=10, reserved=5)  # reservations own these
    position = with_safety_stock(position, 4)
    assert position.unavailable == {
        "damaged": 3,
        "quality_control": 2,
        "blocked": 0,
        "returns": 1,
        "safety_stock": 4,
    }
    assert position.unavailable_total == 10
    assert position.available == 50 - 10 - 5 - 10


def test_available_goes_negative_when_a_count_finds_less_than_was_promised():
    position = count(None, 1, on_hand=5).position
    position = replace(position, committed=8)
    assert position.available == -3


def test_a_counted_bucket_driven_below_zero_frees_nothing():
    # a move out of `damaged` that no count put there: the bucket reads -2, shown as 0 unavailable
    position = delta(count(None, 1, on_hand=10).position, 2, damaged=-2).position
    assert position.counts["damaged"] == -2
    assert position.unavailable["damaged"] == 0 and position.available == 10


def test_lots_are_a_breakdown_of_on_hand():
    position = count(None, 1, on_hand=30, **{"lot:A1": 20, "lot:B2": 10}).position
    position = delta(position, 2, on_hand=-5, **{"lot:A1": -5}).position
    assert position.lots == {"A1": 15, "B2": 10}
    position = delta(position, 3, on_hand=-10, **{"lot:B2": -10}).position
    assert position.lots == {"A1": 15}


def test_counts_is_a_copy():
    position = count(None, 1, on_hand=10).position
    position.counts["on_hand"] = 99
    assert position.on_hand == 10


def test_unknown_bucket_negative_count_and_wrong_position_are_refused():
    with pytest.raises(ValueError, match="unknown bucket 'available'"):
        count(None, 1, on_hand=1, available=1)
    with pytest.raises(ValueError, match="unknown bucket 'lot:'"):
        delta(None, 1, **{"lot:": 1})
    with pytest.raises(ValueError, match="cannot be negative"):
        count(None, 1, on_hand=-1)
    with pytest.raises(ValueError, match="not an integer"):
        delta(None, 1, on_hand=1.5)
    other = Position(sku="SKU-2", location=LOC)
    with pytest.raises(ValueError, match="SKU-1@DC-EAST applied to position SKU-2@DC-EAST"):
        count(other, 1, on_hand=1)


# -------------------------------------------------------------------------------------------------- ordering


def test_marks_order_by_time_then_source_then_sequence():
    assert Mark(T0, "b", 1) < Mark(T0 + timedelta(seconds=1), "a", 0)
    assert Mark(T0, "a", 9) < Mark(T0, "b", 1)
    assert Mark(T0, "a", 1) < Mark(T0, "a", 2)


def test_the_same_count_twice_is_a_duplicate():
    first = count(None, 3, on_hand=10)
    again = count(first.position, 3, on_hand=10)
    assert again.outcome is Outcome.DUPLICATE and again.position is first.position
    assert again.on_hand_before == 10


def test_an_older_count_is_stale_from_any_source():
    position = count(None, 5, on_hand=50).position
    older = count(position, 4, on_hand=40, source="erp")
    assert older.outcome is Outcome.STALE and older.position.on_hand == 50
    # a higher sequence taken earlier is older too: time orders first
    earlier = count(position, 6, on_hand=60, minutes=1)
    assert earlier.outcome is Outcome.STALE


def test_a_count_supersedes_older_deltas_from_every_source_and_keeps_newer_ones():
    position, outcomes = chain(
        count(None, 1, on_hand=10).position,
        lambda p: delta(p, 2, on_hand=5, source="3pl"),
        lambda p: delta(p, 8, on_hand=-1, source="3pl"),
        lambda p: count(p, 5, on_hand=20, source="erp"),
    )
    assert outcomes == [Outcome.APPLIED] * 3
    assert position.base == {"on_hand": 20} and position.base_mark == mark(5, source="erp")
    assert [entry.mark for entry in position.tail] == [mark(8, source="3pl")]
    assert position.on_hand == 19


def test_a_delta_covered_by_a_count_is_stale():
    position = count(None, 5, on_hand=20).position
    late = delta(position, 4, on_hand=3, source="3pl")
    assert late.outcome is Outcome.STALE and "already in the base" in late.reason
    assert late.position is position and late.position.version == 1


def test_a_duplicate_delta_applies_once():
    position, outcomes = chain(
        count(None, 1, on_hand=10).position,
        lambda p: delta(p, 2, on_hand=-1),
        lambda p: delta(p, 2, on_hand=-1),
        lambda p: delta(p, 2, on_hand=-1),
    )
    assert position.on_hand == 9 and position.version == 2
    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.DUPLICATE]


def test_sources_with_the_same_sequence_are_distinct_movements():
    position, outcomes = chain(None, lambda p: delta(p, 2, on_hand=1), lambda p: delta(p, 2, on_hand=1, source="3pl"))
    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED] and position.on_hand == 2


def test_out_of_order_deltas_are_kept_in_mark_order():
    position, _ = chain(
        count(None, 1, on_hand=10).position,
        lambda p: delta(p, 4, on_hand=-2),
        lambda p: delta(p, 2, on_hand=-1, source="3pl"),
        lambda p: delta(p, 3, on_hand=5),
    )
    assert [entry.mark.sequence for entry in position.tail] == [2, 3, 4]
    assert position.on_hand == 12


def test_a_count_arriving_after_newer_deltas_keeps_them():
    position, _ = chain(None, lambda p: delta(p, 6, on_hand=-2), lambda p: count(p, 5, on_hand=30))
    assert position.on_hand == 28


def test_the_tail_folds_its_oldest_delta_into_the_base_beyond_the_limit():
    position = count(None, 0, on_hand=0).position
    for seq in range(1, TAIL_LIMIT + 1):
        position = delta(position, seq, on_hand=1).position
    assert len(position.tail) == TAIL_LIMIT and position.base_mark == mark(0)
    position = delta(position, TAIL_LIMIT + 1, on_hand=1).position
    assert len(position.tail) == TAIL_LIMIT
    assert position.base == {"on_hand": 1} and position.base_mark == mark(1)
    assert position.on_hand == TAIL_LIMIT + 1
    # the folded delta and anything older are now in the base: a re-delivery is stale, never applied twice
    assert delta(position, 1, on_hand=1).outcome is Outcome.STALE
    assert delta(position, 2, on_hand=1).outcome is Outcome.DUPLICATE


def test_a_delta_older_than_a_full_tail_is_folded_at_once():
    position = count(None, 0, on_hand=0).position
    for seq in range(2, TAIL_LIMIT + 2):
        position = delta(position, seq, on_hand=1).position
    late = delta(position, 1, on_hand=100, source="3pl")
    assert late.outcome is Outcome.APPLIED
    assert late.position.base_mark == mark(1, source="3pl") and late.position.base == {"on_hand": 100}
    assert late.position.on_hand == 100 + TAIL_LIMIT


def test_a_position_without_a_count_folds_from_nothing():
    position = None
    for seq in range(1, TAIL_LIMIT + 3):
        position = delta(position, seq, on_hand=2).position
    assert position.base_mark == mark(2) and position.base == {"on_hand": 4}
    assert position.on_hand == 2 * (TAIL_LIMIT + 2)


# ------------------------------------------------------------------------------------------ canonical events


def adjusted(seq, *, source="wms", minutes=None, lot=None, **kind):
    data = InventoryAdjusted(sku=SKU, location=LOC, lot=lot, reason="other", sequence=seq, **kind)
    at = T0 + timedelta(minutes=seq if minutes is None else minutes)
    return Envelope[InventoryAdjusted].wrap(data, source_partner=source, occurred_at=at, event_id=f"evt-{seq}")


def test_mark_of_an_envelope():
    assert mark_of(adjusted(7, delta=1, source="3pl")) == Mark(T0 + timedelta(minutes=7), "3pl", 7)


def test_adjusted_count_with_unavailable_and_lot():
    decision = apply_adjusted(None, adjusted(1, on_hand=40, unavailable={"damaged": 2, "returns": 1}, lot="L7"))
    assert decision.position.counts == {"on_hand": 40, "damaged": 2, "returns": 1, "lot:L7": 40}
    assert decision.position.last_event_id == "evt-1" and decision.position.available == 37


def test_adjusted_delta_with_lot():
    position = apply_adjusted(None, adjusted(1, on_hand=40, lot="L7")).position
    position = apply_adjusted(position, adjusted(2, delta=-6, lot="L7")).position
    assert position.on_hand == 34 and position.lots == {"L7": 34}


def test_a_status_change_moves_stock_between_buckets_without_changing_on_hand():
    position = apply_adjusted(None, adjusted(1, on_hand=40)).position
    to_damaged = StatusChange(from_status="available", to_status="damaged", quantity=5)
    position = apply_adjusted(position, adjusted(2, status_change=to_damaged)).position
    assert position.tail[-1].changes == {"damaged": 5}
    assert (position.on_hand, position.unavailable["damaged"], position.available) == (40, 5, 35)
    to_qc = StatusChange(from_status="damaged", to_status="quality_control", quantity=3)
    position = apply_adjusted(position, adjusted(3, status_change=to_qc)).position
    assert position.counts == {"on_hand": 40, "damaged": 2, "quality_control": 3}
    back = StatusChange(from_status="quality_control", to_status="available", quantity=3)
    position = apply_adjusted(position, adjusted(4, status_change=back)).position
    assert position.counts == {"on_hand": 40, "damaged": 2} and position.available == 38


def test_a_redelivered_adjustment_event_is_a_duplicate():
    event = adjusted(2, delta=3)
    position = apply_adjusted(None, event).position
    again = apply_adjusted(position, event)
    assert again.outcome is Outcome.DUPLICATE and again.position.on_hand == 3


def snapshot(seq, *lines, source="wms"):
    data = InventorySnapshotReceived(
        location=LOC, snapshot_id=f"snap-{seq}", sequence=seq, part=1, parts=1, lines=lines
    )
    at = T0 + timedelta(minutes=seq)
    return Envelope[InventorySnapshotReceived].wrap(data, source_partner=source, occurred_at=at)


def test_a_snapshot_line_is_a_count_and_reports_what_was_expected_before_it():
    position = apply_adjusted(None, adjusted(1, on_hand=20)).position
    position = apply_adjusted(position, adjusted(2, delta=-3)).position
    line = SnapshotLine(sku=SKU, on_hand=15, unavailable={"blocked": 1}, lots={"A": 10, "B": 5})
    event = snapshot(3, line)
    decision = apply_snapshot_line(position, event, line)
    assert decision.outcome is Outcome.APPLIED and decision.on_hand_before == 17
    assert decision.position.counts == {"on_hand": 15, "blocked": 1, "lot:A": 10, "lot:B": 5}
    assert decision.position.base_mark == Mark(T0 + timedelta(minutes=3), "wms", 3)
    assert decision.position.tail == ()
    assert apply_snapshot_line(decision.position, event, line).outcome is Outcome.DUPLICATE


def test_a_snapshot_line_for_another_sku_is_refused():
    line = SnapshotLine(sku="SKU-9", on_hand=1)
    with pytest.raises(ValueError, match="SKU-9@DC-EAST"):
        apply_snapshot_line(Position(sku=SKU, location=LOC), snapshot(1, line), line)


# -------------------------------------------------------------------------------------- receipts and supply


def test_a_receipt_adds_on_hand_and_reduces_its_incoming_line():
    position = incoming(None, "PO-1/1", 100).position
    decision = receipt(position, 5, 40, ref="PO-1/1", lot="L1")
    assert decision.outcome is Outcome.APPLIED
    position = decision.position
    assert position.on_hand == 40 and position.lots == {"L1": 40}
    line = position.incoming["PO-1/1"]
    assert (line.quantity, line.received, line.receipts) == (60, 40, ("wms#5",))


def test_a_confirmed_quantity_has_what_was_received_deducted_an_open_quantity_does_not():
    position = incoming(None, "PO-1/1", 100, basis="confirmed").position
    position = receipt(position, 5, 40, ref="PO-1/1").position
    # The supplier confirms the line again (it does not see receipts): 90 confirmed, 40 already here.
    confirmed = incoming(position, "PO-1/1", 90, seq=2, basis="confirmed").position.incoming["PO-1/1"]
    assert (confirmed.quantity, confirmed.received) == (50, 40)
    # An ERP that deducts receipts itself sends what is still open.
    still_open = incoming(position, "PO-1/1", 45, seq=2).position.incoming["PO-1/1"]
    assert (still_open.quantity, still_open.received) == (45, 40)
    over = incoming(position, "PO-1/1", 30, seq=3, basis="confirmed").position.incoming["PO-1/1"]
    assert over.quantity == 0


def test_a_duplicate_receipt_reduces_its_line_once():
    position = incoming(None, "PO-1/1", 100).position
    position, outcomes = chain(
        position, lambda p: receipt(p, 5, 40, ref="PO-1/1"), lambda p: receipt(p, 5, 40, ref="PO-1/1")
    )
    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE]
    assert position.on_hand == 40 and position.incoming["PO-1/1"].quantity == 60


def test_a_stale_receipt_still_fulfils_its_line_once():
    position = incoming(None, "PO-1/1", 100).position
    position = count(position, 9, on_hand=40).position  # the count already has the goods
    first = receipt(position, 5, 40, ref="PO-1/1")
    assert first.outcome is Outcome.APPLIED and "incoming PO-1/1 reduced" in first.reason
    assert first.position.on_hand == 40 and first.position.incoming["PO-1/1"].quantity == 60
    again = receipt(first.position, 5, 40, ref="PO-1/1")
    assert again.outcome is Outcome.STALE and again.position is first.position


def test_a_receipt_beyond_the_open_quantity_closes_the_line():
    position = incoming(None, "ASN-7/1", 10, kind="in_transit").position
    position = receipt(position, 1, 12, ref="ASN-7/1").position
    line = position.incoming["ASN-7/1"]
    assert (line.quantity, line.received) == (0, 12) and position.incoming_open == []


def test_a_receipt_against_an_unknown_line_is_a_plain_delta():
    position = receipt(None, 1, 5, ref="PO-404/1").position
    assert position.on_hand == 5 and position.incoming == {}


def test_an_incoming_line_remembers_only_its_last_receipts():
    position = incoming(None, "PO-1/1", 1000).position
    for seq in range(1, RECEIPTS_KEPT + 6):
        position = receipt(position, seq, 1, ref="PO-1/1").position
    line = position.incoming["PO-1/1"]
    assert len(line.receipts) == RECEIPTS_KEPT and line.receipts[-1] == f"wms#{RECEIPTS_KEPT + 5}"
    assert line.receipts[0] == "wms#6" and line.received == RECEIPTS_KEPT + 5


def test_the_latest_sequence_per_supply_line_wins():
    position = incoming(None, "PO-1/1", 100, seq=2).position
    assert incoming(position, "PO-1/1", 80, seq=2).outcome is Outcome.DUPLICATE
    stale = incoming(position, "PO-1/1", 80, seq=1)
    assert stale.outcome is Outcome.STALE and stale.position.incoming["PO-1/1"].quantity == 100
    newer = incoming(position, "PO-1/1", 70, seq=3, expected=date(2026, 12, 9))
    line = newer.position.incoming["PO-1/1"]
    assert (line.quantity, line.expected_date, line.sequence) == (70, date(2026, 12, 9), 3)
    assert newer.position.version == 2


def test_a_closed_line_stays_closed_against_a_late_older_update():
    position = incoming(None, "PO-1/1", 100, seq=1).position
    position = receipt(position, 1, 30, ref="PO-1/1").position
    closed = incoming(position, "PO-1/1", 0, seq=3).position
    assert closed.incoming["PO-1/1"].quantity == 0 and closed.incoming_open == []
    # received and receipts survive the supplier's update: the receipt is still recognised
    assert closed.incoming["PO-1/1"].received == 30 and closed.incoming["PO-1/1"].receipts == ("wms#1",)
    assert incoming(closed, "PO-1/1", 100, seq=2).outcome is Outcome.STALE


def test_the_suppliers_open_quantity_is_authoritative():
    position = incoming(None, "PO-1/1", 100, seq=1).position
    position = receipt(position, 1, 30, ref="PO-1/1").position
    position = incoming(position, "PO-1/1", 90, seq=2).position
    assert position.incoming["PO-1/1"].quantity == 90 and position.incoming["PO-1/1"].received == 30


def test_open_incoming_is_sorted_by_date_then_reference():
    position, _ = chain(
        None,
        lambda p: incoming(p, "PO-2/1", 5, expected=date(2026, 12, 3)),
        lambda p: incoming(p, "PO-1/1", 5, expected=date(2026, 12, 3)),
        lambda p: incoming(p, "ASN-9/1", 5, kind="in_transit", expected=date(2026, 11, 29)),
        lambda p: incoming(p, "PO-3/1", 0, expected=date(2026, 11, 27)),
    )
    assert [line.reference for line in position.incoming_open] == ["ASN-9/1", "PO-1/1", "PO-2/1"]


def test_incoming_arguments_are_checked():
    with pytest.raises(ValueError, match="kind"):
        incoming(None, "X", 1, kind="backorder")
    with pytest.raises(ValueError, match="non-negative"):
        incoming(None, "X", -1)
    with pytest.raises(ValueError, match="positive"):
        receipt(None, 1, 0)


def test_receipt_and_incoming_events_map_to_the_position():
    supply = IncomingUpdated(
        sku=SKU,
        location=LOC,
        reference="PO-1/1",
        kind="on_order",
        quantity=24,
        expected_date=date(2026, 12, 2),
        sequence=4,
    )
    at = T0 + timedelta(hours=1)
    position = apply_incoming_event(None, Envelope[IncomingUpdated].wrap(supply, source_partner="erp", occurred_at=at))
    assert position.position.as_of == at and position.position.incoming["PO-1/1"].quantity == 24
    posted = ReceiptPosted(sku=SKU, location=LOC, lot="L3", quantity=12, incoming_reference="PO-1/1", sequence=8)
    event = Envelope[ReceiptPosted].wrap(posted, source_partner="wms", occurred_at=T0, event_id="rcpt-8")
    decision = apply_receipt_event(position.position, event)
    assert decision.position.on_hand == 12 and decision.position.lots == {"L3": 12}
    assert decision.position.incoming["PO-1/1"].receipts == ("wms#8",)
    assert decision.position.last_event_id == "rcpt-8" and decision.position.as_of == at


# ---------------------------------------------------------------------------------------------- safety stock


def test_safety_stock_unchanged_is_the_same_position():
    position = count(None, 1, on_hand=10).position
    assert with_safety_stock(position, 0) is position
    changed = with_safety_stock(position, 3)
    assert changed.safety_stock == 3 and changed.available == 7 and changed.version == position.version + 1
    with pytest.raises(ValueError, match="safety stock"):
        with_safety_stock(position, -1)


def test_exactly_one_kind_of_adjustment():
    with pytest.raises(ValueError, match="exactly one"):
        InventoryAdjusted(sku="S", location="L", delta=1, on_hand=2, reason="other", sequence=1)
    with pytest.raises(ValueError, match="exactly one"):
        InventoryAdjusted(sku="S", location="L", reason="other", sequence=1)
