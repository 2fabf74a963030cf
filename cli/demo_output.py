"""How the demos print a partner's request and its answer: one line, what was done -> status and a detail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cli.client import Reply

PROBLEM_PREFIX = "urn:distrosync:problem:"


def outcome(body: dict[str, Any]) -> str:
    """The detail of a successful answer: its `outcome` (the supplier and purchasing routes)."""
    return str(body.get("outcome", ""))


def say(
    what: str,
    reply: Reply,
    detail: str = "",
    *,
    success: Callable[[dict[str, Any]], str] = outcome,
    width: int = 66,
    limit: int = 150,
) -> Reply:
    """Print `what` padded to `width`, the status and a detail (cut at `limit` characters) and return `reply`.

    The detail is `detail` if given, else a problem's slug and detail for an error, else `success(body)`.
    """
    body = reply.json() if reply.body else {}
    if reply.status >= 300:
        slug = str((body or {}).get("type", "")).removeprefix(PROBLEM_PREFIX)
        detail = detail or f"{slug}: {(body or {}).get('detail', '')}"
    elif not detail and isinstance(body, dict):
        detail = success(body)
    print(f"  {what:<{width}} -> {reply.status} {detail}"[:limit])
    return reply
