"""X12 writer: interchanges -> text with the separators and terminator given, envelopes counted and padded.

Pure Python, no AWS. The caller passes the control numbers (ISA13, GS06, ST02: the gateway takes them from the
partner's sequences, `EdiStore.allocate`) and the moment written. What is written reads back through `read()` with no
envelope errors. An interchange may carry TA1 segments (interchange acknowledgments) between its ISA and its first
GS, the only place X12 allows a segment outside a functional group; an interchange of TA1s only has IEA01 = 0 (the
reader does not know TA1 yet and reports it as outside a transaction set).
A value that contains one of the delimiters, or an ISA id wider than its field, is refused with `ValueError`:
the writer never emits a file its partner would split differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.x12.model import Party, Separators

_REPETITION_FROM = "00402"  # ISA11 is the repetition separator from this version on, "U" (US standards) before
_LINE_BREAKS = "\r\n"


@dataclass(frozen=True, slots=True)
class OutTransaction:
    """One transaction set to write: ST01, ST02 and the body between ST and SE (each segment's id first)."""

    set_id: str
    control_number: int | str
    segments: Sequence[Sequence[str]] = ()


@dataclass(frozen=True, slots=True)
class OutGroup:
    """One functional group to write: GS01, GS02/GS03 (application ids), GS06 and GS08."""

    functional_id: str
    sender: str
    receiver: str
    control_number: int | str
    version: str
    transactions: Sequence[OutTransaction] = ()


@dataclass(frozen=True, slots=True)
class OutInterchange:
    """One interchange to write. `version` is ISA12; `ack_requested` is ISA14 (a TA1); `test` makes ISA15 "T";
    `acknowledgments` are TA1 segments (each its elements, "TA1" first) written before the groups."""

    sender: Party
    receiver: Party
    control_number: int | str
    version: str
    separators: Separators
    groups: Sequence[OutGroup] = ()
    ack_requested: bool = False
    test: bool = False
    authorization: tuple[str, str] = ("00", "")  # ISA01/ISA02
    security: tuple[str, str] = ("00", "")  # ISA03/ISA04
    acknowledgments: Sequence[Sequence[str]] = ()


def write(interchanges: Sequence[OutInterchange], when: datetime, *, line_break: str = "") -> str:
    """The text of `interchanges`, in order. `line_break` (e.g. "\\n") follows each terminator for people to read;
    it is left out when the terminator is itself a line break."""
    return "".join(_interchange(ic, when, line_break) for ic in interchanges)


def _interchange(ic: OutInterchange, when: datetime, line_break: str) -> str:
    seps = ic.separators
    _check_separators(seps, ic.version)
    end = seps.segment + ("" if seps.segment in _LINE_BREAKS else line_break)
    control = _fixed_number(ic.control_number, 9, "ISA13")
    isa = [
        "ISA",
        _fixed(ic.authorization[0], 2, "ISA01"),
        _fixed(ic.authorization[1], 10, "ISA02"),
        _fixed(ic.security[0], 2, "ISA03"),
        _fixed(ic.security[1], 10, "ISA04"),
        _fixed(ic.sender.qualifier, 2, "ISA05"),
        _fixed(ic.sender.id, 15, "ISA06"),
        _fixed(ic.receiver.qualifier, 2, "ISA07"),
        _fixed(ic.receiver.id, 15, "ISA08"),
        when.strftime("%y%m%d"),
        when.strftime("%H%M"),
        seps.repetition if ic.version >= _REPETITION_FROM and seps.repetition else "U",
        ic.version,
        control,
        "1" if ic.ack_requested else "0",
        "T" if ic.test else "P",
    ]
    _check_values(isa[1:11] + isa[12:], seps)  # ISA11 is the repetition separator itself
    out = [seps.element.join(isa) + seps.element + seps.component + end]
    for ta1 in ic.acknowledgments:
        if not ta1 or ta1[0] != "TA1":
            raise ValueError(f"only TA1 segments may stand outside a functional group, not {list(ta1)[:1]!r}")
        out.append(_segment(list(ta1), seps, end))
    for group in ic.groups:
        out.append(_group(group, when, seps, end))
    out.append(_segment(["IEA", str(len(ic.groups)), control], seps, end))
    return "".join(out)


def _group(group: OutGroup, when: datetime, seps: Separators, end: str) -> str:
    control = _number(group.control_number, 9, "GS06")
    gs = ["GS", group.functional_id, group.sender, group.receiver, when.strftime("%Y%m%d"), when.strftime("%H%M")]
    out = [_segment([*gs, control, "X", group.version], seps, end)]
    for tx in group.transactions:
        st02 = _number(tx.control_number, 4, "ST02")
        body = [_segment(list(segment), seps, end) for segment in tx.segments]
        out.append(_segment(["ST", tx.set_id, st02], seps, end))
        out.extend(body)
        out.append(_segment(["SE", str(len(body) + 2), st02], seps, end))
    out.append(_segment(["GE", str(len(group.transactions)), control], seps, end))
    return "".join(out)


def _segment(elements: list[str], seps: Separators, end: str) -> str:
    if not elements or not elements[0]:
        raise ValueError("a segment needs its id as its first element")
    _check_values(elements, seps, composite=True)
    while len(elements) > 1 and elements[-1] == "":
        elements = elements[:-1]  # no trailing separators
    return seps.element.join(elements) + end


def _check_separators(seps: Separators, version: str) -> None:
    chosen = [seps.element, seps.component, seps.segment]
    if version >= _REPETITION_FROM and seps.repetition:
        chosen.append(seps.repetition)
    if any(len(c) != 1 or c.isalnum() or c == " " for c in chosen) or len(set(chosen)) != len(chosen):
        raise ValueError(f"separators {chosen!r} must be distinct single characters, not letters, digits or space")
    if len(version) != 5 or not version.isdigit():
        raise ValueError(f"ISA12 {version!r} is not 5 digits")


def _check_values(values: Sequence[str], seps: Separators, *, composite: bool = False) -> None:
    """No value may hold a delimiter; in segments the component separator may join a composite's parts."""
    forbidden = {seps.element, seps.segment} | ({seps.repetition} if seps.repetition else set())
    if not composite:
        forbidden.add(seps.component)
    for value in values:
        if any(c in value for c in forbidden):
            raise ValueError(f"{value!r} contains a delimiter of this interchange")


def _fixed(value: str, width: int, name: str) -> str:
    if len(value) > width:
        raise ValueError(f"{name} {value!r} is longer than its {width} characters")
    return value.ljust(width)


def _fixed_number(value: int | str, width: int, name: str) -> str:
    text = str(value)
    if not text.isdigit() or len(text) > width:
        raise ValueError(f"{name} {value!r} is not a number of at most {width} digits")
    return text.zfill(width)


def _number(value: int | str, min_width: int, name: str) -> str:
    """GS06 (N0 1/9) and ST02 (AN 4/9): digits, zero-padded to `min_width`, at most 9."""
    text = str(value)
    if not text.isdigit() or len(text) > 9:
        raise ValueError(f"{name} {value!r} is not a number of at most 9 digits")
    return text.zfill(min_width)
