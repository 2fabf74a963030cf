"""Time-phased available-to-promise (docs/inventory.md, "Vocabulary")."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from shared.domain.atp import AtpAnswer, atp, timeline
from shared.domain.inventory_position import Mark, apply_count, apply_incoming

TODAY = date(2026, 11, 26)
AT = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def position_with(on_hand, *lines, committed=0):
    """A position counted at `on_hand` with supply lines (reference, kind, quantity, expected date)."""
    mark = Mark(AT, "wms", 1)
    position = apply_count(None, sku="SKU-1", location="DC", mark=mark, counts={"on_hand": on_hand}, event_id="c")
    position = position.position
    for seq, (reference, kind, quantity, expected) in enumerate(lines, start=1):
        position = apply_incoming(
            position,
            sku="SKU-1",
            location="DC",
            reference=reference,
            kind=kind,
            quantity=quantity,
            expected_date=expected,
            sequence=seq,
            event_id=reference,
            at=AT,
        ).position
    return replace(position, committed=committed)


SUPPLY = (
    ("PO-1/1", "on_order", 50, date(2026, 12, 1)),
    ("ASN-7/1", "in_transit", 20, date(2026, 11, 28)),
    ("PO-2/1", "on_order", 30, date(2026, 12, 10)),
)


def test_today_counts_no_incoming():
    answer = atp(position_with(10, *SUPPLY, committed=4), TODAY, TODAY)
    assert answer == AtpAnswer(date=TODAY, available=6, incoming=0, on_order=0, in_transit=0, atp=6, shortage=0)


def test_a_future_date_counts_the_supply_expected_by_then():
    position = position_with(10, *SUPPLY)
    assert atp(position, date(2026, 11, 27), TODAY).incoming == 0
    on_28 = atp(position, date(2026, 11, 28), TODAY)
    assert (on_28.in_transit, on_28.on_order, on_28.atp) == (20, 0, 30)
    on_1 = atp(position, date(2026, 12, 1), TODAY)
    assert (on_1.in_transit, on_1.on_order, on_1.incoming, on_1.atp) == (20, 50, 70, 80)
    assert atp(position, date(2027, 1, 1), TODAY).atp == 110


def test_overdue_supply_counts_from_tomorrow_on():
    position = position_with(0, ("PO-9/1", "on_order", 15, date(2026, 11, 20)), ("PO-9/2", "on_order", 5, TODAY))
    assert atp(position, TODAY, TODAY).atp == 0
    tomorrow = atp(position, date(2026, 11, 27), TODAY)
    assert tomorrow.on_order == 20 and tomorrow.atp == 20


def test_closed_lines_count_for_nothing():
    position = position_with(5, ("PO-1/1", "on_order", 0, date(2026, 11, 27)))
    assert atp(position, date(2026, 12, 31), TODAY).atp == 5


def test_a_deficit_is_a_shortage_until_supply_covers_it():
    position = position_with(10, *SUPPLY, committed=45)
    now = atp(position, TODAY, TODAY)
    assert (now.available, now.atp, now.shortage) == (-35, 0, 35)
    partly = atp(position, date(2026, 11, 28), TODAY)
    assert (partly.atp, partly.shortage) == (0, 15)
    covered = atp(position, date(2026, 12, 1), TODAY)
    assert (covered.atp, covered.shortage) == (35, 0)


def test_a_date_in_the_past_is_refused():
    with pytest.raises(ValueError, match="before 2026-11-26"):
        atp(position_with(1), date(2026, 11, 25), TODAY)


def test_timeline_steps_on_each_future_supply_date():
    position = position_with(10, *SUPPLY, ("ASN-8/1", "in_transit", 5, date(2026, 12, 1)))
    steps = timeline(position, TODAY)
    assert [(s.date, s.atp) for s in steps] == [
        (TODAY, 10),
        (date(2026, 11, 28), 30),
        (date(2026, 12, 1), 85),
        (date(2026, 12, 10), 115),
    ]


def test_timeline_shows_overdue_supply_arriving_tomorrow():
    position = position_with(3, ("PO-9/1", "on_order", 15, date(2026, 11, 20)), *SUPPLY[:1])
    steps = timeline(position, TODAY)
    assert [(s.date, s.atp) for s in steps] == [(TODAY, 3), (date(2026, 11, 27), 18), (date(2026, 12, 1), 68)]


def test_timeline_without_supply_is_today_alone():
    assert [s.date for s in timeline(position_with(4), TODAY)] == [TODAY]
