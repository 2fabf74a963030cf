"""Nothing lost, nothing twice (issue #7): a writer that dies between its state write and its publication.

The "death" is a `SystemExit` raised by the dying function's PutEvents: no `except Exception` of the code stops
it, the invocation ends as Lambda's does when its process exits (an error: the API answers 502, an SQS batch is
given back), and the change's events stay on the record it wrote (ADR 0013). The stream publisher (ADR 0016)
then publishes them once, and the writer's own retry afterwards publishes nothing more. Publications are counted
by event id on a queue of the test's own (`captured_events`).
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from purchasing_helpers import days, put_po

from shared.aws.clients import client as aws
from shared.canonical.envelope import utcnow

CHANGED = "order.promise_date_changed"


class Killer:
    """Makes the PutEvents calls of one function end its process while `armed`."""

    def __init__(self, rt) -> None:
        self.rt = rt
        self.victim: str | None = None
        self.kills: list[list[str]] = []  # the DetailTypes of each call cut short

    def arm(self, function: str) -> None:
        self.victim = self.rt.functions.get(function).name

    def disarm(self) -> None:
        self.victim = None

    def __call__(self, operation: str, params: dict[str, Any]) -> None:
        if operation == "PutEvents" and self.victim and os.environ.get("AWS_LAMBDA_FUNCTION_NAME") == self.victim:
            self.kills.append([e["DetailType"] for e in params["Entries"]])
            raise SystemExit(f"{self.victim} killed between its write and its publication")


@pytest.fixture
def killer(rt, monkeypatch):
    from botocore.client import BaseClient

    real = BaseClient._make_api_call
    kill = Killer(rt)

    def make_api_call(self, operation, params):
        kill(operation, params)
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return kill


def with_outbox(rt, table_output: str) -> list[dict]:
    """The keys of the table's items that still carry an outbox."""
    items = aws("dynamodb").scan(TableName=rt.outputs[table_output])["Items"]
    return [{"pk": i["pk"]["S"], "sk": i["sk"]["S"]} for i in items if "outbox" in i]


def once_each(events: list[dict]) -> Counter:
    return Counter(e["id"] for e in events)


def counted(client, sku: str, on_hand: int) -> None:
    body = {
        "sku": sku,
        "location": "DC-EAST",
        "on_hand": on_hand,
        "reason": "cycle_count",
        "sequence": 1,
        "occurred_at": utcnow().isoformat(),
    }
    assert client.post("/v1/inventory/adjustments", body).status == 202


def ordered(api, order_id: str, sku: str, quantity: int, requested: int) -> None:
    body = {
        "order_id": order_id,
        "placed_at": (utcnow() - timedelta(hours=1)).isoformat(),
        "lines": [
            {"line": 1, "sku": sku, "location": "DC-EAST", "quantity": quantity, "requested_date": days(requested)}
        ],
    }
    reply = api.post("/v1/orders", body)
    assert reply.status == 201, reply.body


def on_order(erp, sku: str, quantity: int, expected: int) -> None:
    body = {
        "kind": "on_order",
        "document": "PO-1001",
        "sequence": 1,
        "occurred_at": utcnow().isoformat(),
        "expected_date": days(expected),
        "lines": [{"line": "1", "sku": sku, "location": "DC-EAST", "quantity": quantity}],
    }
    reply = erp.post("/v1/inventory/incoming", body)
    assert reply.status == 202, reply.body


def test_a_po_written_by_a_writer_that_died_before_publishing_is_published_once(
    rt, erp_client, acme, captured_events, killer
):
    killer.arm("ingress")
    died = put_po(erp_client, "PO-7001")
    killer.disarm()
    assert died.status == 502, died.body  # the process died: API Gateway's answer
    (lost,) = killer.kills  # the PO's events, cut short together
    assert "purchase_order.created" in lost
    assert captured_events() == []
    assert [k["sk"] for k in with_outbox(rt, "PurchasingTableName") if k["pk"] == "PO#PO-7001"], "events kept"

    report = rt.drain()
    assert report.invocations["outbox_publisher"] >= 1
    (created,) = captured_events("purchase_order.created")
    assert "PO-7001" in created["subject"], created["subject"]
    assert with_outbox(rt, "PurchasingTableName") == []
    assert sorted(e["type"] for e in captured_events() if e["type"] in lost) == sorted(lost)
    assert set(once_each(captured_events()).values()) == {1}  # every event once, its consumers' events too

    retry = put_po(erp_client, "PO-7001")  # the ERP's retry of the request that died
    assert retry.status in (200, 201), retry.body
    rt.drain()
    assert once_each(captured_events("purchase_order.created")) == Counter({created["id"]: 1})
    assert set(once_each(captured_events()).values()) == {1}
    assert with_outbox(rt, "PurchasingTableName") == []


