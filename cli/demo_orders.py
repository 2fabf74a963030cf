"""`distrosync demo` part 3: order to ship, on the embedded AWS, through the synthesized state machine.

A Shopify store sends its `orders/create` (the corpus delivery, byte for byte, signed with the channel's secret)
twice; a customer portal places a second order. Each order runs one Standard execution: validate, reserve,
release to the WMS (a signed webhook receiver; the demo then answers as the WMS does, pick complete — twice, the
second is a duplicate), the ERP's status, shipment-ready to the TMS (which dispatches with a carrier and tracking
number), dispatch (reservation committed, invoicing for finance, the portal told), tracking until delivered.
EasyPost's tracker events (the corpus files) report the carriers' scans: the second order's estimate slips past
its promise (shipment.delayed, an SLA breach, the exceptions list). A third order is cancelled while the WMS picks
(compensation: reservation released, the WMS told), and a cancel after dispatch is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cli.client import PartnerClient, Reply
from cli.corpus import ECOMMERCE, corpus_body, corpus_headers
from cli.demo_output import say
from cli.local_session import emf_totals, partner_client, register_partner, start_runtime
from cli.trace import story

LOCATION = "DC-EAST"
CHANNEL = "shopify-main"
SHOPIFY_SECRET = "shpss_demo_orders_0123456789abcdef0123"  # the Shopify app's client secret (demo value)
SHOPIFY_ORDER = ECOMMERCE / "shopify_orders_create_2023-01.hookdeck.json"
SHOPIFY_ORDER_ID = f"{CHANNEL}.820982911946154508"  # the exact id (the body's JSON number says ...500)
JERSEY, LASER = "JERSEY-76", "CAT-LASER"
# The corpus order's line items name these Shopify variants (one has no SKU at all): mapped by cross-reference.
VARIANTS = {JERSEY: "41886814240980", LASER: "43383372185812"}
PORTAL_ORDER, CANCELLED_ORDER = "SO-2001", "SO-2002"
CARRIERS = "/work/shared/corpus/carriers"
EASYPOST_EVENT = "easypost_event_tracker_updated.event-body.json"  # FedEx "1": in transit, estimate 2024-08-05
EASYPOST_TRACKER = "easypost_tracker.trackers-retrieve.json"  # USPS EZ1000000001: pre-transit
# The demo's flow waits: short, by configuration (the definition reads them from the execution input).
DEMO_TIMERS = {
    "pick_heartbeat": 120,
    "pick_timeout": 120,
    "dispatch_timeout": 120,
    "delivery_timeout": 300,
    "backorder_recheck": 1,
    "backorder_rounds": 30,
}


def _result_or_status(body: dict[str, Any]) -> str:
    """The detail of a successful answer: a callback's `result` (accepted, duplicate) or an order's `status`."""
    return str(body.get("result") or body.get("status") or "")


def _say(what: str, reply: Reply, detail: str = "") -> Reply:
    return say(what, reply, detail, success=_result_or_status, width=70, limit=160)


def _wait(rt: Any, what: str, check: Any, timeout: float = 30.0) -> Any:
    """Drain the queues (starter, outbound deliveries) until `check()` is truthy; the state machine runs in the
    background meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rt.drain()
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise TimeoutError(f"the demo waited {timeout:.0f}s for {what}")


def _record(rt: Any, order_id: str) -> Any:
    from shared.aws.fulfillment_store import FulfillmentStore

    return FulfillmentStore(rt.outputs["OrdersTableName"]).get(order_id)


def _waiting_on(rt: Any, order_id: str, step: str) -> Any:
    record = _record(rt, order_id)
    waiting = record.waiting if record is not None else None
    return record if waiting is not None and waiting.step == step and waiting.claimed_at is None else None


def _status(rt: Any, order_id: str, *statuses: str) -> Any:
    record = _record(rt, order_id)
    return record if record is not None and record.status in statuses else None


