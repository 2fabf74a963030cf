"""X12 EDI inbound: the reader (envelopes, delimiters, envelope checks) and its result model."""

from shared.adapters.inbound.x12.model import (
    ERROR_KINDS,
    EnvelopeError,
    Group,
    Interchange,
    ParseResult,
    Party,
    Separators,
    Transaction,
)
from shared.adapters.inbound.x12.reader import decode, read

__all__ = [
    "ERROR_KINDS",
    "EnvelopeError",
    "Group",
    "Interchange",
    "ParseResult",
    "Party",
    "Separators",
    "Transaction",
    "decode",
    "read",
]
