"""Channel adapters on the corpus webhooks as they are (../shared/corpus/ecommerce), and on their edge cases.

The body sent is the exact JSON text of the corpus file's `body` member, sliced from the file: re-serializing
it would send other bytes than the corpus holds (and the signature covers bytes, not values).
"""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cli.corpus import BIGCOMMERCE_SKU_INVENTORY, ECOMMERCE, SHOPIFY_INVENTORY_LEVEL, corpus_body, corpus_headers
from shared.adapters import PayloadError, adapter_for, bigcommerce, shopify

SHOPIFY, BIGCOMMERCE = SHOPIFY_INVENTORY_LEVEL, BIGCOMMERCE_SKU_INVENTORY
SECRET = "shpss_test_client_secret"


def test_the_sliced_body_is_the_corpus_body_text_itself():
    body = corpus_body(SHOPIFY)
    assert body.startswith(b"{\n") and b'"inventory_item_id": 271878346596884000' in body
    assert json.loads(body) == json.loads(SHOPIFY.read_text())["body"]


def test_shopify_corpus_delivery_reads_the_exact_item_id_not_the_rounded_number():
    delivery = shopify.read(corpus_headers(SHOPIFY), corpus_body(SHOPIFY))
    assert delivery.topic == "inventory_levels/update"
    assert delivery.delivery_id == "bdbb91c0-5277-4b27-8974-7a766efe08ea"
    report = delivery.report
    assert report is not None
    assert report.external_item_id == "271878346596884015"  # from admin_graphql_api_id; the number says ...000
    assert report.external_location_id == "65616216276"
    assert report.quantity is None  # `available: null`: Shopify does not track the item
    assert report.relative is False
    assert report.reported_at == datetime(2023, 2, 20, 20, 47, 32, tzinfo=timezone(timedelta(hours=-5)))


def test_shopify_compact_and_pretty_bodies_read_the_same():
    compact = json.dumps(json.loads(corpus_body(SHOPIFY)), separators=(",", ":")).encode()
    assert shopify.parse_inventory_level(compact) == shopify.parse_inventory_level(corpus_body(SHOPIFY))


def test_shopify_without_graphql_id_falls_back_to_the_json_number_which_python_keeps_exact():
    body = b'{"inventory_item_id":271878346596884015,"location_id":1,"available":7,"updated_at":"2023-02-20T20:47:32Z"}'
    report = shopify.parse_inventory_level(body)
    assert (report.external_item_id, report.quantity) == ("271878346596884015", 7)
    assert report.reported_at == datetime(2023, 2, 20, 20, 47, 32, tzinfo=UTC)


def test_shopify_signature_is_base64_hmac_of_the_raw_body():
    body = corpus_body(SHOPIFY)
    headers = {**corpus_headers(SHOPIFY), "x-shopify-hmac-sha256": shopify.signature(SECRET, body)}
    assert shopify.verify(SECRET, headers, body)
    assert not shopify.verify("another secret", headers, body)
    assert not shopify.verify(SECRET, headers, body.replace(b"null", b"5"))
    assert not shopify.verify(SECRET, {}, body)


def test_shopify_corpus_hmac_was_made_with_a_secret_we_do_not_have():
    assert not shopify.verify(SECRET, corpus_headers(SHOPIFY), corpus_body(SHOPIFY))


def test_shopify_topics_we_do_not_read_carry_no_report():
    headers = {**corpus_headers(SHOPIFY), "x-shopify-topic": "orders/updated"}
    delivery = shopify.read(headers, b'{"id": 1}')
    assert (delivery.topic, delivery.report, delivery.order) == ("orders/updated", None, None)


def test_shopify_event_id_is_preferred_to_the_webhook_id():
    headers = {**corpus_headers(SHOPIFY), "x-shopify-event-id": "evt-9"}
    assert shopify.read(headers, corpus_body(SHOPIFY)).delivery_id == "evt-9"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1]", "JSON object"),
        (b"{not json", "not valid JSON"),
        (b'{"location_id":1,"available":1,"updated_at":"2023-02-20T20:47:32Z"}', "inventory_item_id"),
        (b'{"inventory_item_id":1,"location_id":1,"available":1.5,"updated_at":"2023-02-20T20:47:32Z"}', "available"),
        (b'{"inventory_item_id":1,"location_id":1,"available":true,"updated_at":"2023-02-20T20:47:32Z"}', "available"),
        (b'{"inventory_item_id":1,"location_id":1,"updated_at":"2023-02-20T20:47:32Z"}', "'available' is missing"),
        (b'{"inventory_item_id":1,"location_id":1,"available":1,"updated_at":"2023-02-20T20:47:32"}', "time zone"),
        (b'{"inventory_item_id":1,"location_id":1,"available":1}', "updated_at"),
        (
            b'{"admin_graphql_api_id":"gid://shopify/InventoryLevel/1?inventory_item_id=12x","location_id":1,'
            b'"available":1,"updated_at":"2023-02-20T20:47:32Z"}',
            "malformed inventory_item_id",
        ),
    ],
)
def test_shopify_payloads_that_are_not_the_documented_shape_say_what_is_wrong(body, message):
    with pytest.raises(PayloadError, match=message):
        shopify.parse_inventory_level(body)


def test_bigcommerce_corpus_delivery_is_an_absolute_level_without_location():
    delivery = bigcommerce.read(corpus_headers(BIGCOMMERCE), corpus_body(BIGCOMMERCE))
    assert delivery.topic == "store/sku/inventory/updated"
    assert delivery.delivery_id is None  # BigCommerce sends none: the ingest hashes the body
    report = delivery.report
    assert report is not None
    assert (report.external_item_id, report.external_location_id, report.quantity) == ("461", None, 5)
    assert report.relative is False
    assert report.reported_at == datetime.fromtimestamp(1561480673, UTC)


def test_bigcommerce_relative_change_is_marked_relative():
    doc = json.loads(corpus_body(BIGCOMMERCE))
    doc["data"]["inventory"].update(method="relative", value=-2)
    report = bigcommerce.read({}, json.dumps(doc).encode()).report
    assert report is not None and (report.relative, report.quantity) == (True, -2)


def test_bigcommerce_token_is_compared_with_the_issued_one():
    body = corpus_body(BIGCOMMERCE)
    assert bigcommerce.verify("tok-1", {"x-distrosync-webhook-token": "tok-1"}, body)
    assert not bigcommerce.verify("tok-1", {"x-distrosync-webhook-token": "tok-2"}, body)
    assert not bigcommerce.verify("tok-1", corpus_headers(BIGCOMMERCE), body)  # the corpus has no token header


def test_bigcommerce_other_scopes_carry_no_report_and_bad_methods_are_refused():
    other = json.loads((ECOMMERCE / "bigcommerce_store_order_created.hookdeck.json").read_text())["body"]
    assert bigcommerce.read({}, json.dumps(other).encode()).report is None
    doc = json.loads(corpus_body(BIGCOMMERCE))
    doc["data"]["inventory"]["method"] = "set"
    with pytest.raises(PayloadError, match="method"):
        bigcommerce.read({}, json.dumps(doc).encode())


def test_adapters_by_platform():
    assert adapter_for("shopify") is shopify.ADAPTER
    assert adapter_for("bigcommerce") is bigcommerce.ADAPTER
    assert adapter_for("other") is None
    assert shopify.ADAPTER.credential_header == "x-shopify-hmac-sha256"
    assert bigcommerce.ADAPTER.credential_header == "x-distrosync-webhook-token"
