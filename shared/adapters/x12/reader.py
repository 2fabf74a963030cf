"""X12 reader: bytes as trading partners and EDI tools emit them -> interchanges, groups, transaction sets.

Pure Python, no AWS. Each ISA declares its own delimiters (element separator = the character after "ISA",
component separator = ISA16, segment terminator = the character after ISA16), so a file may hold interchanges
with different delimiters. No regular expression per segment. Envelope rules broken become `EnvelopeError`s
naming the interchange, group, transaction and segment position; nothing here raises on bad input. The rules are
in docs/edi.md.

Each interchange is read one of two ways, with the same result (tests/unit/test_x12_reader.py reads the corpus,
every cut of a file and hundreds of mangled ones both ways). The fast way, `_Reader._read_fast`, finds where the
interchange ends (its IEA; the next ISA bounds the search) with `str.find`, splits that span once on the
terminator and the line break that follows it (`_pieces`), every segment with one `map`, and walks only the
envelope segments: the body of a transaction set is the slice between its ST and its SE. When something is off
(an ISA before the IEA, an IEA that is not the span's last segment), the exact way, `_Reader._read_exact`, reads
that interchange one segment at a time. Both apply the same envelope rules (`_Reader._envelope`). Speed and what
made it: docs/bench.md, section 7.
"""

from __future__ import annotations

from itertools import repeat

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
# A standard ISA: "ISA", then ISA01..ISA15 at those widths with a separator before each, ISA16, the terminator.
_ISA_FIXED_END = 3 + sum(_ISA_WIDTHS) + len(_ISA_WIDTHS)  # where the separator after ISA15 is (103)
_ISA_LENGTH = _ISA_FIXED_END + 3  # with that separator, ISA16 and the terminator (106)
_REPETITION_FROM = "00402"  # ISA11 is the repetition separator from this version on (the standards id before)
# The segments whose tag the envelope rules act on (an ISA inside an interchange is found apart).
_ENVELOPE_TAGS = frozenset({"IEA", "GS", "GE", "ST", "SE"})
TA1 = "TA1"  # an interchange acknowledgment: between the ISA and the first GS, outside any group
_WALKED_TAGS = _ENVELOPE_TAGS | {"ISA"}


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


def _isa_elements(text: str, start: int, sep: str) -> tuple[list[str], int]:
    """ISA01..ISA15 found by walking the separators (line breaks inside them removed), and where ISA16 is."""
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
    return elements, i


def _read_isa(text: str, start: int) -> tuple[list[str], Separators, int]:
    """The ISA at `start`: its elements (line breaks that wrap it removed), its delimiters, and where it ends.

    The usual ISA (every element at its standard width, delimiters already seen in `_SEPARATORS`) needs only its
    numbers checked; any other goes through `_read_isa_exact`, which checks every rule and says what is wrong."""
    end = start + _ISA_LENGTH
    if end <= len(text):
        sep, component, terminator = text[start + 3], text[end - 2], text[end - 1]
        fields = _standard_fields(text, start, sep)
        if fields is not None:
            separators = _SEPARATORS.get((sep, component, terminator, fields[10], fields[11] >= _REPETITION_FROM))
            numbers = fields[11] + fields[12]  # ISA12, ISA13
            if (
                separators is not None
                and numbers.isascii()
                and numbers.isdigit()
                and not (terminator in _LINE_BREAKS and _isa16_is_terminator(text, end, component))
            ):
                return ["ISA", *fields, component], separators, end
    return _read_isa_exact(text, start)


def _standard_fields(text: str, start: int, sep: str) -> list[str] | None:
    """ISA01..ISA15 of the ISA at `start` when each is at its standard width (no line break in them), else None."""
    fixed = text[start + 4 : start + _ISA_FIXED_END]
    fields = fixed.split(sep)
    if (
        text[start + _ISA_FIXED_END : start + _ISA_FIXED_END + 1] == sep
        and tuple(map(len, fields)) == _ISA_WIDTHS
        and "\n" not in fixed
        and "\r" not in fixed
    ):
        return fields
    return None


def _isa16_is_terminator(text: str, after: int, component: str) -> bool:
    """With a line break after ISA16: whether ISA16 also ends the next segment (then it is the terminator and
    ISA16 is missing, as in 850_EDI.Net_issue135_malformed-ISA16.edi)."""
    return _next_segment(text, after, text[after - 1]).endswith(component)