def _execution(rt: Any, order_id: str) -> dict[str, Any]:
    from shared.domain.order_flow import execution_name

    arn = rt.outputs["OrderFlowStateMachineArn"].replace(":stateMachine:", ":execution:")
    sfn = rt.clients("stepfunctions")
    return dict(sfn.describe_execution(executionArn=f"{arn}:{execution_name(order_id)}"))


def _ended(rt: Any, order_id: str) -> dict[str, Any] | None:
    execution = _execution(rt, order_id)
    return execution if execution["status"] != "RUNNING" else None


def _systems(rt: Any, hooks: dict[str, Any]) -> dict[str, PartnerClient]:
    from shared.services.system_admin import SystemAdmin

    admin = SystemAdmin.from_outputs(rt.outputs)
    plan = {
        # partner, kind, hook, subscriptions, scopes
        "wms": ("wh-east", "warehouse", ["order.released", "order.release_cancelled"], [f"location:{LOCATION}"]),
        "tms": ("tms", "tms", ["shipment.ready"], ["location:*"]),
        "erp": ("erp-orders", "erp", ["order.status_changed"], ["location:*"]),
        "portal": (
            "portal",
            "portal",
            ["order.status_changed", "shipment.dispatched", "shipment.milestone", "shipment.delayed"],
            ["*"],
        ),
        "finance": ("finance", "finance", ["invoice.requested"], ["*"]),
    }
    clients: dict[str, PartnerClient] = {}
    for name, (partner_id, kind, subscriptions, scopes) in plan.items():
        registration = admin.add(
            partner_id, kind, "webhook", subscriptions=subscriptions, url=hooks[name].url, scopes=scopes
        )
        hooks[name].secret = registration.webhook_signing_secret
        if registration.credentials is not None:
            clients[name] = partner_client(rt, registration.credentials)
        print(f"  {partner_id:<11} ({kind}): signed webhooks <- {', '.join(subscriptions)}")
    return clients


def _channel_and_carriers(rt: Any) -> tuple[PartnerClient, PartnerClient, str]:
    from shared.canonical.partner import ChannelSettings
    from shared.services.carrier_admin import add_carrier
    from shared.services.partner_admin import PartnerAdmin, StackResources

    admin = PartnerAdmin(StackResources.from_outputs(rt.outputs))
    settings = ChannelSettings(platform="shopify", locations=[LOCATION], default_location=LOCATION)
    shop = admin.add_channel(CHANNEL, settings, webhook_secret=SHOPIFY_SECRET)
    easypost = add_carrier(admin, "easypost", "easypost")
    usps = add_carrier(admin, "usps", "canonical", scopes=["location:*"])
    print(f"  {CHANNEL} (Shopify, ships from {LOCATION}); easypost (EasyPost webhooks); usps (canonical events)")
    return partner_client(rt, shop.credentials), partner_client(rt, usps.credentials), easypost.webhook_secret or ""


def _master_data(erp: PartnerClient) -> None:
    _say(
        f"PUT /v1/locations/{LOCATION}",
        erp.request("PUT", f"/v1/locations/{LOCATION}", json_body={"name": "East DC", "sequence": 1}),
    )
    for sku, variant in VARIANTS.items():
        item = {
            "units": {"each": 1, "case": 6},
            "safety_stock": 0,
            "cross_references": [{"system": CHANNEL, "id": variant}],
            "sequence": 1,
        }
        _say(
            f"PUT /v1/items/{sku} (Shopify variant {variant})",
            erp.request("PUT", f"/v1/items/{sku}", json_body=item),
        )


def _shopify(rt: Any) -> Reply:
    """The corpus orders/create body, byte for byte, with its recorded headers (X-Shopify-Webhook-Id...), signed
    with the channel's secret (the recorded signature was made with a secret nobody has)."""
    import base64

    body = corpus_body(SHOPIFY_ORDER)
    headers = corpus_headers(SHOPIFY_ORDER)
    digest = hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()
    headers["x-shopify-hmac-sha256"] = base64.b64encode(digest).decode()
    return rt.api.request("POST", f"/v1/channels/{CHANNEL}/webhooks", headers=headers, body=body)


