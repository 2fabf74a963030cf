"""Item and location master through the API: the ERP writes, versions order the writes, events follow."""

from datetime import UTC, datetime

from shared.aws.clients import client as aws

ITEM = {
    "description": "Widget, blue",
    "gtin": "00012345678905",
    "units": {"each": 1, "case": 6},
    "safety_stock": 4,
    "safety_stock_by_location": {"DC-WEST": 10},
    "cross_references": [{"system": "shopify-main", "id": "808950810"}, {"system": "bigcommerce", "id": "77"}],
}


def put(api, path, body):
    return api.request("PUT", path, json_body=body)


def xref(rt, system, external_id):
    key = {"pk": {"S": f"XREF#{system}#{external_id}"}, "sk": {"S": "XREF"}}
    item = aws("dynamodb").get_item(TableName=rt.outputs["InventoryTableName"], Key=key).get("Item")
    return {k: v["S"] for k, v in item.items()} if item else None


def test_the_erp_creates_an_item_and_every_partner_reads_it(rt, erp_client, client, captured_events):
    reply = put(erp_client, "/v1/items/WIDGET-1", {**ITEM, "sequence": 7})
    assert reply.status == 200, reply.body
    written = reply.json()
    assert written["status"] == "created" and written["event_id"]
    assert written["item"]["sku"] == "WIDGET-1" and written["item"]["sequence"] == 7

    read = client.get("/v1/items/WIDGET-1")  # a warehouse may read the master
    assert read.status == 200, read.body
    item = read.json()
    assert item["units"] == {"each": 1, "case": 6} and item["safety_stock_by_location"] == {"DC-WEST": 10}
    assert (item["sequence"], item["updated_by"]) == (7, "erp")

    (event,) = captured_events("item.updated")
    assert event["id"] == written["event_id"] and event["subject"] == "WIDGET-1"
    assert event["source_partner"] == "erp" and event["data"]["sequence"] == 7
    assert event["data"]["item"]["cross_references"] == ITEM["cross_references"]

    assert xref(rt, "shopify-main", "808950810") == {
        "pk": "XREF#shopify-main#808950810",
        "sk": "XREF",
        "sku": "WIDGET-1",
        "system": "shopify-main",
        "external_id": "808950810",
    }
    assert xref(rt, "bigcommerce", "77")["sku"] == "WIDGET-1"


def test_an_older_or_equal_version_is_stale_and_publishes_nothing(rt, erp_client, captured_events):
    assert put(erp_client, "/v1/items/WIDGET-1", {**ITEM, "sequence": 5}).status == 200
    for sequence in (5, 4):
        reply = put(erp_client, "/v1/items/WIDGET-1", {**ITEM, "safety_stock": 99, "sequence": sequence})
        assert reply.status == 200, reply.body
        assert reply.json()["status"] == "stale" and reply.json()["event_id"] is None
        assert reply.json()["item"]["safety_stock"] == 4 and reply.json()["item"]["sequence"] == 5
    newer = put(erp_client, "/v1/items/WIDGET-1", {**ITEM, "safety_stock": 99, "sequence": 6})
    assert newer.json()["status"] == "updated"
    assert erp_client.get("/v1/items/WIDGET-1").json()["safety_stock"] == 99
    assert [e["data"]["sequence"] for e in captured_events("item.updated")] == [5, 6]


def test_a_new_version_drops_and_adds_cross_references_with_the_item(rt, erp_client):
    assert put(erp_client, "/v1/items/WIDGET-1", {**ITEM, "sequence": 1}).status == 200
    refs = [{"system": "shopify-main", "id": "808950810"}, {"system": "shopify-main", "id": "999"}]
    reply = put(erp_client, "/v1/items/WIDGET-1", {**ITEM, "cross_references": refs, "sequence": 2})
    assert reply.json()["status"] == "updated", reply.body
    assert xref(rt, "bigcommerce", "77") is None
    assert xref(rt, "shopify-main", "999")["sku"] == "WIDGET-1"
    assert xref(rt, "shopify-main", "808950810")["sku"] == "WIDGET-1"


