"""Inbound X12 sets -> the API's request models (shared/adapters/x12/canonical.py), on the corpus files as
partners wrote them, on the samples of events/x12/ (846, 945, a 214 with an estimate: sets the corpus lacks), on
hand-made broken copies, and through `distrosync edi to-canonical`.

Every expected value below is read off the files (BAK, PO1/ACK/SCH, BSN, HL, PRF, TD5, REF, DTM, MAN, SN1, BIG, IT1,
ITD, TDS, BIA, LIN, QTY, W06, G62, LX, W12, B10, AT7, MS1, AK1-AK9)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from cli.corpus import CORPUS
from cli.main import main
from shared.adapters.x12 import read
from shared.adapters.x12.canonical import FunctionalAck, Mapped, MappingError, to_canonical
from shared.api.fulfillment_models import PickCompleteRequest, TrackingEvent
from shared.api.models import SnapshotRequest
from shared.api.order_models import OrderRequest
from shared.api.purchasing_models import AcknowledgmentRequest, ShipNoticeRequest, SupplierInvoiceRequest

X12 = CORPUS / "x12"
ACK_855 = (X12 / "855_node-x12_855.edi").read_bytes()
ASN_856 = (X12 / "856_node-x12_856.edi").read_bytes()
CROSSDOCK_856 = (X12 / "856_EdiEngine_Crossdock.edi").read_bytes()
INVOICE_810 = (X12 / "810_staedi_simple810.edi").read_bytes()
STATUS_214 = (X12 / "214_EDI.Net_MGCTLYST-SAMPLE.EDI").read_bytes()
ACK_997 = (X12 / "997_staedi_simple997.edi").read_bytes()
SAMPLES = Path(__file__).resolve().parents[2] / "events" / "x12"
ADVICE_846 = (SAMPLES / "846_inventory_advice.edi").read_bytes()
SHIPPING_945 = (SAMPLES / "945_shipping_advice.edi").read_bytes()
ESTIMATE_214 = (SAMPLES / "214_estimate_and_appointment.edi").read_bytes()


def _one(data: bytes) -> Mapped:
    result = read(data)
    mapped = to_canonical(result)
    assert len(mapped) == 1
    return mapped[0]


def _error(data: bytes) -> MappingError:
    mapped = _one(data)
    assert isinstance(mapped.request, MappingError), mapped.request
    return mapped.request


def _edit(data: bytes, *changes: tuple[bytes, bytes]) -> bytes:
    """The file with each (old, new) replaced once; the edits keep the segment counts, so the envelopes stay right."""
    for old, new in changes:
        assert old in data, old
        data = data.replace(old, new, 1)
    assert read(data).ok, read(data).errors
    return data


def test_855_lines_statuses_units_and_schedules() -> None:
    mapped = _one(ACK_855)
    assert (mapped.set_id, mapped.control_number, mapped.kind, mapped.reference) == (
        "855",
        "0005",
        "acknowledgment",
        "POTEST1112",  # BAK03
    )
    ack = mapped.request
    assert isinstance(ack, AcknowledgmentRequest)
    # No BAK08: the id is ISA13 000000005, GS06 5, ST02 0005; issued on BAK09 20201015.
    assert ack.acknowledgment_id == "x12-000000005-5-0005"
    assert ack.issued_at == datetime(2020, 10, 15, tzinfo=UTC)
    got = [
        (line.line, line.status, line.quantity, line.unit, [(s.quantity, s.date) for s in line.schedule])
        for line in ack.lines
    ]
    assert got == [
        (1, "accepted", 3, "each", [(3, date(2004, 12, 31))]),  # ACK*IA*3*UN, SCH*3*UN*WH*MO*080*20041231
        (2, "rejected", 0, "each", []),  # ACK*IR*0*UN
        (3, "rejected", 0, "each", []),
        (4, "accepted", 2, "each", [(2, date(2004, 12, 31))]),
    ]


def test_855_sets_without_lines_are_refused_per_set() -> None:
    mapped = to_canonical(read((X12 / "855_staedi_multi-tx.edi").read_bytes()))
    assert [(m.control_number, m.ok) for m in mapped] == [("0001", False), ("0002", False)]
    errors = [m.request for m in mapped]
    assert all(isinstance(e, MappingError) and e.segment == "PO1" for e in errors)
    assert [e.position for e in errors if isinstance(e, MappingError)] == [4, 7]  # each set's BAK


@pytest.mark.parametrize(
    ("old", "new", "segment", "element", "position", "reason"),
    [
        (b"ACK*IR*0*UN***", b"ACK*ZZ*0*UN***", "ACK", "ACK01", 18, "line status 'ZZ'"),
        (b"ACK*IA*2*UN***", b"ACK*IA*2*XX***", "ACK", "ACK03", 25, "unit 'XX'"),
        (b"BAK*00*AD*POTEST1112", b"BAK*01*AD*POTEST1112", "BAK", "BAK01", 4, "purpose 01"),
        (b"60169126***20201015", b"60169126***20201315", "BAK", "BAK09", 4, "'20201315' is not a date"),
        (
            b"PO1*3*1*UN*0*PE*EN*9780099599531~\nACK*IR",
            b"PO1*3*1*UN*0*PE*EN*9780099599531~\nPID*IR",
            "PO1",
            None,
            20,
            "no ACK",
        ),
    ],
)
def test_broken_855_names_segment_and_reason(
    old: bytes, new: bytes, segment: str, element: str | None, position: int, reason: str
) -> None:
    assert old in ACK_855
    error = _error(ACK_855.replace(old, new, 1))
    assert (error.set_id, error.control_number, error.segment, error.element, error.position) == (
        "855",
        "0005",
        segment,
        element,
        position,
    )
    assert reason in error.reason
    assert str(error).startswith(f"855 0005: {element or segment} (segment {position}): ")


def test_856_without_eta_or_po_lines_is_refused() -> None:
    # node-x12 856 has only DTM*011 (shipped); the Crossdock 856 has LIN**UP.. and SN1**12*EA (no PO line).
    error = _error(ASN_856)
    assert (error.segment, error.position) == ("DTM", 20)  # HL*2*1*O
    assert "expected delivery" in error.reason
    error = _error(CROSSDOCK_856)
    assert (error.segment, error.element, error.position) == ("LIN", "LIN01", 28)


def test_856_order_items_carrier_tracking_and_eta() -> None:
    with_eta = ASN_856.replace(b"DTM*011*20111206~", b"DTM*011*20111206~DTM*017*20111209~").replace(
        b"SE*31*0008", b"SE*32*0008"
    )
    assert read(with_eta).ok
    mapped = _one(with_eta)
    assert (mapped.kind, mapped.reference) == ("ship_notice", "99999817")  # PRF01
    notice = mapped.request
    assert isinstance(notice, ShipNoticeRequest)
    assert notice.ship_notice_id == "829716"  # BSN02
    assert notice.shipped_at == datetime(2011, 12, 6, tzinfo=UTC)  # DTM*011
    assert (notice.carrier, notice.tracking_number, notice.eta) == ("XXXX", "5787970539", date(2011, 12, 9))
    assert [(line.line, line.quantity, line.unit) for line in notice.lines] == [(1, 24, "each"), (2, 6, "each")]
    assert notice.cartons == []


def test_856_crossdock_one_notice_per_order_with_cartons() -> None:
    numbered = CROSSDOCK_856
    for n in range(1, 6):  # the five SN1**12*EA in file order get SN101 = 1..5
        numbered = numbered.replace(b"SN1**12*EA", f"SN1*{n}*12*EA".encode(), 1)
    mapped = to_canonical(read(numbered))
    assert [(m.reference, m.ok) for m in mapped] == [("POREF00", True), ("POREF01", True)]
    first, second = (m.request for m in mapped)
    assert isinstance(first, ShipNoticeRequest) and isinstance(second, ShipNoticeRequest)
    assert first.ship_notice_id == second.ship_notice_id == "000009"
    assert (first.carrier, first.tracking_number, first.eta) == ("OVNT", "0000000008741", date(2009, 9, 25))
    assert first.shipped_at == datetime(2009, 9, 21, tzinfo=UTC)
    assert [(line.line, line.quantity) for line in first.lines] == [(1, 12), (2, 12), (3, 12), (4, 12)]
    # MAN*GM*00000715670002152360: the SSCC without its application identifier 00.
    assert [(c.sscc, [(cl.line, cl.quantity) for cl in c.lines]) for c in first.cartons] == [
        ("000715670002152360", [(1, 12)]),
        ("000715670002152377", [(2, 12)]),
        ("000715670002152384", [(3, 12)]),
        ("000715670002152391", [(4, 12)]),
    ]
    assert [(line.line, line.quantity) for line in second.lines] == [(5, 12)]
    assert [c.sscc for c in second.cartons] == ["000715670002152111"]


def test_850_order_lines_skus_units_dates_and_ship_to() -> None:
    mapped = to_canonical(read((X12 / "850_EdiEngine_850.OK.edi").read_bytes()), location="DC-EAST")
    [m] = mapped
    assert (m.set_id, m.control_number, m.kind, m.reference) == ("850", "000000010", "order", "08292233294")
    order = m.request
    assert isinstance(order, OrderRequest)
    assert order.order_id == "08292233294"  # BEG03
    assert order.placed_at == datetime(2010, 11, 27, tzinfo=UTC)  # BEG05
    assert order.deliver_by == date(2010, 12, 14)  # DTM*002
    # PO1*1*120*EA*9.25*TE*CB*065322-117*PR*RO*VN*AB3542: the vendor's item number VN before the buyer's CB.
    assert [(x.line, x.sku, x.quantity, x.unit, x.unit_price, x.requested_date, x.location) for x in order.lines] == [
        (1, "AB3542", 120, "each", "9.25", date(2010, 12, 14), "DC-EAST"),
        (2, "RD5322", 220, "each", "13.79", date(2010, 12, 14), "DC-EAST"),
        (3, "XY5266", 126, "each", "10.99", date(2010, 12, 14), "DC-EAST"),
        (4, "VX2332", 76, "each", "4.35", date(2010, 12, 14), "DC-EAST"),
        (5, "RV0524", 72, "each", "7.5", date(2010, 12, 14), "DC-EAST"),
        (6, "DX1875", 696, "each", "9.55", date(2010, 12, 14), "DC-EAST"),
    ]
    assert order.ship_to is not None  # N1*ST*XYZ RETAIL, N3*31875 SOLON RD, N4*SOLON*OH*44139
    assert order.ship_to.model_dump(exclude_none=True) == {
        "company": "XYZ RETAIL",
        "address1": "31875 SOLON RD",
        "city": "SOLON",
        "region": "OH",
        "postal_code": "44139",
    }


def test_850_unnumbered_case_lines_and_bill_to() -> None:
    [m] = to_canonical(read((X12 / "850_x12-types_004010.edi").read_bytes()), location="DC-EAST")
    order = m.request
    assert isinstance(order, OrderRequest)
    assert (order.order_id, order.customer_ref) == ("A99999-01", "1223334444")  # BEG03, N1*BT N104
    # PO1**16*CA*12.34**CB*000111111*UA*002840022222 ... PO1**1*CA: no PO101, so numbered in file order.
    assert [(x.line, x.sku, x.quantity, x.unit) for x in order.lines] == [
        (1, "000111111", 16, "case"),
        (2, "000555555", 13, "case"),
        (3, "000666666", 32, "case"),
        (4, "000874917", 51, "case"),
        (5, "000874958", 9, "case"),
        (6, "000874990", 85, "case"),
        (7, "000875088", 1, "case"),
    ]
    assert order.ship_to is not None
    assert (order.ship_to.company, order.ship_to.city, order.ship_to.region, order.ship_to.postal_code) == (
        "BUYSNACKS PORT",
        "ATHENS",
        "GA",
        "30603",
    )
    assert order.lines[0].requested_date == date(1997, 12, 19)  # DTM*002*19971219


def test_850_errors_name_the_segment() -> None:
    mapped = to_canonical(read((X12 / "810+850_staedi_invoice810_po850_dual.edi").read_bytes()), location="DC-EAST")
    assert [(m.set_id, m.control_number, m.ok) for m in mapped] == [
        ("810", "000000001", True),
        ("810", "000000002", True),
        ("850", "000191240", False),
    ]
    error = mapped[2].request
    assert isinstance(error, MappingError)
    assert (error.segment, "requested date" in error.reason) == ("DTM", True)  # no DTM in that 850

    data = (X12 / "850_EdiEngine_850.OK.edi").read_bytes()
    error = _error(data)  # no default location and no N1 SF
    assert (error.segment, error.position) == ("N1", 4)
    broken = data.replace(b"PO1*3*126*EA*", b"PO1*3*126*ZZ*")
    [m] = to_canonical(read(broken), location="DC-EAST")
    assert isinstance(m.request, MappingError)
    assert (m.request.element, m.request.position) == ("PO103", 21)


def test_other_sets_are_reported_unmapped() -> None:
    # A 940 is what we send to a warehouse, never what we receive.
    mapped = _one((X12 / "940_EdiEngine_940.OK.edi").read_bytes())
    assert (mapped.kind, mapped.reference) == ("unmapped", None)
    assert isinstance(mapped.request, MappingError)
    assert (mapped.request.set_id, mapped.request.segment, mapped.request.element) == ("940", "ST", "ST01")


def test_cli_to_canonical(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["edi", "to-canonical", str(X12 / "855_node-x12_855.edi")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["errors"] == []
    [entry] = out["sets"]
    assert (entry["set_id"], entry["control_number"], entry["reference"]) == ("855", "0005", "POTEST1112")
    assert entry["request"]["issued_at"] == "2020-10-15T00:00:00Z"
    assert [line["status"] for line in entry["request"]["lines"]] == ["accepted", "rejected", "rejected", "accepted"]

    assert main(["edi", "to-canonical", str(X12 / "856_node-x12_856.edi")]) == 1
    [entry] = json.loads(capsys.readouterr().out)["sets"]
    assert entry["error"]["segment"] == "DTM" and "request" not in entry
    assert main(["edi", "to-canonical", str(X12 / "850_node-x12_850.edi"), "--location", "DC-EAST"]) == 0
    [entry] = json.loads(capsys.readouterr().out)["sets"]
    assert (entry["kind"], entry["request"]["order_id"]) == ("order", "08292233294")
    assert main(["edi", "to-canonical", str(tmp_path / "missing.edi")]) == 2


# ------------------------------------------------------------------------------------------------------ 856
def test_856_without_eta_takes_transit_days_from_the_ship_date() -> None:
    # node-x12 856: DTM*011*20111206 (shipped), no delivery DTM; the profile says 3 days in transit.
    [mapped] = to_canonical(read(ASN_856), transit_days=3)
    notice = mapped.request
    assert isinstance(notice, ShipNoticeRequest)
    assert (notice.shipped_at, notice.eta) == (datetime(2011, 12, 6, tzinfo=UTC), date(2011, 12, 9))
    # An ETA written in the file wins over the rule.
    with_eta = _edit(ASN_856, (b"REF*CN*5787970539~", b"DTM*017*20111215~"))
    [mapped] = to_canonical(read(with_eta), transit_days=3)
    assert isinstance(mapped.request, ShipNoticeRequest) and mapped.request.eta == date(2011, 12, 15)
    with pytest.raises(ValueError, match="transit_days"):
        to_canonical(read(ASN_856), transit_days=-1)


# ------------------------------------------------------------------------------------------------------ 810
def test_810_invoices_from_the_corpus() -> None:
    mapped = to_canonical(read(INVOICE_810))
    assert [(m.set_id, m.control_number, m.kind, m.reference) for m in mapped] == [
        ("810", "000000001", "invoice", "A99999-01"),  # BIG04
        ("810", "000000002", "invoice", "A99999-04"),
    ]
    first, second = (m.request for m in mapped)
    assert isinstance(first, SupplierInvoiceRequest) and isinstance(second, SupplierInvoiceRequest)
    # BIG*19971211*00001**A99999-01, ITD*01*3*1.000**15**16*****1/15 NET 30, TDS*255438 (N2), no CUR.
    assert (first.invoice_id, first.invoice_date, first.terms, first.total, first.currency) == (
        "00001",
        date(1997, 12, 11),
        "1/15 NET 30",
        Decimal("2554.38"),
        None,
    )
    # IT1**16*CA*12.34**UA*002840022222...: no IT101, so numbered in file order, each with its product id.
    assert [(x.line, x.sku, x.quantity, x.unit, x.unit_price) for x in first.lines] == [
        (1, "002840022222", 16, "case", Decimal("12.34")),
        (2, "002840033333", 13, "case", Decimal("12.34")),
        (3, "002840044444", 32, "case", Decimal("12.34")),
        (4, "002840055555", 51, "case", Decimal("12.34")),
        (5, "002840066666", 9, "case", Decimal("12.34")),
        (6, "002840077777", 85, "case", Decimal("12.34")),
        (7, "002840088888", 1, "case", Decimal("12.34")),
    ]
    assert second.invoice_date == date(1997, 12, 15)
    assert [(x.line, x.sku, x.quantity) for x in second.lines] == [(1, "002840022222", 50), (2, "002840066666", 100)]
    # The second set states the first one's total (TDS*255438): kept as written, the invoice matching flags it.
    assert second.total == Decimal("2554.38")


def test_810_numbered_lines_readable_terms_and_currency() -> None:
    data = _edit(
        INVOICE_810,
        (b"IT1**50*CA*12.34**UA*002840022222", b"IT1*4*50*CA*12.34*PE*UA*002840022222"),
        (b"IT1**100*CA*12.34**UA*002840066666", b"IT1*9*100*EA*1.03"),
        (b"ITD*01*3*1.000**15**16*****1/15 NET 30~\nFOB*PP~\nIT1*4", b"ITD*01*3*2**10**30~\nCUR*SE*USD~\nIT1*4"),
    )
    second = to_canonical(read(data))[1].request
    assert isinstance(second, SupplierInvoiceRequest)
    assert (second.terms, second.currency) == ("basic: 2% discount within 10 days, net 30 days", "USD")
    # IT101 is the PO line; a numbered line need not name its product.
    assert [(x.line, x.sku, x.quantity, x.unit, x.unit_price) for x in second.lines] == [
        (4, "002840022222", 50, "case", Decimal("12.34")),
        (9, None, 100, "each", Decimal("1.03")),
    ]


@pytest.mark.parametrize(
    ("old", "new", "segment", "element", "position", "reason"),
    [
        (b"IT1**13*CA*", b"IT1**13*XX*", "IT1", "IT103", 18, "unit 'XX'"),
        (b"IT1**16*CA", b"IT1*1*16*CA", "IT1", "IT101", 18, "has none"),
        (b"IT1**13*CA*12.34**UA*002840033333", b"IT1**13*CA*12.34", "IT1", "IT106", 18, "no product id"),
        (b"IT1**16*CA*12.34**UA", b"IT1**16*CA*12.34*HP*UA", "IT1", "IT105", 16, "price per hundred"),
        (b"IT1**9*CA*12.34*", b"IT1**9*CA*12,34*", "IT1", "IT104", 24, "'12,34' is not a number"),
        (b"IT1**16*CA", b"IT1**0*CA", "IT1", None, 16, "quantity: Input should be greater than 0"),
        (b"TDS*255438", b"TDS*2554.38", "TDS", "TDS01", 30, "not N2"),
        (b"TDS*255438", b"TDS*-255438", "TDS", "TDS01", 30, "a negative amount"),
        (b"BIG*19971211*00001**A99999-01", b"BIG*19971211*00001**", "BIG", "BIG04", 4, "purchase order number"),
        (b"A99999-01~", b"A99999-01***CR~", "BIG", "BIG07", 4, "credit memo"),
        (b"A99999-01~", b"A99999-01****01~", "BIG", "BIG08", 4, "purpose 01"),
    ],
)
def test_broken_810_names_segment_and_reason(
    old: bytes, new: bytes, segment: str, element: str | None, position: int, reason: str
) -> None:
    error = to_canonical(read(_edit(INVOICE_810, (old, new))))[0].request
    assert isinstance(error, MappingError)
    assert (error.set_id, error.control_number, error.segment, error.element, error.position) == (
        "810",
        "000000001",
        segment,
        element,
        position,
    )
    assert reason in error.reason


# ------------------------------------------------------------------------------------------------------ 846
def test_846_snapshot_of_the_warehouse_named() -> None:
    mapped = _one(ADVICE_846)
    assert (mapped.set_id, mapped.kind, mapped.reference) == ("846", "inventory_advice", "DC-EAST")  # N1*WH..*92
    snapshot = mapped.request
    assert isinstance(snapshot, SnapshotRequest)
    assert (snapshot.location, snapshot.snapshot_id) == ("DC-EAST", "INV-20240315-EAST")  # BIA03
    assert snapshot.taken_at == datetime(2024, 3, 15, 6, 0, tzinfo=UTC)  # BIA04/05
    assert snapshot.sequence == 20240315060000
    # LIN*1*SK*SKU-1*UP..: QTY 33 (118) before 17 (120); LIN*2*VN*AB3542*SK*SKU-2: SK first, only QTY 17 in CA;
    # LIN*3*UP*012345678912: QTY 17 5 then 33 0: available wins wherever it is.
    assert [(x.sku, x.on_hand, x.unit) for x in snapshot.lines] == [
        ("SKU-1", 118, "each"),
        ("SKU-2", 40, "case"),
        ("012345678912", 0, "each"),
    ]


def test_846_sequence_sorts_later_reports_higher() -> None:
    def sequence(bia: bytes) -> int:
        snapshot = _one(_edit(ADVICE_846, (b"BIA*00*DD*INV-20240315-EAST*20240315*0600", bia))).request
        assert isinstance(snapshot, SnapshotRequest)
        return snapshot.sequence

    written = [
        b"BIA*00*DD*R1*240315*0600",  # YYMMDD: the same minute as the file's
        b"BIA*00*DD*R2*20240315*060030",  # 30 s later, with seconds
        b"BIA*00*DD*R3*20240315*0601",  # a minute later, without
        b"BIA*00*DD*R4*20240316*0000",
    ]
    got = [sequence(bia) for bia in written]
    assert got == [20240315060000, 20240315060030, 20240315060100, 20240316000000]


def test_846_location_from_the_profile_or_refused() -> None:
    duns = _edit(ADVICE_846, (b"N1*WH*ACME EAST DC*92*DC-EAST", b"N1*WH*ACME EAST DC*1*123456789"))
    [mapped] = to_canonical(read(duns), location="DC-WEST")  # a DUNS is no location code: the profile's default
    assert (mapped.reference, getattr(mapped.request, "location", None)) == ("DC-WEST", "DC-WEST")
    gln = _edit(ADVICE_846, (b"N1*WH*ACME EAST DC*92*DC-EAST", b"N1*SF*ACME EAST DC*UL*0614141000005"))
    assert _one(gln).reference == "0614141000005"
    error = _error(duns)
    assert (error.segment, error.position) == ("N1", 4)  # the BIA
    assert "no default location" in error.reason


@pytest.mark.parametrize(
    ("old", "new", "segment", "element", "position", "reason"),
    [
        (b"QTY*17*40*CA", b"QTY*17*40", "QTY", "QTY03", 14, "unit of measure is missing"),
        (b"QTY*17*40*CA", b"QTY*17*40*DZ", "QTY", "QTY03", 14, "unit 'DZ'"),
        (b"QTY*17*40*CA", b"QTY*02*40*CA", "LIN", None, 12, "no QTY 33 (available) or 17 (on hand)"),
        (b"QTY*17*40*CA", b"QTY*17*4.5*CA", "QTY", "QTY02", 14, "not a whole number"),
        (b"LIN*3*UP*012345678912", b"LIN*3*ZZ*012345678912", "LIN", "LIN02", 15, "no product id"),
        (b"PID*F****RED WIDGET 12-PACK", b"N1*WH*ACME WEST*92*DC-WEST", "N1", "N104", 13, "other than"),
        (b"PID*F****RED WIDGET 12-PACK", b"SDQ*CA*92*DC-EAST*20*DC-WEST*20", "SDQ", None, 13, "per destination"),
        (b"BIA*00*DD*INV-20240315-EAST", b"BIA*01*DD*INV-20240315-EAST", "BIA", "BIA01", 4, "purpose 01"),
        (b"*20240315*0600~", b"*20240315*2675~", "BIA", "BIA05", 4, "not a time"),
    ],
)
def test_broken_846_names_segment_and_reason(
    old: bytes, new: bytes, segment: str, element: str | None, position: int, reason: str
) -> None:
    error = _error(_edit(ADVICE_846, (old, new)))
    assert (error.set_id, error.segment, error.element, error.position) == ("846", segment, element, position)
    assert reason in error.reason


def test_846_composite_unit_and_negative_count_reach_the_api_rules() -> None:
    data = _edit(ADVICE_846, (b"QTY*33*118*EA", b"QTY*33*118*CA>12"), (b"QTY*17*40*CA", b"QTY*17*-4*CA"))
    snapshot = _one(data).request
    assert isinstance(snapshot, SnapshotRequest)
    # C001: the first component is the unit; a negative count is the API's to refuse (negative-on-hand).
    assert [(x.on_hand, x.unit) for x in snapshot.lines[:2]] == [(118, "case"), (-4, "case")]


# ------------------------------------------------------------------------------------------------------ 945
def test_945_pick_complete_for_our_order() -> None:
    mapped = _one(SHIPPING_945)
    assert (mapped.set_id, mapped.kind, mapped.reference) == ("945", "shipping_advice", "ORD-1001")  # W0602
    picked = mapped.request
    assert isinstance(picked, PickCompleteRequest)
    assert picked.picked_at == datetime(2024, 3, 16, 17, 30, tzinfo=UTC)  # W0603 + G62*11*20240316*8*1730
    assert [(x.line, x.quantity) for x in picked.lines or []] == [(1, 10), (2, 4), (3, 2)]  # LX01, W1203
    # MAN*GM*00006141411234567906 (twice: one carton holds lines 1 and 2) and MAN*GM*006141411234567913.
    assert [(p.package_id, p.sscc) for p in picked.packages] == [
        ("006141411234567906", "006141411234567906"),
        ("006141411234567913", "006141411234567913"),
    ]


def test_945_lines_summed_time_of_the_shipping_day_only() -> None:
    data = _edit(
        SHIPPING_945,
        (b"LX*2~", b"LX*1~"),  # a second W12 loop of order line 1 (another lot)
        (b"G62*11*20240316*8*1730", b"G62*11*20240315*8*1730"),  # the time of another day is not W0603's
    )
    picked = _one(data).request
    assert isinstance(picked, PickCompleteRequest)
    assert picked.picked_at == datetime(2024, 3, 16, tzinfo=UTC)
    assert [(x.line, x.quantity) for x in picked.lines or []] == [(1, 14), (3, 2)]


@pytest.mark.parametrize(
    ("old", "new", "segment", "element", "position", "reason"),
    [
        (b"W12*CP*6*4*2*EA", b"W12*CP*6*4*2*CA", "W12", "W1205", 17, "must report eaches"),
        (b"W12*CP*6*4*2*EA", b"W12*CP*6**2*EA", "W12", "W1203", 17, "quantity is missing"),
        (b"W06*F*ORD-1001*", b"W06*F**", "W06", "W0602", 4, "depositor order number"),
        (b"LX*3~", b"LX*C~", "LX", "LX01", 18, "'C' is not a number"),
        (b"MAN*GM*006141411234567913", b"MAN*GM*6141411234567913", "MAN", None, 19, "sscc"),
        (b"W12*CC*2*2*0*EA**SK*SKU-3", b"NTE*WHI*NOTHING SHIPPED", "LX", None, 18, "no W12"),
    ],
)
def test_broken_945_names_segment_and_reason(
    old: bytes, new: bytes, segment: str, element: str | None, position: int, reason: str
) -> None:
    error = _error(_edit(SHIPPING_945, (old, new)))
    assert (error.set_id, error.segment, error.element, error.position) == ("945", segment, element, position)
    assert reason in error.reason


# ------------------------------------------------------------------------------------------------------ 214
def test_214_corpus_delivered_in_local_time() -> None:
    # B10*1751807*75027674*SCAC: B1001 (the carrier's PRO number) is the tracking number, B1002 the shipper's id.
    # AT7*D1*NS***20160726*1230*LT: LT names no zone, read as UTC. The second file is the same with a BOM and a
    # wrapped ISA.
    for name in ("214_EDI.Net_MGCTLYST-SAMPLE.EDI", "214_EDI.Net_x12.214.edi"):
        mapped = _one((X12 / name).read_bytes())
        assert (mapped.set_id, mapped.kind, mapped.reference) == ("214", "carrier_milestone", "1751807")
        assert mapped.request == TrackingEvent(
            tracking_number="1751807",
            status="delivered",
            occurred_at=datetime(2016, 7, 26, 12, 30, tzinfo=UTC),
            detail="D1 completed unloading at delivery location",
            where="BRATTLEBORO, VT",  # MS1
        )


def test_214_canada_post_statuses_and_time_zones() -> None:
    mapped = to_canonical(read((X12 / "214_omniparser_canadapost.edi").read_bytes()))
    got = []
    for m in mapped:
        assert isinstance(m.request, TrackingEvent), m.request
        got.append((m.control_number, m.request.tracking_number, m.request.status, m.request.occurred_at.isoformat()))
    # B1001 padded with spaces (the PIN); L11 97 is a package reference, not the tracking number. Times: AT707 PT,
    # MT and ET on 2019-11-02 are daylight time, on 2019-11-03 after 02:00 standard time; CS is -6; none is UTC.
    assert got == [
        ("000000001", "4343638097845589", "pre_transit", "2019-11-03T15:34:00+00:00"),  # XB, no code
        ("000000002", "4343638098050296", "out_for_delivery", "2019-11-02T23:25:00+00:00"),  # AH 1625 PT (PDT)
        ("000000003", "4343638931638575", "cancelled", "2019-11-03T00:52:00+00:00"),  # CA 1752 PT
        ("000000004", "4343638098146166", "delivered", "2019-11-02T22:48:00+00:00"),  # D1 1648 MT (MDT)
        ("000000005", "4343638098181877", "in_transit", "2019-11-03T21:09:00+00:00"),  # AF 1509 CS
        ("000000006", "4343638098181891", "in_transit", "2019-11-03T21:09:00+00:00"),
        ("000000007", "4343638098181921", "pre_transit", "2019-11-03T17:31:00+00:00"),  # XB 1131 CS
        ("000000008", "4343638098186995", "in_transit", "2019-11-03T21:09:00+00:00"),
        ("000000009", "4343638151403540", "in_transit", "2019-11-03T18:25:00+00:00"),  # AF 1125 MT (MST)
        ("000000010", "4343638151403540", "pre_transit", "2019-11-03T15:53:00+00:00"),  # XB 0853 MT (MST)
        ("000000011", "4343638316026577", "in_transit", "2019-11-03T15:37:00+00:00"),
        ("000000012", "4343638316026577", "out_for_delivery", "2019-11-03T15:15:00+00:00"),  # AP 0815 MT
        ("000000013", "4343638316026577", "in_transit", "2019-11-02T22:55:00+00:00"),  # AF 1555 PT (PDT)
        ("000000014", "4343638672340607", "out_for_delivery", "2019-11-03T13:33:00+00:00"),  # AP 0733 CS
        ("000000015", "4343638098171441", "pre_transit", "2019-11-03T16:04:00+00:00"),
        ("000000016", "4343638098171472", "in_transit", "2019-11-03T21:09:00+00:00"),
        ("000000017", "4343638098176088", "out_for_delivery", "2019-11-03T12:31:00+00:00"),
        ("000000018", "4343638458862606", "pre_transit", "2019-11-03T22:28:00+00:00"),  # XB 1728 ET (EST)
        ("000000019", "4343638098196574", "pre_transit", "2019-11-03T21:18:00+00:00"),  # XB 1618 ET
    ]
    attempted = mapped[1].request
    assert isinstance(attempted, TrackingEvent)
    assert (attempted.detail, attempted.where) == ("AH attempted delivery, reason AG", "DRILL, BC, CA")


@pytest.mark.parametrize(
    ("day", "time_code", "utc"),
    [
        (b"20160726", b"ES", datetime(2016, 7, 26, 17, 30)),
        (b"20160726", b"ED", datetime(2016, 7, 26, 16, 30)),
        (b"20160726", b"ET", datetime(2016, 7, 26, 16, 30)),  # July: daylight time
        (b"20160126", b"ET", datetime(2016, 1, 26, 17, 30)),  # January: standard time
        (b"20060402", b"CT", datetime(2006, 4, 2, 17, 30)),  # before 2007: from the first Sunday of April
        (b"20060326", b"CT", datetime(2006, 3, 26, 18, 30)),
        (b"20160726", b"PT", datetime(2016, 7, 26, 19, 30)),
        (b"20160726", b"NS", datetime(2016, 7, 26, 16, 0)),  # Newfoundland standard, -3:30
        (b"20160726", b"UT", datetime(2016, 7, 26, 12, 30)),
        (b"20160726", b"20", datetime(2016, 7, 26, 17, 30)),  # ISO M05
        (b"20160726", b"04", datetime(2016, 7, 26, 8, 30)),  # ISO P04
    ],
)
def test_214_time_codes(day: bytes, time_code: bytes, utc: datetime) -> None:
    data = _edit(STATUS_214, (b"AT7*D1*NS***20160726*1230*LT", b"AT7*D1*NS***" + day + b"*1230*" + time_code))
    event = _one(data).request
    assert isinstance(event, TrackingEvent)
    assert event.occurred_at == utc.replace(tzinfo=UTC)


def test_214_daylight_saving_changes_at_two_in_the_morning() -> None:
    def at(local: bytes) -> datetime:
        event = _one(_edit(STATUS_214, (b"20160726*1230*LT", local))).request
        assert isinstance(event, TrackingEvent)
        return event.occurred_at

    assert at(b"20191103*0130*ET") == datetime(2019, 11, 3, 5, 30, tzinfo=UTC)  # the repeated hour: daylight
    assert at(b"20191103*0230*ET") == datetime(2019, 11, 3, 7, 30, tzinfo=UTC)
    assert at(b"20190310*0130*ET") == datetime(2019, 3, 10, 6, 30, tzinfo=UTC)
    assert at(b"20190310*0330*ET") == datetime(2019, 3, 10, 7, 30, tzinfo=UTC)
    # Releases before 004010: AT705 YYMMDD, AT706 the century, AT707 the time, AT708 the code.
    assert at(b"160726*20*1230*ED") == datetime(2016, 7, 26, 16, 30, tzinfo=UTC)


def test_214_estimate_and_appointment() -> None:
    mapped = to_canonical(read(ESTIMATE_214))
    events = [m.request for m in mapped]
    assert [m.reference for m in mapped] == ["PRO7701234", "PRO7701234"]
    # AT7*AF..*0815*ET, AT7***AB*BK.. (an appointment: skipped), AT7*AG..*20240712*1700*CT (the estimate, for
    # every event of the set), LX*2 AT7*X4..*1942*CT with its MS1.
    assert [
        (e.status, e.occurred_at, e.estimated_delivery, e.where) for e in events if isinstance(e, TrackingEvent)
    ] == [
        ("in_transit", datetime(2024, 7, 10, 12, 15, tzinfo=UTC), date(2024, 7, 12), "COLUMBUS, OH, US"),
        ("in_transit", datetime(2024, 7, 11, 0, 42, tzinfo=UTC), date(2024, 7, 12), "EFFINGHAM, IL, US"),
    ]
    # The estimate's day is the local one: 2024-07-12 20:00 CT is 01:00 UTC the next day.
    later = _edit(ESTIMATE_214, (b"20240712*1700*CT", b"20240712*2000*CT"))
    assert {getattr(m.request, "estimated_delivery", None) for m in to_canonical(read(later))} == {date(2024, 7, 12)}


def test_214_estimate_alone_is_an_unknown_status_at_the_group_time() -> None:
    data = _edit(
        ESTIMATE_214,
        (b"AT7*AF*NS***20240710*0815*ET", b"AT7***AA*BK*20240710*0815*ET"),
        (b"AT7*X4*NS***20240710*1942*CT", b"AT7*C1*NS***20240711*0300*CT"),  # a terminal estimate: no milestone
    )
    event = _one(data).request
    assert event == TrackingEvent(
        tracking_number="PRO7701234",
        status="unknown",
        occurred_at=datetime(2024, 7, 10, 22, 15, tzinfo=UTC),  # GS*QM*..*20240710*2215
        estimated_delivery=date(2024, 7, 12),
        detail="AG estimated delivery",
    )


def test_214_tracking_number_from_l11_2i() -> None:
    data = _edit(STATUS_214, (b"N1*SH*CATALYST PAPER (USA) INC", b"L11*1Z999AA10123456784*2I"))
    assert _one(data).reference == "1Z999AA10123456784"


@pytest.mark.parametrize(
    ("old", "new", "segment", "element", "position", "reason"),
    [
        (b"AT7*D1*", b"AT7*ZZ*", "AT7", "AT701", 15, "shipment status 'ZZ'"),
        (b"AT7*D1*NS", b"AT7**NS", "AT7", "AT701", 15, "neither"),
        (b"*1230*LT", b"*1230*QQ", "AT7", "AT707", 15, "time code 'QQ'"),
        (b"***20160726*1230", b"******1230", "AT7", "AT705", 15, "date is missing"),
        (b"B10*1751807*", b"B10**", "B10", "B1001", 4, "carrier's reference"),
        (b"AT7*D1*NS***20160726*1230*LT", b"AT7***AB*BK*20160726*1230*LT", "AT7", None, 4, "no AT7 with"),
    ],
)
def test_broken_214_names_segment_and_reason(
    old: bytes, new: bytes, segment: str, element: str | None, position: int, reason: str
) -> None:
    error = _error(_edit(STATUS_214, (old, new)))
    assert (error.set_id, error.segment, error.element, error.position) == ("214", segment, element, position)
    assert reason in error.reason


# ------------------------------------------------------------------------------------------------------ 997
def test_997_from_a_partner_is_its_verdict_on_our_group() -> None:
    mapped = _one(ACK_997)
    assert (mapped.set_id, mapped.kind, mapped.reference) == ("997", "functional_ack", "000001")  # AK102
    ack = mapped.request
    assert isinstance(ack, FunctionalAck)
    # AK1*HC*000001, AK2*837*0021, AK3*NM1*8**8, AK4*8*66*7*MI, AK5*R*5, AK9*R*1*1*0.
    assert (ack.functional_id, ack.group_control_number, ack.version, ack.status, ack.code) == (
        "HC",
        "000001",
        None,
        "rejected",
        "R",
    )
    assert (ack.sets_included, ack.sets_received, ack.sets_accepted, ack.codes) == (1, 1, 0, [])
    [one] = ack.sets
    assert (one.set_id, one.control_number, one.status, one.code, one.codes) == ("837", "0021", "rejected", "R", ["5"])
    assert one.errors == [
        "segment NM1 at position 8: segment has data element errors (8)",
        "element 8 (data element 66): invalid code value (7): 'MI'",
    ]
    assert ack.detail() == (
        "AK9 R; 837 0021: AK5 R (5); segment NM1 at position 8: segment has data element errors (8); "
        "element 8 (data element 66): invalid code value (7): 'MI'"
    )


def test_997_every_interchange_of_a_file() -> None:
    mapped = to_canonical(read((X12 / "997_staedi_multiple-interchanges.edi").read_bytes()))
    assert [(m.kind, m.reference, getattr(m.request, "status", None)) for m in mapped] == [
        ("functional_ack", "000001", "rejected")
    ] * 3


def test_997_accepted_with_errors_and_release_005010() -> None:
    data = _edit(
        ACK_997,
        (b"AK1*HC*000001", b"AK1*PO*000001*005010"),
        (b"AK5*R*5", b"AK5*E"),
        (b"AK9*R*1*1*0", b"AK9*E*1*1*1"),
    )
    ack = _one(data).request
    assert isinstance(ack, FunctionalAck)
    assert (ack.functional_id, ack.version, ack.status, ack.code, ack.sets_accepted) == (
        "PO",
        "005010",
        "accepted",
        "E",
        1,
    )
    assert [(s.status, s.code, s.codes) for s in ack.sets] == [("accepted", "E", [])]
    partial = _one(_edit(ACK_997, (b"AK9*R*1*1*0", b"AK9*P*2*2*1"))).request
    assert isinstance(partial, FunctionalAck) and partial.status == "partially_accepted"


@pytest.mark.parametrize(
    ("old", "new", "segment", "element", "position", "reason"),
    [
        (b"AK9*R*", b"AK9*Q*", "AK9", "AK901", 9, "'Q'"),
        (b"AK5*R*5", b"AK5*Q*5", "AK5", "AK501", 8, "'Q'"),
        (b"AK5*R*5", b"AK3*NM1*9**8", "AK2", None, 5, "no AK5"),
        (b"AK1*HC*000001", b"AK1*HC", "AK1", "AK102", 4, "group control number"),
    ],
)
def test_broken_997_names_segment_and_reason(
    old: bytes, new: bytes, segment: str, element: str | None, position: int, reason: str
) -> None:
    error = _error(_edit(ACK_997, (old, new)))
    assert (error.set_id, error.segment, error.element, error.position) == ("997", segment, element, position)
    assert reason in error.reason


def test_cli_to_canonical_new_sets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["edi", "to-canonical", str(SAMPLES / "945_shipping_advice.edi")]) == 0
    [entry] = json.loads(capsys.readouterr().out)["sets"]
    assert (entry["kind"], entry["reference"], entry["request"]["picked_at"]) == (
        "shipping_advice",
        "ORD-1001",
        "2024-03-16T17:30:00Z",
    )
    assert main(["edi", "to-canonical", str(X12 / "997_staedi_simple997.edi")]) == 0
    [entry] = json.loads(capsys.readouterr().out)["sets"]
    assert (entry["kind"], entry["request"]["status"], entry["request"]["sets"][0]["codes"]) == (
        "functional_ack",
        "rejected",
        ["5"],
    )
    assert main(["edi", "to-canonical", str(SAMPLES / "846_inventory_advice.edi")]) == 0
    assert json.loads(capsys.readouterr().out)["sets"][0]["request"]["sequence"] == 20240315060000
