"""Acknowledgments of what the reader read (issue #6): the 997 for every functional group, and the TA1 for an
interchange refused as a whole.

Pure Python, no AWS. One 997 per inbound group: AK1 (GS01, GS06; GS08 as AK103 from release 005010 on, where the
997 defines it), one AK2 (ST01, ST02) + AK5 per transaction set, AK9 with the counts. The reader's envelope errors
map onto the X12 codes (X12 element 718 for AK5, element 716 for AK9), as listed e.g. in Microsoft's "997
functional acknowledgments and error codes for X12 messages" (MicrosoftDocs/azure-docs,
articles/logic-apps/logic-apps-enterprise-integration-x12-997-acknowledgment.md) and in the element 718/716 code
lists of the X12 dictionaries (e.g. stedi.com/edi/x12-004010/element/718 and .../716):

- AK501/AK901: A accepted, E accepted but errors were noted, P partially accepted (at least one set rejected),
  R rejected.
- AK502..AK506: 2 transaction set trailer missing, 3 transaction set control number in header and trailer do not
  match, 4 number of included segments does not match actual count. Each rejects the set (R).
- AK905..AK909: 3 functional group trailer missing, 4 group control number in the functional group header and
  trailer do not agree, 5 number of included transaction sets does not match actual count. Each rejects the group
  (R, AK904 = 0): its trailer cannot be trusted, so none of its sets is taken.

A segment outside any set inside a group leaves the sets as they are and makes the group E (no code fits it).

**Application ids** (`application_ids`: the GS02/GS03 the partner's profile expects, its GS id and ours). A group from
another application sender (GS02) or to another application receiver (GS03) is rejected whole: AK9 R, AK904 = 0,
AK905.. 7 (Invalid Application Sender's Code) and/or 8 (Invalid Application Receiver's Code); its sets' AK5 stay as
their own envelopes make them, as for the GE codes above. Element 716 defines 7 and 8 from release 005040 on (004010
and 005010 have no code for it: their translators read 7/8 as an unknown code of a rejected group, which it is).

**Sets the gateway refuses.** `rejections` maps (ISA13, GS06, ST02) to an element 718 code the caller gives a set
the reader read well: `NOT_SUPPORTED` (1, transaction set not supported: the partner's profile does not list it) or
`SEGMENTS_IN_ERROR` (5, one or more segments in error: the set did not map). Such a set gets AK5 R with that code
(after the reader's own codes, if any) and the group AK9 P or R as for any rejected set. Control numbers in the keys
are compared like the reader compares them (as numbers when digits); a key naming no set read is a `ValueError`.

**Duplicate interchange** (`duplicate=True`: the sender already used this ISA13 for another file). Every group is
rejected, AK9 R with AK904 = 0, and every set AK5 R. No 718 or 716 code says "duplicate interchange": 716's 19
(functional group control number not unique within interchange) and 718's 23 (transaction set control number not
unique within the functional group) are about repeats inside one interchange, and the interchange is the TA1's
level. So these AK5/AK9 carry only the reader's codes, if any (AK502 and AK905 are optional), and the TA1 sent with
the 997 says why: TA105 025.

**TA1** (`write_ta1`): an interchange holding only `TA1*<ISA13>*<ISA09>*<ISA10>*<A|E|R>*<note>` (IEA01 = 0), for an
interchange refused as a whole: its sender, receiver or test indicator is not the profile's, or it is a duplicate.
The note codes are X12 element I18 (TA105; stedi.com/edi/x12-004010/element/I18; the `NOTE_*` constants).

**IEA errors** (`trailer_note`). TA104 says whether the sender must send the data again: E ("accepted, but errors
are noted: the sender must not resend this data") when the IEA is there but lies, R when it is missing:
- 001 IEA02 is not ISA13 (I18: "the value from the header is used in the acknowledgment") and 021 IEA01 is not the
  number of groups read: the interchange came whole from ISA to IEA, and each group is guarded by its own GS/GE and
  judged by its own 997, so the groups stand as their 997s say. R would ask for a resend of groups already taken.
- 023 (improper, premature end of file) when the data or the next ISA comes before any IEA: the interchange may be
  cut, so none of it is taken (no 997) and the sender sends it again whole.
Both are what common translators do (BizTalk's and ediFabric's TA1 tables: 001 E, 021 E, 023 R).

**Direction and numbers.** A 997 or TA1 goes back from the receiver to the sender: ISA05/06 and ISA07/08 swapped,
GS02/GS03 swapped, the inbound ISA12, separators and test flag kept, ISA14 0. One 997 interchange per inbound
interchange (`write_acks(..., interchange=ic)` writes the one of `ic` only, as the gateway files one 997 per inbound
interchange), one FA group per inbound group. Control numbers come from a `ControlNumbers`: `counting_from(n)` for
a run of the CLI, `from_numbers(...)` for numbers the gateway allocated from the partner's sequences
(`EdiStore.allocate`), as many as `numbers_needed(...)` says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.x12.model import (
    GE_CONTROL_NUMBER,
    GE_MISSING,
    GE_TRANSACTION_COUNT,
    IEA_CONTROL_NUMBER,
    IEA_GROUP_COUNT,
    IEA_MISSING,
    OUTSIDE_ENVELOPE,
    SE_CONTROL_NUMBER,
    SE_MISSING,
    SE_SEGMENT_COUNT,
    EnvelopeError,
    Group,
    Interchange,
    ParseResult,
    Party,
    Transaction,
)
from shared.adapters.x12.writer import OutGroup, OutInterchange, OutTransaction, write

# AK502..AK506 (X12 element 718) for the reader's transaction set errors.
SET_CODES = {SE_MISSING: "2", SE_CONTROL_NUMBER: "3", SE_SEGMENT_COUNT: "4"}
# AK905..AK909 (X12 element 716) for the reader's functional group errors.
GROUP_CODES = {GE_MISSING: "3", GE_CONTROL_NUMBER: "4", GE_TRANSACTION_COUNT: "5"}
# AK502..AK506 (element 718) for sets the gateway refuses (`rejections`).
NOT_SUPPORTED = "1"  # Transaction Set Not Supported
SEGMENTS_IN_ERROR = "5"  # One or More Segments in Error
# AK905..AK909 (element 716, from release 005040 on) for a group whose GS02/GS03 is not the profile's.
INVALID_SENDER = "7"  # Invalid Application Sender's Code (GS02)
INVALID_RECEIVER = "8"  # Invalid Application Receiver's Code (GS03)
_MAX_CODES = 5  # AK502..AK506, AK905..AK909
_AK103_FROM = "005010"  # AK103 (the GS08 acknowledged) is defined in the 997 from release 005010 on

# TA105 interchange note codes (X12 element I18) the gateway gives.
NOTE_NO_ERROR = "000"  # No error (with TA104 A)
NOTE_SENDER_QUALIFIER = "005"  # Invalid Interchange ID Qualifier for Sender (ISA05)
NOTE_SENDER = "006"  # Invalid Interchange Sender ID (ISA06)
NOTE_RECEIVER_QUALIFIER = "007"  # Invalid Interchange ID Qualifier for Receiver (ISA07)
# Invalid Interchange Receiver ID (ISA08). Not 009 "Unknown Interchange Receiver ID": that one began as the network
# provider's "could not deliver because of unknown receiver ID" (element I18 in 003040); we are the receiver addressed.
NOTE_RECEIVER = "008"
NOTE_TEST_INDICATOR = "020"  # Invalid Test Indicator Value (ISA15)
NOTE_DUPLICATE = "025"  # Duplicate Interchange Control Number (ISA13)
NOTE_CONTROL_NUMBERS = "001"  # The Interchange Control Numbers in the Header and Trailer Do Not Match (IEA02)
NOTE_GROUP_COUNT = "021"  # Invalid Number of Included Groups Value (IEA01)
NOTE_END_OF_FILE = "023"  # Improper (Premature) End-of-File (Transmission): no IEA
# The reader's IEA errors -> (TA104, TA105); see "IEA errors" above. R before E when an interchange has several.
TRAILER_NOTES = {
    IEA_MISSING: ("R", NOTE_END_OF_FILE),
    IEA_CONTROL_NUMBER: ("E", NOTE_CONTROL_NUMBERS),
    IEA_GROUP_COUNT: ("E", NOTE_GROUP_COUNT),
}
TA1_STATUSES = ("A", "E", "R")  # TA104 (element I17): accepted, accepted with errors, rejected

# (ISA13, GS06, ST02) of a set read -> the element 718 code it is refused with.
Rejections = Mapping[tuple[str, str, str], str]
# The application ids a group must carry: (GS02, GS03), i.e. the partner's GS id and ours.
ApplicationIds = tuple[str, str]

# Asked for the next ISA13, GS06 or ST02 of the 997s and TA1s ("ISA", "GS", "ST").
ControlNumbers = Callable[[str], int]
_KINDS = ("ISA", "GS", "ST")


@dataclass(frozen=True, slots=True)
class SetAck:
    """AK2 + AK5 for one transaction set."""

    set_id: str
    control_number: str
    status: str
    codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupAck:
    """AK1 + AK9 for one functional group, with its sets' AK2/AK5."""

    functional_id: str
    control_number: str
    version: str
    sets: tuple[SetAck, ...]
    status: str
    included: int
    received: int
    accepted: int
    codes: tuple[str, ...] = ()

    def segments(self) -> list[list[str]]:
        """The 997 body between ST and SE."""
        ak1 = ["AK1", self.functional_id, self.control_number]
        if _base_version(self.version) >= _AK103_FROM:
            ak1.append(self.version)  # AK103 exists from the 005010 997 on
        body = [ak1]
        for s in self.sets:
            body.append(["AK2", s.set_id, s.control_number])
            body.append(["AK5", s.status, *s.codes])
        body.append(["AK9", self.status, str(self.included), str(self.received), str(self.accepted), *self.codes])
        return body


