"""Reservations on the embedded runtime: all lines or none, never oversold, idempotent, released, committed, expired.

Stock is counted through the API (absolute counts, projected by `rt.drain()`), except for the tests with more
than 99 positions: the catalog has five SKUs, so those positions are written as the projector writes them.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest

from cli.local_session import partner_client, register_partner
from shared.aws.clients import client as aws
from shared.aws.inventory_store import InventoryStore
from shared.aws.reservation_store import ReservationStore
from shared.canonical.envelope import utcnow
from shared.canonical.partner import Partner
from shared.domain import reservations as r
from shared.domain.inventory_position import Position
from shared.services.inventory_ingest import RequestMeta
from shared.services.reservations import ReservationService
from tests.flows.order_flow_fixtures import count_stock

PATH = "/v1/reservations"
PROBLEM = "urn:distrosync:problem:"


# ------------------------------------------------------------------------------------------------ helpers
def position(client, sku: str, location: str = "DC-EAST") -> dict:
    reply = client.get(f"/v1/inventory/{sku}", {"location": location})
    assert reply.status == 200, reply.body
    return reply.json()["positions"][0]


def buckets(client, sku: str) -> tuple[int, int, int, int]:
    p = position(client, sku)
    return p["on_hand"], p["committed"], p["reserved"], p["available"]


def line(sku: str, quantity: int, location: str = "DC-EAST", **extra) -> dict:
    return {"sku": sku, "location": location, "quantity": quantity, **extra}


def reserve(client, reference: str, *lines: dict, kind: str = "order", headers: dict | None = None, **extra):
    body = {"reference": reference, "kind": kind, "lines": list(lines), **extra}
    return client.post(PATH, body, headers=headers)


def table_names(rt) -> tuple[str, str]:
    reservations = rt.outputs.get("ReservationsTableName") or next(
        str(res.ref) for res in rt.stack.of_type("AWS::DynamoDB::Table") if res.logical_id.startswith("Reservations")
    )
    return reservations, rt.outputs["InventoryTableName"]


def service(rt, **kwargs) -> ReservationService:
    return ReservationService(ReservationStore(*table_names(rt)), rt.outputs["EventBusName"], **kwargs)


def partner(rt, partner_id: str = "wh-east") -> Partner:
    from shared.aws.partners import PartnerRepository

    found = PartnerRepository(rt.outputs["PartnersTableName"]).get(partner_id)
    assert found is not None
    return found


def meta(correlation_id: str = "test-flow") -> RequestMeta:
    return RequestMeta(correlation_id=correlation_id, request_id="req-1", received_at=utcnow(), idempotency_key=None)


def seed_positions(rt, stock: dict[tuple[str, str], int]) -> None:
    """Positions as the projector writes them, and item master records, for SKUs outside the catalog."""
    from shared.aws.master_store import MasterStore, Versioned
    from shared.canonical.items import Item

    store = InventoryStore(rt.outputs["InventoryTableName"])
    master = MasterStore(rt.outputs["InventoryTableName"])
    for sku in dict.fromkeys(sku for sku, _ in stock):
        master.put_item(Versioned(Item(sku=sku), 1, utcnow(), "erp"), None)
    for (sku, location), on_hand in stock.items():
        store.save(Position(sku=sku, location=location, base={"on_hand": on_hand}, version=1), expected_version=0)


def scheduled_event() -> dict:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/distrosync-dev-reservation-expiry"],
        "detail": {},
    }


def sweep(rt) -> dict:
    invocation = rt.invoke("reservation_expiry", scheduled_event())
    assert invocation.ok, invocation.error
    return invocation.payload


# ------------------------------------------------------------------------------------ never oversold
def test_parallel_reservations_for_the_last_units_sell_exactly_the_stock_and_never_go_negative(rt, client):
    stock = 60
    count_stock(rt, client, "SKU-1", stock)
    me = partner(rt)
    inventory = InventoryStore(rt.outputs["InventoryTableName"])
    threads, start, done = 24, threading.Barrier(25), threading.Event()
    won: list[tuple[str, int]] = []
    refused: list[r.InsufficientStock] = []
    errors: list[BaseException] = []
    seen: list[tuple[int, int, int, int]] = []
    lock = threading.Lock()

    def buyer(n: int) -> None:
        svc = service(rt)  # each thread its own service, as each Lambda instance has
        rng, kind = random.Random(n), "order" if n % 2 else "hold"
        start.wait()
        try:
            for attempt in range(100):
                quantity = rng.choice((1, 2, 3))
                draft = r.Draft(f"T{n}-{attempt}", kind, (r.RequestedLine("SKU-1", "DC-EAST", quantity),))
                try:
                    reservation, replayed = svc.create(draft, me, meta(f"buyer-{n}"))
                except r.InsufficientStock as exc:
                    with lock:
                        refused.append(exc)
                    if exc.lines[0].available == 0:
                        return  # sold out
                    continue
                assert not replayed
                with lock:
                    won.append((kind, reservation.lines[0].quantity))
        except BaseException as exc:
            errors.append(exc)

    def watcher() -> None:  # reads the position while the buyers run
        start.wait()
        try:
            while not done.is_set():
                p = inventory.get("SKU-1", "DC-EAST")
                seen.append((p.on_hand, p.committed, p.reserved, p.available))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=buyer, args=(n,)) for n in range(threads)]
    observer = threading.Thread(target=watcher)
    for t in [*workers, observer]:
        t.start()
    for t in workers:
        t.join()
    done.set()
    observer.join()

    assert not errors, errors[0]
    assert sum(q for _, q in won) == stock  # exactly the stock: nothing oversold, nothing left unsold
    by_kind = Counter()
    for kind, q in won:
        by_kind[kind] += q
    assert buckets(client, "SKU-1") == (stock, by_kind["order"], by_kind["hold"], 0)
    assert seen and all(available >= 0 for *_, available in seen)
    assert all(on_hand - committed - reserved == available for on_hand, committed, reserved, available in seen)
    assert len(refused) >= threads  # every buyer was refused at least once, when it sold out
    for exc in refused:
        (short,) = exc.lines
        assert short.shortfall == short.requested - short.available > 0


def test_sequential_requests_sell_exactly_the_stock_and_the_next_gets_the_shortfall_per_line(rt, client):
    count_stock(rt, client, "SKU-1", 10)
    count_stock(rt, client, "SKU-2", 5)
    for reference, quantity in (("SO-1", 4), ("SO-2", 4), ("SO-3", 2)):
        reply = reserve(client, reference, line("SKU-1", quantity))
        assert reply.status == 201, reply.body
        assert reply.header("Location") == f"{PATH}/{reference}"
        assert reply.json()["status"] == "held"
    refused = reserve(client, "SO-4", line("SKU-2", 1), line("SKU-1", 1))
    assert refused.status == 409
    problem = refused.json()
    assert problem["type"] == PROBLEM + "insufficient-stock"
    assert problem["lines"] == [
        {"sku": "SKU-2", "location": "DC-EAST", "requested": 1, "available": 5, "shortfall": 0},
        {"sku": "SKU-1", "location": "DC-EAST", "requested": 1, "available": 0, "shortfall": 1},
    ]
    assert buckets(client, "SKU-1") == (10, 10, 0, 0)
    assert buckets(client, "SKU-2") == (5, 0, 0, 5)  # the line that had stock was not reserved either


def test_one_short_line_reserves_nothing(rt, client):
    count_stock(rt, client, "SKU-1", 5)
    count_stock(rt, client, "SKU-2", 5)
    before = position(client, "SKU-1")["version"]
    reply = reserve(client, "SO-1", line("SKU-1", 3), line("SKU-2", 9), line("SKU-3", 1))
    assert reply.status == 409
    assert [(x["sku"], x["available"], x["shortfall"]) for x in reply.json()["lines"]] == [
        ("SKU-1", 5, 0),
        ("SKU-2", 5, 4),
        ("SKU-3", 0, 1),  # no position at all: nothing available
    ]
    assert buckets(client, "SKU-1") == (5, 0, 0, 5) and position(client, "SKU-1")["version"] == before
    assert client.get(f"{PATH}/SO-1").status == 404


# ------------------------------------------------------------------------------------- more than 99
BULK = [f"BULK-{i:03d}" for i in range(150)]


def _bulk_positions(rt, *, last: int = 5) -> InventoryStore:
    seed_positions(rt, {(sku, "DC-EAST"): (last if i == len(BULK) - 1 else 5) for i, sku in enumerate(BULK)})
    return InventoryStore(rt.outputs["InventoryTableName"])


def test_more_than_99_positions_are_reserved_in_chunks_and_released_in_full(rt, client):
    store = _bulk_positions(rt)
    reply = reserve(client, "BIG-1", *(line(sku, 2) for sku in BULK), kind="hold", expires_in_seconds=600)
    assert reply.status == 201, reply.body
    body = reply.json()
    assert body["status"] == "held" and len(body["lines"]) == 150
    held_at, expires_at = datetime.fromisoformat(body["updated_at"]), datetime.fromisoformat(body["expires_at"])
    assert expires_at == held_at + timedelta(seconds=600)
    record = ReservationStore(*table_names(rt)).get("wh-east:BIG-1")
    assert (record.status, record.chunks, record.applied) == ("held", 2, 2)
    positions = store.get_many((sku, "DC-EAST") for sku in BULK)
    assert {(p.reserved, p.available) for p in positions.values()} == {(2, 3)}

    order = reserve(client, "BIG-2", *(line(sku, 1) for sku in BULK))  # an order: no expiry
    assert order.status == 201 and order.json()["expires_at"] is None
    stored = aws("dynamodb").get_item(TableName=table_names(rt)[0], Key={"reservation_id": {"S": "wh-east:BIG-2"}})
    assert {"expiry_shard", "expires_at", "hold_seconds"}.isdisjoint(stored["Item"])  # not in the expiry index

    released = client.post(f"{PATH}/BIG-1/release", {})
    assert released.status == 200 and released.json()["status"] == "released"
    positions = store.get_many((sku, "DC-EAST") for sku in BULK)
    assert {(p.committed, p.reserved, p.available, p.version) for p in positions.values()} == {(1, 0, 4, 4)}


def test_when_a_later_chunk_is_short_the_chunks_applied_are_given_back(rt, client):
    store = _bulk_positions(rt, last=1)  # the last position, in the second chunk, has 1 of the 2 asked
    reply = reserve(client, "BIG-1", *(line(sku, 2) for sku in BULK), kind="hold")
    assert reply.status == 409, reply.body
    short = [x for x in reply.json()["lines"] if x["shortfall"]]
    assert short == [{"sku": BULK[-1], "location": "DC-EAST", "requested": 2, "available": 1, "shortfall": 1}]
    assert len(reply.json()["lines"]) == 150
    positions = store.get_many((sku, "DC-EAST") for sku in BULK)
    first_chunk = [positions[(sku, "DC-EAST")] for sku in BULK[: r.POSITIONS_PER_TRANSACTION]]
    assert {(p.reserved, p.available, p.version) for p in first_chunk} == {(0, 5, 3)}  # reserved, then given back
    assert {positions[(sku, "DC-EAST")].version for sku in BULK[r.POSITIONS_PER_TRANSACTION :]} == {1}
    assert client.get(f"{PATH}/BIG-1").status == 404  # the pending record went with the compensation


def test_501_lines_are_too_many_and_500_are_not(rt, client):
    too_many = reserve(client, "SO-1", *(line("SKU-1", 1) for _ in range(501)))
    assert too_many.status == 422
    assert too_many.json()["type"] == PROBLEM + "too-many-lines"
    assert (too_many.json()["limit"], too_many.json()["count"]) == (500, 501)
    allowed = reserve(client, "SO-1", *(line(f"X-{i}", 1) for i in range(500)))
    # 500 lines pass the limit; these are refused for what they are: SKUs the item master does not know
    assert allowed.status == 422 and allowed.json()["type"] == PROBLEM + "unknown-sku"
    assert len(allowed.json()["skus"]) == 500


# ------------------------------------------------------------------------------------------- requests
def test_the_same_reference_replays_and_other_lines_conflict(rt, client):
    count_stock(rt, client, "SKU-1", 10)
    first = reserve(client, "CART-7", line("SKU-1", 2), line("SKU-1", 1), kind="hold")
    again = reserve(client, "CART-7", line("SKU-1", 3), kind="hold")  # the same, added up
    assert (first.status, again.status) == (201, 200)
    assert (first.header("Idempotent-Replayed"), again.header("Idempotent-Replayed")) == ("false", "true")
    assert again.json() == first.json()
    assert buckets(client, "SKU-1") == (10, 0, 3, 7)  # reserved once

    conflict = reserve(client, "CART-7", line("SKU-1", 4), kind="hold")
    assert conflict.status == 409 and conflict.json()["type"] == PROBLEM + "reservation-conflict"
    as_order = reserve(client, "CART-7", line("SKU-1", 3), kind="order")
    assert as_order.status == 409 and as_order.json()["type"] == PROBLEM + "reservation-conflict"


def test_units_convert_with_the_item_master_and_lines_must_be_in_scope(rt, client):
    count_stock(rt, client, "SKU-1", 30)
    reply = reserve(client, "SO-1", line("SKU-1", 2, unit="case"), line("SKU-1", 1))
    assert reply.status == 201, reply.body
    assert reply.json()["lines"] == [{"sku": "SKU-1", "location": "DC-EAST", "quantity": 25}]
    unknown = reserve(client, "SO-2", line("SKU-1", 1, unit="crate"))
    assert unknown.status == 422 and unknown.json()["type"] == PROBLEM + "unknown-unit-of-measure"
    elsewhere = reserve(client, "SO-3", line("SKU-1", 1), line("SKU-1", 1, location="DC-WEST"))
    assert elsewhere.status == 403 and elsewhere.json()["type"] == PROBLEM + "out-of-scope"
    assert buckets(client, "SKU-1") == (30, 25, 0, 5)


def test_release_and_commit_move_the_stock_once_and_refuse_the_other_way(rt, client):
    count_stock(rt, client, "SKU-1", 10)
    assert reserve(client, "SO-1", line("SKU-1", 4)).status == 201
    assert reserve(client, "CART-1", line("SKU-1", 3), kind="hold").status == 201
    assert buckets(client, "SKU-1") == (10, 4, 3, 3)

    released = client.post(f"{PATH}/SO-1/release", {})
    assert released.status == 200 and released.json()["status"] == "released"
    assert released.header("Idempotent-Replayed") == "false"
    again = client.post(f"{PATH}/SO-1/release", {})
    assert again.status == 200 and again.header("Idempotent-Replayed") == "true"
    assert buckets(client, "SKU-1") == (10, 0, 3, 7)
    closed = client.post(f"{PATH}/SO-1/commit", {})
    assert closed.status == 409 and closed.json()["type"] == PROBLEM + "reservation-closed"
    assert closed.json()["reservation_status"] == "released" and closed.json()["status"] == 409

    committed = client.post(f"{PATH}/CART-1/commit", {})
    assert committed.status == 200 and committed.json()["status"] == "committed"
    assert client.post(f"{PATH}/CART-1/commit", {}).header("Idempotent-Replayed") == "true"
    # The stock left `reserved`; on hand drops when the warehouse reports the shipment.
    assert buckets(client, "SKU-1") == (10, 0, 0, 10)
    assert client.post(f"{PATH}/CART-1/release", {}).json()["type"] == PROBLEM + "reservation-closed"
    assert client.get(f"{PATH}/CART-1").json()["status"] == "committed"

    assert client.post(f"{PATH}/NOPE/release", {}).status == 404
    other = partner_client(rt, register_partner(rt, "wh-two", "warehouse", ["location:DC-EAST"]))
    assert other.get(f"{PATH}/SO-1").status == 404  # references are per partner
    assert other.post(f"{PATH}/SO-1/release", {}).status == 404


# --------------------------------------------------------------------------------------------- expiry
def test_holds_expire_on_schedule_and_their_stock_comes_back(rt, client, captured_events):
    count_stock(rt, client, "SKU-1", 10)
    assert reserve(client, "CART-2", line("SKU-1", 3), kind="hold").status == 201  # default: 15 minutes
    assert reserve(client, "SO-1", line("SKU-1", 4)).status == 201  # orders: no expiry
    assert sweep(rt)["expired"] == 0  # nothing is due (no upper bound on this test's speed: no short hold yet)
    assert reserve(client, "CART-1", line("SKU-1", 2), kind="hold", expires_in_seconds=1).status == 201
    time.sleep(1.1)

    report = sweep(rt)
    assert (report["expired"], report["failed"], report["complete"]) == (1, 0, True)
    assert client.get(f"{PATH}/CART-1").json()["status"] == "expired"
    assert buckets(client, "SKU-1") == (10, 4, 3, 3)
    assert sweep(rt)["expired"] == 0  # gone from the expiry index
    late = client.post(f"{PATH}/CART-1/release", {})
    assert late.status == 409 and late.json()["reservation_status"] == "expired"

    (expired,) = captured_events("reservation.expired")
    assert expired["subject"] == "wh-east:CART-1" and expired["data"]["reservation"]["status"] == "expired"
    assert expired["source_partner"] == "distrosync.reservation-expiry"
    created = {e["subject"]: e for e in captured_events("reservation.created")}
    assert expired["correlation_id"] == created["wh-east:CART-1"]["correlation_id"]  # the hold's business flow


def test_the_sweeper_undoes_a_creation_whose_writer_died_and_finishes_a_half_done_close(rt, client):
    store = _bulk_positions(rt)
    reservations = ReservationStore(*table_names(rt))
    me = partner(rt)
    long_ago = utcnow() - r.PENDING_DEADLINE - timedelta(minutes=1)
    lines = tuple(r.RequestedLine(sku, "DC-EAST", 1) for sku in BULK)

    # A writer that died after the first of two chunks, long enough ago to count as abandoned.
    crashed = r.new_record(
        "wh-east", r.Draft("DIED-1", "hold", lines), r.to_eaches(lines), now=long_ago, correlation_id="c1"
    )
    assert reservations.apply_chunk(crashed, r.after_apply(crashed, now=long_ago)).value == "ok"

    # A hold of two chunks that expired, whose release died after its first transaction.
    then = service(rt, clock=lambda: long_ago)
    then.create(r.Draft("HALF-1", "hold", lines, expires_in_seconds=60), me, meta())
    record = reservations.get("wh-east:HALF-1")
    assert reservations.revert_chunk(record, r.after_revert(record, "released", now=long_ago)).value == "ok"

    report = sweep(rt)
    assert (report["abandoned"], report["finished"], report["expired"], report["failed"]) == (1, 1, 0, 0)
    assert reservations.get("wh-east:DIED-1") is None
    half = reservations.get("wh-east:HALF-1")
    assert (half.status, half.applied) == ("released", 0)
    positions = store.get_many((sku, "DC-EAST") for sku in BULK)
    assert {(p.reserved, p.available) for p in positions.values()} == {(0, 5)}
    again = sweep(rt)
    assert (again["abandoned"], again["finished"], again["expired"]) == (0, 0, 0)


# --------------------------------------------------------------------------------------------- events
def test_every_change_is_published_once_and_a_replay_republishes_the_same_event(rt, client, captured_events):
    count_stock(rt, client, "SKU-1", 10)
    captured_events()  # forget the count's events
    first = reserve(client, "SO-1", line("SKU-1", 2), headers={"X-Correlation-Id": "order-flow-1"})
    assert first.status == 201
    assert reserve(client, "SO-1", line("SKU-1", 2)).status == 200
    assert client.post(f"{PATH}/SO-1/commit", {}, headers={"X-Correlation-Id": "ship-1"}).status == 200
    assert reserve(client, "SO-2", line("SKU-1", 1)).status == 201
    assert client.post(f"{PATH}/SO-2/release", {}).status == 200

    events = captured_events("reservation.created", "reservation.committed", "reservation.released")
    assert [(e["type"], e["subject"]) for e in events] == [
        ("reservation.created", "wh-east:SO-1"),
        ("reservation.created", "wh-east:SO-1"),  # the replay publishes it again ...
        ("reservation.committed", "wh-east:SO-1"),
        ("reservation.created", "wh-east:SO-2"),
        ("reservation.released", "wh-east:SO-2"),
    ]
    assert events[0]["id"] == events[1]["id"]  # ... as the same event, which consumers drop
    assert events[0]["data"] == events[1]["data"]
    assert len({e["id"] for e in events}) == 4
    assert events[0]["correlation_id"] == "order-flow-1" and events[2]["correlation_id"] == "ship-1"
    assert events[0]["data"]["reservation"] == first.json()
    assert events[2]["data"]["reservation"]["status"] == "committed"


def test_a_reservation_costs_one_transaction_and_one_put_events(rt, client):
    count_stock(rt, client, "SKU-1", 10)
    svc, me, calls = service(rt), partner(rt), Counter()

    def count(model=None, **_):
        calls[f"{model.service_model.service_name}.{model.name}"] += 1

    clients = [aws("dynamodb"), aws("events")]
    for c in clients:
        c.meta.events.register("before-call", count, unique_id="reservation-call-count")
    try:

        def measured(action):
            calls.clear()
            action()
            return dict(calls)

        one_line = r.Draft("SO-1", "order", (r.RequestedLine("SKU-1", "DC-EAST", 1),))
        assert measured(lambda: svc.create(one_line, me, meta())) == {
            "dynamodb.TransactWriteItems": 1,
            "events.PutEvents": 1,
        }
        assert measured(lambda: svc.create(one_line, me, meta())) == {
            "dynamodb.TransactWriteItems": 1,
            "dynamodb.GetItem": 1,
            "events.PutEvents": 1,
        }
        assert measured(lambda: svc.release(me, "SO-1", meta())) == {
            "dynamodb.GetItem": 1,
            "dynamodb.TransactWriteItems": 1,
            "events.PutEvents": 1,
        }
        too_much = r.Draft("SO-2", "order", (r.RequestedLine("SKU-1", "DC-EAST", 11),))
        calls.clear()
        with pytest.raises(r.InsufficientStock):
            svc.create(too_much, me, meta())
        assert dict(calls) == {"dynamodb.TransactWriteItems": 1, "dynamodb.BatchGetItem": 1}
    finally:
        for c in clients:
            c.meta.events.unregister("before-call", unique_id="reservation-call-count")
