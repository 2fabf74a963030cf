"""The first flow, end to end: partner -> API Gateway -> ingress -> EventBridge -> SQS -> projector -> query."""

import json
from datetime import UTC, datetime, timedelta

from cli.local_session import emf_totals
from shared.aws.clients import client as aws

PATH = "/v1/inventory/adjustments"
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def adjustment(seq, *, minutes=None, location="DC-EAST", **change):
    at = T0 + timedelta(minutes=seq if minutes is None else minutes)
    return {"sku": "SKU-1", "location": location, "sequence": seq, "occurred_at": at.isoformat(), **change}


def position(client, location="DC-EAST"):
    reply = client.get("/v1/inventory/SKU-1", {"location": location})
    assert reply.status == 200, reply.body
    return reply.json()["positions"][0]


def queue_depths(rt):
    return {q.name: q.depth for q in rt.queues()}


def test_adjustment_flows_from_partner_to_inventory_query(rt, client):
    reply = client.post(PATH, adjustment(1, on_hand=120, reason="cycle_count"), headers={"X-Correlation-Id": "flow-42"})
    assert reply.status == 202, reply.body
    accepted = reply.json()
    assert accepted["type"] == "inventory.adjusted" and accepted["subject"] == "SKU-1@DC-EAST"
    assert accepted["correlation_id"] == "flow-42" and reply.header("X-Correlation-Id") == "flow-42"
    assert client.post(PATH, adjustment(2, delta=-3, reason="pick")).status == 202

    rt.drain()
    pos = position(client)
    assert (pos["on_hand"], pos["available"], pos["version"]) == (117, 117, 2)
    assert pos["as_of"].startswith("2026-11-26T09:02:00")
    # the business flow's correlation id follows the event into the consumer's logs
    logged = [json.loads(line) for line in rt.logs("projector") if line.startswith("{")]
    assert "flow-42" in {e.get("correlation_id") for e in logged}


def test_the_same_adjustment_sent_three_times_changes_stock_once(rt, client, captured_events):
    body = adjustment(7, delta=5, reason="receipt")
    replies = [client.post(PATH, body) for _ in range(3)]
    assert [r.status for r in replies] == [202, 202, 202]
    assert len({r.json()["event_id"] for r in replies}) == 1
    assert [r.header("Idempotent-Replayed") for r in replies] == ["false", "true", "true"]
    assert [e["id"] for e in captured_events("inventory.adjusted")] == [replies[0].json()["event_id"]]
    applied = emf_totals(rt.logs("projector"))["Applied"]
    rt.drain()
    assert position(client)["on_hand"] == 5
    assert emf_totals(rt.logs("projector"))["Applied"] - applied == 1  # only one event was ever published


def test_a_delta_in_cases_moves_stock_in_eaches(rt, client):
    assert client.post(PATH, adjustment(1, on_hand=100, reason="cycle_count")).status == 202
    assert client.post(PATH, adjustment(2, delta=-2, unit="case", reason="pick")).status == 202
    rt.drain()
    assert position(client)["on_hand"] == 76


def test_an_older_sequence_after_a_newer_one_does_not_overwrite_it(rt, client):
    assert client.post(PATH, adjustment(5, on_hand=50, reason="cycle_count")).status == 202
    rt.drain()
    stale = emf_totals(rt.logs("projector"))["Stale"]
    assert client.post(PATH, adjustment(4, on_hand=40, reason="cycle_count")).status == 202
    rt.drain()
    assert position(client)["on_hand"] == 50
    assert emf_totals(rt.logs("projector"))["Stale"] - stale == 1


def test_out_of_order_deltas_in_one_batch_apply_once_each(rt, client):
    for seq, delta in ((3, 1), (1, 10), (2, 100)):
        assert client.post(PATH, adjustment(seq, delta=delta, reason="receipt")).status == 202
    rt.drain()
    assert position(client)["on_hand"] == 111


def test_same_idempotency_key_with_another_body_is_refused(rt, client):
    first = client.post(PATH, adjustment(1, delta=1, reason="pick"), headers={"Idempotency-Key": "k-1"})
    again = client.post(PATH, adjustment(1, delta=2, reason="pick"), headers={"Idempotency-Key": "k-1"})
    assert first.status == 202
    assert again.status == 422 and again.json()["type"] == "urn:distrosync:problem:idempotency-key-reused"


def test_a_poison_message_reaches_the_dlq_while_the_rest_of_its_batch_is_processed(rt, client):
    for seq in (1, 2, 3):
        assert client.post(PATH, adjustment(seq, delta=1, reason="receipt")).status == 202
    poison = {"type": "inventory.adjusted", "subject": "SKU-1@DC-EAST", "data": {"sku": "SKU-1"}}
    aws("events").put_events(
        Entries=[
            {
                "EventBusName": rt.outputs["EventBusName"],
                "Source": "distrosync.inventory",
                "DetailType": "inventory.adjusted",
                "Detail": json.dumps(poison),
            }
        ]
    )
    report = rt.drain()
    assert position(client)["on_hand"] == 3  # the three good ones, in the same batch as the poison one
    dlqs = {q.name: q for q in rt.queues() if q.is_dlq and q.depth}
    # The projector's DLQ, and the journal's (it keeps every event of the bus and cannot read this one either).
    assert set(dlqs) == {"distrosync-dev-projector-dlq", "distrosync-dev-journal-dlq"}, queue_depths(rt)
    for dlq in dlqs.values():
        (message,) = dlq.peek()
        assert json.loads(message["Body"])["detail"] == poison
        # dead-lettered by the consumer at once, with its story (docs/reliability.md), not after SQS's retries
        story = json.loads(message["MessageAttributes"]["distrosync-dead-letter"]["StringValue"])
        assert (story["error_class"], story["attempts"], story["business_key"]) == ("validation", 1, "sku:SKU-1")
    assert report.failed_records == 0


def test_get_inventory_is_limited_to_the_partner_scope(rt, client):
    assert client.get("/v1/inventory/SKU-1", {"location": "DC-WEST"}).json()["type"].endswith(":out-of-scope")
    missing = client.get("/v1/inventory/NOPE")
    assert missing.status == 404 and missing.json()["type"].endswith(":not-found")
