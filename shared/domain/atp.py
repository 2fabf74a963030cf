"""Time-phased available-to-promise for one position (pure). Rules: docs/inventory.md, "Vocabulary".

ATP on date D (D >= today) = available + the open incoming expected on or before D. Incoming counts only for
D after today (it is not here yet today); a line whose date has passed still counts for any D after today
(late supply is still expected). The answer is clamped at 0, with what is promised beyond it as `shortage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from shared.domain.inventory_position import Incoming, Position

ON_ORDER = "on_order"
IN_TRANSIT = "in_transit"


@dataclass(frozen=True)
class AtpAnswer:
    date: date
    available: int  # on hand less committed, reserved and unavailable (may be negative)
    incoming: int  # open supply counted for this date (on_order + in_transit)
    on_order: int
    in_transit: int
    atp: int  # available + incoming, at least 0
    shortage: int  # what is promised beyond stock and supply by this date, at least 0


def atp(position: Position, on: date, today: date) -> AtpAnswer:
    """What can be promised at the position's location on date `on`, seen on `today`."""
    if on < today:
        raise ValueError(f"ATP is asked for today or later: {on.isoformat()} is before {today.isoformat()}")
    return _answer(position.available, position.incoming_open, on, today)


def timeline(position: Position, today: date) -> list[AtpAnswer]:
    """ATP today and on each later date where it changes: each future expected date of open supply, and
    tomorrow when supply expected today or earlier is still open (it counts from tomorrow on)."""
    lines = position.incoming_open
    tomorrow = today + timedelta(days=1)
    dates = sorted({max(line.expected_date, tomorrow) for line in lines})
    available = position.available
    return [_answer(available, lines, day, today) for day in [today, *dates]]


def _answer(available: int, lines: list[Incoming], on: date, today: date) -> AtpAnswer:
    on_order = in_transit = 0
    if on > today:
        for line in lines:
            if line.expected_date <= on:
                if line.kind == IN_TRANSIT:
                    in_transit += line.quantity
                elif line.kind == ON_ORDER:
                    on_order += line.quantity
                else:
                    raise ValueError(f"incoming {line.reference}: unknown kind {line.kind!r}")
    total = available + on_order + in_transit
    return AtpAnswer(
        date=on,
        available=available,
        incoming=on_order + in_transit,
        on_order=on_order,
        in_transit=in_transit,
        atp=max(0, total),
        shortage=max(0, -total),
    )
