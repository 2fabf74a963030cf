"""Issue #5's "done when", through the synthesized state machine on the embedded runtime: the partners' real
routes (pick progress and complete, dispatch, cancel), the real steps, the real waits (shortened by
configuration: `flow_timers`). The corpus Shopify order's way to delivery is `distrosync demo` part 3
(tests/flows/test_cli.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from cli.local_session import emf_totals
from tests.flows.order_flow_fixtures import (
    count_stock,
    entered_states,
    flow_record,
    flow_timers,
    place_order,
    received,
    wait_for_end,
    wait_for_status,
    wait_for_waiting,
)

pytestmark = pytest.mark.order_flow

PROBLEM = "urn:distrosync:problem:"


def _position(client, sku: str) -> dict:
    return client.get(f"/v1/inventory/{sku}", {"location": "DC-EAST"}).json()["positions"][0]


def _task_outcomes(rt, order_id: str) -> list[tuple[str, str]]:
    """(state, TaskSucceeded | TaskFailed | ...) for every task outcome of the order's execution, in order."""
    from tests.flows.order_flow_fixtures import execution_arn

    events = rt.clients("stepfunctions").get_execution_history(
        executionArn=execution_arn(rt, order_id), maxResults=1000
    )["events"]
    by_id = {e["id"]: e for e in events}
    outcomes = []
    for event in events:
        if event["type"] in ("TaskSucceeded", "TaskFailed", "TaskTimedOut"):
            entered = by_id.get(event["previousEventId"])
            while entered is not None and not entered["type"].endswith("StateEntered"):
                entered = by_id.get(entered["previousEventId"])
            outcomes.append((entered["stateEnteredEventDetails"]["name"] if entered else "?", event["type"]))
    return outcomes


def test_pick_progress_keeps_the_wait_alive_and_pick_complete_twice_advances_the_order_once(
    rt, catalog, client, erp_client, order_systems
):
    flow_timers(rt, pick_heartbeat=2, pick_timeout=60)
    count_stock(rt, client, "SKU-1", 20)
    place_order(erp_client, "SO-5001", ("SKU-1", 4))
    released = wait_for_waiting(rt, "SO-5001", "release")
    assert released.status == "released"
    (release,) = received(order_systems.wms, "order.released")
    assert release["callback"].endswith("/v1/orders/SO-5001/pick-complete")

    for _ in range(3):  # 3 s of picking with a 2 s heartbeat: each progress report keeps the task alive
        time.sleep(1)
        progress = client.post("/v1/orders/SO-5001/pick-progress", {})
        assert progress.status == 202, progress.body
    body = {"picked_at": datetime.now(UTC).isoformat(), "lines": [{"line": 1, "quantity": 4}]}
    first = client.post("/v1/orders/SO-5001/pick-complete", body)
    again = client.post("/v1/orders/SO-5001/pick-complete", body)
    unknown = client.post("/v1/orders/SO-5999/pick-complete", body)

    assert (first.status, first.json()["result"]) == (202, "accepted"), first.body
    assert (again.status, again.json()["result"]) == (200, "duplicate"), again.body
    assert unknown.status == 404 and unknown.header("content-type").startswith("application/problem+json")
    assert unknown.json()["type"] == PROBLEM + "unknown-order"
    assert "SO-5999" in unknown.json()["detail"]
    waiting = wait_for_waiting(rt, "SO-5001", "ship")  # the next wait: shipment-ready to the TMS
    assert waiting.status == "awaiting_dispatch"
    assert [m.milestone for m in waiting.timeline].count("picked") == 1
    outcomes = _task_outcomes(rt, "SO-5001")
    assert [o for o in outcomes if o[0] == "Release"] == [("Release", "TaskSucceeded")]  # resumed once
    assert [e["status"] for e in received(order_systems.erp, "order.status_changed", 3)].count("picked") == 1
    assert emf_totals(rt.logs("ingress"))["CallbackDuplicate"] == 1