def judge(
    group: Group,
    errors: Iterable[EnvelopeError],
    *,
    rejected: Mapping[str, str] | None = None,
    duplicate: bool = False,
    application_ids: ApplicationIds | None = None,
) -> GroupAck:
    """The verdict on one group from the envelope errors that concern it (see `errors_by_owner`), the sets the
    caller refuses (`rejected`: ST02 -> element 718 code), whether its interchange is a duplicate and the GS02/GS03
    it must carry (`application_ids`)."""
    set_codes: dict[int, list[str]] = {}
    group_codes: list[str] = [code for code, _ in application_id_errors(group, application_ids)]
    noted = False
    for error in errors:
        if error.kind in SET_CODES and error.transaction is not None:
            tx = _owner(group.transactions, error.transaction, error.segment)
            if tx is not None:
                _add(set_codes.setdefault(id(tx), []), SET_CODES[error.kind])
        elif error.kind in GROUP_CODES:
            _add(group_codes, GROUP_CODES[error.kind])
        elif error.kind == OUTSIDE_ENVELOPE:
            noted = True
    if rejected:
        for tx in group.transactions:
            code = rejected.get(_control_key(tx.control_number))
            if code is not None:
                _add(set_codes.setdefault(id(tx), []), code)
    sets = tuple(
        SetAck(
            tx.set_id,
            tx.control_number,
            "R" if duplicate or set_codes.get(id(tx)) else "A",
            tuple(set_codes.get(id(tx), ())),
        )
        for tx in group.transactions
    )
    received = len(sets)
    accepted = 0 if group_codes or duplicate else sum(1 for s in sets if s.status == "A")
    if group_codes or duplicate or (received and accepted == 0):
        status = "R"
    elif accepted < received:
        status = "P"
    else:
        status = "E" if noted else "A"
    return GroupAck(
        functional_id=group.functional_id,
        control_number=group.control_number,
        version=group.version,
        sets=sets,
        status=status,
        # AK902 is what the sender says it included (GE01), AK903 what came: a lying GE shows as the difference.
        included=group.claimed_count if group.claimed_count is not None else received,
        received=received,
        accepted=accepted,
        codes=tuple(group_codes),
    )


