"""Worker: AWS API requests per order through the order-to-ship flow (issue #5), on the embedded runtime.

`python -m bench.aws_calls_orders <out.json>`. Starts `local.runtime.LocalRuntime` on the synthesized dev template
with state machine executions on (moto's ASL interpreter, short timers through ORDER_FLOW_TIMERS), registers the
systems the flow talks to as signed-webhook receivers (WMS, TMS, ERP, customer portal, finance), a canonical carrier,
the master data and stock, then forgets every loaded function (the next invocation of each is a cold start) and:

1. the cold order: one order placed alone, driven end to end: pick progress, pick complete, the same pick complete
   again, the TMS's dispatch, the carrier's `delivered`; every function's first invocation is in it;
2. the steady state: 9 more orders, driven the same way together (the executions run side by side);
3. cancels: 3 orders cancelled while the WMS picks (the execution compensates).

Every botocore API call is attributed to the in-process function invocation that made it (a `before-call` hook
and a thread-local stack of the invocations `FunctionHost` runs: executions run in moto's threads, the partners'
callbacks on this one), and by invocation to its order and step (the task's `step`), callback (the route, named by
the driver) or queue batch. HTTP calls to the systems are counted the same way (urllib3). Calls made outside an
invocation (the driver's reads, the SQS polling of Lambda's event-source mappings, Step Functions' own Lambda
Invoke) are not the functions' requests and are not counted. Per order, per step and per callback, each figure
comes with its floor (see `_floors`); the state transitions of each execution come from GetExecutionHistory. The
run checks the end state (statuses, executions, what each system received, stock, no dead letters, no function
errors) so that a broken flow cannot produce figures.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.handlers import BUILTIN_HANDLERS

from bench.common import stdout_to_devnull, write_json

COMPLETED = 10  # the first is the cold order
CANCELLED = 3
LOCATION = "DC-EAST"
SKUS = ("SKU-1", "SKU-2")
ON_HAND = 1000
QUANTITIES = (3, 2)  # per order, one line per SKU
CARRIER = "USPS"
WAIT_SECONDS = 60.0
STEPS = ("validate", "reserve", "release", "erp_status", "ship", "dispatch", "track", "complete")
# The partners' callbacks per completed order, as the driver names them.
CALLBACKS = ("pick_progress", "pick_complete", "pick_complete_duplicate", "dispatch_callback", "carrier_delivered")
# What each system subscribes to (the partner ids, kinds and scopes of tests/flows/order_flow_fixtures.py).
SYSTEMS: dict[str, tuple[str, str, list[str], list[str]]] = {
    "wms": ("wh-east", "warehouse", ["order.released", "order.release_cancelled"], [f"location:{LOCATION}"]),
    "tms": ("tms", "tms", ["shipment.ready"], ["location:*"]),
    "erp": ("erp-orders", "erp", ["order.status_changed"], ["location:*"]),
    "portal": (
        "portal",
        "portal",
        ["order.status_changed", "shipment.dispatched", "shipment.milestone", "shipment.delayed", "order.cancelled"],
        ["*"],
    ),
    "finance": ("finance", "finance", ["invoice.requested"], ["*"]),
}
# The events each system must hold once per order (distinct event ids): the HTTP floor is one POST each.
STATUSES_COMPLETED = ("released", "picked", "awaiting_dispatch", "dispatched", "completed")
EXPECTED_COMPLETED = {
    "wms": {"order.released": 1},
    "tms": {"shipment.ready": 1},
    "erp": {"order.status_changed": len(STATUSES_COMPLETED)},
    "portal": {"order.status_changed": len(STATUSES_COMPLETED), "shipment.dispatched": 1, "shipment.milestone": 1},
    "finance": {"invoice.requested": 1},
}
EXPECTED_CANCELLED = {
    "wms": {"order.released": 1, "order.release_cancelled": 1},
    "erp": {"order.status_changed": 2},  # released, cancelled
    "portal": {"order.status_changed": 2, "order.cancelled": 1},
}


# ------------------------------------------------------------------------------------------------ counting
@dataclass
class Frame:
    """One function invocation: what it was for and the requests it made."""

    function: str
    label: str  # the step, the callback, or `batch` for a queue batch
    orders: tuple[str, ...]
    phase: str
    records: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    http: Counter[str] = field(default_factory=Counter)
    error: str | None = None


class Attribution:
    """Attributes botocore API calls and HTTP requests to the function invocation running on the calling thread."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.frames: list[Frame] = []
        self.phase = "setup"
        self.systems: dict[int, str] = {}  # port -> system name

    def _stack(self) -> list[Frame]:
        stack: list[Frame] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    # botocore `before-call`: one per API call (retries are not calls)
    def __call__(self, model: Any = None, **_: Any) -> None:
        stack = self._stack()
        if stack and model is not None:
            stack[-1].calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def http(self, port: int | None, method: str) -> None:
        stack = self._stack()
        if stack:
            stack[-1].http[f"{method} {self.systems.get(port or 0, f'port {port}')}"] += 1

    # the driver names its partner requests (the ingress cannot tell a duplicate from a first delivery)
    @contextmanager
    def request(self, label: str, order_id: str) -> Iterator[None]:
        self._local.request = (label, order_id)
        try:
            yield
        finally:
            self._local.request = None

    @contextmanager
    def invocation(self, function: str, event: Any) -> Iterator[Frame]:
        label, orders, records = self._classify(function, event)
        frame = Frame(function, label, orders, self.phase, records)
        stack = self._stack()
        stack.append(frame)
        try:
            yield frame
        finally:
            stack.pop()
            with self._lock:
                self.frames.append(frame)

    def _classify(self, function: str, event: Any) -> tuple[str, tuple[str, ...], int]:
        if isinstance(event, dict) and "step" in event and "order_id" in event:
            return str(event["step"]), (str(event["order_id"]),), 0
        if isinstance(event, dict) and "Records" in event:
            orders = []
            for record in event["Records"]:
                try:
                    data = json.loads(record["body"])["detail"]["data"]
                except (KeyError, TypeError, ValueError):
                    continue
                order = data.get("order_id") or (data.get("order") or {}).get("order_id")
                if order:
                    orders.append(str(order))
            return "batch", tuple(orders), len(event["Records"])
        named = getattr(self._local, "request", None)
        if named is not None:
            return named[0], (named[1],), 0
        return "other", (), 0


