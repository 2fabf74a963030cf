"""Realistic, seeded inputs for the bench: movement streams, reservation requests, channels and the item master.

Everything here is deterministic for a seed, so two runs measure the same work.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.canonical.envelope import Envelope
from shared.canonical.inventory import InventoryAdjusted, StatusChange
from shared.canonical.items import Item, Location
from shared.canonical.partner import ChannelSettings, Partner
from shared.domain.reservations import Draft, PositionKey, RequestedLine

WAREHOUSE = "bench-warehouse"  # the warehouse partner that sends most movements
ERP = "bench-erp"  # sends the odd correction
LOCATIONS = ("DC-EAST", "DC-WEST", "3PL-NORTH")
UNITS = {"each": 1, "case": 12, "pallet": 480}
SAFETY_STOCK = 2
EPOCH = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
MAX_LATE = 8  # a late movement arrives after up to this many later ones


@dataclass(frozen=True)
class MovementMix:
    """What a busy position's feed looks like, per movement delivered (the rest are deltas: picks, ships,
    receipts and ERP corrections). With counts at 1 %, tails fill up to TAIL_LIMIT between counts."""

    count: float = 0.01  # cycle count: absolute on hand with damaged stock
    status: float = 0.05  # status change between available, damaged and quality control
    late: float = 0.10  # delivered after up to MAX_LATE later movements (EventBridge/SQS do not keep order)
    duplicate: float = 0.03  # a recent message delivered again (SQS is at least once)


MIX = MovementMix()


class _Feed:
    """The movements of one position as its sources emit them (in mark order), with a running estimate of
    stock so that counts, picks and receipts stay plausible."""

    def __init__(self, sku: str, location: str, rng: random.Random, opening: int, mix: MovementMix) -> None:
        self.sku, self.location, self.rng, self.mix = sku, location, rng, mix
        self.sequences = {WAREHOUSE: 0, ERP: 0}
        self.at = EPOCH + timedelta(seconds=rng.randint(0, 3600))
        self.on_hand = opening
        self.unavailable = {"damaged": 0, "quality_control": 0}

    def envelope(self, source: str, **fields: Any) -> Envelope[InventoryAdjusted]:
        self.sequences[source] += 1
        self.at += timedelta(seconds=self.rng.expovariate(1 / 30))
        data = InventoryAdjusted(sku=self.sku, location=self.location, sequence=self.sequences[source], **fields)
        return Envelope[InventoryAdjusted].wrap(data, source_partner=source, occurred_at=self.at)

    def next(self) -> Envelope[InventoryAdjusted]:
        rng, mix = self.rng, self.mix
        roll = rng.random()
        if roll < mix.count:
            self.on_hand = max(0, self.on_hand + rng.randint(-3, 3))
            counted = {status: min(n, self.on_hand) for status, n in self.unavailable.items()}
            self.unavailable = counted
            return self.envelope(WAREHOUSE, on_hand=self.on_hand, unavailable=counted, reason="cycle_count")
        if roll < mix.count + mix.status:
            stocked = [status for status, n in self.unavailable.items() if n]
            if stocked and rng.random() < 0.5:
                from_status = rng.choice(stocked)
                move = StatusChange(from_status=from_status, to_status="available", quantity=1)
                self.unavailable[from_status] -= 1
            else:
                to_status = rng.choice(("damaged", "quality_control"))
                move = StatusChange(from_status="available", to_status=to_status, quantity=rng.randint(1, 2))
                self.unavailable[to_status] += move.quantity
            return self.envelope(WAREHOUSE, status_change=move, reason="status_change")
        if rng.random() < 0.05:
            return self.envelope(ERP, delta=rng.choice((-1, 1)), reason="correction")
        if self.on_hand < 100 or rng.random() < 0.05:
            delta, reason = rng.choice((24, 48, 96)), "receipt"
        else:
            delta, reason = -rng.randint(1, 6), rng.choice(("pick", "ship"))
        self.on_hand += delta
        reference = f"{reason.upper()}-{rng.randrange(10**8)}"
        return self.envelope(WAREHOUSE, delta=delta, reason=reason, reference=reference)


def movements(
    sku: str, location: str, *, seed: int, opening: int = 500, mix: MovementMix = MIX
) -> Iterator[Envelope[InventoryAdjusted]]:
    """One position's movements in delivery order, endless: an opening count, then the mix (late ones held
    back, recent ones delivered again)."""
    rng = random.Random(seed)
    feed = _Feed(sku, location, rng, opening, mix)
    first = feed.envelope(WAREHOUSE, on_hand=opening, reason="cycle_count")
    recent: deque[Envelope[InventoryAdjusted]] = deque([first], maxlen=16)
    yield first
    held: list[tuple[int, Envelope[InventoryAdjusted]]] = []
    tick = 0
    while True:
        tick += 1
        ready = []
        current = feed.next()
        if rng.random() < mix.late:
            held.append((tick + rng.randint(1, MAX_LATE), current))
        else:
            ready.append(current)
        ready += [e for due, e in held if due <= tick]
        held = [(due, e) for due, e in held if due > tick]
        if rng.random() < mix.duplicate:
            ready.append(rng.choice(recent))
        for e in ready:
            recent.append(e)
            yield e


# ------------------------------------------------------------------------------------------------ reservations
@dataclass(frozen=True)
class ReservationCase:
    """A reservation request and the `available` figures of its positions when it is decided."""

    draft: Draft
    available: dict[PositionKey, int]
    short: bool  # whether some line cannot be served


# Lines per request of a distributor's order mix (mean about 10): weight, (fewest, most).
LINE_COUNTS = ((25, (1, 1)), (15, (2, 2)), (10, (3, 3)), (30, (4, 10)), (15, (11, 40)), (5, (41, 100)))


def reservation_cases(
    n: int, *, seed: int, skus: int = 1000, lines: int | None = None, short_share: float = 0.2
) -> list[ReservationCase]:
    """`n` requests over `skus` SKUs at LOCATIONS: orders (80 %) and holds, 70 % of lines in eaches, 25 % in
    cases, 5 % in pallets, 5 % repeating an earlier line's SKU and location (added up); `short_share` of them
    lack stock on one line. `lines` fixes the line count (e.g. 500, the most a request may have)."""
    rng = random.Random(seed)
    weights = [w for w, _ in LINE_COUNTS]
    cases = []
    for i in range(n):
        low, high = rng.choices([r for _, r in LINE_COUNTS], weights)[0]
        count = lines or rng.randint(low, high)
        requested: list[RequestedLine] = []
        for _ in range(count):
            if requested and rng.random() < 0.05:
                earlier = rng.choice(requested)
                sku, location = earlier.sku, earlier.location
            else:
                sku, location = f"SKU-{rng.randrange(skus)}", rng.choice(LOCATIONS)
            unit = rng.choices(("each", "case", "pallet"), (70, 25, 5))[0]
            quantity = {"each": rng.randint(1, 24), "case": rng.randint(1, 5), "pallet": 1}[unit]
            requested.append(RequestedLine(sku, location, quantity, unit))
        needed: dict[PositionKey, int] = {}
        for line in requested:
            key = (line.sku, line.location)
            needed[key] = needed.get(key, 0) + line.quantity * UNITS[line.unit]
        available = {key: q + rng.randint(0, 500) for key, q in needed.items()}
        short = rng.random() < short_share
        if short:
            key = rng.choice(list(needed))
            available[key] = needed[key] - rng.randint(1, needed[key])
        kind = "order" if rng.random() < 0.8 else "hold"
        draft = Draft(reference=f"SO-{seed}-{i}", kind=kind, lines=tuple(requested))
        cases.append(ReservationCase(draft, available, short))
    return cases


# --------------------------------------------------------------------------------------------- master data
def item(sku: str) -> Item:
    return Item(sku=sku, description=f"bench item {sku}", units=UNITS, safety_stock=SAFETY_STOCK)


def location(code: str) -> Location:
    return Location(code=code, name=code)


def channel_partners(created_at: datetime) -> list[Partner]:
    """Two channels: a Shopify store selling per location from two DCs, and a marketplace selling half of the
    free pool of every location less a buffer."""

    def partner(partner_id: str, settings: ChannelSettings) -> Partner:
        return Partner(
            partner_id=partner_id,
            kind="channel",
            scopes=[f"channel:{partner_id}"],
            api_key_id=f"{partner_id}-key",
            secret_name=f"distrosync-bench/partners/{partner_id}",
            created_at=created_at,
            channel=settings,
        )

    return [
        partner(
            "shop-main",
            ChannelSettings(
                platform="shopify",
                locations=["DC-EAST", "DC-WEST"],
                location_map={"gid://shopify/Location/1": "DC-EAST", "gid://shopify/Location/2": "DC-WEST"},
            ),
        ),
        partner("marketplace", ChannelSettings(platform="other", share=0.5, buffer=2)),
    ]
