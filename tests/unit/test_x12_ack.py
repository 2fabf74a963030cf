"""The X12 writer (write -> read round trip) and the 997 for every functional group: on corpus files as partners
wrote them, on copies whose SE or GE lies, and through `distrosync edi ack`.

The 997s are checked by reading them back with the reader, so what a partner's translator would see is tested."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.corpus import CORPUS
from cli.main import main
from shared.adapters.x12 import Party, Separators, read
from shared.adapters.x12.ack import NOT_SUPPORTED, SEGMENTS_IN_ERROR, counting_from, write_acks
from shared.adapters.x12.writer import OutGroup, OutInterchange, OutTransaction, write

X12 = CORPUS / "x12"
WHEN = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
MULTI_TX = (X12 / "855_staedi_multi-tx.edi").read_bytes()  # ISA 000001337, GS PR 0001, ST 855 0001 and 0002


def _interchange(version: str, seps: Separators, control: int) -> OutInterchange:
    body = [["BAK", "00", "AC", "PO-1", "20261127"], ["PO1", "1", "3", "EA", "4.5", "", "VP", f"A{seps.component}B"]]
    return OutInterchange(
        sender=Party("ZZ", "DISTRO"),
        receiver=Party("01", "123456789"),
        control_number=control,
        version=version,
        separators=seps,
        ack_requested=True,
        test=True,
        groups=[
            OutGroup(
                "PR", "DISTRO", "SUPPLIER", 7, "004010", [OutTransaction("855", 1, body), OutTransaction("855", 2)]
            ),
            OutGroup("PO", "DISTRO", "SUPPLIER", 8, "005010", [OutTransaction("850", 3, body[:1])]),
        ],
    )


def test_written_interchanges_read_back_with_the_same_envelopes_and_segments():
    first = _interchange("00401", Separators("*", ">", "~"), 41)
    second = _interchange("00501", Separators("|", ":", "\x1c", "^"), 42)
    text = write([first, second], WHEN, line_break="\r\n")
    assert text.startswith("ISA*00*          *00*          *ZZ*DISTRO         *01*123456789      *261127*0905*U*")
    assert text.index("~") == 105  # the ISA is 106 characters with its terminator
    result = read(text.encode())
    assert result.errors == []
    assert [i.control_number for i in result.interchanges] == ["000000041", "000000042"]
    for written, got in zip((first, second), result.interchanges, strict=True):
        assert (got.sender, got.receiver, got.version, got.test) == (
            written.sender,
            written.receiver,
            written.version,
            True,
        )
        assert got.separators == (written.separators if written.version >= "00402" else Separators("*", ">", "~"))
        assert [(g.functional_id, g.sender, g.receiver, g.control_number, g.version) for g in got.groups] == [
            ("PR", "DISTRO", "SUPPLIER", "000000007", "004010"),
            ("PO", "DISTRO", "SUPPLIER", "000000008", "005010"),
        ]
        sets = [(t.set_id, t.control_number, t.segment_count, t.segments) for g in got.groups for t in g.transactions]
        component = written.separators.component
        po1 = ["PO1", "1", "3", "EA", "4.5", "", "VP", f"A{component}B"]
        assert sets == [
            ("855", "0001", 4, [["BAK", "00", "AC", "PO-1", "20261127"], po1]),
            ("855", "0002", 2, []),
            ("850", "0003", 3, [["BAK", "00", "AC", "PO-1", "20261127"]]),
        ]
    assert "*1*T*>~" in text and "|0|T|:\x1c" not in text and "|1|T|:\x1c" in text  # ISA14 and ISA15


def test_the_writer_refuses_values_that_would_split_differently():
    seps = Separators("*", ">", "~")
    with pytest.raises(ValueError, match="delimiter"):
        write([OutInterchange(Party("ZZ", "A*B"), Party("ZZ", "B"), 1, "00401", seps)], WHEN)
    bad_body = OutGroup("PR", "A", "B", 1, "004010", [OutTransaction("855", 1, [["REF", "ZZ", "x~y"]])])
    with pytest.raises(ValueError, match="delimiter"):
        write([OutInterchange(Party("ZZ", "A"), Party("ZZ", "B"), 1, "00401", seps, [bad_body])], WHEN)
    with pytest.raises(ValueError, match="longer than its 15"):
        write([OutInterchange(Party("ZZ", "A" * 16), Party("ZZ", "B"), 1, "00401", seps)], WHEN)


def _acks(data: bytes, first: int = 1) -> tuple[list, list[list[list[str]]]]:
    """The 997 interchanges read back, and each 997's body (AK1..AK9)."""
    text = write_acks(read(data), counting_from(first), WHEN)
    back = read(text.encode())
    assert back.errors == []
    bodies = [t.segments for i in back.interchanges for g in i.groups for t in g.transactions]
    assert all(t.set_id == "997" for i in back.interchanges for g in i.groups for t in g.transactions)
    return back.interchanges, bodies