ATTRIBUTION = Attribution()
# Registered before any botocore session exists, so every session (boto3's default one, Powertools' parameters
# and idempotency sessions, moto's Step Functions interpreter's clients) reports its calls.
BUILTIN_HANDLERS.append(("before-call", ATTRIBUTION))


def _hook_http() -> None:
    """Count every HTTP request urllib3 sends (the systems' adapters; AWS calls never reach it under moto)."""
    import urllib3.connection

    original = urllib3.connection.HTTPConnection.request

    def request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        ATTRIBUTION.http(self.port, method)
        return original(self, method, url, *args, **kwargs)

    urllib3.connection.HTTPConnection.request = request  # type: ignore[method-assign]


def _hook_functions(rt: Any) -> None:
    """Wrap the runtime's `FunctionHost.invoke` (every path reaches it: API, queues, Step Functions tasks)."""
    host = rt.functions
    original = host.invoke

    def invoke(name: str, event: Any) -> Any:
        spec = host.get(name)
        with ATTRIBUTION.invocation(spec.key, event) as frame:
            invocation = original(name, event)
            if invocation.error is not None:
                frame.error = str(invocation.error.get("errorType"))
            return invocation

    host.invoke = invoke


def _serialize_task_clients(rt: Any) -> None:
    """Let moto's executions create their Lambda clients only between invocations.

    `FunctionHost` swaps the process's `os.environ` around each invocation (clear, then refill), under its lock;
    moto's interpreter creates a boto3 client for every Lambda task in the execution's thread, and creating one
    iterates `os.environ` (botocore's proxy lookup). When the two meet, the task fails with `States.Runtime`
    (cause `'AWS_LAMBDA_FUNCTION_NAME'`, a key that vanished mid-iteration) and the order goes to the exception
    path. Taking the host's lock around the client's creation keeps the run deterministic; it changes no count."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = lambda_eval_utils.boto_client_for
    lock = rt.functions.lock

    def boto_client_for(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(*args, **kwargs)

    lambda_eval_utils.boto_client_for = boto_client_for


# ------------------------------------------------------------------------------------------------ the stack
@dataclass
class Stack:
    rt: Any
    receivers: dict[str, Any]
    erp: Any  # the source of the orders (partner `erp`, kind erp)
    clients: dict[str, Any]  # wms, tms, carrier


def _start() -> Stack:
    from cli.assembly import REPO_ROOT, local_template
    from cli.demo_orders import DEMO_TIMERS  # the flow's waits as the demo runs it
    from cli.local_session import partner_client, register_partner
    from local.runtime import LocalRuntime
    from local.simulators.webhook_receiver import WebhookReceiver
    from shared.services.carrier_admin import add_carrier
    from shared.services.partner_admin import PartnerAdmin, StackResources
    from shared.services.system_admin import SystemAdmin

    rt = LocalRuntime.start(
        local_template("dev", quiet=True), source_root=REPO_ROOT, mode="inprocess", execute_state_machines=True
    )
    receivers: dict[str, Any] = {}
    try:
        rt.functions.configure("order_starter", ORDER_FLOW_TIMERS=json.dumps(DEMO_TIMERS))
        _hook_functions(rt)
        _serialize_task_clients(rt)
        admin = SystemAdmin.from_outputs(rt.outputs)
        clients: dict[str, Any] = {}
        for name, (partner_id, kind, subscriptions, scopes) in SYSTEMS.items():
            receiver = receivers[name] = WebhookReceiver().start()
            ATTRIBUTION.systems[receiver.port] = name
            registration = admin.add(
                partner_id, kind, "webhook", subscriptions=subscriptions, url=receiver.url, scopes=scopes
            )
            receiver.secret = registration.webhook_signing_secret
            if registration.credentials is not None:
                clients[name] = partner_client(rt, registration.credentials)
        carrier = add_carrier(
            PartnerAdmin(StackResources.from_outputs(rt.outputs)), CARRIER.lower(), "canonical", scopes=["location:*"]
        )
        clients["carrier"] = partner_client(rt, carrier.credentials)
        erp = partner_client(rt, register_partner(rt, "erp", "erp", ["location:*"]))
        stack = Stack(rt, receivers, erp, clients)
        _master_data_and_stock(stack)
        return stack
    except BaseException:
        _stop(rt, receivers)
        raise


def _stop(rt: Any, receivers: dict[str, Any]) -> None:
    rt.stop()
    for receiver in receivers.values():
        receiver.stop()


def _master_data_and_stock(stack: Stack) -> None:
    erp, wms = stack.erp, stack.clients["wms"]
    _expect(erp.request("PUT", f"/v1/locations/{LOCATION}", json_body={"name": LOCATION, "sequence": 1}), 200)
    for sku in SKUS:
        item = {"units": {"each": 1, "case": 12}, "safety_stock": 0, "sequence": 1}
        _expect(erp.request("PUT", f"/v1/items/{sku}", json_body=item), 200)
    for sku in SKUS:
        count = {
            "sku": sku,
            "location": LOCATION,
            "on_hand": ON_HAND,
            "reason": "cycle_count",
            "sequence": 1,
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        _expect(wms.post("/v1/inventory/adjustments", count), 202)
    stack.rt.drain()


def _expect(reply: Any, status: int, result: str | None = None) -> Any:
    body = reply.json() if reply.body else {}
    if reply.status != status or (result is not None and body.get("result") != result):
        raise RuntimeError(f"expected {status} {result or ''}, got {reply.status}: {body}")
    return body


# ---------------------------------------------------------------------------------------------- the driver
def _record(stack: Stack, order_id: str) -> Any:
    from shared.aws.fulfillment_store import FulfillmentStore

    return FulfillmentStore(stack.rt.outputs["OrdersTableName"]).get(order_id)


def _until(stack: Stack, what: str, check: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    """Drain the queues (starter, consumers) until `check()`; the executions run in moto's threads meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        stack.rt.drain()
        if check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: waited {timeout:.0f} s for {what}")
        time.sleep(0.02)


