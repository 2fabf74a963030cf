"""Inbound X12 transaction sets -> the request models the API validates (issue #6), so an EDI partner looks to every
flow exactly like an API partner. Pure: no AWS, no HTTP.

`to_canonical(result)` gives one `Mapped` per request: a 855 becomes one `AcknowledgmentRequest` (for the PO in
BAK03), a 856 one `ShipNoticeRequest` per order level (HL O, the PO in PRF01), an 850 one `OrderRequest`, an 810 one
`SupplierInvoiceRequest` (the PO in BIG04), an 846 one `SnapshotRequest` (for its location), a 945 one
`PickCompleteRequest` (the order in W0602), a 214 one `TrackingEvent` per shipment status (AT7) and a 997 or 999 one
`FunctionalAck` (the group it acknowledges). A set that cannot be mapped gives a `MappingError` naming the set
(ST02), the segment, its position in the file and the reason. Product ids are taken as the SKU as they are: the API
path resolves cross-references (GTIN, vendor part numbers) later.

X12 carries no time zone: dates and times are read as UTC, except a 214's AT7 with a time code (AT707).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.adapters.x12.documents import ORDER_NUMBER, is_order_alias, order_alias
from shared.adapters.x12.model import Group, Interchange, ParseResult, Transaction
from shared.api.fulfillment_models import PickCompleteRequest, TrackingEvent, TrackingStatus
from shared.api.models import SnapshotLineRequest, SnapshotRequest
from shared.api.order_models import OrderRequest
from shared.api.purchasing_models import (
    AckLineRequest,
    AcknowledgmentRequest,
    CartonRequest,
    InvoiceLineRequest,
    ShipNoticeRequest,
    SupplierInvoiceRequest,
)
from shared.canonical.fulfillment import Package

# X12 unit of measure codes (element 355) -> the item master's unit names. The item master says how many eaches a
# unit holds per item; a code not here is refused rather than guessed at.
UNITS: dict[str, str] = {
    "EA": "each",
    "UN": "each",  # "unit"
    "PC": "each",  # "piece"
    "CA": "case",
    "CS": "case",
    "BX": "box",
    "PK": "pack",
    "PL": "pallet",
}

# ACK01 line status codes (element 668) -> AckLineStatus. Codes not here (IS substitution, IH on hold...) cannot be
# said in the acknowledgment model and are refused.
ACK_STATUSES: dict[str, str] = {
    "IA": "accepted",  # item accepted
    "AR": "accepted",  # accepted and released for shipment
    "IB": "backordered",  # item backordered
    "IC": "changed",  # accepted, changes made
    "IQ": "changed",  # accepted, quantity changed
    "DR": "changed",  # accepted, date rescheduled
    "IP": "changed",  # accepted, price changed
    "IR": "rejected",  # item rejected
    "ID": "rejected",  # item deleted
    "R1": "rejected",  # not a contract item
    "R2": "rejected",  # invalid item
    "R3": "rejected",  # multiple unit of measure
    "R4": "rejected",  # invalid unit of measure
}

# DTM01 / ACK04 qualifiers read as the expected delivery (ETA, promised date) and the ship date.
DELIVERY_QUALIFIERS = ("017", "067", "002", "068")  # estimated delivery, current schedule delivery/ship, requested
SHIPPED_QUALIFIER = "011"
# BAK01 purposes (element 353) that withdraw a document: 01 cancellation, 03 delete.
CANCELLING_PURPOSES = ("01", "03")

M = TypeVar("M", bound=BaseModel)

# PO1 product id qualifiers (element 235), in the order one is taken as the SKU: ours (SK, vendor's part VP/VN)
# before the buyer's (BP, IN, CB) before the GTINs (UP, UA, EN).
PRODUCT_QUALIFIERS = ("SK", "VP", "VN", "BP", "IN", "CB", "UP", "UA", "EN")
# DTM qualifiers of an 850: requested ship (010) is the line's requested date, else requested delivery (002);
# 002 is also the order's deliver-by.
REQUESTED_SHIP, REQUESTED_DELIVERY = "010", "002"

# What each mapped request is (`Mapped.kind`), hence which flow it goes to (docs/edi.md, "Gateway").
ACKNOWLEDGMENT = "acknowledgment"  # 855 -> AcknowledgmentRequest, reference = PO number
SHIP_NOTICE = "ship_notice"  # 856 -> ShipNoticeRequest, reference = PO number
ORDER = "order"  # 850 -> OrderRequest, reference = order id
INVOICE = "invoice"  # 810 -> SupplierInvoiceRequest, reference = PO number
INVENTORY_ADVICE = "inventory_advice"  # 846 -> SnapshotRequest, reference = the location
SHIPPING_ADVICE = "shipping_advice"  # 945 -> PickCompleteRequest, reference = order id
# 945 naming the order only by the alias our 940 sent in W0502 (W0602, no N9 OQ): reference = the alias, which the
# gateway resolves through the EDI table into a SHIPPING_ADVICE.
SHIPPING_ADVICE_BY_ALIAS = "shipping_advice_by_alias"
CARRIER_MILESTONE = "carrier_milestone"  # 214 -> TrackingEvent, reference = tracking number
FUNCTIONAL_ACK = "functional_ack"  # 997/999 -> FunctionalAck, reference = the group control number acknowledged

# 810: IT105 price bases that are not "per IT103 unit" (element 639) and would need a division the model cannot say.
PRICE_PER_MANY = {"HP": "hundred", "TP": "thousand"}
# 810: ITD01 terms type codes (element 336) named in the readable terms when ITD12 (the description) is absent.
TERMS_TYPES = {
    "01": "basic",
    "02": "end of month",
    "05": "discount not applicable",
    "08": "basic discount offered",
    "14": "previously agreed upon",
}
# 810: BIG07 transaction type codes (element 640) the invoice model cannot say (its amounts are never negative).
CREDIT_TYPES = {"CR": "credit memo"}

# 846: N1 entity codes (element 98) that name the location counted, in the order one is taken, and the N103 id
# qualifiers (element 66) whose N104 we can use as a location code: a GLN (UL), ours (92: assigned by the buyer, us)
# or the partner's own code for it (91: assigned by the seller).
INVENTORY_PARTIES = ("WH", "RL", "SF", "ST")  # warehouse, reporting location, ship from, ship to
LOCATION_ID_QUALIFIERS = ("UL", "92", "91")
# 846: QTY01 qualifiers (element 673) read as the count: available (33) before on hand (17). Available wins because
# on hand includes stock the warehouse cannot ship and the 846 does not say why (no unavailable reason to give).
AVAILABLE, ON_HAND = "33", "17"

# 945: W1205 units taken as eaches; the 945 reports picked units and nothing converts them.
EACH_UNITS = ("EA", "UN", "PC")
SHIPPED_ON = "11"  # G6201: shipped on this date

# 214: AT701 shipment status codes (element 1650) -> the canonical tracking status, with the code's name (kept in
# `detail`). A delivery attempt that failed (AH, AP) is not the end of a shipment (the carrier tries again or holds
# it): only A3 (returned), A7 (refused), A9 (damaged) and CA (cancelled) end it, which fails the order's flow.
SHIPMENT_STATUSES: dict[str, tuple[TrackingStatus, str]] = {
    "XB": ("pre_transit", "shipment acknowledged"),
    "OO": ("pre_transit", "paperwork received, shipment not received"),
    "X3": ("pre_transit", "arrived at pick-up location"),
    "X8": ("pre_transit", "arrived at pick-up location loading dock"),
    "CP": ("in_transit", "completed loading at pick-up location"),
    "AF": ("in_transit", "carrier departed pick-up location with shipment"),
    "AM": ("in_transit", "loaded on truck"),
    "L1": ("in_transit", "loading"),
    "CL": ("in_transit", "trailer closed out"),
    "AN": ("in_transit", "diverted to air carrier"),
    "AI": ("in_transit", "shipment reconsigned"),
    "AR": ("in_transit", "rail arrival at destination ramp"),
    "RL": ("in_transit", "rail departure from origin ramp"),
    "BA": ("in_transit", "connecting line or cartage pick-up"),
    "BC": ("in_transit", "storage in transit"),
    "I1": ("in_transit", "in-gate"),
    "OA": ("in_transit", "out-gate"),
    "J1": ("in_transit", "delivered to connecting line"),
    "R1": ("in_transit", "received from prior carrier"),
    "K1": ("in_transit", "arrived at customs"),
    "PR": ("in_transit", "customs hold at in-bond location"),
    "P1": ("in_transit", "departed terminal location"),
    "X4": ("in_transit", "arrived at terminal location"),
    "SD": ("in_transit", "shipment delayed"),
    "AV": ("in_transit", "available for delivery"),
    "X6": ("out_for_delivery", "en route to delivery location"),
    "AJ": ("out_for_delivery", "tendered for delivery"),
    "X1": ("out_for_delivery", "arrived at delivery location"),
    "X5": ("out_for_delivery", "arrived at delivery location loading dock"),
    "S1": ("out_for_delivery", "trailer spotted at consignee's location"),
    "AH": ("out_for_delivery", "attempted delivery"),
    "AP": ("out_for_delivery", "delivery not completed"),
    "AW": ("available_for_pickup", "shipment available for pick-up"),
    "D1": ("delivered", "completed unloading at delivery location"),
    "CB": ("delivered", "completed shipment"),
    "A3": ("return_to_sender", "shipment returned to shipper"),
    "A7": ("failure", "refused by consignee"),
    "A9": ("failure", "shipment damaged"),
    "CA": ("cancelled", "shipment cancelled"),
}
# AT701 codes whose date is an estimate of the delivery (not a milestone): it becomes `estimated_delivery`.
DELIVERY_ESTIMATES = {"AG": "estimated delivery", "X2": "estimated arrival at consignee's location"}
# AT701 codes that estimate another step (not the delivery): no milestone, no delivery estimate, skipped.
OTHER_ESTIMATES = ("B6", "C1")  # estimated to arrive at / depart from a terminal
NORMAL_STATUS = "NS"  # AT702: normal status (said in `detail` only when it is another reason)
# AT707 time codes (element 623) with a fixed offset from UTC, in hours; NT, TT, ET, CT, MT, PT and AT follow
# daylight saving time (US/Canadian rules); 01-24 are UTC+1..+12, UTC-12..-1; LT (local time), like no code at
# all, is read as UTC: it names no zone.
FIXED_TIME_CODES: dict[str, float] = {
    "UT": 0,
    "GM": 0,
    "ND": -2.5,
    "NS": -3.5,
    "TD": -3,
    "TS": -4,
    "ED": -4,
    "ES": -5,
    "CD": -5,
    "CS": -6,
    "MD": -6,
    "MS": -7,
    "PD": -7,
    "PS": -8,
    "AD": -8,
    "AS": -9,
    "HD": -9,
    "HS": -10,
    "HT": -10,  # Hawaii-Aleutian time: Hawaii keeps standard time all year (HD is the Aleutians' summer time)
}
SEASONAL_TIME_CODES: dict[str, tuple[float, float]] = {  # (standard, daylight)
    "NT": (-3.5, -2.5),
    "TT": (-4, -3),
    "ET": (-5, -4),
    "CT": (-6, -5),
    "MT": (-7, -6),
    "PT": (-8, -7),
    "AT": (-9, -8),
}
LOCAL_TIME = "LT"

# 997/999: AK901 / AK501 (IK501) acknowledgment codes (element 715 / 717) -> the verdict `EdiStore.record_ack` keeps.
GROUP_VERDICTS = {
    "A": "accepted",
    "E": "accepted",  # accepted, but errors were noted
    "P": "partially_accepted",  # some sets accepted
    "R": "rejected",
    "M": "rejected",  # message authentication code failed
    "W": "rejected",  # assurance failed validity tests
    "X": "rejected",  # content after decryption could not be analyzed
}
SET_VERDICTS = {code: v for code, v in GROUP_VERDICTS.items() if code != "P"}

AckVerdict = Literal["accepted", "partially_accepted", "rejected"]


class AcknowledgedSet(BaseModel):
    """One AK2 loop: a set the partner acknowledged, its verdict (AK501, or IK501 in a 999) and the errors it
    reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    set_id: str = Field(description="AK201: the set acknowledged, e.g. 850.")
    control_number: str = Field(description="AK202: its ST02.")
    status: Literal["accepted", "rejected"] = Field(description="AK501/IK501 (E, accepted with errors: accepted).")
    code: str = Field(description="AK501/IK501 as written (A, E, M, R, W, X).")
    codes: list[str] = Field(
        default_factory=list, description="AK502-AK506 (element 718) or IK502-IK506 (element 618): the set's codes."
    )
    errors: list[str] = Field(
        default_factory=list, description="AK3/AK4 or IK3/IK4 (and CTX) segment and element errors, as sentences."
    )


