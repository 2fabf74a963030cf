"""Inventory queries through the API: every bucket per location, time-phased ATP, and up to 100 SKUs at once,
each limited to the locations the partner may see."""

from datetime import UTC, date, datetime, timedelta

import pytest

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PROBLEM = "urn:distrosync:problem:"
TODAY = datetime.now(UTC).date()


def at(minutes=0):
    return (T0 + timedelta(minutes=minutes)).isoformat()


def snapshot(api, location, lines, sequence=1):
    body = {
        "location": location,
        "snapshot_id": f"CC-{location}-{sequence}",
        "sequence": sequence,
        "taken_at": at(),
        "lines": lines,
    }
    reply = api.post("/v1/inventory/snapshots", body)
    assert reply.status == 202, reply.body


def supply(api, document, kind, quantity, expected: date, sku="SKU-1", location="DC-EAST"):
    body = {"kind": kind, "document": document, "sequence": 1, "occurred_at": at(), "expected_date": str(expected)}
    body["lines"] = [{"line": "1", "sku": sku, "location": location, "quantity": quantity}]
    reply = api.post("/v1/inventory/incoming", body)
    assert reply.status == 202, reply.body


@pytest.fixture
def stocked(rt, erp_client):
    """SKU-1: DC-EAST 40 on hand (3 damaged, lot L-1 of 25), DC-WEST 10; 20 in transit to DC-EAST in 2 days
    and a PO line of 100 promised in 6; SKU-2 at DC-EAST only."""
    snapshot(
        erp_client, "DC-EAST", [{"sku": "SKU-1", "on_hand": 40, "unavailable": {"damaged": 3}, "lots": {"L-1": 25}}]
    )
    snapshot(erp_client, "DC-EAST", [{"sku": "SKU-2", "on_hand": 7}], sequence=2)
    snapshot(erp_client, "DC-WEST", [{"sku": "SKU-1", "on_hand": 10}], sequence=3)
    supply(erp_client, "ASN-1", "in_transit", 20, TODAY + timedelta(days=2))
    supply(erp_client, "PO-1", "on_order", 100, TODAY + timedelta(days=6))
    rt.drain()


def test_a_sku_shows_every_bucket_at_every_location_the_partner_may_see(stocked, erp_client, client):
    view = erp_client.get("/v1/inventory/SKU-1").json()
    east, west = view["positions"]
    assert (east["location"], west["location"]) == ("DC-EAST", "DC-WEST")
    assert (east["on_hand"], east["unavailable"]["damaged"], east["available"]) == (40, 3, 37)
    assert (east["in_transit"], east["on_order"], east["lots"]) == (20, 100, {"L-1": 25})
    assert [line["reference"] for line in east["incoming"]] == ["ASN-1/1", "PO-1/1"]
    assert east["sources"] == [{"source": "erp", "sequence": 1, "occurred_at": "2026-11-26T09:00:00Z"}]
    assert view["totals"] == {
        "on_hand": 50,
        "committed": 0,
        "reserved": 0,
        "unavailable_total": 3,
        "available": 47,
        "on_order": 100,
        "in_transit": 20,
    }
    # the east warehouse sees its own location only
    assert [p["location"] for p in client.get("/v1/inventory/SKU-1").json()["positions"]] == ["DC-EAST"]
    assert client.get("/v1/inventory/SKU-1", {"location": "DC-WEST"}).status == 403
    assert client.get("/v1/inventory/SKU-9").json()["type"] == PROBLEM + "not-found"


def test_atp_adds_supply_by_the_date_it_is_expected(stocked, erp_client):
    def atp(days, location="DC-EAST"):
        reply = erp_client.get(
            "/v1/inventory/SKU-1/atp", {"location": location, "date": str(TODAY + timedelta(days=days))}
        )
        assert reply.status == 200, reply.body
        return reply.json()

    assert [atp(d)["atp"] for d in (0, 1, 2, 5, 6, 30)] == [37, 37, 57, 57, 157, 157]
    answer = atp(2)["locations"][0]
    assert (answer["answer"]["in_transit"], answer["answer"]["on_order"]) == (20, 0)
    assert [(p["date"], p["atp"]) for p in answer["timeline"]] == [
        (str(TODAY), 37),
        (str(TODAY + timedelta(days=2)), 57),
        (str(TODAY + timedelta(days=6)), 157),
    ]
    everywhere = erp_client.get("/v1/inventory/SKU-1/atp", {"date": str(TODAY + timedelta(days=6))}).json()
    assert everywhere["atp"] == 167 and [x["location"] for x in everywhere["locations"]] == ["DC-EAST", "DC-WEST"]
    past = erp_client.get("/v1/inventory/SKU-1/atp", {"date": str(TODAY - timedelta(days=1))})
    assert past.status == 422 and past.json()["type"] == PROBLEM + "validation-failed"


def test_many_skus_at_once_limited_to_the_partner_and_to_100(stocked, erp_client, client):
    reply = erp_client.post("/v1/inventory/query", {"skus": ["SKU-1", "SKU-2", "SKU-404"]})
    assert reply.status == 200, reply.body
    result = reply.json()
    assert [i["sku"] for i in result["items"]] == ["SKU-1", "SKU-2"] and result["not_found"] == ["SKU-404"]
    assert result["items"][0]["totals"]["on_hand"] == 50

    west = erp_client.post("/v1/inventory/query", {"skus": ["SKU-1", "SKU-2"], "locations": ["DC-WEST"]}).json()
    assert [(i["sku"], [p["location"] for p in i["positions"]]) for i in west["items"]] == [("SKU-1", ["DC-WEST"])]
    assert west["not_found"] == ["SKU-2"]

    assert client.post("/v1/inventory/query", {"skus": ["SKU-1"], "locations": ["DC-WEST"]}).status == 403
    mine = client.post("/v1/inventory/query", {"skus": ["SKU-1"]}).json()
    assert [p["location"] for p in mine["items"][0]["positions"]] == ["DC-EAST"]

    too_many = erp_client.post("/v1/inventory/query", {"skus": [f"SKU-{i}" for i in range(101)]})
    assert too_many.status == 422 and too_many.json()["type"] == PROBLEM + "too-many-lines"
