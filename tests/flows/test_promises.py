"""Customer orders and their promises on the embedded runtime: the story of issue #4 (supply slips, orders at
risk, a receipt recovers them), lead times for unsupplied demand, replays, refusals, and the promiser's batches."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from cli.local_session import partner_client, register_partner
from shared.aws.bus import publish
from shared.aws.clients import client as aws
from shared.aws.inventory_store import InventoryStore
from shared.aws.orders_store import OrdersStore
from shared.canonical.envelope import Envelope, utcnow
from shared.canonical.inventory import InventorySupplyChanged
from shared.canonical.supplier import LeadTimeUpdated
from shared.services.promising import PromisingService

PROBLEM = "urn:distrosync:problem:"
CHANGED = "order.promise_date_changed"


# ------------------------------------------------------------------------------------------------ helpers
def today():
    return utcnow().date()


def day(n: int) -> str:
    return (today() + timedelta(days=n)).isoformat()


def problem_of(reply, status: int, slug: str) -> dict:
    assert reply.status == status, reply.body
    problem = reply.json()
    assert problem["type"] == PROBLEM + slug, problem
    return problem


def order(order_id: str, *lines: dict, minutes: int = 0, **extra) -> dict:
    placed = utcnow() - timedelta(hours=1) + timedelta(minutes=minutes)
    return {"order_id": order_id, "placed_at": placed.isoformat(), "lines": list(lines), **extra}


def line(quantity: int, requested: int, *, sku: str = "SKU-1", location: str = "DC-EAST", n: int = 1, **extra):
    return {
        "line": n,
        "sku": sku,
        "location": location,
        "quantity": quantity,
        "requested_date": day(requested),
        **extra,
    }


def count(rt, client, sku: str, on_hand: int, sequence: int = 1) -> None:
    body = {
        "sku": sku,
        "location": "DC-EAST",
        "on_hand": on_hand,
        "reason": "cycle_count",
        "sequence": sequence,
        "occurred_at": utcnow().isoformat(),
    }
    assert client.post("/v1/inventory/adjustments", body).status == 202


def po_line(erp, quantity: int, expected: int, sequence: int, *, sku: str = "SKU-1") -> None:
    body = {
        "kind": "on_order",
        "document": "PO-1001",
        "sequence": sequence,
        "occurred_at": utcnow().isoformat(),
        "expected_date": day(expected),
        "lines": [{"line": "1", "sku": sku, "location": "DC-EAST", "quantity": quantity}],
    }
    reply = erp.post("/v1/inventory/incoming", body)
    assert reply.status == 202, reply.body


def lead_time(rt, days: int, sequence: int, *, sku: str = "SKU-2", supplier: str = "SUP-ACME0001", location=None):
    data = LeadTimeUpdated(
        supplier_id=supplier,
        sku=sku,
        location=location,
        lead_time_days=days,
        effective_at=utcnow(),
        sequence=sequence,
    )
    envelope = Envelope[LeadTimeUpdated].wrap(data, source_partner="acme", occurred_at=utcnow())
    publish([envelope], rt.outputs["EventBusName"])
    return envelope


def promises(api, order_id: str) -> list[tuple]:
    reply = api.get(f"/v1/orders/{order_id}")
    assert reply.status == 200, reply.body
    return [(x["promise_date"], x["at_risk"], x["depends_on"]) for x in reply.json()["lines"]]


def at_risk(api) -> list[dict]:
    reply = api.get("/v1/exceptions", {"kind": "promise_at_risk"})
    assert reply.status == 200, reply.body
    return reply.json()["items"]


def changes(events: list[dict]) -> list[tuple]:
    return [
        (e["data"]["order_id"], e["data"]["previous_promise_date"], e["data"]["promise_date"], e["data"]["at_risk"])
        for e in events
    ]


@pytest.fixture
def shop(rt, catalog):
    """A sales channel that sells from DC-EAST."""
    return partner_client(rt, register_partner(rt, "shop-east", "channel", ["location:DC-EAST"]))


# -------------------------------------------------------------------------------------------------- story
def test_supply_slips_two_orders_are_at_risk_and_a_receipt_recovers_them(rt, client, erp_client, shop, captured_events):
    count(rt, client, "SKU-1", 20)
    po_line(erp_client, 200, expected=7, sequence=1)
    rt.drain()

    for n, (order_id, quantity, requested) in enumerate((("SO-1", 10, 1), ("SO-2", 50, 8), ("SO-3", 40, 8))):
        reply = shop.post("/v1/orders", order(order_id, line(quantity, requested), minutes=n))
        assert reply.status == 201, reply.body
        assert reply.header("Location") == f"/v1/orders/{order_id}"
        assert reply.json()["channel"] == "shop-east" and reply.json()["lines"][0]["promise_date"] is None
    rt.drain()

    assert promises(shop, "SO-1") == [(day(0), False, ["on_hand"])]
    assert promises(shop, "SO-2") == [(day(7), False, ["on_hand", "PO-1001/1"])]
    assert promises(shop, "SO-3") == [(day(7), False, ["PO-1001/1"])]
    assert sorted(changes(captured_events(CHANGED))) == [
        ("SO-1", None, day(0), False),
        ("SO-2", None, day(7), False),
        ("SO-3", None, day(7), False),
    ]
    assert at_risk(erp_client) == []

    # The supplier confirms only 120, five days later.
    po_line(erp_client, 120, expected=12, sequence=2)
    rt.drain()
    assert promises(shop, "SO-1") == [(day(0), False, ["on_hand"])]
    assert promises(shop, "SO-2") == [(day(12), True, ["on_hand", "PO-1001/1"])]
    assert promises(shop, "SO-3") == [(day(12), True, ["PO-1001/1"])]
    slipped = captured_events(CHANGED)[3:]
    assert sorted(changes(slipped)) == [("SO-2", day(7), day(12), True), ("SO-3", day(7), day(12), True)]
    assert {e["data"]["reason"] for e in slipped} == {"supply changed"}
    assert all(e["source_partner"] == "distrosync.promiser" for e in slipped)

    listed = at_risk(erp_client)
    assert [(x["order_id"], x["line"]) for x in listed] == [("SO-2", 1), ("SO-3", 1)]
    assert listed[0] | {"since": None} == {
        "order_id": "SO-2",
        "line": 1,
        "sku": "SKU-1",
        "location": "DC-EAST",
        "quantity": 50,
        "requested_date": day(8),
        "previous_promise_date": day(7),
        "promise_date": day(12),
        "days_late": 4,
        "depends_on": ["on_hand", "PO-1001/1"],
        "since": None,
    }
    assert at_risk(shop) == listed  # the channel sells from DC-EAST: it sees them too

    # The goods arrive early: everything ships from stock today, nothing is at risk any more.
    receipt = {
        "sku": "SKU-1",
        "location": "DC-EAST",
        "quantity": 120,
        "incoming_reference": "PO-1001/1",
        "sequence": 2,
        "document": "GR-1",
        "occurred_at": utcnow().isoformat(),
    }
    assert client.post("/v1/inventory/receipts", receipt).status == 202
    rt.drain()
    assert promises(shop, "SO-2") == [(day(0), False, ["on_hand"])]
    assert promises(shop, "SO-3") == [(day(0), False, ["on_hand"])]
    assert sorted(changes(captured_events(CHANGED)[5:])) == [
        ("SO-2", day(12), day(0), False),
        ("SO-3", day(12), day(0), False),
    ]
    assert at_risk(erp_client) == []


def test_a_lead_time_moves_an_order_beyond_supply(rt, erp_client, captured_events):
    reply = erp_client.post("/v1/orders", order("SO-9", line(30, 10, sku="SKU-2")))
    assert reply.status == 201, reply.body
    rt.drain()
    # No stock, no supply, no lead time: no promise, at risk.
    assert promises(erp_client, "SO-9") == [(None, True, [])]
    assert [(x["order_id"], x["promise_date"], x["days_late"]) for x in at_risk(erp_client)] == [("SO-9", None, None)]

    lead_time(rt, 5, sequence=1)
    rt.drain()
    assert promises(erp_client, "SO-9") == [(day(5), False, ["lead_time"])]
    assert at_risk(erp_client) == []
    assert changes(captured_events(CHANGED))[-1] == ("SO-9", None, day(5), False)
    assert captured_events(CHANGED)[-1]["data"]["reason"] == "lead time changed"

    # The supplier's lead time to DC-EAST in particular is longer; another supplier's, for DC-WEST, does not count.
    lead_time(rt, 14, sequence=1, location="DC-EAST")
    lead_time(rt, 1, sequence=1, supplier="SUP-OTHER0001", location="DC-WEST")
    rt.drain()
    assert promises(erp_client, "SO-9") == [(day(14), True, ["lead_time"])]
    assert changes(captured_events(CHANGED))[-1] == ("SO-9", day(5), day(14), True)
    assert [x["days_late"] for x in at_risk(erp_client)] == [4]

    # An older update arrives late, and a delivery is repeated: nothing changes, nothing is said.
    published = len(captured_events(CHANGED))
    lead_time(rt, 2, sequence=0, location="DC-EAST")
    rt.drain()
    assert promises(erp_client, "SO-9") == [(day(14), True, ["lead_time"])]
    assert len(captured_events(CHANGED)) == published


def test_an_order_in_cases_is_promised_in_eaches_and_a_replay_answers_the_same_order(
    rt, client, erp_client, captured_events
):
    count(rt, client, "SKU-3", 30)
    rt.drain()
    body = order("SO-20", line(2, 3, sku="SKU-3", unit="case"), line(6, 3, sku="SKU-3", n=2), customer_ref="C-1")
    first = erp_client.post("/v1/orders", body)
    assert first.status == 201 and first.header("Idempotent-Replayed") == "false", first.body
    assert [x["quantity"] for x in first.json()["lines"]] == [24, 6]
    rt.drain()

    replay = erp_client.post("/v1/orders", body)
    assert replay.status == 200 and replay.header("Idempotent-Replayed") == "true", replay.body
    assert [(x["promise_date"], x["at_risk"]) for x in replay.json()["lines"]] == [(day(0), False), (day(0), False)]
    created = captured_events("order.created")
    assert len(created) == 2 and len({e["id"] for e in created}) == 1  # the same event again: consumers drop it
    assert created[0]["data"]["order"]["lines"][0]["quantity"] == 24

    other = {**body, "lines": [line(3, 3, sku="SKU-3")]}
    problem = problem_of(erp_client.post("/v1/orders", other), 409, "order-conflict")
    assert problem["order_id"] == "SO-20"


def test_order_refusals(rt, client, erp_client, shop, captured_events):
    problem_of(client.post("/v1/orders", order("SO-1", line(1, 1))), 403, "out-of-scope")  # a warehouse
    problem_of(shop.post("/v1/orders", order("SO-1", line(1, 1), channel="shop-west")), 403, "out-of-scope")
    problem_of(shop.post("/v1/orders", order("SO-1", line(1, 1, location="DC-WEST"))), 403, "out-of-scope")
    unknown = problem_of(erp_client.post("/v1/orders", order("SO-1", line(1, 1, sku="NOPE"))), 422, "unknown-sku")
    assert unknown["errors"][0]["pointer"] == "/lines/0/sku"
    problem_of(erp_client.post("/v1/orders", order("SO-1", line(1, 1, location="DC-X"))), 422, "unknown-location")
    problem_of(erp_client.post("/v1/orders", order("SO-1", line(1, 1, unit="crate"))), 422, "unknown-unit-of-measure")
    many = [line(1, 1, n=n) for n in range(1, 101)]
    assert problem_of(erp_client.post("/v1/orders", order("SO-1", *many)), 422, "too-many-lines")["limit"] == 99
    repeated = problem_of(
        erp_client.post("/v1/orders", order("SO-1", line(1, 1), line(2, 1))), 422, "validation-failed"
    )
    assert [e["pointer"] for e in repeated["errors"]] == ["/lines/0/line", "/lines/1/line"]
    naive = order("SO-1", line(1, 1)) | {"placed_at": "2026-11-26T10:00:00"}
    problem_of(erp_client.post("/v1/orders", naive), 422, "validation-failed")
    assert captured_events() == []

    problem_of(erp_client.get("/v1/orders/SO-404"), 404, "unknown-order")
    assert erp_client.post("/v1/orders", order("SO-W", line(1, 1, location="DC-WEST"))).status == 201
    problem_of(shop.get("/v1/orders/SO-W"), 404, "unknown-order")  # a DC-EAST channel does not see it


# --------------------------------------------------------------------------------------------- the batches
def sqs_event(*envelopes: Envelope, bad: int = 0) -> dict:
    bodies = [
        json.dumps(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": e.type,
                "source": e.eventbridge_source,
                "account": "123456789012",
                "time": e.occurred_at.isoformat(),
                "region": "us-east-1",
                "resources": [],
                "detail": e.to_detail(),
            }
        )
        for e in envelopes
    ] + ["not json"] * bad
    return {
        "Records": [
            {
                "messageId": f"m-{n}",
                "receiptHandle": f"h-{n}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795738959528"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:distrosync-dev-promiser",
                "awsRegion": "us-east-1",
            }
            for n, body in enumerate(bodies)
        ]
    }


def supply_changed(available: int, version: int) -> Envelope:
    data = InventorySupplyChanged(sku="SKU-4", location="DC-EAST", available=available, incoming=[], version=version)
    return Envelope[InventorySupplyChanged].wrap(data, source_partner="distrosync", occurred_at=utcnow())


def test_a_batch_repegs_each_sku_once_at_the_floor_and_a_rerun_changes_nothing(rt, client, erp_client):
    count(rt, client, "SKU-4", 5)
    for n in range(3):
        assert erp_client.post("/v1/orders", order(f"SO-{n}", line(2, 3, sku="SKU-4"), minutes=n)).status == 201
    # Several messages about the same SKU in one batch, and one that cannot be read: it goes to the DLQ alone.
    event = sqs_event(supply_changed(5, 1), supply_changed(5, 2), lead_time(rt, 9, 1, sku="SKU-4"), bad=1)
    assert rt.invoke("promiser", event).result() == {"batchItemFailures": []}
    (dead,) = aws("sqs").receive_message(
        QueueUrl=rt.queue_directory.get("distrosync-dev-promiser-dlq").url, MessageAttributeNames=["All"]
    )["Messages"]
    story = json.loads(dead["MessageAttributes"]["distrosync-dead-letter"]["StringValue"])
    assert (story["message_id"], story["error_class"]) == ("m-3", "validation")
    rt.drain()
    assert [promises(erp_client, f"SO-{n}")[0][:2] for n in range(3)] == [
        (day(0), False),
        (day(0), False),
        (day(9), True),
    ]

    service = PromisingService(
        OrdersStore(rt.outputs["OrdersTableName"]),
        InventoryStore(rt.outputs["InventoryTableName"]),
        rt.outputs["EventBusName"],
    )
    calls: Counter[str] = Counter()

    def tally(model=None, **_):
        calls[f"{model.service_model.service_name}.{model.name}"] += 1

    clients = [aws("dynamodb"), aws("events")]
    for c in clients:
        c.meta.events.register("before-call", tally, unique_id="promiser-call-count")
    try:
        messages = {"a": supply_changed(5, 3), "b": supply_changed(5, 4)}
        outcome = service.process(messages)
        assert (outcome.failed, outcome.lines_changed, outcome.published) == (set(), 0, 0)
        assert dict(calls) == {"dynamodb.Query": 1, "dynamodb.BatchGetItem": 1}

        # Stock doubles: every line ships today; one Query, one BatchGetItem, one transaction (the line with its
        # event), one PutEvents, one transaction removing the published event from the line.
        count(rt, client, "SKU-4", 10, sequence=2)
        rt.drain()
        calls.clear()
        outcome = service.process({"c": supply_changed(10, 5)})
        assert (outcome.failed, outcome.lines_changed, outcome.published) == (set(), 1, 1)
        assert dict(calls) == {
            "dynamodb.Query": 1,
            "dynamodb.BatchGetItem": 1,
            "dynamodb.TransactWriteItems": 2,
            "events.PutEvents": 1,
        }
    finally:
        for c in clients:
            c.meta.events.unregister("before-call", unique_id="promiser-call-count")
    assert promises(erp_client, "SO-2")[0][:2] == (day(0), False)


def demand_outboxes(rt, sku: str) -> list[str]:
    """The sort keys of the SKU's demand items that still carry events."""
    items = aws("dynamodb").query(
        TableName=rt.outputs["OrdersTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"SKU#{sku}"}},
    )["Items"]
    return [i["sk"]["S"] for i in items if "outbox" in i]


def test_promise_changes_a_failed_publication_left_on_their_lines_are_published_by_the_retry(
    rt, client, erp_client, captured_events, monkeypatch
):
    from botocore.client import BaseClient

    count(rt, client, "SKU-5", 2)
    lead_time(rt, 9, 1, sku="SKU-5")
    for n in range(3):
        assert erp_client.post("/v1/orders", order(f"SO-{n}", line(2, 3, sku="SKU-5"), minutes=n)).status == 201
    rt.drain()
    assert [promises(erp_client, f"SO-{n}")[0][0] for n in range(3)] == [day(0), day(9), day(9)]
    before = len(captured_events(CHANGED))

    # The promiser's first publication fails (every attempt of it); everything else is published.
    real, failed = BaseClient._make_api_call, []

    def promise_changes_fail_once(self, operation, params):
        promises_in_it = operation == "PutEvents" and any(e["DetailType"] == CHANGED for e in params["Entries"])
        if promises_in_it and len(failed) < 4:  # bus.publish tries 4 times
            failed.append(params["Entries"])
            entries = [{"ErrorCode": "InternalFailure", "ErrorMessage": "outage"} for _ in params["Entries"]]
            return {"FailedEntryCount": len(entries), "Entries": entries}
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", promise_changes_fail_once)
    po_line(erp_client, 10, expected=2, sequence=1, sku="SKU-5")  # SO-1 and SO-2 can ship in two days now
    report = rt.drain()
    assert len(failed) == 4 and report.failed_records >= 1  # the batch failed; SQS gave its message back

    published = captured_events(CHANGED)[before:]
    assert sorted(changes(published)) == [("SO-1", day(9), day(2), False), ("SO-2", day(9), day(2), False)]
    lost = {json.loads(e["Detail"])["id"] for e in failed[0]}
    assert Counter(e["id"] for e in published) == Counter(lost)  # exactly the lost events, once each
    assert demand_outboxes(rt, "SKU-5") == []
    assert [promises(erp_client, f"SO-{n}")[0][0] for n in range(3)] == [day(0), day(2), day(2)]

    # Nothing left: a later re-peg publishes nothing.
    service = PromisingService(
        OrdersStore(rt.outputs["OrdersTableName"]),
        InventoryStore(rt.outputs["InventoryTableName"]),
        rt.outputs["EventBusName"],
    )
    data = InventorySupplyChanged(sku="SKU-5", location="DC-EAST", available=0, incoming=[], version=9)
    trigger = Envelope[InventorySupplyChanged].wrap(data, source_partner="distrosync", occurred_at=utcnow())
    again = service.process({"x": trigger})
    assert (again.failed, again.published, again.left_over) == (set(), 0, 0)


def test_published_events_are_removed_only_from_lines_still_at_the_version_that_carried_them(rt, erp_client):
    from dataclasses import replace

    from shared.aws.orders_store import DemandWrite, Published

    for n in range(2):
        assert erp_client.post("/v1/orders", order(f"SO-{n}", line(2, 3, sku="SKU-3"), minutes=n)).status == 201
    rt.drain()
    store = OrdersStore(rt.outputs["OrdersTableName"])
    first, second = store.sku_demand("SKU-3").demand
    now = utcnow()

    def carrying(stored, event: str) -> DemandWrite:
        return DemandWrite(demand=stored, state=stored.state, exception=None, outbox=(*stored.outbox, event))

    assert store.write_promises([carrying(first, '{"id":"e1"}'), carrying(second, '{"id":"e2"}')], now) == 2
    read = store.sku_demand("SKU-3")
    assert [(d.outbox, d.version) for d in read.left_over] == [
        (('{"id":"e1"}',), first.version + 1),
        (('{"id":"e2"}',), second.version + 1),
    ]
    # A newer re-peg of the second line (it carries its predecessor's event forward with its own) before the clear.
    newer = replace(read.left_over[1], state=replace(second.state, at_risk=True))
    assert store.write_promises([carrying(newer, '{"id":"e3"}')], now) == 1

    published = [Published(d.key, d.version) for d in read.left_over]
    assert store.clear_outboxes(published) == 1  # the first; the second is not at the version published any more
    (kept,) = store.sku_demand("SKU-3").left_over
    assert (kept.line.order_id, kept.outbox) == ("SO-1", ('{"id":"e2"}', '{"id":"e3"}'))
