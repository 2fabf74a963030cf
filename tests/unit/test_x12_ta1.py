"""What the gateway sends back when it refuses an interchange as a whole (docs/edi.md, "Gateway", step 3): a TA1, and
for a duplicate also a 997 rejecting every group; control numbers taken from the partner's allocation.

Everything written is read back with the reader and checked segment by segment, on corpus files as partners wrote
them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cli.corpus import CORPUS
from shared.adapters.x12 import Interchange, Party, Separators, read
from shared.adapters.x12.ack import (
    NOTE_DUPLICATE,
    NOTE_NO_ERROR,
    NOTE_RECEIVER,
    NOTE_RECEIVER_QUALIFIER,
    NOTE_SENDER,
    NOTE_SENDER_QUALIFIER,
    NOTE_TEST_INDICATOR,
    counting_from,
    from_numbers,
    numbers_needed,
    write_acks,
    write_ta1,
)

X12 = CORPUS / "x12"
WHEN = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
# ISA 000009221 from VENDOR to WAREHOUSE, 090902 0900, "\n" as terminator; GS OW 9221 (940 20066, 20067), 9222 (20068)
TWO_GROUPS = (X12 / "940_EdiEngine_AckTest.edi").read_bytes()
# ISA 000001337, 260127 1808, ISA15 T, "^" as component separator; GS PR 0001 (855 0001, 0002)
MULTI_TX = (X12 / "855_staedi_multi-tx.edi").read_bytes()


def _isa(sender: str, receiver: str, control: str, test: str, component: str) -> list[str]:
    """The ISA of a reply from `sender` back to `receiver` (both ZZ), written at WHEN in ISA12 00401."""
    blank = " " * 10
    parties = ["ZZ", sender.ljust(15), "ZZ", receiver.ljust(15)]
    return ["ISA", "00", blank, "00", blank, *parties, "261127", "0905", "U", "00401", control, "0", test, component]


def _segments(text: str, seps: Separators) -> list[list[str]]:
    """The text as written, split into segments and elements (the ISA16 stays as its last element)."""
    return [raw.strip("\r\n").split(seps.element) for raw in text.split(seps.segment) if raw.strip("\r\n")]


def _read_back(text: str) -> Interchange:
    """The one interchange in `text`, with no envelope error; its TA1 is kept on `acknowledgments`."""
    back = read(text.encode())
    assert back.errors == []
    (interchange,) = back.interchanges
    assert [segment[0] for segment in interchange.acknowledgments] == ["TA1"]
    return interchange


def test_a_duplicate_gets_a_ta1_025_and_a_997_rejecting_every_group_numbered_from_the_allocation():
    result = read(TWO_GROUPS)
    (ic,) = result.interchanges
    assert numbers_needed(ic, ta1=True) == (2, 2, 2)
    numbers = from_numbers([41, 42], [501, 502], [7001, 7002])  # as EdiStore.allocate hands them out

    ta1 = write_ta1(ic, NOTE_DUPLICATE, numbers, WHEN, interchange_date="090902", interchange_time="0900")
    assert _segments(ta1, ic.separators) == [
        _isa("WAREHOUSE", "VENDOR", "000000041", "P", ">"),
        ["TA1", "000009221", "090902", "0900", "R", "025"],
        ["IEA", "0", "000000041"],
    ]
    back = _read_back(ta1)
    assert (back.sender, back.receiver, back.control_number, back.groups) == (
        Party("ZZ", "WAREHOUSE"),
        Party("ZZ", "VENDOR"),
        "000000041",
        [],
    )
    assert back.separators == ic.separators  # "\n" as terminator, like the file it answers

    acks = write_acks(result, numbers, WHEN, interchange=ic, duplicate=True)
    back = read(acks.encode())
    assert back.errors == []
    (reply,) = back.interchanges
    assert (reply.sender, reply.receiver, reply.control_number, reply.version, reply.test) == (
        Party("ZZ", "WAREHOUSE"),
        Party("ZZ", "VENDOR"),
        "000000042",
        "00401",
        False,
    )
    assert [(g.functional_id, g.sender, g.receiver, g.control_number, g.version) for g in reply.groups] == [
        ("FA", "WAREHOUSE", "VENDOR", "000000501", "004010"),
        ("FA", "WAREHOUSE", "VENDOR", "000000502", "004010"),
    ]
    assert [(t.set_id, t.control_number, t.segments) for g in reply.groups for t in g.transactions] == [
        (
            "997",
            "7001",
            [
                ["AK1", "OW", "9221"],
                ["AK2", "940", "20066"],
                ["AK5", "R"],
                ["AK2", "940", "20067"],
                ["AK5", "R"],
                ["AK9", "R", "2", "2", "0"],
            ],
        ),
        ("997", "7002", [["AK1", "OW", "9222"], ["AK2", "940", "20068"], ["AK5", "R"], ["AK9", "R", "1", "1", "0"]]),
    ]
    with pytest.raises(ValueError, match="asked for ISA control number 3 but only 2 were allocated"):
        numbers("ISA")


@pytest.mark.parametrize(
    ("old", "new", "ak5", "ak9"),
    [
        (b"SE*3*0002", b"SE*5*0002", [["R"], ["R", "4"]], ["R", "2", "2", "0"]),  # a lying SE keeps its 4
        (b"GE*2*0001", b"GE*3*0001", [["R"], ["R"]], ["R", "3", "2", "0", "5"]),  # a lying GE keeps its 5
    ],
)
def test_a_duplicates_997_keeps_the_codes_of_its_envelope_errors(old: bytes, new: bytes, ak5: list, ak9: list):
    data = MULTI_TX.replace(old, new, 1)
    assert data != MULTI_TX
    text = write_acks(read(data), counting_from(1), WHEN, duplicate=True)
    back = read(text.encode())
    assert back.errors == []
    ((body,),) = [[t.segments for g in i.groups for t in g.transactions] for i in back.interchanges]
    assert body == [
        ["AK1", "PR", "0001"],
        ["AK2", "855", "0001"],
        ["AK5", *ak5[0]],
        ["AK2", "855", "0002"],
        ["AK5", *ak5[1]],
        ["AK9", *ak9],
    ]


@pytest.mark.parametrize(
    "note",
    [NOTE_SENDER_QUALIFIER, NOTE_SENDER, NOTE_RECEIVER_QUALIFIER, NOTE_RECEIVER, NOTE_TEST_INDICATOR],
)
def test_an_interchange_refused_for_its_envelope_gets_a_ta1_only(note: str):
    (ic,) = read(MULTI_TX).interchanges
    assert numbers_needed(ic, acks=False, ta1=True) == (1, 0, 0)
    text = write_ta1(
        ic, note, from_numbers([900], [], []), WHEN, interchange_date="260127", interchange_time="1808", line_break="\n"
    )
    assert text.endswith("~\n")  # one segment a line for people
    assert _segments(text, ic.separators) == [
        _isa("ALEXANDRE0JACOB", "ALEXANDRE0JACOB", "000000900", "T", "^"),  # ISA15 T kept, ISA14 0
        ["TA1", "000001337", "260127", "1808", "R", note],
        ["IEA", "0", "000000900"],
    ]
    back = _read_back(text)
    assert (back.control_number, back.test, back.version, back.separators) == (
        "000000900",
        True,
        "00401",
        ic.separators,
    )


def test_an_accepting_ta1_and_what_a_ta1_refuses():
    (ic,) = read(MULTI_TX).interchanges
    text = write_ta1(
        ic, NOTE_NO_ERROR, counting_from(5), WHEN, status="A", interchange_date="260127", interchange_time="1808"
    )
    assert _segments(text, ic.separators)[1] == ["TA1", "000001337", "260127", "1808", "A", "000"]
    when = {"interchange_date": "260127", "interchange_time": "1808"}
    with pytest.raises(ValueError, match="TA104 'X' is not one of A, E, R"):
        write_ta1(ic, NOTE_DUPLICATE, counting_from(1), WHEN, status="X", **when)
    with pytest.raises(ValueError, match="TA105 '25' is not an X12 element I18 code"):
        write_ta1(ic, "25", counting_from(1), WHEN, **when)
    with pytest.raises(ValueError, match="TA104 A does not go with TA105 025"):
        write_ta1(ic, NOTE_DUPLICATE, counting_from(1), WHEN, status="A", **when)
    with pytest.raises(ValueError, match="TA104 R does not go with TA105 000"):
        write_ta1(ic, NOTE_NO_ERROR, counting_from(1), WHEN, **when)
    with pytest.raises(ValueError, match="TA102 needs the inbound ISA09 as YYMMDD"):
        write_ta1(ic, NOTE_DUPLICATE, counting_from(1), WHEN, interchange_date="20260127", interchange_time="1808")
    with pytest.raises(ValueError, match="TA103 needs the inbound ISA10 as HHMM"):
        write_ta1(ic, NOTE_DUPLICATE, counting_from(1), WHEN, interchange_date="260127", interchange_time="180800")


def test_an_interchange_without_groups_needs_no_997_numbers():
    (ic,) = read(MULTI_TX).interchanges
    empty = Interchange(ic.control_number, ic.sender, ic.receiver, ic.version, ic.separators, ic.test, ic.position)
    assert numbers_needed(empty) == (0, 0, 0)
    assert numbers_needed(empty, ta1=True) == (1, 0, 0)
    assert numbers_needed(ic, ta1=True) == (2, 1, 1)


def test_numbers_from_an_allocation_come_in_order_and_run_out():
    numbers = from_numbers([999_999_999, 1], [12], [])
    assert [numbers("ISA"), numbers("GS"), numbers("ISA")] == [999_999_999, 12, 1]  # a wrapped sequence stays in order
    with pytest.raises(ValueError, match="asked for ST control number 1 but only 0 were allocated"):
        numbers("ST")
    with pytest.raises(ValueError, match="asked for GS control number 2 but only 1 were allocated"):
        numbers("GS")
    with pytest.raises(ValueError, match="unknown control number kind 'GE'"):
        numbers("GE")
    # what write_acks consumes is exactly what numbers_needed asked for: nothing left over, nothing missing
    result = read(TWO_GROUPS)
    (ic,) = result.interchanges
    isa, gs, st = numbers_needed(ic)
    exact = from_numbers(list(range(1, isa + 1)), list(range(1, gs + 1)), list(range(1, st + 1)))
    assert write_acks(result, exact, WHEN, interchange=ic)
    for kind in ("ISA", "GS", "ST"):
        with pytest.raises(ValueError, match="were allocated"):
            exact(kind)
