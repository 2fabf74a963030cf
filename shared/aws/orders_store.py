"""Customer orders, demand per SKU, supplier lead times and the exceptions list in the orders table.

Layout (`pk` / `sk`, docs/supplier-collaboration.md "Promising"):
- `ORDER#<id>` / `ORDER`: the order (`CustomerOrder` fields, `status`, `version`, `correlation_id`);
- `SKU#<sku>` / `DEMAND#<location>#<placed_at>#<order>#<line>`: one order line (quantity, requested date), its
  `status` (`open`; then, as the order-to-ship flow moves it, `allocated`, `shipped` or `cancelled`) and its
  promise (`promise_date`, `at_risk`, `depends_on`, `promised_at`, ...), `version` bumped by every write, and the
  `order.promise_date_changed` of its writes until published (`outbox`, `shared.aws.record_outbox`, ADR 0013);
- `SKU#<sku>` / `LEADTIME#<supplier>[#<location>]`: the newest lead time by the supplier's `sequence`;
- `EXCEPTION#<kind>` / `<order>#<line>`: a line on the exceptions list (what `GET /v1/exceptions` shows).

`placed_at` is written as fixed-width UTC and the line number zero-padded, so that a SKU's demand sorts in arrival
order within a location and the exceptions list by order, then line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shared.aws import record_outbox
from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item, to_value
from shared.canonical.orders import CustomerOrder, OrderLine
from shared.domain.promising import DemandLine, ExceptionStep, LeadTime, PromiseState
from shared.observability import logger

ORDER_PREFIX = "ORDER#"
ORDER_SK = "ORDER"
SKU_PREFIX = "SKU#"
DEMAND_PREFIX = "DEMAND#"
LEAD_TIME_PREFIX = "LEADTIME#"
EXCEPTION_PREFIX = "EXCEPTION#"
PROMISE_AT_RISK = "promise_at_risk"
MAX_TRANSACTION_ITEMS = 100
BATCH_GET_LIMIT = 100
OPEN = "open"  # the only status the promiser pegs: reserved stock is not counted twice (ADR 0012)
ALLOCATED = "allocated"  # the order-to-ship flow reserved it
SHIPPED = "shipped"
CANCELLED = "cancelled"  # the order was cancelled, or the line moved to a split-off order
DEMAND_STATUSES: tuple[str, ...] = (OPEN, ALLOCATED, SHIPPED, CANCELLED)
# What a demand item holds besides its outbox, at most: its key and line (~300 bytes) and a promise whose
# `depends_on` lists supply references (a few dozen bytes each). The outbox is checked against the rest.
DEMAND_ITEM_ALLOWANCE = 8 * 1024


class OrderContended(Exception):
    """DynamoDB cancelled the order's transaction for a concurrent one on the same items; retry."""


class DemandChanged(Exception):
    """A demand line is not at the version read (another writer re-pegged it); read again and re-peg.
    `written`: how many of the writes (in order) were committed before it."""

    def __init__(self, written: int) -> None:
        self.written = written
        super().__init__(f"{written} line(s) written before a conflict")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def order_key(order_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"{ORDER_PREFIX}{order_id}"}, "sk": {"S": ORDER_SK}}


def demand_sk(location: str, placed_at: datetime, order_id: str, line: int) -> str:
    return f"{DEMAND_PREFIX}{location}#{iso(placed_at)}#{order_id}#{line:04d}"


def demand_key(sku: str, location: str, placed_at: datetime, order_id: str, line: int) -> dict[str, Any]:
    return {"pk": {"S": f"{SKU_PREFIX}{sku}"}, "sk": {"S": demand_sk(location, placed_at, order_id, line)}}


def exception_sk(order_id: str, line: int) -> str:
    return f"{order_id}#{line:04d}"


def exception_key(kind: str, order_id: str, line: int) -> dict[str, Any]:
    return {"pk": {"S": f"{EXCEPTION_PREFIX}{kind}"}, "sk": {"S": exception_sk(order_id, line)}}


def lead_time_sk(supplier_id: str, location: str | None) -> str:
    return f"{LEAD_TIME_PREFIX}{supplier_id}" + (f"#{location}" if location else "")


