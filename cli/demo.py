"""`distrosync demo`: the inventory-adjustment flow, end to end, on the embedded AWS.

A warehouse partner is registered, its WMS sends a count, a pick, a retry, a late stale count and a receipt;
bad requests are refused at the gate; EventBridge routes the accepted events to the projector's queue; the
projector updates the position; the partner reads it back. Everything runs from the synthesized template.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from cli.client import PartnerClient, Reply
from cli.local_session import emf_totals, partner_client, register_partner, start_runtime

SKU, LOCATION, OTHER_LOCATION = "SKU-1", "DC-EAST", "DC-WEST"
PATH = "/v1/inventory/adjustments"


def _line(when: str, what: str, reply: Reply) -> None:
    body = reply.json() or {}
    if reply.status < 300:
        replayed = reply.header("Idempotent-Replayed") == "true"
        outcome = "replayed, nothing new published" if replayed else f"accepted, event {body.get('event_id', '')[:8]}"
    else:
        outcome = str(body.get("type", body.get("message", ""))).removeprefix("urn:distrosync:problem:")
    print(f"  {when:>8}  {what:<58} -> {reply.status} {outcome}")


def _adjustment(seq: int, at: datetime, **change: Any) -> dict[str, Any]:
    return {"sku": SKU, "location": LOCATION, "sequence": seq, "occurred_at": at.isoformat(), **change}


def _timeline(client: PartnerClient, base: datetime) -> None:
    t = [base + timedelta(minutes=m) for m in (0, 5, 7, 9)]
    hhmm = [x.strftime("%H:%M:%S") for x in t]
    _line(
        hhmm[0],
        "cycle count: on_hand 120 (seq 1)",
        client.post(PATH, _adjustment(1, t[0], on_hand=120, reason="cycle_count", message_id="cc-1")),
    )
    pick = _adjustment(2, t[1], delta=-3, reason="pick", reference="PICK-77")
    _line(
        hhmm[1],
        "pick of 3 (seq 2, Idempotency-Key pick-77)",
        client.post(PATH, pick, headers={"Idempotency-Key": "pick-77"}),
    )
    _line(
        hhmm[1],
        "the WMS retries the same pick (timeout on its side)",
        client.post(PATH, pick, headers={"Idempotency-Key": "pick-77"}),
    )
    _line(
        hhmm[2],
        "a delayed copy of an older count (seq 1, resent as cc-1b)",
        client.post(PATH, _adjustment(1, t[0], on_hand=118, reason="cycle_count", message_id="cc-1b")),
    )
    _line(hhmm[3], "receipt of 24 (seq 3)", client.post(PATH, _adjustment(3, t[3], delta=24, reason="receipt")))


def _refusals(client: PartnerClient, base: datetime) -> None:
    good = _adjustment(9, base, delta=1, reason="correction")
    unsigned = PartnerClient(client.transport, client.api_key, None)
    wrong = PartnerClient(client.transport, client.api_key, "not-the-secret")
    keyless = PartnerClient(client.transport, None, client.signing_secret)
    _line("", "no API key", keyless.post(PATH, good))
    _line("", "not signed", unsigned.post(PATH, good))
    _line("", "signed with the wrong secret", wrong.post(PATH, good))
    _line("", "signed 10 minutes ago (replay window is 5)", client.post(PATH, good, timestamp=int(time.time()) - 600))
    _line(
        "",
        f"for {OTHER_LOCATION}, outside the partner's scope",
        client.post(PATH, {**good, "location": OTHER_LOCATION}),
    )
    _line("", "both delta and on_hand, no reason", client.post(PATH, {**good, "on_hand": 5, "reason": None}))
    _line(
        "",
        "not JSON (text/plain)",
        client.request("POST", PATH, raw_body=b"sku=SKU-1", headers={"Content-Type": "text/plain"}),
    )
    _line(
        "",
        "a 2 MB body (limit 1 MB)",
        client.request(
            "POST", PATH, raw_body=b'{"x":"' + b"y" * 2_000_000 + b'"}', headers={"Content-Type": "application/json"}
        ),
    )


def run_demo(env_name: str = "dev") -> int:
    print("distrosync demo: the inventory-adjustment flow on an embedded AWS (moto); no account, no Docker\n")
    print("[1/5] The stack, from the CDK app")
    started = time.perf_counter()
    rt = start_runtime(env_name)
    try:
        summary = rt.describe() if hasattr(rt, "describe") else ""
        print(f"  created from the synthesized template in {time.perf_counter() - started:.1f}s")
        if summary:
            print("  " + summary.replace("\n", "\n  "))

        print("\n[2/5] A warehouse partner")
        creds = register_partner(rt, "wh-east", "warehouse", [f"location:{LOCATION}"])
        print(
            f"  registered wh-east (warehouse, scope location:{LOCATION}, tier standard);"
            f" API key {creds.api_key[:4]}…, signing secret shown once"
        )
        client = partner_client(rt, creds)

        base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=15)
        print("\n[3/5] What the warehouse's WMS sends (POST /v1/inventory/adjustments, signed)")
        _timeline(client, base)
        print("  ...and what the gate refuses before anything reaches EventBridge:")
        _refusals(client, base)

        print("\n[4/5] EventBridge -> SQS -> projector (partial batch failures, DLQ after maxReceiveCount)")
        report = rt.drain()
        projector = emf_totals(rt.logs("projector"))
        print(f"  {report}")
        print(
            f"  projector: applied {projector['Applied']:.0f}, stale {projector['Stale']:.0f}, "
            f"duplicate {projector['Duplicate']:.0f}, failed {projector['Failed']:.0f}"
        )

        print(f"\n[5/5] The partner reads the position (GET /v1/inventory/{SKU}?location={LOCATION})")
        reply = client.get(f"/v1/inventory/{SKU}", {"location": LOCATION})
        position = reply.json()["positions"][0]
        print(
            f"  {reply.status}: on_hand {position['on_hand']}, available {position['available']}, "
            f"as_of {position['as_of']}, version {position['version']}"
        )

        ingress = emf_totals(rt.logs("ingress"))
        print("\nFinal state")
        print(
            f"  {SKU}@{LOCATION}: on_hand {position['on_hand']} (120 counted, -3 picked once, +24 received;"
            " the stale count was dropped)"
        )
        rejected = ", ".join(
            f"{k.split('/', 1)[1]} {v:.0f}" for k, v in sorted(ingress.items()) if k.startswith("Rejected/")
        )
        print(
            f"  ingress metrics (EMF): requests {ingress['Requests']:.0f}, accepted {ingress['Accepted']:.0f}, "
            f"replayed {ingress['Replayed']:.0f}; rejected by cause: {rejected}"
        )
        print("  (the request without an API key was refused by API Gateway itself and never reached the Lambda)")
        print(f"  queues: {', '.join(f'{q.name} {q.depth}' for q in rt.queues())}")
        ok = reply.status == 200 and position["on_hand"] == 141
        print(
            "\ndemo " + ("completed: the adjustment flowed from the partner to the inventory query" if ok else "FAILED")
        )
        return 0 if ok else 1
    finally:
        rt.stop()