def _waiting(stack: Stack, orders: list[str], step: str) -> None:
    late: list[str] = []

    def parked() -> bool:
        late.clear()
        for order_id in orders:
            record = _record(stack, order_id)
            waiting = record.waiting if record is not None else None
            if waiting is None or waiting.step != step or waiting.claimed_at is not None:
                late.append(order_id)
        return not late

    try:
        _until(stack, f"{len(orders)} order(s) waiting on {step}", parked)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}: {_describe(stack, late)}") from None


def _describe(stack: Stack, orders: list[str]) -> str:
    """Where each order stands: its record and the last events of its execution (for a failed run's message)."""
    sfn, lines = stack.rt.clients("stepfunctions"), []
    for order_id in orders:
        record = _record(stack, order_id)
        try:
            history = sfn.get_execution_history(executionArn=_execution_arn(stack, order_id), maxResults=1000)
            last = [
                f"{e['type']} {e.get('taskFailedEventDetails') or e.get('lambdaFunctionFailedEventDetails') or ''}"
                for e in history["events"][-8:]
            ][::-1]
        except sfn.exceptions.ExecutionDoesNotExist:
            last = ["no execution"]
        state = (
            f"{record.status}, step {record.step}, waiting {record.waiting}, exception {record.exception}"
            if record
            else "no record"
        )
        lines.append(f"{order_id}: {state}; execution, newest first: {last}")
    return "\n  " + "\n  ".join(lines)