def test_a_supplier_created_by_a_writer_that_died_before_publishing_is_published_once(
    rt, erp_client, captured_events, killer
):
    body = {
        "local_id": "V-700",
        "sequence": 1,
        "legal_name": "Harbour Fasteners Ltd",
        "address": {"line1": "1 Quay Street", "city": "Boston", "postal_code": "02110", "country": "US"},
    }
    killer.arm("ingress")
    died = erp_client.post("/v1/supplier-records", body)
    killer.disarm()
    assert died.status == 502, died.body
    assert killer.kills == [["supplier.created"]]
    (golden,) = with_outbox(rt, "SuppliersTableName")

    rt.drain()
    (created,) = captured_events("supplier.created")
    assert f"SUPPLIER#{created['data']['supplier']['supplier_id']}" == golden["pk"]
    assert with_outbox(rt, "SuppliersTableName") == []
    item = aws("dynamodb").get_item(
        TableName=rt.outputs["SuppliersTableName"], Key={k: {"S": v} for k, v in golden.items()}
    )
    assert "outbox_result" not in item["Item"]  # kept only while its outbox is

    retry = erp_client.post("/v1/supplier-records", body)
    assert retry.status in (200, 201), retry.body
    assert retry.json()["supplier_id"] == created["data"]["supplier"]["supplier_id"]
    rt.drain()
    assert once_each(captured_events("supplier.created")) == Counter({created["id"]: 1})


def test_promise_changes_of_a_promiser_that_died_before_publishing_are_published_once(
    rt, client, erp_client, captured_events, killer
):
    counted(client, "SKU-4", 0)
    ordered(erp_client, "SO-701", "SKU-4", 2, requested=3)
    rt.drain()
    before = once_each(captured_events(CHANGED))

    killer.arm("promiser")
    on_order(erp_client, "SKU-4", 10, expected=2)  # supply arrives: SO-701's promise moves
    for _ in range(20):  # SQS until the promiser dies once (the stream publisher has not run yet)
        rt.poller.poll_round()
        if killer.kills:
            break
    killer.disarm()
    assert killer.kills and CHANGED in killer.kills[0]
    assert once_each(captured_events(CHANGED)) == before
    assert with_outbox(rt, "OrdersTableName"), "the promise change is kept on its demand line"

    streamed = rt.streams.drain()  # before SQS gives the promiser its message back
    assert streamed.invocations["outbox_publisher"] >= 1
    published = once_each(captured_events(CHANGED)) - before
    assert list(published.values()) == [1]
    assert with_outbox(rt, "OrdersTableName") == []

    rt.drain()  # the promiser's retry of the same message: nothing left to publish
    assert once_each(captured_events(CHANGED)) - before == published
    assert with_outbox(rt, "OrdersTableName") == []


def test_an_event_over_the_entry_limit_reaches_its_consumer_whole(rt, catalog, captured_events, monkeypatch):
    from datetime import date

    from shared.aws.bus import MAX_ENTRY_BYTES, entry_size, publish, to_entry
    from shared.aws.claim_check import envelope_from_eventbridge
    from shared.canonical.envelope import Envelope
    from shared.canonical.inventory import InventorySupplyChanged, SupplyLine

    incoming = [
        SupplyLine(reference=f"PO-{n}/1", kind="on_order", quantity=1, expected_date=date(2026, 12, 24))
        for n in range(4000)
    ]
    data = InventorySupplyChanged(sku="SKU-1", location="DC-EAST", available=0, incoming=incoming, version=1)
    big = Envelope[InventorySupplyChanged].wrap(data, source_partner="erp", occurred_at=utcnow())
    assert entry_size(to_entry(big, rt.outputs["EventBusName"])) > MAX_ENTRY_BYTES

    bucket = rt.outputs["ClaimCheckBucketName"]
    monkeypatch.setenv("CLAIM_CHECK_BUCKET", bucket)  # as every function that publishes has it
    publish([big], rt.outputs["EventBusName"])
    (pointer,) = captured_events("inventory.supply_changed")
    assert pointer["id"] == big.id and "data" not in pointer
    assert pointer["claim_check"]["key"] == f"claims/{big.id}.json" and pointer["claim_check"]["bucket"] == bucket

    report = rt.drain()
    assert report.drained and not report.function_errors
    batches = [line for line in rt.functions.logs.json_lines("promiser") if line.get("message") == "batch re-pegged"]
    assert batches and batches[-1]["failed"] == 0  # the promiser read the whole event
    assert envelope_from_eventbridge({"detail": pointer}) == big