class FunctionalAck(BaseModel):
    """A partner's 997 (or 999, the implementation acknowledgment of 005010X231) for a functional group we sent (an
    850 or 940 group): its verdict and the sets it names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    acknowledgment: Literal["997", "999"] = Field(default="997", description="ST01 of the set it came in.")
    functional_id: str = Field(description="AK101: GS01 of the group acknowledged, e.g. PO.")
    group_control_number: str = Field(description="AK102: GS06 of the group acknowledged.")
    version: str | None = Field(default=None, description="AK103 (from release 005010 on): GS08 of the group.")
    status: AckVerdict = Field(description="AK901 (E, accepted with errors: accepted).")
    code: str = Field(description="AK901 as written (A, E, P, R, M, W, X).")
    sets_included: int | None = Field(default=None, description="AK902.")
    sets_received: int | None = Field(default=None, description="AK903.")
    sets_accepted: int | None = Field(default=None, description="AK904.")
    codes: list[str] = Field(default_factory=list, description="AK905-AK909: the group's syntax error codes.")
    sets: list[AcknowledgedSet] = Field(default_factory=list)

    def detail(self) -> str:
        """One line for the record of the group sent (`EdiStore.record_ack`): the verdict and what was refused."""
        trailer = _ACK_SEGMENTS[self.acknowledgment][2]
        parts = [f"AK9 {self.code}{_listed(self.codes)}"]
        for s in self.sets:
            if s.code != "A":
                parts.append(f"{s.set_id} {s.control_number}: {trailer} {s.code}{_listed(s.codes)}")
                parts.extend(s.errors)
        return "; ".join(parts)[:1000]


@dataclass(frozen=True, slots=True)
class MappingError:
    """Why a set cannot become a request: the set (ST01/ST02), the segment id and its 1-based position in the file,
    the element when one is to blame, and the reason in a sentence."""

    set_id: str
    control_number: str
    segment: str
    position: int
    reason: str
    element: str | None = None

    def __str__(self) -> str:
        where = self.element or self.segment
        return f"{self.set_id} {self.control_number}: {where} (segment {self.position}): {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "set_id": self.set_id,
            "control_number": self.control_number,
            "segment": self.segment,
            "element": self.element,
            "position": self.position,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Mapped:
    """One request made from a set (`reference`: the PO number it is for), or the set's `MappingError`."""

    set_id: str
    control_number: str
    kind: str
    reference: str | None
    request: BaseModel | MappingError

    @property
    def ok(self) -> bool:
        return not isinstance(self.request, MappingError)


class _Refused(Exception):
    """Raised inside a mapper; turned into a MappingError by `_map_set`."""

    def __init__(self, segment: str, position: int, reason: str, element: str | None = None) -> None:
        super().__init__(reason)
        self.segment, self.position, self.reason, self.element = segment, position, reason, element


