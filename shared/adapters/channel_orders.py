"""Platform orders -> a channel order -> our `CustomerOrder` (pure: no AWS).

Shopify `orders/create` sends the order whole; BigCommerce `store/order/created` only names it, and the order is
read from its V2 API (`shared.adapters.bigcommerce_api`). Both become a `ChannelOrder`: the platform's own ids
and figures, exact; `customer_order` then maps it to ours (docs/order-to-ship.md, "Order capture").

Exact ids. Shopify's ids are 64-bit integers, which its webhook JSON carries as numbers that tools parsing JSON
into doubles have rounded before we see them: the corpus order says `"id": 820982911946154500` beside
`"admin_graphql_api_id": "gid://shopify/Order/820982911946154508"` and the header `X-Shopify-Order-Id:
820982911946154508`. So the order id comes from the gid, else from that header; a line id from the line's gid.
A JSON number is used only when it is at most 2^53, below which a double holds every integer and no rounding can
have happened (variant ids, which have no gid in the payload, are 14 digits today); a larger one is not trusted:
the line is then looked up by its SKU.

Lines: those that ship (Shopify `requires_shipping`, BigCommerce `type` physical), numbered by their position
among the platform's lines. Each maps to an item by the cross-reference {system: <channel>, id: <variant id>},
else {system: <channel>, id: <sku>}, else by the SKU itself when it is an item of the master.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from pydantic import ValidationError

from shared.adapters import Headers, PayloadError, identifier, integer
from shared.canonical.orders import CustomerOrder, OrderLine, ShipTo
from shared.domain.order_flow import OrderPolicy

MAX_EXACT_DOUBLE = 2**53  # every integer up to here survives a trip through a double
ORDER_ID_MAX = 64
SHOPIFY_ORDER_ID_HEADER = "x-shopify-order-id"
_GID = re.compile(r"^gid://shopify/(?P<kind>[A-Za-z]+)/(?P<id>\d{1,20})(?:\?.*)?$")
_PRICE = re.compile(r"^\d{1,20}(\.\d{1,10})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DIGITS = re.compile(r"^\d{1,20}$")


@dataclass(frozen=True)
class ChannelOrderLine:
    line: int  # our line number: the position among the platform's lines (1-based)
    quantity: int
    external_line_id: str | None
    variant_id: str | None  # None: the platform sent none, or a number too large to be exact
    sku: str | None  # the platform's SKU text (a merchant's code, possibly ours)
    unit_price: str | None
    title: str | None  # the product's title, to name the line in problems

    @property
    def item_ids(self) -> tuple[str, ...]:
        """The channel's ids of the item, most specific first: what its cross-references are looked up by."""
        return tuple(dict.fromkeys(i for i in (self.variant_id, self.sku) if i))


@dataclass(frozen=True)
class ChannelOrder:
    platform: str
    external_id: str  # exact, as text
    customer_ref: str | None
    placed_at: datetime
    currency: str | None
    ship_to: ShipTo | None
    lines: tuple[ChannelOrderLine, ...]  # the lines that ship
    skipped_lines: int = 0  # lines that need no shipping (digital goods, gift cards, nothing left to ship)


@dataclass(frozen=True)
class UnmappedLine:
    line: int
    external_line_id: str | None
    variant_id: str | None
    sku: str | None
    title: str | None

    def describe(self, channel: str) -> str:
        ids = " or ".join(f"{{system: {channel}, id: {i}}}" for i in (self.variant_id, self.sku) if i)
        what = f" ({self.title})" if self.title else ""
        return f"line {self.line}{what}: no item has the cross-reference {ids or '(the line names no item id)'}"


class UnmappedLines(Exception):
    """Lines of a channel order that map to no item of the master."""

    def __init__(self, lines: Sequence[UnmappedLine]) -> None:
        self.lines = tuple(lines)
        super().__init__(f"{len(self.lines)} line(s) map to no item")


# ----------------------------------------------------------------------------------------------- helpers
def exact_number(value: Any) -> str | None:
    """A non-negative JSON integer as text when it cannot have been rounded (at most 2^53), else None."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_EXACT_DOUBLE:
        return None
    return str(value)


def shopify_gid(value: Any, kind: str) -> str | None:
    """The numeric id of a Shopify GraphQL id of `kind` (`gid://shopify/Order/820982911946154508`), else None."""
    if not isinstance(value, str):
        return None
    match = _GID.match(value)
    if match is None or match["kind"] != kind:
        return None
    return match["id"]


def _text(value: Any, name: str, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise PayloadError(f"'{name}' must be text")
    text = str(value).strip()
    if len(text) > max_length:
        raise PayloadError(f"'{name}' has more than {max_length} characters")
    return text or None


def _price(value: Any) -> str | None:
    """Decimal text as the platforms send money (`"1.99"`, `"45.0000"`); None when absent or not decimal text."""
    return value.strip() if isinstance(value, str) and _PRICE.match(value.strip()) else None


def _currency(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise PayloadError(f"'{name}' must be an ISO 4217 code such as USD, got {value!r}")
    return value


def _ship_to(name: str, fields: Mapping[str, Any]) -> ShipTo:
    """A `ShipTo` from the platform's address fields; a field too long or malformed is named, its value never."""
    try:
        return ShipTo.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        where = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        raise PayloadError(f"'{name}' has fields distrosync cannot keep ({where})") from None


