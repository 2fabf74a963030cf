"""Worker: AWS API requests per business event of supplier collaboration (issue #4), through the real handlers on
in-process moto.

`python -m bench.aws_calls_supply <out.json>`. Builds the resources of docs/contracts.md and
docs/supplier-collaboration.md in moto (partners, secrets, a KMS data key, item and location master, the bus with
queues for the projector, promiser and outbound flows), starts the ERPNext simulator and a webhook receiver (the
WMS), then, each scenario on a freshly loaded handler (its first request or batch is the cold one):

1. supplier records: 10 new suppliers from the ERP, the matching records of the same suppliers from the AP system
   (finance), and the ERP's records again (replays); each record brings a bank account (KMS);
2. 20 new purchase orders from the ERP (2 lines), a supplier acknowledgment of each (line 1 changed to 60 and a
   week later, line 2 accepted), and each acknowledgment again (duplicates);
3. 20 one-line customer orders from a sales channel, in two halves, each pegged before the next arrives;
4. the promiser on the 20 `order.created` and on the 20 `inventory.supply_changed` the acknowledgments caused
   (the projector turns their `inventory.incoming_updated` into positions, unmeasured), SQS batches of 10 over
   5 SKUs; the outbound function on the 20 `purchase_order.acknowledged` (ERPNext) and the 40
   `inbound.expectation_changed` of the POs and acknowledgments (webhook), batches of 10. HTTP calls to the
   systems are counted apart from AWS requests.

Every figure comes with its floor (see `_floors`), and each run checks the end state (goldens, promises, the
ERP's orders, the webhooks received) so the counts are of work that was done.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# Imported first: it registers the before-call hook on botocore before any session exists.
from bench.aws_calls import COUNTER, _per_event
from bench.common import SETTINGS, LambdaContext, load_handler, stdout_to_devnull, write_json

BATCH = 10  # SQS batch size of every flow (infra/config.py)
SKUS = tuple(f"SKU-{i}" for i in range(5))
DCS = ("DC-EAST", "DC-WEST")
SUPPLIERS = 10
PURCHASE_ORDERS = 20  # all to the first supplier, 2 lines each
ORDERS = 20  # one line each, 2 per position
ON_HAND = 50  # counted at every position before the POs (safety stock 2: 48 available)
LINE_1, LINE_2 = 100, 40  # ordered per PO line
CONFIRMED_1 = 60  # line 1 as the supplier confirms it
REQUESTED_1, REQUESTED_2, PROMISED_1, ORDER_REQUESTED = 14, 21, 21, 10  # days from today
ORDER_QUANTITY = 100

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef0123456789"
ERP, AP, PORTAL, SHOP, WMS = "bench-erp", "bench-ap", "bench-supplier-portal", "bench-shop", "bench-wms"
PROJECTOR_EVENTS = ("inventory.incoming_updated",)
PROMISER_EVENTS = ("order.created", "inventory.supply_changed")
OUTBOUND_EVENTS = ("purchase_order.acknowledged", "inbound.expectation_changed")
GATE = {"dynamodb.Query": 1, "secretsmanager.GetSecretValue": 1}  # partner by API key (GSI), signing secret


def _key(partner_id: str) -> str:
    return f"{partner_id}-key"


def _day(n: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=n)


def _plus(*parts: dict[str, float]) -> dict[str, float]:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return dict(sorted(total.items()))


# ------------------------------------------------------------------------------------------------ resources
@dataclass
class Resources:
    queues: dict[str, str]  # flow -> queue URL
    erpnext: Any
    wms: Any


def _table(name: str, keys: list[str], *indexes: tuple[str, list[str], list[str] | None]) -> None:
    """A table keyed as docs/contracts.md says; `indexes`: (name, keys, projected attributes or None for ALL)."""
    import boto3

    def schema(names: list[str]) -> list[dict[str, str]]:
        return [{"AttributeName": k, "KeyType": t} for k, t in zip(names, ("HASH", "RANGE"), strict=False)]

    attributes = dict.fromkeys(keys + [k for _, index_keys, _ in indexes for k in index_keys])
    extra: dict[str, Any] = {}
    if indexes:
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": schema(index_keys),
                "Projection": (
                    {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(projected)}
                    if projected
                    else {"ProjectionType": "ALL"}
                ),
            }
            for index, index_keys, projected in indexes
        ]
    boto3.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        KeySchema=schema(keys),
        **extra,
    )


def _create_resources() -> Resources:
    """Tables, the data key, partners with their secrets, master data, the bus and the flows' queues, the
    simulated ERP and WMS."""
    import boto3

    from bench.workload import LOCATIONS, item, location
    from local.simulators.erpnext import ErpNextSimulator
    from local.simulators.webhook_receiver import WebhookReceiver
    from shared.aws.master_store import MasterStore, Versioned
    from shared.aws.partners import PartnerRepository
    from shared.aws.purchasing_store import ACK_DUE_INDEX, ACK_DUE_INDEX_ATTRIBUTES
    from shared.canonical.envelope import eventbridge_source
    from shared.canonical.partner import OutboundSettings, Partner

    _table(SETTINGS["PARTNERS_TABLE_NAME"], ["partner_id"], ("by-api-key", ["api_key_id"], None))
    _table(SETTINGS["IDEMPOTENCY_TABLE_NAME"], ["id"])
    for name in ("INVENTORY_TABLE_NAME", "SUPPLIERS_TABLE_NAME", "ORDERS_TABLE_NAME"):
        _table(SETTINGS[name], ["pk", "sk"])
    _table(
        SETTINGS["PURCHASING_TABLE_NAME"],
        ["pk", "sk"],
        (ACK_DUE_INDEX, ["ack_queue", "ack_due_at"], list(ACK_DUE_INDEX_ATTRIBUTES)),
    )
    # moto cannot create a key under a given id: the ingress is pointed at the one it made (read at import).
    key = boto3.client("kms").create_key(Description="distrosync bench data key")["KeyMetadata"]
    os.environ["DATA_KEY_ARN"] = key["Arn"]

    erpnext, wms = ErpNextSimulator().start(), WebhookReceiver(secret=secrets.token_hex(16)).start()
    secretsmanager = boto3.client("secretsmanager")
    now = datetime.now(UTC)
    partners = PartnerRepository(SETTINGS["PARTNERS_TABLE_NAME"])

    def partner(partner_id: str, kind: str, scopes: list[str], outbound: dict[str, Any] | None = None) -> None:
        secret_name = f"{SETTINGS['PARTNER_SECRETS_PREFIX']}{partner_id}"
        secretsmanager.create_secret(Name=secret_name, SecretString=json.dumps({"signing_secret": SIGNING_SECRET}))
        settings = None
        if outbound is not None:
            system_secret = f"{SETTINGS['SYSTEM_SECRETS_PREFIX']}{partner_id}"
            secretsmanager.create_secret(Name=system_secret, SecretString=json.dumps(outbound.pop("connection")))
            settings = OutboundSettings(secret_name=system_secret, **outbound)
        partners.put(
            Partner(
                partner_id=partner_id,
                kind=kind,  # type: ignore[arg-type]
                scopes=scopes,
                api_key_id=_key(partner_id),
                secret_name=secret_name,
                created_at=now,
                outbound=settings,
            )
        )

    partner(
        ERP,
        "erp",
        ["location:*"],
        {
            "adapter": "erpnext",
            "connection": erpnext.connection(),
            "subscriptions": ["purchase_order.acknowledged"],
        },
    )
    partner(AP, "finance", [])
    partner(SHOP, "channel", [f"channel:{SHOP}", *(f"location:{dc}" for dc in DCS)])
    partner(
        WMS,
        "warehouse",
        [f"location:{dc}" for dc in DCS],
        {
            "adapter": "webhook",
            "connection": {"url": wms.url, "signing_secret": wms.secret},
            "subscriptions": ["inbound.expectation_changed"],
        },
    )

    master = MasterStore(SETTINGS["INVENTORY_TABLE_NAME"])
    for sku in SKUS:
        master.put_item(Versioned(item(sku), 1, now, ERP), None)
    for code in LOCATIONS:
        master.put_location(Versioned(location(code), 1, now, ERP), None)

    bus = SETTINGS["EVENT_BUS_NAME"]
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=bus)
    queues = {}
    for flow, types in (("projector", PROJECTOR_EVENTS), ("promiser", PROMISER_EVENTS), ("outbound", OUTBOUND_EVENTS)):
        url = sqs.create_queue(QueueName=f"distrosync-bench-{flow}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # As infra/flow.py builds it, for the event types this bench follows.
        pattern = {"source": sorted({eventbridge_source(t) for t in types}), "detail-type": list(types)}
        events.put_rule(Name=flow, EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=flow, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
        queues[flow] = url
    return Resources(queues, erpnext, wms)


def _register_portal(supplier_id: str) -> None:
    """The supplier's portal, scoped to its golden id (known once the ERP's record created it)."""
    import boto3

    from shared.aws.partners import PartnerRepository
    from shared.canonical.partner import Partner

    secret_name = f"{SETTINGS['PARTNER_SECRETS_PREFIX']}{PORTAL}"
    boto3.client("secretsmanager").create_secret(
        Name=secret_name, SecretString=json.dumps({"signing_secret": SIGNING_SECRET})
    )
    PartnerRepository(SETTINGS["PARTNERS_TABLE_NAME"]).put(
        Partner(
            partner_id=PORTAL,
            kind="supplier",
            scopes=[f"supplier:{supplier_id}"],
            api_key_id=_key(PORTAL),
            secret_name=secret_name,
            created_at=datetime.now(UTC),
        )
    )


def _drain(queue_url: str) -> list[dict[str, Any]]:
    """Every message on the queue (deleted), as EventBridge events (body parsed), in no particular order."""
    import boto3

    sqs, messages = boto3.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        messages += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return messages


def _of_type(
    events: Iterable[dict[str, Any]], event_type: str, count: int, order: Callable[[dict[str, Any]], Any]
) -> list[str]:
    """The bodies of the `count` events of one type, sorted by `order(data)` (SQS does not keep order)."""
    chosen = sorted((e for e in events if e["detail-type"] == event_type), key=lambda e: order(e["detail"]["data"]))
    if len(chosen) != count:
        raise RuntimeError(f"expected {count} {event_type} on the queue, got {len(chosen)}")
    return [json.dumps(e) for e in chosen]


# ----------------------------------------------------------------------------------------------- requests
def _request(
    method: str, path: str, body: dict[str, Any], partner_id: str, *, resource: str | None = None
) -> dict[str, Any]:
    """A signed REST proxy event for the ingress (bench.events builds a POST; the method and resource are set
    after signing: the signature covers the timestamp and body only)."""
    import time

    from bench.events import api_event

    raw = json.dumps(body, separators=(",", ":")).encode()
    event = api_event(raw, api_key_id=_key(partner_id), secret=SIGNING_SECRET, timestamp=int(time.time()), path=path)
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    if resource is not None:
        event["resource"] = event["requestContext"]["resourcePath"] = resource
        name = resource.split("{", 1)[1].split("}", 1)[0]
        event["pathParameters"] = {name: path.removeprefix(resource.split("{", 1)[0]).split("/", 1)[0]}
    return event


@dataclass
class Run:
    """One scenario's requests (or batches) on one handler loaded for it: the first is the cold one."""

    handler: Any
    calls: list[Counter[str]] = field(default_factory=list)
    warming: list[int] = field(default_factory=list)  # indexes of requests that met master data new to the process
    results: list[Any] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)  # master data the handler's process has cached

    @classmethod
    def fresh(cls, function: str) -> Run:
        return cls(load_handler(function))