def acknowledge(
    result: ParseResult,
    *,
    rejections: Rejections | None = None,
    duplicate: bool = False,
    application_ids: ApplicationIds | None = None,
) -> list[tuple[Interchange, list[GroupAck]]]:
    """The verdicts for every group of every interchange read, in file order (`duplicate`: every interchange of
    `result` is one; `application_ids`: the GS02/GS03 every group must carry)."""
    return _verdicts(result, result.interchanges, rejections, duplicate, application_ids)


def _verdicts(
    result: ParseResult,
    interchanges: Sequence[Interchange],
    rejections: Rejections | None,
    duplicate: bool,
    application_ids: ApplicationIds | None,
) -> list[tuple[Interchange, list[GroupAck]]]:
    owned = errors_by_owner(result)
    refused = _rejections_by_group(result, rejections or {})
    return [
        (
            ic,
            [
                judge(
                    g,
                    owned.get(id(g), []),
                    rejected=refused.get(id(g)),
                    duplicate=duplicate,
                    application_ids=application_ids,
                )
                for g in ic.groups
            ],
        )
        for ic in interchanges
    ]


def application_id_errors(group: Group, expected: ApplicationIds | None) -> list[tuple[str, str]]:
    """(element 716 code, sentence) for each of GS02/GS03 that is not the one `expected` (none when not given).
    Compared without surrounding spaces, case and all, as the ISA ids are."""
    if expected is None:
        return []
    checks = (
        (group.sender, expected[0], INVALID_SENDER, "GS02 (application sender)"),
        (group.receiver, expected[1], INVALID_RECEIVER, "GS03 (application receiver)"),
    )
    return [
        (code, f"{what} of group {group.control_number} is '{got}'; the partner's profile says '{want}' (AK9 R {code})")
        for got, want, code, what in checks
        if got.strip() != want.strip()
    ]


