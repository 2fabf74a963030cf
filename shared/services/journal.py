"""The journal: every distrosync event, indexed under each business key it is about (docs/reliability.md).

One item per (business key, event): partition `KEY#<kind>:<value>`, sort `<received_at>#<event id>`, so a key's
items come back in the order distrosync heard of them, and a redelivered or replayed event writes the same item
again (idempotent). The item holds who, what and when, and a one-line summary for people: ids, statuses and
quantities only, never names, addresses, prices or bank data (supplier events carry masked or encrypted fields;
nothing of them is summarised).

Pure: no AWS calls (the table is `shared/aws/journal_store.py`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.canonical.business_keys import MAX_KEYS, business_keys
from shared.domain.failures import ClassifiedError, FailureClass

KEY_PREFIX = "KEY#"
DEFAULT_RETENTION_DAYS = 90
SUMMARY_LIMIT = 200
# Supply-line references name their PO first: `<po>/<line>`, `<po>/<line>#<n>`, `<po>/<line>/<ship notice id>`.
REFERENCE_FIELDS = ("incoming_reference", "reference")
# Nested documents whose id and status stand for the event (an order inside order.created, ...).
_DOCUMENTS = ("purchase_order", "order", "ship_notice", "invoice", "reservation", "supplier", "shipment")
_ID_FIELDS = ("po_number", "order_id", "ship_notice_id", "invoice_id", "reservation_id", "acknowledgment_id")


class NotAnEvent(ClassifiedError, ValueError):
    """The message is not a distrosync envelope: a validation failure, retrying cannot help."""

    failure_class = FailureClass.VALIDATION


@dataclass(frozen=True)
class JournalSettings:
    table_name: str
    retention_days: int = DEFAULT_RETENTION_DAYS

    @classmethod
    def from_env(cls) -> JournalSettings:
        table = os.environ.get("JOURNAL_TABLE_NAME")
        if not table:
            raise RuntimeError("environment variable JOURNAL_TABLE_NAME is not set")
        return cls(table, int(os.environ.get("JOURNAL_RETENTION_DAYS", str(DEFAULT_RETENTION_DAYS))))


def partition_key(key: str) -> str:
    return f"{KEY_PREFIX}{key}"


def journal_keys(detail: Mapping[str, Any]) -> list[str]:
    """The event's business keys (`business_keys`), plus the PO of a supply-line reference (a receipt against
    `PO-1/1` belongs to PO-1's story)."""
    keys = business_keys(detail)
    data = detail.get("data")
    if isinstance(data, Mapping):
        for field in REFERENCE_FIELDS:
            value = data.get(field)
            if isinstance(value, str) and "/" in value:
                key = f"po:{value.split('/', 1)[0]}"
                if key not in keys and len(keys) < MAX_KEYS:
                    keys.append(key)
    return keys


def summarize(detail: Mapping[str, Any]) -> str:
    """`order.status_changed SO-1 allocated -> released (order-flow)`: type, subject, what changed, who said it."""
    data = detail.get("data") if isinstance(detail.get("data"), Mapping) else {}
    subject = str(detail.get("subject") or "")
    parts = [str(detail.get("type", "?")), subject]
    parts.extend(_facts(data))
    named = set(re.split(r"[/@#]", subject))
    for name in _DOCUMENTS:
        inner = data.get(name)
        if isinstance(inner, Mapping):
            parts.extend(fact for fact in _facts(inner, ids=True) if fact not in named)
    text = " ".join(p for p in parts if p)
    if detail.get("source_partner"):
        text += f" ({detail['source_partner']})"
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def _facts(data: Mapping[str, Any], *, ids: bool = False) -> list[str]:
    """Statuses, transitions, quantities and versions of one level of `data` (nothing else is shown)."""
    facts: list[str] = []
    if ids:
        facts.extend(str(data[f]) for f in _ID_FIELDS if isinstance(data.get(f), str))
    status, previous = data.get("status"), data.get("previous_status")
    if isinstance(status, str):
        facts.append(f"{previous} -> {status}" if isinstance(previous, str) else status)
    for field in ("outcome", "kind", "step", "milestone"):
        if isinstance(data.get(field), str):
            facts.append(f"{field} {data[field]}")
    for field, label in (("quantity", "qty"), ("on_hand", "on_hand"), ("available", "available")):
        value = data.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            facts.append(f"{label} {value}")
    lines = data.get("lines")
    if isinstance(lines, list) and lines:
        facts.append(f"{len(lines)} line{'s' if len(lines) != 1 else ''}")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        facts.append(f"v{version}")
    return facts


def _aware(value: str | datetime) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value}")
    return at


def iso_millis(value: str | datetime) -> str:
    """`2026-11-27T10:00:01.123Z`: UTC, milliseconds, sortable as text."""
    return _aware(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def journal_items(detail: Mapping[str, Any], *, retention_days: int) -> list[dict[str, Any]]:
    """One item per business key of the envelope `detail` (none when it names no key). Every field, the TTL too
    (`received_at` + retention), follows from the event: a redelivery or a replay writes the same items."""
    for field in ("id", "type", "received_at"):
        if not isinstance(detail.get(field), str) or not detail[field]:
            raise NotAnEvent(f"not a distrosync envelope: no {field}")
    try:
        received_at = _aware(detail["received_at"])
        received = iso_millis(received_at)
        occurred = iso_millis(detail["occurred_at"]) if detail.get("occurred_at") else None
    except ValueError as exc:
        raise NotAnEvent(f"not a distrosync envelope: {exc}") from None
    keys = journal_keys(detail)
    base = {
        "sk": f"{received}#{detail['id']}",
        "event_id": detail["id"],
        "type": detail["type"],
        "subject": detail.get("subject"),
        "correlation_id": detail.get("correlation_id"),
        "causation_id": detail.get("causation_id"),
        "source_partner": detail.get("source_partner"),
        "occurred_at": occurred,
        "received_at": received,
        "summary": summarize(detail),
        "keys": keys,
        "expires_at": int(received_at.timestamp()) + retention_days * 86400,
    }
    return [{"pk": partition_key(key), "key": key, **base} for key in keys]
