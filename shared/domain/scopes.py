"""What a partner may act for: `kind:value` scopes, `kind:*` for every value of a kind, `*` for everything."""

from __future__ import annotations

from collections.abc import Iterable

from shared.canonical.partner import SCOPE_KINDS


def parse_scope(scope: str) -> tuple[str, str]:
    """Validate one scope string; returns (kind, value). Raises ValueError with the reason."""
    if scope == "*":
        return ("*", "*")
    kind, sep, value = scope.partition(":")
    if not sep or not value:
        raise ValueError(f"scope {scope!r} must look like 'location:DC-EAST', 'supplier:SUP-1' or '*'")
    if kind not in SCOPE_KINDS:
        raise ValueError(f"scope kind {kind!r} is not one of {', '.join(SCOPE_KINDS)}")
    return kind, value


def allows(scopes: Iterable[str], kind: str, value: str) -> bool:
    for scope in scopes:
        if scope == "*":
            return True
        s_kind, _, s_value = scope.partition(":")
        if s_kind == kind and s_value in ("*", value):
            return True
    return False
