"""Channel orders (shared/adapters/channel_orders.py, bigcommerce_api.py): the corpus orders as they are, exact
64-bit ids, the line -> item rules, the shipping location, and BigCommerce's V2 API read over HTTP (the local
simulator) with its failures.
"""

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cli.corpus import ECOMMERCE, corpus_body, corpus_headers
from local.simulators.bigcommerce import BigCommerceSimulator, address, product
from shared.adapters import PayloadError, bigcommerce, shopify
from shared.adapters.bigcommerce_api import (
    BigCommerceNotConfigured,
    BigCommerceOrderMissing,
    BigCommerceOrders,
    BigCommerceUnavailable,
)
from shared.adapters.channel_orders import (
    MAX_EXACT_DOUBLE,
    UnmappedLines,
    customer_order,
    exact_number,
    fallback_skus,
    from_shopify,
    line_skus,
    lookup_ids,
)
from shared.canonical.partner import ChannelSettings
from shared.http.problems import Problem
from shared.services.channel_ingest import shipping_location
from shared.services.orders import each_price

SHOPIFY_ORDER = ECOMMERCE / "shopify_orders_create_2023-01.hookdeck.json"
BIGCOMMERCE_ORDER = ECOMMERCE / "bigcommerce_store_order_created.hookdeck.json"
EXACT_ORDER_ID = "820982911946154508"  # the gid and the header; the JSON number says ...500


def shopify_doc() -> dict:
    return json.loads(corpus_body(SHOPIFY_ORDER))


def test_the_shopify_corpus_order_is_read_with_its_exact_ids():
    delivery = shopify.read(corpus_headers(SHOPIFY_ORDER), corpus_body(SHOPIFY_ORDER))
    assert (delivery.topic, delivery.delivery_id, delivery.report) == (
        "orders/create",
        "64f9a71e-c088-4152-aa47-88251b634a99",
        None,
    )
    order = delivery.order
    assert order is not None and b'"id": 820982911946154500' in corpus_body(SHOPIFY_ORDER)
    assert (order.external_id, order.customer_ref, order.currency) == (EXACT_ORDER_ID, "#9999", "CAD")
    assert order.placed_at == datetime(2023, 2, 20, 20, 50, 3, tzinfo=timezone(timedelta(hours=-5)))
    ship_to = order.ship_to
    assert ship_to is not None
    where = (ship_to.name, ship_to.region, ship_to.postal_code, ship_to.country)
    assert where == ("Steve Shipper", "KY", "40003", "US")
    first, second = order.lines
    # Line ids from the gids: the numbers say 866550311766439000 and 141249953214522980.
    assert (first.line, first.external_line_id, first.variant_id, first.sku, first.unit_price) == (
        1,
        "866550311766439020",
        "41886814240980",
        "1",
        "1.99",
    )
    assert (second.external_line_id, second.variant_id, second.sku, second.unit_price) == (
        "141249953214522974",
        "43383372185812",
        None,  # "sku": ""
        "30.00",
    )
    assert lookup_ids(order) == ["41886814240980", "1", "43383372185812"] and fallback_skus(order) == ["1"]


def test_shopify_order_id_comes_from_the_gid_else_the_header_never_the_number():
    doc = shopify_doc()
    headers = corpus_headers(SHOPIFY_ORDER)
    assert from_shopify(doc, {}).external_id == EXACT_ORDER_ID  # the gid alone
    del doc["admin_graphql_api_id"]
    assert from_shopify(doc, headers).external_id == EXACT_ORDER_ID  # the header alone
    with pytest.raises(PayloadError, match="exact id is missing"):
        from_shopify(doc, {})  # only the rounded number is left
    with pytest.raises(PayloadError, match="X-Shopify-Order-Id"):
        from_shopify(shopify_doc(), {**headers, "x-shopify-order-id": "820982911946154500"})