def _easypost(rt: Any, secret: str, name: str) -> Reply:
    from shared.adapters.easypost import SIGNATURE_HEADER, signature

    body = open(f"{CARRIERS}/{name}", "rb").read()  # noqa: SIM115 - read as it is
    headers = {"content-type": "application/json", SIGNATURE_HEADER: signature(secret, body)}
    return rt.api.request("POST", "/v1/carriers/easypost/tracking", headers=headers, body=body)


def _pick(wms: PartnerClient, order_id: str, picked_at: datetime) -> Reply:
    return wms.post(f"/v1/orders/{order_id}/pick-complete", {"picked_at": picked_at.isoformat()})


def run_orders_demo(env_name: str = "dev") -> int:
    from local.simulators.webhook_receiver import WebhookReceiver

    print("distrosync demo, part 3: order to ship on an embedded AWS (moto), through the synthesized state machine\n")
    print("[1/7] The stack, and the systems the flow talks to (signed-webhook receivers)")
    started = time.perf_counter()
    rt = start_runtime(env_name, quiet=True)
    rt.functions.configure("order_starter", ORDER_FLOW_TIMERS=json.dumps(DEMO_TIMERS))
    hooks = {name: WebhookReceiver() for name in ("wms", "tms", "erp", "portal", "finance")}
    for hook in hooks.values():
        hook.start()
    try:
        machine = rt.outputs["OrderFlowStateMachineArn"].rsplit(":", 1)[1]
        print(f"  stack created in {time.perf_counter() - started:.1f}s; state machine {machine}")
        pick, dispatch = DEMO_TIMERS["pick_timeout"], DEMO_TIMERS["dispatch_timeout"]
        print(f"  waits by configuration (ORDER_FLOW_TIMERS): pick {pick}s, dispatch {dispatch}s")
        clients = _systems(rt, hooks)
        wms, tms = clients["wms"], clients["tms"]
        shop, usps, easypost_secret = _channel_and_carriers(rt)
        erp = partner_client(rt, register_partner(rt, "erp", "erp", ["location:*"]))

        print("\n[2/7] Master data and stock")
        _master_data(erp)
        for sku, on_hand in ((JERSEY, 10), (LASER, 10)):
            count = {"sku": sku, "location": LOCATION, "on_hand": on_hand, "reason": "cycle_count", "sequence": 1}
            count["occurred_at"] = datetime.now(UTC).isoformat()
            _say(f"WMS: {sku} counted {on_hand}", wms.post("/v1/inventory/adjustments", count), "accepted")
        rt.drain()

        print("\n[3/7] Orders arrive: Shopify's orders/create (corpus, twice) and the customer portal's")
        _say("Shopify orders/create (X-Shopify-Webhook-Id 64f9a71e...)", _shopify(rt))
        _say("Shopify retries the same delivery", _shopify(rt))
        placed = datetime(2024, 7, 30, 15, 0, tzinfo=UTC)
        order = {
            "order_id": PORTAL_ORDER,
            "placed_at": placed.isoformat(),
            "customer_ref": "CUST-77",
            "deliver_by": "2024-08-03",
            "ship_to": {"name": "Ada Lovelace", "city": "Orlando", "region": "FL", "country": "US"},
            "lines": [{"line": 1, "sku": LASER, "location": LOCATION, "quantity": 2, "requested_date": "2024-07-31"}],
        }
        _say(f"portal: {PORTAL_ORDER}, 2 x {LASER}, deliver by 2024-08-03", erp.post("/v1/orders", order))
        cancel_me = {**order, "order_id": CANCELLED_ORDER, "customer_ref": "CUST-78", "deliver_by": None}
        cancel_me["lines"] = [{**order["lines"][0], "quantity": 3}]
        _say(f"portal: {CANCELLED_ORDER}, 3 x {LASER}", erp.post("/v1/orders", cancel_me))

        print("\n[4/7] One execution per order: validate, reserve, release to the WMS")
        for order_id in (SHOPIFY_ORDER_ID, PORTAL_ORDER, CANCELLED_ORDER):
            record = _wait(rt, f"{order_id} released", lambda o=order_id: _waiting_on(rt, o, "release"))
            print(f"  {order_id:<33} {record.status:<9} reservation {record.reservation_id}")
        releases = hooks["wms"].events("order.released")
        print(f"  the WMS received {len(releases)} signed order.released (lines, ship-to, callback)")
        _say(f"WMS: pick complete {SHOPIFY_ORDER_ID}", _pick(wms, SHOPIFY_ORDER_ID, datetime.now(UTC)))
        _say("WMS: the same pick complete again", _pick(wms, SHOPIFY_ORDER_ID, datetime.now(UTC)))
        _say("WMS: pick complete for an order nobody placed", _pick(wms, "SO-404", datetime.now(UTC)))
        _say(f"WMS: pick complete {PORTAL_ORDER}", _pick(wms, PORTAL_ORDER, placed + timedelta(hours=20)))

        print("\n[5/7] ERP status, shipment-ready to the TMS, dispatch")
        bookings = {  # None: dispatched now (SO-2001 keeps the EasyPost corpus's 2024 dates)
            SHOPIFY_ORDER_ID: ("USPS", "EZ1000000001", None, date.today() + timedelta(days=3)),
            PORTAL_ORDER: ("FedEx", "1", datetime(2024, 7, 31, 14, 45, tzinfo=UTC), date(2024, 8, 3)),
        }
        for order_id, (carrier, number, when, eta) in bookings.items():
            _wait(rt, f"{order_id} ready to ship", lambda o=order_id: _waiting_on(rt, o, "ship"))
            at = when or datetime.now(UTC)
            body = {"carrier": carrier, "tracking_number": number, "dispatched_at": at.isoformat()}
            body["estimated_delivery"] = eta.isoformat()
            _say(
                f"TMS: {order_id} dispatched, {carrier} {number}, ETA {eta}",
                tms.post(f"/v1/orders/{order_id}/dispatch", body),
            )
        for order_id in bookings:
            _wait(rt, f"{order_id} tracked", lambda o=order_id: _waiting_on(rt, o, "track"))
        print(
            f"  ERP got {len(hooks['erp'].events('order.status_changed'))} status changes; TMS "
            f"{len(hooks['tms'].events('shipment.ready'))} shipment.ready; finance "
            f"{len(hooks['finance'].events('invoice.requested'))} invoice.requested"
        )

        print("\n[6/7] Carriers report; a cancel mid-pick, and one too late")
        _say(
            "EasyPost tracker (corpus): USPS EZ1000000001 pre-transit",
            _easypost(rt, easypost_secret, EASYPOST_TRACKER),
        )
        _say(
            "EasyPost tracker.updated (corpus): FedEx 1 in transit, ETA 08-05",
            _easypost(rt, easypost_secret, EASYPOST_EVENT),
        )
        _say("...delivered twice (EasyPost retries)", _easypost(rt, easypost_secret, EASYPOST_EVENT))
        delivered = {
            "carrier": "USPS",
            "tracking_number": "EZ1000000001",
            "status": "delivered",
            "occurred_at": datetime.now(UTC).isoformat(),
            "where": "CHARLESTON SC",
        }
        _say(
            "usps: EZ1000000001 delivered (canonical tracking event)",
            usps.post("/v1/carriers/usps/tracking", delivered),
        )
        _say(
            f"cancel {CANCELLED_ORDER} while the WMS picks",
            erp.post(f"/v1/orders/{CANCELLED_ORDER}/cancel", {"reason": "customer changed their mind"}),
        )
        _say(
            f"cancel {PORTAL_ORDER} after dispatch",
            erp.post(f"/v1/orders/{PORTAL_ORDER}/cancel", {"reason": "too late"}),
        )
        shopify_end = _wait(rt, "the Shopify order's execution to end", lambda: _ended(rt, SHOPIFY_ORDER_ID))
        cancelled_end = _wait(rt, "the cancelled order's execution to end", lambda: _ended(rt, CANCELLED_ORDER))
        _wait(rt, "outbound deliveries", lambda: hooks["portal"].events("shipment.delayed"))

        print("\n[7/7] What the partners read back")
        view = shop.get(f"/v1/orders/{SHOPIFY_ORDER_ID}").json()
        flow = view["fulfillment"]
        print(f"  GET /v1/orders/{SHOPIFY_ORDER_ID}: {flow['status']}; timeline:")
        for entry in flow["timeline"]:
            print(
                f"    {entry['at'][:19]}  {entry['milestone']:<18} {entry['source']:<22} {entry.get('detail') or ''}"[
                    :140
                ]
            )
        delayed = erp.get("/v1/exceptions", {"kind": "shipment_delayed"}).json()["items"]
        for item in delayed:
            print(
                f"  GET /v1/exceptions?kind=shipment_delayed: {item['order_id']} {item['carrier']} "
                f"{item['tracking_number']}: promised {item['promised_delivery']}, now {item['estimated_delivery']}"
            )
        cancelled = _record(rt, CANCELLED_ORDER)
        wms_cancels = hooks["wms"].events("order.release_cancelled")
        print(
            f"  {CANCELLED_ORDER}: {cancelled.status}, execution {cancelled_end['status']} "
            f"(ended in the compensation path); the WMS got {len(wms_cancels)} order.release_cancelled"
        )
        portal_told = sorted({e["type"] for e in hooks["portal"].events()})
        print(f"  the customer portal was told: {', '.join(portal_told)}")
        steps = emf_totals(rt.logs("order_flow"))
        ingress = emf_totals(rt.logs("ingress"))
        print(
            f"  metrics: SLA breaches {ingress['SlaBreach']:.0f}, order exceptions {steps['OrderException']:.0f}, "
            f"duplicate callbacks {ingress['CallbackDuplicate']:.0f}"
        )
        positions = {sku: erp.get(f"/v1/inventory/{sku}").json()["positions"][0] for sku in (JERSEY, LASER)}
        print(
            "  stock: "
            + ", ".join(f"{sku} committed {p['committed']}, available {p['available']}" for sku, p in positions.items())
        )
        rt.drain()
        print(f"\n  distrosync trace order:{SHOPIFY_ORDER_ID} (events, state changes, execution steps, adapter calls):")
        order_story = story(rt.outputs, f"order:{SHOPIFY_ORDER_ID}")
        for text in order_story:
            print(f"    {text}"[:160])
        told = "\n".join(order_story)
        ok = (
            flow["status"] == "completed"
            and "order.created" in told
            and "execution succeeded" in told
            and told.index("order.created") < told.index("Reserve entered") < told.index("execution succeeded")
            and shopify_end["status"] == "SUCCEEDED"
            and [d["order_id"] for d in delayed] == [PORTAL_ORDER]
            and cancelled.status == "cancelled"
            and cancelled_end["status"] == "SUCCEEDED"
            and len(wms_cancels) == 1
            and len(hooks["finance"].events("invoice.requested")) == 2
            and all(p["committed"] == 0 for p in positions.values())
        )
        print(
            "\ndemo part 3 "
            + (
                f"completed: the Shopify order was delivered, {PORTAL_ORDER}'s carrier reported a delay, "
                f"{CANCELLED_ORDER} was cancelled and compensated"
                if ok
                else "FAILED"
            )
        )
        return 0 if ok else 1
    finally:
        rt.stop()
        for hook in hooks.values():
            hook.stop()
