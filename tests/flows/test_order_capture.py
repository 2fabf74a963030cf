"""Order capture end to end (docs/order-to-ship.md, "Order capture"): channels registered with `distrosync
channels`, the corpus order webhooks arriving as they are (Shopify orders/create signed here over the corpus
body's own bytes; BigCommerce's thin store/order/created, whose order the ingress reads from the BigCommerce
simulator's V2 API), and `POST /v1/orders` with the fields #5 adds. Each source yields one order record with its
demand lines, `order.created` under one event id however often the order arrives, and one flow execution (these
tests do not run the state machine: StartExecution is recorded).
"""

import json

import pytest

from cli.client import PartnerClient
from cli.corpus import ECOMMERCE, corpus_body, corpus_headers
from cli.local_session import runtime_transport
from local.simulators.bigcommerce import BigCommerceSimulator, address, product
from shared.aws.clients import client as aws
from shared.domain.order_flow import execution_name

SHOPIFY_ORDER = ECOMMERCE / "shopify_orders_create_2023-01.hookdeck.json"
BIGCOMMERCE_ORDER = ECOMMERCE / "bigcommerce_store_order_created.hookdeck.json"
SHOPIFY_SECRET = "shpss_0123456789abcdef0123456789abcdef"
SHOPIFY_ORDER_ID = "shopify-main.820982911946154508"  # the exact id; the body's JSON number says ...500
BIGCOMMERCE_ORDER_ID = "bc-store.250"
PROBLEM = "urn:distrosync:problem:"
CATALOG_UNITS = {"each": 1, "case": 12, "pallet": 480}  # as the catalog fixture writes them


@pytest.fixture
def store():
    with BigCommerceSimulator(store_hash="x7k2q9", token="bc-api-token-1") as simulator:
        yield simulator


@pytest.fixture
def channels(cli, catalog, store):
    """shopify-main (fed by DC-EAST only: its orders ship from there) and bc-store (DC-EAST and DC-WEST, orders
    from its default DC-WEST, split when short, read from the simulator), as `channels add --json` prints them."""
    code, out, err = cli(
        "channels",
        "add",
        "shopify-main",
        "--platform",
        "shopify",
        "--locations",
        "DC-EAST",
        "--secret-stdin",
        "--json",
        stdin=SHOPIFY_SECRET + "\n",
    )
    assert code == 0, err
    shop = json.loads(out)
    assert shop["webhook_topics"] == ["inventory_levels/update", "orders/create"]
    code, out, err = cli(
        "channels",
        "add",
        "bc-store",
        "--platform",
        "bigcommerce",
        "--locations",
        "DC-EAST,DC-WEST",
        "--default-location",
        "DC-WEST",
        "--order-policy",
        "split",
        "--store-hash",
        store.store_hash,
        "--api-base-url",
        store.url,
        "--api-token",
        "-",
        "--json",
        stdin=store.token + "\n",
    )
    assert code == 0, err
    bc = json.loads(out)
    assert bc["channel"] | {"order_policy": "split", "store_hash": store.store_hash} == bc["channel"]
    assert store.token not in out  # stored, never shown
    return {"shopify-main": shop, "bc-store": bc}


def map_items(erp_client, refs):
    """Give catalog items cross-references: {sku: [(system, id), ...]} (the item's units kept)."""
    for sku, pairs in refs.items():
        body = {
            "units": CATALOG_UNITS,
            "safety_stock": 0,
            "cross_references": [{"system": system, "id": external} for system, external in pairs],
            "sequence": 2,
        }
        reply = erp_client.request("PUT", f"/v1/items/{sku}", json_body=body)
        assert reply.status == 200, reply.body


def shopify_delivery(rt, **headers):
    """The corpus orders/create as it is, signed over its own bytes with the channel's client secret."""
    from shared.adapters.shopify import signature

    body = corpus_body(SHOPIFY_ORDER)
    signed = {**corpus_headers(SHOPIFY_ORDER), "x-shopify-hmac-sha256": signature(SHOPIFY_SECRET, body), **headers}
    return rt.api.request("POST", "/v1/channels/shopify-main/webhooks", headers=signed, body=body)


def bigcommerce_delivery(rt, token, body=None):
    body = corpus_body(BIGCOMMERCE_ORDER) if body is None else body
    headers = {**corpus_headers(BIGCOMMERCE_ORDER), "X-Distrosync-Webhook-Token": token}
    return rt.api.request("POST", "/v1/channels/bc-store/webhooks", headers=headers, body=body)