@dataclass(frozen=True, slots=True)
class _Seg:
    """A segment with its position in the file; `el(n)` is element n (1-based), "" when absent."""

    elements: list[str]
    position: int

    @property
    def id(self) -> str:
        return self.elements[0]

    def el(self, n: int) -> str:
        return self.elements[n].strip() if n < len(self.elements) else ""

    def need(self, n: int, what: str) -> str:
        value = self.el(n)
        if not value:
            raise _Refused(self.id, self.position, f"{what} is missing", f"{self.id}{n:02d}")
        return value


def to_canonical(result: ParseResult, location: str | None = None, *, transit_days: int | None = None) -> list[Mapped]:
    """Every transaction set of every group, in file order, as the requests it becomes (or its error). `location`
    is the partner's default location: it ships a customer's 850 without an N1 SF GLN and is counted by an 846
    without a location N1. `transit_days`: an 856 without an expected delivery date gets ship date + this."""
    if transit_days is not None and transit_days < 0:
        raise ValueError(f"transit_days must not be negative, got {transit_days}")
    mapped: list[Mapped] = []
    for interchange in result.interchanges:
        for group in interchange.groups:
            for tx in group.transactions:
                mapped.extend(_map_set(tx, group, interchange, location, transit_days))
    return mapped


def _map_set(
    tx: Transaction, group: Group, interchange: Interchange, location: str | None, transit_days: int | None
) -> list[Mapped]:
    segments = [_Seg(s, tx.position + 1 + i) for i, s in enumerate(tx.segments)]
    try:
        pairs: list[tuple[str, BaseModel]]
        if tx.set_id == "855":
            pairs = [_acknowledgment(segments, tx, group, interchange)]
        elif tx.set_id == "856":
            pairs = list(_ship_notices(segments, tx, transit_days))
        elif tx.set_id == "850":
            pairs = [_order(segments, tx, location)]
        elif tx.set_id == "810":
            pairs = [_invoice(segments, tx)]
        elif tx.set_id == "846":
            pairs = [_inventory_advice(segments, tx, interchange, location)]
        elif tx.set_id == "945":
            return [_shipping_advice(segments, tx)]  # its kind says whether W0602 is an alias
        elif tx.set_id == "214":
            pairs = list(_milestones(segments, tx, group))
        elif tx.set_id in _ACK_SEGMENTS:
            pairs = [_functional_ack(segments, tx, interchange.separators.component)]
        else:
            reason = f"transaction set {tx.set_id} is not mapped to a canonical request"
            raise _Refused("ST", tx.position, reason, "ST01")
        return [Mapped(tx.set_id, tx.control_number, _KINDS[tx.set_id], ref, request) for ref, request in pairs]
    except _Refused as r:
        error = MappingError(tx.set_id, tx.control_number, r.segment, r.position, r.reason, r.element)
        return [Mapped(tx.set_id, tx.control_number, _KINDS.get(tx.set_id, "unmapped"), None, error)]


_KINDS = {
    "855": ACKNOWLEDGMENT,
    "856": SHIP_NOTICE,
    "850": ORDER,
    "810": INVOICE,
    "846": INVENTORY_ADVICE,
    "945": SHIPPING_ADVICE,
    "214": CARRIER_MILESTONE,
    "997": FUNCTIONAL_ACK,
    "999": FUNCTIONAL_ACK,
}


# ------------------------------------------------------------------------------------------------ helpers
def _first(segments: list[_Seg], seg_id: str, tx: Transaction, what: str) -> _Seg:
    for s in segments:
        if s.id == seg_id:
            return s
    raise _Refused(seg_id, tx.position, f"no {seg_id} segment ({what})")


def _date(seg: _Seg, n: int) -> date:
    """CCYYMMDD, or YYMMDD as releases before 004010 write it (years 00-68 are 20xx, as Python reads %y)."""
    value = seg.need(n, "the date")
    try:
        return datetime.strptime(value, "%Y%m%d" if len(value) == 8 else "%y%m%d").date()
    except ValueError:
        raise _Refused(seg.id, seg.position, f"'{value}' is not a date CCYYMMDD", f"{seg.id}{n:02d}") from None


def _time(seg: _Seg, n: int) -> time:
    value = seg.el(n)
    if not value:
        return time(0, 0)
    try:
        return datetime.strptime(value[:6], "%H%M%S" if len(value) >= 6 else "%H%M").time()
    except ValueError:
        raise _Refused(seg.id, seg.position, f"'{value}' is not a time HHMM[SS]", f"{seg.id}{n:02d}") from None


def _quantity(seg: _Seg, n: int) -> int:
    value = seg.need(n, "the quantity")
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number < 0 or number != int(number):
        raise _Refused(seg.id, seg.position, f"quantity '{value}' is not a whole number", f"{seg.id}{n:02d}")
    return int(number)


def _unit(seg: _Seg, n: int, component: str | None = None) -> str:
    """Element n as an item master unit; with `component`, the element is a composite unit (C001) whose first
    component is the code."""
    code = seg.need(n, "the unit of measure")
    if component:
        code = code.split(component, 1)[0].strip()
        if not code:
            raise _Refused(seg.id, seg.position, "the unit of measure is missing", f"{seg.id}{n:02d}")
    if code not in UNITS:
        known = ", ".join(sorted(UNITS))
        raise _Refused(
            seg.id, seg.position, f"unit '{code}' has no item master unit (known: {known})", f"{seg.id}{n:02d}"
        )
    return UNITS[code]


def _line_number(seg: _Seg, n: int, what: str = "the PO line number") -> int:
    value = seg.need(n, what)
    if not value.isdigit():
        raise _Refused(seg.id, seg.position, f"line number '{value}' is not a number", f"{seg.id}{n:02d}")
    return int(value)


