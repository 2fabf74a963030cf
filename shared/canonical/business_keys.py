"""The business keys an event is about: `po:<number>`, `order:<id>`, `sku:<sku>`, `supplier:<id>`.

Ops look a flow up by the key they know (docs/reliability.md, "Tracing"): the journal indexes every event under
each of its keys, dead letters carry the first one, `dlq redrive --where business_key=...` selects by it.
Keys are read from the event's `data` by field name, at any depth (an order's lines, a PO inside
`purchase_order`), so a new event type is indexed without a table to keep up to date.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

# data field -> key kind, in the order keys are listed (the first found is the event's primary key).
KEY_FIELDS: tuple[tuple[str, str], ...] = (
    ("po_number", "po"),
    ("order_id", "order"),
    ("supplier_id", "supplier"),
    ("golden_id", "supplier"),
    ("sku", "sku"),
)
KINDS = tuple(dict.fromkeys(kind for _, kind in KEY_FIELDS))
MAX_KEYS = 32  # an event with hundreds of lines is still indexed under a bounded number of keys
_MAX_DEPTH = 4


def business_keys(detail: Mapping[str, Any]) -> list[str]:
    """Keys of an envelope's JSON (EventBridge `detail`), primary first; empty when there is none."""
    data = detail.get("data")
    keys: list[str] = []
    if isinstance(data, Mapping):
        for kind, value in _scan(data, 0):
            key = f"{kind}:{value}"
            if key not in keys:
                keys.append(key)
                if len(keys) == MAX_KEYS:
                    break
    return keys


def primary_business_key(detail: Mapping[str, Any]) -> str | None:
    """The key ops would name first (PO, then order, supplier, SKU), else the envelope's `subject`."""
    keys = business_keys(detail)
    if keys:
        return keys[0]
    subject = detail.get("subject")
    return str(subject) if subject else None


def parse_key(text: str) -> tuple[str | None, str]:
    """`po:PO-1` -> ("po", "PO-1"); a bare value -> (None, value), which `trace` looks up under every kind."""
    kind, sep, value = text.partition(":")
    if sep and kind in KINDS and value:
        return kind, value
    return None, text


def _scan(data: Mapping[str, Any], depth: int) -> Iterator[tuple[str, str]]:
    for field, kind in KEY_FIELDS:
        value = data.get(field)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            yield kind, str(value)
    if depth >= _MAX_DEPTH:
        return
    for value in data.values():
        if isinstance(value, Mapping):
            yield from _scan(value, depth + 1)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    yield from _scan(item, depth + 1)
