"""Reading positions for a partner, limited to the locations it may see."""

from __future__ import annotations

from shared.api.models import InventoryView, PositionView
from shared.aws.inventory_store import InventoryStore
from shared.canonical.partner import Partner
from shared.domain.errors import NotFound, OutOfScope
from shared.domain.inventory_position import Position
from shared.domain.scopes import allows


def _view(position: Position) -> PositionView:
    return PositionView(
        location=position.location,
        on_hand=position.on_hand,
        committed=position.committed,
        reserved=position.reserved,
        unavailable=position.unavailable,
        available=position.available,
        as_of=position.as_of,
        version=position.version,
    )


def inventory_view(store: InventoryStore, partner: Partner, sku: str, location: str | None) -> InventoryView:
    if location is not None:
        if not allows(partner.scopes, "location", location):
            raise OutOfScope(partner.partner_id, "location", location)
        position = store.get(sku, location)
        if position is None:
            raise NotFound(f"no position for SKU '{sku}' at location '{location}'")
        return InventoryView(sku=sku, positions=[_view(position)])
    positions = [p for p in store.positions_for_sku(sku) if allows(partner.scopes, "location", p.location)]
    if not positions:
        raise NotFound(f"no position for SKU '{sku}' at a location you may see")
    return InventoryView(sku=sku, positions=[_view(p) for p in sorted(positions, key=lambda p: p.location)])
