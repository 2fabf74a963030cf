"""Purchase-order decisions without AWS: revisions, acknowledgments (ordering, diff), ship notices, supply per
line, risk, SSCC check digits, the overdue window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from shared.canonical.purchasing import PurchaseOrder, PurchaseOrderLine
from shared.domain import purchase_orders as po

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
D = TODAY + timedelta(days=10)  # requested = need date of the lines below


def order(*lines: PurchaseOrderLine, revision: int = 1, status: str = "open", number: str = "PO-1") -> PurchaseOrder:
    return PurchaseOrder(
        po_number=number,
        revision=revision,
        status=status,  # type: ignore[arg-type]
        supplier_id="SUP-ACME0001",
        supplier_reference="V-100",
        location="DC-EAST",
        sent_at=NOW,
        lines=list(lines) or [pol(1, "SKU-1", 100), pol(2, "SKU-2", 50)],
    )


def pol(n: int, sku: str, quantity: int, *, requested: date = D, need: date | None = None, price: str = "2.50"):
    return PurchaseOrderLine(
        line=n, sku=sku, quantity=quantity, unit_price=Decimal(price), requested_date=requested, need_date=need
    )


def created(*lines: PurchaseOrderLine, window: int = 48) -> po.PoState:
    return po.apply_revision(None, order(*lines), now=NOW, ack_window_hours=window).state


def ack(*lines: po.AckLineInput, ack_id: str = "ACK-1", issued: datetime = NOW) -> po.Acknowledgment:
    return po.Acknowledgment(ack_id, issued, lines)


def line(n: int, status: str, **kw) -> po.AckLineInput:
    return po.AckLineInput(line=n, status=status, at=f"/lines/{n - 1}", **kw)  # type: ignore[arg-type]


def apply(state: po.PoState, *lines: po.AckLineInput, **kw) -> po.AckResult:
    return po.apply_acknowledgment(state, ack(*lines, **kw), now=NOW)


def supply(state: po.PoState) -> list[tuple[str, str, int, date]]:
    return [(s.reference, s.kind, s.quantity, s.expected_date) for s in po.supply(state).values()]


# ---------------------------------------------------------------------------------------------- revisions
def test_a_new_po_awaits_its_acknowledgment_for_the_suppliers_window_and_is_on_order_as_requested():
    state = created(window=24)
    assert (state.version, state.ack_due_at, state.awaiting_ack) == (1, NOW + timedelta(hours=24), True)
    assert supply(state) == [("PO-1/1", "on_order", 100, D), ("PO-1/2", "on_order", 50, D)]
    assert [s.reference for s in po.supply_changes(None, state)] == ["PO-1/1", "PO-1/2"]


def test_older_revisions_are_superseded_and_the_same_one_is_unchanged():
    state = po.apply_revision(created(), order(revision=3), now=NOW).state
    assert state.order.revision == 3 and state.version == 2
    assert po.apply_revision(state, order(revision=2), now=NOW).outcome == "superseded"
    same = po.apply_revision(state, order(revision=3, status="cancelled"), now=NOW)
    assert (same.outcome, same.state) == ("unchanged", state)


def test_a_revision_keeps_answers_of_unchanged_skus_caps_them_and_closes_removed_lines():
    state = apply(created(), line(1, "changed", quantity=80), line(2, "accepted")).state
    revised = po.apply_revision(state, order(pol(1, "SKU-1", 60), pol(3, "SKU-3", 5), revision=2), now=NOW)
    assert revised.outcome == "changed" and revised.changed_lines == (1, 2, 3)
    after = revised.state
    assert after.acks[1].confirmed == 60 and 2 not in after.acks and 3 not in after.acks
    closed = [(s.reference, s.quantity) for s in po.supply_changes(state, after)]
    assert closed == [("PO-1/1", 60), ("PO-1/2", 0), ("PO-1/3", 5)]


def test_cancelling_closes_what_is_on_order_but_not_what_is_in_transit_and_leaves_the_due_index():
    state = po.apply_ship_notice(created(), po.ShipNoticeInput("ASN-1", D, ((1, 30),)), now=NOW)
    cancelled = po.apply_revision(state, order(revision=2, status="cancelled"), now=NOW).state
    assert not cancelled.awaiting_ack
    assert supply(cancelled) == [("PO-1/1/ASN-1", "in_transit", 30, D)]
    assert {(s.reference, s.quantity) for s in po.supply_changes(state, cancelled)} == {("PO-1/1", 0), ("PO-1/2", 0)}
    with pytest.raises(po.PurchaseOrderClosed):
        apply(cancelled, line(1, "accepted"))


def test_a_line_number_may_appear_once_per_revision():
    with pytest.raises(po.PurchasingError) as repeated:
        po.apply_revision(None, order(pol(1, "SKU-1", 1), pol(1, "SKU-2", 1)), now=NOW)
    assert [e["pointer"] for e in repeated.value.errors] == ["/lines/0/line", "/lines/1/line"]


# ------------------------------------------------------------------------------------------ acknowledgments
def test_a_partial_confirmation_with_a_later_date_is_the_diff_the_supply_and_the_risk():
    later = D + timedelta(days=6)
    result = apply(created(), line(1, "changed", quantity=60, promised_date=later, unit_price=Decimal("2.40")))
    assert result.outcome == "applied" and result.state.version == 2 and not result.state.awaiting_ack
    (outcome,) = result.lines
    assert (outcome.line, outcome.status, outcome.previous_status) == (1, "changed", "open")
    assert (outcome.ordered_quantity, outcome.confirmed_quantity, outcome.previous_confirmed_quantity) == (
        100,
        60,
        None,
    )
    assert (outcome.promised_date, outcome.previous_promised_date, outcome.need_date) == (later, None, D)
    assert (outcome.unit_price, outcome.previous_unit_price) == (Decimal("2.40"), Decimal("2.50"))
    assert outcome.changed == ["quantity", "date", "price", "status"]
    assert supply(result.state) == [("PO-1/1", "on_order", 60, later), ("PO-1/2", "on_order", 50, D)]
    assert [s.reference for s in po.supply_changes(created(), result.state)] == ["PO-1/1"]
    ((risk_line, risk),) = po.risk_changes(created(), result.state)
    assert (risk_line.line, risk.reasons, risk.days_late, risk.shortfall) == (1, ("late", "short"), 6, 40)


def test_lines_not_mentioned_keep_their_state():
    first = apply(created(), line(1, "changed", quantity=70), line(2, "rejected")).state
    second = po.apply_acknowledgment(
        first, ack(line(1, "accepted"), ack_id="ACK-2", issued=NOW + timedelta(hours=1)), now=NOW
    )
    assert second.state.acks[2].status == "rejected"
    assert second.state.acks[1].confirmed == 100
    assert [o.changed for o in second.lines] == [["quantity", "status"]]


def test_an_older_acknowledgment_is_superseded_and_changes_nothing():
    newer = apply(created(), line(1, "accepted"), ack_id="ACK-2", issued=NOW + timedelta(hours=2)).state
    older = po.apply_acknowledgment(newer, ack(line(1, "rejected"), ack_id="ACK-1", issued=NOW), now=NOW)
    assert (older.outcome, older.state, older.lines) == ("superseded", newer, ())
    # the same instant: the greater id wins, whichever arrives first
    tie = po.apply_acknowledgment(
        newer, ack(line(1, "rejected"), ack_id="ACK-1", issued=NOW + timedelta(hours=2)), now=NOW
    )
    assert tie.outcome == "superseded"


def test_a_split_schedule_is_one_reference_per_delivery_and_completes_on_its_last_date():
    d1, d2 = TODAY + timedelta(days=5), D + timedelta(days=3)
    result = apply(
        created(),
        line(1, "changed", schedule=(po.Delivery(40, d1), po.Delivery(60, d2))),
    )
    (outcome,) = result.lines
    assert [(s.reference, s.quantity, s.date) for s in outcome.schedule] == [("PO-1/1#1", 40, d1), ("PO-1/1#2", 60, d2)]
    assert outcome.promised_date == d2 and outcome.confirmed_quantity == 100
    changes = [(s.reference, s.quantity) for s in po.supply_changes(created(), result.state)]
    assert changes == [("PO-1/1", 0), ("PO-1/1#1", 40), ("PO-1/1#2", 60)]
    assert po.line_risk(result.state, 1).reasons == ("late",)


@pytest.mark.parametrize(
    ("ack_line", "message"),
    [
        (line(1, "changed", quantity=101), "more than the 100 ordered"),
        (line(1, "accepted", promised_date=TODAY - timedelta(days=1)), "in the past"),
        (line(1, "changed", schedule=(po.Delivery(10, TODAY - timedelta(days=1)),)), "in the past"),
        (line(1, "changed", quantity=50, schedule=(po.Delivery(40, D),)), "adds up to 40"),
        (line(1, "accepted", quantity=90), "use 'changed'"),
        (line(1, "rejected", quantity=5), "confirms nothing"),
        (line(1, "changed"), "needs a quantity"),
        (line(1, "changed", quantity=0), "is a rejection"),
    ],
)
def test_acknowledgments_that_contradict_the_po_are_refused(ack_line, message):
    with pytest.raises(po.InvalidAcknowledgment) as refused:
        apply(created(), ack_line)
    assert any(message in e["message"] for e in refused.value.errors), refused.value.errors
    assert all(e["code"] == "invalid-acknowledgment" for e in refused.value.errors)


def test_unknown_lines_are_named():
    with pytest.raises(po.UnknownPoLine) as unknown:
        apply(created(), line(1, "accepted"), line(7, "accepted"))
    assert unknown.value.lines == [7] and unknown.value.errors[0]["pointer"] == "/lines/6/line"


def test_confirming_less_than_already_shipped_is_refused():
    shipped = po.apply_ship_notice(created(), po.ShipNoticeInput("ASN-1", D, ((1, 30),)), now=NOW)
    with pytest.raises(po.InvalidAcknowledgment, match="contradicts"):
        apply(shipped, line(1, "changed", quantity=20))


# --------------------------------------------------------------------------------------------- ship notices
def test_a_partial_shipment_is_in_transit_and_the_rest_stays_on_order():
    acked = apply(created(), line(1, "changed", quantity=80, promised_date=D)).state
    shipped = po.apply_ship_notice(acked, po.ShipNoticeInput("ASN-1", D - timedelta(days=1), ((1, 30),)), now=NOW)
    assert supply(shipped) == [
        ("PO-1/1", "on_order", 50, D),
        ("PO-1/1/ASN-1", "in_transit", 30, D - timedelta(days=1)),
        ("PO-1/2", "on_order", 50, D),
    ]
    assert [(s.reference, s.quantity) for s in po.supply_changes(acked, shipped)] == [
        ("PO-1/1", 50),
        ("PO-1/1/ASN-1", 30),
    ]
    rest = po.apply_ship_notice(shipped, po.ShipNoticeInput("ASN-2", D, ((1, 50),)), now=NOW)
    assert [(s.reference, s.quantity) for s in po.supply_changes(shipped, rest)] == [
        ("PO-1/1", 0),
        ("PO-1/1/ASN-2", 50),
    ]


def test_shipping_takes_the_earliest_scheduled_delivery_first():
    d1, d2 = TODAY + timedelta(days=2), TODAY + timedelta(days=9)
    acked = apply(created(), line(1, "changed", schedule=(po.Delivery(60, d2), po.Delivery(40, d1)))).state
    shipped = po.apply_ship_notice(acked, po.ShipNoticeInput("ASN-1", d1, ((1, 50),)), now=NOW)
    assert [x for x in supply(shipped) if x[1] == "on_order" and x[0].startswith("PO-1/1")] == [
        ("PO-1/1#1", "on_order", 50, d2)
    ]


def test_over_shipment_is_measured_against_the_confirmed_open_quantity():
    acked = apply(created(), line(1, "changed", quantity=40), line(2, "rejected")).state
    once = po.apply_ship_notice(acked, po.ShipNoticeInput("ASN-1", D, ((1, 30),)), now=NOW)
    with pytest.raises(po.OverShipment) as over:
        po.apply_ship_notice(once, po.ShipNoticeInput("ASN-2", D, ((1, 11), (2, 1))), now=NOW)
    assert [(e["line"], e["open_quantity"]) for e in over.value.errors] == [(1, 10), (2, 0)]


def test_cartons_need_valid_ssccs_and_must_hold_exactly_the_lines():
    good, other = "106141411234567897", "106141411234567903"
    assert po.is_valid_sscc(good) and po.is_valid_sscc(other)
    state = created()
    ok = po.ShipNoticeInput(
        "ASN-1", D, ((1, 30),), (po.CartonInput(good, ((1, 20),)), po.CartonInput(other, ((1, 10),)))
    )
    assert po.apply_ship_notice(state, ok, now=NOW).shipped(1) == 30
    with pytest.raises(po.InvalidSscc) as bad:
        po.apply_ship_notice(
            state, po.ShipNoticeInput("ASN-1", D, ((1, 30),), (po.CartonInput(good[:-1] + "0", ((1, 30),)),)), now=NOW
        )
    assert bad.value.errors[0]["pointer"] == "/cartons/0/sscc"
    with pytest.raises(po.InvalidShipNotice) as mismatch:
        po.apply_ship_notice(
            state, po.ShipNoticeInput("ASN-1", D, ((1, 30),), (po.CartonInput(good, ((1, 20),)),)), now=NOW
        )
    assert "the cartons hold 20, the notice ships 30" in mismatch.value.errors[0]["message"]
    with pytest.raises(po.InvalidShipNotice):
        po.apply_ship_notice(
            state,
            po.ShipNoticeInput(
                "ASN-1", D, ((1, 30),), (po.CartonInput(good, ((1, 15),)), po.CartonInput(good, ((1, 15),)))
            ),
            now=NOW,
        )


@pytest.mark.parametrize(
    ("first17", "check"),
    # the GS1 General Specifications' example SSCC (00) 106141411234567897; the third computed by hand:
    # 8·3+7+6·3+5+4·3+3+2·3+1+0+9+8·3+7+6·3+5+4·3+3+0 = 154 -> 6
    [("10614141123456789", 7), ("00000000000000000", 0), ("03456789012345678", 6)],
)
def test_sscc_check_digit_is_gs1_mod_10(first17, check):
    assert po.sscc_check_digit(first17) == check
    assert po.is_valid_sscc(first17 + str(check))
    assert not po.is_valid_sscc(first17 + str((check + 1) % 10))
    assert not po.is_valid_sscc(first17) and not po.is_valid_sscc(first17 + "x")


# ---------------------------------------------------------------------------------------------------- risk
def test_risk_recovers_when_the_supplier_confirms_in_time_and_a_rejection_is_its_own_reason():
    late = apply(created(), line(1, "changed", promised_date=D + timedelta(days=2))).state
    recovered = po.apply_acknowledgment(
        late, ack(line(1, "changed", promised_date=D), ack_id="ACK-2", issued=NOW + timedelta(minutes=1)), now=NOW
    ).state
    ((_, risk),) = po.risk_changes(late, recovered)
    assert (risk.at_risk, risk.reasons) == (False, ())
    rejected = apply(created(), line(2, "rejected")).state
    ((_, risk),) = po.risk_changes(created(), rejected)
    assert (risk.reasons, risk.shortfall) == (("rejected",), 50)


def test_a_line_shipped_in_time_is_not_late_whatever_it_was_promised():
    acked = apply(created(pol(1, "SKU-1", 10, need=D)), line(1, "changed", promised_date=D + timedelta(days=4))).state
    assert po.line_risk(acked, 1).reasons == ("late",)
    shipped = po.apply_ship_notice(acked, po.ShipNoticeInput("ASN-1", D, ((1, 10),)), now=NOW)
    assert po.line_risk(shipped, 1).reasons == ()


# ------------------------------------------------------------------------------------------------- overdue
def test_a_po_is_overdue_once_its_window_passed_and_until_acknowledged():
    state = created(window=48)
    assert not po.is_ack_overdue(state, NOW + timedelta(hours=47))
    assert po.is_ack_overdue(state, NOW + timedelta(hours=48))
    flagged = po.mark_ack_overdue(state, NOW + timedelta(hours=49))
    assert not flagged.awaiting_ack and not po.is_ack_overdue(flagged, NOW + timedelta(days=9))
    acknowledged = apply(state, line(1, "accepted")).state
    assert not po.is_ack_overdue(acknowledged, NOW + timedelta(days=9))


def test_event_ids_are_one_per_version_type_and_subject():
    a = po.event_id("PO-1", 2, "inventory.incoming_updated", "PO-1/1")
    assert a == po.event_id("PO-1", 2, "inventory.incoming_updated", "PO-1/1")
    assert a != po.event_id("PO-1", 3, "inventory.incoming_updated", "PO-1/1")
    assert a != po.event_id("PO-1", 2, "inventory.incoming_updated", "PO-1/2")