def _validated(model: type[M], data: dict[str, Any], seg: _Seg) -> M:
    """Validate with the API's own model; a refusal names the segment the data came from."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or model.__name__
        raise _Refused(seg.id, seg.position, f"{field}: {first['msg']}") from None


def _loops(segments: list[_Seg], start: str, ends: tuple[str, ...]) -> Iterator[tuple[_Seg, list[_Seg]]]:
    """Each `start` segment with the segments after it up to the next `start` or one of `ends` (the summary)."""
    current: _Seg | None = None
    body: list[_Seg] = []
    for s in segments:
        if s.id == start or s.id in ends:
            if current is not None:
                yield current, body
            current, body = (s, []) if s.id == start else (None, [])
        elif current is not None:
            body.append(s)
    if current is not None:
        yield current, body


def _header(segments: list[_Seg], first_detail: str) -> list[_Seg]:
    """The segments before the first `first_detail` segment (all of them when there is none)."""
    return segments[: next((i for i, s in enumerate(segments) if s.id == first_detail), len(segments))]


def _sscc(man: _Seg) -> str:
    """MAN02 of a MAN GM: the SSCC, without its application identifier 00 when written with it (20 digits)."""
    sscc = man.need(2, "the SSCC")
    return sscc[2:] if len(sscc) == 20 and sscc.startswith("00") else sscc


def _count(seg: _Seg, n: int) -> int:
    """A whole number that may be negative (an inventory count: the API refuses a negative one by its own rule)."""
    value = seg.need(n, "the quantity")
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("0.5")
    if not number.is_finite() or number != number.to_integral_value():
        raise _Refused(seg.id, seg.position, f"quantity '{value}' is not a whole number", f"{seg.id}{n:02d}")
    return int(number)


# -------------------------------------------------------------------------------------------------- 855
def _acknowledgment(
    segments: list[_Seg], tx: Transaction, group: Group, interchange: Interchange
) -> tuple[str, AcknowledgmentRequest]:
    """BAK + PO1/ACK(/SCH) loops. The id is BAK08 when given, else `x12-<ISA13>-<GS06>-<ST02>` (a resent interchange
    is then a duplicate). `issued_at` is BAK09 (the acknowledgment date) when given, else BAK04, at 00:00 UTC (the
    document's own dates, not the envelope's GS04/GS05, which say when the file was made)."""
    bak = _first(segments, "BAK", tx, "beginning segment for purchase order acknowledgment")
    if bak.el(1) in CANCELLING_PURPOSES:
        reason = f"purpose {bak.el(1)} withdraws an acknowledgment, which the acknowledgment model cannot say"
        raise _Refused("BAK", bak.position, reason, "BAK01")
    po_number = bak.need(3, "the purchase order number")
    issued_at = datetime.combine(_date(bak, 9 if bak.el(9) else 4), time(0, 0), tzinfo=UTC)
    ack_id = bak.el(8) or f"x12-{interchange.control_number}-{group.control_number}-{tx.control_number}"
    lines: list[AckLineRequest] = []
    loops = list(_po1_loops(segments))
    if not loops:
        raise _Refused("PO1", bak.position, "no PO1/ACK line: the acknowledgment model needs at least one line")
    for po1, body in loops:
        lines.append(_ack_line(po1, body))
    request = _validated(
        AcknowledgmentRequest,
        {"acknowledgment_id": ack_id, "issued_at": issued_at, "lines": [line.model_dump() for line in lines]},
        bak,
    )
    return po_number, request


def _po1_loops(segments: list[_Seg]) -> Iterator[tuple[_Seg, list[_Seg]]]:
    """Each PO1 with the segments after it up to the next PO1 or the summary (CTT)."""
    return _loops(segments, "PO1", ("CTT",))


def _ack_line(po1: _Seg, body: list[_Seg]) -> AckLineRequest:
    line = _line_number(po1, 1)
    ack = next((s for s in body if s.id == "ACK"), None)
    if ack is None:
        raise _Refused("PO1", po1.position, f"line {line} has no ACK segment (its status)")
    code = ack.need(1, "the line status")
    if code not in ACK_STATUSES:
        raise _Refused("ACK", ack.position, f"line status '{code}' has no canonical equivalent", "ACK01")
    unit = _unit(ack, 3) if ack.el(3) else _unit(po1, 3)
    data: dict[str, Any] = {"line": line, "status": ACK_STATUSES[code], "unit": unit}
    if ack.el(2):
        data["quantity"] = _quantity(ack, 2)
    if ack.el(4) in DELIVERY_QUALIFIERS and ack.el(5):
        data["promised_date"] = _date(ack, 5)
    schedule = []
    for sch in (s for s in body if s.id == "SCH"):
        quantity = _quantity(sch, 1)
        if quantity == 0:
            continue  # a rejected line's SCH of nothing
        if sch.el(2) and _unit(sch, 2) != unit:
            raise _Refused("SCH", sch.position, f"unit '{sch.el(2)}' differs from the ACK's", "SCH02")
        schedule.append({"quantity": quantity, "date": _date(sch, 6)})
    data["schedule"] = schedule
    return _validated(AckLineRequest, data, ack)


# -------------------------------------------------------------------------------------------------- 856
@dataclass(slots=True)
class _Level:
    """One HL level (S shipment, O order, P pack, I item) with its segments and its parent's HL01."""

    hl: _Seg
    parent: str
    code: str
    segments: list[_Seg]


def _levels(segments: list[_Seg], tx: Transaction) -> tuple[list[_Seg], list[_Level]]:
    """The segments before the first HL (the header), then each HL with the segments up to the next HL or CTT."""
    header: list[_Seg] = []
    levels: list[_Level] = []
    for s in segments:
        if s.id == "HL":
            levels.append(_Level(s, s.el(2), s.need(3, "the hierarchical level code"), []))
        elif s.id == "CTT":
            break
        elif levels:
            levels[-1].segments.append(s)
        else:
            header.append(s)
    if not levels:
        raise _Refused("HL", tx.position, "no HL segment: a ship notice needs its shipment, order and item levels")
    return header, levels


def _ship_notices(
    segments: list[_Seg], tx: Transaction, transit_days: int | None
) -> list[tuple[str, ShipNoticeRequest]]:
    """BSN + HL S/O/P/I. One request per order level (PRF01, the PO): shipment-level facts (ship date, carrier,
    tracking, ETA) are shared, an order-level DTM overrides the ETA; without either, the ETA is the ship date (UTC)
    plus `transit_days` when given. Items are summed per PO line (LIN01, else SN101); each pack with MAN GM becomes a
    carton (a 20-digit SSCC loses its application identifier 00)."""
    bsn = _first(segments, "BSN", tx, "beginning segment for ship notice")
    notice_id = bsn.need(2, "the shipment identification")
    header, levels = _levels(segments, tx)
    by_id = {lv.hl.el(1): lv for lv in levels}
    shipment = [s for lv in levels if lv.code == "S" for s in lv.segments] + header
    shipped = next((s for s in shipment if s.id == "DTM" and s.el(1) == SHIPPED_QUALIFIER), None)
    if shipped is not None:
        shipped_at = datetime.combine(_date(shipped, 2), _time(shipped, 3), tzinfo=UTC)
    else:
        shipped_at = datetime.combine(_date(bsn, 3), _time(bsn, 4), tzinfo=UTC)
    td5 = next((s for s in shipment if s.id == "TD5"), None)
    if td5 is None or not (td5.el(3) or td5.el(5)):
        where = td5 or bsn
        raise _Refused("TD5", where.position, "no carrier: TD503 (SCAC) or TD505 (routing) is needed")
    carrier = td5.el(3) or td5.el(5)
    tracking = next((s.el(2) for s in shipment if s.id == "REF" and s.el(1) == "CN" and s.el(2)), None)
    orders = [lv for lv in levels if lv.code == "O"]
    if not orders:
        raise _Refused("HL", levels[0].hl.position, "no order level (HL03 O): the PO shipped against is unknown")
    notices = []
    for order in orders:
        prf = next((s for s in order.segments if s.id == "PRF"), None)
        if prf is None:
            raise _Refused("PRF", order.hl.position, f"order level HL {order.hl.el(1)} has no PRF (the PO number)")
        po_number = prf.need(1, "the purchase order number")
        eta_seg = _delivery_date(order.segments) or _delivery_date(shipment)
        if eta_seg is not None:
            eta = _date(eta_seg, 2)
        elif transit_days is not None:
            eta = shipped_at.date() + timedelta(days=transit_days)
        else:
            reason = "no expected delivery date (DTM 017/067/002/068) for the order, and no transit days to add"
            raise _Refused("DTM", order.hl.position, reason)
        below = [lv for lv in levels if _under(lv, order, by_id)]
        lines, units = _shipped_lines(below)
        cartons = [_carton(pack, below, by_id, units) for pack in below if pack.code == "P"]
        data = {
            "ship_notice_id": notice_id,
            "shipped_at": shipped_at,
            "carrier": carrier,
            "tracking_number": tracking,
            "eta": eta,
            "lines": [{"line": n, "quantity": q, "unit": units[n]} for n, q in lines.items()],
            "cartons": [c for c in cartons if c is not None],
        }
        notices.append((po_number, _validated(ShipNoticeRequest, data, prf)))
    return notices


def _delivery_date(segments: list[_Seg]) -> _Seg | None:
    dates = {s.el(1): s for s in segments if s.id == "DTM"}
    return next((dates[q] for q in DELIVERY_QUALIFIERS if q in dates), None)


def _under(level: _Level, ancestor: _Level, by_id: dict[str, _Level]) -> bool:
    """Whether `level` is below `ancestor` in the HL tree (HL02 chains; a loop in them stops the walk)."""
    seen: set[str] = set()
    parent = level.parent
    while parent and parent not in seen:
        if parent == ancestor.hl.el(1):
            return True
        seen.add(parent)
        up = by_id.get(parent)
        parent = up.parent if up else ""
    return False