def test_a_good_file_gets_a_997_accepting_every_set_from_its_receiver_back_to_its_sender():
    interchanges, bodies = _acks((X12 / "855_node-x12_855.edi").read_bytes(), first=70)
    (ic,) = interchanges
    assert (ic.sender, ic.receiver, ic.version, ic.control_number) == (
        Party("ZZ", "123MILL"),
        Party("ZZ", "1556150"),
        "00401",
        "000000070",
    )
    (group,) = ic.groups
    assert (group.functional_id, group.sender, group.receiver, group.version) == ("FA", "123MILL", "1556150", "004010")
    assert bodies == [[["AK1", "PR", "5"], ["AK2", "855", "0005"], ["AK5", "A"], ["AK9", "A", "1", "1", "1"]]]


def test_every_group_of_every_corpus_file_is_acknowledged_and_the_997s_read_back():
    for path in sorted(X12.iterdir()):
        result = read(path.read_bytes())
        groups = [g for i in result.interchanges for g in i.groups]
        if not groups:  # the file whose ISA16 is missing: nothing was read, so nothing to acknowledge
            assert path.name == "850_EDI.Net_issue135_malformed-ISA16.edi"
            assert write_acks(result, counting_from(1), WHEN) == ""
            continue
        _, bodies = _acks(path.read_bytes())
        assert [(b[0][1], b[0][2]) for b in bodies] == [(g.functional_id, g.control_number) for g in groups], path
        assert all(b[-1][:2] == ["AK9", "A"] for b in bodies), path
        if groups and groups[0].version.startswith("005010"):
            assert bodies[0][0][3] == groups[0].version  # AK103 where the 997 defines it


@pytest.mark.parametrize(
    ("old", "new", "sets", "ak9"),
    [
        # SE01 lies on the second set: that set is rejected (4), the group partially accepted.
        (b"SE*3*0002", b"SE*5*0002", [["A"], ["R", "4"]], ["P", "2", "2", "1"]),
        # SE02 does not match ST02 on the first set (3).
        (b"SE*3*0001", b"SE*3*0009", [["R", "3"], ["A"]], ["P", "2", "2", "1"]),
        # both sets rejected: the group is rejected.
        (
            b"SE*3*0001~\nST*855*0002~\nBAK*54*AC*ORDER2*20260127~\nSE*3*0002",
            b"SE*4*0001~\nST*855*0002~\nBAK*54*AC*ORDER2*20260127~\nSE*3*0003",
            [["R", "4"], ["R", "3"]],
            ["R", "2", "2", "0"],
        ),
        # GE01 lies: the group is rejected with 5, none of its sets taken.
        (b"GE*2*0001", b"GE*3*0001", [["A"], ["A"]], ["R", "3", "2", "0", "5"]),
        # GE02 does not match GS06: 4.
        (b"GE*2*0001", b"GE*2*0002", [["A"], ["A"]], ["R", "2", "2", "0", "4"]),
    ],
)
def test_a_lying_trailer_is_rejected_in_the_997_with_its_x12_code(old: bytes, new: bytes, sets: list, ak9: list):
    data = MULTI_TX.replace(old, new, 1)
    assert data != MULTI_TX and not read(data).ok
    _, (body,) = _acks(data)
    assert body[0] == ["AK1", "PR", "0001"]
    assert [s[1:] for s in body if s[0] == "AK5"] == sets
    assert [s[1:] for s in body if s[0] == "AK2"] == [["855", "0001"], ["855", "0002"]]
    assert body[-1] == ["AK9", *ak9]


def test_a_missing_se_is_code_2():
    data = MULTI_TX.replace(b"SE*3*0001~\n", b"", 1)
    _, (body,) = _acks(data)
    assert [s[1:] for s in body if s[0] == "AK5"] == [["R", "2"], ["A"]]
    assert body[-1] == ["AK9", "P", "2", "2", "1"]


def test_edi_ack_through_the_cli(tmp_path: Path, capsys):
    lying = tmp_path / "lying-ge.edi"
    lying.write_bytes(MULTI_TX.replace(b"GE*2*0001", b"GE*3*0001", 1))
    assert main(["edi", "ack", str(lying), "--control-number", "500"]) == 0
    out = capsys.readouterr().out
    assert "AK9*R*3*2*0*5~\n" in out
    back = read(out.encode())
    assert back.errors == []
    assert [(i.control_number, i.sender.id, i.receiver.id) for i in back.interchanges] == [
        ("000000500", "ALEXANDRE0JACOB", "ALEXANDRE0JACOB")
    ]
    empty = tmp_path / "empty.edi"
    empty.write_bytes(b"not x12")
    assert main(["edi", "ack", str(empty)]) == 1
    assert "nothing to acknowledge" in capsys.readouterr().err
    assert main(["edi", "ack", str(tmp_path / "absent.edi")]) == 2