def _execution_arn(stack: Stack, order_id: str) -> str:
    from shared.domain.order_flow import execution_name

    machine = stack.rt.outputs["OrderFlowStateMachineArn"]
    return machine.replace(":stateMachine:", ":execution:") + ":" + execution_name(order_id)


def _ended(stack: Stack, orders: list[str]) -> None:
    sfn = stack.rt.clients("stepfunctions")

    def done() -> bool:
        return all(sfn.describe_execution(executionArn=_execution_arn(stack, o))["status"] != "RUNNING" for o in orders)

    _until(stack, f"{len(orders)} execution(s) to end", done)


def _delivered(stack: Stack, expected: dict[str, Counter[str]]) -> None:
    """Until every system holds the events expected so far (the outbound consumer delivers from the queue)."""

    def received() -> bool:
        return all(_distinct(stack.receivers[name]) >= want for name, want in expected.items())

    _until(stack, "the systems' deliveries", received)


def _distinct(receiver: Any) -> Counter[str]:
    """Event types of the distinct event ids a receiver accepted."""
    seen = {e["id"]: e["type"] for e in receiver.events()}
    return Counter(seen.values())


def _place(stack: Stack, order_id: str) -> None:
    today = datetime.now(UTC).date().isoformat()
    body = {
        "order_id": order_id,
        "placed_at": datetime.now(UTC).isoformat(),
        "customer_ref": f"CUST-{order_id}",
        "deliver_by": (date.today() + timedelta(days=5)).isoformat(),
        "ship_to": {"name": "Bench Customer", "city": "Boston", "region": "MA", "country": "US"},
        "lines": [
            {"line": n, "sku": sku, "location": LOCATION, "quantity": q, "requested_date": today}
            for n, (sku, q) in enumerate(zip(SKUS, QUANTITIES, strict=True), start=1)
        ],
    }
    with ATTRIBUTION.request("order_created", order_id):
        _expect(stack.erp.post("/v1/orders", body), 201)


def _tracking(order_id: str) -> str:
    return "BENCH" + order_id.replace("-", "")


def _drive(stack: Stack, orders: list[str]) -> None:
    """Place the orders and take them through every callback to delivery; each order's execution completes."""
    wms, tms, carrier = stack.clients["wms"], stack.clients["tms"], stack.clients["carrier"]
    for order_id in orders:
        _place(stack, order_id)
    _waiting(stack, orders, "release")
    now = datetime.now(UTC)
    for order_id in orders:
        path = f"/v1/orders/{order_id}"
        with ATTRIBUTION.request("pick_progress", order_id):
            _expect(wms.post(f"{path}/pick-progress", {}), 202)
        with ATTRIBUTION.request("pick_complete", order_id):
            _expect(wms.post(f"{path}/pick-complete", {"picked_at": now.isoformat()}), 202, "accepted")
        with ATTRIBUTION.request("pick_complete_duplicate", order_id):
            _expect(wms.post(f"{path}/pick-complete", {"picked_at": now.isoformat()}), 200, "duplicate")
    _waiting(stack, orders, "ship")
    for order_id in orders:
        body = {
            "carrier": CARRIER,
            "tracking_number": _tracking(order_id),
            "dispatched_at": datetime.now(UTC).isoformat(),
            "estimated_delivery": (date.today() + timedelta(days=3)).isoformat(),
        }
        with ATTRIBUTION.request("dispatch_callback", order_id):
            _expect(tms.post(f"/v1/orders/{order_id}/dispatch", body), 202, "accepted")
    _waiting(stack, orders, "track")
    for order_id in orders:
        event = {
            "tracking_number": _tracking(order_id),
            "status": "delivered",
            "occurred_at": datetime.now(UTC).isoformat(),
            "where": "BOSTON MA US",
        }
        with ATTRIBUTION.request("carrier_delivered", order_id):
            _expect(carrier.post(f"/v1/carriers/{CARRIER.lower()}/tracking", event), 202, "accepted")
    _ended(stack, orders)


def _cancel(stack: Stack, orders: list[str]) -> None:
    """Place the orders, and cancel each while the WMS picks: the execution compensates."""
    for order_id in orders:
        _place(stack, order_id)
    _waiting(stack, orders, "release")
    for order_id in orders:
        with ATTRIBUTION.request("cancel", order_id):
            _expect(stack.erp.post(f"/v1/orders/{order_id}/cancel", {"reason": "bench: customer cancelled"}), 202)
    _ended(stack, orders)


def _expected(completed: int, cancelled: int) -> dict[str, Counter[str]]:
    total: dict[str, Counter[str]] = {name: Counter() for name in SYSTEMS}
    for per_order, n in ((EXPECTED_COMPLETED, completed), (EXPECTED_CANCELLED, cancelled)):
        for name, events in per_order.items():
            for event_type, count in events.items():
                total[name][event_type] += count * n
    return total


