"""X12 reader: bytes as trading partners and EDI tools emit them -> interchanges, groups, transaction sets.

Pure Python, no AWS. Each ISA declares its own delimiters (element separator = the character after "ISA",
component separator = ISA16, segment terminator = the character after ISA16), so a file may hold interchanges
with different delimiters. Segments are found with `str.find` on the declared terminator and split with
`str.split` on the declared element separator: no regular expression per segment. Envelope rules broken become
`EnvelopeError`s naming the interchange, group, transaction and segment position; nothing here raises on bad
input. The rules are in docs/edi.md.
"""

from __future__ import annotations

from shared.adapters.x12.model import (
    GE_CONTROL_NUMBER,
    GE_MISSING,
    GE_TRANSACTION_COUNT,
    IEA_CONTROL_NUMBER,
    IEA_GROUP_COUNT,
    IEA_MISSING,
    ISA_MALFORMED,
    NO_INTERCHANGE,
    OUTSIDE_ENVELOPE,
    SE_CONTROL_NUMBER,
    SE_MISSING,
    SE_SEGMENT_COUNT,
    EnvelopeError,
    Group,
    Interchange,
    ParseResult,
    Party,
    Separators,
    Transaction,
)

_BOM = "\ufeff"
_LINE_BREAKS = "\r\n"
_BLANK = " \t\r\n\x00"
# Standard widths of ISA01..ISA15 (ISA16 is one character). Longer means the ISA is not what it claims to be.
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1)
_REPETITION_FROM = "00402"  # ISA11 is the repetition separator from this version on (the standards id before)


class _IsaError(Exception):
    """The ISA cannot be read; the message says why."""


def decode(data: bytes) -> str:
    """Text of an X12 file: without a UTF-8 BOM, UTF-8 when it is, else Latin-1 (every byte is a character)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read(data: bytes | str) -> ParseResult:
    """Read every interchange in `data`; envelope problems are in the result's `errors`, never raised."""
    text = decode(data) if isinstance(data, bytes) else data.removeprefix(_BOM)
    return _Reader(text).run()


def _shown(char: str) -> str:
    """A delimiter as a person can read it in a message ('~', or 0x1C for a control character)."""
    return repr(char) if char.isprintable() else f"0x{ord(char):02X}"


def _is_delimiter(char: str) -> bool:
    return not char.isalnum() and char != " "


def _read_isa(text: str, start: int) -> tuple[list[str], Separators, int]:
    """The ISA at `start`: its elements (line breaks that wrap it removed), its delimiters, and where it ends."""
    if start + 3 >= len(text):
        raise _IsaError("the data ends right after 'ISA'")
    sep = text[start + 3]
    if not _is_delimiter(sep) or sep in _LINE_BREAKS:
        raise _IsaError(f"the element separator (the character after 'ISA') is {_shown(sep)}, which cannot be one")
    elements = ["ISA"]
    i = start + 4
    for number in range(1, 16):
        j = text.find(sep, i)
        if j < 0:
            raise _IsaError(f"the data ends inside the ISA: ISA{number:02d} has no {_shown(sep)} after it")
        value = text[i:j].replace("\r", "").replace("\n", "")
        if len(value) > _ISA_WIDTHS[number - 1]:
            raise _IsaError(
                f"ISA{number:02d} is {len(value)} characters long, more than its {_ISA_WIDTHS[number - 1]}: "
                f"the ISA lacks elements or uses {_shown(sep)} inside one"
            )
        elements.append(value)
        i = j + 1
    if i >= len(text):
        raise _IsaError("the data ends where ISA16 (the component separator) should be")
    component = text[i]
    if component in _LINE_BREAKS:
        raise _IsaError("ISA16 (the component separator) is missing: a line break follows ISA15")
    if component == sep or not _is_delimiter(component):
        raise _IsaError(f"ISA16 (the component separator) is {_shown(component)}, which cannot be one")
    if i + 1 >= len(text):
        raise _IsaError(f"the data ends after ISA16 {_shown(component)}: no segment terminator")
    terminator = text[i + 1]
    if terminator in (sep, component) or not _is_delimiter(terminator):
        raise _IsaError(
            f"the segment terminator (the character after ISA16 {_shown(component)}) is {_shown(terminator)}, "
            "which cannot be one: ISA16 is missing or the ISA is too long"
        )
    if terminator in _LINE_BREAKS and _next_segment(text, i + 2, terminator).endswith(component):
        raise _IsaError(
            f"ISA16 (the component separator) is missing: {_shown(component)} after ISA15 ends the ISA and the "
            f"next segment too, so it is the segment terminator, not ISA16"
        )
    elements.append(component)
    for number in (12, 13):
        if not _digits(elements[number]) or len(elements[number]) != _ISA_WIDTHS[number - 1]:
            raise _IsaError(f"ISA{number} is {elements[number]!r}, not {_ISA_WIDTHS[number - 1]} digits")
    repetition = elements[11]
    has_repetition = elements[12] >= _REPETITION_FROM and len(repetition) == 1 and _is_delimiter(repetition)
    separators = Separators(sep, component, terminator, repetition if has_repetition else None)
    return elements, separators, i + 2


