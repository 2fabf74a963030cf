"""Inventory inputs through the API: what the ingress publishes for snapshots, adjustments, receipts and
incoming supply, and the specific problem each bad input gets (nothing refused is published)."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from cli.local_session import partner_client, register_partner

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PROBLEM = "urn:distrosync:problem:"


def at(minutes=0):
    return (T0 + timedelta(minutes=minutes)).isoformat()


def snapshot(lines, *, snapshot_id="CC-1", sequence=10, location="DC-EAST", **extra):
    return {
        "location": location,
        "snapshot_id": snapshot_id,
        "sequence": sequence,
        "taken_at": at(),
        "lines": lines,
        **extra,
    }


def problem_of(reply, status, slug):
    assert reply.status == status, reply.body
    problem = reply.json()
    assert problem["type"] == PROBLEM + slug, problem
    return problem


def seed_items(rt, skus):
    """Master data for bulk tests, written straight to the store (the API path is tested elsewhere)."""
    from shared.aws.master_store import MasterStore, Versioned
    from shared.canonical.items import Item

    store = MasterStore(rt.outputs["InventoryTableName"])
    for sku in skus:
        store.put_item(Versioned(Item(sku=sku, units={"each": 1, "case": 12}), 1, T0, "erp"), None)


# ------------------------------------------------------------------------------------------------ snapshots
def test_a_snapshot_is_published_in_chunks_of_100_lines_in_eaches(rt, client, captured_events):
    skus = [f"BULK-{n:03d}" for n in range(250)]
    seed_items(rt, skus)
    lines = [{"sku": sku, "on_hand": n} for n, sku in enumerate(skus)]
    lines[0] = {"sku": skus[0], "on_hand": 2, "unit": "case", "unavailable": {"damaged": 1}, "lots": {"L-7": 2}}
    reply = client.post("/v1/inventory/snapshots", snapshot(lines))
    assert reply.status == 202, reply.body
    accepted = reply.json()
    assert accepted["type"] == "inventory.snapshot_received" and len(accepted["event_ids"]) == 3
    assert reply.header("Idempotent-Replayed") == "false"

    events = captured_events("inventory.snapshot_received")
    assert [e["id"] for e in events] == accepted["event_ids"]
    assert [(e["data"]["part"], e["data"]["parts"], len(e["data"]["lines"])) for e in events] == [
        (1, 3, 100),
        (2, 3, 100),
        (3, 3, 50),
    ]
    assert {e["occurred_at"][:19] for e in events} == {"2026-11-26T09:00:00"}
    assert events[0]["data"]["lines"][0] == {
        "sku": "BULK-000",
        "on_hand": 24,
        "unavailable": {"damaged": 12},
        "lots": {"L-7": 24},
    }
    assert events[2]["data"]["lines"][-1] == {"sku": "BULK-249", "on_hand": 249, "unavailable": {}, "lots": {}}
    assert [line["sku"] for e in events for line in e["data"]["lines"]] == skus


def test_lines_with_many_lots_make_smaller_chunks_that_fit_eventbridge(rt, client, captured_events):
    skus = [f"LOTTED-{n:02d}" for n in range(60)]
    seed_items(rt, skus)
    lots = {f"LOT-{n:04d}-{'x' * 30}": 1 for n in range(200)}
    lines = [{"sku": sku, "on_hand": 200, "lots": lots} for sku in skus]
    reply = client.post("/v1/inventory/snapshots", snapshot(lines))
    assert reply.status == 202, reply.body
    events = captured_events("inventory.snapshot_received")
    sizes = [len(json.dumps(e, separators=(",", ":"))) for e in events]
    assert len(events) > 1 and max(sizes) < 256 * 1024, sizes
    assert [line["sku"] for e in events for line in e["data"]["lines"]] == skus
    assert {e["data"]["parts"] for e in events} == {len(events)}


def test_a_snapshot_sent_again_is_replayed_and_published_once(rt, client, captured_events):
    body = snapshot([{"sku": "SKU-1", "on_hand": 5}, {"sku": "SKU-2", "on_hand": 0}])
    first, second = client.post("/v1/inventory/snapshots", body), client.post("/v1/inventory/snapshots", body)
    assert (first.status, second.status) == (202, 202)
    assert first.json()["event_ids"] == second.json()["event_ids"]
    assert [first.header("Idempotent-Replayed"), second.header("Idempotent-Replayed")] == ["false", "true"]
    changed = client.post("/v1/inventory/snapshots", {**body, "lines": [{"sku": "SKU-1", "on_hand": 6}]})
    problem_of(changed, 422, "idempotency-key-reused")
    assert len(captured_events("inventory.snapshot_received")) == 1


def test_a_negative_count_is_refused_naming_its_lines(client, captured_events):
    lines = [
        {"sku": "SKU-1", "on_hand": 5},
        {"sku": "SKU-2", "on_hand": -3},
        {"sku": "SKU-3", "on_hand": 4, "unavailable": {"damaged": -1}},
    ]
    problem = problem_of(client.post("/v1/inventory/snapshots", snapshot(lines)), 422, "negative-on-hand")
    assert problem["lines"] == [1, 2] and problem["skus"] == ["SKU-2", "SKU-3"]
    assert [e["pointer"] for e in problem["errors"]] == ["/lines/1/on_hand", "/lines/2/unavailable/damaged"]
    assert captured_events() == []


def test_snapshot_lines_must_be_known_and_few_enough(rt, client, captured_events):
    unknown = [{"sku": "SKU-1", "on_hand": 1}, {"sku": "NOPE-1", "on_hand": 1}, {"sku": "NOPE-2", "on_hand": 2}]
    problem = problem_of(client.post("/v1/inventory/snapshots", snapshot(unknown)), 422, "unknown-sku")
    assert problem["skus"] == ["NOPE-1", "NOPE-2"]
    assert [(e["pointer"], e["value"]) for e in problem["errors"]] == [
        ("/lines/1/sku", "NOPE-1"),
        ("/lines/2/sku", "NOPE-2"),
    ]

    boxes = [{"sku": "SKU-1", "on_hand": 1, "unit": "case"}, {"sku": "SKU-2", "on_hand": 1, "unit": "box"}]
    problem = problem_of(client.post("/v1/inventory/snapshots", snapshot(boxes)), 422, "unknown-unit-of-measure")
    assert problem["units"] == [{"sku": "SKU-2", "unit": "box"}]
    assert problem["errors"][0]["pointer"] == "/lines/1/unit" and problem["errors"][0]["known_units"] == [
        "case",
        "each",
        "pallet",
    ]

    repeated = [{"sku": "SKU-1", "on_hand": 1}, {"sku": "SKU-1", "on_hand": 2}]
    problem = problem_of(client.post("/v1/inventory/snapshots", snapshot(repeated)), 422, "validation-failed")
    assert [e["pointer"] for e in problem["errors"]] == ["/lines/0/sku", "/lines/1/sku"]

    too_many = [{"sku": f"X-{n}", "on_hand": 1} for n in range(1001)]
    problem = problem_of(client.post("/v1/inventory/snapshots", snapshot(too_many)), 422, "too-many-lines")
    assert (problem["limit"], problem["lines"]) == (1000, 1001)

    elsewhere = client.post("/v1/inventory/snapshots", snapshot([{"sku": "SKU-1", "on_hand": 1}], location="DC-WEST"))
    problem_of(elsewhere, 403, "out-of-scope")
    assert captured_events() == []


def test_an_unknown_location_is_refused(erp_client, captured_events):
    body = snapshot([{"sku": "SKU-1", "on_hand": 1}, {"sku": "NOPE", "on_hand": 1}], location="DC-NOWHERE")
    problem = problem_of(erp_client.post("/v1/inventory/snapshots", body), 422, "unknown-location")
    assert problem["locations"] == ["DC-NOWHERE"] and problem["errors"][0]["pointer"] == "/location"
    assert captured_events() == []


# ------------------------------------------------------------------------------------------------ adjustments
def adjustment(seq, **change):
    return {"sku": "SKU-1", "location": "DC-EAST", "sequence": seq, "occurred_at": at(seq), **change}


def test_adjustments_are_converted_to_eaches_with_lots_counts_and_status_changes(client, captured_events):
    bodies = [
        adjustment(1, delta=-2, unit="case", lot="L-1", reason="pick"),
        adjustment(2, on_hand=3, unavailable={"quality_control": 1}, unit="pallet", reason="cycle_count"),
        adjustment(3, status_change={"from_status": "available", "to_status": "damaged", "quantity": 5}),
    ]
    for body in bodies:
        reply = client.post("/v1/inventory/adjustments", body)
        assert reply.status == 202, reply.body
    events = captured_events("inventory.adjusted")
    assert {e["schema_version"] for e in events} == {"1.1"}
    data = [e["data"] for e in events]
    assert (data[0]["delta"], data[0]["lot"], data[0]["reason"]) == (-24, "L-1", "pick")
    assert (data[1]["on_hand"], data[1]["unavailable"]) == (1440, {"quality_control": 480})
    assert data[2]["status_change"] == {"from_status": "available", "to_status": "damaged", "quantity": 5}
    assert data[2]["reason"] == "status_change" and data[2]["delta"] is None


def test_adjustment_refusals_are_specific(client, erp_client, captured_events):
    post = client.post
    problem = problem_of(
        post("/v1/inventory/adjustments", adjustment(1, on_hand=-1, reason="cycle_count")), 422, "negative-on-hand"
    )
    assert problem["errors"][0]["pointer"] == "/on_hand"
    problem = problem_of(
        post("/v1/inventory/adjustments", {**adjustment(1, delta=1, reason="receipt"), "sku": "NOPE"}),
        422,
        "unknown-sku",
    )
    assert problem["errors"] == [
        {
            "in": "body",
            "pointer": "/sku",
            "message": "SKU 'NOPE' is not in the item master",
            "code": "unknown-sku",
            "value": "NOPE",
        }
    ]
    problem_of(
        post("/v1/inventory/adjustments", adjustment(1, delta=1, unit="box", reason="receipt")),
        422,
        "unknown-unit-of-measure",
    )
    nowhere = {**adjustment(1, delta=1, reason="receipt"), "location": "DC-NOWHERE"}
    problem_of(erp_client.post("/v1/inventory/adjustments", nowhere), 422, "unknown-location")
    problem_of(post("/v1/inventory/adjustments", adjustment(1, delta=1)), 422, "validation-failed")  # no reason
    problem_of(
        post("/v1/inventory/adjustments", adjustment(1, delta=1, unavailable={"damaged": 1}, reason="other")),
        422,
        "validation-failed",
    )
    naive = {**adjustment(1, delta=1, reason="receipt"), "occurred_at": "2026-11-26T09:00:00"}
    problem_of(post("/v1/inventory/adjustments", naive), 422, "validation-failed")
    assert captured_events() == []


# ------------------------------------------------------------------------------------------------ receipts
def receipt(seq, **extra):
    body = {"sku": "SKU-2", "location": "DC-EAST", "quantity": 3, "unit": "case", "sequence": seq, "occurred_at": at()}
    return {**body, **extra}


def test_a_receipt_is_published_in_eaches_once(client, captured_events):
    body = receipt(40, incoming_reference="PO-1001/1", document="GR-9", lot="L-2")
    first = client.post("/v1/inventory/receipts", body)
    assert first.status == 202, first.body
    assert first.json()["type"] == "receipt.posted" and first.json()["subject"] == "SKU-2@DC-EAST"
    again = client.post("/v1/inventory/receipts", body)
    assert again.header("Idempotent-Replayed") == "true" and again.json()["event_id"] == first.json()["event_id"]
    (event,) = captured_events("receipt.posted")
    assert event["data"] == {
        "sku": "SKU-2",
        "location": "DC-EAST",
        "lot": "L-2",
        "quantity": 36,
        "incoming_reference": "PO-1001/1",
        "sequence": 40,
        "document": "GR-9",
    }


def test_receipt_refusals(client, captured_events):
    problem_of(client.post("/v1/inventory/receipts", receipt(1, sku="NOPE")), 422, "unknown-sku")
    problem_of(client.post("/v1/inventory/receipts", receipt(1, location="DC-WEST")), 403, "out-of-scope")
    problem_of(client.post("/v1/inventory/receipts", receipt(1, quantity=0)), 422, "validation-failed")
    assert captured_events() == []


# ------------------------------------------------------------------------------------------------ incoming
def purchase_order(lines, **extra):
    body = {
        "kind": "on_order",
        "document": "PO-1001",
        "sequence": 2,
        "occurred_at": at(),
        "expected_date": "2026-12-01",
    }
    return {**body, "lines": lines, **extra}


def test_confirmed_po_lines_are_published_one_event_per_line(erp_client, captured_events):
    lines = [
        {"line": "1", "sku": "SKU-1", "location": "DC-EAST", "quantity": 10, "unit": "case"},
        {"line": "2", "sku": "SKU-2", "location": "DC-WEST", "quantity": 0, "expected_date": "2026-12-05"},
    ]
    reply = erp_client.post("/v1/inventory/incoming", purchase_order(lines))
    assert reply.status == 202, reply.body
    assert len(reply.json()["event_ids"]) == 2
    events = captured_events("inventory.incoming_updated")
    assert [e["id"] for e in events] == reply.json()["event_ids"]
    assert [e["data"] for e in events] == [
        {
            "sku": "SKU-1",
            "location": "DC-EAST",
            "reference": "PO-1001/1",
            "kind": "on_order",
            "quantity": 120,
            "basis": "open",
            "expected_date": "2026-12-01",
            "sequence": 2,
        },
        {
            "sku": "SKU-2",
            "location": "DC-WEST",
            "reference": "PO-1001/2",
            "kind": "on_order",
            "quantity": 0,
            "basis": "open",
            "expected_date": "2026-12-05",
            "sequence": 2,
        },
    ]
    # The same document version sent in two parts: each part is its own request, neither is a replay.
    rest = [{"line": "3", "sku": "SKU-3", "location": "DC-EAST", "quantity": 1}]
    other_part = erp_client.post("/v1/inventory/incoming", purchase_order(rest))
    assert other_part.status == 202 and other_part.header("Idempotent-Replayed") == "false"
    replay = erp_client.post("/v1/inventory/incoming", purchase_order(lines))
    assert replay.header("Idempotent-Replayed") == "true"
    assert len(captured_events("inventory.incoming_updated")) == 3


def test_incoming_refusals_name_the_lines(rt, erp_client, captured_events):
    line = {"line": "1", "sku": "SKU-1", "location": "DC-EAST", "quantity": 1}
    elsewhere = [line, {**line, "line": "2", "location": "DC-NOWHERE"}]
    problem = problem_of(erp_client.post("/v1/inventory/incoming", purchase_order(elsewhere)), 422, "unknown-location")
    assert problem["errors"][0]["pointer"] == "/lines/1/location"

    undated = purchase_order([line, {**line, "line": "2", "expected_date": "2026-12-09"}], expected_date=None)
    problem = problem_of(erp_client.post("/v1/inventory/incoming", undated), 422, "validation-failed")
    assert [e["pointer"] for e in problem["errors"]] == ["/lines/0/expected_date"]

    repeated = purchase_order([line, line])
    problem_of(erp_client.post("/v1/inventory/incoming", repeated), 422, "validation-failed")

    many = purchase_order([{**line, "line": str(n)} for n in range(501)])
    problem_of(erp_client.post("/v1/inventory/incoming", many), 422, "too-many-lines")

    supplier = partner_client(rt, register_partner(rt, "sup-1", "supplier", ["location:DC-WEST"]))
    problem_of(supplier.post("/v1/inventory/incoming", purchase_order([line])), 403, "out-of-scope")
    assert captured_events() == []


# ------------------------------------------------------------------------------------------------ end to end
@pytest.mark.parametrize("unit, factor", [("each", 1), ("case", 12)])
def test_a_snapshot_count_becomes_the_position(rt, client, unit, factor):
    """End to end with the projector: the count, in eaches, is what the query shows."""
    body = snapshot([{"sku": "SKU-4", "on_hand": 7, "unit": unit, "unavailable": {"blocked": 1}}])
    assert client.post("/v1/inventory/snapshots", body).status == 202
    rt.drain()
    reply = client.get("/v1/inventory/SKU-4", {"location": "DC-EAST"})
    assert reply.status == 200, reply.body
    (position,) = reply.json()["positions"]
    assert (position["on_hand"], position["available"]) == (7 * factor, 6 * factor)


def test_confirmed_incoming_shows_in_future_atp(rt, client, erp_client):
    """End to end with the projector: supply promised for a date counts in ATP from that date."""
    assert client.post("/v1/inventory/snapshots", snapshot([{"sku": "SKU-5", "on_hand": 4}])).status == 202
    lines = [{"line": "1", "sku": "SKU-5", "location": "DC-EAST", "quantity": 2, "unit": "case"}]
    assert erp_client.post("/v1/inventory/incoming", purchase_order(lines, expected_date="2099-01-10")).status == 202
    rt.drain()
    before = client.get("/v1/inventory/SKU-5/atp", {"location": "DC-EAST", "date": "2099-01-09"})
    after = client.get("/v1/inventory/SKU-5/atp", {"location": "DC-EAST", "date": "2099-01-10"})
    assert before.status == 200, before.body
    assert (before.json()["atp"], after.json()["atp"]) == (4, 28)


def test_supply_changes_are_published_for_promising(rt, client, erp_client, captured_events):
    """The projector says what supply a position has after every incoming update and receipt (not stale)."""
    assert client.post("/v1/inventory/snapshots", snapshot([{"sku": "SKU-4", "on_hand": 5}])).status == 202
    lines = [{"line": "1", "sku": "SKU-4", "location": "DC-EAST", "quantity": 1, "unit": "case"}]
    assert erp_client.post("/v1/inventory/incoming", purchase_order(lines, expected_date="2099-01-10")).status == 202
    rt.drain()
    (incoming,) = captured_events("inventory.supply_changed")
    assert incoming["data"]["incoming"] == [
        {"reference": "PO-1001/1", "kind": "on_order", "quantity": 12, "expected_date": "2099-01-10"}
    ]
    assert incoming["data"]["available"] == 5
    assert incoming["causation_id"] == captured_events("inventory.incoming_updated")[0]["id"]

    body = receipt(12, sku="SKU-4", quantity=1, incoming_reference="PO-1001/1", document="GR-12")
    assert client.post("/v1/inventory/receipts", body).status == 202
    # An older version of the PO line arrives late: it changes nothing, so nothing is said.
    stale = purchase_order(lines, expected_date="2099-01-01", sequence=1)
    assert erp_client.post("/v1/inventory/incoming", stale).status == 202
    rt.drain()
    first, received = captured_events("inventory.supply_changed")
    assert (received["data"]["available"], received["data"]["incoming"]) == (17, [])
    assert received["data"]["version"] > first["data"]["version"]
