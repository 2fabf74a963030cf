"""The order-to-ship state machine's steps on the embedded runtime (docs/order-to-ship.md, "Steps").

Orders are placed through the API; the starter starts their executions; the steps reserve, release to the WMS,
announce to the ERP, hand over to the TMS, dispatch, track and complete, or backorder, split, compensate and
record exceptions. The WMS, TMS, ERP, portal and finance are signed-webhook receivers (`order_systems`). Where
a partner's callback resumes the flow, the test does what the callback does: it claims the wait on the order
(the store's `advance`) and sends the task token stored there with boto3.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from cli.local_session import emf_totals, register_partner
from shared.aws.clients import client as aws
from shared.aws.fulfillment_store import FulfillmentStore, TimelineEntry
from shared.aws.orders_store import OrdersStore
from shared.aws.reservation_store import ReservationStore
from shared.canonical.envelope import utcnow
from tests.flows.order_flow_fixtures import (
    WMS_EVENTS,
    count_stock,
    entered_states,
    flow_record,
    flow_timers,
    place_order,
    wait_for_end,
    wait_for_status,
    wait_for_waiting,
)
from tests.flows.systems_fixtures import connect_system

pytestmark = pytest.mark.order_flow

SHIP_TO = {"name": "Ada Buyer", "address1": "1 Main St", "city": "Albany", "region": "NY", "country": "US"}


# ------------------------------------------------------------------------------------------------ helpers
def store(rt) -> FulfillmentStore:
    return FulfillmentStore(rt.outputs["OrdersTableName"])


def reservation(rt, order_id: str):
    return ReservationStore(rt.outputs["ReservationsTableName"], rt.outputs["InventoryTableName"]).get(
        f"order-flow:{order_id}"
    )


def demand_statuses(rt, order_id: str) -> dict[int, str]:
    orders = OrdersStore(rt.outputs["OrdersTableName"])
    stored = orders.get_order(order_id)
    assert stored is not None
    return {line: d.status for line, d in orders.order_demand(stored.order).items()}


def resume(rt, order_id: str, step: str, *, by: str, status: str | None = None, **attributes) -> None:
    """What a partner's callback does: claim the wait (one conditional write), then SendTaskSuccess."""
    record = wait_for_waiting(rt, order_id, step)
    now = utcnow()
    milestone = status or f"{step}_confirmed"
    store(rt).advance(
        record,
        now=now,
        status=status,
        waiting=record.waiting.__class__(**{**vars(record.waiting), "claimed_at": now, "claimed_by": by}),
        set=attributes,
        timeline=[TimelineEntry(now, milestone, by)],
    )
    aws("stepfunctions").send_task_success(taskToken=record.waiting.token, output=json.dumps({"by": by}))


def received(rt, receiver, event_type: str, count: int = 1, timeout: float = 20.0) -> list[dict]:
    """The `data` of the `event_type` envelopes `receiver` accepted, once it has `count` of them (a step stores its
    wait before it delivers: the document follows the token by a moment)."""
    deadline = time.monotonic() + timeout
    while len(found := data_of(receiver, event_type)) < count and time.monotonic() < deadline:
        rt.drain()
        time.sleep(0.05)
    return found


