"""The X12 reader on the corpus files as partners and EDI tools wrote them (../shared/corpus/x12), on hand-made
variants of one of them that break one envelope rule each, and `distrosync edi parse` through its entry point.

Expected values are read off the files and kept in tests/unit/x12_corpus.py (shared with the bench), not computed.

The reader reads an interchange in one go when it can and segment by segment when something is off (see its
docstring); the tests at the end read every file, every cut of one and a few hundred mangled ones both ways and
require the same result, down to each segment's elements and each error's position."""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from cli.main import main
from shared.adapters.x12 import ERROR_KINDS, ParseResult, read
from shared.adapters.x12 import reader as x12_reader
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


# -------------------------------------------------------------------------------------- one go or segment by segment
def _everything(result: ParseResult) -> dict[str, Any]:
    """All the reader returns: every field of every interchange, group, set (with its segments) and error."""
    return dataclasses.asdict(result)


@pytest.fixture
def both_ways(monkeypatch: pytest.MonkeyPatch) -> Callable[[bytes], tuple[dict, dict, bool]]:
    """`read(data)` as it is and with the one-go way stood down: (as read, segment by segment, whether every
    interchange of `data` was read in one go)."""
    one_go: list[bool] = []
    fast = x12_reader._Reader._read_fast

    def spy(self: Any, ic: Any, pos: int) -> int | None:
        end = fast(self, ic, pos)
        one_go.append(end is not None)
        return end

    def run(data: bytes) -> tuple[dict, dict, bool]:
        one_go.clear()
        with monkeypatch.context() as m:
            m.setattr(x12_reader._Reader, "_read_fast", spy)
            as_read = _everything(read(data))
        went = all(one_go)
        with monkeypatch.context() as m:
            m.setattr(x12_reader._Reader, "_read_fast", lambda self, ic, pos: None)
            return as_read, _everything(read(data)), went

    return run


def test_every_corpus_file_is_read_in_one_go_and_as_segment_by_segment(both_ways):
    for name in EXPECTED:
        as_read, exact, went = both_ways((X12 / name).read_bytes())
        assert went, f"{name} was not read in one go"
        assert as_read == exact, name


MULTI_TEXT = MULTI_TX.decode()
CANADAPOST = (X12 / "214_omniparser_canadapost.edi").read_bytes()  # LF is its terminator


@pytest.mark.parametrize(
    ("variant", "one_go"),
    [
        (MULTI_TEXT.replace("~\n", "~\r\n"), True),
        (MULTI_TEXT.replace("~\n", "~"), True),
        (MULTI_TEXT.replace("~\n", "~\r"), True),
        (MULTI_TEXT.replace("~\n", "~\r\n", 4), True),  # CR LF after some terminators, LF after the others
        (MULTI_TEXT.replace("~\n", "~\n\n"), True),
        (MULTI_TEXT.replace("~\n", "\n~"), True),  # line breaks before the terminators
        (MULTI_TEXT.replace("BAK*54", "BAK*5\n4"), True),  # one inside a segment: kept in its element
        (MULTI_TEXT.replace("~\n", "~~\n"), True),  # empty segments
        (MULTI_TEXT.replace("ORDER1", "VISA*ISA").replace("AC*", "AC*IEA*"), True),  # the tags inside elements
        (MULTI_TEXT.replace("BAK*54", "ISAX~ISA~BAK*54"), False),  # segments whose tag begins with ISA
        (MULTI_TEXT.replace("IEA*1*000001337", "IEA"), False),  # an IEA with nothing after it
        (MULTI_TEXT.replace("~\nGE", "~\nIEA~\nGE"), False),  # a bare IEA inside the group, the real one after
        (MULTI_TEXT.replace("IEA*1*000001337~\n", "") + MULTI_TEXT, False),  # no IEA: the next ISA comes
        (MULTI_TEXT.replace("IEA*1*000001337~\n", ""), True),  # no IEA: the data ends
        (MULTI_TEXT.replace("IEA*1*000001337~\n", "IEA*1*000001337"), True),  # the last terminator missing
        (MULTI_TEXT + "trailing words", True),
        (MULTI_TEXT.replace("ST*855*0002~\n", "SE*1*9~\nN1*ST~\nN1*BT~\n"), True),  # an SE, segments, no ST
        (MULTI_TEXT.replace("GS*", "ST*1*2~\nREF*1~\nGS*"), True),  # a set before the group
        (MULTI_TEXT.replace("GE*2*0001~\n", "GS*PR*A*B*20260127*1808*0002*X*004010~\n"), True),  # GS, no GE
        (MULTI_TEXT.replace("IEA*1*", "GS*PR*A*B*20260127*1808*0002*X*004010~\nGE*0*0002~\nIEA*2*"), True),
        (CANADAPOST.decode().replace("\n", "\r\n"), True),  # CR before each LF terminator
        (CANADAPOST.decode().replace("\n", "\r\n", 30), True),  # ... before some
    ],
)
def test_line_breaks_stray_tags_and_broken_envelopes_read_the_same_both_ways(both_ways, variant: str, one_go: bool):
    as_read, exact, went = both_ways(variant.encode())
    assert as_read == exact
    assert went is one_go


