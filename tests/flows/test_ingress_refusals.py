"""Every kind of bad request gets its own problem type, and none of them reaches EventBridge."""

import time

import pytest

from cli.client import PartnerClient
from cli.local_session import emf_totals

PATH = "/v1/inventory/adjustments"
GOOD = {
    "sku": "SKU-1",
    "location": "DC-EAST",
    "delta": 2,
    "reason": "receipt",
    "sequence": 1,
    "occurred_at": "2026-11-26T09:00:00+00:00",
}
PROBLEM = "application/problem+json"
COUNT = {k: v for k, v in GOOD.items() if k != "delta"} | {"on_hand": 5, "reason": "cycle_count"}
SNAPSHOTS = "/v1/inventory/snapshots"
BIG_SNAPSHOT = {
    "location": "DC-EAST",
    "snapshot_id": "CC-1",
    "sequence": 1,
    "taken_at": "2026-11-26T09:00:00+00:00",
    "lines": [{"sku": f"SKU-{n}", "on_hand": 1} for n in range(1001)],
}


def refusals(client, erp_client):
    unsigned = PartnerClient(client.transport, client.api_key, None)
    wrong = PartnerClient(client.transport, client.api_key, "not-the-secret")
    keyless = PartnerClient(client.transport, None, client.signing_secret)
    bad_key = PartnerClient(client.transport, "x" * 40, client.signing_secret)
    json_header = {"Content-Type": "application/json"}
    return {
        "no API key": (keyless.post(PATH, GOOD), 401, "invalid-api-key"),
        "unknown API key": (bad_key.post(PATH, GOOD), 401, "invalid-api-key"),
        "unsigned": (unsigned.post(PATH, GOOD), 401, "missing-signature"),
        "wrongly signed": (wrong.post(PATH, GOOD), 401, "invalid-signature"),
        "body altered after signing": (
            client.post(PATH, GOOD, headers={"X-Distrosync-Signature": "sha256=" + "0" * 64}),
            401,
            "invalid-signature",
        ),
        "stale timestamp": (client.post(PATH, GOOD, timestamp=int(time.time()) - 301), 401, "stale-timestamp"),
        "future timestamp": (client.post(PATH, GOOD, timestamp=int(time.time()) + 400), 401, "stale-timestamp"),
        "out of scope": (client.post(PATH, {**GOOD, "location": "DC-WEST"}), 403, "out-of-scope"),
        "malformed JSON": (
            client.request("POST", PATH, raw_body=b'{"sku": ', headers=json_header),
            400,
            "malformed-json",
        ),
        "invalid fields": (client.post(PATH, {**GOOD, "delta": "lots", "sequence": -1}), 422, "validation-failed"),
        "delta and on_hand": (client.post(PATH, {**GOOD, "on_hand": 3}), 422, "validation-failed"),
        "unknown SKU": (client.post(PATH, {**GOOD, "sku": "NOPE-1"}), 422, "unknown-sku"),
        "unknown location": (erp_client.post(PATH, {**GOOD, "location": "DC-NOWHERE"}), 422, "unknown-location"),
        "unit without conversion": (client.post(PATH, {**GOOD, "unit": "drum"}), 422, "unknown-unit-of-measure"),
        "negative count": (client.post(PATH, {**COUNT, "on_hand": -5}), 422, "negative-on-hand"),
        "snapshot over 1000 lines": (client.post(SNAPSHOTS, BIG_SNAPSHOT), 422, "too-many-lines"),
        "master data from a warehouse": (
            client.request("PUT", "/v1/items/SKU-1", json_body={"sequence": 9}),
            403,
            "out-of-scope",
        ),
        "not JSON": (
            client.request("POST", PATH, raw_body=b"sku=SKU-1", headers={"Content-Type": "text/plain"}),
            415,
            "unsupported-media-type",
        ),
        "oversized": (
            client.request("POST", PATH, raw_body=b'{"pad":"' + b"x" * (1024 * 1024) + b'"}', headers=json_header),
            413,
            "payload-too-large",
        ),
        "unknown route": (client.post("/v1/nothing-here", GOOD), 404, "not-found"),
    }


def test_each_bad_request_gets_its_own_problem_and_nothing_is_published(rt, client, erp_client, captured_events):
    results = refusals(client, erp_client)
    for name, (reply, status, slug) in results.items():
        assert reply.status == status, (name, reply.status, reply.body[:300])
        assert reply.header("Content-Type").startswith(PROBLEM), name
        problem = reply.json()
        assert problem["type"] == f"urn:distrosync:problem:{slug}", (name, problem)
        assert problem["status"] == status and problem["title"] and problem["detail"], name

    assert captured_events() == [], "a refused request reached EventBridge"
    report = rt.drain()
    assert report.invocations.get("projector", 0) == 0
    ingress = emf_totals(rt.logs("ingress"))
    assert ingress["Accepted"] == 0
    assert ingress["Rejected/stale-timestamp"] == 2 and ingress["Rejected/invalid-signature"] == 2


def test_validation_errors_name_the_fields(client):
    reply = client.post(PATH, {**GOOD, "delta": "lots", "sequence": -1, "reason": "misc"})
    pointers = {e["pointer"] for e in reply.json()["errors"]}
    assert {"/delta", "/sequence", "/reason"} <= pointers


@pytest.mark.parametrize("header", ["X-Distrosync-Timestamp", "X-Distrosync-Signature"])
def test_a_missing_signature_header_is_named(client, header):
    reply = client.post(PATH, GOOD, headers={header: ""})
    assert reply.status == 401 and header in reply.json()["detail"]


def test_rotation_retires_the_old_credentials_at_once(rt, client, warehouse):
    from shared.services.partner_admin import PartnerAdmin, StackResources

    new = PartnerAdmin(StackResources.from_outputs(rt.outputs)).rotate("wh-east")
    old_reply = client.post(PATH, GOOD)
    assert old_reply.status == 401 and old_reply.json()["type"].endswith(":invalid-api-key")
    fresh = PartnerClient(client.transport, new.api_key, new.signing_secret)
    assert fresh.post(PATH, GOOD).status == 202
    stale_secret = PartnerClient(client.transport, new.api_key, warehouse.signing_secret)
    assert stale_secret.post(PATH, {**GOOD, "sequence": 2}).status == 401