def demand_lines(rt, sku):
    response = aws("dynamodb").query(
        TableName=rt.outputs["OrdersTableName"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :demand)",
        ExpressionAttributeValues={":pk": {"S": f"SKU#{sku}"}, ":demand": {"S": "DEMAND#"}},
    )
    return [
        (i["order_id"]["S"], int(i["line"]["N"]), i["location"]["S"], int(i["quantity"]["N"]))
        for i in response["Items"]
    ]


def executions(rt):
    machine = rt.outputs["OrderFlowStateMachineArn"]
    return sorted(e["name"] for e in aws("stepfunctions").list_executions(stateMachineArn=machine)["executions"])


def test_a_shopify_order_is_created_once_however_often_it_is_delivered(rt, channels, erp_client, captured_events):
    refused = shopify_delivery(rt)  # no item carries the channel's ids yet
    assert refused.status == 422 and refused.json()["type"] == PROBLEM + "unmapped-channel-item"
    problem = refused.json()
    assert [(x["line"], x["variant_id"], x["sku"]) for x in problem["lines"]] == [
        (1, "41886814240980", "1"),
        (2, "43383372185812", None),
    ]
    assert "line 2 (Cat Laser Toy)" in problem["detail"] and problem["external_id"] == "820982911946154508"

    # Line 1 by its SKU text, line 2 (no SKU) by its variant id.
    map_items(erp_client, {"SKU-1": [("shopify-main", "1")], "SKU-2": [("shopify-main", "43383372185812")]})
    created = shopify_delivery(rt)  # Shopify's retry of the same delivery
    assert created.status == 201, created.body
    receipt = created.json()
    assert (receipt["status"], receipt["order_id"], receipt["type"]) == ("created", SHOPIFY_ORDER_ID, "order.created")
    assert created.headers["Location"] == f"/v1/orders/{SHOPIFY_ORDER_ID}"
    again = shopify_delivery(rt)
    other = shopify_delivery(rt, **{"x-shopify-webhook-id": "another-subscription"})
    for reply in (again, other):
        assert reply.status == 200 and reply.json()["status"] == "duplicate", reply.body
        assert reply.json()["event_id"] == receipt["event_id"]
    rt.drain()

    published = captured_events("order.created")
    assert len(published) == 3 and {e["id"] for e in published} == {receipt["event_id"]}
    order = published[0]["data"]["order"]
    assert (order["order_id"], order["external_id"], order["customer_ref"], order["source_partner"]) == (
        SHOPIFY_ORDER_ID,
        "820982911946154508",
        "#9999",
        "shopify-main",
    )
    assert (order["policy"], order["currency"], order["ship_to"]["country"]) == ("backorder", "CAD", "US")
    lines = [
        (x["line"], x["sku"], x["location"], x["quantity"], x["requested_date"], x["unit_price"], x["external_line_id"])
        for x in order["lines"]
    ]
    assert lines == [
        (1, "SKU-1", "DC-EAST", 1, "2023-02-21", "1.99", "866550311766439020"),
        (2, "SKU-2", "DC-EAST", 1, "2023-02-21", "30.00", "141249953214522974"),
    ]
    assert demand_lines(rt, "SKU-1") == [(SHOPIFY_ORDER_ID, 1, "DC-EAST", 1)]
    assert demand_lines(rt, "SKU-2") == [(SHOPIFY_ORDER_ID, 2, "DC-EAST", 1)]
    assert executions(rt) == [execution_name(SHOPIFY_ORDER_ID)]  # one flow, however many deliveries

    shop = PartnerClient(
        runtime_transport(rt), channels["shopify-main"]["api_key"], channels["shopify-main"]["signing_secret"]
    )
    view = shop.get(f"/v1/orders/{SHOPIFY_ORDER_ID}")
    assert view.status == 200, view.body
    assert view.json() | {"status": "open", "external_id": "820982911946154508", "currency": "CAD"} == view.json()
    ingress_logs = "\n".join(rt.logs("ingress"))
    assert "channel order created" in ingress_logs and "Shipping Street" not in ingress_logs  # no address logged


