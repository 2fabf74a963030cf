"""Outbound X12 documents from canonical events (issue #6): an 850 purchase order to a supplier from a
`PurchaseOrder`, a 940 warehouse shipping order to a 3PL from an `OrderReleased`. Pure: no AWS.

Each document is one interchange (ISA/GS/ST) written with `writer.write` in the trading partner's profile
(`EdiSettings`): our ISA/GS ids as sender, the partner's as receiver, its ISA12/GS08, delimiters, test flag and line
breaks. The caller allocates the control numbers (ISA13, GS06, ST02) from the partner's sequences.

Segment layouts, as X12 defines them (checked against Stedi's X12 reference, stedi.com/edi/x12-004010/segment/<ID>,
and the corpus files 850_EdiEngine_850.OK.edi and 940_EdiEngine_940.OK.edi):

- 850 (GS01 PO): BEG01 353 purpose (00 original), BEG02 92 type (SA stand-alone), BEG03 324 PO number (AN 1/22),
  BEG04 328 release number (empty: a PO revision is not a blanket release), BEG05 373 PO date; CUR01 98 entity
  (BY buying party), CUR02 100 currency; REF01 128 qualifier (IA internal vendor number: the ERP's supplier id; IL
  internal order number: the ERP's own PO id), REF02 127 (AN 1/30); DTM01 374 qualifier (004 purchase order,
  002 delivery requested), DTM02 date, DTM03 time, DTM04 623 time code (UT: X12 has no time zone otherwise);
  N101 98 (ST ship-to), N102 name, N103 66 id qualifier (92 assigned by buyer), N104 67 id (AN 2/80);
  PO101 350 line (AN 1/20), PO102 330 quantity, PO103 355 unit (EA), PO104 212 unit price, PO105 639 basis
  (PE price per each), PO106 235 id qualifier (SK: our stock keeping unit), PO107 234 product id (AN 1/48);
  CTT01 354 number of line items, CTT02 347 hash total (of PO102).
- 940 (GS01 OW): W0501 473 order status (N original), W0502 285 depositor order number (AN 1/22: our order id,
  or its alias, below), W0503 324 purchase order number (the customer's reference); N1 ST ship-to + N2
  (attention) + N3 (address, AN 1/55 each) + N4 (city AN 2/30, state ID 2/2, postal ID 3/15, country ID 2/3);
  N1 SF ship-from (our location, N103 91 assigned by seller: to the warehouse we are the depositor); N9 OQ
  (only with an alias, below); G6201 432 date qualifier (10 requested ship, 02 delivery requested), G6202 date;
  per line LX01 554 assigned number (N0 1/6: our order line number), W0101 330 quantity, W0102 355 unit (EA),
  W0104 235 qualifier (VN vendor's item number: the depositor sells the goods, as in the corpus's 940), W0105 234
  product id; W7601 330 total quantity (a hash total).

Order aliases: W0502 holds 22 characters, order ids up to 64 (a Shopify order's `shopify-main.<id>` is 31). An id
that does not fit (too long, holding one of the partner's delimiters, or shaped like an alias itself) goes as
`order_alias(id)`, and the full id follows in N9 (heading, after the N1 loops as in the corpus's 940): N901 128
qualifier OQ "order number" (not CO, the customer's order number, which W0503 carries; not IL, "internal order
number", which a 3PL may use for its own), N902 127 the id (AN 1/30 before 005010, 1/50 from 005010 on); an id
longer than that but within 45 characters goes in N903 369 (free-form description, AN 1/45) with N902 empty, as
N9's syntax note R0203 (N902 or N903) allows. An id that fits neither is refused; one holding a delimiter of the
partner's cannot be written in its files at all, and goes as the alias alone (no N9). The 945 echoes W0502 in
W0602; the caller records alias -> order id per partner (`EdiStore.record_sent`), so an echo of the alias alone
resolves.

Dates are CCYYMMDD from GS08 004010 on, YYMMDD before. Element lengths are checked against release 004010. An
identifier the document cannot do without (PO number, order id, SKU, location, postal code) that is too long or
holds one of the profile's delimiters raises `DocumentError` naming the element; an optional reference (the
customer's, the ERP's) that cannot be written as it is is left out, never cut; free text (names, addresses) has
delimiters replaced by spaces and is cut to its element's length.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from shared.adapters.x12.model import Party, Separators
from shared.adapters.x12.writer import OutGroup, OutInterchange, OutTransaction, write
from shared.canonical.fulfillment import OrderReleased
from shared.canonical.orders import ShipTo
from shared.canonical.partner import EdiSettings
from shared.canonical.purchasing import PurchaseOrder

# GS01 functional identifier of each set we send.
FUNCTIONAL_IDS: dict[str, str] = {"850": "PO", "940": "OW"}
EACH = "EA"  # element 355: quantities in canonical documents are eaches
_REPETITION_FROM = "00402"  # ISA11 is the repetition separator from this ISA12 on
_CENTURY_DATES_FROM = "004010"  # DT elements are CCYYMMDD from this GS08 on, YYMMDD before
DEPOSITOR_ORDER_LENGTH = 22  # W0502 (element 285) AN 1/22
ALIAS_PREFIX = "DS"
_ALIAS_DIGITS = DEPOSITOR_ORDER_LENGTH - len(ALIAS_PREFIX)  # base32 characters: 5 bits each, 100 bits in all
_ALIAS = re.compile(rf"{ALIAS_PREFIX}[A-Z2-7]{{{_ALIAS_DIGITS}}}")
ORDER_NUMBER = "OQ"  # N901 (element 128) of the N9 that carries an aliased order's full id
_LONG_REFERENCES_FROM = "005010"  # element 127 (N902) is AN 1/50 from this GS08 on, AN 1/30 before
DESCRIPTION_LENGTH = 45  # element 369 (N903) AN 1/45


class DocumentError(ValueError):
    """A canonical document that cannot be said in X12 for this partner: the message names the element."""


def order_alias(order_id: str) -> str:
    """The 22-character stand-in for `order_id` in W0502: "DS" and the first 20 base32 characters (A-Z, 2-7) of
    its SHA-256. Deterministic (a retried or re-released order gets the same one) and independent of the partner.
    100 bits of digest: among a billion aliased orders the chance that two share an alias is about 4e-13 (the
    birthday bound n^2 / 2^101); the EDI table refuses to map one alias to a second order all the same."""
    digest = base64.b32encode(hashlib.sha256(order_id.encode()).digest()).decode()
    return ALIAS_PREFIX + digest[:_ALIAS_DIGITS]


def is_order_alias(value: str) -> bool:
    """`value` has the shape of an `order_alias` (a 945's W0602 that must be resolved through the EDI table)."""
    return _ALIAS.fullmatch(value) is not None


def depositor_order_number(order_id: str, profile: EdiSettings) -> str:
    """W0502 of `order_id` in this partner's 940s: the id as it is when it fits (22 characters, none of the
    partner's delimiters), else its alias. An id that fits but looks like an alias is aliased too, so that a
    W0602 of that shape always means an alias."""
    fits = len(order_id) <= DEPOSITOR_ORDER_LENGTH and not any(c in _Writer(profile).delimiters for c in order_id)
    return order_id if fits and not is_order_alias(order_id) else order_alias(order_id)


Segment = list[str]


class _Writer:
    """Values made fit for one profile's interchange: identifiers checked, free text cleaned, dates formatted."""

    def __init__(self, profile: EdiSettings) -> None:
        self.profile = profile
        self.separators = Separators(
            profile.element_separator,
            profile.component_separator,
            profile.segment_terminator,
            profile.repetition_separator if profile.version >= _REPETITION_FROM else None,
        )
        self.delimiters = {
            c
            for c in (
                self.separators.element,
                self.separators.component,
                self.separators.segment,
                self.separators.repetition,
            )
            if c
        }
        self.century = profile.gs_version[:6] >= _CENTURY_DATES_FROM

    def ident(self, value: str, element: str, max_length: int) -> str:
        """A value that must go as it is: refused when too long or holding a delimiter."""
        if not value or len(value) > max_length:
            raise DocumentError(f"{element} {value!r} does not fit its {max_length} characters")
        if any(c in self.delimiters for c in value):
            raise DocumentError(f"{element} {value!r} contains one of the partner's delimiters")
        return value

    def optional(self, value: str | None, max_length: int) -> str | None:
        """An optional reference: as it is, or None when it cannot be written as it is."""
        if not value or len(value) > max_length or any(c in self.delimiters for c in value):
            return None
        return value

    def text(self, value: str | None, max_length: int) -> str:
        """Free text: delimiters and line breaks become spaces, cut to the element's length."""
        if not value:
            return ""
        cleaned = "".join(" " if c in self.delimiters or c in "\r\n" else c for c in value)
        return " ".join(cleaned.split())[:max_length].rstrip()

    def date(self, value: date) -> str:
        return value.strftime("%Y%m%d" if self.century else "%y%m%d")

    def interchange(
        self, set_id: str, body: Sequence[Segment], *, interchange: int, group: int, set_: int, when: datetime
    ) -> str:
        profile = self.profile
        out = OutInterchange(
            sender=Party(profile.our_isa_qualifier, profile.our_isa_id),
            receiver=Party(profile.isa_qualifier, profile.isa_id),
            control_number=interchange,
            version=profile.version,
            separators=self.separators,
            test=profile.test,
            groups=[
                OutGroup(
                    FUNCTIONAL_IDS[set_id],
                    profile.our_gs_id,
                    profile.gs_id,
                    group,
                    profile.gs_version,
                    [OutTransaction(set_id, set_, body)],
                )
            ],
        )
        try:
            return write([out], when.astimezone(UTC), line_break="\n" if profile.line_break else "")
        except ValueError as exc:  # envelope values of the profile (ids with a delimiter, too wide)
            raise DocumentError(f"{set_id} envelope: {exc}") from None


def purchase_order_850(
    po: PurchaseOrder, profile: EdiSettings, *, interchange: int, group: int, set_: int, when: datetime
) -> str:
    """The 850 that orders `po` from the supplier whose profile this is (one interchange, one group, one set)."""
    if po.status != "open":
        raise DocumentError(f"purchase order {po.po_number} is {po.status}: an 850 orders an open PO")
    w = _Writer(profile)
    sent = po.sent_at.astimezone(UTC)
    body: list[Segment] = [["BEG", "00", "SA", w.ident(po.po_number, "BEG03", 22), "", w.date(sent.date())]]
    if po.currency:
        body.append(["CUR", "BY", po.currency])
    if supplier := w.optional(po.supplier_reference, 30):
        body.append(["REF", "IA", supplier])
    if (erp := w.optional(po.erp_reference, 30)) and erp != po.po_number:
        body.append(["REF", "IL", erp])
    body.append(["DTM", "004", w.date(sent.date()), sent.strftime("%H%M%S"), "UT"])
    body.append(["N1", "ST", "", "92", w.ident(po.location, "N104", 80)])
    for line in po.lines:
        price = [_decimal(line.unit_price), "PE"] if line.unit_price is not None else ["", ""]
        sku = w.ident(line.sku, "PO107", 48)
        body.append(["PO1", w.ident(str(line.line), "PO101", 20), str(line.quantity), EACH, *price, "SK", sku])
        body.append(["DTM", "002", w.date(line.requested_date)])
    body.append(["CTT", str(len(po.lines)), str(sum(line.quantity for line in po.lines))])
    return w.interchange("850", body, interchange=interchange, group=group, set_=set_, when=when)


def order_release_940(
    release: OrderReleased, profile: EdiSettings, *, interchange: int, group: int, set_: int, when: datetime
) -> str:
    """The 940 that asks the warehouse whose profile this is to ship `release` (one interchange, group, set)."""
    w = _Writer(profile)
    customer_ref = w.optional(release.customer_ref, 22) or ""
    number = depositor_order_number(release.order_id, profile)
    body: list[Segment] = [["W05", "N", w.ident(number, "W0502", DEPOSITOR_ORDER_LENGTH), customer_ref]]
    if release.ship_to is not None:
        body.extend(_ship_to(w, release.ship_to, release.customer_ref or release.order_id))
    body.append(["N1", "SF", "", "91", w.ident(release.location, "N104", 80)])
    if number != release.order_id and (n9 := _order_number(w, release.order_id)) is not None:
        body.append(n9)
    if release.requested_date is not None:
        body.append(["G62", "10", w.date(release.requested_date)])
    if release.deliver_by is not None:
        body.append(["G62", "02", w.date(release.deliver_by)])
    for line in release.lines:
        body.append(["LX", w.ident(str(line.line), "LX01", 6)])
        body.append(["W01", str(line.quantity), EACH, "", "VN", w.ident(line.sku, "W0105", 48)])
    body.append(["W76", str(sum(line.quantity for line in release.lines))])
    return w.interchange("940", body, interchange=interchange, group=group, set_=set_, when=when)


def _order_number(w: _Writer, order_id: str) -> Segment | None:
    """N9 OQ with the full id of an aliased order: in N902 when it fits, else in N903 (module docstring). None when
    the id holds one of the partner's delimiters: no element of its files can carry it, the alias alone goes."""
    reference = 50 if w.profile.gs_version[:6] >= _LONG_REFERENCES_FROM else 30
    if any(c in w.delimiters for c in order_id):
        return None
    if len(order_id) <= reference:
        return ["N9", ORDER_NUMBER, order_id]
    if len(order_id) <= DESCRIPTION_LENGTH:
        return ["N9", ORDER_NUMBER, "", order_id]
    raise DocumentError(
        f"N902 {order_id!r} does not fit its {reference} characters, nor N903 its {DESCRIPTION_LENGTH} "
        f"(an order id of {len(order_id)} characters: W0502 takes its alias, N9 the id itself)"
    )


def _ship_to(w: _Writer, ship_to: ShipTo, fallback_name: str) -> list[Segment]:
    """N1 ST (the company, else the person; N1 needs a name when no id code is given), N2 the person when both,
    N3 the address, N4 city/state/postal/country (a region that is no 2-letter code is left out: N402 is ID 2/2)."""
    name = w.text(ship_to.company or ship_to.name or fallback_name, 60)
    out: list[Segment] = [["N1", "ST", name]]
    if ship_to.company and ship_to.name:
        out.append(["N2", w.text(ship_to.name, 60)])
    if ship_to.address1:
        out.append(["N3", w.text(ship_to.address1, 55), w.text(ship_to.address2, 55)])
    region = ship_to.region if ship_to.region and len(ship_to.region) == 2 else ""
    postal = w.ident(ship_to.postal_code, "N403", 15) if ship_to.postal_code else ""
    if ship_to.city or region or postal or ship_to.country:
        out.append(["N4", w.text(ship_to.city, 30), w.text(region, 2), postal, w.text(ship_to.country, 3)])
    return out


def _decimal(value: Decimal) -> str:
    """A price as X12's R type writes it: no exponent, no trailing zeros after the point."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