def _read_isa_exact(text: str, start: int) -> tuple[list[str], Separators, int]:
    """`_read_isa` for any ISA: its separators walked one by one, every rule checked; raises `_IsaError`."""
    if start + 3 >= len(text):
        raise _IsaError("the data ends right after 'ISA'")
    sep = text[start + 3]
    if not _is_delimiter(sep) or sep in _LINE_BREAKS:
        raise _IsaError(f"the element separator (the character after 'ISA') is {_shown(sep)}, which cannot be one")
    fields = _standard_fields(text, start, sep)
    if fields is not None:
        elements, i = ["ISA", *fields], start + _ISA_FIXED_END + 1
    else:
        elements, i = _isa_elements(text, start, sep)
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
    if terminator in _LINE_BREAKS and _isa16_is_terminator(text, i + 2, component):
        raise _IsaError(
            f"ISA16 (the component separator) is missing: {_shown(component)} after ISA15 ends the ISA and the "
            f"next segment too, so it is the segment terminator, not ISA16"
        )
    elements.append(component)
    for number in (12, 13):
        if not _digits(elements[number]) or len(elements[number]) != _ISA_WIDTHS[number - 1]:
            raise _IsaError(f"ISA{number} is {elements[number]!r}, not {_ISA_WIDTHS[number - 1]} digits")
    key = (sep, component, terminator, elements[11], elements[12] >= _REPETITION_FROM)
    separators = _SEPARATORS.get(key)
    if separators is None:
        repetition = elements[11]
        has_repetition = key[4] and len(repetition) == 1 and _is_delimiter(repetition)
        separators = Separators(sep, component, terminator, repetition if has_repetition else None)
        if len(_SEPARATORS) < _SEPARATORS_KEPT:
            _SEPARATORS[key] = separators
    return elements, separators, i + 2


# The delimiters of every ISA read so far that `_read_isa_exact` found right, by (the character after "ISA", ISA16,
# the terminator, ISA11, ISA12 >= 00402): a standard ISA with one of these needs no more checks than its numbers.
# Separators are immutable; a handful of combinations covers every partner.
_SEPARATORS: dict[tuple[str, str, str, str, bool], Separators] = {}
_SEPARATORS_KEPT = 256


def _parties(isa: list[str]) -> tuple[Party, Party]:
    """ISA05/06 and ISA07/08 as parties, ids unpadded; the same pair is the same two (immutable) objects."""
    key = (isa[5], isa[6], isa[7], isa[8])
    found = _PARTIES.get(key)
    if found is None:
        found = (Party(isa[5], isa[6].strip()), Party(isa[7], isa[8].strip()))
        if len(_PARTIES) < _PARTIES_KEPT:
            _PARTIES[key] = found
    return found


_PARTIES: dict[tuple[str, str, str, str], tuple[Party, Party]] = {}
_PARTIES_KEPT = 4096


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


def _counts(declared: str, count: int) -> bool:
    """Whether a trailer's count (SE01, IEA01) says `count`; leading zeros and spaces allowed."""
    return declared == str(count) or _number(declared) == count


def _same_control_number(a: str, b: str) -> bool:
    """Control numbers are numeric (leading zeros pad them); compare as numbers when both are."""
    if a == b:
        return True
    x, y = _number(a), _number(b)
    return x == y if x is not None and y is not None else a.strip() == b.strip()


def _element(elements: list[str], index: int) -> str:
    return elements[index] if index < len(elements) else ""


def _trailer_says(elements: list[str], count: int, control_number: str) -> bool:
    """Whether a trailer (SE, GE, IEA) says `count` (maybe zero-padded) and `control_number` as written: the common
    case, when the exact checks (`_counts`, `_same_control_number`) have nothing to add."""
    return len(elements) > 2 and elements[2] == control_number and elements[1].lstrip("0") == str(count)


def _transaction(st: list[str], position: int) -> Transaction:
    if len(st) > 2:
        return Transaction(st[1], st[2], position, segment_count=1)
    return Transaction(_element(st, 1), _element(st, 2), position, segment_count=1)


def _group(gs: list[str], position: int) -> Group:
    """A group from its GS: GS01, GS02/GS03, GS08 as written, GS06, and GS04/GS05 as written."""
    if len(gs) < 9:
        gs = gs + [""] * (9 - len(gs))
    return Group(gs[1], gs[2], gs[3], gs[8], gs[6], position, [], gs[4], gs[5])


def _edge_breaks(seps: Separators) -> str:
    """The line breaks ignored around segments: CR and LF but the terminator (the ISA rules keep line breaks out
    of the element separator, ISA16 and ISA11)."""
    return _LINE_BREAKS.replace(seps.segment, "")


