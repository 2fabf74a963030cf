"""Sales channels end to end: `distrosync channels` registers them, the corpus webhooks arrive as they are
(Shopify inventory_levels/update, BigCommerce store/sku/inventory/updated) without an API key, the projector
reconciles them with the channel's sellable figure, and GET /v1/availability shows the result.

The bodies sent are the exact JSON text of the corpus files' `body` members (sliced from the files, so the
bytes are the corpus's own, `"inventory_item_id": 271878346596884000` included); the signature is computed
here over those bytes with the channel's secret. The corpus's own Shopify HMAC was made with a secret nobody
has: sent as it is, it is refused.
"""

import base64
import hashlib
import hmac
import json

import pytest

from cli.client import PartnerClient
from cli.corpus import BIGCOMMERCE_SKU_INVENTORY, ECOMMERCE, SHOPIFY_INVENTORY_LEVEL, corpus_body, corpus_headers
from cli.local_session import partner_client, register_partner, runtime_transport
from shared.aws.availability_store import AvailabilityConflict
from shared.aws.clients import client as aws
from shared.canonical.channel import ChannelInventoryReported
from shared.canonical.envelope import Envelope
from shared.services.availability import ChannelAvailability

SHOPIFY, BIGCOMMERCE = SHOPIFY_INVENTORY_LEVEL, BIGCOMMERCE_SKU_INVENTORY
SHOPIFY_SECRET = "shpss_0123456789abcdef0123456789abcdef"
SHOPIFY_ITEM = "271878346596884015"  # the exact id (admin_graphql_api_id); the JSON number is rounded
SHOPIFY_LOCATION = "65616216276"
BIGCOMMERCE_SKU_ID = "461"
SKU = "CHAIR-1"
PROBLEM = "urn:distrosync:problem:"


def shopify_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def api_client(rt, printed):
    """The channel's API client, from the credentials `channels add --json` printed."""
    return PartnerClient(runtime_transport(rt), printed["api_key"], printed["signing_secret"])


def post_webhook(rt, channel, body, headers):
    return rt.api.request("POST", f"/v1/channels/{channel}/webhooks", headers=headers, body=body)


def shopify_delivery(rt, body=None, *, secret=SHOPIFY_SECRET, **headers):
    body = corpus_body(SHOPIFY) if body is None else body
    signed = {**corpus_headers(SHOPIFY), "x-shopify-hmac-sha256": shopify_hmac(secret, body), **headers}
    return post_webhook(rt, "shopify-main", body, signed)


def bigcommerce_delivery(rt, token, body=None):
    body = corpus_body(BIGCOMMERCE) if body is None else body
    return post_webhook(rt, "bc-store", body, {**corpus_headers(BIGCOMMERCE), "X-Distrosync-Webhook-Token": token})


@pytest.fixture
def channels(cli):
    """shopify-main (Shopify, DC-EAST and DC-WEST, the corpus location mapped to DC-EAST) and bc-store
    (BigCommerce, DC-EAST): their credentials as `channels add --json` prints them."""
    code, out, err = cli(
        "channels",
        "add",
        "shopify-main",
        "--platform",
        "shopify",
        "--locations",
        "DC-EAST,DC-WEST",
        "--map-location",
        f"{SHOPIFY_LOCATION}=DC-EAST",
        "--secret-stdin",
        "--local",
        "--json",
        stdin=SHOPIFY_SECRET + "\n",
    )
    assert code == 0, err
    shop = json.loads(out)
    code, out, err = cli("channels", "add", "bc-store", "--platform", "bigcommerce", "--locations", "DC-EAST", "--json")
    assert code == 0, err
    return {"shopify-main": shop, "bc-store": json.loads(out)}


@pytest.fixture
def chair(rt, erp_client, client):
    """The ERP's item CHAIR-1 with both channels' ids as cross-references; `stock(n)` counts n at DC-EAST."""
    refs = [{"system": "shopify-main", "id": SHOPIFY_ITEM}, {"system": "bc-store", "id": BIGCOMMERCE_SKU_ID}]
    reply = erp_client.request("PUT", f"/v1/items/{SKU}", json_body={"cross_references": refs, "sequence": 1})
    assert reply.status == 200, reply.body
    counts = iter(range(1, 60))

    def stock(on_hand):
        sequence = next(counts)
        body = {
            "sku": SKU,
            "location": "DC-EAST",
            "on_hand": on_hand,
            "reason": "cycle_count",
            "sequence": sequence,
            "occurred_at": f"2026-11-26T09:{sequence:02d}:00Z",
        }
        assert client.post("/v1/inventory/adjustments", body).status == 202
        rt.drain()

    return stock