def test_shopify_numbers_above_2_53_are_not_trusted_and_lines_that_do_not_ship_are_skipped():
    assert exact_number(MAX_EXACT_DOUBLE) == str(MAX_EXACT_DOUBLE) and exact_number(MAX_EXACT_DOUBLE + 2) is None
    assert exact_number(True) is None and exact_number("12") is None
    doc = shopify_doc()
    doc["line_items"][0]["variant_id"] = 820982911946154500  # a rounded 64-bit id
    del doc["line_items"][0]["admin_graphql_api_id"]
    doc["line_items"][1]["requires_shipping"] = False  # e.g. a gift card
    order = from_shopify(doc, {})
    (line,) = order.lines
    assert (line.line, line.variant_id, line.external_line_id, line.item_ids) == (1, None, None, ("1",))
    assert order.skipped_lines == 1

    doc["line_items"][0]["quantity"] = -1
    with pytest.raises(PayloadError, match="quantity"):
        from_shopify(doc, {})
    with pytest.raises(PayloadError, match="created_at"):
        from_shopify({**shopify_doc(), "created_at": "2023-02-20T20:50:03"}, {})  # no zone
    with pytest.raises(PayloadError, match="currency"):
        from_shopify({**shopify_doc(), "currency": "cad"}, {})
    with pytest.raises(PayloadError, match=r"shipping_address.*\(country\)") as refused:
        from_shopify({**shopify_doc(), "shipping_address": {"country_code": "USA", "name": "Steve Shipper"}}, {})
    assert "Steve" not in str(refused.value)  # fields are named, personal data never


def test_lines_map_by_variant_then_sku_cross_reference_then_the_sku_itself():
    order = from_shopify(shopify_doc(), {})
    xrefs = {"41886814240980": "SKU-1", "1": "SKU-9", "43383372185812": "SKU-2"}
    assert line_skus(order, xrefs, set()) == {1: "SKU-1", 2: "SKU-2"}  # the variant wins over the SKU text
    assert line_skus(order, {"1": "SKU-9", "43383372185812": "SKU-2"}, set()) == {1: "SKU-9", 2: "SKU-2"}
    assert line_skus(order, {"43383372185812": "SKU-2"}, {"1"}) == {1: "1", 2: "SKU-2"}  # "1" is an item itself

    with pytest.raises(UnmappedLines) as unmapped:
        line_skus(order, {}, {"SKU-1"})
    assert [(x.line, x.variant_id, x.sku) for x in unmapped.value.lines] == [
        (1, "41886814240980", "1"),
        (2, "43383372185812", None),
    ]
    described = unmapped.value.lines[1].describe("shop")
    assert described == "line 2 (Cat Laser Toy): no item has the cross-reference {system: shop, id: 43383372185812}"

    placed = customer_order(
        order,
        channel="shop",
        skus={1: "SKU-1", 2: "SKU-2"},
        location="DC-EAST",
        policy="split",
        created_at=(now := datetime(2026, 1, 1, tzinfo=UTC)),
    )
    assert (placed.order_id, placed.external_id, placed.policy, placed.currency) == (
        f"shop.{EXACT_ORDER_ID}",
        EXACT_ORDER_ID,
        "split",
        "CAD",
    )
    # Wanted on the day it was placed, in UTC: 20:50 at -05:00 is the 21st.
    assert {(x.sku, x.location, x.requested_date, x.unit_price) for x in placed.lines} == {
        ("SKU-1", "DC-EAST", date(2023, 2, 21), "1.99"),
        ("SKU-2", "DC-EAST", date(2023, 2, 21), "30.00"),
    }
    with pytest.raises(PayloadError, match="longer than 64"):
        customer_order(order, channel="c" * 50, skus={1: "A", 2: "B"}, location="X", policy="backorder", created_at=now)


def test_a_channel_ships_its_orders_from_its_default_or_only_location():
    assert shipping_location("c", ChannelSettings(platform="shopify", locations=["A"])) == "A"
    both = ChannelSettings(platform="shopify", locations=["A", "B"], default_location="B")
    assert shipping_location("c", both) == "B"
    for settings in (ChannelSettings(platform="shopify", locations=["A", "B"]), ChannelSettings(platform="shopify")):
        with pytest.raises(Problem) as refused:
            shipping_location("c", settings)
        assert refused.value.kind.slug == "unmapped-channel-item" and "--default-location" in refused.value.detail


def test_prices_given_per_unit_are_kept_per_each():
    assert each_price("19.90", 1) == "19.90"
    assert each_price("12.00", 12) == "1"
    assert each_price("10", 3) == "3.333333"
    assert each_price(None, 12) is None


