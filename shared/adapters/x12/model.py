"""What the X12 reader returns: the envelopes as read, the segments for mapping, and the envelope errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Separators:
    """The delimiters an ISA declares; `repetition` only when ISA11 is one (ISA12 00402 and later)."""

    element: str
    component: str
    segment: str
    repetition: str | None = None


@dataclass(frozen=True, slots=True)
class Party:
    """A sender or receiver as the ISA names it (ISA05/06, ISA07/08), the id without its padding."""

    qualifier: str
    id: str

    def to_dict(self) -> dict[str, str]:
        return {"qualifier": self.qualifier, "id": self.id}


@dataclass(slots=True)
class Transaction:
    """One ST..SE set. `segments` holds the body between ST and SE, each segment as its elements ([0] = its id);
    `segment_count` is what was counted (ST..SE inclusive), whatever SE01 says."""

    set_id: str
    control_number: str
    position: int
    segments: list[list[str]] = field(default_factory=list)
    segment_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"set_id": self.set_id, "control_number": self.control_number, "segment_count": self.segment_count}


@dataclass(slots=True)
class Group:
    """One GS..GE functional group."""

    functional_id: str
    sender: str
    receiver: str
    version: str
    control_number: str
    position: int
    transactions: list[Transaction] = field(default_factory=list)
    date: str = ""  # GS04 as written (CCYYMMDD, or YYMMDD before 004010)
    time: str = ""  # GS05 as written (HHMM[SS[d..]])
    claimed_count: int | None = None  # GE01 as the sender wrote it (None: no GE, or not a number)

    def to_dict(self) -> dict[str, Any]:
        return {
            "functional_id": self.functional_id,
            "version": self.version,
            "control_number": self.control_number,
            "transactions": [t.to_dict() for t in self.transactions],
        }


@dataclass(slots=True)
class Interchange:
    """One ISA..IEA interchange; `version` is ISA12, `test` is ISA15 == "T"."""

    control_number: str
    sender: Party
    receiver: Party
    version: str
    separators: Separators
    test: bool
    position: int
    groups: list[Group] = field(default_factory=list)
    date: str = ""  # ISA09 as written (YYMMDD): a TA1 repeats it
    time: str = ""  # ISA10 as written (HHMM)
    acknowledgments: list[list[str]] = field(default_factory=list)  # TA1 segments before the first GS

    def to_dict(self) -> dict[str, Any]:
        return {
            "control_number": self.control_number,
            "sender": self.sender.to_dict(),
            "receiver": self.receiver.to_dict(),
            "version": self.version,
            "groups": [g.to_dict() for g in self.groups],
        }


# The envelope error kinds, one per rule the reader checks (docs/edi.md lists them).
ISA_MALFORMED = "isa_malformed"
NO_INTERCHANGE = "no_interchange"
OUTSIDE_ENVELOPE = "segment_outside_envelope"
IEA_MISSING = "iea_missing"
IEA_GROUP_COUNT = "iea_group_count"
IEA_CONTROL_NUMBER = "iea_control_number"
GE_MISSING = "ge_missing"
GE_TRANSACTION_COUNT = "ge_transaction_count"
GE_CONTROL_NUMBER = "ge_control_number"
SE_MISSING = "se_missing"
SE_SEGMENT_COUNT = "se_segment_count"
SE_CONTROL_NUMBER = "se_control_number"
ERROR_KINDS = (
    ISA_MALFORMED,
    NO_INTERCHANGE,
    OUTSIDE_ENVELOPE,
    IEA_MISSING,
    IEA_GROUP_COUNT,
    IEA_CONTROL_NUMBER,
    GE_MISSING,
    GE_TRANSACTION_COUNT,
    GE_CONTROL_NUMBER,
    SE_MISSING,
    SE_SEGMENT_COUNT,
    SE_CONTROL_NUMBER,
)


@dataclass(frozen=True, slots=True)
class EnvelopeError:
    """An envelope rule broken: which one (`kind`), where (ISA13, GS06, ST02 and the segment's 1-based position in
    the file, counting the ISA), and a sentence for a person."""

    kind: str
    message: str
    segment: int
    interchange: str | None = None
    group: str | None = None
    transaction: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "interchange": self.interchange,
            "group": self.group,
            "transaction": self.transaction,
            "segment": self.segment,
        }


@dataclass(slots=True)
class ParseResult:
    """Everything read from one file: the interchanges (also those with errors) and the errors, in file order."""

    interchanges: list[Interchange] = field(default_factory=list)
    errors: list[EnvelopeError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "interchanges": [i.to_dict() for i in self.interchanges],
            "errors": [e.to_dict() for e in self.errors],
        }
