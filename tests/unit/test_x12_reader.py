"""The X12 reader on the corpus files as partners and EDI tools wrote them (../shared/corpus/x12), on hand-made
variants of one of them that break one envelope rule each, and `distrosync edi parse` through its entry point.

Expected values are read off the files and kept in tests/unit/x12_corpus.py (shared with the bench), not computed."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from shared.adapters.x12 import ERROR_KINDS, read
from tests.unit.x12_corpus import EXPECTED, GROUP_STAMPS, MALFORMED, X12, shape

MULTI_TX = (X12 / "855_staedi_multi-tx.edi").read_bytes()


def _shape(data: bytes) -> list[tuple]:
    result = read(data)
    assert result.errors == []
    return shape(result)


def test_every_corpus_file_is_read_or_refused_and_none_is_left_out():
    assert sorted([*EXPECTED, MALFORMED]) == sorted(p.name for p in X12.iterdir())
    for name, expected in EXPECTED.items():
        assert _shape((X12 / name).read_bytes()) == expected, name


def test_segments_keep_their_elements_and_the_wrapped_isa_and_bom_read_like_the_plain_file():
    plain = read((X12 / "214_EDI.Net_MGCTLYST-SAMPLE.EDI").read_bytes())
    wrapped = read((X12 / "214_EDI.Net_x12.214.edi").read_bytes())
    assert wrapped.to_dict() == plain.to_dict()
    ic = wrapped.interchanges[0]
    assert (ic.receiver.qualifier, ic.receiver.id, ic.test) == ("ZZ", "MGCTLYST", True)
    assert (ic.separators.element, ic.separators.component, ic.separators.segment) == ("*", ">", "~")
    tx = ic.groups[0].transactions[0]
    assert len(tx.segments) == 14 and tx.segments[0][0] == "B10"
    five = read((X12 / "997_staedi_simple997.edi").read_bytes()).interchanges[0]
    assert (five.separators.repetition, five.separators.component) == ("^", ":")


def test_the_missing_isa16_is_refused_with_a_sentence_not_a_stack_trace():
    result = read((X12 / MALFORMED).read_bytes())
    assert result.interchanges == []
    [error] = result.errors
    assert error.kind == "isa_malformed" and error.segment == 1
    assert "ISA16 (the component separator) is missing" in error.message and "'~'" in error.message


@pytest.mark.parametrize(
    ("element", "terminator", "line_break"),
    [("|", "~", "\r\n"), ("~", "'", ""), ("\x7f", "\x15", "\n"), ("\x1d", "\x1c", "")],
)
def test_any_declared_delimiters_read_the_same(element: str, terminator: str, line_break: str):
    text = MULTI_TX.decode().replace("~\n", "\x00").replace("*", element).replace("\x00", terminator + line_break)
    assert _shape(text.encode()) == EXPECTED["855_staedi_multi-tx.edi"]


def test_interchanges_with_different_delimiters_follow_one_another():
    other = MULTI_TX.decode().replace("~\n", "\x1c").replace("*", "|").encode()
    assert _shape(MULTI_TX + other) == EXPECTED["855_staedi_multi-tx.edi"] * 2


# Segments of 855_staedi_multi-tx.edi: 1 ISA, 2 GS, 3 ST 0001, 4 BAK, 5 SE, 6 ST 0002, 7 BAK, 8 SE, 9 GE, 10 IEA.
# Each variant: the bytes changed, every error expected (kind, ISA13, GS06, ST02, segment position), in order.
@pytest.mark.parametrize(
    ("old", "new", "errors"),
    [
        (b"SE*3*0002", b"SE*4*0002", [("se_segment_count", "000001337", "0001", "0002", 8)]),
        (b"SE*3*0002", b"SE*3*0003", [("se_control_number", "000001337", "0001", "0002", 8)]),
        (b"GE*2*0001", b"GE*3*0001", [("ge_transaction_count", "000001337", "0001", None, 9)]),
        (b"GE*2*0001", b"GE*2*0002", [("ge_control_number", "000001337", "0001", None, 9)]),
        (b"SE*3*0002", "SE*\u00b2*0002".encode(), [("se_segment_count", "000001337", "0001", "0002", 8)]),
        (b"IEA*1*000001337", b"IEA*1*000001338", [("iea_control_number", "000001337", None, None, 10)]),
        (b"IEA*1*", b"IEA*2*", [("iea_group_count", "000001337", None, None, 10)]),
        (b"IEA*1*000001337~\n", b"", [("iea_missing", "000001337", None, None, 9)]),
        (b"SE*3*0001~\n", b"", [("se_missing", "000001337", "0001", "0001", 5)]),
        (b"GE*2*0001~\n", b"", [("ge_missing", "000001337", "0001", None, 9)]),
        (
            b"ST*855*0002~\n",
            b"",
            [
                ("segment_outside_envelope", "000001337", "0001", None, 6),
                ("segment_outside_envelope", "000001337", "0001", None, 7),
                ("ge_transaction_count", "000001337", "0001", None, 8),
            ],
        ),
    ],
)
def test_each_broken_envelope_rule_gives_its_own_error_and_says_where(old: bytes, new: bytes, errors: list[tuple]):
    assert old in MULTI_TX
    result = read(MULTI_TX.replace(old, new, 1))
    assert [(e.kind, e.interchange, e.group, e.transaction, e.segment) for e in result.errors] == errors
    assert all(e.kind in ERROR_KINDS and e.message for e in result.errors)


def test_groups_keep_gs04_gs05_and_the_ge01_their_sender_wrote():
    assert sorted(GROUP_STAMPS) == sorted(EXPECTED)
    for name, stamps in GROUP_STAMPS.items():
        result = read((X12 / name).read_bytes())
        assert [(g.date, g.time, g.claimed_count) for ic in result.interchanges for g in ic.groups] == stamps, name
    ic = read(MULTI_TX).interchanges[0]
    assert (ic.date, ic.time) == ("260127", "1808")  # ISA09, ISA10


@pytest.mark.parametrize(
    ("ge", "claimed", "errors"),
    [
        (b"GE*2*0001~\n", 2, []),
        (b"GE*0002*0001~\n", 2, []),
        (b"GE*3*0001~\n", 3, ["ge_transaction_count"]),
        (b"GE*0*0001~\n", 0, ["ge_transaction_count"]),
        (b"GE*two*0001~\n", None, ["ge_transaction_count"]),
        ("GE*\u00b2*0001~\n".encode(), None, ["ge_transaction_count"]),  # a digit to str.isdigit, not to int()
        (b"GE~\n", None, ["ge_transaction_count", "ge_control_number"]),
        (b"", None, ["ge_missing"]),
    ],
)
def test_a_lying_ge_keeps_its_claimed_count(ge: bytes, claimed: int | None, errors: list[str]):
    result = read(MULTI_TX.replace(b"GE*2*0001~\n", ge, 1))
    [group] = result.interchanges[0].groups
    assert (group.claimed_count, len(group.transactions)) == (claimed, 2)
    assert [e.kind for e in result.errors] == errors


def test_a_cut_or_garbled_file_never_raises():
    for end in range(len(MULTI_TX)):
        result = read(MULTI_TX[:end])
        assert result.errors or end >= MULTI_TX.index(b"IEA") + 15
    assert read(b"").errors[0].kind == "no_interchange"
    stray, cut = read(b"hello\nISA*00").errors
    assert (stray.kind, stray.segment, cut.kind, cut.segment) == ("segment_outside_envelope", 1, "isa_malformed", 2)


def test_edi_parse_through_the_cli(capsys):
    assert main(["edi", "parse", str(X12 / "810+850_staedi_invoice810_po850_dual.edi"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "interchanges": [
            {
                "control_number": "000000020",
                "sender": {"qualifier": "ZZ", "id": "SENDERISA"},
                "receiver": {"qualifier": "ZZ", "id": "RECEIVERISA"},
                "version": "00401",
                "groups": [
                    {
                        "functional_id": "IN",
                        "version": "004010",
                        "control_number": "1",
                        "transactions": [
                            {"set_id": "810", "control_number": "000000001", "segment_count": 32},
                            {"set_id": "810", "control_number": "000000002", "segment_count": 22},
                        ],
                    },
                    {
                        "functional_id": "PO",
                        "version": "003010",
                        "control_number": "165",
                        "transactions": [{"set_id": "850", "control_number": "000191240", "segment_count": 17}],
                    },
                ],
            }
        ],
        "errors": [],
    }
    assert main(["edi", "parse", str(X12 / MALFORMED)]) == 1
    out = capsys.readouterr().out
    assert "0 interchange(s), 1 envelope error(s)" in out and "isa_malformed (segment 1)" in out
