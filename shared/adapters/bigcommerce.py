"""BigCommerce webhooks: token verification, the `store/sku/inventory/updated` and `store/order/created` payloads.

BigCommerce does not sign webhook bodies. A webhook subscription can carry custom headers, which BigCommerce
sends with every delivery: the operator puts the token distrosync issued for the channel in
`X-Distrosync-Webhook-Token` (`"headers": {"X-Distrosync-Webhook-Token": "<token>"}` when creating the hook
with `POST /stores/{store_hash}/v3/hooks`). The topic is the body's `scope`.

`store/sku/inventory/updated` says `data.id` (the SKU, i.e. variant, id) changed: `inventory.method`
`absolute` with `value` the new level, or `relative` with `value` the change. It names no location.
BigCommerce sends no delivery id; a retry repeats the body byte for byte.

`store/order/created` is thin: `data.id` names the order, which is read from the V2 API
(`shared.adapters.bigcommerce_api`).
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from shared.adapters import (
    ChannelAdapter,
    Delivery,
    Headers,
    PayloadError,
    StockReport,
    identifier,
    integer,
    json_object,
)

TOKEN_HEADER = "x-distrosync-webhook-token"
SKU_INVENTORY_UPDATED = "store/sku/inventory/updated"
ORDER_CREATED = "store/order/created"
METHODS = ("absolute", "relative")


def verify(secret: str, headers: Headers, body: bytes) -> bool:
    presented = headers.get(TOKEN_HEADER)
    if not presented:
        return False
    return hmac.compare_digest(secret.encode(), presented.strip().encode())


def parse_sku_inventory(doc: dict[str, object]) -> StockReport:
    """A `store/sku/inventory/updated` document -> the channel's figure (or change) for one SKU id."""
    data = doc.get("data")
    if not isinstance(data, dict):
        raise PayloadError("'data' must be an object")
    inventory = data.get("inventory")
    if not isinstance(inventory, dict):
        raise PayloadError("'data.inventory' must be an object")
    method = inventory.get("method")
    if method not in METHODS:
        raise PayloadError(f"'data.inventory.method' must be one of {', '.join(METHODS)}, got {method!r}")
    created_at = integer(doc, "created_at")
    return StockReport(
        external_item_id=identifier(data, "id"),
        external_location_id=None,
        quantity=integer(inventory, "value"),
        reported_at=datetime.fromtimestamp(created_at, UTC),
        relative=method == "relative",
    )


def order_ref(doc: dict[str, object]) -> str:
    """The id of the order a `store/order/created` document names."""
    data = doc.get("data")
    if not isinstance(data, dict):
        raise PayloadError("'data' must be an object")
    return identifier(data, "id")


def read(headers: Headers, body: bytes) -> Delivery:
    doc = json_object(body)
    scope = doc.get("scope")
    topic = scope if isinstance(scope, str) else ""
    if topic == SKU_INVENTORY_UPDATED:
        return Delivery(topic=topic, delivery_id=None, report=parse_sku_inventory(doc))
    if topic == ORDER_CREATED:
        return Delivery(topic=topic, delivery_id=None, order_ref=order_ref(doc))
    return Delivery(topic=topic, delivery_id=None)


ADAPTER = ChannelAdapter(platform="bigcommerce", credential_header=TOKEN_HEADER, verify=verify, read=read)
