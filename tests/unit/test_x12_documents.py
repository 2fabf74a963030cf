"""Outbound 850 and 940 (shared/adapters/x12/documents.py): what is written reads back through the reader with no
envelope errors, the 850 maps back through `to_canonical` to the same lines, the 940's values sit at their
segments, and each partner profile's ids, versions, delimiters, test flag and line breaks are the ones used."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters.x12 import Interchange, Party, Separators, read
from shared.adapters.x12.canonical import to_canonical
from shared.adapters.x12.documents import DocumentError, order_release_940, purchase_order_850
from shared.api.order_models import OrderRequest
from shared.canonical.fulfillment import OrderReleased
from shared.canonical.partner import EdiSettings
from shared.canonical.purchasing import PurchaseOrder

WHEN = datetime(2026, 3, 2, 14, 7, tzinfo=UTC)
NUMBERS = {"interchange": 41, "group": 7, "set_": 3}


def profile(**overrides: Any) -> EdiSettings:
    data: dict[str, Any] = {
        "isa_qualifier": "01",
        "isa_id": "123456789",
        "gs_id": "ACMESUPPLY",
        "outbound_sets": ["850"],
    }
    return EdiSettings.model_validate({**data, **overrides})


def purchase_order(**overrides: Any) -> PurchaseOrder:
    data: dict[str, Any] = {
        "po_number": "PO-1001",
        "revision": 2,
        "supplier_id": "SUP-01JACME000000000000000000",
        "supplier_reference": "V-100",
        "location": "DC-EAST",
        "currency": "USD",
        "sent_at": datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC),
        "erp_reference": "ERP-77",
        "lines": [
            {
                "line": 1,
                "sku": "SKU-1",
                "quantity": 120,
                "unit_price": Decimal("4.250"),
                "requested_date": "2026-03-20",
            },
            {
                "line": 3,
                "sku": "CHAIR/BLUE.2",
                "quantity": 7,
                "unit_price": Decimal("10"),
                "requested_date": "2026-03-27",
            },
            {"line": 4, "sku": "SKU-4", "quantity": 1, "requested_date": "2026-03-27"},
        ],
    }
    return PurchaseOrder.model_validate({**data, **overrides})


def release(**overrides: Any) -> OrderReleased:
    data: dict[str, Any] = {
        "order_id": "SO-2001",
        "location": "DC-EAST",
        "lines": [{"line": 2, "sku": "SKU-2", "quantity": 5}, {"line": 5, "sku": "SKU-5", "quantity": 12}],
        "ship_to": {
            "name": "Ann Lee",
            "company": "Lee*Sons ~ Hardware",
            "address1": "12 Harbour Road",
            "address2": "Unit 4",
            "city": "Boston",
            "region": "MA",
            "postal_code": "02110",
            "country": "US",
        },
        "requested_date": "2026-03-03",
        "deliver_by": "2026-03-06",
        "customer_ref": "#1042",
        "callback": "https://api.example/v1/orders/SO-2001/pick-complete",
    }
    return OrderReleased.model_validate({**data, **overrides})


def only_set(text: str) -> tuple[Interchange, list[list[str]]]:
    result = read(text.encode())
    assert result.errors == []
    [interchange] = result.interchanges
    [group] = interchange.groups
    [tx] = group.transactions
    return interchange, tx.segments


def segments_of(segments: list[list[str]], seg_id: str) -> list[list[str]]:
    return [s for s in segments if s[0] == seg_id]


# --------------------------------------------------------------------------------------------------- 850
def test_850_reads_back_and_maps_to_the_same_lines() -> None:
    text = purchase_order_850(purchase_order(), profile(), when=WHEN, **NUMBERS)
    interchange, _ = only_set(text)
    assert interchange.control_number == "000000041" and interchange.version == "00401" and not interchange.test
    assert interchange.sender == Party("ZZ", "DISTROSYNC") and interchange.receiver == Party("01", "123456789")
    group = interchange.groups[0]
    assert (group.functional_id, group.sender, group.receiver, int(group.control_number), group.version) == (
        "PO",
        "DISTROSYNC",
        "ACMESUPPLY",
        7,
        "004010",
    )
    assert (group.transactions[0].set_id, group.transactions[0].control_number) == ("850", "0003")
    assert "\nGS*PO*DISTROSYNC*ACMESUPPLY*20260302*1407*000000007*X*004010~\n" in text  # GS04/05: when written

    [mapped] = to_canonical(read(text.encode()), location="DC-EAST")
    assert mapped.ok and mapped.reference == "PO-1001"
    order = mapped.request
    assert isinstance(order, OrderRequest)
    assert order.placed_at == datetime(2026, 3, 2, tzinfo=UTC) and order.currency == "USD"
    got = [(x.line, x.sku, x.quantity, x.unit, x.requested_date, x.unit_price) for x in order.lines]
    assert got == [
        (1, "SKU-1", 120, "each", date(2026, 3, 20), "4.25"),
        (3, "CHAIR/BLUE.2", 7, "each", date(2026, 3, 27), "10"),
        (4, "SKU-4", 1, "each", date(2026, 3, 27), None),
    ]


def test_850_header_references_and_totals() -> None:
    _, segments = only_set(purchase_order_850(purchase_order(), profile(), when=WHEN, **NUMBERS))
    assert segments[0] == ["BEG", "00", "SA", "PO-1001", "", "20260302"]
    assert segments_of(segments, "CUR") == [["CUR", "BY", "USD"]]
    assert segments_of(segments, "REF") == [["REF", "IA", "V-100"], ["REF", "IL", "ERP-77"]]
    assert segments_of(segments, "N1") == [["N1", "ST", "", "92", "DC-EAST"]]
    assert segments_of(segments, "PO1")[0] == ["PO1", "1", "120", "EA", "4.25", "PE", "SK", "SKU-1"]
    assert segments_of(segments, "PO1")[2] == ["PO1", "4", "1", "EA", "", "", "SK", "SKU-4"]
    assert segments_of(segments, "DTM") == [
        ["DTM", "004", "20260302", "093015", "UT"],
        ["DTM", "002", "20260320"],
        ["DTM", "002", "20260327"],
        ["DTM", "002", "20260327"],
    ]
    assert segments[-1] == ["CTT", "3", "128"]


def test_850_optional_references_that_cannot_be_written_are_left_out() -> None:
    po = purchase_order(currency=None, erp_reference="PO-1001", supplier_reference="V" * 31)
    _, segments = only_set(purchase_order_850(po, profile(), when=WHEN, **NUMBERS))
    assert segments_of(segments, "REF") == [] and segments_of(segments, "CUR") == []


def test_profile_delimiters_version_test_flag_and_line_breaks() -> None:
    settings = profile(
        version="00501",
        gs_version="005010",
        element_separator="|",
        component_separator=":",
        segment_terminator="\x1c",
        repetition_separator="^",
        test=True,
        line_break=False,
        our_isa_qualifier="12",
        our_isa_id="5551234567",
        our_gs_id="DISTRO-HQ",
    )
    text = purchase_order_850(purchase_order(), settings, when=WHEN, **NUMBERS)
    assert "\n" not in text and text.startswith("ISA|00|          |00|          |12|5551234567     |01|")
    assert text[104:106] == ":\x1c" and text.split("|")[11] == "^"
    interchange, _ = only_set(text)
    assert interchange.separators == Separators("|", ":", "\x1c", "^")
    assert interchange.test and interchange.version == "00501" and interchange.groups[0].version == "005010"
    assert interchange.sender == Party("12", "5551234567") and interchange.groups[0].sender == "DISTRO-HQ"

    lines = purchase_order_850(purchase_order(), profile(), when=WHEN, **NUMBERS).split("\n")
    assert lines.pop() == "" and len(lines) == 19 and all(line.endswith("~") for line in lines)  # one segment a line


def test_releases_before_004010_write_two_digit_years() -> None:
    text = purchase_order_850(purchase_order(), profile(version="00304", gs_version="003040"), when=WHEN, **NUMBERS)
    _, segments = only_set(text)
    assert segments[0][5] == "260302" and segments_of(segments, "DTM")[1] == ["DTM", "002", "260320"]
    [mapped] = to_canonical(read(text.encode()), location="DC-EAST")
    assert isinstance(mapped.request, OrderRequest)
    assert [x.requested_date for x in mapped.request.lines] == [date(2026, 3, 20), date(2026, 3, 27), date(2026, 3, 27)]


def test_identifiers_that_do_not_fit_are_refused_naming_the_element() -> None:
    with pytest.raises(DocumentError, match="BEG03 'PO-1234567890123456789012'"):
        purchase_order_850(purchase_order(po_number="PO-1234567890123456789012"), profile(), when=WHEN, **NUMBERS)
    with pytest.raises(DocumentError, match=re.escape("PO107 'CHAIR/BLUE.2' contains one of the partner's delimiters")):
        purchase_order_850(purchase_order(), profile(component_separator="/"), when=WHEN, **NUMBERS)
    with pytest.raises(DocumentError, match="is cancelled"):
        purchase_order_850(purchase_order(status="cancelled"), profile(), when=WHEN, **NUMBERS)
    too_long = "marketplace-with-a-long-name.82098291194615450"  # 46 characters: past N903's 45
    with pytest.raises(DocumentError, match=re.escape(f"N902 '{too_long}' does not fit its 30 characters, nor N903")):
        order_release_940(release(order_id=too_long), profile(), when=WHEN, **NUMBERS)
    with pytest.raises(DocumentError, match="850 envelope: ISA13"):
        purchase_order_850(purchase_order(), profile(), when=WHEN, interchange=10**9, group=1, set_=1)


# --------------------------------------------------------------------------------------------------- 940
def test_940_values_at_their_segments() -> None:
    text = order_release_940(release(), profile(outbound_sets=["940"]), when=WHEN, **NUMBERS)
    interchange, segments = only_set(text)
    assert interchange.groups[0].functional_id == "OW" and interchange.groups[0].transactions[0].set_id == "940"
    assert segments == [
        ["W05", "N", "SO-2001", "#1042"],
        ["N1", "ST", "Lee Sons Hardware"],
        ["N2", "Ann Lee"],
        ["N3", "12 Harbour Road", "Unit 4"],
        ["N4", "Boston", "MA", "02110", "US"],
        ["N1", "SF", "", "91", "DC-EAST"],
        ["G62", "10", "20260303"],
        ["G62", "02", "20260306"],
        ["LX", "2"],
        ["W01", "5", "EA", "", "VN", "SKU-2"],
        ["LX", "5"],
        ["W01", "12", "EA", "", "VN", "SKU-5"],
        ["W76", "17"],
    ]


def test_940_without_ship_to_dates_or_a_writable_customer_reference() -> None:
    bare = release(ship_to=None, requested_date=None, deliver_by=None, customer_ref="R" * 23)
    _, segments = only_set(order_release_940(bare, profile(), when=WHEN, **NUMBERS))
    assert [s[0] for s in segments] == ["W05", "N1", "LX", "W01", "LX", "W01", "W76"]
    assert segments[0] == ["W05", "N", "SO-2001"]


def test_940_ship_to_text_is_cleaned_and_cut_and_odd_regions_left_out() -> None:
    ship_to = {"name": "Zoë Ng", "address1": "A" * 70, "city": "München", "region": "Bavaria", "country": "DE"}
    _, segments = only_set(order_release_940(release(ship_to=ship_to), profile(), when=WHEN, **NUMBERS))
    assert segments[1:4] == [["N1", "ST", "Zoë Ng"], ["N3", "A" * 55], ["N4", "München", "", "", "DE"]]
    with pytest.raises(DocumentError, match="N403"):
        order_release_940(release(ship_to={"postal_code": "1234567890123456"}), profile(), when=WHEN, **NUMBERS)
