"""Reading positions for a partner, limited to the locations it may see: views, ATP, batch queries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

from shared.api.query_models import (
    AtpPoint,
    AtpView,
    IncomingLineView,
    InventoryView,
    LocationAtp,
    PositionView,
    SourceView,
    Totals,
)
from shared.aws.inventory_store import InventoryStore
from shared.canonical.partner import Partner
from shared.domain.atp import AtpAnswer, atp, timeline
from shared.domain.errors import NotFound, OutOfScope
from shared.domain.inventory_position import Mark, Position
from shared.domain.scopes import allows
from shared.http import problems as p
from shared.http.problems import Problem

MAX_QUERY_SKUS = 100
_QUERY_THREADS = 8


def _sources(position: Position) -> list[SourceView]:
    newest: dict[str, Mark] = {}
    for mark in [position.base_mark, *(t.mark for t in position.tail)]:
        if mark is not None and (mark.source not in newest or newest[mark.source] < mark):
            newest[mark.source] = mark
    return [SourceView(source=s, sequence=m.sequence, occurred_at=m.at) for s, m in sorted(newest.items())]


def position_view(position: Position) -> PositionView:
    incoming = position.incoming_open
    raw = position.available
    return PositionView(
        location=position.location,
        on_hand=position.on_hand,
        committed=position.committed,
        reserved=position.reserved,
        unavailable=position.unavailable,
        unavailable_total=position.unavailable_total,
        available=max(raw, 0),
        shortage=max(-raw, 0),
        on_order=sum(i.quantity for i in incoming if i.kind == "on_order"),
        in_transit=sum(i.quantity for i in incoming if i.kind == "in_transit"),
        incoming=[
            IncomingLineView(
                reference=i.reference,
                kind=i.kind,
                quantity=i.quantity,
                expected_date=i.expected_date,
                received=i.received,
            )
            for i in incoming
        ],
        lots=position.lots,
        as_of=position.as_of,
        sources=_sources(position),
        version=position.version,
    )


def sku_view(sku: str, positions: list[Position]) -> InventoryView:
    views = [position_view(p) for p in sorted(positions, key=lambda p: p.location)]
    return InventoryView(
        sku=sku,
        totals=Totals(
            on_hand=sum(v.on_hand for v in views),
            committed=sum(v.committed for v in views),
            reserved=sum(v.reserved for v in views),
            unavailable_total=sum(v.unavailable_total for v in views),
            available=sum(v.available for v in views),
            on_order=sum(v.on_order for v in views),
            in_transit=sum(v.in_transit for v in views),
        ),
        positions=views,
    )


def _visible(partner: Partner, positions: list[Position]) -> list[Position]:
    return [p for p in positions if allows(partner.scopes, "location", p.location)]


def _check_location(partner: Partner, location: str | None) -> None:
    if location is not None and not allows(partner.scopes, "location", location):
        raise OutOfScope(partner.partner_id, "location", location)


def inventory_view(store: InventoryStore, partner: Partner, sku: str, location: str | None) -> InventoryView:
    _check_location(partner, location)
    if location is not None:
        position = store.get(sku, location)
        positions = [position] if position else []
    else:
        positions = _visible(partner, store.positions_for_sku(sku))
    if not positions:
        where = f"location '{location}'" if location else "a location you may see"
        raise NotFound(f"no position for SKU '{sku}' at {where}")
    return sku_view(sku, positions)


def _point(answer: AtpAnswer) -> AtpPoint:
    return AtpPoint(
        date=answer.date,
        available=answer.available,
        on_order=answer.on_order,
        in_transit=answer.in_transit,
        atp=answer.atp,
        shortage=answer.shortage,
    )


def atp_view(
    store: InventoryStore, partner: Partner, sku: str, location: str | None, on: date | None, today: date
) -> AtpView:
    on = on or today
    if on < today:
        raise Problem(p.VALIDATION_FAILED, f"date {on.isoformat()} is in the past; ATP is for today or later")
    view_positions = inventory_positions(store, partner, sku, location)
    answers = [
        LocationAtp(
            location=position.location,
            answer=_point(atp(position, on, today)),
            timeline=[_point(a) for a in timeline(position, today)],
        )
        for position in view_positions
    ]
    return AtpView(sku=sku, date=on, atp=sum(a.answer.atp for a in answers), locations=answers)


def inventory_positions(store: InventoryStore, partner: Partner, sku: str, location: str | None) -> list[Position]:
    _check_location(partner, location)
    positions = _visible(partner, store.positions_for_sku(sku))
    if location is not None:
        positions = [p for p in positions if p.location == location]
    if not positions:
        where = f"location '{location}'" if location else "a location you may see"
        raise NotFound(f"no position for SKU '{sku}' at {where}")
    return positions


def query(
    store: InventoryStore, partner: Partner, skus: list[str], locations: list[str] | None
) -> tuple[list[InventoryView], list[str]]:
    """Up to 100 SKUs: one BatchGetItem per 100 positions when locations are given, else one Query per SKU."""
    wanted = list(dict.fromkeys(skus))
    if len(wanted) > MAX_QUERY_SKUS:
        raise Problem(
            p.TOO_MANY_LINES,
            f"the query names {len(wanted)} SKUs; at most {MAX_QUERY_SKUS} per request",
            {"limit": MAX_QUERY_SKUS},
        )
    for location in locations or []:
        _check_location(partner, location)
    found: dict[str, list[Position]] = {}
    if locations:
        positions = store.get_many((sku, loc) for sku in wanted for loc in dict.fromkeys(locations)).values()
        for position in positions:
            found.setdefault(position.sku, []).append(position)
    else:
        with ThreadPoolExecutor(max_workers=min(_QUERY_THREADS, len(wanted))) as pool:
            for sku, positions in zip(wanted, pool.map(store.positions_for_sku, wanted), strict=True):
                visible = _visible(partner, positions)
                if visible:
                    found[sku] = visible
    views = [sku_view(sku, found[sku]) for sku in wanted if sku in found]
    return views, [sku for sku in wanted if sku not in found]
