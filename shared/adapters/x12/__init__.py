"""X12 EDI: the reader (envelopes, delimiters, envelope checks) and its result model, the writer, the 997, the
mappings to canonical requests and the outbound documents."""

from shared.adapters.x12.model import (
    ERROR_KINDS,
    EnvelopeError,
    Group,
    Interchange,
    ParseResult,
    Party,
    Separators,
    Transaction,
)
from shared.adapters.x12.reader import decode, read

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