# ------------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class StoredOrder:
    order: CustomerOrder
    status: str
    version: int
    correlation_id: str


@dataclass(frozen=True)
class StoredDemand:
    """A demand line as read, with its promise and the version a write is conditioned on."""

    sku: str
    line: DemandLine
    state: PromiseState
    version: int
    status: str = OPEN
    outbox: tuple[str, ...] = ()  # events of earlier writes not known to be published (envelope JSON)

    @property
    def key(self) -> dict[str, Any]:
        line = self.line
        return demand_key(self.sku, line.location, line.placed_at, line.order_id, line.line)


@dataclass(frozen=True)
class SkuDemand:
    sku: str
    demand: list[StoredDemand] = field(default_factory=list)
    lead_times: list[LeadTime] = field(default_factory=list)
    # Every demand item of the SKU (open or not) still carrying events: what a re-peg publishes even if it
    # changes nothing.
    left_over: list[StoredDemand] = field(default_factory=list)
    # Lines no longer open (the order-to-ship flow moved them) still marked at risk: off the exceptions list.
    closed_at_risk: list[StoredDemand] = field(default_factory=list)


@dataclass(frozen=True)
class Published:
    """A demand item whose outbox went out: removed if the item is still at `version`."""

    key: dict[str, Any]
    version: int


@dataclass(frozen=True)
class LeadTimeRecord:
    sku: str
    supplier_id: str
    location: str | None
    days: int
    sequence: int
    effective_at: datetime


@dataclass(frozen=True)
class DemandWrite:
    """One re-pegged line: its new promise state, and what happens to its exceptions-list entry."""

    demand: StoredDemand
    state: PromiseState
    exception: ExceptionStep | None
    days_late: int | None = None
    # The item's outbox after the write (what it carried, then this write's event); empty: left as it is.
    outbox: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExceptionPage:
    items: list[dict[str, Any]]
    last_sk: str | None  # where the next page starts (after this sort key); None: no more


def _order_item(order: CustomerOrder, correlation_id: str) -> dict[str, Any]:
    data = order.model_dump(mode="json")
    return to_item(
        {
            "pk": f"{ORDER_PREFIX}{order.order_id}",
            "sk": ORDER_SK,
            **data,
            "status": OPEN,
            "version": 1,
            "correlation_id": correlation_id,
        }
    )


def _demand_item(order: CustomerOrder, line: OrderLine) -> dict[str, Any]:
    return to_item(
        {
            "pk": f"{SKU_PREFIX}{line.sku}",
            "sk": demand_sk(line.location, order.placed_at, order.order_id, line.line),
            "order_id": order.order_id,
            "line": line.line,
            "sku": line.sku,
            "location": line.location,
            "quantity": line.quantity,
            "requested_date": line.requested_date.isoformat(),
            "placed_at": iso(order.placed_at),
            "status": OPEN,
            "at_risk": False,
            "depends_on": [],
            "version": 1,
        }
    )


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def demand_from_item(item: dict[str, Any]) -> StoredDemand:
    outbox = record_outbox.pop(item)
    data = from_item(item)
    return StoredDemand(
        sku=data["sku"],
        line=DemandLine(
            order_id=data["order_id"],
            line=int(data["line"]),
            location=data["location"],
            placed_at=datetime.fromisoformat(data["placed_at"]),
            quantity=int(data["quantity"]),
            requested_date=_date(data.get("requested_date")),
        ),
        state=PromiseState(
            promise_date=_date(data.get("promise_date")),
            at_risk=bool(data.get("at_risk", False)),
            depends_on=tuple(data.get("depends_on") or ()),
            promised_at=_datetime(data.get("promised_at")),
            previous_promise_date=_date(data.get("previous_promise_date")),
            at_risk_since=_datetime(data.get("at_risk_since")),
        ),
        version=int(data.get("version", 1)),
        status=data.get("status", OPEN),
        outbox=outbox,
    )


def _lead_time_from(data: dict[str, Any]) -> LeadTime:
    return LeadTime(supplier_id=data["supplier_id"], location=data.get("location"), days=int(data["lead_time_days"]))