# ----------------------------------------------------------------------------------------------- the checks
def _check(stack: Stack, completed: list[str], cancelled: list[str]) -> dict[str, Any]:
    """The end state, or RuntimeError: figures of a flow that did not do its work are no figures."""
    sfn = stack.rt.clients("stepfunctions")
    wrong: list[str] = []
    for order_id, status in [*((o, "completed") for o in completed), *((o, "cancelled") for o in cancelled)]:
        record = _record(stack, order_id)
        execution = sfn.describe_execution(executionArn=_execution_arn(stack, order_id))["status"]
        if record is None or record.status != status or execution != "SUCCEEDED":
            wrong.append(f"{order_id}: {record and record.status}, execution {execution}")
        elif status == "cancelled" and not (
            record.cancel and record.cancel.get("reservation_released") and record.cancel.get("warehouse_notified")
        ):
            wrong.append(f"{order_id}: cancelled without releasing or telling the WMS: {record.cancel}")
    expected = _expected(len(completed), len(cancelled))
    received = {name: _distinct(receiver) for name, receiver in stack.receivers.items()}
    for name, want in expected.items():
        if received[name] != want:
            wrong.append(f"{name} received {dict(received[name])}, expected {dict(want)}")
    positions = {}
    with ATTRIBUTION.request("check", ""):
        for sku in SKUS:
            found = stack.erp.get(f"/v1/inventory/{sku}").json()["positions"]
            position = next(p for p in found if p["location"] == LOCATION)
            positions[sku] = {k: position[k] for k in ("on_hand", "reserved", "committed", "available")}
            if position["reserved"] or position["committed"]:
                wrong.append(f"{sku}: stock still held after every order closed: {positions[sku]}")
    dead = {q.name: q.depth for q in stack.rt.queues() if q.is_dlq and q.depth}
    if dead:
        wrong.append(f"dead letters: {dead}")
    errors = Counter(f"{f.function}/{f.label}: {f.error}" for f in ATTRIBUTION.frames if f.error)
    if errors:
        wrong.append(f"function errors: {dict(errors)}")
    if wrong:
        raise RuntimeError("bench: the order flow did not end as expected:\n  " + "\n  ".join(wrong))
    return {
        "completed": len(completed),
        "cancelled": len(cancelled),
        "systems_received": {name: dict(sorted(c.items())) for name, c in received.items()},
        "positions": positions,
        "as_expected": True,
    }


def _transitions(stack: Stack, orders: list[str]) -> dict[str, Any]:
    """State transitions per execution (each state entered; a retried task's extra attempts added)."""
    sfn = stack.rt.clients("stepfunctions")
    counts, paths = [], []
    for order_id in orders:
        events = sfn.get_execution_history(executionArn=_execution_arn(stack, order_id), maxResults=1000)["events"]
        entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
        tasks = sum(e["type"] == "TaskStateEntered" for e in events)
        scheduled = sum(e["type"] in ("LambdaFunctionScheduled", "TaskScheduled") for e in events)
        counts.append(len(entered) + max(0, scheduled - tasks))
        paths.append(entered)
    return {
        "executions": len(orders),
        "mean": round(sum(counts) / len(counts), 3),
        "min": min(counts),
        "max": max(counts),
        "path": paths[0],
    }


# ---------------------------------------------------------------------------------------------------- floors
GATE = {"dynamodb.Query": 1, "secretsmanager.GetSecretValue": 1}  # partner by API key (GSI), its signing secret
RESERVATION_CLOSE = {"dynamodb.GetItem": 1, "dynamodb.TransactWriteItems": 1, "events.PutEvents": 1}
DELIVERY = {"dynamodb.BatchGetItem": 1, "dynamodb.PutItem": 1}  # the delivery record read, then written


def _plus(*parts: dict[str, float]) -> dict[str, float]:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return dict(sorted(total.items()))


