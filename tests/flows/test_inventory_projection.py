"""The projector end to end: counts with their variances, receipts against supply lines, safety stock from the
item master, and channel figures published once per change (a burst coalesces), also after reservations."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.canonical.partner import ChannelSettings
from shared.services.partner_admin import PartnerAdmin, StackResources

# The channel (web_store) is registered before the catalog is written, as a store connected before the items exist.
pytestmark = pytest.mark.own_catalog

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SKU = "SKU-1"


def at(minutes=0):
    return (T0 + timedelta(minutes=minutes)).isoformat()


def count(client, seq, on_hand, **extra):
    body = {"sku": SKU, "location": "DC-EAST", "on_hand": on_hand, "reason": "cycle_count", "sequence": seq}
    reply = client.post("/v1/inventory/adjustments", {**body, "occurred_at": at(seq), **extra})
    assert reply.status == 202, reply.body


def pick(client, seq, quantity):
    body = {"sku": SKU, "location": "DC-EAST", "delta": -quantity, "reason": "pick", "sequence": seq}
    reply = client.post("/v1/inventory/adjustments", {**body, "occurred_at": at(seq)})
    assert reply.status == 202, reply.body


def position(client):
    reply = client.get(f"/v1/inventory/{SKU}", {"location": "DC-EAST"})
    assert reply.status == 200, reply.body
    return reply.json()["positions"][0]


@pytest.fixture
def web_store(rt):
    """A channel selling from DC-EAST with a buffer of 2 (no webhooks: platform other). Registered before the
    catalog is drained: the projector reads the channel list at most once a minute, as in AWS."""
    settings = ChannelSettings(platform="other", locations=["DC-EAST"], buffer=2)
    return PartnerAdmin(StackResources.from_outputs(rt.outputs)).add_channel("web-store", settings)


def changes(captured_events, channel="web-store"):
    return [e["data"] for e in captured_events("availability.changed") if e["data"]["channel"] == channel]


def test_a_count_reports_its_variance_against_what_was_expected(rt, client, captured_events):
    count(client, 1, 10)
    pick(client, 2, 2)
    rt.drain()
    snapshot = {"location": "DC-EAST", "snapshot_id": "CC-9", "sequence": 3, "taken_at": at(3)}
    reply = client.post("/v1/inventory/snapshots", {**snapshot, "lines": [{"sku": SKU, "on_hand": 6}]})
    assert reply.status == 202, reply.body
    rt.drain()
    (applied,) = captured_events("inventory.snapshot_applied")
    assert applied["data"]["snapshot_id"] == "CC-9" and applied["correlation_id"] == reply.json()["correlation_id"]
    assert applied["data"]["lines"] == [
        {"sku": SKU, "outcome": "applied", "on_hand_before": 8, "on_hand_after": 6, "variance": -2}
    ]
    assert position(client)["on_hand"] == 6


def test_a_burst_of_movements_publishes_one_figure_per_channel(rt, web_store, client, captured_events):
    # The catalog's item master made the SKU known to the channel at 0 (before this test captured events); the
    # count raises it to 100 less the buffer.
    count(client, 1, 100)
    rt.drain()
    assert [(c["sellable"], c["previous"]) for c in changes(captured_events)] == [(98, 0)]

    for seq in range(2, 7):  # five picks land in one batch
        pick(client, seq, 1)
    report = rt.drain()
    # one batch for the projector (the journal reads the same events, and the supply changes they cause)
    assert report.invocations["projector"] == 1 and report.failed_records == 0
    assert [(c["sellable"], c["previous"]) for c in changes(captured_events)][1:] == [(93, 98)]

    pick(client, 4, 1)  # a duplicate of a pick already applied: nothing changes, nothing is published
    rt.drain()
    assert len(changes(captured_events)) == 2


def test_safety_stock_from_the_item_master_reaches_positions_and_channels(
    rt, web_store, client, erp_client, captured_events
):
    count(client, 1, 50)
    rt.drain()
    item = {"units": {"each": 1, "case": 12}, "safety_stock": 10, "sequence": 2}
    assert erp_client.request("PUT", f"/v1/items/{SKU}", json_body=item).status == 200
    rt.drain()
    held = position(client)
    assert held["unavailable"]["safety_stock"] == 10 and held["available"] == 40
    assert changes(captured_events)[-1]["sellable"] == 38  # 40 less the channel's buffer of 2

    count(erp_client, 2, 60, location="DC-WEST")  # a position created after the change starts with it
    rt.drain()
    west = erp_client.get(f"/v1/inventory/{SKU}", {"location": "DC-WEST"}).json()["positions"][0]
    assert (west["unavailable"]["safety_stock"], west["available"]) == (10, 50)


def test_a_receipt_moves_supply_into_stock_once(rt, client, erp_client):
    count(client, 1, 5)
    notice = {"kind": "in_transit", "document": "ASN-7", "sequence": 1, "occurred_at": at(1)}
    notice |= {
        "expected_date": "2099-01-05",
        "lines": [{"line": "1", "sku": SKU, "location": "DC-EAST", "quantity": 30}],
    }
    assert erp_client.post("/v1/inventory/incoming", notice).status == 202
    rt.drain()
    assert position(client)["in_transit"] == 30

    receipt = {"sku": SKU, "location": "DC-EAST", "quantity": 1, "unit": "case", "sequence": 2}
    receipt |= {"occurred_at": at(2), "incoming_reference": "ASN-7/1", "message_id": "GR-1"}
    assert client.post("/v1/inventory/receipts", receipt).status == 202
    assert client.post("/v1/inventory/receipts", {**receipt, "message_id": "GR-1-again"}).status == 202  # re-sent
    rt.drain()
    held = position(client)
    assert (held["on_hand"], held["in_transit"]) == (17, 18)
    assert held["incoming"] == [
        {"reference": "ASN-7/1", "kind": "in_transit", "quantity": 18, "expected_date": "2099-01-05", "received": 12}
    ]


def test_reservations_change_what_channels_may_sell(rt, web_store, client, captured_events):
    count(client, 1, 20)
    rt.drain()
    hold = {"reference": "cart-7", "kind": "hold", "lines": [{"sku": SKU, "location": "DC-EAST", "quantity": 5}]}
    assert client.post("/v1/reservations", hold).status == 201
    rt.drain()
    assert [c["sellable"] for c in changes(captured_events)][-2:] == [18, 13]
    assert client.request("POST", "/v1/reservations/cart-7/release").status == 200  # an action without a body
    rt.drain()
    assert [c["sellable"] for c in changes(captured_events)][-3:] == [18, 13, 18]