def trailer_note(errors: Iterable[EnvelopeError]) -> tuple[str, str, list[EnvelopeError]] | None:
    """The TA1 (TA104, TA105) for the IEA errors among `errors` (one interchange's), and those errors; None when
    its IEA is right. A TA1 names one note: R before E, else the first in file order."""
    found = [e for e in errors if e.kind in TRAILER_NOTES]
    if not found:
        return None
    first = min(found, key=lambda e: (TRAILER_NOTES[e.kind][0] != "R", e.segment))
    status, note = TRAILER_NOTES[first.kind]
    return status, note, found


def errors_by_owner(result: ParseResult) -> dict[int, list[EnvelopeError]]:
    """Each group-scoped error under the group it concerns (keyed by `id(group)`): the last group of the named
    interchange with that GS06 that starts at or before the error's position, so repeated control numbers in one
    file still land right."""
    groups = [(ic, g) for ic in result.interchanges for g in ic.groups]
    owned: dict[int, list[EnvelopeError]] = {}
    for error in result.errors:
        if error.group is None or error.interchange is None:
            continue
        candidates = [
            g for ic, g in groups if ic.control_number == error.interchange and g.control_number == error.group
        ]
        before = [g for g in candidates if g.position <= error.segment]
        owner = (before or candidates or [None])[-1]
        if owner is not None:
            owned.setdefault(id(owner), []).append(error)
    return owned


