"""Three-way matching of supplier invoices without AWS: each issue of a line and of the invoice, cumulative
quantities over earlier invoices and repeated lines, the price tolerance, prices per each, receipts per line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.domain import invoice_matching as im

PO = {
    1: im.PoLineFacts(1, "SKU-1", ordered=100, unit_price=Decimal("4.25"), received=60),
    2: im.PoLineFacts(2, "SKU-2", ordered=40, unit_price=Decimal("120.00"), received=40),
    3: im.PoLineFacts(3, "SKU-3", ordered=10, unit_price=None, received=10),
}


def inv(line: int, quantity: int, price: str, *, sku: str | None = None) -> im.InvoicedLine:
    return im.InvoicedLine(line, sku, quantity, Decimal(price), quantity * Decimal(price))


def match(*lines: im.InvoicedLine, before: dict[int, int] | None = None, **kwargs) -> im.InvoiceMatch:
    return im.match_invoice(lines, PO, invoiced_before=before or {}, **kwargs)


def test_an_invoice_within_what_was_ordered_received_and_priced_matches():
    result = match(inv(1, 60, "4.25", sku="SKU-1"), inv(2, 40, "120.00"), stated_total=Decimal("5055.00"))
    assert result.status == "matched"
    assert [(m.line, m.issues, m.invoiced_to_date, m.price_variance) for m in result.lines] == [
        (1, (), 60, Decimal("0.00")),
        (2, (), 40, Decimal("0.00")),
    ]
    assert (result.issues, result.lines_total, result.invoiced) == ((), Decimal("5055.00"), {1: 60, 2: 40})


def test_each_line_issue_is_named():
    result = match(
        inv(9, 1, "1.00"),  # not on the PO
        inv(1, 60, "4.25", sku="SKU-9"),
        inv(2, 40, "125.00"),
    )
    by_line = {m.line: m for m in result.lines}
    assert by_line[9].issues == ("unknown_line",)
    assert (by_line[9].po_sku, by_line[9].ordered, by_line[9].invoiced_to_date) == (None, None, 1)
    assert by_line[1].issues == ("sku_mismatch",)
    assert by_line[2].issues == ("price_variance",)
    assert by_line[2].price_variance == Decimal("5.00")
    assert result.status == "exceptions"


def test_received_and_ordered_are_checked_against_every_invoice_of_the_po():
    # 60 of the 100 ordered were received; 50 were invoiced before.
    assert match(inv(1, 10, "4.25"), before={1: 50}).status == "matched"
    (over_received,) = match(inv(1, 11, "4.25"), before={1: 50}).lines
    assert (over_received.issues, over_received.invoiced_to_date) == (("over_received",), 61)
    (both,) = match(inv(1, 51, "4.25"), before={1: 50}).lines
    assert both.issues == ("over_ordered", "over_received")
    # line 2: everything ordered was received, so invoicing it twice is over both
    assert match(inv(2, 40, "120"), before={2: 40}).lines[0].issues == ("over_ordered", "over_received")


def test_a_line_repeated_in_the_invoice_counts_cumulatively_in_invoice_order():
    first, second = match(inv(1, 50, "4.25"), inv(1, 20, "4.25")).lines
    assert (first.issues, first.invoiced_to_date) == ((), 50)
    assert (second.issues, second.invoiced_to_date) == (("over_received",), 70)
    assert match(inv(1, 50, "4.25"), inv(1, 20, "4.25"), before={7: 3}).invoiced == {1: 70, 7: 3}


@pytest.mark.parametrize(
    ("po_price", "invoiced", "variance"),
    [
        ("120.00", "121.20", False),  # 1% of 120 is 1.20: at the limit
        ("120.00", "121.21", True),
        ("120.00", "118.80", False),
        ("120.00", "118.79", True),
        ("0.50", "0.51", False),  # 1% is half a cent: a cent is accepted
        ("0.50", "0.511", True),
    ],
)
def test_the_price_tolerance_is_the_larger_of_one_percent_and_a_cent(po_price, invoiced, variance):
    facts = {1: im.PoLineFacts(1, "SKU-1", 10, Decimal(po_price), 10)}
    (line,) = im.match_invoice([inv(1, 1, invoiced)], facts, invoiced_before={}).lines
    assert ("price_variance" in line.issues) is variance
    assert line.price_variance == Decimal(invoiced) - Decimal(po_price)


def test_a_po_line_without_a_price_is_not_price_checked():
    (line,) = match(inv(3, 10, "999.99")).lines
    assert (line.issues, line.po_unit_price, line.price_variance) == ((), None, None)


def test_invoice_issues_total_currency_and_a_cancelled_po():
    lines = (inv(1, 10, "4.25"), inv(2, 1, "120.00"))  # 162.50
    assert match(*lines, stated_total=Decimal("162.51")).status == "matched"
    assert match(*lines, stated_total=Decimal("162.49")).issues == ()
    off = match(*lines, stated_total=Decimal("162.52"))
    assert (off.status, off.issues, off.lines_total) == ("exceptions", ("total_mismatch",), Decimal("162.50"))
    assert match(*lines, currency="USD", po_currency="USD").issues == ()
    assert match(*lines, currency=None, po_currency="USD").issues == ()
    assert match(*lines, currency="EUR", po_currency="USD").issues == ("currency_mismatch",)
    cancelled = match(*lines, po_cancelled=True)
    assert (cancelled.status, cancelled.issues) == ("exceptions", ("po_cancelled",))
    assert all(not m.issues for m in cancelled.lines)


@pytest.mark.parametrize(
    ("price", "eaches", "expected"),
    [("51.00", 12, "4.25"), ("10", 3, "3.333333"), ("4.25", 1, "4.25"), ("1E+2", 1, "100"), ("0.01", 480, "0.000021")],
)
def test_prices_per_each(price, eaches, expected):
    assert str(im.per_each(Decimal(price), eaches)) == expected


def test_a_unit_holds_at_least_one_each():
    with pytest.raises(ValueError, match="at least one each"):
        im.per_each(Decimal("1"), 0)


def test_received_against_a_line_counts_its_own_schedule_and_shipment_references_only():
    received = {
        "PO-1/1": 5,
        "PO-1/1#2": 7,
        "PO-1/1/ASN-1": 30,
        "PO-1/10": 100,  # line 10, not line 1
        "PO-1/10/ASN-1": 100,
        "PO-11/1": 100,  # another PO
        "PO-1/2/ASN-1": 100,
    }
    assert im.received_against("PO-1", 1, received) == 42
    assert im.received_against("PO-1", 10, received) == 200
    assert im.received_against("PO-1", 3, received) == 0
