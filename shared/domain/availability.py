"""What each sales channel may sell of one SKU (pure). Rules: docs/inventory.md, "Channel availability".

For one channel: `pool = Σ max(0, available)` over its locations (none listed: all);
`free = max(0, pool - Σ holds of the other channels sharing a location with it)`;
`sellable = min(pool, min(hold, pool) + max(0, floor(free * share) - buffer - safety_stock))`.
Per location (channels that report per location, e.g. Shopify): the same rule without holds, with that
one location as the pool.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class ChannelRules:
    channel: str
    locations: tuple[str, ...] = ()  # location codes feeding the channel; empty: all
    share: float = 1.0  # 0..1 of the free pool
    buffer: int = 0  # units held back
    safety_stock: int = 0  # units held back
    hold: int = 0  # units ring-fenced for this channel

    def __post_init__(self) -> None:
        if not isinstance(self.channel, str) or not self.channel:
            raise ValueError("channel: a non-empty name is required")
        if isinstance(self.locations, str) or not all(isinstance(code, str) and code for code in self.locations):
            raise ValueError(f"channel {self.channel}: locations must be a sequence of location codes")
        object.__setattr__(self, "locations", tuple(dict.fromkeys(self.locations)))
        share = self.share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ValueError(f"channel {self.channel}: share must be a number from 0 to 1 ({share!r})")
        for name in ("buffer", "safety_stock", "hold"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ValueError(f"channel {self.channel}: {name} must be a non-negative integer ({value!r})")

    @property
    def exact_share(self) -> Fraction:
        """The share as the decimal it was written as (0.29 is 29/100, not the float just below it)."""
        return Fraction(repr(self.share))


@dataclass(frozen=True)
class ChannelFigure:
    channel: str
    sellable: int
    by_location: dict[str, int]  # location -> sellable there, for each of the channel's locations


def sellable(
    available_by_location: dict[str, int], channel: ChannelRules, others: Iterable[ChannelRules]
) -> ChannelFigure:
    """The channel's sellable quantity, in total and per location.

    `available_by_location` holds each location's `available` (negative allowed: it adds nothing).
    `others` may include `channel` itself (every channel of the SKU): it is skipped by name.
    """
    for code, quantity in available_by_location.items():
        if type(quantity) is not int:
            raise ValueError(f"available at {code} must be an integer ({quantity!r})")
    everywhere = tuple(available_by_location)
    ours = channel.locations or everywhere
    pool = sum(max(0, available_by_location.get(code, 0)) for code in ours)
    ours_set = set(ours)
    held_by_others = sum(
        other.hold
        for other in others
        if other.channel != channel.channel and not ours_set.isdisjoint(other.locations or everywhere)
    )
    free = max(0, pool - held_by_others)
    share = channel.exact_share
    held_back = channel.buffer + channel.safety_stock
    total = min(pool, min(channel.hold, pool) + max(0, math.floor(free * share) - held_back))
    by_location = {}
    for code in ours:
        here = max(0, available_by_location.get(code, 0))
        by_location[code] = min(here, max(0, math.floor(here * share) - held_back))
    return ChannelFigure(channel=channel.channel, sellable=total, by_location=by_location)