def _item(level: _Level) -> tuple[int, int, str, _Seg]:
    """An item level's PO line, quantity shipped and unit (SN1), and the SN1 segment."""
    sn1 = next((s for s in level.segments if s.id == "SN1"), None)
    if sn1 is None:
        raise _Refused("HL", level.hl.position, f"item level HL {level.hl.el(1)} has no SN1 (quantity shipped)")
    lin = next((s for s in level.segments if s.id == "LIN"), None)
    if lin is not None and lin.el(1):
        line = _line_number(lin, 1)
    elif sn1.el(1):
        line = _line_number(sn1, 1)
    else:
        where = lin or sn1
        raise _Refused(
            where.id, where.position, "LIN01 and SN101 are empty: the PO line shipped is unknown", f"{where.id}01"
        )
    return line, _quantity(sn1, 2), _unit(sn1, 3), sn1


def _shipped_lines(levels: list[_Level]) -> tuple[dict[int, int], dict[int, str]]:
    quantities: dict[int, int] = {}
    units: dict[int, str] = {}
    for level in levels:
        if level.code != "I":
            continue
        line, quantity, unit, sn1 = _item(level)
        if units.setdefault(line, unit) != unit:
            raise _Refused("SN1", sn1.position, f"line {line} is shipped in two units ({units[line]}, {unit})", "SN103")
        quantities[line] = quantities.get(line, 0) + quantity
    return quantities, units


def _carton(
    pack: _Level, levels: list[_Level], by_id: dict[str, _Level], units: dict[int, str]
) -> CartonRequest | None:
    """A pack level with an SSCC (MAN01 GM) and the items below it; a pack without one is no carton."""
    man = next((s for s in pack.segments if s.id == "MAN" and s.el(1) == "GM"), None)
    if man is None:
        return None
    sscc = _sscc(man)
    contents: dict[int, int] = {}
    for level in levels:
        if level.code == "I" and _under(level, pack, by_id):
            line, quantity, _, _ = _item(level)
            contents[line] = contents.get(line, 0) + quantity
    data = {"sscc": sscc, "lines": [{"line": n, "quantity": q} for n, q in contents.items()]}
    return _validated(CartonRequest, data, man)


# -------------------------------------------------------------------------------------------------- 850
def _order(segments: list[_Seg], tx: Transaction, location: str | None) -> tuple[str, OrderRequest]:
    """BEG (BEG03 the order id, BEG05 when placed, at 00:00 UTC), CUR, DTM 010/002, N1 ST (+ N3/N4) the ship-to,
    N1 SF's GLN (N103 UL) or `location` the shipping location, N1 BY/BT N104 the customer reference, PO1 lines (a
    DTM after a PO1 is that line's). PO101 empty on every line: the lines are numbered in file order."""
    beg = _first(segments, "BEG", tx, "beginning segment for purchase order")
    if beg.el(1) in CANCELLING_PURPOSES:
        reason = f"purpose {beg.el(1)} withdraws an order; cancelling is not an order request"
        raise _Refused("BEG", beg.position, reason, "BEG01")
    order_id = beg.need(3, "the purchase order number")
    placed_at = datetime.combine(_date(beg, 5), time(0, 0), tzinfo=UTC)
    first_line = next((i for i, s in enumerate(segments) if s.id == "PO1"), len(segments))
    header = segments[:first_line]
    parties = _parties(header)
    ship_from = parties.get("SF")
    location = (ship_from.el(4) if ship_from and ship_from.el(3) == "UL" else "") or location
    if not location:
        raise _Refused("N1", beg.position, "no shipping location: no N1 SF with a GLN (UL), no default location given")
    header_dates = {s.el(1): s for s in header if s.id == "DTM"}
    loops = list(_po1_loops(segments))
    if not loops:
        raise _Refused("PO1", beg.position, "no PO1 line: an order needs at least one line")
    numbered = [bool(po1.el(1)) for po1, _ in loops]
    if any(numbered) and not all(numbered):
        po1 = loops[numbered.index(False)][0]
        raise _Refused("PO1", po1.position, "some lines have a PO101 line number and this one has none", "PO101")
    lines = []
    for n, (po1, body) in enumerate(loops, start=1):
        dates = header_dates | {s.el(1): s for s in body if s.id == "DTM"}
        requested = dates.get(REQUESTED_SHIP) or dates.get(REQUESTED_DELIVERY)
        if requested is None:
            raise _Refused("DTM", po1.position, "no requested date (DTM 010 or 002) for the line, nor for the order")
        line: dict[str, Any] = {
            "line": _line_number(po1, 1) if numbered[0] else n,
            "sku": _product_id(po1),
            "location": location,
            "quantity": _quantity(po1, 2),
            "unit": _unit(po1, 3),
            "requested_date": _date(requested, 2),
        }
        if po1.el(4):
            line["unit_price"] = po1.el(4)
        lines.append(line)
    data: dict[str, Any] = {"order_id": order_id, "placed_at": placed_at, "lines": lines}
    if REQUESTED_DELIVERY in header_dates:
        data["deliver_by"] = _date(header_dates[REQUESTED_DELIVERY], 2)
    cur = next((s for s in header if s.id == "CUR" and s.el(2)), None)
    if cur is not None:
        data["currency"] = cur.el(2)
    buyer = parties.get("BY") or parties.get("BT")
    if buyer is not None and buyer.el(4):
        data["customer_ref"] = buyer.el(4)
    if "ST" in parties:
        data["ship_to"] = _ship_to(parties["ST"], header)
    return order_id, _validated(OrderRequest, data, beg)


def _parties(header: list[_Seg]) -> dict[str, _Seg]:
    """The first N1 of each entity code (N101) in the header."""
    parties: dict[str, _Seg] = {}
    for s in header:
        if s.id == "N1" and s.el(1):
            parties.setdefault(s.el(1), s)
    return parties


def _ship_to(n1: _Seg, header: list[_Seg]) -> dict[str, Any]:
    """N1 ST (the name as `company`) with the N3/N4 that follow it, up to the next N1."""
    after = header[header.index(n1) + 1 :]
    loop = after[: next((i for i, s in enumerate(after) if s.id == "N1"), len(after))]
    n3 = next((s for s in loop if s.id == "N3"), None)
    n4 = next((s for s in loop if s.id == "N4"), None)
    fields = {
        "company": n1.el(2),
        "address1": n3.el(1) if n3 else "",
        "address2": n3.el(2) if n3 else "",
        "city": n4.el(1) if n4 else "",
        "region": n4.el(2) if n4 else "",
        "postal_code": n4.el(3) if n4 else "",
        "country": n4.el(4) if n4 else "",
    }
    return {k: v for k, v in fields.items() if v}


def _product_id(seg: _Seg, first: int = 6) -> str:
    """The id of the first qualifier of PRODUCT_QUALIFIERS found in the qualifier/id pairs from element `first` on
    (PO106/107, PO108/109... in a PO1 or IT1; LIN02/03... in a LIN), as the SKU (the API path resolves
    cross-references)."""
    found = _product_id_or_none(seg, first)
    if found is None:
        known = "/".join(PRODUCT_QUALIFIERS)
        raise _Refused(seg.id, seg.position, f"no product id with a qualifier {known}", f"{seg.id}{first:02d}")
    return found


def _product_id_or_none(seg: _Seg, first: int) -> str | None:
    ids: dict[str, str] = {}
    for n in range(first, len(seg.elements), 2):
        if seg.el(n) and seg.el(n + 1):
            ids.setdefault(seg.el(n), seg.el(n + 1))
    return next((ids[q] for q in PRODUCT_QUALIFIERS if q in ids), None)


