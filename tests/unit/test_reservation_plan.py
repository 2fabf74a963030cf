"""Reservation decisions without AWS: lines in eaches, chunks, shortfalls, record progress, close and sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.canonical.items import Item
from shared.canonical.reservation import ReservationLine
from shared.domain import reservations as r

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def line(sku: str, quantity: int, location: str = "DC-EAST", unit: str = "each") -> r.RequestedLine:
    return r.RequestedLine(sku, location, quantity, unit)


def draft(*lines: r.RequestedLine, kind="hold", reference="CART-1", channel=None, expires=None) -> r.Draft:
    return r.Draft(reference=reference, kind=kind, lines=lines, channel=channel, expires_in_seconds=expires)


def eaches(*lines: r.RequestedLine) -> list[ReservationLine]:
    return r.to_eaches(lines)


# ------------------------------------------------------------------------------------------------- lines
def test_lines_of_one_position_are_added_up_in_order_of_first_appearance():
    out = eaches(line("B", 2), line("A", 1), line("B", 3), line("B", 1, location="DC-WEST"))
    assert [(x.sku, x.location, x.quantity) for x in out] == [
        ("B", "DC-EAST", 5),
        ("A", "DC-EAST", 1),
        ("B", "DC-WEST", 1),
    ]


def test_units_convert_with_the_item_master_and_without_it_only_eaches_do():
    items = {"A": Item(sku="A", units={"each": 1, "case": 12})}
    assert [x.quantity for x in r.to_eaches([line("A", 2, unit="case"), line("A", 1)], items)] == [25]
    with pytest.raises(r.UnknownUnit) as no_master:
        r.to_eaches([line("A", 1, unit="case")])
    assert (no_master.value.sku, no_master.value.unit) == ("A", "case")
    with pytest.raises(r.UnknownUnit):
        r.to_eaches([line("A", 1, unit="pallet")], items)


def test_500_lines_are_allowed_and_501_are_too_many():
    assert len(r.to_eaches([line(f"S-{i}", 1) for i in range(500)])) == 500
    with pytest.raises(r.TooManyLines) as too_many:
        r.to_eaches([line("A", 1)] * 501)  # counted as sent, before adding up
    assert (too_many.value.count, too_many.value.limit) == (501, 500)


def test_positions_go_in_chunks_of_99_so_that_the_record_fits_in_each_transaction():
    lines = eaches(*(line(f"S-{i}", 1) for i in range(250)))
    chunks = r.chunk_lines(lines)
    assert [len(c) for c in chunks] == [99, 99, 52]
    assert [x for c in chunks for x in c] == lines


# ---------------------------------------------------------------------------------------------- records
def test_a_one_chunk_hold_is_held_from_the_start_with_the_default_expiry():
    record = r.new_record("p1", draft(line("A", 1)), eaches(line("A", 1)), now=NOW, correlation_id="c1")
    assert record.reservation.reservation_id == "p1:CART-1"
    assert (record.status, record.chunks, record.applied) == ("held", 1, 0)
    assert record.reservation.expires_at == NOW + timedelta(seconds=r.DEFAULT_HOLD_SECONDS)
    applied = r.after_apply(record, now=NOW)
    assert (applied.status, applied.applied, applied.reservation.updated_at) == ("held", 1, NOW)


def test_orders_expire_only_when_asked_and_holds_when_told():
    one = eaches(line("A", 1))
    assert (
        r.new_record("p", draft(line("A", 1), kind="order"), one, now=NOW, correlation_id="c").reservation.expires_at
        is None
    )
    order = r.new_record("p", draft(line("A", 1), kind="order", expires=60), one, now=NOW, correlation_id="c")
    assert order.reservation.expires_at == NOW + timedelta(seconds=60)
    assert r.bucket("order") == "committed" and r.bucket("hold") == "reserved"


def test_a_reservation_of_several_chunks_is_pending_until_its_last_chunk_and_then_starts_its_expiry():
    lines = eaches(*(line(f"S-{i}", 1) for i in range(150)))
    record = r.new_record(
        "p", draft(*(line(f"S-{i}", 1) for i in range(150)), expires=600), lines, now=NOW, correlation_id="c"
    )
    assert (record.status, record.chunks, record.hold_seconds, record.reservation.expires_at) == (
        "pending",
        2,
        600,
        None,
    )
    first = r.after_apply(record, now=NOW)
    assert (first.status, first.applied) == ("pending", 1)
    later = NOW + timedelta(seconds=3)
    held = r.after_apply(first, now=later)
    assert (held.status, held.applied, held.hold_seconds) == ("held", 2, None)
    assert held.reservation.expires_at == later + timedelta(seconds=600)
    assert held.reservation.created_at == NOW


def test_reverting_counts_chunks_down_in_the_closing_status():
    record = r.after_apply(
        r.new_record("p", draft(line("A", 1)), eaches(line("A", 1)), now=NOW, correlation_id="c"), now=NOW
    )
    released = r.after_revert(record, "released", now=NOW + timedelta(minutes=1))
    assert (released.status, released.applied, released.reservation.updated_at) == (
        "released",
        0,
        NOW + timedelta(minutes=1),
    )


def test_a_repeated_reference_is_the_same_request_whatever_the_line_order():
    lines = eaches(line("A", 1), line("B", 2))
    existing = r.new_record("p", draft(line("A", 1), line("B", 2)), lines, now=NOW, correlation_id="c").reservation
    assert r.same_request(existing, draft(line("B", 2), line("A", 1)), eaches(line("B", 2), line("A", 1)))
    assert not r.same_request(existing, draft(line("A", 1), line("B", 3)), eaches(line("A", 1), line("B", 3)))
    assert not r.same_request(existing, draft(line("A", 1), line("B", 2), kind="order"), lines)
    assert not r.same_request(existing, draft(line("A", 1), line("B", 2), channel="web"), lines)


# -------------------------------------------------------------------------------------------- shortfall
def test_the_shortfall_lists_every_line_and_a_missing_or_negative_position_has_nothing_available():
    lines = eaches(line("A", 5), line("B", 2), line("C", 1), line("D", 4))
    available = {("A", "DC-EAST"): 3, ("B", "DC-EAST"): 10, ("D", "DC-EAST"): -2}
    assert [(s.sku, s.requested, s.available, s.shortfall) for s in r.shortfalls(lines, available)] == [
        ("A", 5, 3, 2),
        ("B", 2, 10, 0),
        ("C", 1, 0, 1),
        ("D", 4, 0, 4),
    ]


def test_the_refusal_names_the_first_short_lines_and_counts_the_rest():
    lines = eaches(*(line(f"S-{i}", 2) for i in range(8)))
    refusal = r.InsufficientStock(r.shortfalls(lines, {("S-0", "DC-EAST"): 5}))
    assert str(refusal) == (
        "not enough available stock: S-1@DC-EAST short by 2, S-2@DC-EAST short by 2, S-3@DC-EAST short by 2, "
        "S-4@DC-EAST short by 2, S-5@DC-EAST short by 2 and 2 more"
    )
    assert len(refusal.lines) == 8


# ---------------------------------------------------------------------------------------- close & sweep
def _record(status: str, applied: int, *, chunks: int = 1, expires_at=NOW, created_at=NOW) -> r.ReservationRecord:
    base = r.new_record("p", draft(line("A", 1)), eaches(line("A", 1)), now=created_at, correlation_id="c")
    reservation = base.reservation.model_copy(update={"status": status, "expires_at": expires_at})
    return r.ReservationRecord(reservation=reservation, chunks=chunks, applied=applied, correlation_id="c")


@pytest.mark.parametrize(
    ("status", "applied", "target", "step"),
    [
        ("held", 1, "released", r.CloseStep.CLOSE),
        ("held", 2, "committed", r.CloseStep.CLOSE),
        ("released", 0, "released", r.CloseStep.REPLAY),
        ("released", 1, "released", r.CloseStep.CONTINUE),
        ("committed", 0, "released", r.CloseStep.CLOSED),
        ("expired", 0, "committed", r.CloseStep.CLOSED),
        ("released", 0, "committed", r.CloseStep.CLOSED),
        ("pending", 1, "released", r.CloseStep.IN_PROGRESS),
    ],
)
def test_what_a_release_or_commit_does_in_each_state(status, applied, target, step):
    assert r.plan_close(_record(status, applied), target) is step


def test_the_sweeper_expires_due_holds_finishes_half_closes_and_undoes_abandoned_creations():
    late = NOW + timedelta(minutes=1)
    assert r.plan_sweep(_record("held", 1, expires_at=NOW), late) is r.SweepStep.EXPIRE
    assert r.plan_sweep(_record("held", 1, expires_at=late + timedelta(seconds=1)), late) is r.SweepStep.SKIP
    assert r.plan_sweep(_record("released", 1, chunks=2), late) is r.SweepStep.FINISH
    assert r.plan_sweep(_record("expired", 0), late) is r.SweepStep.SKIP  # the index lagged
    pending = _record("pending", 1, chunks=3, expires_at=None, created_at=NOW)
    assert r.plan_sweep(pending, NOW + r.PENDING_DEADLINE - timedelta(seconds=1)) is r.SweepStep.SKIP
    assert r.plan_sweep(pending, NOW + r.PENDING_DEADLINE) is r.SweepStep.ABANDON


def test_expiry_shards_are_stable_and_spread_and_event_ids_are_stable_per_event_type():
    shards = {r.expiry_shard(f"p:{i}") for i in range(500)}
    assert shards == set(r.expiry_shards()) and len(shards) == r.EXPIRY_SHARDS
    assert r.expiry_shard("p:1") == r.expiry_shard("p:1")
    assert r.event_id("p:1", "reservation.created") == r.event_id("p:1", "reservation.created")
    assert r.event_id("p:1", "reservation.created") != r.event_id("p:1", "reservation.released")
    assert len(r.event_id("p:1", "reservation.created")) == 32