def test_every_cut_of_a_file_reads_the_same_both_ways(both_ways):
    for data in (MULTI_TX, (X12 / "997_staedi_multiple-interchanges.edi").read_bytes()):
        for end in range(len(data)):
            as_read, exact, _ = both_ways(data[:end])
            assert as_read == exact, data[:end]


_DEBRIS = [b"\n", b"\r\n", b"\r", b"~", b"*", b"~~", b"IEA*1*000000001~", b"IEA", b"ISA", b"ISA*", b"SE*3*0001~"]
_DEBRIS += [b"ST*850*0001~", b"GS*PO*A*B*20200101*1200*1*X*004010~", b"GE*1*1~", b"  ", b"\x00", b"VISA", b"*IEA*"]


def _mangled(rng: random.Random, data: bytes) -> bytes:
    """`data` with a few bytes cut, debris put in, a line doubled or dropped, or line breaks changed."""
    for _ in range(rng.randint(1, 4)):
        at, op = rng.randrange(len(data) + 1), rng.random()
        if op < 0.35:
            data = data[:at] + rng.choice(_DEBRIS) + data[at:]
        elif op < 0.6:
            data = data[:at] + data[at + rng.randint(1, 30) :]
        elif op < 0.8:
            lines = data.split(b"\n")
            k = rng.randrange(len(lines))
            if op < 0.7:
                lines.insert(k, lines[k])
            else:
                del lines[k]
            data = b"\n".join(lines)
        else:
            data = data.replace(b"\n", rng.choice([b"\r\n", b"", b"\n\n", b"\r"]), rng.randint(1, 50))
    return data


def test_mangled_corpus_files_read_the_same_both_ways(both_ways):
    rng = random.Random(6)
    files = [(X12 / name).read_bytes() for name in EXPECTED]
    went_count = 0
    for _ in range(600):
        data = _mangled(rng, rng.choice(files))
        as_read, exact, went = both_ways(data)
        assert as_read == exact, data
        went_count += went
    assert 100 < went_count < 600  # both ways were taken


TA1_THEN_GROUP = (
    b"ISA*00*          *00*          *ZZ*PARTNER        *ZZ*DISTROSYNC     *261127*0900*U*00401*000000007*0*P*>~"
    b"TA1*000000042*261126*1200*R*025~"
    b"GS*FA*PARTNER*DISTROSYNC*20261127*0900*7*X*004010~ST*997*0001~AK1*PO*42~AK9*A*1*1*1~SE*4*0001~GE*1*7~"
    b"IEA*1*000000007~"
)


def test_a_ta1_before_the_first_group_is_kept_and_one_elsewhere_is_outside_the_envelope(both_ways):
    result = read(TA1_THEN_GROUP)
    assert result.errors == []
    (ic,) = result.interchanges
    assert ic.acknowledgments == [["TA1", "000000042", "261126", "1200", "R", "025"]]
    assert [t.set_id for t in ic.groups[0].transactions] == ["997"]
    as_read, exact, one_go = both_ways(TA1_THEN_GROUP)
    assert as_read == exact and one_go

    after_group = TA1_THEN_GROUP.replace(b"TA1*000000042*261126*1200*R*025~", b"").replace(
        b"GE*1*7~", b"GE*1*7~TA1*000000042*261126*1200*R*025~"
    )
    result = read(after_group)
    assert [(e.kind, e.segment) for e in result.errors] == [("segment_outside_envelope", 8)]
    assert result.interchanges[0].acknowledgments == []
    as_read, exact, _ = both_ways(after_group)
    assert as_read == exact
