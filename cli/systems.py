"""`distrosync` subcommands of issue #4 (docs/supplier-collaboration.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ACTIONS: dict[str, Callable[[dict[str, str], Any], int]] = {}


def add_arguments(sub: Any, targeted: Callable[[Any], None]) -> None:
    """Register the subcommand's parser on `sub` (argparse subparsers); `targeted` adds --local/--stack/--env/--json."""
