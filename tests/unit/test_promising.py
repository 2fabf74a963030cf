"""Pegging customer demand against supply, and what a new promise changes (shared/domain/promising.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shared.domain.promising import (
    LEAD_TIME,
    ON_HAND,
    DemandLine,
    ExceptionStep,
    IncomingLine,
    LeadTime,
    Promise,
    PromiseState,
    days_late,
    peg,
    peg_location,
    plan_line,
    shortest_lead_time,
    supply_at,
)

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


def demand(
    order: str, quantity: int, *, requested: int = 8, minutes: int = 0, line: int = 1, location: str = "DC-EAST"
):
    return DemandLine(
        order_id=order,
        line=line,
        location=location,
        placed_at=NOW + timedelta(minutes=minutes),
        quantity=quantity,
        requested_date=day(requested),
    )


def test_the_story_of_the_issue_before_and_after_the_slip():
    lines = [demand("SO-1", 10, requested=1), demand("SO-2", 50, minutes=1), demand("SO-3", 40, minutes=2)]
    on_time = peg_location(lines, supply_at(20, [IncomingLine("PO-1/1", 200, day(7))], TODAY), None, TODAY)
    assert on_time == {
        ("SO-1", 1): Promise(TODAY, False, (ON_HAND,)),
        ("SO-2", 1): Promise(day(7), False, (ON_HAND, "PO-1/1")),
        ("SO-3", 1): Promise(day(7), False, ("PO-1/1",)),
    }
    slipped = peg_location(lines, supply_at(20, [IncomingLine("PO-1/1", 120, day(12))], TODAY), None, TODAY)
    assert [(p.promise_date, p.at_risk) for p in slipped.values()] == [(TODAY, False), (day(12), True), (day(12), True)]


def test_demand_is_served_in_arrival_order_whatever_order_it_is_given_in():
    supply = supply_at(10, [], TODAY)
    late, early = demand("SO-B", 10, minutes=5), demand("SO-A", 10, minutes=1)
    promises = peg_location([late, early], supply, 3, TODAY)
    assert promises[early.key] == Promise(TODAY, False, (ON_HAND,))
    assert promises[late.key] == Promise(day(3), False, (LEAD_TIME,))
    # Same time: order id, then line number (numerically) decide.
    tied = [demand("SO-1", 10, line=10), demand("SO-1", 10, line=2)]
    assert peg_location(tied, supply, None, TODAY)[("SO-1", 2)].promise_date == TODAY


def test_overdue_and_due_today_supply_counts_from_tomorrow_and_negative_available_is_none():
    supply = supply_at(-5, [IncomingLine("PO-1/1", 5, day(-3)), IncomingLine("PO-2/1", 5, TODAY)], TODAY)
    assert supply[0].source == "PO-1/1" and [s.available_on for s in supply] == [day(1), day(1)]
    closed = supply_at(0, [IncomingLine("PO-3/1", 0, day(2))], TODAY)
    assert closed == []
    (promise,) = peg_location([demand("SO-1", 8)], supply, None, TODAY).values()
    assert promise == Promise(day(1), False, ("PO-1/1", "PO-2/1"))


def test_beyond_supply_lead_time_or_no_promise():
    supply = supply_at(0, [IncomingLine("PO-1/1", 5, day(10))], TODAY)
    partly = peg_location([demand("SO-1", 8)], supply, 4, TODAY)[("SO-1", 1)]
    # Part of it comes on day 10: never promised before that supply, even if the lead time is shorter.
    assert partly == Promise(day(10), True, ("PO-1/1", LEAD_TIME))
    beyond = peg_location([demand("SO-1", 5), demand("SO-2", 1, minutes=1)], supply, 14, TODAY)
    assert beyond[("SO-2", 1)] == Promise(day(14), True, (LEAD_TIME,))
    nothing = peg_location([demand("SO-1", 1)], [], None, TODAY)[("SO-1", 1)]
    assert nothing == Promise(None, True, ())


def test_shortest_lead_time_per_location_a_location_specific_one_overrides_the_suppliers_general_one():
    lead_times = [
        LeadTime("SUP-A", None, 10),
        LeadTime("SUP-A", "DC-EAST", 20),
        LeadTime("SUP-B", None, 15),
        LeadTime("SUP-C", "DC-WEST", 2),
    ]
    assert shortest_lead_time(lead_times, "DC-EAST") == 15
    assert shortest_lead_time(lead_times, "DC-WEST") == 2
    assert shortest_lead_time(lead_times, "DC-NORTH") == 10
    assert shortest_lead_time([], "DC-EAST") is None
    # The order they are read in does not matter.
    assert shortest_lead_time(list(reversed(lead_times)), "DC-EAST") == 15


def test_peg_keeps_locations_apart():
    lines = [demand("SO-1", 5, location="DC-EAST"), demand("SO-2", 5, location="DC-WEST", minutes=1)]
    supply = {"DC-EAST": supply_at(5, [], TODAY)}
    promises = peg(lines, supply, [LeadTime("SUP-A", "DC-WEST", 6)], TODAY)
    assert promises[("SO-1", 1)] == Promise(TODAY, False, (ON_HAND,))
    assert promises[("SO-2", 1)] == Promise(day(6), False, (LEAD_TIME,))


def test_at_risk_and_days_late():
    line = demand("SO-1", 5, requested=2)
    assert (
        peg_location([line], supply_at(0, [IncomingLine("PO-1/1", 5, day(2))], TODAY), None, TODAY)[line.key].at_risk
        is False
    )
    assert days_late(day(5), day(2)) == 3
    assert days_late(day(1), day(2)) == 0
    assert days_late(None, day(2)) is None


# ------------------------------------------------------------------------------------------------ changes
def test_a_first_promise_is_announced_and_listed_only_when_at_risk():
    change = plan_line(PromiseState(), Promise(day(7), False, ("PO-1/1",)), NOW)
    assert change is not None and change.announce and change.exception is None
    assert change.state == PromiseState(day(7), False, ("PO-1/1",), NOW, None, None)
    risky = plan_line(PromiseState(), Promise(None, True, ()), NOW)
    assert risky is not None and risky.announce and risky.exception is ExceptionStep.PUT
    assert risky.state.at_risk_since == NOW


def test_the_same_promise_again_changes_nothing():
    stored = PromiseState(day(7), False, ("PO-1/1",), NOW, None, None)
    assert plan_line(stored, Promise(day(7), False, ("PO-1/1",)), NOW + timedelta(hours=1)) is None


def test_a_slip_keeps_the_previous_date_and_the_risk_keeps_its_start():
    stored = PromiseState(day(7), False, ("PO-1/1",), NOW, None, None)
    later = NOW + timedelta(hours=1)
    slipped = plan_line(stored, Promise(day(12), True, ("PO-1/1",)), later)
    assert slipped is not None and slipped.announce and slipped.exception is ExceptionStep.PUT
    assert slipped.state == PromiseState(day(12), True, ("PO-1/1",), later, day(7), later)
    # Slips again: still at risk since the first slip.
    again = plan_line(slipped.state, Promise(day(15), True, ("PO-1/1",)), later + timedelta(hours=1))
    assert again is not None and again.state.at_risk_since == later and again.state.previous_promise_date == day(12)
    # Recovers: announced, leaves the list.
    recovered = plan_line(again.state, Promise(TODAY, False, (ON_HAND,)), later + timedelta(hours=2))
    assert recovered is not None and recovered.announce and recovered.exception is ExceptionStep.DELETE
    assert recovered.state.at_risk_since is None


def test_other_supply_for_the_same_date_is_written_without_an_event():
    stored = PromiseState(day(7), True, ("PO-1/1",), NOW, day(3), NOW)
    change = plan_line(stored, Promise(day(7), True, ("PO-2/1",)), NOW + timedelta(hours=1))
    assert change is not None and not change.announce and change.exception is ExceptionStep.PUT
    assert change.state.promised_at == NOW and change.state.previous_promise_date == day(3)
    assert change.state.at_risk_since == NOW