def _floors() -> dict[str, dict[str, Any]]:
    """The fewest requests the design (docs/order-to-ship.md) allows, per order. Every step reads the order item
    (one consistent GetItem), writes a decision once (`FulfillmentStore.advance`: one conditional UpdateItem, or one
    TransactWriteItems when the demand lines or an index item change with it) and publishes its events in one
    PutEvents; the reservation service, which the flow calls like any partner's request, reads, writes and
    publishes on its own (create: 1 transaction + 1 PutEvents; close: 1 GetItem of the record + 1 transaction + 1
    PutEvents); a delivery now reads the delivery record and writes it (1 BatchGetItem + 1 PutItem; the consumer
    later skips the target). Cold: the first order of fresh processes adds what the processes cache (the system
    list, a system's connection secret, a partner and its signing secret)."""
    read = {"dynamodb.GetItem": 1}
    update = {"dynamodb.UpdateItem": 1}
    transaction = {"dynamodb.TransactWriteItems": 1}
    put = {"events.PutEvents": 1}
    systems = {"dynamodb.Scan": 1, "secretsmanager.GetSecretValue": 1}  # the system list; the WMS's secret
    secret = {"secretsmanager.GetSecretValue": 1}
    warm = "the same (nothing of it is cached)"
    floors: dict[str, dict[str, Any]] = {
        "order_created": {
            "floor": _plus(transaction, put),
            "basis": "ingress POST /v1/orders: 1 TransactWriteItems (order + demand lines) + 1 PutEvents order.created",
            "cold_floor": _plus(transaction, put, GATE, {"dynamodb.BatchGetItem": 1}),
            "cold_basis": "+ partner by API key (GSI Query), signing secret, item+location master (1 BatchGetItem)",
        },
        "starter": {
            "floor": {"stepfunctions.StartExecution": 1},
            "basis": "order_starter: 1 StartExecution named after the order (a duplicate is refused by the name)",
            "cold_floor": {"stepfunctions.StartExecution": 1},
            "cold_basis": "the same (settings and timers come from the environment)",
        },
        "validate": {
            "floor": read,
            "basis": "read the order item; writes nothing",
            "cold_floor": read,
            "cold_basis": warm,
        },
        "reserve": {
            "floor": _plus(read, transaction, put, transaction),
            "basis": "read; reservation service create: 1 TransactWriteItems (record + positions, available >= q) + "
            "1 PutEvents reservation.created; 1 TransactWriteItems (order item + demand lines allocated)",
            "cold_floor": _plus(read, transaction, put, transaction),
            "cold_basis": warm,
        },
        "release": {
            "floor": _plus(read, update, DELIVERY, put),
            "basis": "read; 1 UpdateItem (token, status released); order.released delivered now to the WMS "
            "(BatchGetItem + PutItem of the delivery record); 1 PutEvents (order.released, order.status_changed)",
            "cold_floor": _plus(read, update, DELIVERY, put, systems),
            "cold_basis": "+ the system list (Scan, cached 60 s), the WMS's connection secret",
            "http_floor": {"POST wms": 1},
            "http_basis": "order.released to the WMS, signed",
        },
        "erp_status": {
            "floor": _plus(read, DELIVERY, put),
            "basis": "read; order.status_changed (picked) delivered now to the ERP (BatchGetItem + PutItem); "
            "1 PutEvents; writes nothing",
            "cold_floor": _plus(read, DELIVERY, put, secret),
            "cold_basis": "+ the ERP's connection secret",
            "http_floor": {"POST erp": 1},
            "http_basis": "order.status_changed (picked) to the ERP",
        },
        "ship": {
            "floor": _plus(read, update, DELIVERY, put),
            "basis": "read; 1 UpdateItem (token, status awaiting_dispatch); shipment.ready delivered now to the "
            "TMS (BatchGetItem + PutItem); 1 PutEvents (shipment.ready, order.status_changed)",
            "cold_floor": _plus(read, update, DELIVERY, put, secret),
            "cold_basis": "+ the TMS's connection secret",
            "http_floor": {"POST tms": 1},
            "http_basis": "shipment.ready to the TMS",
        },
        "dispatch": {
            "floor": _plus(read, RESERVATION_CLOSE, transaction, put),
            "basis": "read; reservation service commit (GetItem of the reservation, 1 TransactWriteItems, 1 "
            "PutEvents reservation.committed); 1 TransactWriteItems (order item + demand lines shipped); 1 "
            "PutEvents (shipment.dispatched, order.status_changed, invoice.requested)",
            "cold_floor": _plus(read, RESERVATION_CLOSE, transaction, put),
            "cold_basis": warm,
        },
        "track": {
            "floor": _plus(read, update),
            "basis": "read; 1 UpdateItem (the token stored until the carrier reports delivery)",
            "cold_floor": _plus(read, update),
            "cold_basis": warm,
        },
        "complete": {
            "floor": _plus(read, update, put),
            "basis": "read; 1 UpdateItem (status completed); 1 PutEvents order.status_changed",
            "cold_floor": _plus(read, update, put),
            "cold_basis": warm,
        },
        "compensate": {
            "floor": _plus(read, RESERVATION_CLOSE, DELIVERY, transaction, put),
            "basis": "read; reservation service release (GetItem, 1 TransactWriteItems, 1 PutEvents "
            "reservation.released); order.release_cancelled delivered now to the WMS (BatchGetItem + PutItem); 1 "
            "TransactWriteItems (order item + demand lines cancelled); 1 PutEvents (order.release_cancelled, "
            "order.cancelled, order.status_changed)",
            "http_floor": {"POST wms": 1},
            "http_basis": "order.release_cancelled to the WMS",
        },
        "pick_progress": {
            "floor": _plus(read, {"stepfunctions.SendTaskHeartbeat": 1}),
            "basis": "ingress: read the order; 1 SendTaskHeartbeat (no write)",
            "cold_floor": _plus(read, {"stepfunctions.SendTaskHeartbeat": 1}, GATE),
            "cold_basis": "+ the WMS partner by API key (GSI Query), its signing secret",
        },
        "pick_complete": {
            "floor": _plus(read, update, {"stepfunctions.SendTaskSuccess": 1}),
            "basis": "ingress: read; 1 UpdateItem claiming the token with the pick; 1 SendTaskSuccess",
            "cold_floor": _plus(read, update, {"stepfunctions.SendTaskSuccess": 1}),
            "cold_basis": "the WMS partner is cached by its pick-progress",
        },
        "pick_complete_duplicate": {
            "floor": _plus(read, {"stepfunctions.SendTaskSuccess": 1}),
            "basis": "ingress: read (the claim is there: 200 duplicate); the claimed token's answer sent again "
            "(a first answer lost after the claim would otherwise be lost for good)",
            "cold_floor": _plus(read, {"stepfunctions.SendTaskSuccess": 1}),
            "cold_basis": warm,
        },
        "dispatch_callback": {
            "floor": _plus(read, transaction, {"stepfunctions.SendTaskSuccess": 1}),
            "basis": "ingress: read; 1 TransactWriteItems (claim + shipment on the order item, the tracking index "
            "item); 1 SendTaskSuccess",
            "cold_floor": _plus(read, transaction, {"stepfunctions.SendTaskSuccess": 1}, GATE),
            "cold_basis": "+ the TMS partner by API key (GSI Query), its signing secret",
        },
        "carrier_delivered": {
            "floor": _plus(read, read, put, update, {"stepfunctions.SendTaskSuccess": 1}),
            "basis": "ingress: GetItem of the tracking index, GetItem of the order; 1 PutEvents "
            "shipment.milestone; 1 UpdateItem (scan, status delivered, claim); 1 SendTaskSuccess to track",
            "cold_floor": _plus(read, read, put, update, {"stepfunctions.SendTaskSuccess": 1}, read, secret),
            "cold_basis": "+ the carrier partner by id (GetItem), its signing secret",
        },
        "cancel": {
            "floor": _plus(read, update, {"stepfunctions.SendTaskFailure": 1}),
            "basis": "ingress: read; 1 UpdateItem (cancel + claim of the pick wait); 1 SendTaskFailure OrderCancelled",
        },
    }
    return floors