def _ingress(
    requests: list[tuple[dict[str, Any], set[tuple[str, str]]]],
    status: int,
    outcome: str | None = None,
    *,
    run: Run | None = None,
) -> Run:
    """Each request through the ingress handler of `run` (default: a freshly loaded one), counted; `requests`
    pairs the event with the master data it names (items and locations), so that a request meeting some the
    process has not cached yet is told apart."""
    run = run or Run.fresh("ingress")
    context = LambdaContext("distrosync-bench-ingress")
    for event, master in requests:
        with COUNTER.recording() as counted:
            response = run.handler.lambda_handler(event, context)
        body = json.loads(response["body"])
        if response["statusCode"] != status or (outcome and body.get("outcome") != outcome):
            raise RuntimeError(
                f"{event['httpMethod']} {event['path']}: expected {status} {outcome or ''}, got {response}"
            )
        if run.calls and master - run.seen:
            run.warming.append(len(run.calls))
        run.seen |= master
        run.calls.append(counted)
        run.results.append(body)
    return run


def _batches(function: str, bodies: list[str], *, run: Run | None = None) -> Run:
    """The bodies in SQS batches of BATCH through the `function` handler of `run` (default: a freshly loaded
    one), counted per batch."""
    from bench.events import sqs_event

    run = run or Run.fresh(function)
    context = LambdaContext(f"distrosync-bench-{function}")
    queue_arn = f"arn:aws:sqs:us-east-1:123456789012:distrosync-bench-{function}"
    for start in range(0, len(bodies), BATCH):
        with COUNTER.recording() as counted:
            result = run.handler.lambda_handler(sqs_event(bodies[start : start + BATCH], queue_arn), context)
        if result["batchItemFailures"]:
            raise RuntimeError(f"{function} failed records: {result}")
        run.calls.append(counted)
    return run


