"""`distrosync demo`: inventory visibility end to end, on the embedded AWS.

The ERP masters an item and a location; a warehouse counts and moves stock (with a retry and a late, stale
count); the ERP confirms a PO line and a ship notice; bad requests get their own problem types; EventBridge
routes everything to the projector's queue; a Shopify channel holds stock for a cart and an order asks for
more than is left; the corpus Shopify webhook arrives as it is; and the partner reads every bucket, the
time-phased ATP (today, when the ship notice lands, when the PO lands) and the channel's sellable figure.
Everything runs from the synthesized template.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cli.client import PartnerClient, Reply
from cli.corpus import SHOPIFY_INVENTORY_LEVEL, corpus_body, corpus_headers
from cli.local_session import emf_totals, partner_client, register_partner, start_runtime

SKU, LOCATION, OTHER_LOCATION = "CHAIR-1", "DC-EAST", "DC-WEST"
CHANNEL = "shopify-main"
SHOPIFY_SECRET = "shpss_demo_0123456789abcdef0123456789ab"  # the Shopify app's client secret (demo value)
SHOPIFY_ITEM_ID = "271878346596884015"  # the exact id; the corpus's JSON number is rounded
SHOPIFY_LOCATION_ID = "65616216276"
ADJUST = "/v1/inventory/adjustments"


def _outcome(reply: Reply) -> str:
    body = reply.json() or {}
    if reply.status < 300:
        if reply.header("Idempotent-Replayed") == "true":
            return "replayed, nothing new published"
        if "event_id" in body:
            return f"accepted, event {str(body['event_id'])[:8]}"
        return str(body.get("status", "ok"))
    problem = str(body.get("type", body.get("message", ""))).removeprefix("urn:distrosync:problem:")
    return f"{problem}: {body.get('detail', '')}"[:110]


def _line(when: str, what: str, reply: Reply) -> Reply:
    print(f"  {when:>8}  {what:<60} -> {reply.status} {_outcome(reply)}")
    return reply


def _master_data(erp: PartnerClient) -> None:
    _line(
        "",
        f"PUT /v1/locations/{LOCATION} (GLN 0614141000012)",
        erp.request(
            "PUT", f"/v1/locations/{LOCATION}", json_body={"name": "East DC", "gln": "0614141000012", "sequence": 1}
        ),
    )
    item = {
        "description": "Stacking chair, oak",
        "gtin": "00614141000029",
        "units": {"each": 1, "case": 4, "pallet": 96},
        "safety_stock": 5,
        "cross_references": [{"system": CHANNEL, "id": SHOPIFY_ITEM_ID}],
        "sequence": 1,
    }
    _line(
        "",
        f"PUT /v1/items/{SKU} (case=4, pallet=96, safety stock 5)",
        erp.request("PUT", f"/v1/items/{SKU}", json_body=item),
    )


def _warehouse(wms: PartnerClient, base: datetime) -> None:
    t = [base + timedelta(minutes=m) for m in (0, 5, 7, 9, 11)]
    hhmm = [x.strftime("%H:%M:%S") for x in t]
    snapshot = {
        "location": LOCATION,
        "snapshot_id": "CC-1",
        "sequence": 1,
        "taken_at": t[0].isoformat(),
        "lines": [{"sku": SKU, "on_hand": 120, "unavailable": {"damaged": 4}}],
    }
    _line(hhmm[0], "snapshot: on hand 120, of which 4 damaged (seq 1)", wms.post("/v1/inventory/snapshots", snapshot))
    pick = {"sku": SKU, "location": LOCATION, "delta": -3, "reason": "pick", "sequence": 2}
    pick |= {"occurred_at": t[1].isoformat(), "reference": "PICK-77"}
    _line(
        hhmm[1],
        "pick of 3 (seq 2, Idempotency-Key pick-77)",
        wms.post(ADJUST, pick, headers={"Idempotency-Key": "pick-77"}),
    )
    _line(
        hhmm[1],
        "the WMS retries the same pick (timeout on its side)",
        wms.post(ADJUST, pick, headers={"Idempotency-Key": "pick-77"}),
    )
    late = {"sku": SKU, "location": LOCATION, "on_hand": 118, "reason": "cycle_count", "sequence": 0}
    late |= {"occurred_at": (t[0] - timedelta(hours=1)).isoformat(), "message_id": "cc-0"}
    _line(hhmm[2], "a delayed older count arrives late (seq 0, an hour older)", wms.post(ADJUST, late))
    qc = {
        "sku": SKU,
        "location": LOCATION,
        "status_change": {"from_status": "available", "to_status": "quality_control", "quantity": 2},
    }
    qc |= {"sequence": 3, "occurred_at": t[3].isoformat()}
    _line(hhmm[3], "2 moved to quality control (seq 3)", wms.post(ADJUST, qc))
    receipt = {"sku": SKU, "location": LOCATION, "quantity": 6, "unit": "case", "sequence": 4}
    receipt |= {"occurred_at": t[4].isoformat(), "incoming_reference": "ASN-9/1", "document": "GRN-5"}
    _line(
        hhmm[4],
        "receipt of 6 cases = 24 against ship notice ASN-9/1 (seq 4)",
        wms.post("/v1/inventory/receipts", receipt),
    )


def _incoming(erp: PartnerClient, today: date, base: datetime) -> None:
    po = {
        "kind": "on_order",
        "document": "PO-1001",
        "sequence": 1,
        "occurred_at": base.isoformat(),
        "expected_date": (today + timedelta(days=7)).isoformat(),
        "lines": [{"line": "1", "sku": SKU, "location": LOCATION, "quantity": 2, "unit": "pallet"}],
    }
    _line(
        "",
        f"PO-1001/1 confirmed: 2 pallets = 192, promised {po['expected_date']}",
        erp.post("/v1/inventory/incoming", po),
    )
    asn = {
        "kind": "in_transit",
        "document": "ASN-9",
        "sequence": 1,
        "occurred_at": base.isoformat(),
        "expected_date": (today + timedelta(days=3)).isoformat(),
        "lines": [{"line": "1", "sku": SKU, "location": LOCATION, "quantity": 48}],
    }
    _line("", f"ASN-9/1 shipped: 48 in transit, ETA {asn['expected_date']}", erp.post("/v1/inventory/incoming", asn))


def _refusals(wms: PartnerClient, erp: PartnerClient, base: datetime) -> None:
    good = {"sku": SKU, "location": LOCATION, "delta": 1, "reason": "correction", "sequence": 9}
    good |= {"occurred_at": base.isoformat()}
    unsigned = PartnerClient(wms.transport, wms.api_key, None)
    keyless = PartnerClient(wms.transport, None, wms.signing_secret)
    _line("", "no API key", keyless.post(ADJUST, good))
    _line("", "not signed", unsigned.post(ADJUST, good))
    _line("", "signed 10 minutes ago (replay window is 5)", wms.post(ADJUST, good, timestamp=int(time.time()) - 600))
    _line(
        "", f"for {OTHER_LOCATION}, outside the partner's scope", wms.post(ADJUST, {**good, "location": OTHER_LOCATION})
    )
    _line("", "an unknown SKU", wms.post(ADJUST, {**good, "sku": "NO-SUCH-SKU"}))
    _line("", "an unknown location", erp.post(ADJUST, {**good, "location": "DC-NOWHERE"}))
    _line("", "a unit the item has no conversion for (box)", wms.post(ADJUST, {**good, "unit": "box"}))
    negative = {"location": LOCATION, "snapshot_id": "CC-X", "sequence": 8, "taken_at": base.isoformat()}
    negative["lines"] = [{"sku": SKU, "on_hand": -5}]
    _line("", "a snapshot with a negative count", wms.post("/v1/inventory/snapshots", negative))
    lines = [{"sku": SKU, "location": LOCATION, "quantity": 1}] * 501
    _line(
        "",
        "a reservation of 501 lines (limit 500)",
        erp.post("/v1/reservations", {"reference": "BIG", "kind": "order", "lines": lines}),
    )


def _shopify_webhook(rt: Any) -> Reply:
    """The corpus delivery's body, byte for byte, signed with the channel's secret (its own HMAC was made with a
    secret nobody has)."""
    body = corpus_body(SHOPIFY_INVENTORY_LEVEL)
    headers = corpus_headers(SHOPIFY_INVENTORY_LEVEL)
    headers["x-shopify-hmac-sha256"] = base64.b64encode(
        hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()
    ).decode()
    return rt.api.request("POST", f"/v1/channels/{CHANNEL}/webhooks", headers=headers, body=body)


def _register_channel(rt: Any) -> PartnerClient:
    from shared.canonical.partner import ChannelSettings
    from shared.services.partner_admin import PartnerAdmin, StackResources

    settings = ChannelSettings(
        platform="shopify", locations=[LOCATION], buffer=2, location_map={SHOPIFY_LOCATION_ID: LOCATION}
    )
    creds = PartnerAdmin(StackResources.from_outputs(rt.outputs)).add_channel(
        CHANNEL, settings, webhook_secret=SHOPIFY_SECRET
    )
    return partner_client(rt, creds.credentials)


def run_demo(env_name: str = "dev") -> int:
    print("distrosync demo: inventory visibility on an embedded AWS (moto); no account, no Docker\n")
    print("[1/8] The stack, from the CDK app")
    started = time.perf_counter()
    rt = start_runtime(env_name)
    try:
        print(f"  created from the synthesized template in {time.perf_counter() - started:.1f}s")
        print("  " + rt.describe().replace("\n", "\n  "))

        print("\n[2/8] Partners: the ERP, the east warehouse's WMS, a Shopify store")
        erp = partner_client(rt, register_partner(rt, "erp", "erp", ["location:*"]))
        wms = partner_client(rt, register_partner(rt, "wh-east", "warehouse", [f"location:{LOCATION}"]))
        shop = _register_channel(rt)
        print(
            f"  erp (scope location:*), wh-east (scope location:{LOCATION}), {CHANNEL} (channel: {LOCATION}, buffer 2)"
        )

        print("\n[3/8] The ERP masters the location and the item (with the Shopify cross-reference)")
        _master_data(erp)
        rt.drain()

        base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=15)
        today = datetime.now(UTC).date()
        print("\n[4/8] What the WMS sends (signed), and the supply the ERP confirms")
        _incoming(erp, today, base)
        _warehouse(wms, base)
        print("  ...and what is refused, each with its own problem type:")
        _refusals(wms, erp, base)

        print("\n[5/8] EventBridge -> SQS -> projector")
        print(f"  {rt.drain()}")
        projector = emf_totals(rt.logs("projector"))
        print(
            f"  projector: applied {projector['Applied']:.0f}, stale {projector['Stale']:.0f}, "
            f"duplicate {projector['Duplicate']:.0f}, failed {projector['Failed']:.0f}"
        )

        print("\n[6/8] Reservations: a cart hold, then an order for more than is left")
        hold = {"reference": "cart-42", "kind": "hold", "channel": CHANNEL, "expires_in_seconds": 900}
        hold["lines"] = [{"sku": SKU, "location": LOCATION, "quantity": 10}]
        _line("", "hold 10 for cart-42 (15 min)", shop.post("/v1/reservations", hold))
        big = {
            "reference": "SO-9001",
            "kind": "order",
            "lines": [{"sku": SKU, "location": LOCATION, "quantity": 2, "unit": "pallet"}],
        }
        reply = _line("", "order SO-9001: 2 pallets = 192", erp.post("/v1/reservations", big))
        for short in (reply.json() or {}).get("lines", []):
            print(
                f"            shortfall {short['sku']}@{short['location']}: requested {short['requested']}, "
                f"available {short['available']}, short {short['shortfall']}"
            )

        print("\n[7/8] The Shopify store's inventory_levels/update (corpus body as it is, no API key)")
        _line("", "inventory_levels/update, available: null", _shopify_webhook(rt))
        rt.drain()

        print("\n[8/8] What the partners read back")
        view = erp.get(f"/v1/inventory/{SKU}").json()
        position = view["positions"][0]
        print(
            f"  GET /v1/inventory/{SKU}: on_hand {position['on_hand']}, committed {position['committed']}, "
            f"reserved {position['reserved']}, unavailable {position['unavailable_total']} "
            f"({', '.join(f'{k} {v}' for k, v in position['unavailable'].items() if v)}), "
            f"available {position['available']}; on order {position['on_order']}, in transit {position['in_transit']}"
        )
        dates = [today, today + timedelta(days=3), today + timedelta(days=7)]
        atp = {}
        for day in dates:
            answer = erp.get(f"/v1/inventory/{SKU}/atp", {"location": LOCATION, "date": day.isoformat()}).json()
            atp[day] = answer["atp"]
            print(f"  ATP {SKU}@{LOCATION} on {day}: {answer['atp']}")
        availability = shop.get(f"/v1/availability/{SKU}", {"channel": CHANNEL}).json()
        channel = availability["channels"][0]
        reported = channel.get("reported") or []
        said = ", ".join(f"{'untracked' if r['quantity'] is None else r['quantity']}" for r in reported) or "nothing"
        print(f"  GET /v1/availability/{SKU}?channel={CHANNEL}: sellable {channel['sellable']}; Shopify says {said}")
        events = emf_totals(rt.logs("projector"))
        print(
            f"  projector published {events['Published']:.0f} events "
            "(availability.changed, discrepancies, snapshot outcomes)"
        )
        print(f"  queues: {', '.join(f'{q.name} {q.depth}' for q in rt.queues())}")

        expected_on_hand = 120 - 3 + 24  # counted, picked once, received; the late older count was stale
        ok = (
            position["on_hand"] == expected_on_hand
            and atp[dates[0]] < atp[dates[1]] < atp[dates[2]]
            and atp[dates[2]] - atp[dates[1]] == 192
            and channel.get("agrees") is False
        )
        print(
            "\ndemo "
            + (
                f"completed: on hand {expected_on_hand}, ATP rises with confirmed supply "
                f"({' -> '.join(str(atp[d]) for d in dates)}), and Shopify's untracked item is flagged"
                if ok
                else "FAILED"
            )
        )
        return 0 if ok else 1
    finally:
        rt.stop()
