"""The 997 functional acknowledgment for every functional group the reader read (issue #6, item 2).

Pure Python, no AWS. One 997 per inbound group: AK1 (GS01, GS06; GS08 as AK103 from release 005010 on, where the
997 defines it), one AK2 (ST01, ST02) + AK5 per transaction set, AK9 with the counts. The reader's envelope errors
map onto the X12 codes (X12 element 718 for AK5, element 716 for AK9), as listed e.g. in Microsoft's "997
functional acknowledgments and error codes for X12 messages" (MicrosoftDocs/azure-docs,
articles/logic-apps/logic-apps-enterprise-integration-x12-997-acknowledgment.md):

- AK501/AK901: A accepted, E accepted but errors were noted, P partially accepted (at least one set rejected),
  R rejected.
- AK502..AK506: 2 transaction set trailer missing, 3 transaction set control number in header and trailer do not
  match, 4 number of included segments does not match actual count. Each rejects the set (R).
- AK905..AK909: 3 functional group trailer missing, 4 group control number in the functional group header and
  trailer do not agree, 5 number of included transaction sets does not match actual count. Each rejects the group
  (R, AK904 = 0): its trailer cannot be trusted, so none of its sets is taken.

A segment outside any set inside a group leaves the sets as they are and makes the group E (no code fits it).
Interchange-level errors (ISA/IEA) are the TA1's business, not the 997's. The 997 goes back from the receiver to the
sender: ISA05/06 and ISA07/08 swapped, GS02/GS03 swapped, the inbound ISA12, separators and test flag kept; one
response interchange per inbound interchange, one FA group per inbound group, control numbers from the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.x12.model import (
    GE_CONTROL_NUMBER,
    GE_MISSING,
    GE_TRANSACTION_COUNT,
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
_MAX_CODES = 5  # AK502..AK506, AK905..AK909
_AK103_FROM = "005010"  # AK103 (the GS08 acknowledged) is defined in the 997 from release 005010 on

# Asked for the next ISA13, GS06 or ST02 of the 997s ("ISA", "GS", "ST").
ControlNumbers = Callable[[str], int]


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


def judge(group: Group, errors: Iterable[EnvelopeError]) -> GroupAck:
    """The verdict on one group from the envelope errors that concern it (see `errors_by_owner`)."""
    set_codes: dict[int, list[str]] = {}
    group_codes: list[str] = []
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
    sets = tuple(
        SetAck(tx.set_id, tx.control_number, "R" if set_codes.get(id(tx)) else "A", tuple(set_codes.get(id(tx), ())))
        for tx in group.transactions
    )
    received = len(sets)
    accepted = 0 if group_codes else sum(1 for s in sets if s.status == "A")
    if group_codes or (received and accepted == 0):
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
        included=received,
        received=received,
        accepted=accepted,
        codes=tuple(group_codes),
    )


def acknowledge(result: ParseResult) -> list[tuple[Interchange, list[GroupAck]]]:
    """The verdicts for every group of every interchange read, in file order."""
    owned = errors_by_owner(result)
    return [(ic, [judge(g, owned.get(id(g), [])) for g in ic.groups]) for ic in result.interchanges]


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


def _owner(transactions: Sequence[Transaction], control_number: str, segment: int) -> Transaction | None:
    candidates = [tx for tx in transactions if tx.control_number == control_number]
    before = [tx for tx in candidates if tx.position <= segment]
    return (before or candidates or [None])[-1]


def _add(codes: list[str], code: str) -> None:
    if code not in codes and len(codes) < _MAX_CODES:
        codes.append(code)


def ack_interchanges(result: ParseResult, numbers: ControlNumbers) -> list[OutInterchange]:
    """The 997 interchanges: one per inbound interchange that has groups, from its receiver back to its sender."""
    out = []
    for ic, acks in acknowledge(result):
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
        out.append(
            OutInterchange(
                sender=Party(ic.receiver.qualifier, ic.receiver.id),
                receiver=Party(ic.sender.qualifier, ic.sender.id),
                control_number=numbers("ISA"),
                version=ic.version,
                separators=ic.separators,
                groups=groups,
                test=ic.test,
            )
        )
    return out


def write_acks(result: ParseResult, numbers: ControlNumbers, when: datetime, *, line_break: str = "") -> str:
    """The 997 interchanges for `result` as X12 text."""
    return write(ack_interchanges(result, numbers), when, line_break=line_break)


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
