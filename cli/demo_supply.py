"""`distrosync demo` part 2: supplier collaboration end to end, on the embedded AWS.

Three systems describe one supplier (the ERP, accounts payable, the quality system) and become one golden
record; the ERP sends a purchase order; customers order against stock and against that PO; then the supplier,
in its portal, confirms only part of a line and later than asked, and lengthens a lead time. The ERP
(a local ERPNext simulator, briefly unavailable) receives the update once, the warehouse its new inbound
expectation, planning the risk, ATP its shifted incoming supply, and two customer orders get new promise dates
and show in the exceptions list.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cli.client import PartnerClient
from cli.demo_output import say
from cli.local_session import emf_totals, partner_client, register_partner, start_runtime
from cli.trace import story

LOCATION = "DC-EAST"
CHAIR, DESK = "CHAIR-1", "DESK-2"
PO, ERP_PO = "PO-4500", "PUR-ORD-2026-00017"
ERP_SUPPLIER = "Nordic Furniture Supply AB"
TAX_ID = "SE556677889901"
ADDRESS = {"line1": "Sveavägen 12", "city": "Stockholm", "postal_code": "111 57", "country": "SE"}


def _systems(rt: Any, erp_sim: Any, wms_hook: Any, planning_hook: Any) -> dict[str, PartnerClient]:
    """The ERP (ERPNext adapter), the warehouse and planning (signed webhooks), AP and quality (inbound only)."""
    from shared.services.system_admin import SystemAdmin

    admin = SystemAdmin.from_outputs(rt.outputs)
    erp = admin.add(
        "erp",
        "erp",
        "erpnext",
        subscriptions=["purchase_order.acknowledged", "supplier.created", "supplier.updated", "supplier.merged"],
        url=erp_sim.url,
        api_key=erp_sim.api_key,
        api_secret=erp_sim.api_secret,
        scopes=["location:*"],
    )
    wms = admin.add(
        "wh-east",
        "warehouse",
        "webhook",
        subscriptions=["inbound.expectation_changed"],
        url=wms_hook.url,
        scopes=[f"location:{LOCATION}"],
    )
    wms_hook.secret = wms.webhook_signing_secret
    planning = admin.add(
        "planning",
        "planning",
        "webhook",
        subscriptions=["replenishment.risk_changed", "supplier.lead_time_updated"],
        url=planning_hook.url,
    )
    planning_hook.secret = planning.webhook_signing_secret
    clients = {
        name: partner_client(rt, registration.credentials)
        for name, registration in (("erp", erp), ("wms", wms))
        if registration.credentials is not None
    }
    clients["ap"] = partner_client(rt, register_partner(rt, "ap", "finance", []))
    clients["quality"] = partner_client(rt, register_partner(rt, "qms", "quality", []))
    clients["shop"] = partner_client(rt, register_partner(rt, "webshop", "erp", [f"location:{LOCATION}"]))
    print("  erp: ERPNext adapter -> acknowledgments and supplier changes")
    print("  wh-east: signed webhook -> inbound expectations; planning: signed webhook -> risk and lead times")
    print("  ap (finance) and qms (quality) send supplier records; webshop places customer orders")
    return clients


def _master_data(erp: PartnerClient) -> None:
    erp.request("PUT", f"/v1/locations/{LOCATION}", json_body={"name": "East DC", "sequence": 1})
    for sku, units in ((CHAIR, {"each": 1, "case": 4}), (DESK, {"each": 1})):
        erp.request("PUT", f"/v1/items/{sku}", json_body={"units": units, "safety_stock": 0, "sequence": 1})
    print(f"  items {CHAIR} (case = 4) and {DESK}; location {LOCATION}")


def _supplier_master(c: dict[str, PartnerClient]) -> str:
    erp_record = {
        "local_id": ERP_SUPPLIER,
        "sequence": 1,
        "legal_name": "Nordic Furniture Supply AB",
        "tax_id": TAX_ID,
        "address": ADDRESS,
        "payment_terms": "NET30",
        "default_lead_time_days": 10,
    }
    reply = say("ERP: vendor 'Nordic Furniture Supply AB'", c["erp"].post("/v1/supplier-records", erp_record))
    supplier_id = reply.json()["supplier_id"]
    ap_record = {
        "local_id": "AP-20931",
        "sequence": 7,
        "legal_name": "NORDIC FURNITURE SUPPLY A.B.",
        "tax_id": "SE 5566778899 01",
        "address": ADDRESS,
        "payment_terms": "NET45",
        "bank_account": {"iban": "SE4550000000058398257466", "bic": "ESSESESS", "holder": "Nordic Furniture"},
    }
    say("AP: same tax id, spelled differently, with bank and terms", c["ap"].post("/v1/supplier-records", ap_record))
    quality_record = {
        "local_id": "Q-77",
        "sequence": 3,
        "legal_name": "Nordic Furnitur Supply",
        "address": ADDRESS,
        "status": "active",
    }
    say(
        "quality: a typo, no tax id, same postal code",
        c["quality"].post("/v1/supplier-records", quality_record),
        "",
    )
    golden = c["erp"].get(f"/v1/suppliers/{supplier_id}").json()
    print(
        f"  golden {supplier_id}: {golden['supplier']['legal_name']!r}, terms {golden['supplier']['payment_terms']} "
        f"(finance wins), bank {golden['supplier']['bank_account_masked']} (stored encrypted), "
        f"{len(golden['sources'])} source records"
    )
    print("  the quality record waits for a steward: `distrosync suppliers review` (never merged automatically)")
    return supplier_id


def _purchase_order(erp: PartnerClient, today: date) -> None:
    body = {
        "revision": 1,
        "supplier": ERP_SUPPLIER,
        "location": LOCATION,
        "erp_reference": ERP_PO,
        "lines": [
            {
                "line": 1,
                "sku": CHAIR,
                "quantity": 50,
                "unit": "case",
                "unit_price": "38.00",
                "requested_date": (today + timedelta(days=7)).isoformat(),
                "need_date": (today + timedelta(days=8)).isoformat(),
            }
        ],
    }
    say(
        f"ERP: {PO} ({ERP_PO}): 50 cases = 200 {CHAIR} by +7 days",
        erp.request("PUT", f"/v1/purchase-orders/{PO}", json_body=body),
    )


def _orders(shop: PartnerClient, today: date) -> None:
    placed = datetime.now(UTC) - timedelta(hours=2)
    orders = [
        ("SO-1001", CHAIR, 10, 2),
        ("SO-1002", CHAIR, 50, 8),
        ("SO-1003", CHAIR, 40, 9),
        ("SO-1004", DESK, 5, 30),
    ]
    for n, (order_id, sku, quantity, requested) in enumerate(orders):
        body = {
            "order_id": order_id,
            "placed_at": (placed + timedelta(minutes=n)).isoformat(),
            "lines": [
                {
                    "line": 1,
                    "sku": sku,
                    "location": LOCATION,
                    "quantity": quantity,
                    "requested_date": (today + timedelta(days=requested)).isoformat(),
                }
            ],
        }
        say(
            f"order {order_id}: {quantity} {sku}, wanted by +{requested} days", shop.post("/v1/orders", body), "created"
        )


def _promises(client: PartnerClient, today: date) -> dict[str, tuple[str | None, bool | None]]:
    seen = {}
    for order_id in ("SO-1001", "SO-1002", "SO-1003", "SO-1004"):
        (line,) = client.get(f"/v1/orders/{order_id}").json()["lines"]
        promise = line["promise_date"]
        offset = f"+{(date.fromisoformat(promise) - today).days}d" if promise else "none"
        flag = "AT RISK" if line["at_risk"] else "on time"
        print(
            f"  {order_id}: {line['quantity']} {line['sku']} promised {offset} ({flag}) "
            f"from {', '.join(line['depends_on'])}"
        )
        seen[order_id] = (promise, line["at_risk"])
    return seen


def _atp(client: PartnerClient, today: date, days: int) -> int:
    answer = client.get(
        f"/v1/inventory/{CHAIR}/atp", {"location": LOCATION, "date": (today + timedelta(days=days)).isoformat()}
    )
    return int(answer.json()["atp"])


def run_supply_demo(env_name: str = "dev") -> int:
    from local.simulators.erpnext import ErpNextSimulator
    from local.simulators.webhook_receiver import WebhookReceiver

    print("distrosync demo, part 2: supplier collaboration on an embedded AWS (moto) and a simulated ERPNext\n")
    print("[1/7] The stack, the ERP (ERPNext simulator) and the webhook receivers of the WMS and planning")
    started = time.perf_counter()
    rt = start_runtime(env_name, quiet=True)
    erp_sim, wms_hook, planning_hook = ErpNextSimulator(), WebhookReceiver(), WebhookReceiver()
    for server in (erp_sim, wms_hook, planning_hook):
        server.start()
    try:
        print(
            f"  stack created from the synthesized template in {time.perf_counter() - started:.1f}s; "
            f"ERPNext at {erp_sim.url}"
        )
        today = datetime.now(UTC).date()
        erp_sim.add_supplier(ERP_SUPPLIER, tax_id=TAX_ID, payment_terms="NET30")
        for terms in ("NET30", "NET45"):
            erp_sim.add_payment_terms_template(terms)
        erp_sim.add_purchase_order(
            ERP_PO,
            ERP_SUPPLIER,
            [
                {
                    "item_code": CHAIR,
                    "qty": 50,
                    "uom": "Box",
                    "conversion_factor": 4,
                    "rate": 38.0,
                    "schedule_date": (today + timedelta(days=7)).isoformat(),
                }
            ],
        )

        print("\n[2/7] Systems and partners")
        c = _systems(rt, erp_sim, wms_hook, planning_hook)
        _master_data(c["erp"])

        print("\n[3/7] The supplier master: three systems, one golden supplier")
        supplier_id = _supplier_master(c)
        portal = partner_client(rt, register_partner(rt, "nordic-portal", "supplier", [f"supplier:{supplier_id}"]))
        other = partner_client(rt, register_partner(rt, "other-portal", "supplier", ["supplier:SUP-00000000OTHER0"]))
        say(
            f"supplier portal: lead time {DESK} 10 days",
            portal.request(
                "PUT",
                f"/v1/suppliers/{supplier_id}/items/{DESK}/lead-time",
                json_body={"lead_time_days": 10, "sequence": 1},
            ),
        )

        print("\n[4/7] Stock, the purchase order, and customer orders")
        count = {"sku": CHAIR, "location": LOCATION, "on_hand": 20, "reason": "cycle_count", "sequence": 1}
        count["occurred_at"] = datetime.now(UTC).isoformat()
        say(f"WMS: {CHAIR} counted 20", c["wms"].post("/v1/inventory/adjustments", count), "accepted")
        _purchase_order(c["erp"], today)
        rt.drain()
        _orders(c["shop"], today)
        rt.drain()
        before = _promises(c["erp"], today)
        atp_before = (_atp(c["erp"], today, 7), _atp(c["erp"], today, 12))

        print("\n[5/7] In its portal, the supplier confirms 30 of 50 cases for +12 days and lengthens a lead time")
        ack = {
            "acknowledgment_id": "NF-ACK-881",
            "issued_at": datetime.now(UTC).isoformat(),
            "lines": [
                {
                    "line": 1,
                    "status": "changed",
                    "quantity": 30,
                    "unit": "case",
                    "promised_date": (today + timedelta(days=12)).isoformat(),
                }
            ],
        }
        path = f"/v1/purchase-orders/{PO}/acknowledgments"
        say("acknowledgment NF-ACK-881: line 1 changed, 120 by +12 days", portal.post(path, ack))
        say("the portal sends it again (a retry)", portal.post(path, ack))
        older = {
            **ack,
            "acknowledgment_id": "NF-ACK-880",
            "issued_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
        }
        say("an older acknowledgment arrives late", portal.post(path, older))
        say("another supplier acknowledges this PO", other.post(path, ack))
        say(
            f"lead time {DESK}: 10 -> 21 days",
            portal.request(
                "PUT",
                f"/v1/suppliers/{supplier_id}/items/{DESK}/lead-time",
                json_body={"lead_time_days": 21, "sequence": 2},
            ),
        )
        erp_sim.fail_next(2, status=503)
        print("  (the ERP answers 503 twice: the adapter backs off and retries)")

        print("\n[6/7] EventBridge -> SQS -> projector, promiser, outbound")
        print(f"  {rt.drain()}")
        outbound = emf_totals(rt.logs("outbound"))
        print(
            f"  outbound: delivered {outbound['Delivered']:.0f}, "
            f"retried calls {outbound['SystemCallRetries']:.0f}, rejected {outbound['DeliveryRejected']:.0f}"
        )

        print("\n[7/7] What every system now knows")
        erp_po = erp_sim.doc("Purchase Order", ERP_PO) or {}
        item = (erp_po.get("items") or [{}])[0]
        updates = erp_sim.calls_to("POST", "update_child_qty_rate")
        print(
            f"  ERPNext {ERP_PO}: qty {item.get('qty')} {item.get('uom')}, schedule_date {item.get('schedule_date')}, "
            f"order_confirmation_no {erp_po.get('order_confirmation_no')} "
            f"({len([u for u in updates if u.status == 200])} successful update)"
        )
        expectations = wms_hook.events("inbound.expectation_changed")
        last = expectations[-1]["data"]["lines"][0] if expectations else {}
        print(
            f"  WMS expects {last.get('quantity')} {CHAIR} on {last.get('expected_date')} "
            f"({len(expectations)} signed webhooks)"
        )
        risks = planning_hook.events("replenishment.risk_changed")
        for risk in risks:
            d = risk["data"]
            print(
                f"  planning: {d['po_number']}/{d['line']} at risk: {', '.join(d['reasons'])} "
                f"({d['days_late']} days late, short {d['shortfall']})"
            )
        print(f"  planning: {len(planning_hook.events('supplier.lead_time_updated'))} lead-time updates")
        atp_after = (_atp(c["erp"], today, 7), _atp(c["erp"], today, 12))
        print(
            f"  ATP {CHAIR}@{LOCATION}: at +7 days {atp_before[0]} -> {atp_after[0]}; "
            f"at +12 days {atp_before[1]} -> {atp_after[1]}"
        )
        after = _promises(c["erp"], today)
        listed = c["erp"].get("/v1/exceptions", {"kind": "promise_at_risk"}).json()["items"]
        print("  GET /v1/exceptions?kind=promise_at_risk:")
        for x in listed:
            print(
                f"    {x['order_id']}/{x['line']} {x['quantity']} {x['sku']}: wanted {x['requested_date']}, "
                f"promised {x['previous_promise_date']} -> {x['promise_date']} ({x['days_late']} days late)"
            )

        at_risk = sorted(order_id for order_id, (_, risk) in after.items() if risk)
        moved = sorted(o for o in after if after[o][0] != before[o][0])
        print(f"\n  distrosync trace po:{PO} (the journal, adapter calls and dead letters, in time order):")
        po_story = story(rt.outputs, f"po:{PO}")
        for text in po_story:
            print(f"    {text}")
        told = " ".join(po_story)
        ok = (
            "purchase_order.created" in told
            and told.index("purchase_order.created") < told.index("purchase_order.acknowledged")
            and item.get("qty") == 30
            and erp_po.get("order_confirmation_no") == "NF-ACK-881"
            and len([u for u in updates if u.status == 200]) == 1
            and last.get("quantity") == 120
            and atp_after[0] < atp_before[0]
            and at_risk == ["SO-1002", "SO-1003"]
            and sorted(x["order_id"] for x in listed) == at_risk
            and "SO-1004" in moved
        )
        print(
            "\ndemo part 2 "
            + (
                "completed: the ERP got the confirmation once despite its outage, the WMS its new expectation, "
                f"ATP shifted, {len(at_risk)} orders are at risk with new dates and listed for customer service"
                if ok
                else "FAILED"
            )
        )
        return 0 if ok else 1
    finally:
        for server in (erp_sim, wms_hook, planning_hook):
            server.stop()
        rt.stop()
