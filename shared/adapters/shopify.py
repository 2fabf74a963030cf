"""Shopify webhooks: `X-Shopify-Hmac-Sha256` verification, the `inventory_levels/update` and `orders/create`
payloads (the order's mapping, exact ids included, is `shared.adapters.channel_orders.from_shopify`).

Shopify signs the raw body: base64(HMAC-SHA256(app client secret, body)). It sends the topic in
`X-Shopify-Topic` and a delivery id in `X-Shopify-Webhook-Id` that stays the same when it retries a delivery
(newer API versions add `X-Shopify-Event-Id`, the same for every subscription an event goes to: preferred).

`inventory_levels/update` carries `inventory_item_id` as a JSON number of 18 digits, which tools that parse
JSON into doubles round (the hookdeck sample shows 271878346596884000); `admin_graphql_api_id` carries the
exact id as text (`gid://shopify/InventoryLevel/<level>?inventory_item_id=271878346596884015`). We take the
id from the gid and fall back to the number only when the gid lacks it. `available: null` means Shopify does
not track inventory for the item.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from shared.adapters import (
    ChannelAdapter,
    Delivery,
    Headers,
    PayloadError,
    StockReport,
    identifier,
    json_object,
    nullable_integer,
)

HMAC_HEADER = "x-shopify-hmac-sha256"
TOPIC_HEADER = "x-shopify-topic"
WEBHOOK_ID_HEADER = "x-shopify-webhook-id"
EVENT_ID_HEADER = "x-shopify-event-id"  # newer API versions: the same event delivered to several subscriptions
INVENTORY_LEVELS_UPDATE = "inventory_levels/update"
ORDERS_CREATE = "orders/create"


def signature(secret: str, body: bytes) -> str:
    """What Shopify puts in X-Shopify-Hmac-Sha256 for `body` (also how tests sign the corpus bodies)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(secret: str, headers: Headers, body: bytes) -> bool:
    presented = headers.get(HMAC_HEADER)
    if not presented:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), presented.strip().encode())


def inventory_item_id(doc: dict[str, object]) -> str:
    """The exact inventory item id: from the GraphQL id when it carries one, else the JSON number."""
    gid = doc.get("admin_graphql_api_id")
    if isinstance(gid, str):
        exact = parse_qs(urlsplit(gid).query).get("inventory_item_id", [])
        if exact:
            if not exact[0].isdigit():
                raise PayloadError(f"'admin_graphql_api_id' has a malformed inventory_item_id: {gid!r}")
            return exact[0]
    return identifier(doc, "inventory_item_id")


def parse_inventory_level(body: bytes) -> StockReport:
    """An `inventory_levels/update` body -> the channel's figure for one item at one Shopify location."""
    doc = json_object(body)
    updated_at = doc.get("updated_at")
    if not isinstance(updated_at, str):
        raise PayloadError("'updated_at' must be an ISO 8601 timestamp")
    try:
        reported_at = datetime.fromisoformat(updated_at)
    except ValueError:
        raise PayloadError(f"'updated_at' is not an ISO 8601 timestamp: {updated_at!r}") from None
    if reported_at.tzinfo is None:
        raise PayloadError(f"'updated_at' must carry a time zone: {updated_at!r}")
    return StockReport(
        external_item_id=inventory_item_id(doc),
        external_location_id=identifier(doc, "location_id"),
        quantity=nullable_integer(doc, "available"),
        reported_at=reported_at,
    )


def read(headers: Headers, body: bytes) -> Delivery:
    topic = (headers.get(TOPIC_HEADER) or "").strip()
    delivery_id = (headers.get(EVENT_ID_HEADER) or headers.get(WEBHOOK_ID_HEADER) or "").strip() or None
    if topic == INVENTORY_LEVELS_UPDATE:
        return Delivery(topic=topic, delivery_id=delivery_id, report=parse_inventory_level(body))
    if topic == ORDERS_CREATE:
        from shared.adapters.channel_orders import from_shopify

        return Delivery(topic=topic, delivery_id=delivery_id, order=from_shopify(json_object(body), headers))
    return Delivery(topic=topic, delivery_id=delivery_id)


ADAPTER = ChannelAdapter(platform="shopify", credential_header=HMAC_HEADER, verify=verify, read=read)
