"""Inbound X12 sets -> the API's request models (shared/adapters/x12/canonical.py), on the corpus files as
partners wrote them, on hand-made broken copies, and once through `distrosync edi to-canonical`.

Every expected value below is read off the files (BAK, PO1/ACK/SCH, BSN, HL, PRF, TD5, REF, DTM, MAN, SN1)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cli.corpus import CORPUS
from cli.main import main
from shared.adapters.x12 import read
from shared.adapters.x12.canonical import Mapped, MappingError, to_canonical
from shared.api.order_models import OrderRequest
from shared.api.purchasing_models import AcknowledgmentRequest, ShipNoticeRequest

X12 = CORPUS / "x12"
ACK_855 = (X12 / "855_node-x12_855.edi").read_bytes()
ASN_856 = (X12 / "856_node-x12_856.edi").read_bytes()
CROSSDOCK_856 = (X12 / "856_EdiEngine_Crossdock.edi").read_bytes()


def _one(data: bytes) -> Mapped:
    result = read(data)
    mapped = to_canonical(result)
    assert len(mapped) == 1
    return mapped[0]


def _error(data: bytes) -> MappingError:
    mapped = _one(data)
    assert isinstance(mapped.request, MappingError), mapped.request
    return mapped.request


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
        ("810", "000000001", False),
        ("810", "000000002", False),
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
    error = _error((X12 / "997_staedi_simple997.edi").read_bytes())
    assert (error.set_id, error.segment, error.element) == ("997", "ST", "ST01")


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