def test_a_cross_reference_of_another_sku_is_a_conflict_and_nothing_changes(rt, erp_client, captured_events):
    assert put(erp_client, "/v1/items/WIDGET-1", {**ITEM, "sequence": 1}).status == 200
    taken = {**ITEM, "cross_references": [{"system": "bigcommerce", "id": "77"}], "sequence": 1}
    reply = put(erp_client, "/v1/items/WIDGET-2", taken)
    assert reply.status == 409, reply.body
    problem = reply.json()
    assert problem["type"] == "urn:distrosync:problem:conflict"
    assert problem["sku"] == "WIDGET-1" and problem["cross_reference"] == {"system": "bigcommerce", "id": "77"}
    assert erp_client.get("/v1/items/WIDGET-2").status == 404
    assert xref(rt, "bigcommerce", "77")["sku"] == "WIDGET-1"
    assert [e["subject"] for e in captured_events("item.updated")] == ["WIDGET-1"]


def test_only_the_erp_writes_master_data(rt, client, captured_events):
    for path, body in (("/v1/items/WIDGET-1", {**ITEM, "sequence": 1}), ("/v1/locations/DC-NEW", {"sequence": 1})):
        reply = put(client, path, body)
        assert reply.status == 403, reply.body
        assert reply.json()["type"] == "urn:distrosync:problem:out-of-scope"
    assert client.get("/v1/items/WIDGET-1").status == 404
    assert captured_events() == []


def test_invalid_master_records_name_the_fields(erp_client):
    cases = {
        "/units/each": {**ITEM, "units": {"each": 2}, "sequence": 1},
        "/cross_references": {**ITEM, "cross_references": [ITEM["cross_references"][0]] * 2, "sequence": 1},
        "/gtin": {**ITEM, "gtin": "12-34", "sequence": 1},
        "/sequence": {**ITEM},
    }
    for pointer, body in cases.items():
        reply = put(erp_client, "/v1/items/WIDGET-1", body)
        assert reply.status == 422, (pointer, reply.body)
        problem = reply.json()
        assert problem["type"] == "urn:distrosync:problem:validation-failed"
        assert any(e["pointer"].startswith(pointer.rsplit("/", 1)[0] or pointer) for e in problem["errors"]), problem
    bad_sku = put(erp_client, "/v1/items/-bad", {**ITEM, "sequence": 1})
    assert bad_sku.status == 422 and bad_sku.json()["errors"][0]["in"] == "path"


def test_locations_are_written_in_order_and_published(rt, erp_client, captured_events):
    body = {"name": "Reno DC", "gln": "0614141000012", "type": "3pl", "sequence": 3}
    created = put(erp_client, "/v1/locations/DC-RENO", body)
    assert created.status == 200 and created.json()["status"] == "created", created.body
    assert put(erp_client, "/v1/locations/DC-RENO", {**body, "name": "old", "sequence": 2}).json()["status"] == "stale"
    location = erp_client.get("/v1/locations/DC-RENO").json()
    assert (location["code"], location["name"], location["type"], location["sequence"]) == (
        "DC-RENO",
        "Reno DC",
        "3pl",
        3,
    )
    (event,) = captured_events("location.updated")
    assert event["id"] == created.json()["event_id"] and event["data"]["location"]["gln"] == "0614141000012"
    assert erp_client.get("/v1/locations/DC-NOWHERE").json()["type"] == "urn:distrosync:problem:not-found"


