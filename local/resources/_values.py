"""Small conversions between CloudFormation property values and AWS API parameters."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any


def api_string(value: Any) -> str:
    """CloudFormation numbers, booleans and objects as the string an attribute map expects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def pick(props: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The subset of `props` named in `keys` (same names in CloudFormation and the API)."""
    return {k: props[k] for k in keys if k in props and props[k] is not None}


def tag_map(tags: Any) -> dict[str, str]:
    """CloudFormation `[{Key, Value}]` (or an already-flat map) -> `{key: value}`."""
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    return {t["Key"]: str(t["Value"]) for t in tags or []}


def tag_list(tags: Any, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tag_map(tags).items()]
