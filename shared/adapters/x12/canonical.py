"""Inbound X12 transaction sets -> the request models the API validates (issue #6), so an EDI partner looks to every
flow exactly like an API partner. Pure: no AWS, no HTTP.

`to_canonical(result)` gives one `Mapped` per request: a 855 becomes one `AcknowledgmentRequest` (for the PO in
BAK03), a 856 one `ShipNoticeRequest` per order level (HL O, the PO in PRF01). A set that cannot be mapped gives a
`MappingError` naming the set (ST02), the segment, its position in the file and the reason. Product ids are taken as
the SKU as they are: the API path resolves cross-references (GTIN, vendor part numbers) later.

X12 carries no time zone: dates and times are read as UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.adapters.x12.model import Group, Interchange, ParseResult, Transaction
from shared.api.order_models import OrderRequest
from shared.api.purchasing_models import (
    AckLineRequest,
    AcknowledgmentRequest,
    CartonRequest,
    ShipNoticeRequest,
)

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
CARRIER_MILESTONE = "carrier_milestone"  # 214 -> TrackingEvent, reference = tracking number
FUNCTIONAL_ACK = "functional_ack"  # 997 -> FunctionalAck, reference = the group control number acknowledged


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


def to_canonical(result: ParseResult, location: str | None = None) -> list[Mapped]:
    """Every transaction set of every group, in file order, as the requests it becomes (or its error). `location`
    is the location that ships a customer's 850 when its N1 SF does not name one (the partner's default)."""
    mapped: list[Mapped] = []
    for interchange in result.interchanges:
        for group in interchange.groups:
            for tx in group.transactions:
                mapped.extend(_map_set(tx, group, interchange, location))
    return mapped


def _map_set(tx: Transaction, group: Group, interchange: Interchange, location: str | None) -> list[Mapped]:
    segments = [_Seg(s, tx.position + 1 + i) for i, s in enumerate(tx.segments)]
    try:
        if tx.set_id == "855":
            po, ack = _acknowledgment(segments, tx, group, interchange)
            return [Mapped(tx.set_id, tx.control_number, ACKNOWLEDGMENT, po, ack)]
        if tx.set_id == "856":
            return [
                Mapped(tx.set_id, tx.control_number, SHIP_NOTICE, po, notice)
                for po, notice in _ship_notices(segments, tx)
            ]
        if tx.set_id == "850":
            order_id, order = _order(segments, tx, location)
            return [Mapped(tx.set_id, tx.control_number, ORDER, order_id, order)]
        raise _Refused("ST", tx.position, f"transaction set {tx.set_id} is not mapped to a canonical request", "ST01")
    except _Refused as r:
        error = MappingError(tx.set_id, tx.control_number, r.segment, r.position, r.reason, r.element)
        return [Mapped(tx.set_id, tx.control_number, _KINDS.get(tx.set_id, "unmapped"), None, error)]


_KINDS = {"855": ACKNOWLEDGMENT, "856": SHIP_NOTICE, "850": ORDER}


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


def _unit(seg: _Seg, n: int) -> str:
    code = seg.need(n, "the unit of measure")
    if code not in UNITS:
        known = ", ".join(sorted(UNITS))
        raise _Refused(
            seg.id, seg.position, f"unit '{code}' has no item master unit (known: {known})", f"{seg.id}{n:02d}"
        )
    return UNITS[code]


def _line_number(seg: _Seg, n: int) -> int:
    value = seg.need(n, "the PO line number")
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


# -------------------------------------------------------------------------------------------------- 855
def _acknowledgment(
    segments: list[_Seg], tx: Transaction, group: Group, interchange: Interchange
) -> tuple[str, AcknowledgmentRequest]:
    """BAK + PO1/ACK(/SCH) loops. The id is BAK08 when given, else `x12-<ISA13>-<GS06>-<ST02>` (a resent interchange
    is then a duplicate). `issued_at` is BAK09 (the acknowledgment date) when given, else BAK04, at 00:00 UTC: the
    reader does not keep GS04/GS05."""
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
    current: _Seg | None = None
    body: list[_Seg] = []
    for s in segments:
        if s.id in ("PO1", "CTT"):
            if current is not None:
                yield current, body
            current, body = (s, []) if s.id == "PO1" else (None, [])
        elif current is not None:
            body.append(s)
    if current is not None:
        yield current, body


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


def _ship_notices(segments: list[_Seg], tx: Transaction) -> list[tuple[str, ShipNoticeRequest]]:
    """BSN + HL S/O/P/I. One request per order level (PRF01, the PO): shipment-level facts (ship date, carrier,
    tracking, ETA) are shared, an order-level DTM overrides the ETA. Items are summed per PO line (LIN01, else SN101);
    each pack with MAN GM becomes a carton (a 20-digit SSCC loses its application identifier 00)."""
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
        if eta_seg is None:
            raise _Refused("DTM", order.hl.position, "no expected delivery date (DTM 017/067/002/068) for the order")
        below = [lv for lv in levels if _under(lv, order, by_id)]
        lines, units = _shipped_lines(below)
        cartons = [_carton(pack, below, by_id, units) for pack in below if pack.code == "P"]
        data = {
            "ship_notice_id": notice_id,
            "shipped_at": shipped_at,
            "carrier": carrier,
            "tracking_number": tracking,
            "eta": _date(eta_seg, 2),
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
    sscc = man.need(2, "the SSCC")
    if len(sscc) == 20 and sscc.startswith("00"):
        sscc = sscc[2:]
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


def _product_id(po1: _Seg) -> str:
    """The id of the first qualifier of PRODUCT_QUALIFIERS found in the PO106/107, PO108/109... pairs, as the SKU
    (the API path resolves cross-references)."""
    ids: dict[str, str] = {}
    for n in range(6, len(po1.elements), 2):
        if po1.el(n) and po1.el(n + 1):
            ids.setdefault(po1.el(n), po1.el(n + 1))
    found = next((ids[q] for q in PRODUCT_QUALIFIERS if q in ids), None)
    if found is None:
        known = "/".join(PRODUCT_QUALIFIERS)
        raise _Refused("PO1", po1.position, f"no product id with a qualifier {known}", "PO106")
    return found
