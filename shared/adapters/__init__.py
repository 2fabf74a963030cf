"""Sales-channel adapters: authenticate and read what a platform sends, exactly as it sends it (pure: no AWS).

Each platform module exposes an `ADAPTER`: the header that carries its credential, `verify(secret, headers,
raw body)` (constant-time) and `read(headers, raw body) -> Delivery`. Headers are given lower-cased.
Bodies are parsed from the raw bytes with Python's `json`, whose integers are exact: an id such as
271878346596884015 is never rounded through a float (but a platform may have rounded it before sending:
see `channel_orders`).

A delivery carries a stock report (inventory topics), a whole order (Shopify `orders/create`), or only an
order's id (BigCommerce `store/order/created`, read from its API by `bigcommerce_api`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.adapters.channel_orders import ChannelOrder

Headers = Mapping[str, str]


class PayloadError(ValueError):
    """The body is not the shape the platform documents for this topic."""


@dataclass(frozen=True)
class StockReport:
    """One channel's figure for one of its items, before it is mapped to our SKU and location."""

    external_item_id: str
    external_location_id: str | None  # None: the platform does not say (e.g. BigCommerce)
    quantity: int | None  # None: the channel does not track inventory for the item
    reported_at: datetime
    relative: bool = False  # True: `quantity` is a change of the channel's own count, not the count


@dataclass(frozen=True)
class Delivery:
    """A webhook delivery: its topic, the platform's delivery id if it sends one, and what it says when the
    topic is one we read (all None: a topic distrosync does not handle)."""

    topic: str
    delivery_id: str | None
    report: StockReport | None = None
    order: ChannelOrder | None = None  # an order the platform sent whole
    order_ref: str | None = None  # the id of an order the platform only names: read it from its API


@dataclass(frozen=True)
class ChannelAdapter:
    platform: str
    credential_header: str  # lower-case name of the header carrying the signature or token
    verify: Callable[[str, Headers, bytes], bool]
    read: Callable[[Headers, bytes], Delivery]


def adapter_for(platform: str) -> ChannelAdapter | None:
    """The adapter of a platform, or None when distrosync reads no webhooks from it."""
    if platform == "shopify":
        from shared.adapters import shopify

        return shopify.ADAPTER
    if platform == "bigcommerce":
        from shared.adapters import bigcommerce

        return bigcommerce.ADAPTER
    return None


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (exact integers), or PayloadError."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise PayloadError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PayloadError("the body must be a JSON object")
    return doc


def integer(doc: Mapping[str, Any], name: str) -> int:
    """`doc[name]` as a JSON integer (booleans and floats refused)."""
    value = nullable_integer(doc, name)
    if value is None:
        raise PayloadError(f"'{name}' must be an integer, got null")
    return value


def nullable_integer(doc: Mapping[str, Any], name: str) -> int | None:
    """`doc[name]` as a JSON integer or null; the member itself must be present."""
    if name not in doc:
        raise PayloadError(f"'{name}' is missing")
    value = doc[name]
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise PayloadError(f"'{name}' must be an integer, got {value!r}")
    return value


def identifier(doc: Mapping[str, Any], name: str) -> str:
    """An id the platform sends as a JSON integer or string, as our string form."""
    value = doc.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value) == "":
        raise PayloadError(f"'{name}' must be an id (integer or string), got {value!r}")
    return str(value)