def test_a_bigcommerce_order_is_read_from_its_api(rt, cli, channels, store, erp_client, captured_events):
    store.add_order(
        250,
        [
            product(31, sku="CHAIR-RED", variant_id=461, quantity=2, price="45.0000", name="Chair"),
            product(32, sku="EBOOK-1", variant_id=None, quantity=1, kind="digital"),
            product(33, sku="SKU-4", variant_id=None, quantity=3, price="12.5000"),  # our SKU itself
        ],
        [address(7, first_name="Jane", last_name="Doe", state="Texas", country_iso2="US")],
        currency="USD",
    )
    map_items(erp_client, {"SKU-3": [("bc-store", "461")]})
    token = channels["bc-store"]["webhook_token"]

    with store.outage():
        down = bigcommerce_delivery(rt, token)
    assert down.status == 503 and down.json()["type"] == PROBLEM + "unavailable"
    assert int(down.headers["Retry-After"]) > 0

    created = bigcommerce_delivery(rt, token)  # BigCommerce's retry
    assert created.status == 201, created.body
    assert created.json()["order_id"] == BIGCOMMERCE_ORDER_ID
    again = bigcommerce_delivery(rt, token)
    assert again.status == 200 and again.json()["status"] == "duplicate"

    missing = json.loads(corpus_body(BIGCOMMERCE_ORDER))
    missing["data"]["id"] = 999
    refused = bigcommerce_delivery(rt, token, json.dumps(missing).encode())
    assert refused.status == 422 and refused.json()["external_id"] == "999"
    assert {c.status for c in store.calls_to("/orders/250")} == {503, 200} and store.calls_to("/orders/999")
    rt.drain()

    published = captured_events("order.created")
    assert [e["data"]["order"]["order_id"] for e in published] == [BIGCOMMERCE_ORDER_ID] * 2
    order = published[0]["data"]["order"]
    assert (order["policy"], order["currency"], order["customer_ref"], order["ship_to"]["name"]) == (
        "split",
        "USD",
        "250",
        "Jane Doe",
    )
    assert [(x["line"], x["sku"], x["location"], x["quantity"], x["unit_price"]) for x in order["lines"]] == [
        (1, "SKU-3", "DC-WEST", 2, "45.0000"),
        (3, "SKU-4", "DC-WEST", 3, "12.5000"),
    ]
    assert demand_lines(rt, "SKU-3") == [(BIGCOMMERCE_ORDER_ID, 1, "DC-WEST", 2)]
    assert executions(rt) == [execution_name(BIGCOMMERCE_ORDER_ID)]

    # A new API token replaces the old one and leaves the webhook token alone.
    code, _, err = cli("channels", "set", "bc-store", "--api-token", "bc-api-token-2")
    assert code == 0, err
    secret_name = f"{rt.outputs['PartnerSecretsPrefix']}bc-store/webhook"
    stored = json.loads(aws("secretsmanager").get_secret_value(SecretId=secret_name)["SecretString"])
    assert stored == {"webhook_secret": token, "api_token": "bc-api-token-2"}
    code, _, err = cli("channels", "set", "shopify-main", "--api-token", "x")
    assert code == 2 and "only bigcommerce" in err


def test_post_orders_takes_policy_ship_to_deliver_by_currency_and_prices(rt, erp_client, captured_events):
    body = {
        "order_id": "SO-5001",
        "customer_ref": "CUST-9",
        "placed_at": "2026-11-26T10:00:00Z",
        "policy": "split",
        "ship_to": {"name": "Receiving", "address1": "1 Dock Road", "city": "Reno", "country": "US"},
        "deliver_by": "2026-12-04",
        "currency": "USD",
        "lines": [
            {"line": 1, "sku": "SKU-5", "location": "DC-EAST", "quantity": 2, "unit": "case", "unit_price": "30.00"},
            {"line": 2, "sku": "SKU-1", "location": "DC-EAST", "quantity": 1, "requested_date": "2026-12-01"},
        ],
    }
    body["lines"][0]["requested_date"] = "2026-12-01"
    reply = erp_client.post("/v1/orders", body)
    assert reply.status == 201, reply.body
    view = reply.json()
    assert (view["policy"], view["deliver_by"], view["currency"], view["ship_to"]["city"]) == (
        "split",
        "2026-12-04",
        "USD",
        "Reno",
    )
    assert [(x["quantity"], x["unit_price"]) for x in view["lines"]] == [(24, "2.5"), (1, None)]  # per each
    assert erp_client.post("/v1/orders", body).status == 200  # the same order again
    rt.drain()
    (created,) = {e["id"]: e for e in captured_events("order.created")}.values()
    assert created["data"]["order"]["ship_to"]["address1"] == "1 Dock Road"

    for change, pointer in (
        ({"currency": "usd"}, "/currency"),
        ({"deliver_by": "2026-11-25"}, "deliver_by"),
        ({"policy": "ship-what-you-can"}, "/policy"),
        ({"ship_to": {"country": "USA"}}, "/ship_to/country"),
    ):
        refused = erp_client.post("/v1/orders", {**body, "order_id": "SO-5002", **change})
        assert refused.status == 422 and refused.json()["type"] == PROBLEM + "validation-failed", change
        assert pointer in refused.json()["detail"], refused.json()["detail"]
    negative = {**body["lines"][1], "unit_price": "-1"}
    refused = erp_client.post("/v1/orders", {**body, "order_id": "SO-5003", "lines": [negative]})
    assert refused.status == 422 and "/lines/0/unit_price" in refused.json()["detail"]
