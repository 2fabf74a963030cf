"""Three-way matching of a supplier invoice against its purchase order and what was received (pure: no AWS).

Each invoiced line is compared with the PO line it names (ordered quantity, PO unit price, SKU) and with what the
warehouse received against that line so far. Quantities are in eaches and prices per each; the caller converts.

Issues of a line:
- `unknown_line`: the PO has no such line (nothing else is checked for it);
- `sku_mismatch`: the invoice names another item than the PO line (after the caller resolved the supplier's
  product id to our SKU where it could);
- `over_ordered`: the quantity invoiced on the PO line, over every invoice of the PO up to this line included,
  exceeds the ordered quantity;
- `over_received`: the same cumulative quantity exceeds what was received against the line;
- `price_variance`: the price per each differs from the PO's by more than the larger of 1% of the PO price and
  0.01 (a cent absorbs unit-conversion rounding on cheap items; 1% is the usual AP tolerance). A PO line
  without a price is not price-checked.

Issues of the invoice: `total_mismatch` (the stated total differs from the sum of the lines by more than 0.01),
`currency_mismatch` (the invoice's currency is not the PO's, so prices cannot be compared), `po_cancelled`.
The invoice is `matched` when neither it nor any line has an issue, else `exceptions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

LineIssue = Literal["unknown_line", "sku_mismatch", "over_ordered", "over_received", "price_variance"]
InvoiceIssue = Literal["total_mismatch", "currency_mismatch", "po_cancelled"]
MatchStatus = Literal["matched", "exceptions"]

PRICE_TOLERANCE_RATE = Decimal("0.01")  # 1% of the PO price per each ...
PRICE_TOLERANCE_MIN = Decimal("0.01")  # ... or one cent per each, whichever is larger
TOTAL_TOLERANCE = Decimal("0.01")
PRICE_PLACES = Decimal("0.000001")  # prices per each have at most 6 decimal places (the API's precision)


@dataclass(frozen=True)
class PoLineFacts:
    """What the PO and the warehouse say about one PO line."""

    line: int
    sku: str
    ordered: int
    unit_price: Decimal | None  # per each; None: the PO line has no price
    received: int  # received against the line so far, in eaches


@dataclass(frozen=True)
class InvoicedLine:
    """One invoice line in eaches. `sku` is the invoice's item as resolved to our SKU (None: not named)."""

    line: int
    sku: str | None
    quantity: int
    unit_price: Decimal  # per each
    amount: Decimal  # quantity x unit price as invoiced (in the invoice's unit)


@dataclass(frozen=True)
class LineMatch:
    line: int
    issues: tuple[LineIssue, ...]
    invoiced_to_date: int  # on the PO line, every invoice of the PO up to this line included
    po_sku: str | None = None
    ordered: int | None = None
    received: int | None = None
    po_unit_price: Decimal | None = None
    price_variance: Decimal | None = None  # per each, invoiced - PO

    @property
    def status(self) -> MatchStatus:
        return "exceptions" if self.issues else "matched"


@dataclass(frozen=True)
class InvoiceMatch:
    status: MatchStatus
    lines: tuple[LineMatch, ...]
    issues: tuple[InvoiceIssue, ...]
    lines_total: Decimal
    invoiced: Mapping[int, int]  # eaches invoiced per PO line over every invoice of the PO, this one included


def per_each(unit_price: Decimal, eaches_per_unit: int) -> Decimal:
    """A price per unit as a price per each: exact, or rounded to 6 decimal places when it has more."""
    if eaches_per_unit < 1:
        raise ValueError(f"a unit holds at least one each ({eaches_per_unit})")
    price = unit_price / eaches_per_unit
    exponent = price.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:  # 1E+2: written out
        return price.quantize(Decimal(1))
    if isinstance(exponent, int) and exponent >= PRICE_PLACES.as_tuple().exponent:
        return price
    return price.quantize(PRICE_PLACES, rounding=ROUND_HALF_EVEN)


def received_against(po_number: str, line: int, received: Mapping[str, int]) -> int:
    """What was received against a PO line, from the eaches received per incoming reference: the line's own
    reference `<po>/<line>`, its split deliveries `<po>/<line>#<n>` and its shipments `<po>/<line>/<notice>`."""
    base = f"{po_number}/{line}"
    return sum(
        quantity
        for reference, quantity in received.items()
        if reference == base or reference.startswith((f"{base}#", f"{base}/"))
    )


def price_tolerance(po_price: Decimal) -> Decimal:
    """The largest accepted difference per each from `po_price`."""
    return max(po_price * PRICE_TOLERANCE_RATE, PRICE_TOLERANCE_MIN)


def match_invoice(
    lines: Sequence[InvoicedLine],
    po_lines: Mapping[int, PoLineFacts],
    *,
    invoiced_before: Mapping[int, int],
    stated_total: Decimal | None = None,
    currency: str | None = None,
    po_currency: str | None = None,
    po_cancelled: bool = False,
) -> InvoiceMatch:
    """Match `lines` (in invoice order) against `po_lines`; `invoiced_before` holds the eaches earlier invoices of
    the PO put on each line. A line repeated in the invoice counts cumulatively, in invoice order."""
    running = dict(invoiced_before)
    matched: list[LineMatch] = []
    for x in lines:
        running[x.line] = running.get(x.line, 0) + x.quantity
        facts = po_lines.get(x.line)
        if facts is None:
            matched.append(LineMatch(x.line, ("unknown_line",), running[x.line]))
            continue
        issues: list[LineIssue] = []
        if x.sku is not None and x.sku != facts.sku:
            issues.append("sku_mismatch")
        if running[x.line] > facts.ordered:
            issues.append("over_ordered")
        if running[x.line] > facts.received:
            issues.append("over_received")
        variance = None
        if facts.unit_price is not None:
            variance = x.unit_price - facts.unit_price
            if abs(variance) > price_tolerance(facts.unit_price):
                issues.append("price_variance")
        matched.append(
            LineMatch(
                line=x.line,
                issues=tuple(issues),
                invoiced_to_date=running[x.line],
                po_sku=facts.sku,
                ordered=facts.ordered,
                received=facts.received,
                po_unit_price=facts.unit_price,
                price_variance=variance,
            )
        )
    total = sum((x.amount for x in lines), Decimal(0))
    invoice_issues: list[InvoiceIssue] = []
    if stated_total is not None and abs(stated_total - total) > TOTAL_TOLERANCE:
        invoice_issues.append("total_mismatch")
    if currency is not None and po_currency is not None and currency != po_currency:
        invoice_issues.append("currency_mismatch")
    if po_cancelled:
        invoice_issues.append("po_cancelled")
    exceptions = bool(invoice_issues) or any(m.issues for m in matched)
    return InvoiceMatch(
        status="exceptions" if exceptions else "matched",
        lines=tuple(matched),
        issues=tuple(invoice_issues),
        lines_total=total,
        invoiced=dict(sorted(running.items())),
    )