def test_a_segment_between_sets_is_noted_not_rejected():
    data = MULTI_TX.replace(b"SE*3*0001~\n", b"SE*3*0001~\nREF*ZZ*STRAY~\n", 1)
    assert [e.kind for e in read(data).errors] == ["segment_outside_envelope"]
    _, (body,) = _acks(data)
    assert [s[1:] for s in body if s[0] == "AK5"] == [["A"], ["A"]]
    assert body[-1] == ["AK9", "E", "2", "2", "2"]


CANADA_POST = (X12 / "214_omniparser_canadapost.edi").read_bytes()  # ISA/GS 000001644, 214 000000001..000000019


def _bodies(text: str) -> list[list[list[str]]]:
    back = read(text.encode())
    assert back.errors == []
    return [t.segments for i in back.interchanges for g in i.groups for t in g.transactions]


def test_sets_the_gateway_refuses_get_ak5_r_1_or_5_beside_the_accepted_sets():
    rejections = {
        ("000001644", "000001644", "000000002"): NOT_SUPPORTED,  # the profile does not list the set
        ("1644", "1644", "3"): SEGMENTS_IN_ERROR,  # did not map; keys compare as numbers, like the reader's
    }
    (body,) = _bodies(write_acks(read(CANADA_POST), counting_from(1), WHEN, rejections=rejections))
    ak5 = {"000000002": ["AK5", "R", "1"], "000000003": ["AK5", "R", "5"]}
    expected = [["AK1", "QM", "000001644"]]
    for n in range(1, 20):
        st02 = f"{n:09d}"
        expected += [["AK2", "214", st02], ak5.get(st02, ["AK5", "A"])]
    assert body == [*expected, ["AK9", "P", "19", "19", "17"]]


def test_a_refused_set_keeps_the_readers_codes_and_a_group_all_refused_is_rejected():
    lying_se = MULTI_TX.replace(b"SE*3*0002", b"SE*5*0002", 1)
    rejections = {("000001337", "0001", "0001"): SEGMENTS_IN_ERROR, ("000001337", "0001", "0002"): NOT_SUPPORTED}
    (body,) = _bodies(write_acks(read(lying_se), counting_from(1), WHEN, rejections=rejections))
    assert body == [
        ["AK1", "PR", "0001"],
        ["AK2", "855", "0001"],
        ["AK5", "R", "5"],
        ["AK2", "855", "0002"],
        ["AK5", "R", "4", "1"],  # the reader's 4 first, then the gateway's 1
        ["AK9", "R", "2", "2", "0"],
    ]


def test_one_interchange_of_a_file_is_acknowledged_alone_with_its_own_rejections():
    # three interchanges (ISA13 1, 2 and 3), each GS 000005 with ST 0001, release 005010X230
    result = read((X12 / "997_staedi_multiple-interchanges.edi").read_bytes())
    first, second, _ = result.interchanges
    rejections = {("000000002", "000005", "0001"): NOT_SUPPORTED}
    texts = [
        write_acks(result, counting_from(10), WHEN, interchange=ic, rejections=rejections) for ic in (first, second)
    ]
    assert [_bodies(text) for text in texts] == [
        [[["AK1", "FA", "000005", "005010X230"], ["AK2", "997", "0001"], ["AK5", "A"], ["AK9", "A", "1", "1", "1"]]],
        [
            [
                ["AK1", "FA", "000005", "005010X230"],
                ["AK2", "997", "0001"],
                ["AK5", "R", "1"],
                ["AK9", "R", "1", "1", "0"],
            ]
        ],
    ]
    assert [[i.control_number for i in read(text.encode()).interchanges] for text in texts] == [
        ["000000010"],
        ["000000010"],
    ]
    other = read((X12 / "855_node-x12_855.edi").read_bytes()).interchanges[0]
    with pytest.raises(ValueError, match="interchange 000000005 is not one of the result's"):
        write_acks(result, counting_from(1), WHEN, interchange=other)


def test_rejections_naming_no_set_read_or_no_x12_code_are_refused():
    result = read(MULTI_TX)
    with pytest.raises(ValueError, match="ST02 '0003': no such set was read"):
        write_acks(result, counting_from(1), WHEN, rejections={("000001337", "0001", "0003"): NOT_SUPPORTED})
    with pytest.raises(ValueError, match="ISA13 '000001338'"):
        write_acks(result, counting_from(1), WHEN, rejections={("000001338", "0001", "0001"): NOT_SUPPORTED})
    with pytest.raises(ValueError, match="'not supported' for set '0001' is not an X12 element 718 code"):
        write_acks(result, counting_from(1), WHEN, rejections={("000001337", "0001", "0001"): "not supported"})


def test_only_ta1_segments_stand_outside_a_group():
    seps = Separators("*", ">", "~")
    stray = OutInterchange(Party("ZZ", "A"), Party("ZZ", "B"), 1, "00401", seps, acknowledgments=[["REF", "ZZ"]])
    with pytest.raises(ValueError, match="only TA1 segments may stand outside a functional group, not \\['REF'\\]"):
        write([stray], WHEN)
