"""The golden record from its source records: per attribute, the value of the best-ranked source that has one
(pure; ADR 0011).

A source ranks by its system's partner kind in the attribute's priority list (kinds not listed come after the
listed ones), then by recency (`as_of`), then by its key (so equal inputs always give the same golden). A
source without a value for an attribute (None, empty list) does not compete for it. The defaults below can be
overridden per attribute with the JSON of `SUPPLIER_SURVIVORSHIP`, e.g. `{"payment_terms": ["erp", "finance"]}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ATTRIBUTES: tuple[str, ...] = (
    "legal_name",
    "trading_name",
    "tax_id",
    "duns",
    "address",
    "remit_to",
    "bank_account",
    "payment_terms",
    "contacts",
    "status",
    "default_lead_time_days",
    "ack_window_hours",
)
SOURCE_KINDS: tuple[str, ...] = ("erp", "finance", "procurement", "quality")

_IDENTITY = ("erp", "procurement", "finance", "quality")
_MONEY = ("finance", "erp")
_BUYING = ("procurement", "erp")
DEFAULT_PRIORITIES: Mapping[str, tuple[str, ...]] = {
    "legal_name": _IDENTITY,
    "tax_id": _IDENTITY,
    "duns": _IDENTITY,
    "address": _IDENTITY,
    "bank_account": _MONEY,
    "remit_to": _MONEY,
    "payment_terms": _MONEY,
    "status": ("quality", "erp"),  # a hold or block by quality wins over the ERP's "active"
    "contacts": _BUYING,
    "trading_name": _BUYING,
    "default_lead_time_days": _BUYING,
    "ack_window_hours": _BUYING,
}


class InvalidPriorities(ValueError):
    pass


@dataclass(frozen=True)
class SourceValues:
    """One source record as survivorship sees it. `values`: attribute -> JSON-ready value (None: absent)."""

    key: str  # "<system>#<local id>"
    kind: str  # the system's partner kind
    as_of: datetime
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Survived:
    values: dict[str, Any]  # attribute -> winning value (None: no source has one)
    winners: dict[str, str]  # attribute -> key of the winning source


def parse_priorities(text: str | None) -> dict[str, tuple[str, ...]]:
    """The defaults, overridden per attribute by `text` (JSON object: attribute -> list of partner kinds)."""
    priorities = dict(DEFAULT_PRIORITIES)
    if not text or not text.strip():
        return priorities
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidPriorities(f"SUPPLIER_SURVIVORSHIP is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidPriorities("SUPPLIER_SURVIVORSHIP must be a JSON object: attribute -> list of partner kinds")
    for attribute, kinds in data.items():
        if attribute not in ATTRIBUTES:
            raise InvalidPriorities(f"unknown supplier attribute {attribute!r} (one of {', '.join(ATTRIBUTES)})")
        if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
            raise InvalidPriorities(f"{attribute}: give a non-empty list of partner kinds")
        unknown = sorted(set(kinds) - set(SOURCE_KINDS))
        if unknown:
            raise InvalidPriorities(f"{attribute}: unknown source kind(s) {', '.join(unknown)}")
        priorities[attribute] = tuple(dict.fromkeys(kinds))
    return priorities


def _absent(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""


def survive(sources: Sequence[SourceValues], priorities: Mapping[str, Sequence[str]] = DEFAULT_PRIORITIES) -> Survived:
    values: dict[str, Any] = {}
    winners: dict[str, str] = {}
    for attribute in ATTRIBUTES:
        order = list(priorities.get(attribute, DEFAULT_PRIORITIES[attribute]))
        contenders = [s for s in sources if not _absent(s.values.get(attribute))]
        if not contenders:
            values[attribute] = None
            continue
        # Sort by key first, then (stable) by recency and rank: ties resolve the same way on every run.
        contenders.sort(key=lambda s: s.key)
        contenders.sort(key=lambda s: s.as_of, reverse=True)
        contenders.sort(key=lambda s: order.index(s.kind) if s.kind in order else len(order))
        best = contenders[0]
        values[attribute] = best.values[attribute]
        winners[attribute] = best.key
    return Survived(values, winners)


def changed(before: Mapping[str, Any], after: Mapping[str, Any], attributes: Iterable[str] = ATTRIBUTES) -> list[str]:
    """The attributes whose value differs (absent and None are the same)."""
    return [a for a in attributes if _normal(before.get(a)) != _normal(after.get(a))]


def _normal(value: Any) -> Any:
    return None if _absent(value) else value