# --------------------------------------------------------------------------------------------------- bodies
def _supplier_record(n: int, *, system: str) -> dict[str, Any]:
    """Supplier n as `system` keeps it: the same tax id in both systems, each its own id and bank account."""
    record: dict[str, Any] = {
        "local_id": f"{'V' if system == ERP else 'AP'}-{n:03d}",
        "sequence": 1,
        "legal_name": f"Bench Supply {n:02d}, Inc.",
        "tax_id": f"98-76{n:05d}",
        "address": {"line1": f"{n + 1} Harbour Road", "city": "Boston", "postal_code": "02110", "country": "US"},
    }
    if system == ERP:
        record.update(payment_terms="NET30", ack_window_hours=48, bank_account={"iban": f"DE8937040044053201{n:04d}"})
    else:
        record.update(
            remit_to={"line1": "PO Box 77", "city": "Boston", "postal_code": "02111", "country": "US"},
            bank_account={"account_number": f"00012{n:05d}", "routing_number": "011000015", "holder": "Bench"},
        )
    return record


def _supplier(n: int, system: str) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    return _request("POST", "/v1/supplier-records", _supplier_record(n, system=system), system), set()


def _po_lines(k: int) -> tuple[str, str]:
    """PO k's SKUs: every position (SKU at DC) gets line 1 of two POs and line 2 of two others."""
    return SKUS[(k // 2) % len(SKUS)], SKUS[(k // 2 + 1) % len(SKUS)]


def _po(k: int) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    first, second = _po_lines(k)
    body = {
        "revision": 1,
        "supplier": "V-000",
        "location": DCS[k % 2],
        "currency": "USD",
        "erp_reference": f"ERP-PO-{k:03d}",
        "lines": [
            {
                "line": 1,
                "sku": first,
                "quantity": LINE_1,
                "unit_price": "4.25",
                "requested_date": str(_day(REQUESTED_1)),
            },
            {
                "line": 2,
                "sku": second,
                "quantity": LINE_2,
                "unit_price": "4.25",
                "requested_date": str(_day(REQUESTED_2)),
            },
        ],
    }
    po = f"PO-{k:03d}"
    event = _request("PUT", f"/v1/purchase-orders/{po}", body, ERP, resource="/v1/purchase-orders/{po}")
    return event, {("item", first), ("item", second), ("location", DCS[k % 2])}


def _ack(k: int, issued_at: datetime) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    """The supplier's acknowledgment of PO k (sent twice: the second time a duplicate, the same body)."""
    body = {
        "acknowledgment_id": f"ACK-{k:03d}",
        "issued_at": issued_at.isoformat(),
        "lines": [
            {"line": 1, "status": "changed", "quantity": CONFIRMED_1, "promised_date": str(_day(PROMISED_1))},
            {"line": 2, "status": "accepted"},
        ],
    }
    po = f"PO-{k:03d}"
    resource = "/v1/purchase-orders/{po}/acknowledgments"
    return _request("POST", f"/v1/purchase-orders/{po}/acknowledgments", body, PORTAL, resource=resource), set()


def _order(i: int) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    sku, dc = SKUS[(i // 2) % len(SKUS)], DCS[i % 2]
    body = {
        "order_id": f"SO-{i:03d}",
        "placed_at": (datetime.now(UTC) - timedelta(minutes=ORDERS - i)).isoformat(),
        "lines": [
            {
                "line": 1,
                "sku": sku,
                "location": dc,
                "quantity": ORDER_QUANTITY,
                "requested_date": str(_day(ORDER_REQUESTED)),
            }
        ],
    }
    return _request("POST", "/v1/orders", body, SHOP), {("item", sku), ("location", dc)}


def _counts() -> list[str]:
    """A cycle count of ON_HAND at every position, as the projector receives it."""
    from bench.events import eventbridge_body
    from shared.canonical.envelope import Envelope
    from shared.canonical.inventory import InventoryAdjusted

    now = datetime.now(UTC)
    return [
        eventbridge_body(
            Envelope[InventoryAdjusted].wrap(
                InventoryAdjusted(sku=sku, location=dc, on_hand=ON_HAND, reason="cycle_count", sequence=1),
                source_partner="bench-warehouse",
                occurred_at=now,
            ),
            SETTINGS["EVENT_BUS_NAME"],
        )
        for sku in SKUS
        for dc in DCS
    ]


# ---------------------------------------------------------------------------------------------------- checks
def _check_suppliers(created: Run) -> dict[str, Any]:
    """Every golden has both systems' records."""
    from shared.aws.supplier_directory import SupplierDirectory

    directory = SupplierDirectory(SETTINGS["SUPPLIERS_TABLE_NAME"])
    goldens = {r["supplier_id"] for r in created.results}
    joined = {directory.resolve(AP, f"AP-{n:03d}") for n in range(SUPPLIERS)}
    if len(goldens) != SUPPLIERS or joined != goldens:
        raise RuntimeError(f"the AP's records did not join the ERP's suppliers: {sorted(goldens ^ joined)}")
    return {"goldens": len(goldens), "records_each": 2, "as_expected": True}


def _check_promises(expected: dict[str, date]) -> dict[str, Any]:
    """Every order line promised on the date pegging implies."""
    from shared.aws.orders_store import OrdersStore

    store, promised = OrdersStore(SETTINGS["ORDERS_TABLE_NAME"]), {}
    for sku in SKUS:
        for stored in store.sku_demand(sku).demand:
            promised[stored.line.order_id] = stored.state.promise_date
    wrong = {order: (promised.get(order), want) for order, want in expected.items() if promised.get(order) != want}
    if wrong:
        raise RuntimeError(f"promises differ from what pegging implies (got, want): {wrong}")
    return {"lines": len(promised), "as_expected": True}


def _check_erp(erpnext: Any) -> dict[str, Any]:
    wrong = []
    for k in range(PURCHASE_ORDERS):
        doc = erpnext.doc("Purchase Order", f"ERP-PO-{k:03d}")
        row = doc["items"][0]
        if (doc["order_confirmation_no"], row["qty"], row["schedule_date"]) != (
            f"ACK-{k:03d}",
            CONFIRMED_1,
            str(_day(PROMISED_1)),
        ):
            wrong.append(doc["name"])
    if wrong:
        raise RuntimeError(f"ERP orders not acknowledged as sent: {wrong}")
    return {"orders_acknowledged": PURCHASE_ORDERS, "as_expected": True}


# ---------------------------------------------------------------------------------------------------- floors
def _floors() -> dict[str, dict[str, Any]]:
    """The fewest requests the design (docs/supplier-collaboration.md) allows per event, for the scenarios below:
    batches of B = 10 over S = 5 SKUs for the promiser, batches of 10 deliveries for the outbound function."""
    b, s = BATCH, len(SKUS)
    new_supplier = {
        "dynamodb.BatchGetItem": 1,
        "kms.Encrypt": 1,
        "dynamodb.TransactWriteItems": 1,
        "events.PutEvents": 1,
        "dynamodb.UpdateItem": 1,
    }
    matched = _plus(new_supplier, {"dynamodb.Query": 1})
    replay = {"dynamodb.BatchGetItem": 1, "dynamodb.Query": 1}
    po = {
        "dynamodb.GetItem": 2,
        "dynamodb.BatchGetItem": 1,
        "dynamodb.TransactWriteItems": 1,
        "events.PutEvents": 1,
        "dynamodb.UpdateItem": 1,
    }
    ack = {
        "dynamodb.BatchGetItem": 1,
        "dynamodb.TransactWriteItems": 1,
        "events.PutEvents": 1,
        "dynamodb.UpdateItem": 1,
    }
    order = {"dynamodb.TransactWriteItems": 1, "events.PutEvents": 1}
    master = {"dynamodb.BatchGetItem": 1}
    promiser_batch = {
        "dynamodb.Query": s,
        "dynamodb.BatchGetItem": 1,
        "dynamodb.TransactWriteItems": s + 1,
        "events.PutEvents": 1,
    }
    promiser_basis = (
        f"per batch of {b}: 1 Query per SKU ({s}: demand and lead times), 1 BatchGetItem of the positions, "
        f"1 TransactWriteItems per SKU whose promises changed ({s}; a SKU's conflict never undoes another's; each "
        f"line with its event), 1 PutEvents of the {b} order.promise_date_changed, 1 TransactWriteItems removing "
        "the published events from their lines (up to 100 lines)"
    )
    delivery = {"dynamodb.BatchGetItem": 1 / b, "dynamodb.PutItem": 1}
    delivery_cold = {
        "dynamodb.Scan": 1,
        "dynamodb.BatchGetItem": 1,
        "secretsmanager.GetSecretValue": 1,
        "dynamodb.PutItem": b,
    }
    gate = "+ partner by API key (GSI Query), signing secret"
    return {
        "supplier_created": {
            "floor": new_supplier,
            "basis": "1 BatchGetItem (cross-reference + match keys), KMS Encrypt of the bank account, "
            "1 TransactWriteItems (golden with its event, record, cross-reference, match keys), PutEvents "
            "supplier.created, 1 UpdateItem (the event removed from the golden)",
            "cold_floor": _plus(new_supplier, GATE),
            "cold_basis": gate,
        },
        "supplier_matched": {
            "floor": matched,
            "basis": "1 BatchGetItem (cross-reference + match keys), 1 Query of the golden matched (with its "
            "records), KMS Encrypt, 1 TransactWriteItems, PutEvents supplier.updated (cross_references), "
            "1 UpdateItem (outbox cleared)",
            "cold_floor": _plus(matched, GATE),
            "cold_basis": gate,
        },
        "supplier_replay": {
            "floor": replay,
            "basis": "1 BatchGetItem (cross-reference + match keys), 1 Query of the golden and its records "
            "(the stored sequence); nothing written or published",
            "cold_floor": _plus(replay, GATE),
            "cold_basis": gate,
        },
        "po_created": {
            "floor": po,
            "basis": "GetItem of the supplier's cross-reference, 1 BatchGetItem (PO + revision), GetItem of the "
            "golden's ack window (new PO), 1 TransactWriteItems, 1 PutEvents, 1 UpdateItem (outbox cleared)",
            "cold_floor": _plus(po, GATE, master),
            "cold_basis": gate + ", item+location master (1 BatchGetItem)",
        },
        "ack_applied": {
            "floor": ack,
            "basis": "1 BatchGetItem (PO + acknowledgment), 1 TransactWriteItems, 1 PutEvents (acknowledged, "
            "incoming, expectation, risk), 1 UpdateItem (outbox cleared)",
            "cold_floor": _plus(ack, GATE),
            "cold_basis": gate,
        },
        "ack_duplicate": {
            "floor": {"dynamodb.BatchGetItem": 1},
            "basis": "1 BatchGetItem (PO + acknowledgment: same body, nothing owed); nothing written or published",
            "cold_floor": _plus({"dynamodb.BatchGetItem": 1}, GATE),
            "cold_basis": gate,
        },
        "order_created": {
            "floor": order,
            "basis": "1 TransactWriteItems (order + demand line) + 1 PutEvents order.created",
            "cold_floor": _plus(order, GATE, master),
            "cold_basis": gate + ", item+location master (1 BatchGetItem)",
        },
        "promiser_orders": {
            "floor": {op: n / b for op, n in promiser_batch.items()},
            "basis": promiser_basis,
            "cold_floor": promiser_batch,
            "cold_basis": "the same per batch (the promiser caches nothing)",
        },
        "promiser_supply": {
            "floor": {op: n / b for op, n in promiser_batch.items()},
            "basis": promiser_basis,
            "cold_floor": promiser_batch,
            "cold_basis": "the same per batch (the promiser caches nothing)",
        },
        "outbound_erp": {
            "floor": delivery,
            "basis": f"1 BatchGetItem of the delivery records per batch of {b}, 1 conditional PutItem per delivery",
            "cold_floor": delivery_cold,
            "cold_basis": "per batch: + system list (Scan), the ERP's connection secret",
            "http_floor": {"GET PurchaseOrder": 1, "POST UpdateItems": 1, "PUT PurchaseOrder": 1},
            "http_basis": "read the order, Update Items (line 1 changed), set the confirmation number",
        },
        "outbound_webhook": {
            "floor": delivery,
            "basis": f"1 BatchGetItem of the delivery records per batch of {b}, 1 conditional PutItem per delivery",
            "cold_floor": delivery_cold,
            "cold_basis": "per batch: + system list (Scan), the WMS's connection secret",
            "http_floor": {"POST webhook": 1},
            "http_basis": "one signed POST",
        },
    }


# ----------------------------------------------------------------------------------------------------- runs
def _http_calls(erpnext: Any, since: int) -> Counter[str]:
    from local.simulators.erpnext import UPDATE_ITEMS

    names: Counter[str] = Counter()
    for call in erpnext.calls[since:]:
        if call.status >= 300:
            raise RuntimeError(f"ERPNext answered {call.status} to {call.method} {call.path}")
        target = "UpdateItems" if call.path.endswith(UPDATE_ITEMS) else call.path.split("/")[3].replace(" ", "")
        names[f"{call.method} {target}"] += 1
    return names


def run() -> dict[str, Any]:
    from moto import mock_aws

    from local import moto_fixes

    moto_fixes.apply()  # the EventBridge envelope as AWS sends it, and transactions that copy only their items
    floors = _floors()
    with mock_aws():
        res = _create_resources()
        try:
            return _scenarios(res, floors)
        finally:
            res.erpnext.stop()
            res.wms.stop()


def _scenarios(res: Resources, floors: dict[str, dict[str, Any]]) -> dict[str, Any]:
    projector = Run.fresh("projector")  # unmeasured: the positions the promiser pegs against
    _batches("projector", _counts(), run=projector)

    # 1. Supplier records: new from the ERP, the same suppliers from the AP system, the ERP's again.
    created = _ingress([_supplier(n, ERP) for n in range(SUPPLIERS)], 201, "created")
    matched = _ingress([_supplier(n, AP) for n in range(SUPPLIERS)], 200, "matched")
    replayed = _ingress([_supplier(n, ERP) for n in range(SUPPLIERS)], 200, "unchanged")
    suppliers = _check_suppliers(created)
    _register_portal(created.results[0]["supplier_id"])

    # 2. Purchase orders (their supply made into positions, unmeasured), then customer orders and their promises.
    for k in range(PURCHASE_ORDERS):
        first, second = _po_lines(k)
        res.erpnext.add_purchase_order(
            f"ERP-PO-{k:03d}",
            "V-000",
            [
                {"item_code": first, "qty": LINE_1, "rate": 4.25, "schedule_date": str(_day(REQUESTED_1))},
                {"item_code": second, "qty": LINE_2, "rate": 4.25, "schedule_date": str(_day(REQUESTED_2))},
            ],
        )
    pos = _ingress([_po(k) for k in range(PURCHASE_ORDERS)], 201, "created")
    on_order = _of_type(
        _drain(res.queues["projector"]), "inventory.incoming_updated", 2 * PURCHASE_ORDERS, lambda d: d["reference"]
    )
    _batches("projector", on_order, run=projector)
    _drain(res.queues["promiser"])  # supply of positions without demand yet: nothing to re-peg
    po_expectations = _of_type(
        _drain(res.queues["outbound"]), "inbound.expectation_changed", PURCHASE_ORDERS, lambda d: d["po_number"]
    )

    # Orders arrive while the promiser works: each half is pegged before the next comes.
    orders, promised_orders = Run.fresh("ingress"), Run.fresh("promiser")
    for half in (range(ORDERS // 2), range(ORDERS // 2, ORDERS)):
        _ingress([_order(i) for i in half], 201, run=orders)
        placed = _of_type(_drain(res.queues["promiser"]), "order.created", len(half), lambda d: d["order"]["order_id"])
        _batches("promiser", placed, run=promised_orders)
    # Per position: 48 available, 2 x 100 at day 14, 2 x 40 at day 21; each order of 100 completes at day 14.
    before = _check_promises({f"SO-{i:03d}": _day(REQUESTED_1) for i in range(ORDERS)})

    # 3. Acknowledgments, duplicates; their supply through the projector (unmeasured) to the promiser, batch by batch.
    issued_at = datetime.now(UTC)
    acks = _ingress([_ack(k, issued_at) for k in range(PURCHASE_ORDERS)], 201, "applied")
    duplicates = _ingress([_ack(k, issued_at) for k in range(PURCHASE_ORDERS)], 200, "unchanged")
    # One supply change per acknowledgment: line 1 (line 2 is accepted as ordered).
    confirmed = _of_type(
        _drain(res.queues["projector"]), "inventory.incoming_updated", PURCHASE_ORDERS, lambda d: d["reference"]
    )
    supply = Run.fresh("promiser")
    for start in range(0, len(confirmed), BATCH):  # one projector batch (10 positions) -> one promiser batch
        _batches("projector", confirmed[start : start + BATCH], run=projector)
        changed = _of_type(
            _drain(res.queues["promiser"]), "inventory.supply_changed", BATCH, lambda d: (d["sku"], d["location"])
        )
        _batches("promiser", changed, run=supply)
    # Line 1 of every PO now 60 at day 21: 48 + 2 x 60 + 2 x 40 by day 21, nothing at day 14.
    after = _check_promises({f"SO-{i:03d}": _day(PROMISED_1) for i in range(ORDERS)})

    # 4. Outbound: the acknowledgments to the ERP, the POs' and acknowledgments' expectations to the WMS.
    delivered = _drain(res.queues["outbound"])
    acknowledged = _of_type(delivered, "purchase_order.acknowledged", PURCHASE_ORDERS, lambda d: d["po_number"])
    expectations = po_expectations + _of_type(
        delivered, "inbound.expectation_changed", PURCHASE_ORDERS, lambda d: d["po_number"]
    )
    since = len(res.erpnext.calls)
    to_erp = _batches("outbound", acknowledged)
    erp_http = _http_calls(res.erpnext, since)
    erp = _check_erp(res.erpnext)
    to_wms = _batches("outbound", expectations)
    received = res.wms.events("inbound.expectation_changed")
    if len(res.wms.deliveries) != len(expectations) or len(received) != len(expectations):
        raise RuntimeError(f"the WMS accepted {len(received)} of {len(expectations)} expectations")

    def scenario(name: str, run: Run, per: int, cold_unit: str, **about: Any) -> dict[str, Any]:
        """Steady state: every request or batch after the first, except those that met master data new to the
        process (`warming`, reported apart); per event = divided by `per` events each."""
        steady = [c for i, c in enumerate(run.calls) if i and i not in run.warming]
        out = {
            **floors[name],
            **about,
            "steady_per_event": _per_event(steady, per * len(steady)),
            "steady_events": per * len(steady),
            "cold": dict(sorted(run.calls[0].items())),
            "cold_unit": cold_unit,
        }
        if run.warming:
            total: Counter[str] = Counter()
            for i in run.warming:
                total.update(run.calls[i])
            out["warming"] = {"requests": len(run.warming), "calls": dict(sorted(total.items()))}
        return out

    first, first_batch = "first request", f"first batch of {BATCH}"
    return {
        "supplier_created": scenario("supplier_created", created, 1, first, check=suppliers),
        "supplier_matched": scenario("supplier_matched", matched, 1, first),
        "supplier_replay": scenario("supplier_replay", replayed, 1, first),
        "po_created": scenario("po_created", pos, 1, first),
        "ack_applied": scenario("ack_applied", acks, 1, first),
        "ack_duplicate": scenario("ack_duplicate", duplicates, 1, first),
        "order_created": scenario("order_created", orders, 1, first),
        "promiser_orders": scenario("promiser_orders", promised_orders, BATCH, first_batch, check=before),
        "promiser_supply": scenario("promiser_supply", supply, BATCH, first_batch, check=after),
        "outbound_erp": scenario(
            "outbound_erp",
            to_erp,
            BATCH,
            first_batch,
            check=erp,
            http_per_event=_per_event([erp_http], len(acknowledged)),
        ),
        "outbound_webhook": scenario(
            "outbound_webhook",
            to_wms,
            BATCH,
            first_batch,
            check={"accepted": len(received), "as_expected": True},
            http_per_event={"POST webhook": round(len(res.wms.deliveries) / len(expectations), 4)},
        ),
    }


def main(argv: list[str]) -> None:
    with stdout_to_devnull():
        result = run()
    write_json(Path(argv[0]), result)


if __name__ == "__main__":
    main(sys.argv[1:])
