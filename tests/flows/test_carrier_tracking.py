"""Dispatch and carrier tracking end to end on the embedded runtime: `distrosync carriers add` registers an
EasyPost carrier and a canonical one; the TMS reports the dispatch (the tracking number is indexed); EasyPost's
own `tracker.updated` webhook (the corpus file, byte for byte, signed here with the carrier's webhook secret)
arrives without an API key and reports an estimate two days after the promised delivery; a canonical
`delivered` event resumes the flow's delivery wait.

Executions are parked on real task tokens as in test_order_callbacks.py (`waiting_on`).
"""

import json

import pytest

from cli.client import PartnerClient
from cli.corpus import CORPUS
from cli.local_session import emf_totals, partner_client, register_partner, runtime_transport
from shared.adapters import easypost
from tests.flows.test_order_callbacks import captured_order, ended_in, problem_type, store, waiting_on

pytestmark = pytest.mark.order_flow

EVENT = (CORPUS / "carriers" / "easypost_event_tracker_updated.event-body.json").read_bytes()


def easypost_delivery(rt, body: bytes, secret: str, carrier: str = "easypost"):
    headers = {"Content-Type": "application/json", "X-Hmac-Signature": easypost.signature(secret, body)}
    return rt.api.request("POST", f"/v1/carriers/{carrier}/tracking", headers=headers, body=body)


def test_dispatch_then_easypost_reports_a_delay_and_a_canonical_delivery_ends_the_wait(
    rt, catalog, erp_client, cli, captured_events
):
    code, out, err = cli("carriers", "add", "easypost", "--platform", "easypost", "--local", "--json")
    assert code == 0, err
    ep = json.loads(out)
    assert ep["tracking_url"] is None or ep["tracking_url"].endswith("/v1/carriers/easypost/tracking")
    code, out, err = cli(
        "carriers", "add", "fedex", "--platform", "canonical", "--scopes", "location:DC-EAST", "--json"
    )
    assert code == 0, err
    fedex = PartnerClient(runtime_transport(rt), json.loads(out)["api_key"], json.loads(out)["signing_secret"])
    assert "webhook_secret" not in json.loads(out)
    tms = partner_client(rt, register_partner(rt, "tms", "tms", ["location:*"]))

    order = captured_order(rt, "SO-SHIP-1", ("SKU-1", 4), deliver_by="2024-08-03", customer_ref="C-9")
    ship_wait = waiting_on(rt, order.order_id, "ship", "awaiting_dispatch")
    dispatch = {
        "carrier": "FedEx",
        "tracking_number": "1",  # the corpus tracker's tracking_code
        "service": "FEDEX_GROUND",
        "dispatched_at": "2024-07-31T14:00:00Z",
        "estimated_delivery": "2024-08-02",
    }
    first = tms.post(f"/v1/orders/{order.order_id}/dispatch", dispatch)
    assert (first.status, first.json()["result"]) == (202, "accepted"), first.body
    assert ended_in(rt, ship_wait)[0] == "Resumed"
    again = tms.post(f"/v1/orders/{order.order_id}/dispatch", dispatch)
    assert (again.status, again.json()["result"]) == (200, "duplicate")
    assert [a["type"] for a in ended_in(rt, ship_wait)[1]] == ["TaskSucceeded"]
    other = captured_order(rt, "SO-SHIP-2", ("SKU-1", 1))
    waiting_on(rt, other.order_id, "ship", "awaiting_dispatch")
    taken = tms.post(f"/v1/orders/{other.order_id}/dispatch", {**dispatch, "carrier": "FEDEX"})
    assert (taken.status, problem_type(taken)) == (409, "conflict")  # carriers are matched lower-cased

    # The dispatch step's part (not under test here): dispatched, then Track waits for delivery.
    track_wait = waiting_on(rt, order.order_id, "track", "dispatched")
    secret = ep["webhook_secret"]
    forged = easypost_delivery(rt, EVENT, "not-the-secret")
    assert (forged.status, problem_type(forged)) == (401, "invalid-webhook-signature")
    unsigned = rt.api.request("POST", "/v1/carriers/easypost/tracking", body=EVENT)
    assert (unsigned.status, problem_type(unsigned)) == (401, "missing-signature")

    update = easypost_delivery(rt, EVENT, secret)
    assert update.status == 202, update.body
    receipt = update.json()
    assert (receipt["order_id"], receipt["new_milestones"], receipt["delayed"]) == (order.order_id, 7, True)
    assert receipt["status"] == "dispatched"
    milestones = captured_events("shipment.milestone")
    assert [m["data"]["milestone"] for m in milestones] == ["pre_transit"] + ["in_transit"] * 6
    assert {m["data"]["carrier"] for m in milestones} == {"FedEx"}
    assert all(m["correlation_id"] == "corr-SO-SHIP-1" for m in milestones)
    (delayed,) = captured_events("shipment.delayed")
    assert delayed["data"] | {"reported_at": None} == {
        "order_id": order.order_id,
        "carrier": "FedEx",
        "tracking_number": "1",
        "promised_delivery": "2024-08-03",  # the order's deliver_by wins over the TMS's estimate
        "estimated_delivery": "2024-08-05",
        "previous_estimate": "2024-08-02",
        "days_late": 2,
        "reported_at": None,
        "customer_ref": "C-9",
    }
    assert emf_totals(rt.logs("ingress"))["SlaBreach"] == 1
    listed = erp_client.get("/v1/exceptions", query={"kind": "shipment_delayed"})
    assert listed.status == 200, listed.body
    (entry,) = listed.json()["items"]
    assert (entry["order_id"], entry["days_late"], entry["location"]) == (order.order_id, 2, "DC-EAST")

    repeat = easypost_delivery(rt, EVENT, secret)
    assert (repeat.status, repeat.json()["result"]) == (200, "duplicate")
    assert len(captured_events("shipment.milestone", "shipment.delayed")) == 8  # nothing published again

    unknown = fedex.post(
        "/v1/carriers/fedex/tracking",
        {"tracking_number": "NOPE", "status": "delivered", "occurred_at": "2024-08-05T15:00:00Z"},
    )
    assert (unknown.status, problem_type(unknown)) == (404, "unknown-shipment")
    not_fedex = PartnerClient(runtime_transport(rt), ep["api_key"], ep["signing_secret"])
    wrong_key = not_fedex.post(
        "/v1/carriers/fedex/tracking",
        {"tracking_number": "1", "status": "delivered", "occurred_at": "2024-08-05T15:00:00Z"},
    )
    assert (wrong_key.status, problem_type(wrong_key)) == (401, "invalid-signature")  # signed as another partner

    delivered = fedex.post(
        "/v1/carriers/fedex/tracking",
        {"tracking_number": "1", "status": "delivered", "occurred_at": "2024-08-05T15:00:00Z", "where": "NY, US"},
    )
    assert delivered.status == 202, delivered.body
    assert delivered.json()["status"] == "delivered"
    state, answers = ended_in(rt, track_wait)
    assert (state, [a["type"] for a in answers]) == ("Resumed", ["TaskSucceeded"])

    view = erp_client.get(f"/v1/orders/{order.order_id}").json()["fulfillment"]
    assert view["status"] == "delivered"
    assert view["shipment"]["delivered_at"] == "2024-08-05T15:00:00Z"
    assert view["shipment"]["carrier_status"] == "delivered"
    assert [e["milestone"] for e in view["timeline"]][-2:] == ["in_transit", "delivered"]
    assert [e["at"] for e in view["timeline"]] == sorted(e["at"] for e in view["timeline"])
    record = store(rt).require(order.order_id)
    assert record.waiting.claimed_by == "fedex"