def _next_segment(text: str, start: int, terminator: str) -> str:
    """The segment after `start` (line breaks around it removed), to check a line-break terminator against."""
    while start < len(text) and text[start] in _LINE_BREAKS:
        start += 1
    end = text.find(terminator, start)
    return text[start : end if end >= 0 else len(text)].rstrip(_LINE_BREAKS)


def _digits(value: str) -> bool:
    """ASCII digits only: `str.isdigit` also accepts '²', which `int` refuses."""
    return value.isascii() and value.isdigit()


def _number(value: str) -> int | None:
    value = value.strip()
    return int(value) if _digits(value) else None


def _same_control_number(a: str, b: str) -> bool:
    """Control numbers are numeric (leading zeros pad them); compare as numbers when both are."""
    x, y = _number(a), _number(b)
    return x == y if x is not None and y is not None else a.strip() == b.strip()


def _element(elements: list[str], index: int) -> str:
    return elements[index] if index < len(elements) else ""


_ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})


class _Reader:
    """One pass over the text; `position` counts segments from the start of the file (the first ISA is 1)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.result = ParseResult()
        self.position = 0

    def run(self) -> ParseResult:
        text, pos = self.text, 0
        while True:
            while pos < len(text) and text[pos] in _BLANK:
                pos += 1
            if pos >= len(text):
                break
            if not text.startswith("ISA", pos):
                next_isa = text.find("ISA", pos)
                stray = text[pos : next_isa if next_isa >= 0 else len(text)].strip(_BLANK)
                self.position += 1  # the stray data counts as one segment, so positions after it stay true
                self._error(OUTSIDE_ENVELOPE, f"data outside any interchange (no ISA before it): {stray[:40]!r}")
                if next_isa < 0:
                    break
                pos = next_isa
                continue
            try:
                elements, separators, pos = _read_isa(text, pos)
            except _IsaError as exc:
                self._error(ISA_MALFORMED, f"malformed ISA: {exc}; the rest of the file is not read", offset=1)
                break
            self.position += 1
            interchange = Interchange(
                control_number=elements[13],
                sender=Party(elements[5], elements[6].strip()),
                receiver=Party(elements[7], elements[8].strip()),
                version=elements[12],
                separators=separators,
                test=elements[15] == "T",
                position=self.position,
                date=elements[9],
                time=elements[10],
            )
            self.result.interchanges.append(interchange)
            pos = self._read_interchange(interchange, pos)
        if not self.result.interchanges and not self.result.errors:
            self._error(NO_INTERCHANGE, "no ISA interchange in the data", offset=1)
        return self.result

    def _error(
        self,
        kind: str,
        message: str,
        interchange: Interchange | None = None,
        group: Group | None = None,
        transaction: Transaction | None = None,
        offset: int = 0,
    ) -> None:
        self.result.errors.append(
            EnvelopeError(
                kind=kind,
                message=message,
                segment=self.position + offset,
                interchange=interchange.control_number if interchange else None,
                group=group.control_number if group else None,
                transaction=transaction.control_number if transaction else None,
            )
        )

    def _read_interchange(self, ic: Interchange, pos: int) -> int:
        """Segments up to and including the IEA; returns where the next interchange may start."""
        text, seps = self.text, ic.separators
        sep, terminator = seps.element, seps.segment
        strip = "".join(c for c in _LINE_BREAKS if c not in (sep, seps.component, seps.repetition))
        group: Group | None = None
        tx: Transaction | None = None
        stray_reported = False
        while pos < len(text):
            end = text.find(terminator, pos)
            if end < 0:
                end = len(text)
            raw = text[pos:end]
            segment = raw.strip(strip) if strip else raw
            if not segment:
                pos = end + 1
                continue
            elements = segment.split(sep)
            tag = elements[0]
            if tx is not None and tag not in _ENVELOPE_TAGS and tag[:3] != "ISA":
                # The common case first: a segment of the open transaction set (one set lookup, no other test).
                self.position += 1
                pos = end + 1
                tx.segments.append(elements)
                tx.segment_count += 1
                continue
            if segment.startswith("ISA") and len(segment) > 3 and _is_delimiter(segment[3]):
                self._close(ic, group, tx, "the next ISA", offset=1)
                self._error(IEA_MISSING, f"interchange {ic.control_number} has no IEA: an ISA follows", ic, offset=1)
                return pos + raw.index("ISA")
            self.position += 1
            pos = end + 1
            if tag == "ST":
                if tx is not None:
                    self._close(ic, group, tx, "an ST", ge=False)
                tx = Transaction(_element(elements, 1), _element(elements, 2), self.position, segment_count=1)
                if group is None:
                    self._error(OUTSIDE_ENVELOPE, f"ST {tx.control_number} is outside a functional group", ic)
                else:
                    group.transactions.append(tx)
                stray_reported = False
            elif tag == "SE":
                if tx is None:
                    self._error(OUTSIDE_ENVELOPE, "SE without an ST before it", ic, group)
                else:
                    tx.segment_count += 1
                    self._check_se(elements, ic, group, tx)
                    tx = None
                stray_reported = False
            elif tag == "GS":
                self._close(ic, group, tx, "a GS")
                tx = None
                group = Group(
                    functional_id=_element(elements, 1),
                    sender=_element(elements, 2),
                    receiver=_element(elements, 3),
                    version=_element(elements, 8),
                    control_number=_element(elements, 6),
                    position=self.position,
                    date=_element(elements, 4),
                    time=_element(elements, 5),
                )
                ic.groups.append(group)
                stray_reported = False
            elif tag == "GE":
                self._close(ic, group, tx, "the GE", ge=False)
                tx = None
                if group is None:
                    self._error(OUTSIDE_ENVELOPE, "GE without a GS before it", ic)
                else:
                    self._check_ge(elements, ic, group)
                    group = None
                stray_reported = False
            elif tag == "IEA":
                self._close(ic, group, tx, "the IEA")
                self._check_iea(elements, ic)
                return pos
            elif tx is not None:
                tx.segments.append(elements)
                tx.segment_count += 1
            elif not stray_reported:
                where = f"group {group.control_number}" if group else f"interchange {ic.control_number}"
                self._error(OUTSIDE_ENVELOPE, f"{tag} is outside a transaction set (in {where}, no ST)", ic, group)
                stray_reported = True
        self._close(ic, group, tx, "the end of the data")
        self._error(IEA_MISSING, f"interchange {ic.control_number} has no IEA: the data ends", ic)
        return pos

    def _close(
        self,
        ic: Interchange,
        group: Group | None,
        tx: Transaction | None,
        came: str,
        offset: int = 0,
        *,
        ge: bool = True,
    ) -> None:
        """Report the trailers missing when `came` arrives while a transaction set (and, if `ge`, a group) is open."""
        if tx is not None:
            message = f"transaction set {tx.set_id} {tx.control_number} has no SE: {came} came first"
            self._error(SE_MISSING, message, ic, group, tx, offset)
        if ge and group is not None:
            message = f"group {group.functional_id} {group.control_number} has no GE: {came} came first"
            self._error(GE_MISSING, message, ic, group, None, offset)

    def _check_se(self, elements: list[str], ic: Interchange, group: Group | None, tx: Transaction) -> None:
        declared, count = _element(elements, 1), tx.segment_count
        if _number(declared) != count:
            self._error(
                SE_SEGMENT_COUNT,
                f"SE01 says {declared!r} segments but transaction set {tx.set_id} {tx.control_number} has {count} "
                "(ST through SE)",
                ic,
                group,
                tx,
            )
        if not _same_control_number(_element(elements, 2), tx.control_number):
            self._error(
                SE_CONTROL_NUMBER,
                f"SE02 {_element(elements, 2)!r} does not match ST02 {tx.control_number!r}",
                ic,
                group,
                tx,
            )

    def _check_ge(self, elements: list[str], ic: Interchange, group: Group) -> None:
        declared, count = _element(elements, 1), len(group.transactions)
        group.claimed_count = _number(declared)
        if group.claimed_count != count:
            self._error(
                GE_TRANSACTION_COUNT,
                f"GE01 says {declared!r} transaction sets but group {group.functional_id} {group.control_number} "
                f"has {count}",
                ic,
                group,
            )
        if not _same_control_number(_element(elements, 2), group.control_number):
            self._error(
                GE_CONTROL_NUMBER,
                f"GE02 {_element(elements, 2)!r} does not match GS06 {group.control_number!r}",
                ic,
                group,
            )

    def _check_iea(self, elements: list[str], ic: Interchange) -> None:
        declared, count = _element(elements, 1), len(ic.groups)
        if _number(declared) != count:
            self._error(
                IEA_GROUP_COUNT,
                f"IEA01 says {declared!r} functional groups but interchange {ic.control_number} has {count}",
                ic,
            )
        if not _same_control_number(_element(elements, 2), ic.control_number):
            self._error(
                IEA_CONTROL_NUMBER,
                f"IEA02 {_element(elements, 2)!r} does not match ISA13 {ic.control_number!r}",
                ic,
            )