def listed(rt, kind: str) -> list[tuple[str, str]]:
    """(order id, sort key) of the entries on an exceptions list."""
    items = aws("dynamodb").query(
        TableName=rt.outputs["OrdersTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"EXCEPTION#{kind}"}},
    )["Items"]
    return [(item["order_id"]["S"], item["sk"]["S"]) for item in items]


def types(receiver, *wanted: str) -> list[str]:
    return [e["type"] for e in receiver.events(*wanted)]


def data_of(receiver, event_type: str) -> list[dict]:
    return [e["data"] for e in receiver.events(event_type)]


# -------------------------------------------------------------------------------------------------- flows
def test_an_order_with_stock_goes_from_reservation_to_completion(
    rt, client, erp_client, order_systems, webhook_receiver, captured_events
):
    west = webhook_receiver()
    register_partner(rt, "wh-west", "warehouse", ["location:DC-WEST"])
    connect_system(rt, "wh-west", "warehouse", "webhook", target=west, subscriptions=WMS_EVENTS)
    count_stock(rt, client, "SKU-1", 10)
    count_stock(rt, client, "SKU-2", 5)
    place_order(
        erp_client,
        "SO-100",
        ("SKU-1", 4),
        ("SKU-2", 5),
        ship_to=SHIP_TO,
        customer_ref="PO-77",
        deliver_by=(utcnow() + timedelta(days=5)).date().isoformat(),
    )
    systems = order_systems

    # validate -> reserve -> release: the WMS of DC-EAST has the order (signed: only verified ones are listed)
    record = wait_for_waiting(rt, "SO-100", "release")
    assert record.status == "released" and record.waiting.token
    (released,) = received(rt, systems.wms, "order.released")
    assert released["location"] == "DC-EAST" and released["callback"] == "/v1/orders/SO-100/pick-complete"
    assert [(x["sku"], x["quantity"]) for x in released["lines"]] == [("SKU-1", 4), ("SKU-2", 5)]
    assert released["ship_to"]["city"] == "Albany" and released["customer_ref"] == "PO-77"
    assert west.deliveries == []  # a DC-WEST warehouse is no target of a DC-EAST order
    held = reservation(rt, "SO-100")
    assert held.status == "held" and held.reservation.kind == "order" and held.reservation.expires_at is None
    assert record.reservation_id == "order-flow:SO-100"
    assert demand_statuses(rt, "SO-100") == {1: "allocated", 2: "allocated"}
    assert [e.milestone for e in record.timeline] == ["reserved", "released"]

    # the WMS picked it -> erp_status (the ERP now) -> ship (the TMS now)
    resume(rt, "SO-100", "release", by="wh-east", status="picked", pick={"packages": [{"package_id": "CTN-1"}]})
    record = wait_for_waiting(rt, "SO-100", "ship")
    assert record.status == "awaiting_dispatch"
    (ready,) = received(rt, systems.tms, "shipment.ready")
    picked = [d for d in data_of(systems.erp, "order.status_changed") if d["status"] == "picked"]
    assert [(d["previous_status"], d["step"]) for d in picked] == [("released", "erp_status")]
    assert ready["packages"] == [{"package_id": "CTN-1", "sscc": None, "weight_kg": None}]
    assert ready["callback"] == "/v1/orders/SO-100/dispatch" and len(ready["lines"]) == 2

    # the TMS dispatched it -> dispatch: reservation committed, events out -> track
    shipment = {
        "carrier": "fedex",
        "tracking_number": "7901",
        "dispatched_at": utcnow().isoformat(),
        "estimated_delivery": (utcnow() + timedelta(days=2)).date().isoformat(),
    }
    resume(rt, "SO-100", "ship", by="tms", shipment=shipment)
    record = wait_for_waiting(rt, "SO-100", "track")
    assert record.status == "dispatched"
    assert reservation(rt, "SO-100").status == "committed"
    assert demand_statuses(rt, "SO-100") == {1: "shipped", 2: "shipped"}
    rt.drain()
    (invoice,) = data_of(systems.finance, "invoice.requested")
    assert invoice["carrier"] == "fedex" and [x["quantity"] for x in invoice["lines"]] == [4, 5]
    (dispatched,) = [e["data"] for e in captured_events("shipment.dispatched")]
    assert dispatched["tracking_number"] == "7901" and dispatched["promised_delivery"] is not None

    # the carrier delivered it -> complete
    resume(rt, "SO-100", "track", by="fedex", status="delivered")
    execution = wait_for_end(rt, "SO-100")
    assert execution["status"] == "SUCCEEDED", execution
    record = flow_record(rt, "SO-100")
    assert record.status == "completed" and record.waiting is None
    assert entered_states(rt, "SO-100") == [
        "Validate",
        "Reserve",
        "Short?",
        "Release",
        "ErpStatus",
        "ShipmentReady",
        "Dispatch",
        "Track",
        "Complete",
        "Completed",
    ]

    # every event once, ids stable; the ERP got `picked` once although it was delivered now and published
    rt.drain()
    statuses = [e["data"]["status"] for e in captured_events("order.status_changed")]
    assert statuses == ["released", "picked", "awaiting_dispatch", "dispatched", "completed"]
    assert [d["status"] for d in data_of(systems.erp, "order.status_changed")] == statuses
    assert [d["status"] for d in data_of(systems.portal, "order.status_changed")] == statuses
    assert types(systems.wms) == ["order.released"] and types(systems.tms) == ["shipment.ready"]
    assert len(captured_events("order.released")) == 1
    totals = emf_totals(rt.logs("order_flow"))
    assert totals["OrderToShipSeconds"] > 0 and totals["OrderException"] == 0


def test_a_short_order_is_backordered_reserved_when_stock_arrives_then_cancelled(
    rt, client, erp_client, order_systems, captured_events
):
    systems = order_systems
    count_stock(rt, client, "SKU-3", 2)
    place_order(erp_client, "SO-200", ("SKU-3", 5))  # policy backorder (the default)
    record = wait_for_status(rt, "SO-200", "backordered")
    rt.drain()  # the promiser has pegged it
    assert record.reservation_id is None and reservation(rt, "SO-200") is None
    assert demand_statuses(rt, "SO-200") == {1: "open"}  # still pegged by the promiser: at risk (no lead time)
    assert listed(rt, "promise_at_risk") == [("SO-200", "SO-200#0001")]

    count_stock(rt, client, "SKU-3", 8, sequence=2)
    record = wait_for_waiting(rt, "SO-200", "release")
    assert record.backorder_rounds >= 1 and reservation(rt, "SO-200").status == "held"
    assert demand_statuses(rt, "SO-200") == {1: "allocated"}
    assert listed(rt, "promise_at_risk") == []  # reserved: off the list, with the reservation's write
    states = entered_states(rt, "SO-200")
    assert states[:5] == ["Validate", "Reserve", "Short?", "Backorder", "WaitForStock"]
    assert states[-3:] == ["Reserve", "Short?", "Release"]
    received(rt, systems.wms, "order.released")

    # cancelled while the WMS picks: the cancel flag, then the waiting token failed (what the cancel route does)
    now = utcnow()
    store(rt).advance(
        record,
        now=now,
        set={"cancel": {"requested_at": now.isoformat(), "reason": "customer changed their mind", "by": "erp"}},
        timeline=[TimelineEntry(now, "cancel_requested", "erp")],
    )
    aws("stepfunctions").send_task_failure(
        taskToken=record.waiting.token, error="OrderCancelled", cause="customer changed their mind"
    )
    execution = wait_for_end(rt, "SO-200")
    assert execution["status"] == "SUCCEEDED"
    assert entered_states(rt, "SO-200")[-2:] == ["Compensate", "Cancelled"]
    record = flow_record(rt, "SO-200")
    assert record.status == "cancelled" and record.waiting is None
    assert record.cancel["previous_status"] == "released" and record.cancel["reservation_released"] is True
    assert reservation(rt, "SO-200").status == "released"
    assert demand_statuses(rt, "SO-200") == {1: "cancelled"}
    (stop,) = received(rt, systems.wms, "order.release_cancelled")
    assert stop["reason"] == "customer changed their mind" and stop["location"] == "DC-EAST"
    rt.drain()
    (cancelled,) = [e["data"] for e in captured_events("order.cancelled")]
    assert cancelled["warehouse_notified"] is True and cancelled["previous_status"] == "released"
    statuses = [e["data"]["status"] for e in captured_events("order.status_changed")]
    assert statuses == ["backordered", "released", "cancelled"]  # the backorder's repeat is the same event
    assert [d["status"] for d in data_of(systems.portal, "order.status_changed")] == statuses
    assert types(systems.wms) == ["order.released", "order.release_cancelled"]


def test_a_split_order_ships_what_is_there_and_the_rest_becomes_an_order_of_its_own(
    rt, client, erp_client, order_systems
):
    count_stock(rt, client, "SKU-4", 3)
    count_stock(rt, client, "SKU-5", 10)
    place_order(erp_client, "SO-300", ("SKU-4", 5), ("SKU-5", 2), policy="split")

    record = wait_for_waiting(rt, "SO-300", "release")
    assert record.split_into == ("SO-300.b1",) and record.allocation == {1: 3, 2: 2}
    assert entered_states(rt, "SO-300")[:5] == ["Validate", "Reserve", "Short?", "Split", "Short?"]
    assert [(x.sku, x.quantity) for x in reservation(rt, "SO-300").reservation.lines] == [("SKU-4", 3), ("SKU-5", 2)]
    (released,) = received(rt, order_systems.wms, "order.released")
    assert [(x["line"], x["quantity"]) for x in released["lines"]] == [(1, 3), (2, 2)]
    assert demand_statuses(rt, "SO-300") == {1: "allocated", 2: "allocated"}

    # the rest: its own order (through order.created), its own execution, backordered
    child = wait_for_status(rt, "SO-300.b1", "backordered")
    assert child.order.parent_order_id == "SO-300" and child.order.policy == "backorder"
    assert [(x.line, x.sku, x.quantity) for x in child.order.lines] == [(1, "SKU-4", 2)]
    assert demand_statuses(rt, "SO-300.b1") == {1: "open"}
    assert entered_states(rt, "SO-300.b1")[:4] == ["Validate", "Reserve", "Short?", "Backorder"]


def test_a_wms_that_is_down_is_retried_and_one_that_refuses_sends_the_order_to_the_exceptions(
    rt, client, erp_client, order_systems, captured_events
):
    wms = order_systems.wms
    count_stock(rt, client, "SKU-1", 50)

    # 503 first: the step fails with PartnerUnavailable, the state machine retries it, the WMS gets it once
    wms.fail_next(1, status=503)
    place_order(erp_client, "SO-400", ("SKU-1", 1))
    wait_for_waiting(rt, "SO-400", "release")
    (released,) = received(rt, wms, "order.released")
    assert released["order_id"] == "SO-400"
    attempts = [d.status for d in wms.deliveries if d.json()["data"]["order_id"] == "SO-400"]
    assert attempts == [503, 204]
    assert flow_record(rt, "SO-400").status == "released"

    # ...and goes on. The carrier reports the delivery before the dispatch step ran (out of order): dispatch
    # commits without taking the status back; track finds it delivered and answers its own token.
    resume(rt, "SO-400", "release", by="wh-east", status="picked")
    shipment = {"carrier": "ups", "tracking_number": "1Z9", "dispatched_at": utcnow().isoformat()}
    resume(rt, "SO-400", "ship", by="tms", status="delivered", shipment=shipment)
    assert wait_for_end(rt, "SO-400")["status"] == "SUCCEEDED"
    assert entered_states(rt, "SO-400")[-4:] == ["Dispatch", "Track", "Complete", "Completed"]
    record = flow_record(rt, "SO-400")
    assert record.status == "completed" and record.waiting is None
    assert reservation(rt, "SO-400").status == "committed" and demand_statuses(rt, "SO-400") == {1: "shipped"}

    # 400: refused for good -> ReleaseFailed -> RecordException -> Failed
    wms.fail_next(1, status=400)
    place_order(erp_client, "SO-401", ("SKU-1", 1))
    execution = wait_for_end(rt, "SO-401")
    assert execution["status"] == "FAILED"
    assert entered_states(rt, "SO-401")[-3:] == ["ReleaseFailed", "RecordException", "Failed"]
    record = flow_record(rt, "SO-401")
    assert record.status == "exception" and record.exception["step"] == "release"
    assert record.exception["error"] == "DeliveryRejected" and "HTTP 400" in record.exception["reason"]
    rt.drain()
    (exception,) = [e["data"] for e in captured_events("order.exception")]
    assert exception["order_id"] == "SO-401" and exception["locations"] == ["DC-EAST"]
    assert listed(rt, "order_exception") == [("SO-401", "SO-401#0000")]
    assert emf_totals(rt.logs("order_flow"))["OrderException"] == 1

    # the WMS never confirms: States.Timeout on release, its reason names the timer
    flow_timers(rt, pick_timeout=2)
    place_order(erp_client, "SO-402", ("SKU-1", 1))
    assert wait_for_end(rt, "SO-402")["status"] == "FAILED"
    record = flow_record(rt, "SO-402")
    assert record.exception["error"] == "States.Timeout"
    assert record.exception["reason"] == "the WMS did not confirm the pick within 2 s"