# -------------------------------------------------------------------------------------------------- 810
def _invoice(segments: list[_Seg], tx: Transaction) -> tuple[str, SupplierInvoiceRequest]:
    """BIG (BIG01 invoice date, BIG02 invoice id, BIG04 the PO), CUR02, ITD terms, IT1 lines, TDS01 total. IT101 is
    the PO line; when every IT101 is empty the lines are numbered in file order and each must name its product, so
    that the invoice matching (which compares it with the PO line) catches lines skipped or reordered."""
    big = _first(segments, "BIG", tx, "beginning segment for invoice")
    if big.el(8) in CANCELLING_PURPOSES:
        reason = f"purpose {big.el(8)} withdraws an invoice, which the invoice model cannot say"
        raise _Refused("BIG", big.position, reason, "BIG08")
    if big.el(7) in CREDIT_TYPES:
        reason = f"transaction type {big.el(7)} ({CREDIT_TYPES[big.el(7)]}): the invoice model takes no credit"
        raise _Refused("BIG", big.position, reason, "BIG07")
    invoice_date = _date(big, 1)
    invoice_id = big.need(2, "the invoice number")
    po_number = big.need(4, "the purchase order number")
    items = [s for s in segments if s.id == "IT1"]
    if not items:
        raise _Refused("IT1", big.position, "no IT1 line: an invoice needs at least one line")
    numbered = [bool(it1.el(1)) for it1 in items]
    if any(numbered) and not all(numbered):
        it1 = items[numbered.index(False)]
        raise _Refused("IT1", it1.position, "some lines have an IT101 PO line number and this one has none", "IT101")
    lines = [_invoice_line(it1, None if numbered[0] else n) for n, it1 in enumerate(items, start=1)]
    header = _header(segments, "IT1")
    data: dict[str, Any] = {
        "invoice_id": invoice_id,
        "invoice_date": invoice_date,
        "lines": [line.model_dump() for line in lines],
    }
    cur = next((s for s in header if s.id == "CUR" and s.el(2)), None)
    if cur is not None:
        data["currency"] = cur.el(2)
    itd = next((s for s in header if s.id == "ITD"), None)
    terms = _terms(itd) if itd is not None else None
    if terms:
        data["terms"] = terms
    tds = next((s for s in segments[segments.index(items[-1]) :] if s.id == "TDS"), None)
    if tds is not None:
        data["total"] = _implied_cents(tds, 1)
    return po_number, _validated(SupplierInvoiceRequest, data, big)


def _invoice_line(it1: _Seg, file_number: int | None) -> InvoiceLineRequest:
    """IT101 (or `file_number`) the PO line, IT102 quantity, IT103 unit, IT104 price per that unit, the product id."""
    if it1.el(5) in PRICE_PER_MANY:
        reason = f"price basis {it1.el(5)} is a price per {PRICE_PER_MANY[it1.el(5)]}, the model takes a unit price"
        raise _Refused("IT1", it1.position, reason, "IT105")
    price = it1.need(4, "the unit price")
    try:
        Decimal(price)
    except InvalidOperation:
        raise _Refused("IT1", it1.position, f"unit price '{price}' is not a number", "IT104") from None
    data = {
        "line": _line_number(it1, 1) if file_number is None else file_number,
        "sku": _product_id(it1) if file_number is not None else _product_id_or_none(it1, 6),
        "quantity": _quantity(it1, 2),
        "unit": _unit(it1, 3),
        "unit_price": price,
    }
    return _validated(InvoiceLineRequest, data, it1)


def _terms(itd: _Seg) -> str | None:
    """ITD12 (the terms as written), else a readable form of the type (ITD01), the discount (ITD03 percent, ITD05
    days or ITD04 date) and the net (ITD07 days or ITD06 date): e.g. "basic: 1% discount within 15 days, net 30
    days"."""
    if itd.el(12):
        return itd.el(12)
    parts = []
    if itd.el(3):
        discount = f"{_plain(itd.el(3))}% discount"
        if itd.el(5):
            discount += f" within {itd.el(5)} days"
        elif itd.el(4):
            discount += f" until {_date(itd, 4).isoformat()}"
        parts.append(discount)
    if itd.el(7):
        parts.append(f"net {itd.el(7)} days")
    elif itd.el(6):
        parts.append(f"net due {_date(itd, 6).isoformat()}")
    kind = TERMS_TYPES.get(itd.el(1)) or (f"terms type {itd.el(1)}" if itd.el(1) else "")
    if not parts:
        return kind or None
    return f"{kind}: {', '.join(parts)}" if kind else ", ".join(parts)


def _plain(number: str) -> str:
    """A decimal without trailing zeros ("1.000" -> "1"), or the text as written when it is not a number."""
    try:
        return f"{Decimal(number).normalize():f}"
    except InvalidOperation:
        return number


def _implied_cents(seg: _Seg, n: int) -> Decimal:
    """An N2 element (digits with two implied decimals: 255438 is 2554.38)."""
    value = seg.need(n, "the amount")
    if not value.isdigit():
        why = (
            "a negative amount (a credit), which the invoice model cannot take"
            if value.startswith("-")
            else ("not N2: digits with two implied decimals (255438 for 2554.38)")
        )
        raise _Refused(seg.id, seg.position, f"'{value}' is {why}", f"{seg.id}{n:02d}")
    return Decimal(int(value)).scaleb(-2)


# -------------------------------------------------------------------------------------------------- 846
def _inventory_advice(
    segments: list[_Seg], tx: Transaction, interchange: Interchange, location: str | None
) -> tuple[str, SnapshotRequest]:
    """BIA (BIA03 the snapshot id, BIA04/05 when counted), the location (a header N1 WH/RL/SF/ST with a UL/92/91
    id, else `location`), per LIN loop the product id and QTY 33 (available), else 17 (on hand), in QTY03's unit.
    The sequence is BIA04+BIA05 as the number CCYYMMDDHHMMSS (seconds 00 when not given, a YYMMDD date with its
    century), so a later report sorts higher; two reports of the same minute are the same sequence."""
    bia = _first(segments, "BIA", tx, "beginning segment for inventory inquiry/advice")
    if bia.el(1) in CANCELLING_PURPOSES:
        reason = f"purpose {bia.el(1)} withdraws a report; a snapshot cannot be withdrawn"
        raise _Refused("BIA", bia.position, reason, "BIA01")
    snapshot_id = bia.need(3, "the report's reference number")
    taken_at = datetime.combine(_date(bia, 4), _time(bia, 5), tzinfo=UTC)
    counted = _location_of(_header(segments, "LIN")) or location
    if not counted:
        reason = "no location: no N1 WH/RL/SF/ST with a UL, 92 or 91 id, and no default location given"
        raise _Refused("N1", bia.position, reason)
    loops = list(_loops(segments, "LIN", ("CTT",)))
    if not loops:
        raise _Refused("LIN", bia.position, "no LIN line: a snapshot needs at least one line")
    component = interchange.separators.component
    data = {
        "location": counted,
        "snapshot_id": snapshot_id,
        "sequence": int(taken_at.strftime("%Y%m%d%H%M%S")),
        "taken_at": taken_at,
        "lines": [_snapshot_line(lin, body, counted, component) for lin, body in loops],
    }
    return counted, _validated(SnapshotRequest, data, bia)


def _location_of(segments: list[_Seg]) -> str | None:
    """N104 of the first N1 of INVENTORY_PARTIES (in that order) whose N103 is a qualifier we can use."""
    parties = _parties(segments)
    for code in INVENTORY_PARTIES:
        n1 = parties.get(code)
        if n1 is not None and n1.el(3) in LOCATION_ID_QUALIFIERS and n1.el(4):
            return n1.el(4)
    return None