def _rejections_by_group(result: ParseResult, rejections: Rejections) -> dict[int, dict[str, str]]:
    """The rejections under the groups they name (keyed by `id(group)`, then by ST02 as `_control_key`)."""
    refused: dict[int, dict[str, str]] = {}
    for (isa13, gs06, st02), code in rejections.items():
        if not (code.isdigit() and 1 <= len(code) <= 3):
            raise ValueError(f"AK5 code {code!r} for set {st02!r} is not an X12 element 718 code (1 to 3 digits)")
        groups = [
            g
            for ic in result.interchanges
            if _control_key(ic.control_number) == _control_key(isa13)
            for g in ic.groups
            if _control_key(g.control_number) == _control_key(gs06)
            and any(_control_key(tx.control_number) == _control_key(st02) for tx in g.transactions)
        ]
        if not groups:
            raise ValueError(f"rejection for ISA13 {isa13!r} GS06 {gs06!r} ST02 {st02!r}: no such set was read")
        for g in groups:
            refused.setdefault(id(g), {})[_control_key(st02)] = code
    return refused


def _control_key(control_number: str) -> str:
    """Control numbers as the reader compares them: as numbers when digits (leading zeros pad them)."""
    value = control_number.strip()
    return str(int(value)) if value.isdigit() else value


def _owner(transactions: Sequence[Transaction], control_number: str, segment: int) -> Transaction | None:
    candidates = [tx for tx in transactions if tx.control_number == control_number]
    before = [tx for tx in candidates if tx.position <= segment]
    return (before or candidates or [None])[-1]


def _add(codes: list[str], code: str) -> None:
    if code not in codes and len(codes) < _MAX_CODES:
        codes.append(code)


def ack_interchanges(
    result: ParseResult,
    numbers: ControlNumbers,
    *,
    interchange: Interchange | None = None,
    rejections: Rejections | None = None,
    duplicate: bool = False,
    application_ids: ApplicationIds | None = None,
) -> list[OutInterchange]:
    """The 997 interchanges: one per inbound interchange that has groups (only `interchange`'s when given, which
    must be one of `result.interchanges`), from its receiver back to its sender."""
    if interchange is None:
        chosen: Sequence[Interchange] = result.interchanges
    elif any(ic is interchange for ic in result.interchanges):
        chosen = [interchange]
    else:
        raise ValueError(f"interchange {interchange.control_number} is not one of the result's")
    out = []
    for ic, acks in _verdicts(result, chosen, rejections, duplicate, application_ids):
        if not acks:
            continue
        groups = [
            OutGroup(
                functional_id="FA",
                sender=group.receiver,
                receiver=group.sender,
                control_number=numbers("GS"),
                version=_base_version(ack.version),
                transactions=[OutTransaction("997", numbers("ST"), ack.segments())],
            )
            for group, ack in zip(ic.groups, acks, strict=True)
        ]
        out.append(_reply(ic, numbers("ISA"), groups=groups))
    return out


def write_acks(
    result: ParseResult,
    numbers: ControlNumbers,
    when: datetime,
    *,
    interchange: Interchange | None = None,
    rejections: Rejections | None = None,
    duplicate: bool = False,
    application_ids: ApplicationIds | None = None,
    line_break: str = "",
) -> str:
    """The 997 interchanges for `result` (or for its `interchange` only) as X12 text; "" when there is no group."""
    acks = ack_interchanges(
        result,
        numbers,
        interchange=interchange,
        rejections=rejections,
        duplicate=duplicate,
        application_ids=application_ids,
    )
    return write(acks, when, line_break=line_break)