def _state_update(
    state: PromiseState, version: int, outbox: Sequence[str] = ()
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """UpdateExpression, names and values that set the promise (absent values removed), bump the version and,
    when given, set the outbox."""
    values: dict[str, Any] = {
        "promise_date": state.promise_date.isoformat() if state.promise_date else None,
        "at_risk": state.at_risk,
        "depends_on": list(state.depends_on),
        "promised_at": iso(state.promised_at) if state.promised_at else None,
        "previous_promise_date": state.previous_promise_date.isoformat() if state.previous_promise_date else None,
        "at_risk_since": iso(state.at_risk_since) if state.at_risk_since else None,
    }
    sets = [f"#{k} = :{k}" for k, v in values.items() if v is not None]
    removes = [f"#{k}" for k, v in values.items() if v is None]
    names = {f"#{k}": k for k in values} | {"#version": "version"}
    attribute_values = {f":{k}": to_value(v) for k, v in values.items() if v is not None}
    attribute_values |= {":one": {"N": "1"}, ":expected": {"N": str(version)}}
    if outbox:
        sets.append("#outbox = :outbox")
        names["#outbox"] = record_outbox.ATTRIBUTE
        attribute_values[":outbox"] = record_outbox.encode(outbox, rest=DEMAND_ITEM_ALLOWANCE)
    expression = "SET " + ", ".join([*sets, "#version = #version + :one"])
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    return expression, names, attribute_values


def _exception_item(kind: str, write: DemandWrite, now: datetime) -> dict[str, Any]:
    line, state = write.demand.line, write.state
    return to_item(
        {
            "pk": f"{EXCEPTION_PREFIX}{kind}",
            "sk": exception_sk(line.order_id, line.line),
            "order_id": line.order_id,
            "line": line.line,
            "sku": write.demand.sku,
            "location": line.location,
            "quantity": line.quantity,
            "requested_date": line.requested_date.isoformat() if line.requested_date else None,
            "previous_promise_date": state.previous_promise_date.isoformat() if state.previous_promise_date else None,
            "promise_date": state.promise_date.isoformat() if state.promise_date else None,
            "days_late": write.days_late,
            "depends_on": list(state.depends_on),
            "since": iso(state.at_risk_since or now),
            "updated_at": iso(now),
        }
    )


# --------------------------------------------------------------------------------------------------- store
class OrdersStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    # ------------------------------------------------------------------------------------------- orders
    def create(self, order: CustomerOrder, correlation_id: str) -> bool:
        """The order and one demand item per line, in one transaction. False: the order id exists."""
        items = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _order_item(order, correlation_id),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        items += [{"Put": {"TableName": self.table_name, "Item": _demand_item(order, line)}} for line in order.lines]
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"order {order.order_id}: {len(order.lines)} lines do not fit in one transaction")
        dynamodb = client("dynamodb")
        try:
            dynamodb.transact_write_items(TransactItems=items)
        except dynamodb.exceptions.TransactionCanceledException as exc:
            codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
            if codes and codes[0] == "ConditionalCheckFailed":
                return False
            if "TransactionConflict" in codes:
                raise OrderContended(order.order_id) from exc
            raise
        return True

    def get_order(self, order_id: str) -> StoredOrder | None:
        found = client("dynamodb").get_item(TableName=self.table_name, Key=order_key(order_id), ConsistentRead=True)
        if "Item" not in found:
            return None
        data = from_item(found["Item"])
        fields = {name: data[name] for name in CustomerOrder.model_fields if name in data}
        return StoredOrder(
            order=CustomerOrder.model_validate(fields),
            status=data.get("status", OPEN),
            version=int(data.get("version", 1)),
            correlation_id=data.get("correlation_id", ""),
        )

    def demand_status_updates(self, order: CustomerOrder, statuses: Mapping[int, str]) -> list[dict[str, Any]]:
        """TransactWriteItems `Update`s that set the status of the order's demand lines (by line number), for a
        caller's transaction (the flow writes them with the order item). Each bumps the line's `version`, so a
        promiser that read the line before fails its conditional write and reads it again."""
        updates = []
        for line in order.lines:
            status = statuses.get(line.line)
            if status is None:
                continue
            if status not in DEMAND_STATUSES:
                raise ValueError(f"not a demand status: {status!r}")
            updates.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": demand_key(line.sku, line.location, order.placed_at, order.order_id, line.line),
                        "UpdateExpression": "SET #status = :status, #version = if_not_exists(#version, :zero) + :one",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#status": "status", "#version": "version"},
                        "ExpressionAttributeValues": {
                            ":status": {"S": status},
                            ":zero": {"N": "0"},
                            ":one": {"N": "1"},
                        },
                    }
                }
            )
        return updates

    def at_risk_entry_deletes(self, order: CustomerOrder, lines: Iterable[int]) -> list[dict[str, Any]]:
        """TransactWriteItems `Delete`s of the `promise_at_risk` entries of the order's `lines` (absent ones are no
        error): lines that leave `open` leave that list. A line's demand item keeps its at-risk flag, which the
        promiser clears at its next re-peg of the SKU (`plan_closed_line`)."""
        return [
            {"Delete": {"TableName": self.table_name, "Key": exception_key(PROMISE_AT_RISK, order.order_id, n)}}
            for n in lines
        ]

    def order_demand(self, order: CustomerOrder) -> dict[int, StoredDemand]:
        """The demand items of the order's lines (with their promises), by line number: one BatchGetItem."""
        keys = [demand_key(x.sku, x.location, order.placed_at, order.order_id, x.line) for x in order.lines]
        found: dict[int, StoredDemand] = {}
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table_name: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}
            }
            while request:
                response = client("dynamodb").batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table_name, []):
                    demand = demand_from_item(item)
                    found[demand.line.line] = demand
                request = response.get("UnprocessedKeys") or {}
        return found

    # ---------------------------------------------------------------------------------------- promising
    def sku_demand(self, sku: str) -> SkuDemand:
        """The SKU's open demand lines (the only ones pegged) and its suppliers' lead times: one Query (paginated
        if large)."""
        demand: list[StoredDemand] = []
        lead_times: list[LeadTime] = []
        left_over: list[StoredDemand] = []
        closed_at_risk: list[StoredDemand] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"{SKU_PREFIX}{sku}"}},
            "ConsistentRead": True,
        }
        while True:
            response = client("dynamodb").query(**kwargs)
            for item in response["Items"]:
                sk = item["sk"]["S"]
                if sk.startswith(DEMAND_PREFIX):
                    stored = demand_from_item(item)
                    if stored.status == OPEN:
                        demand.append(stored)
                    elif stored.state.at_risk:
                        closed_at_risk.append(stored)
                    if stored.outbox:
                        left_over.append(stored)
                elif sk.startswith(LEAD_TIME_PREFIX):
                    lead_times.append(_lead_time_from(from_item(item)))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return SkuDemand(
            sku=sku, demand=demand, lead_times=lead_times, left_over=left_over, closed_at_risk=closed_at_risk
        )

    def put_lead_time(self, record: LeadTimeRecord, now: datetime) -> bool:
        """Keep the newest lead time per (supplier, SKU, location) by sequence. False: an equal or newer one
        is stored (a duplicate or an out-of-order delivery)."""
        item = to_item(
            {
                "pk": f"{SKU_PREFIX}{record.sku}",
                "sk": lead_time_sk(record.supplier_id, record.location),
                "supplier_id": record.supplier_id,
                "sku": record.sku,
                "location": record.location,
                "lead_time_days": record.days,
                "sequence": record.sequence,
                "effective_at": iso(record.effective_at),
                "updated_at": iso(now),
            }
        )
        dynamodb = client("dynamodb")
        try:
            dynamodb.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR #sequence < :sequence",
                ExpressionAttributeNames={"#sequence": "sequence"},
                ExpressionAttributeValues={":sequence": {"N": str(record.sequence)}},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def write_promises(self, writes: Sequence[DemandWrite], now: datetime) -> int:
        """Write re-pegged lines (each conditional on the version read) with their exceptions-list entries, in
        transactions of at most 100 items; a line and its entry always share one. Returns how many lines were
        written before a `DemandChanged` (raised when a line moved on since it was read, or DynamoDB cancelled
        for a concurrent transaction): the caller reads again and re-pegs the rest."""
        chunks: list[list[tuple[DemandWrite, list[dict[str, Any]]]]] = [[]]
        size = 0
        for write in writes:
            operations = self._operations(write, now)
            if size + len(operations) > MAX_TRANSACTION_ITEMS:
                chunks.append([])
                size = 0
            chunks[-1].append((write, operations))
            size += len(operations)
        written = 0
        dynamodb = client("dynamodb")
        for chunk in chunks:
            if not chunk:
                continue
            try:
                dynamodb.transact_write_items(TransactItems=[op for _, ops in chunk for op in ops])
            except dynamodb.exceptions.TransactionCanceledException as exc:
                codes = {reason.get("Code") for reason in exc.response.get("CancellationReasons") or []}
                if codes & {"ConditionalCheckFailed", "TransactionConflict"}:
                    raise DemandChanged(written) from exc
                raise
            written += len(chunk)
        return written

    def clear_outboxes(self, published: Sequence[Published]) -> int:
        """Remove published outboxes, each only from an item still at the version that carried it: one
        TransactWriteItems per 100 items, whatever their SKUs (a DynamoDB transaction is the only request that
        updates several items under conditions). An item that moved on meanwhile carries a newer write's outbox,
        which stays: the transaction is cancelled, then sent again once without the items whose condition failed.
        Left-over outboxes (a conflict with a concurrent transaction) are only published again by the SKU's next
        re-peg, as duplicates that consumers drop. Returns how many were removed."""
        dynamodb = client("dynamodb")
        cleared = 0
        for start in range(0, len(published), MAX_TRANSACTION_ITEMS):
            pending = list(published[start : start + MAX_TRANSACTION_ITEMS])
            for _ in range(2):
                if not pending:
                    break
                updates = [
                    {"Update": record_outbox.clearing(self.table_name, p.key, version=p.version)} for p in pending
                ]
                try:
                    dynamodb.transact_write_items(TransactItems=updates)
                except dynamodb.exceptions.TransactionCanceledException as exc:
                    reasons = exc.response.get("CancellationReasons") or []
                    codes = [r.get("Code") for r in reasons]
                    if "ConditionalCheckFailed" not in codes:
                        logger.info("outboxes left for the next re-peg", extra={"codes": codes})
                        break
                    pending = [p for p, code in zip(pending, codes, strict=False) if code != "ConditionalCheckFailed"]
                    continue
                cleared += len(pending)
                break
        return cleared

    def _operations(self, write: DemandWrite, now: datetime) -> list[dict[str, Any]]:
        line = write.demand.line
        expression, names, values = _state_update(write.state, write.demand.version, write.outbox)
        operations: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": write.demand.key,
                    "UpdateExpression": expression,
                    "ConditionExpression": "#version = :expected",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        ]
        if write.exception is ExceptionStep.PUT:
            item = _exception_item(PROMISE_AT_RISK, write, now)
            operations.append({"Put": {"TableName": self.table_name, "Item": item}})
        elif write.exception is ExceptionStep.DELETE:
            key = exception_key(PROMISE_AT_RISK, line.order_id, line.line)
            operations.append({"Delete": {"TableName": self.table_name, "Key": key}})
        return operations

    # --------------------------------------------------------------------------------------- exceptions
    def exceptions(self, kind: str, *, after: str | None, limit: int) -> ExceptionPage:
        """Up to `limit` entries of the exceptions list of `kind`, in order, starting after sort key `after`."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"{EXCEPTION_PREFIX}{kind}"}},
            "Limit": limit,
        }
        if after:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": f"{EXCEPTION_PREFIX}{kind}"}, "sk": {"S": after}}
        response = client("dynamodb").query(**kwargs)
        last = response.get("LastEvaluatedKey")
        return ExceptionPage(items=[from_item(i) for i in response["Items"]], last_sk=last["sk"]["S"] if last else None)


def lead_time_records(records: Iterable[LeadTimeRecord]) -> list[LeadTimeRecord]:
    """The newest record per (SKU, supplier, location) among `records` (a batch may carry several)."""
    newest: dict[tuple[str, str, str | None], LeadTimeRecord] = {}
    for record in records:
        key = (record.sku, record.supplier_id, record.location)
        if key not in newest or record.sequence > newest[key].sequence:
            newest[key] = record
    return list(newest.values())