def channel_records(rt):
    response = aws("dynamodb").query(
        TableName=rt.outputs["InventoryTableName"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :channel)",
        ExpressionAttributeValues={":pk": {"S": f"SKU#{SKU}"}, ":channel": {"S": "CHANNEL#"}},
    )
    return {item["sk"]["S"]: item for item in response["Items"]}


def test_channels_cli_registers_lists_and_changes_channels(cli, channels):
    shop, bc = channels["shopify-main"], channels["bc-store"]
    assert (
        shop["scopes"] == ["channel:shopify-main", "location:DC-EAST", "location:DC-WEST"]
        and shop["api_key"]
        and shop["signing_secret"]
    )
    assert shop["channel"]["location_map"] == {SHOPIFY_LOCATION: "DC-EAST"}
    assert shop["webhook_url"].endswith("/v1/channels/shopify-main/webhooks")
    assert "webhook_token" not in shop  # Shopify signs with the app's secret: nothing of ours to show
    assert bc["webhook_header"] == "X-Distrosync-Webhook-Token" and len(bc["webhook_token"]) >= 32
    assert bc["webhook_topic"] == "store/sku/inventory/updated"

    code, out, _ = cli("channels", "list")
    assert code == 0 and "shopify-main" in out and "bc-store" in out and SHOPIFY_SECRET not in out
    assert f"map {SHOPIFY_LOCATION}=DC-EAST" in out

    code, out, err = cli("channels", "set", "bc-store", "--share", "0.5", "--buffer", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["channel"] | {"share": 0.5, "buffer": 2} == json.loads(out)["channel"]

    code, out, err = cli("channels", "add", "b2b", "--platform", "other", "--hold", "10", "--json")
    assert code == 0, err
    b2b = json.loads(out)
    assert b2b["channel"]["hold"] == 10 and b2b["webhook_url"] is None and "webhook_token" not in b2b
    code, _, err = cli("channels", "set", "b2b", "--secret-stdin", stdin="s3cret\n")
    assert code == 2 and "sends no webhooks" in err

    code, out, err = cli("channels", "add", "bc-2", "--platform", "bigcommerce")  # as an operator reads it
    assert code == 0, err
    assert "store/sku/inventory/updated" in out and "/v1/channels/bc-2/webhooks" in out
    assert "X-Distrosync-Webhook-Token: " in out

    code, _, err = cli("channels", "add", "shop-2", "--platform", "shopify")
    assert code == 2 and "client secret" in err
    code, _, err = cli("channels", "set", "bc-store", "--default-location", "DC-WEST")
    assert code == 2 and "do not feed the channel" in err
    code, _, err = cli("channels", "set", "bc-store", "--map-location", "nope")
    assert code == 2 and "EXT=CODE" in err


def test_corpus_payloads_that_agree_with_the_sellable_figure_are_accepted_and_stored(
    rt, channels, chair, captured_events
):
    chair(5)
    changed = {e["data"]["channel"]: e["data"]["sellable"] for e in captured_events("availability.changed")}
    assert changed == {"shopify-main": 5, "bc-store": 5}

    reply = bigcommerce_delivery(rt, channels["bc-store"]["webhook_token"])  # absolute 5, no API key
    assert reply.status == 202, reply.body
    receipt = reply.json()
    assert receipt["status"] == "accepted" and receipt["subject"] == f"{SKU}@bc-store"
    rt.drain()

    (reported,) = captured_events("channel.inventory_reported")
    assert reported["id"] == receipt["event_id"] and reported["source_partner"] == "bc-store"
    assert reported["data"] | {"quantity": 5, "location": None, "external_item_id": "461"} == reported["data"]
    assert captured_events("inventory.discrepancy_detected") == []
    record = channel_records(rt)["CHANNEL#bc-store#*"]
    assert record["quantity"] == {"N": "5"} and record["event_id"] == {"S": receipt["event_id"]}

    bc = api_client(rt, channels["bc-store"])
    view = bc.get(f"/v1/availability/{SKU}", {"channel": "bc-store"})
    assert view.status == 200, view.body
    (figure,) = view.json()["channels"]
    assert (figure["sellable"], figure["published"], figure["agrees"]) == (5, 5, True)


def test_corpus_payloads_that_disagree_raise_discrepancies(rt, channels, chair, captured_events):
    chair(8)
    reply = bigcommerce_delivery(rt, channels["bc-store"]["webhook_token"])  # says 5 where it may sell 8
    assert reply.status == 202, reply.body
    reply = shopify_delivery(rt)  # `available: null`: Shopify does not track the item
    assert reply.status == 202, reply.body
    shopify_event = reply.json()["event_id"]
    rt.drain()

    found = {e["data"]["channel"]: e for e in captured_events("inventory.discrepancy_detected")}
    mismatch = found["bc-store"]["data"]
    assert (mismatch["kind"], mismatch["channel_quantity"], mismatch["sellable"], mismatch["difference"]) == (
        "mismatch",
        5,
        8,
        -3,
    )
    untracked = found["shopify-main"]
    assert untracked["causation_id"] == shopify_event
    assert untracked["data"] | {"kind": "untracked", "location": "DC-EAST", "sku": SKU} == untracked["data"]

    (reported,) = captured_events("channel.inventory_reported")[-1:]
    assert reported["data"]["external_item_id"] == SHOPIFY_ITEM  # not the rounded 271878346596884000
    assert reported["data"]["external_location_id"] == SHOPIFY_LOCATION and reported["data"]["quantity"] is None
    record = channel_records(rt)["CHANNEL#shopify-main#DC-EAST"]
    assert record["tracked"] == {"BOOL": False} and "quantity" not in record

    shop = api_client(rt, channels["shopify-main"])
    (figure,) = shop.get(f"/v1/availability/{SKU}", {"channel": "shopify-main"}).json()["channels"]
    assert figure["agrees"] is False and figure["reported"][0]["quantity"] is None


def test_a_redelivered_webhook_is_the_same_event(rt, channels, chair, captured_events):
    chair(3)
    first, again = shopify_delivery(rt), shopify_delivery(rt)
    assert first.status == again.status == 202
    assert first.json()["event_id"] == again.json()["event_id"]
    rt.drain()
    assert {e["id"] for e in captured_events("channel.inventory_reported")} == {first.json()["event_id"]}
    assert len({e["id"] for e in captured_events("inventory.discrepancy_detected")}) == 1
    assert list(channel_records(rt)) == ["CHANNEL#shopify-main#DC-EAST"]


def test_the_corpus_signature_and_missing_or_wrong_credentials_are_refused(rt, channels, chair, captured_events):
    as_sent = post_webhook(rt, "shopify-main", corpus_body(SHOPIFY), corpus_headers(SHOPIFY))
    assert as_sent.status == 401 and as_sent.json()["type"] == PROBLEM + "invalid-webhook-signature"
    wrong = shopify_delivery(rt, secret="not the app's secret")
    assert wrong.status == 401 and wrong.json()["type"] == PROBLEM + "invalid-webhook-signature"
    tampered = shopify_delivery(rt, **{"x-shopify-hmac-sha256": shopify_hmac(SHOPIFY_SECRET, b"{}")})
    assert tampered.status == 401

    unsigned = post_webhook(rt, "bc-store", corpus_body(BIGCOMMERCE), corpus_headers(BIGCOMMERCE))
    assert unsigned.status == 401 and unsigned.json()["type"] == PROBLEM + "missing-signature"
    assert bigcommerce_delivery(rt, "guessed-token").json()["type"] == PROBLEM + "invalid-webhook-signature"
    assert bigcommerce_delivery(rt, channels["shopify-main"]["signing_secret"]).status == 401

    unknown = post_webhook(rt, "no-such-shop", corpus_body(SHOPIFY), corpus_headers(SHOPIFY))
    assert unknown.status == 404 and unknown.json()["type"] == PROBLEM + "unknown-channel"
    rt.drain()
    assert captured_events("channel.inventory_reported") == []


def test_unmapped_items_and_locations_are_refused_and_accepted_once_mapped(rt, cli, channels, erp_client):
    # Mappings are read through the ingress's one-minute partner cache: set this one before any delivery.
    code, _, err = cli("channels", "set", "shopify-main", "--map-location", "70000000001=DC-WEST")
    assert code == 0, err
    reply = shopify_delivery(rt)  # CHAIR-1 does not carry the Shopify id yet
    assert reply.status == 422 and reply.json()["type"] == PROBLEM + "unmapped-channel-item"
    assert reply.json()["external_item_id"] == SHOPIFY_ITEM

    refs = [{"system": "shopify-main", "id": SHOPIFY_ITEM}]
    reply = erp_client.request("PUT", f"/v1/items/{SKU}", json_body={"cross_references": refs, "sequence": 1})
    assert reply.status == 200, reply.body
    assert shopify_delivery(rt).status == 202  # the channel's retry of the first delivery now goes through

    unmapped = corpus_body(SHOPIFY).replace(SHOPIFY_LOCATION.encode(), b"70000000002")
    reply = shopify_delivery(rt, unmapped, **{"x-shopify-webhook-id": "delivery-2"})
    assert reply.status == 422 and reply.json()["external_location_id"] == "70000000002"
    west = corpus_body(SHOPIFY).replace(SHOPIFY_LOCATION.encode(), b"70000000001")
    reply = shopify_delivery(rt, west, **{"x-shopify-webhook-id": "delivery-3"})
    assert reply.status == 202 and reply.json()["subject"] == f"{SKU}@shopify-main"
    rt.drain()
    assert set(channel_records(rt)) == {"CHANNEL#shopify-main#DC-EAST", "CHANNEL#shopify-main#DC-WEST"}


def test_topics_we_do_not_read_and_relative_changes_are_acknowledged_and_ignored(rt, channels, chair, captured_events):
    orders = json.loads((ECOMMERCE / "shopify_orders_create_2023-01.hookdeck.json").read_text())["body"]
    body = json.dumps(orders).encode()
    reply = shopify_delivery(rt, body, **{"x-shopify-topic": "orders/updated"})  # orders/create creates orders
    assert reply.status == 202 and reply.json()["status"] == "ignored" and reply.json()["topic"] == "orders/updated"

    relative = json.loads(corpus_body(BIGCOMMERCE))
    relative["data"]["inventory"].update(method="relative", value=-1)
    reply = bigcommerce_delivery(rt, channels["bc-store"]["webhook_token"], json.dumps(relative).encode())
    assert reply.status == 202 and reply.json()["status"] == "ignored" and "relative" in reply.json()["reason"]
    rt.drain()
    assert captured_events("channel.inventory_reported") == []


def test_who_may_read_channel_availability(rt, channels, chair, catalog):
    chair(4)
    shop = api_client(rt, channels["shopify-main"])
    assert shop.get(f"/v1/availability/{SKU}", {"channel": "shopify-main"}).status == 200
    assert shop.get(f"/v1/availability/{SKU}", {"channel": "bc-store"}).status == 403
    assert shop.get(f"/v1/availability/{SKU}").status == 403  # a channel names itself

    erp = partner_client(rt, catalog.erp)  # scope location:* only
    assert erp.get(f"/v1/availability/{SKU}", {"channel": "shopify-main"}).status == 403
    planner = partner_client(rt, register_partner(rt, "planner", "erp", ["channel:bc-store"]))
    view = planner.get(f"/v1/availability/{SKU}")
    assert view.status == 200 and [c["channel"] for c in view.json()["channels"]] == ["bc-store"]
    assert planner.get("/v1/availability/NO-SUCH-SKU").status == 404
    admin = partner_client(rt, register_partner(rt, "ops", "erp", ["*"]))
    assert {c["channel"]: c["sellable"] for c in admin.get(f"/v1/availability/{SKU}").json()["channels"]} == {
        "bc-store": 4,
        "shopify-main": 4,
    }
    assert admin.get(f"/v1/availability/{SKU}", {"channel": "nope"}).json()["type"] == PROBLEM + "unknown-channel"


def test_a_refresh_from_an_outdated_read_is_refused(rt, channels, chair):
    """Two projector runs that read the same partition: the second write would overwrite the first's decision."""
    chair(6)
    from shared.aws.inventory_store import InventoryStore
    from shared.aws.partners import PartnerRepository

    tables = rt.outputs
    service = ChannelAvailability(
        inventory_table=tables["InventoryTableName"], channels=PartnerRepository(tables["PartnersTableName"]).channels
    )
    partition = InventoryStore(tables["InventoryTableName"]).sku_partition(SKU)
    report = Envelope[ChannelInventoryReported].wrap(
        ChannelInventoryReported(
            channel="bc-store",
            platform="bigcommerce",
            sku=SKU,
            quantity=1,
            external_item_id="461",
            reported_at="2026-11-26T10:00:00Z",
        ),
        source_partner="bc-store",
        occurred_at="2026-11-26T10:00:00Z",
    )
    kwargs = {"correlation_id": "c", "causation_id": None, "now": report.received_at}
    assert service.refresh(SKU, partition.positions, partition.other_items, [report], **kwargs)
    with pytest.raises(AvailabilityConflict):
        service.refresh(SKU, partition.positions, partition.other_items, [report], **kwargs)