def _snapshot_line(lin: _Seg, body: list[_Seg], location: str, component: str) -> dict[str, Any]:
    for s in body:
        if s.id == "SDQ":
            reason = "quantities per destination (SDQ) are not read: a snapshot counts one location"
            raise _Refused("SDQ", s.position, reason)
        if s.id == "N1" and s.el(1) in INVENTORY_PARTIES and _location_of([s]) != location:
            reason = f"the line names a location ({s.el(3)} {s.el(4)}) other than the snapshot's ({location})"
            raise _Refused("N1", s.position, reason, "N104")
    quantities: dict[str, _Seg] = {}
    for s in body:
        if s.id == "QTY":
            quantities.setdefault(s.el(1), s)
    qty = quantities.get(AVAILABLE) or quantities.get(ON_HAND)
    if qty is None:
        raise _Refused("LIN", lin.position, "no QTY 33 (available) or 17 (on hand) for the line")
    data = {"sku": _product_id(lin, 2), "on_hand": _count(qty, 2), "unit": _unit(qty, 3, component)}
    return _validated(SnapshotLineRequest, data, qty).model_dump()


# -------------------------------------------------------------------------------------------------- 945
def _shipping_advice(segments: list[_Seg], tx: Transaction) -> Mapped:
    """W06 (W0602 the depositor order number our 940 sent: our order id or its alias; W0603 the date, with the time
    of a G62 11 of that date), per LX loop (LX01 = the order line, as our 940 numbers them) the W12 units shipped
    summed, in eaches only (W1205 EA/UN/PC: nothing converts them), and each MAN GM (SSCC) once as a package.
    The order: a header N9 OQ's id (N902, else N903, as our 940 wrote it) when W0602 is that id or its alias;
    else W0602, a SHIPPING_ADVICE_BY_ALIAS when it has an alias's shape."""
    w06 = _first(segments, "W06", tx, "warehouse shipment identification")
    order_id, kind = _order_of_945(w06, _header(segments, "LX"))
    day = _date(w06, 3)
    at = time(0, 0)
    g62 = next((s for s in _header(segments, "LX") if s.id == "G62" and s.el(1) == SHIPPED_ON and s.el(4)), None)
    if g62 is not None and _date(g62, 2) == day:
        at = _time(g62, 4)
    loops = list(_loops(segments, "LX", ("W03", "CTT")))
    if not loops:
        where = next((s for s in segments if s.id == "W12"), w06)
        raise _Refused(where.id, where.position, "no LX loop: the order line of the units shipped is unknown")
    picked: dict[int, int] = {}
    packages: dict[str, Package] = {}
    for lx, body in loops:
        line = _line_number(lx, 1, "the order line number")
        items = [s for s in body if s.id == "W12"]
        if not items:
            raise _Refused("LX", lx.position, f"line {line} has no W12 (units shipped)")
        for w12 in items:
            unit = w12.need(5, "the unit of measure")
            if unit not in EACH_UNITS:
                reason = f"unit '{unit}': a 945 must report eaches ({'/'.join(EACH_UNITS)}); nothing converts them"
                raise _Refused("W12", w12.position, reason, "W1205")
            picked[line] = picked.get(line, 0) + _quantity(w12, 3)
        for man in (s for s in body if s.id == "MAN" and s.el(1) == "GM"):
            sscc = _sscc(man)
            if sscc not in packages:
                packages[sscc] = _validated(Package, {"package_id": sscc, "sscc": sscc}, man)
    data = {
        "picked_at": datetime.combine(day, at, tzinfo=UTC),
        "lines": [{"line": n, "quantity": q} for n, q in picked.items()],
        "packages": [p.model_dump() for p in packages.values()],
    }
    return Mapped(tx.set_id, tx.control_number, kind, order_id, _validated(PickCompleteRequest, data, w06))


def _order_of_945(w06: _Seg, header: list[_Seg]) -> tuple[str, str]:
    """The order a 945 reports on and its kind (see `_shipping_advice`). An N9 OQ naming another order than W0602
    is refused: one of the two is not ours to trust."""
    number = w06.need(2, "the depositor order number (our order id)")
    n9 = next((s for s in header if s.id == "N9" and s.el(1) == ORDER_NUMBER and (s.el(2) or s.el(3))), None)
    if n9 is not None:
        order_id = n9.el(2) or n9.el(3)
        if number not in (order_id, alias := order_alias(order_id)):
            reason = f"N9 {ORDER_NUMBER} '{order_id}' is another order than W0602 '{number}' (its alias is '{alias}')"
            raise _Refused("N9", n9.position, reason, "N902" if n9.el(2) else "N903")
        return order_id, SHIPPING_ADVICE
    return number, SHIPPING_ADVICE_BY_ALIAS if is_order_alias(number) else SHIPPING_ADVICE


# -------------------------------------------------------------------------------------------------- 214
TRACKING_QUALIFIER = "2I"  # L1102 (element 128): tracking number


def _milestones(segments: list[_Seg], tx: Transaction, group: Group) -> list[tuple[str, TrackingEvent]]:
    """B10 + AT7 (+ MS1). The tracking number is a header L11 2I, else B1001 (the carrier's reference: its PRO or
    parcel number, what the dispatch reported); B1002 is the shipper's shipment id. One event per AT7 with a
    status (SHIPMENT_STATUSES), where = its MS1; an AT7 with only an appointment (AT703) or a terminal estimate (B6,
    C1) is skipped; AG/X2 give their date as `estimated_delivery` to every event of the set, or, alone, make one
    `unknown` event at the group's date and time (GS04/GS05), so that the estimate still reaches the order."""
    b10 = _first(segments, "B10", tx, "beginning segment for carrier shipment status")
    header = _header(segments, "LX")
    l11 = next((s for s in header if s.id == "L11" and s.el(2) == TRACKING_QUALIFIER and s.el(1)), None)
    tracking = l11.el(1) if l11 is not None else b10.need(1, "the carrier's reference (PRO or tracking number)")
    events: list[tuple[_Seg, dict[str, Any]]] = []
    estimate: tuple[date, str] | None = None
    current: dict[str, Any] | None = None
    for s in segments[len(header) :]:
        if s.id == "LX":
            current = None
        elif s.id == "AT7":
            current = None
            code = s.el(1)
            if not code:
                if s.el(3):
                    continue  # an appointment's status, no shipment status
                raise _Refused("AT7", s.position, "neither a shipment status nor an appointment status", "AT701")
            if code in DELIVERY_ESTIMATES:
                estimate = (_at7_local(s)[0].date(), f"{code} {DELIVERY_ESTIMATES[code]}")  # the local day
            elif code in OTHER_ESTIMATES:
                continue
            elif code not in SHIPMENT_STATUSES:
                raise _Refused("AT7", s.position, f"shipment status '{code}' has no canonical equivalent", "AT701")
            else:
                status, name = SHIPMENT_STATUSES[code]
                reason = s.el(2)
                detail = f"{code} {name}" + (f", reason {reason}" if reason and reason != NORMAL_STATUS else "")
                current = {"status": status, "occurred_at": _at7_moment(s), "detail": detail}
                events.append((s, current))
        elif s.id == "MS1" and current is not None and "where" not in current:
            where = ", ".join(part for part in (s.el(1), s.el(2), s.el(3)) if part)
            if where:
                current["where"] = where
    if not events:
        if estimate is None:
            raise _Refused("AT7", b10.position, "no AT7 with a shipment status (AT701) or a delivery estimate")
        gs = _Seg(["GS", group.functional_id, group.sender, group.receiver, group.date, group.time], group.position)
        reported_at = datetime.combine(_date(gs, 4), _time(gs, 5), tzinfo=UTC)
        events.append((b10, {"status": "unknown", "occurred_at": reported_at, "detail": estimate[1]}))
    mapped = []
    for seg, data in events:
        if estimate is not None:
            data["estimated_delivery"] = estimate[0]
        mapped.append((tracking, _validated(TrackingEvent, {"tracking_number": tracking, **data}, seg)))
    return mapped