def test_cancel_mid_flight_compensates_and_a_cancel_after_dispatch_is_refused(
    rt, catalog, client, erp_client, order_systems
):
    count_stock(rt, client, "SKU-2", 10)
    place_order(erp_client, "SO-5101", ("SKU-2", 6))
    place_order(erp_client, "SO-5102", ("SKU-2", 3))
    wait_for_waiting(rt, "SO-5101", "release")
    wait_for_waiting(rt, "SO-5102", "release")
    assert _position(client, "SKU-2")["committed"] == 9

    cancel = erp_client.post("/v1/orders/SO-5101/cancel", {"reason": "customer changed their mind"})
    assert (cancel.status, cancel.json()["result"]) == (202, "cancelling"), cancel.body
    ended = wait_for_end(rt, "SO-5101")
    assert ended["status"] == "SUCCEEDED"
    assert entered_states(rt, "SO-5101")[-2:] == ["Compensate", "Cancelled"]
    record = flow_record(rt, "SO-5101")
    assert record.status == "cancelled" and record.waiting is None
    (told,) = received(order_systems.wms, "order.release_cancelled")
    assert (told["order_id"], told["location"]) == ("SO-5101", "DC-EAST")
    assert told["reason"] == "customer changed their mind"
    assert _position(client, "SKU-2")["committed"] == 3  # SO-5101's 6 released; SO-5102's 3 still held
    again = erp_client.post("/v1/orders/SO-5101/cancel", {"reason": "customer changed their mind"})
    assert again.status == 200, again.body

    # SO-5102 goes on: picked, handed to the TMS, dispatched; then a cancel is too late.
    picked = client.post("/v1/orders/SO-5102/pick-complete", {"picked_at": datetime.now(UTC).isoformat()})
    assert picked.status == 202, picked.body
    wait_for_waiting(rt, "SO-5102", "ship")
    dispatch = {
        "carrier": "UPS",
        "tracking_number": "1Z999AA10123456784",
        "dispatched_at": datetime.now(UTC).isoformat(),
    }
    assert order_systems.tms_client.post("/v1/orders/SO-5102/dispatch", dispatch).status == 202
    wait_for_waiting(rt, "SO-5102", "track")
    late = erp_client.post("/v1/orders/SO-5102/cancel", {"reason": "too late"})
    assert late.status == 409 and late.json()["type"] == PROBLEM + "order-dispatched", late.body
    assert "dispatched" in late.json()["detail"]
    assert flow_record(rt, "SO-5102").status == "dispatched"
    assert _position(client, "SKU-2")["committed"] == 0  # committed at dispatch: it left the building
    assert len(order_systems.wms.events("order.release_cancelled")) == 1


def test_a_wms_that_never_confirms_the_pick_sends_the_order_to_the_exception_path(
    rt, catalog, client, erp_client, order_systems
):
    flow_timers(rt, pick_heartbeat=2, pick_timeout=2)
    count_stock(rt, client, "SKU-3", 5)
    place_order(erp_client, "SO-5201", ("SKU-3", 5))
    wait_for_waiting(rt, "SO-5201", "release")

    ended = wait_for_end(rt, "SO-5201", timeout=30)
    assert (ended["status"], ended["error"]) == ("FAILED", "OrderException")
    assert entered_states(rt, "SO-5201")[-3:] == ["ReleaseFailed", "RecordException", "Failed"]
    record = wait_for_status(rt, "SO-5201", "exception")
    assert record.exception["step"] == "release"
    assert record.exception["error"] in ("States.Timeout", "States.HeartbeatTimeout")
    assert "WMS" in record.exception["reason"]

    listed = erp_client.get("/v1/exceptions", {"kind": "order_exception"})
    assert listed.status == 200, listed.body
    (entry,) = listed.json()["items"]
    assert (entry["order_id"], entry["step"], entry["error"]) == ("SO-5201", "release", record.exception["error"])
    # Another location's warehouse does not see it.
    assert emf_totals(rt.logs("order_flow"))["OrderException"] == 1
    dimensions = [
        line
        for line in rt.logs("order_flow")
        if '"OrderException"' in line and '"step"' in line and '"release"' in line
    ]
    assert dimensions, "OrderException carries the failed step as a dimension"
    view = erp_client.get("/v1/orders/SO-5201").json()["fulfillment"]
    assert view["status"] == "exception" and view["exception"]["step"] == "release"
    assert [t["milestone"] for t in view["timeline"]][-1] == "exception"
