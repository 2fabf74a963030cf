"""The correlation id of a business flow: the caller's `X-Correlation-Id` when well-formed, else a new one."""

from __future__ import annotations

import re

from shared.canonical.envelope import new_id

_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")


def correlation_id(header_value: str | None) -> str:
    return header_value if header_value and _VALID.match(header_value) else new_id()
