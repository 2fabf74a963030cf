"""One line of `distrosync trace`: something that happened to a business key, from any source.

Sources (the journal's events, Step Functions execution steps, delivery records of adapter calls, dead letters)
each yield `TraceEntry`s; the trace merges them in time order (docs/reliability.md, "Journal, trace and replay").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# What a line is, in the order a tie at the same instant is printed (cause before effect).
KINDS = ("event", "state", "step", "call", "dead_letter")


@dataclass(frozen=True)
class TraceEntry:
    at: datetime  # timezone-aware, UTC
    kind: str  # one of KINDS
    summary: str  # one line for people: "purchase_order.created PO-1 by erp-main"
    source: str  # where it was read: "journal", "execution <name>", "deliveries", "<dlq name>"
    details: dict[str, Any] = field(default_factory=dict)  # JSON-serializable, for --json

    def sort_key(self) -> tuple[datetime, int, str]:
        return (self.at, KINDS.index(self.kind) if self.kind in KINDS else len(KINDS), self.summary)


class TraceSource(Protocol):
    def entries(self, kind: str | None, value: str) -> Iterable[TraceEntry]:
        """Entries about the key (`kind` is po/order/sku/supplier, None for any kind), in any order."""
        ...