def write_ta1(
    interchange: Interchange,
    note_code: str,
    numbers: ControlNumbers,
    when: datetime,
    *,
    status: str = "R",
    interchange_date: str | None = None,
    interchange_time: str | None = None,
    line_break: str = "",
) -> str:
    """A TA1 interchange for `interchange`: `TA1*<ISA13>*<ISA09>*<ISA10>*<status>*<note_code>`, no group.

    TA102/TA103 repeat the inbound ISA09 (YYMMDD) and ISA10 (HHMM): given here, else the interchange's own
    `date` and `time` as the reader kept them."""
    if status not in TA1_STATUSES:
        raise ValueError(f"TA104 {status!r} is not one of {', '.join(TA1_STATUSES)}")
    if not (len(note_code) == 3 and note_code.isdigit()):
        raise ValueError(f"TA105 {note_code!r} is not an X12 element I18 code (3 digits)")
    if (status == "A") != (note_code == NOTE_NO_ERROR):
        raise ValueError(f"TA104 {status} does not go with TA105 {note_code}: A goes with {NOTE_NO_ERROR} only")
    date = interchange_date if interchange_date is not None else getattr(interchange, "date", "")
    time = interchange_time if interchange_time is not None else getattr(interchange, "time", "")
    if not (len(date) == 6 and date.isdigit()):
        raise ValueError(f"TA102 needs the inbound ISA09 as YYMMDD, not {date!r}")
    if not (len(time) == 4 and time.isdigit()):
        raise ValueError(f"TA103 needs the inbound ISA10 as HHMM, not {time!r}")
    ta1 = ["TA1", interchange.control_number, date, time, status, note_code]
    return write([_reply(interchange, numbers("ISA"), acknowledgments=[ta1])], when, line_break=line_break)


def _reply(
    ic: Interchange,
    control_number: int,
    *,
    groups: Sequence[OutGroup] = (),
    acknowledgments: Sequence[Sequence[str]] = (),
) -> OutInterchange:
    """An interchange from `ic`'s receiver back to its sender, in `ic`'s ISA12, separators and test flag."""
    return OutInterchange(
        sender=Party(ic.receiver.qualifier, ic.receiver.id),
        receiver=Party(ic.sender.qualifier, ic.sender.id),
        control_number=control_number,
        version=ic.version,
        separators=ic.separators,
        groups=groups,
        test=ic.test,
        acknowledgments=acknowledgments,
    )


def numbers_needed(interchange: Interchange, *, acks: bool = True, ta1: bool = False) -> tuple[int, int, int]:
    """(ISA13s, GS06s, ST02s) that `write_acks(..., interchange=interchange)` (when `acks`) and `write_ta1` (when
    `ta1`) consume together: a 997 interchange with one group and one set per inbound group, if it has any; a TA1
    one ISA13. For `EdiStore.allocate(partner, interchanges=, groups=, sets=)`."""
    groups = len(interchange.groups) if acks else 0
    return (1 if groups else 0) + (1 if ta1 else 0), groups, groups


def from_numbers(interchanges: Sequence[int], groups: Sequence[int], sets: Sequence[int]) -> ControlNumbers:
    """Control numbers handed out in the order given (e.g. an `EdiStore.allocate` result's lists); asking for more
    ISA13s, GS06s or ST02s than given is a `ValueError`, as it means the allocation was too small."""
    given = {"ISA": list(interchanges), "GS": list(groups), "ST": list(sets)}
    used = dict.fromkeys(_KINDS, 0)

    def next_number(kind: str) -> int:
        if kind not in given:
            raise ValueError(f"unknown control number kind {kind!r} (one of {', '.join(_KINDS)})")
        index = used[kind]
        if index >= len(given[kind]):
            raise ValueError(f"asked for {kind} control number {index + 1} but only {len(given[kind])} were allocated")
        used[kind] = index + 1
        return given[kind][index]

    return next_number


def counting_from(first: int) -> ControlNumbers:
    """Control numbers for one run: each of ISA13, GS06 and ST02 counts up from `first` on its own."""
    state: dict[str, int] = {}

    def next_number(kind: str) -> int:
        state[kind] = state.get(kind, first - 1) + 1
        return state[kind]

    return next_number


def _base_version(version: str) -> str:
    """GS08 for the 997: the release of the group acknowledged (its first 6 characters, without VICS/UCS suffixes
    or an implementation guide id), which is the release the partner's translator reads."""
    return version[:6] if len(version) >= 6 and version[:6].isdigit() else version