def test_an_event_a_write_could_not_publish_is_published_by_the_retry(rt, erp_client, captured_events):
    """A write stores the envelope with the record and removes it once published; if publishing failed (the
    ERP got a 5xx), the record still holds it, and the ERP's retry of the same version publishes it."""
    from shared.aws.master_store import MasterStore, Versioned
    from shared.canonical.envelope import Envelope
    from shared.canonical.items import Item, ItemUpdated

    item = Item(sku="WIDGET-9", **ITEM)
    envelope = Envelope[ItemUpdated].wrap(
        ItemUpdated(item=item, sequence=4), source_partner="erp", occurred_at=datetime.now(UTC)
    )
    store = MasterStore(rt.outputs["InventoryTableName"])
    store.put_item(Versioned(item, 4, datetime.now(UTC), "erp", envelope.model_dump_json()), None)

    retry = put(erp_client, "/v1/items/WIDGET-9", {**ITEM, "sequence": 4})
    assert retry.status == 200, retry.body
    assert retry.json()["status"] == "updated" and retry.json()["event_id"] == envelope.id
    assert [e["id"] for e in captured_events("item.updated")] == [envelope.id]
    assert store.item("WIDGET-9").outbox is None
    again = put(erp_client, "/v1/items/WIDGET-9", {**ITEM, "sequence": 4})
    assert again.json()["status"] == "stale" and len(captured_events("item.updated")) == 1


EAST_GLN, OTHER_GLN = "0614141000012", "0614141000029"


def test_a_location_named_by_its_gln_is_the_location(rt, erp_client, client, captured_events):
    assert put(erp_client, "/v1/locations/DC-EAST", {"name": "East", "gln": EAST_GLN, "sequence": 2}).status == 200
    assert xref(rt, "gln", EAST_GLN)["location"] == "DC-EAST"

    count = {"sku": "SKU-1", "location": EAST_GLN, "on_hand": 9, "reason": "cycle_count", "sequence": 1}
    reply = client.post("/v1/inventory/adjustments", {**count, "occurred_at": "2026-11-26T10:00:00Z"})
    assert reply.status == 202, reply.body  # the warehouse's scope is DC-EAST: the GLN resolved before the check
    (event,) = captured_events("inventory.adjusted")
    assert event["data"]["location"] == "DC-EAST" and event["subject"] == "SKU-1@DC-EAST"
    rt.drain()
    assert client.get("/v1/inventory/SKU-1", {"location": "DC-EAST"}).json()["positions"][0]["on_hand"] == 9

    hold = {"reference": "cart-1", "kind": "hold", "lines": [{"sku": "SKU-1", "location": EAST_GLN, "quantity": 2}]}
    reserved = client.post("/v1/reservations", hold)
    assert reserved.status == 201, reserved.body
    assert reserved.json()["lines"] == [{"sku": "SKU-1", "location": "DC-EAST", "quantity": 2}]

    unknown = {**count, "location": OTHER_GLN, "sequence": 2, "occurred_at": "2026-11-26T10:01:00Z"}
    reply = erp_client.post("/v1/inventory/adjustments", unknown)
    assert reply.status == 422 and reply.json()["type"] == "urn:distrosync:problem:unknown-location"


def test_a_gln_identifies_one_location_and_moves_with_it(rt, erp_client):
    assert put(erp_client, "/v1/locations/DC-EAST", {"gln": EAST_GLN, "sequence": 2}).status == 200
    taken = put(erp_client, "/v1/locations/DC-WEST", {"gln": EAST_GLN, "sequence": 2})
    assert taken.status == 409 and taken.json()["location"] == "DC-EAST"
    assert erp_client.get("/v1/locations/DC-WEST").json()["gln"] is None  # nothing changed

    assert put(erp_client, "/v1/locations/DC-EAST", {"gln": OTHER_GLN, "sequence": 3}).status == 200
    assert xref(rt, "gln", EAST_GLN) is None and xref(rt, "gln", OTHER_GLN)["location"] == "DC-EAST"
    assert put(erp_client, "/v1/locations/DC-WEST", {"gln": EAST_GLN, "sequence": 3}).status == 200