def _starts_segment(text: str, k: int, low: int, terminator: str, breaks: str) -> bool:
    """Whether the segment read from `k` starts there: only `breaks` between it and a terminator (or `low`)."""
    while k > low and text[k - 1] in breaks:
        k -= 1
    return k == low or text[k - 1] == terminator


def _next_isa(text: str, pos: int, terminator: str, breaks: str) -> int:
    """Where the first segment from `pos` on that may be an ISA starts (len(text) when none may be).

    It errs towards "may be" ('ISA' at a segment start followed by any delimiter, or by nothing): such an
    interchange is left to the exact reader, which decides."""
    k = text.find("ISA", pos)
    while k >= 0:
        if (k + 3 >= len(text) or _is_delimiter(text[k + 3])) and _starts_segment(text, k, pos, terminator, breaks):
            return k
        k = text.find("ISA", k + 1)
    return len(text)


def _pieces(span: str, terminator: str, breaks: str) -> list[str]:
    """`span` (which starts with a terminator) split on its terminators, each piece without the line breaks
    (`breaks`) around it, as stripping every piece would. Files put the same line break, or none, after every
    terminator: split on both at once, then make sure nothing is left of either."""
    after = terminator
    if span.startswith("\r\n", 1) and len(breaks) == 2:
        after += "\r\n"
    elif span[1:2] in breaks and len(span) > 1:
        after += span[1]
    pieces = span.split(after)
    flat = "".join(pieces)
    if terminator not in flat and ("\n" not in flat or "\n" not in breaks) and ("\r" not in flat or "\r" not in breaks):
        return pieces
    unbroken = _unbroken(span, terminator, breaks)
    return unbroken.split(terminator) if unbroken is not None else [p.strip(breaks) for p in span.split(terminator)]


def _unbroken(span: str, terminator: str, breaks: str) -> str | None:
    """`span` without the line breaks next to its terminators (CR LF, LF or CR after each; a CR before a LF
    terminator), or None when a line break is left elsewhere: then only stripping each segment is exact."""
    if terminator in _LINE_BREAKS:
        span = span.replace("\r\n", terminator)
    else:
        if len(breaks) == 2:
            span = span.replace(terminator + "\r\n", terminator)
        for c in breaks:
            span = span.replace(terminator + c, terminator)
    return None if any(c in span for c in breaks) else span