# ------------------------------------------------------------------------------------------------ reporting
def _sum(frames: list[Frame], attribute: str = "calls") -> Counter[str]:
    total: Counter[str] = Counter()
    for frame in frames:
        total.update(getattr(frame, attribute))
    return total


def _per(total: Counter[str], n: int) -> dict[str, float]:
    return {op: round(count / n, 4) for op, count in sorted(total.items())}


def _selected(frames: list[Frame], function: str, label: str, orders: list[str]) -> list[Frame]:
    wanted = set(orders)
    return [f for f in frames if f.function == function and f.label == label and wanted & set(f.orders)]


def _scenario(
    floor: dict[str, Any],
    frames: list[Frame],
    function: str,
    label: str,
    steady: list[str],
    cold: list[str] | None,
    *,
    http: bool = False,
) -> dict[str, Any]:
    """Per order: the requests of its invocations for `label`, added up (retries of a step count against it)."""
    chosen = _selected(frames, function, label, steady)
    if function == "order_starter":  # a queue batch may carry several orders: its requests shared out
        total: Counter[str] = Counter()
        for frame in chosen:
            share = sum(o in steady for o in frame.orders) / max(1, len(frame.orders))
            total.update({op: n * share for op, n in frame.calls.items()})
    else:
        total = _sum(chosen)
    out: dict[str, Any] = {
        **floor,
        "steady_per_event": _per(total, len(steady)),
        "steady_events": len(steady),
        "invocations_per_event": round(len(chosen) / len(steady), 3),
    }
    if cold is not None and "cold_floor" in floor:
        out["cold"] = dict(sorted(_sum(_selected(frames, function, label, cold)).items()))
        out["cold_unit"] = "the first order (fresh processes)"
    if http:
        out["http_per_event"] = _per(_sum(chosen, "http"), len(steady))
    return out