def _at7_moment(at7: _Seg) -> datetime:
    """AT705/AT706 in the zone of AT707, as UTC."""
    local, code_at = _at7_local(at7)
    return (local - _utc_offset(at7, code_at, local)).replace(tzinfo=UTC)


def _at7_local(at7: _Seg) -> tuple[datetime, int]:
    """AT705/AT706 as written (the wall clock where it happened), and the position of the time code. Releases
    before 004010 write AT705 YYMMDD, AT706 the century, AT707 the time and AT708 the code: a 2-digit AT706 (a time
    has 4 to 8) says which layout it is."""
    if len(at7.el(6)) == 2 and len(at7.el(5)) == 6:
        day = _date(_Seg(["AT7", "", "", "", "", at7.el(6) + at7.el(5)], at7.position), 5)
        return datetime.combine(day, _time(at7, 7)), 8
    return datetime.combine(_date(at7, 5), _time(at7, 6)), 7


def _utc_offset(seg: _Seg, n: int, local: datetime) -> timedelta:
    """The offset from UTC of time code element n (623) at a local time; none or LT (local time: no zone) is UTC."""
    code = seg.el(n)
    if not code or code == LOCAL_TIME:
        return timedelta(0)
    if code in FIXED_TIME_CODES:
        hours = FIXED_TIME_CODES[code]
    elif code in SEASONAL_TIME_CODES:
        standard, daylight = SEASONAL_TIME_CODES[code]
        hours = daylight if _daylight_saving(local) else standard
    elif code.isdigit() and 1 <= int(code) <= 24:
        hours = int(code) if int(code) <= 12 else int(code) - 25  # 01..12 = UTC+1..+12, 13..24 = UTC-12..-1
    else:
        raise _Refused(seg.id, seg.position, f"time code '{code}' is not known", f"{seg.id}{n:02d}")
    return timedelta(hours=hours)


def _daylight_saving(local: datetime) -> bool:
    """Whether US/Canadian daylight saving time is in effect at a local wall-clock time: from 02:00 on the second
    Sunday of March to 02:00 on the first Sunday of November (since 2007; before, the first Sunday of April to the
    last Sunday of October). The hour repeated in November is read as daylight time."""
    year = local.year
    if year >= 2007:
        start, end = _sunday(year, 3, 2), _sunday(year, 11, 1)
    else:
        start, end = _sunday(year, 4, 1), _sunday(year, 10, -1)
    return datetime.combine(start, time(2)) <= local < datetime.combine(end, time(2))


def _sunday(year: int, month: int, nth: int) -> date:
    """The nth Sunday of a month; nth -1 is the last (month 1-11)."""
    if nth > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


# ---------------------------------------------------------------------------------------------- 997 / 999
# A 997 and a 999 (005010X231) share AK1, AK2 and AK9; a set's errors and verdict are AK3/AK4/AK5 in the one and
# IK3/IK4/IK5 (with CTX context segments) in the other: (segment note, element note, set response trailer).
_ACK_SEGMENTS = {"997": ("AK3", "AK4", "AK5"), "999": ("IK3", "IK4", "IK5")}
# AK304 (element 720) and IK304 (element 620: the same codes, plus the I-codes of an implementation guide).
SEGMENT_ERRORS = {
    "1": "unrecognized segment id",
    "2": "unexpected segment",
    "3": "mandatory segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "I4": 'implementation "not used" segment present',
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use",
    "I9": 'implementation dependent "not used" segment present',
}
# AK403 (element 723) and IK403 (element 621: the same codes, plus 12, 13 and the implementation I-codes).
ELEMENT_ERRORS = {
    "1": "mandatory data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
    "I10": 'implementation "not used" data element present',
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": 'implementation dependent "not used" data element present',
}


def _functional_ack(segments: list[_Seg], tx: Transaction, component: str) -> tuple[str, FunctionalAck]:
    """AK1 (the group acknowledged), each AK2 loop (its segment and element errors, its verdict), AK9 (the
    group's verdict). `component` is the interchange's component separator (AK401/IK401 and CTX01 are composites)."""
    segment_note, element_note, trailer = _ACK_SEGMENTS[tx.set_id]
    ak1 = _first(segments, "AK1", tx, "functional group response header")
    group_control_number = ak1.need(2, "the group control number acknowledged")
    ak9 = _first(segments, "AK9", tx, "functional group response trailer")
    code = ak9.need(1, "the functional group acknowledge code")
    if code not in GROUP_VERDICTS:
        raise _Refused("AK9", ak9.position, f"acknowledgment code '{code}' is not an X12 one", "AK901")
    sets: list[AcknowledgedSet] = []
    ak2: _Seg | None = None
    errors: list[str] = []
    for s in segments:
        if s.id == "AK2":
            if ak2 is not None:
                raise _Refused("AK2", ak2.position, f"the set response has no {trailer} (its verdict)")
            ak2, errors = s, []
        elif s.id == segment_note and ak2 is not None:
            loop = f" in loop {s.el(3)}" if s.el(3) else ""
            errors.append(f"segment {s.el(1)} at position {s.el(2)}{loop}: {_named(s.el(4), SEGMENT_ERRORS)}")
        elif s.id == element_note and ak2 is not None:
            bad = f": '{s.el(4)}'" if s.el(4) else ""
            ref = f" (data element {s.el(2)})" if s.el(2) else ""
            errors.append(f"{_element_position(s.el(1), component)}{ref}: {_named(s.el(3), ELEMENT_ERRORS)}{bad}")
        elif s.id == "CTX" and ak2 is not None and errors and tx.set_id == "999":
            context = " ".join(part for part in s.el(1).split(component) if part)
            errors[-1] += f" (context: {context})" if context else ""
        elif s.id == trailer:
            if ak2 is None:
                raise _Refused(trailer, s.position, f"{trailer} without the AK2 (the set) it answers")
            verdict = s.need(1, "the set acknowledgment code")
            if verdict not in SET_VERDICTS:
                reason = f"acknowledgment code '{verdict}' is not an X12 one"
                raise _Refused(trailer, s.position, reason, f"{trailer}01")
            data = {
                "set_id": ak2.need(1, "the set id acknowledged"),
                "control_number": ak2.need(2, "the set control number acknowledged"),
                "status": SET_VERDICTS[verdict],
                "code": verdict,
                "codes": [s.el(n) for n in range(2, 7) if s.el(n)],
                "errors": errors,
            }
            sets.append(_validated(AcknowledgedSet, data, ak2))
            ak2 = None
    if ak2 is not None:
        raise _Refused("AK2", ak2.position, f"the set response has no {trailer} (its verdict)")
    data = {
        "acknowledgment": tx.set_id,
        "functional_id": ak1.need(1, "the functional identifier acknowledged"),
        "group_control_number": group_control_number,
        "version": ak1.el(3) or None,
        "status": GROUP_VERDICTS[code],
        "code": code,
        "sets_included": _optional_count(ak9, 2),
        "sets_received": _optional_count(ak9, 3),
        "sets_accepted": _optional_count(ak9, 4),
        "codes": [ak9.el(n) for n in range(5, 10) if ak9.el(n)],
        "sets": sets,
    }
    return group_control_number, _validated(FunctionalAck, data, ak1)


def _element_position(value: str, component: str) -> str:
    """AK401/IK401 (composite C030: element position, component position, repetition) as words."""
    parts = [*value.split(component), "", ""]
    where = f"element {parts[0]}"
    where += f", component {parts[1]}" if parts[1] else ""
    return where + (f", repetition {parts[2]}" if parts[2] else "")


def _listed(codes: list[str]) -> str:
    return f" ({', '.join(codes)})" if codes else ""


def _named(code: str, names: dict[str, str]) -> str:
    return f"{names[code]} ({code})" if code in names else f"error code {code or '(none)'}"


def _optional_count(seg: _Seg, n: int) -> int | None:
    value = seg.el(n)
    return int(value) if value.isdigit() else None