def _address_text(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is None or isinstance(value, bool):
        return None
    return str(value).strip() or None


def _full_name(*parts: str | None) -> str | None:
    return " ".join(p for p in parts if p) or None


def _lines(doc: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    lines = doc.get(name)
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise PayloadError(f"'{name}' must be a list of objects")
    return lines


def _quantity(line: Mapping[str, Any], position: int, name: str) -> int:
    try:
        quantity = integer(line, "quantity")
    except PayloadError as exc:
        raise PayloadError(f"{name}[{position - 1}]: {exc}") from None
    if quantity < 0:
        raise PayloadError(f"{name}[{position - 1}]: 'quantity' must not be negative")
    return quantity


# ------------------------------------------------------------------------------------------------ Shopify
def from_shopify(doc: Mapping[str, Any], headers: Headers) -> ChannelOrder:
    """A Shopify `orders/create` body (and its headers) -> the channel order, with exact ids."""
    from_gid = shopify_gid(doc.get("admin_graphql_api_id"), "Order")
    from_header = (headers.get(SHOPIFY_ORDER_ID_HEADER) or "").strip() or None
    if from_header is not None and not _DIGITS.match(from_header):
        raise PayloadError(f"X-Shopify-Order-Id must be the order's numeric id, got {from_header!r}")
    if from_gid and from_header and from_gid != from_header:
        raise PayloadError(f"admin_graphql_api_id names order {from_gid}, X-Shopify-Order-Id {from_header}")
    external_id = from_gid or from_header
    if external_id is None:
        raise PayloadError("the order's exact id is missing: neither admin_graphql_api_id nor X-Shopify-Order-Id")

    created_at = doc.get("created_at")
    try:
        placed_at = datetime.fromisoformat(created_at) if isinstance(created_at, str) else None
    except ValueError:
        placed_at = None
    if placed_at is None or placed_at.tzinfo is None:
        raise PayloadError(f"'created_at' must be an ISO 8601 timestamp with a time zone, got {created_at!r}")

    address = doc.get("shipping_address")
    ship_to = None
    if isinstance(address, dict):
        ship_to = _ship_to(
            "shipping_address",
            {
                "name": _address_text(address, "name")
                or _full_name(_address_text(address, "first_name"), _address_text(address, "last_name")),
                "company": _address_text(address, "company"),
                "address1": _address_text(address, "address1"),
                "address2": _address_text(address, "address2"),
                "city": _address_text(address, "city"),
                "region": _address_text(address, "province_code") or _address_text(address, "province"),
                "postal_code": _address_text(address, "zip"),
                "country": _address_text(address, "country_code"),
                "phone": _address_text(address, "phone"),
            },
        )
    elif address is not None:
        raise PayloadError("'shipping_address' must be an object")

    lines: list[ChannelOrderLine] = []
    skipped = 0
    for position, item in enumerate(_lines(doc, "line_items"), start=1):
        quantity = _quantity(item, position, "line_items")
        if item.get("requires_shipping") is False or quantity == 0:
            skipped += 1
            continue
        lines.append(
            ChannelOrderLine(
                line=position,
                quantity=quantity,
                external_line_id=shopify_gid(item.get("admin_graphql_api_id"), "LineItem")
                or exact_number(item.get("id")),
                variant_id=exact_number(item.get("variant_id")),
                sku=_text(item.get("sku"), f"line_items[{position - 1}].sku", 128),
                unit_price=_price(item.get("price")),
                title=_text(item.get("title") or item.get("name"), f"line_items[{position - 1}].title", 255),
            )
        )
    return ChannelOrder(
        platform="shopify",
        external_id=external_id,
        customer_ref=_text(doc.get("name"), "name", 128),
        placed_at=placed_at,
        currency=_currency(doc.get("currency"), "currency"),
        ship_to=ship_to,
        lines=tuple(lines),
        skipped_lines=skipped,
    )


# --------------------------------------------------------------------------------------------- BigCommerce
BIGCOMMERCE_SHIPPED_TYPES = frozenset({"physical"})  # `digital` and `giftcertificate` products do not ship


def from_bigcommerce(
    order: Mapping[str, Any], products: Sequence[Mapping[str, Any]], addresses: Sequence[Mapping[str, Any]]
) -> ChannelOrder:
    """An order as BigCommerce's V2 API returns it (`/orders/{id}`, its `/products` and `/shipping_addresses`)."""
    external_id = identifier(order, "id")
    created = order.get("date_created")
    try:
        placed_at = parsedate_to_datetime(created) if isinstance(created, str) else None
    except (TypeError, ValueError):
        placed_at = None
    if placed_at is None or placed_at.tzinfo is None:
        raise PayloadError(f"'date_created' must be an RFC 2822 date with a zone, got {created!r}")
    # `default_currency_code` is the order's transactional currency (its prices); `currency_code` the display one.
    currency = _currency(order.get("default_currency_code") or order.get("currency_code"), "default_currency_code")

    lines: list[ChannelOrderLine] = []
    address_ids: set[str] = set()
    skipped = 0
    for position, product in enumerate(products, start=1):  # the API lists them by id
        quantity = _quantity(product, position, "products")
        kind = product.get("type", "physical")
        if kind not in BIGCOMMERCE_SHIPPED_TYPES or quantity == 0:
            skipped += 1
            continue
        if product.get("order_address_id") is not None:
            address_ids.add(str(product["order_address_id"]))
        lines.append(
            ChannelOrderLine(
                line=position,
                quantity=quantity,
                external_line_id=identifier(product, "id"),
                variant_id=exact_number(product.get("variant_id")),
                sku=_text(product.get("sku"), f"products[{position - 1}].sku", 128),
                unit_price=_price(product.get("price_ex_tax")) or _price(product.get("base_price")),
                title=_text(product.get("name"), f"products[{position - 1}].name", 255),
            )
        )

    shipping = [a for a in addresses if not address_ids or str(a.get("id")) in address_ids]
    if len(shipping) > 1:
        raise PayloadError(
            f"order {external_id} ships to {len(shipping)} addresses; a distrosync order ships to one: "
            "split it in BigCommerce or place its parts through POST /v1/orders"
        )
    ship_to = None
    if shipping:
        address = shipping[0]
        ship_to = _ship_to(
            "shipping_addresses",
            {
                "name": _full_name(_address_text(address, "first_name"), _address_text(address, "last_name")),
                "company": _address_text(address, "company"),
                "address1": _address_text(address, "street_1"),
                "address2": _address_text(address, "street_2"),
                "city": _address_text(address, "city"),
                "region": _address_text(address, "state"),
                "postal_code": _address_text(address, "zip"),
                "country": _address_text(address, "country_iso2"),
                "phone": _address_text(address, "phone"),
            },
        )
    return ChannelOrder(
        platform="bigcommerce",
        external_id=external_id,
        customer_ref=external_id,  # BigCommerce shows the customer the order's id
        placed_at=placed_at,
        currency=currency,
        ship_to=ship_to,
        lines=tuple(lines),
        skipped_lines=skipped,
    )


# ------------------------------------------------------------------------------------------- to our order
def order_id(channel: str, external_id: str) -> str:
    """Our id of a channel's order: `<channel>.<the platform's exact id>`."""
    return f"{channel}.{external_id}"


def lookup_ids(order: ChannelOrder) -> list[str]:
    """The channel ids whose cross-references the order's lines are looked up by."""
    return list(dict.fromkeys(i for line in order.lines for i in line.item_ids))


def fallback_skus(order: ChannelOrder) -> list[str]:
    """The platform SKU texts, which may be our SKUs themselves."""
    return list(dict.fromkeys(line.sku for line in order.lines if line.sku))


def line_skus(order: ChannelOrder, xrefs: Mapping[str, str], items: Container[str]) -> dict[int, str]:
    """Our SKU of each line: its variant's cross-reference, else its SKU's, else the SKU itself when `items` has
    it. Raises `UnmappedLines` naming every line that maps to none."""
    found: dict[int, str] = {}
    unmapped: list[UnmappedLine] = []
    for line in order.lines:
        sku = next((xrefs[i] for i in line.item_ids if i in xrefs), None)
        if sku is None and line.sku and line.sku in items:
            sku = line.sku
        if sku is None:
            unmapped.append(UnmappedLine(line.line, line.external_line_id, line.variant_id, line.sku, line.title))
        else:
            found[line.line] = sku
    if unmapped:
        raise UnmappedLines(unmapped)
    return found


def customer_order(
    order: ChannelOrder,
    *,
    channel: str,
    skus: Mapping[int, str],
    location: str,
    policy: OrderPolicy,
    created_at: datetime,
) -> CustomerOrder:
    """Our order: every line ships from `location` and is wanted on the day it was placed (UTC)."""
    our_id = order_id(channel, order.external_id)
    if len(our_id) > ORDER_ID_MAX:
        raise PayloadError(f"the order id {our_id!r} is longer than {ORDER_ID_MAX} characters (a shorter channel name)")
    requested = order.placed_at.astimezone(UTC).date()
    return CustomerOrder(
        order_id=our_id,
        source_partner=channel,
        channel=channel,
        customer_ref=order.customer_ref,
        placed_at=order.placed_at,
        created_at=created_at,
        lines=[
            OrderLine(
                line=line.line,
                sku=skus[line.line],
                location=location,
                quantity=line.quantity,
                requested_date=requested,
                unit_price=line.unit_price,
                external_line_id=line.external_line_id,
            )
            for line in order.lines
        ],
        policy=policy,
        ship_to=order.ship_to,
        external_id=order.external_id,
        currency=order.currency,
    )