class _Reader:
    """One pass over the text; `position` counts segments from the start of the file (the first ISA is 1).
    `group`, `tx` and `stray_reported` are the open group, the open transaction set, and whether the current run
    of segments outside any transaction set was reported."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.result = ParseResult()
        self.position = 0
        self.group: Group | None = None
        self.tx: Transaction | None = None
        self.stray_reported = False

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
            sender, receiver = _parties(elements)
            # ISA13, ISA12, ISA15, ISA09, ISA10
            interchange = Interchange(
                elements[13],
                sender,
                receiver,
                elements[12],
                separators,
                elements[15] == "T",
                self.position,
                [],
                elements[9],
                elements[10],
            )
            self.result.interchanges.append(interchange)
            self.group, self.tx, self.stray_reported = None, None, False
            end = self._read_fast(interchange, pos)
            pos = end if end is not None else self._read_exact(interchange, pos)
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

    def _read_fast(self, ic: Interchange, pos: int) -> int | None:
        """The interchange's segments after its ISA (at `pos`) read at once; returns where the next interchange may
        start, or None, having changed nothing, when only `_read_exact` reads this interchange right."""
        text, seps = self.text, ic.separators
        sep, terminator = seps.element, seps.segment
        breaks = _edge_breaks(seps)
        stop = _next_isa(text, pos, terminator, breaks)
        marker = "IEA" + sep
        iea = text.find(marker, pos, stop)
        while iea >= 0 and not _starts_segment(text, iea, pos, terminator, breaks):
            iea = text.find(marker, iea + 1, stop)
        if iea >= 0:
            end = text.find(terminator, iea)  # before `stop`: a terminator comes before any segment's start
            if end < 0:
                end = len(text)
        elif stop < len(text):
            return None  # an ISA before any IEA: the exact reader reports the missing IEA where it is
        else:
            end = len(text)
        # From the ISA's own terminator (text[pos - 1]), so that line breaks after it go too.
        pieces = _pieces(text[pos - 1 : end], terminator, breaks)
        del pieces[0]  # the empty one before the ISA's terminator
        if "" in pieces:  # two terminators in a row (or one at the very end): no segment between
            pieces = [p for p in pieces if p]
        segments = list(map(str.split, pieces, repeat(sep)))
        envelope = [i for i, elements in enumerate(segments) if elements[0] in _WALKED_TAGS]
        tags = [segments[i][0] for i in envelope]
        count_all = len(segments)
        if iea >= 0:
            if envelope[-1:] != [count_all - 1] or tags[-1] != "IEA" or tags.count("IEA") > 1 or "ISA" in tags:
                return None  # the IEA found is not the span's only and last one, or an ISA came before it
        elif "IEA" in tags or "ISA" in tags:
            return None  # an IEA without a separator after it, or an ISA the search did not take for one

        self._walk(ic, segments, envelope, tags)
        if iea >= 0:
            return end + 1
        self._data_ends(ic)
        return len(text)

    def _walk(self, ic: Interchange, segments: list[list[str]], envelope: list[int], tags: list[str]) -> None:
        """The interchange's segments (after its ISA), given where its envelope segments are and their tags:
        envelopes as expected are handled inline (the common case); anything else (a trailer missing, a segment
        outside a set, a header outside its envelope) by the shared rules, `_envelope`. Leaves `position` at the
        last segment, `group` and `tx` what is still open."""
        tags.append("")  # so that every envelope segment has a next tag
        base, start, skip = self.position, 0, -1
        groups = ic.groups
        group: Group | None = None
        tx: Transaction | None = None
        for k, i in enumerate(envelope):
            if k == skip:
                continue  # the SE of a set read with its ST
            tag, elements = tags[k], segments[i]
            as_expected = False
            if tx is None and i == start:  # no set open and no segment since the last envelope segment
                as_expected = True
                if tag == "ST" and group is not None and tags[k + 1] == "SE" and len(elements) > 2:
                    # The whole set at once: ST, the body, SE (`_trailer_says` inline: this runs once per set).
                    j = envelope[k + 1]
                    se, count = segments[j], j - i + 1
                    tx = Transaction(elements[1], elements[2], base + i + 1, segments[i + 1 : j], count)
                    group.transactions.append(tx)
                    if len(se) < 3 or se[2] != tx.control_number or se[1].lstrip("0") != str(count):
                        self.position = base + j + 1
                        self._check_se(se, ic, group, tx)
                    tx = None
                    start, skip = j + 1, k + 1
                    continue
                if tag == "GS" and group is None:
                    group = _group(elements, base + i + 1)
                    groups.append(group)
                elif tag == "GE" and group is not None:
                    count = len(group.transactions)
                    if _trailer_says(elements, count, group.control_number):
                        group.claimed_count = count
                    else:
                        self.position = base + i + 1
                        self._check_ge(elements, ic, group)
                    group = None
                elif tag == "IEA" and group is None:
                    if not _trailer_says(elements, len(groups), ic.control_number):
                        self.position = base + i + 1
                        self._check_iea(elements, ic)
                else:
                    as_expected = False
            if not as_expected:
                self.group, self.tx = group, tx
                if i > start:
                    self._run(ic, segments, start, i, base)
                self.position = base + i + 1
                self._envelope(ic, tag, elements)
                group, tx = self.group, self.tx
            start = i + 1
        self.group, self.tx, self.stray_reported = group, tx, False
        if start < len(segments):  # no IEA: what follows the last envelope segment
            self._run(ic, segments, start, len(segments), base)
        self.position = base + len(segments)

    def _run(self, ic: Interchange, segments: list[list[str]], start: int, stop: int, base: int) -> None:
        """Segments [start, stop) between two envelope segments: the open transaction set's, or outside one."""
        tx = self.tx
        if tx is not None:
            tx.segments += segments[start:stop]
            tx.segment_count += stop - start
            return
        lead = start
        if self.group is None and not ic.groups:  # TA1s (interchange acknowledgments) come before any group
            while lead < stop and segments[lead][0] == TA1:
                lead += 1
            ic.acknowledgments += segments[start:lead]
        if lead < stop and not self.stray_reported:
            self.position = base + lead + 1
            self._stray(ic, segments[lead][0])

    def _read_exact(self, ic: Interchange, pos: int) -> int:
        """Segment by segment up to and including the IEA; returns where the next interchange may start."""
        text, seps = self.text, ic.separators
        sep, terminator = seps.element, seps.segment
        strip = _edge_breaks(seps)
        while pos < len(text):
            end = text.find(terminator, pos)
            if end < 0:
                end = len(text)
            raw = text[pos:end]
            segment = raw.strip(strip) if strip else raw
            if not segment:
                pos = end + 1
                continue
            if segment.startswith("ISA") and len(segment) > 3 and _is_delimiter(segment[3]):
                self._close(ic, self.group, self.tx, "the next ISA", offset=1)
                self._error(IEA_MISSING, f"interchange {ic.control_number} has no IEA: an ISA follows", ic, offset=1)
                return pos + raw.index("ISA")
            self.position += 1
            pos = end + 1
            elements = segment.split(sep)
            tag = elements[0]
            if tag in _ENVELOPE_TAGS:
                if self._envelope(ic, tag, elements):
                    return pos
            elif self.tx is not None:
                self.tx.segments.append(elements)
                self.tx.segment_count += 1
            elif tag == TA1 and self.group is None and not ic.groups and not self.stray_reported:
                ic.acknowledgments.append(elements)
            elif not self.stray_reported:
                self._stray(ic, tag)
        self._data_ends(ic)
        return pos

    def _envelope(self, ic: Interchange, tag: str, elements: list[str]) -> bool:
        """An ST, SE, GS, GE or IEA at `position`; True when it is the IEA (the interchange is over)."""
        group, tx = self.group, self.tx
        if tag == "ST":
            if tx is not None:
                self._close(ic, group, tx, "an ST", ge=False)
            tx = self.tx = _transaction(elements, self.position)
            if group is None:
                self._error(OUTSIDE_ENVELOPE, f"ST {tx.control_number} is outside a functional group", ic)
            else:
                group.transactions.append(tx)
        elif tag == "SE":
            if tx is None:
                self._error(OUTSIDE_ENVELOPE, "SE without an ST before it", ic, group)
            else:
                tx.segment_count += 1
                self._check_se(elements, ic, group, tx)
                self.tx = None
        elif tag == "GS":
            self._close(ic, group, tx, "a GS")
            self.tx = None
            self.group = _group(elements, self.position)
            ic.groups.append(self.group)
        elif tag == "GE":
            self._close(ic, group, tx, "the GE", ge=False)
            self.tx = None
            if group is None:
                self._error(OUTSIDE_ENVELOPE, "GE without a GS before it", ic)
            else:
                self._check_ge(elements, ic, group)
                self.group = None
        else:  # IEA
            self._close(ic, group, tx, "the IEA")
            self._check_iea(elements, ic)
            return True
        self.stray_reported = False
        return False

    def _stray(self, ic: Interchange, tag: str) -> None:
        """The first segment of a run outside any transaction set (the rest of the run is not reported)."""
        group = self.group
        where = f"group {group.control_number}" if group else f"interchange {ic.control_number}"
        self._error(OUTSIDE_ENVELOPE, f"{tag} is outside a transaction set (in {where}, no ST)", ic, group)
        self.stray_reported = True

    def _data_ends(self, ic: Interchange) -> None:
        self._close(ic, self.group, self.tx, "the end of the data")
        self._error(IEA_MISSING, f"interchange {ic.control_number} has no IEA: the data ends", ic)

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
        declared, control, count = _element(elements, 1), _element(elements, 2), tx.segment_count
        if not _counts(declared, count):
            self._error(
                SE_SEGMENT_COUNT,
                f"SE01 says {declared!r} segments but transaction set {tx.set_id} {tx.control_number} has {count} "
                "(ST through SE)",
                ic,
                group,
                tx,
            )
        if not _same_control_number(control, tx.control_number):
            self._error(SE_CONTROL_NUMBER, f"SE02 {control!r} does not match ST02 {tx.control_number!r}", ic, group, tx)

    def _check_ge(self, elements: list[str], ic: Interchange, group: Group) -> None:
        declared, control, count = _element(elements, 1), _element(elements, 2), len(group.transactions)
        group.claimed_count = _number(declared)
        if group.claimed_count != count:
            self._error(
                GE_TRANSACTION_COUNT,
                f"GE01 says {declared!r} transaction sets but group {group.functional_id} {group.control_number} "
                f"has {count}",
                ic,
                group,
            )
        if not _same_control_number(control, group.control_number):
            self._error(GE_CONTROL_NUMBER, f"GE02 {control!r} does not match GS06 {group.control_number!r}", ic, group)

    def _check_iea(self, elements: list[str], ic: Interchange) -> None:
        declared, control, count = _element(elements, 1), _element(elements, 2), len(ic.groups)
        if not _counts(declared, count):
            self._error(
                IEA_GROUP_COUNT,
                f"IEA01 says {declared!r} functional groups but interchange {ic.control_number} has {count}",
                ic,
            )
        if not _same_control_number(control, ic.control_number):
            self._error(IEA_CONTROL_NUMBER, f"IEA02 {control!r} does not match ISA13 {ic.control_number!r}", ic)