def _per_function(frames: list[Frame], phase: str, orders: int) -> dict[str, Any]:
    """Every function's requests (and HTTP calls) in a phase, per order: the flow's and its events' consumers'."""
    out: dict[str, Any] = {}
    for function in sorted({f.function for f in frames if f.phase == phase}):
        mine = [f for f in frames if f.phase == phase and f.function == function and f.label != "check"]
        if not mine:
            continue
        calls, http = _sum(mine), _sum(mine, "http")
        out[function] = {
            "invocations": len(mine),
            "per_order": _per(calls, orders),
            "requests_per_order": round(sum(calls.values()) / orders, 3),
            "http_per_order": _per(http, orders),
        }
    return out


def _http_per_system(frames: list[Frame], phase: str, orders: int, expected: dict[str, dict[str, int]]) -> Any:
    """POSTs to each system per order (all functions) against one per distinct event the system must receive."""
    measured = _sum([f for f in frames if f.phase == phase], "http")
    out = {}
    for name in SYSTEMS:
        floor = sum(expected.get(name, {}).values())
        value = round(measured.get(f"POST {name}", 0) / orders, 3)
        out[name] = {"measured": value, "floor": floor, "events": expected.get(name, {})}
    return out


def run() -> dict[str, Any]:
    _hook_http()
    stack = _start()
    try:
        return _measure(stack)
    finally:
        _stop(stack.rt, stack.receivers)


def _measure(stack: Stack) -> dict[str, Any]:
    started = time.perf_counter()
    completed = [f"BENCH-{n:03d}" for n in range(1, COMPLETED + 1)]
    cancelled = [f"BENCH-C{n:02d}" for n in range(1, CANCELLED + 1)]
    cold, steady = completed[:1], completed[1:]

    stack.rt.functions.close()  # every function starts cold: the first order pays what processes cache
    ATTRIBUTION.phase = "cold"
    _drive(stack, cold)
    _delivered(stack, _expected(1, 0))
    ATTRIBUTION.phase = "steady"
    _drive(stack, steady)
    _delivered(stack, _expected(COMPLETED, 0))
    ATTRIBUTION.phase = "cancel"
    _cancel(stack, cancelled)
    _delivered(stack, _expected(COMPLETED, CANCELLED))
    ATTRIBUTION.phase = "check"
    check = _check(stack, completed, cancelled)
    elapsed = time.perf_counter() - started

    frames, floors = list(ATTRIBUTION.frames), _floors()
    scenarios: dict[str, Any] = {
        "order_created": _scenario(floors["order_created"], frames, "ingress", "order_created", steady, cold),
        "starter": _scenario(floors["starter"], frames, "order_starter", "batch", steady, cold),
    }
    for step in STEPS:
        http = "http_floor" in floors[step]
        scenarios[step] = _scenario(floors[step], frames, "order_flow", step, steady, cold, http=http)
    for callback in CALLBACKS:
        scenarios[callback] = _scenario(floors[callback], frames, "ingress", callback, steady, cold)
    scenarios["cancel"] = _scenario(floors["cancel"], frames, "ingress", "cancel", cancelled, None)
    scenarios["compensate"] = _scenario(floors["compensate"], frames, "order_flow", "compensate", cancelled, None)
    scenarios["compensate"]["http_per_event"] = _per(
        _sum(_selected(frames, "order_flow", "compensate", cancelled), "http"), len(cancelled)
    )
    return {
        "scenarios": scenarios,
        "per_function": {
            "cold": _per_function(frames, "cold", 1),
            "steady": _per_function(frames, "steady", len(steady)),
            "cancel": _per_function(frames, "cancel", len(cancelled)),
        },
        "http_per_system": {
            "cold": _http_per_system(frames, "cold", 1, EXPECTED_COMPLETED),
            "steady": _http_per_system(frames, "steady", len(steady), EXPECTED_COMPLETED),
            "cancel": _http_per_system(frames, "cancel", len(cancelled), EXPECTED_CANCELLED),
        },
        "state_transitions": {
            "completed": _transitions(stack, completed),
            "cancelled": _transitions(stack, cancelled),
        },
        "check": check,
        "orders": {"cold": cold, "steady": len(steady), "cancelled": len(cancelled)},
        "run_seconds": round(elapsed, 1),
    }


def main(argv: list[str]) -> None:
    with stdout_to_devnull():
        result = run()
    write_json(Path(argv[0]), result)


if __name__ == "__main__":
    main(sys.argv[1:])