# -------------------------------------------------------------------------------------------------- BigCommerce
def test_the_bigcommerce_corpus_order_webhook_names_the_order_only():
    delivery = bigcommerce.read(corpus_headers(BIGCOMMERCE_ORDER), corpus_body(BIGCOMMERCE_ORDER))
    assert (delivery.topic, delivery.order_ref, delivery.order, delivery.report) == (
        "store/order/created",
        "250",
        None,
        None,
    )
    with pytest.raises(PayloadError, match="'data'"):
        bigcommerce.read({}, b'{"scope": "store/order/created", "data": 250}')


@pytest.fixture
def store():
    with BigCommerceSimulator(store_hash="abc123", token="tok-1") as simulator:
        yield simulator


def settings_for(store: BigCommerceSimulator) -> ChannelSettings:
    return ChannelSettings(
        platform="bigcommerce", store_hash=store.store_hash, api_base_url=store.url, webhook_secret_name="bc/webhook"
    )


def reader(tokens: dict[bool, str]) -> BigCommerceOrders:
    """A reader whose token source answers `tokens[fresh]` (a missing entry: no token stored)."""
    return BigCommerceOrders(lambda name, fresh: tokens[fresh])


def test_a_bigcommerce_order_is_read_from_the_v2_api(store):
    created = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    store.add_order(
        250,
        [
            product(11, sku="CHAIR-RED", variant_id=461, quantity=2, price="45.0000", name="Chair"),
            product(12, sku="EBOOK", variant_id=None, quantity=1, kind="digital"),
            product(13, sku="SKU-4", variant_id=77, quantity=3),
        ],
        [address(5, first_name="Jane", last_name="Doe", state="Texas", country_iso2="US")],
        date_created=created,
        currency="EUR",
    )
    order = reader({False: "tok-1"}).read("bc", settings_for(store), "250", correlation_id="c-1")
    assert (order.external_id, order.customer_ref, order.placed_at, order.currency) == ("250", "250", created, "EUR")
    assert order.ship_to is not None and (order.ship_to.name, order.ship_to.region) == ("Jane Doe", "Texas")
    assert [(x.line, x.external_line_id, x.variant_id, x.sku, x.quantity, x.unit_price) for x in order.lines] == [
        (1, "11", "461", "CHAIR-RED", 2, "45.0000"),
        (3, "13", "77", "SKU-4", 3, "10.0000"),
    ]
    assert order.skipped_lines == 1
    paths = [(c.path, c.status, c.correlation_id) for c in store.calls]
    assert paths == [
        ("/stores/abc123/v2/orders/250", 200, "c-1"),
        ("/stores/abc123/v2/orders/250/products", 200, "c-1"),
        ("/stores/abc123/v2/orders/250/shipping_addresses", 200, "c-1"),
    ]


def test_bigcommerce_failures_are_told_apart(store):
    store.add_order(250, [product(11, sku="A", variant_id=1, quantity=1)])
    settings = settings_for(store)
    with pytest.raises(BigCommerceOrderMissing):
        reader({False: "tok-1"}).read("bc", settings, "251", correlation_id="c")
    with store.outage(), pytest.raises(BigCommerceUnavailable) as down:
        reader({False: "tok-1"}).read("bc", settings, "250", correlation_id="c")
    assert down.value.retry_after > 0 and "503" in down.value.reason
    store.fail_next(1)  # one 503, retried within the budget
    assert reader({False: "tok-1"}).read("bc", settings, "250", correlation_id="c").external_id == "250"

    # A rotated token: the cached one is refused, the fresh one is read and works.
    assert reader({False: "old", True: "tok-1"}).read("bc", settings, "250", correlation_id="c").lines
    with pytest.raises(BigCommerceUnavailable, match="refused the API token"):
        reader({False: "old", True: "still-old"}).read("bc", settings, "250", correlation_id="c")
    with pytest.raises(BigCommerceNotConfigured, match="--api-token"):
        reader({}).read("bc", settings, "250", correlation_id="c")
    with pytest.raises(BigCommerceNotConfigured, match="--store-hash"):
        reader({False: "tok-1"}).read("bc", settings.model_copy(update={"store_hash": None}), "250", correlation_id="c")


def test_a_bigcommerce_order_to_several_addresses_is_refused(store):
    lines = [product(11, sku="A", variant_id=1, quantity=1), product(12, sku="B", variant_id=2, quantity=1)]
    lines[1]["order_address_id"] = 6
    store.add_order(252, lines, [address(5), address(6)])
    with pytest.raises(PayloadError, match="ships to 2 addresses"):
        reader({False: "tok-1"}).read("bc", settings_for(store), "252", correlation_id="c")
