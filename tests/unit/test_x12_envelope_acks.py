"""Envelope checks and acknowledgments other EDI tools expect (shared/adapters/x12/ack.py, canonical.py): GS02/GS03
against the profile's application ids (AK9 R 7/8), the TA1 for an IEA that lies or is missing (E 001/021, R 023),
and a 999 (implementation acknowledgment, 005010X231) read into the same `FunctionalAck` as a 997.

On the corpus 855 as its supplier wrote it (edited copies for the broken trailers) and on
events/x12/999_implementation_ack.edi (the corpus has no 999); every 997/TA1 written is read back with the reader."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.corpus import CORPUS
from shared.adapters.x12 import read
from shared.adapters.x12.ack import (
    INVALID_RECEIVER,
    INVALID_SENDER,
    NOTE_CONTROL_NUMBERS,
    NOTE_END_OF_FILE,
    NOTE_GROUP_COUNT,
    acknowledge,
    application_id_errors,
    counting_from,
    trailer_note,
    write_acks,
    write_ta1,
)
from shared.adapters.x12.canonical import FunctionalAck, Mapped, MappingError, to_canonical

WHEN = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
# ISA 000000005 ZZ:1556150 -> ZZ:123MILL, 201015 1534; GS PR 1556150 -> 123MILL, GS06 5; ST 855 0005
ACK_855 = (CORPUS / "x12" / "855_node-x12_855.edi").read_bytes()
MILL_IDS = ("1556150", "123MILL")  # the supplier's GS id, ours
SAMPLE_999 = (Path(__file__).resolve().parents[2] / "events" / "x12" / "999_implementation_ack.edi").read_bytes()


def _segments(text: str, segment: str) -> list[list[str]]:
    result = read(text.encode())
    assert result.errors == []
    return [
        s
        for ic in result.interchanges
        for g in ic.groups
        for tx in g.transactions
        for s in tx.segments
        if s[0] == segment
    ]


# --------------------------------------------------------------------------------------------- GS02 / GS03
@pytest.mark.parametrize(
    ("ids", "codes"),
    [
        (("1556151", "123MILL"), [INVALID_SENDER]),
        (("1556150", "DISTROSYNC"), [INVALID_RECEIVER]),
        (("OTHER", "OTHER"), [INVALID_SENDER, INVALID_RECEIVER]),
    ],
)
def test_a_group_from_or_to_another_application_is_rejected_whole_with_ak905_7_or_8(ids, codes):
    result = read(ACK_855)
    ((_, (verdict,)),) = acknowledge(result, application_ids=ids)
    assert (verdict.status, verdict.accepted, list(verdict.codes)) == ("R", 0, codes)

    text = write_acks(result, counting_from(1), WHEN, application_ids=ids)
    assert _segments(text, "AK9") == [["AK9", "R", "1", "1", "0", *codes]]
    assert _segments(text, "AK5") == [["AK5", "A"]]  # the set's own envelope is right; the group is refused


def test_the_profiles_application_ids_accept_the_group_and_the_sentences_name_the_element():
    result = read(ACK_855)
    ((_, (verdict,)),) = acknowledge(result, application_ids=MILL_IDS)
    assert (verdict.status, verdict.codes) == ("A", ())
    (group,) = result.interchanges[0].groups
    assert application_id_errors(group, MILL_IDS) == []
    assert application_id_errors(group, None) == []
    assert application_id_errors(group, ("1556150", "DISTROSYNC")) == [
        ("8", "GS03 (application receiver) of group 5 is '123MILL'; the partner's profile says 'DISTROSYNC' (AK9 R 8)")
    ]


# ------------------------------------------------------------------------------------------------------ IEA
@pytest.mark.parametrize(
    ("old", "new", "expected", "kinds"),
    [
        (b"IEA*1*000000005", b"IEA*1*000000006", ("E", NOTE_CONTROL_NUMBERS), ["iea_control_number"]),
        (b"IEA*1*000000005", b"IEA*2*000000005", ("E", NOTE_GROUP_COUNT), ["iea_group_count"]),
        (b"IEA*1*000000005~\n", b"", ("R", NOTE_END_OF_FILE), ["iea_missing"]),
        (b"IEA*1*000000005", b"IEA*0*000000006", ("E", NOTE_GROUP_COUNT), ["iea_group_count", "iea_control_number"]),
    ],
)
def test_an_iea_that_lies_is_a_ta1_e_and_one_that_is_missing_a_ta1_r(old, new, expected, kinds):
    assert ACK_855.count(old) == 1
    result = read(ACK_855.replace(old, new))
    found = trailer_note(result.errors)
    assert found is not None
    status, note, errors = found
    assert ((status, note), sorted(e.kind for e in errors)) == (expected, sorted(kinds))

    (ic,) = result.interchanges
    back = read(write_ta1(ic, note, counting_from(7), WHEN, status=status).encode())
    assert back.errors == []
    ((ta1,),) = [i.acknowledgments for i in back.interchanges]
    assert ta1 == ["TA1", "000000005", "201015", "1534", status, note]


def test_a_missing_iea_is_r_before_any_e_and_a_right_iea_needs_no_ta1():
    assert trailer_note(read(ACK_855).errors) is None
    # two interchanges: the first without its IEA (reported where the second ISA starts), the second's IEA lying
    first = ACK_855[: ACK_855.index(b"IEA")]
    second = ACK_855.replace(b"000000005", b"000000009").replace(b"IEA*1*", b"IEA*3*")
    result = read(first + second)
    status, note, errors = trailer_note(result.errors) or ("", "", [])
    assert (status, note, [e.kind for e in errors]) == ("R", NOTE_END_OF_FILE, ["iea_missing", "iea_group_count"])


# ------------------------------------------------------------------------------------------------------ 999
def _acks(data: bytes) -> list[Mapped]:
    result = read(data)
    assert result.errors == []
    return to_canonical(result)


def test_a_999_is_read_like_a_997_into_the_verdict_on_each_group_we_sent():
    accepted, rejected = _acks(SAMPLE_999)
    assert [(m.set_id, m.control_number, m.kind, m.reference) for m in (accepted, rejected)] == [
        ("999", "7310", "functional_ack", "1"),  # AK102: the GS06 of our 850 group
        ("999", "7311", "functional_ack", "2"),
    ]
    first, second = accepted.request, rejected.request
    assert isinstance(first, FunctionalAck) and isinstance(second, FunctionalAck)
    assert (first.acknowledgment, first.functional_id, first.version, first.status, first.code) == (
        "999",
        "PO",
        "005010",
        "accepted",
        "A",
    )
    assert [(s.set_id, s.control_number, s.status, s.codes, s.errors) for s in first.sets] == [
        ("850", "0001", "accepted", [], [])
    ]
    assert (second.status, second.code, second.sets_included, second.sets_received, second.sets_accepted) == (
        "rejected",
        "R",
        1,
        1,
        0,
    )
    (refused,) = second.sets
    assert (refused.status, refused.code, refused.codes) == ("rejected", "R", ["I5"])  # IK502 (element 618)
    assert refused.errors == [
        "segment PO1 at position 8: segment has data element errors (8) (context: BEG03 PO-GAMMA-2)",
        "element 3 (data element 355): invalid code value (7): 'BX'",
    ]
    assert second.detail() == (
        "AK9 R; 850 0001: IK5 R (I5); segment PO1 at position 8: segment has data element errors (8) "
        "(context: BEG03 PO-GAMMA-2); element 3 (data element 355): invalid code value (7): 'BX'"
    )


def test_a_999s_implementation_codes_and_composite_positions_are_named():
    data = SAMPLE_999.replace(b"IK3*PO1*8**8", b"IK3*PO1*8**I6").replace(b"IK4*3*355*7*BX", b"IK4*6:2*235*I12*X")
    (_, rejected) = _acks(data)
    assert isinstance(rejected.request, FunctionalAck)
    assert rejected.request.sets[0].errors == [
        "segment PO1 at position 8: implementation dependent segment missing (I6) (context: BEG03 PO-GAMMA-2)",
        "element 6, component 2 (data element 235): implementation pattern match failure (I12): 'X'",
    ]


@pytest.mark.parametrize(
    ("old", "new", "segment", "element", "reason"),
    [
        (b"IK5*R*I5", b"IK5*Q*I5", "IK5", "IK501", "'Q'"),
        (b"IK5*R*I5", b"AK5*R*I5", "AK2", None, "no IK5"),  # a 997's trailer is not a 999's
        (b"AK9*R*", b"AK9*Q*", "AK9", "AK901", "'Q'"),
    ],
)
def test_a_broken_999_names_segment_and_reason(old, new, segment, element, reason):
    (_, broken) = _acks(SAMPLE_999.replace(old, new))
    error = broken.request
    assert isinstance(error, MappingError)
    assert (error.set_id, error.control_number, error.segment, error.element) == ("999", "7311", segment, element)
    assert reason in error.reason
