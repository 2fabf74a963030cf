"""The order-to-ship state of an order, on its `ORDER#<id>` / `ORDER` item in the orders table.

Every writer (the flow's steps, the partner callbacks, the cancel route, the carrier tracking route) reads the
record, decides in `shared.services.fulfillment`, and writes with `advance`, which is conditional on the
`version` it read: a concurrent writer makes it raise `FlowChanged`, and the caller reads again and decides
again. One write per decision: an UpdateItem, or a TransactWriteItems when it also writes the tracking index
or an exceptions-list entry.

Attributes the flow adds to the order item (docs/order-to-ship.md, "Records"):
- `status`, `status_at`, `step` (the step that wrote last), `version`;
- `waiting`: `{step, token, since, claimed_at?, claimed_by?}` while an execution is parked on a task token (the
  callbacks find the token by order id); `claimed_at` is set by the callback that resumed it, so a second
  delivery of the same callback is told apart from the first;
- `cancel`: `{requested_at, reason, by}` (the compensation adds `previous_status`, `reservation_released`,
  `warehouse_notified`); `reservation_id`; `backorder_rounds`; `split_into` (child order ids); `allocation`
  (`{line: quantity}` reserved, when a split reserved less than ordered);
- `pick`, `shipment`: what the WMS and the TMS reported; `exception`: `{step, error, reason, at}`;
- `timeline`: `[{at, milestone, source, detail?}]`, in the order written (at most `MAX_TIMELINE` entries).

Other items: `TRACKING#<carrier>#<tracking number>` / `TRACKING` -> `order_id` (carrier callbacks find the order),
and `EXCEPTION#order_exception` / `<order_id>#0000` (the exceptions list; removed when the order leaves
`exception`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item, to_value
from shared.aws.orders_store import (
    EXCEPTION_PREFIX,
    MAX_TRANSACTION_ITEMS,
    ORDER_PREFIX,
    ORDER_SK,
    exception_key,
    iso,
)
from shared.canonical.orders import CustomerOrder

ORDER_EXCEPTION = "order_exception"
SHIPMENT_DELAYED = "shipment_delayed"
TRACKING_PREFIX = "TRACKING#"
TRACKING_SK = "TRACKING"
MAX_TIMELINE = 200  # entries kept on the order item (~150 bytes each); later ones are dropped and logged
_UNSET: Any = object()


def _plain_json(value: Any) -> Any:
    """JSON values as DynamoDB takes them (floats as Decimal)."""
    return json.loads(json.dumps(value), parse_float=Decimal)


class FlowChanged(Exception):
    """The order item is not at the version read: another writer moved it. Read again and decide again."""


class UnknownOrder(Exception):
    pass


def tracking_key(carrier: str, tracking_number: str) -> dict[str, Any]:
    return {"pk": {"S": f"{TRACKING_PREFIX}{carrier.lower()}#{tracking_number}"}, "sk": {"S": TRACKING_SK}}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    milestone: str  # an order status, a flow event (released, picked, cancel_requested...) or a carrier milestone
    source: str  # the partner, system or component that reported it (e.g. wh-east, fedex, distrosync.order-flow)
    detail: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {"at": iso(self.at), "milestone": self.milestone, "source": self.source, "detail": self.detail}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> TimelineEntry:
        return cls(datetime.fromisoformat(data["at"]), data["milestone"], data["source"], data.get("detail"))


@dataclass(frozen=True)
class Waiting:
    step: str
    token: str
    since: datetime
    claimed_at: datetime | None = None  # a callback resumed it (the token was sent back)
    claimed_by: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "token": self.token,
            "since": iso(self.since),
            "claimed_at": iso(self.claimed_at) if self.claimed_at else None,
            "claimed_by": self.claimed_by,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Waiting:
        claimed = data.get("claimed_at")
        return cls(
            step=data["step"],
            token=data["token"],
            since=datetime.fromisoformat(data["since"]),
            claimed_at=datetime.fromisoformat(claimed) if claimed else None,
            claimed_by=data.get("claimed_by"),
        )


@dataclass(frozen=True)
class FlowRecord:
    """An order with its order-to-ship state, as read (`version` is what `advance` is conditioned on)."""

    order: CustomerOrder
    status: str
    version: int
    correlation_id: str
    step: str | None = None
    status_at: datetime | None = None
    waiting: Waiting | None = None
    cancel: dict[str, Any] | None = None  # {requested_at, reason, by}
    reservation_id: str | None = None
    backorder_rounds: int = 0
    split_into: tuple[str, ...] = ()
    pick: dict[str, Any] | None = None
    shipment: dict[str, Any] | None = None
    exception: dict[str, Any] | None = None
    timeline: tuple[TimelineEntry, ...] = ()
    allocation: dict[int, int] | None = None  # line -> units reserved, when a split reserved less than ordered
    # The item as read (plain values): what `advance` applies a transaction's changes to instead of reading it back.
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def quantities(self) -> dict[int, int]:
        """Units per line this order ships (what is released to the WMS): the allocation of a split, else the
        order's lines. Lines with none are left out."""
        if self.allocation is not None:
            return {line: qty for line, qty in sorted(self.allocation.items()) if qty > 0}
        return {line.line: line.quantity for line in self.order.lines}

    @property
    def cancel_requested(self) -> bool:
        return self.cancel is not None


def record_from_item(item: Mapping[str, Any]) -> FlowRecord:
    return record_from_data(from_item(dict(item)))


def record_from_data(data: dict[str, Any]) -> FlowRecord:
    order = CustomerOrder.model_validate({k: data[k] for k in CustomerOrder.model_fields if k in data})
    waiting = data.get("waiting")
    status_at = data.get("status_at")
    allocation = data.get("allocation")
    return FlowRecord(
        order=order,
        status=data.get("status", "open"),
        version=int(data.get("version", 1)),
        correlation_id=data.get("correlation_id", ""),
        step=data.get("step"),
        status_at=datetime.fromisoformat(status_at) if status_at else None,
        waiting=Waiting.from_data(waiting) if waiting else None,
        cancel=data.get("cancel"),
        reservation_id=data.get("reservation_id"),
        backorder_rounds=int(data.get("backorder_rounds", 0)),
        split_into=tuple(data.get("split_into") or ()),
        pick=data.get("pick"),
        shipment=data.get("shipment"),
        exception=data.get("exception"),
        timeline=tuple(TimelineEntry.from_data(e) for e in data.get("timeline") or ()),
        allocation={int(k): int(v) for k, v in allocation.items()} if allocation is not None else None,
        raw=data,
    )


class FulfillmentStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def _key(self, order_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"{ORDER_PREFIX}{order_id}"}, "sk": {"S": ORDER_SK}}

    # --------------------------------------------------------------------------------------------- reads
    def get(self, order_id: str) -> FlowRecord | None:
        """The order with its flow state (one consistent GetItem), or None."""
        found = client("dynamodb").get_item(TableName=self.table_name, Key=self._key(order_id), ConsistentRead=True)
        return record_from_item(found["Item"]) if "Item" in found else None

    def require(self, order_id: str) -> FlowRecord:
        record = self.get(order_id)
        if record is None:
            raise UnknownOrder(order_id)
        return record

    def find_by_tracking(self, carrier: str, tracking_number: str) -> str | None:
        """The order a carrier's tracking number belongs to (one GetItem), or None."""
        found = client("dynamodb").get_item(
            TableName=self.table_name, Key=tracking_key(carrier, tracking_number), ConsistentRead=True
        )
        return from_item(found["Item"])["order_id"] if "Item" in found else None

    # -------------------------------------------------------------------------------------------- writes
    def advance(
        self,
        record: FlowRecord,
        *,
        now: datetime,
        status: str | None = None,
        step: str | None = None,
        waiting: Waiting | None = _UNSET,
        set: Mapping[str, Any] | None = None,
        remove: Sequence[str] = (),
        timeline: Sequence[TimelineEntry] = (),
        tracking: tuple[str, str] | None = None,
        exception_entry: Mapping[str, Any] | None = None,
        clear_exception_entry: bool = False,
        exception_kind: str = ORDER_EXCEPTION,
        also: Sequence[Mapping[str, Any]] = (),
    ) -> FlowRecord:
        """Write what a decision changes, if the order is still at `record.version`; return the record as written.

        `status` also sets `status_at`; `waiting=None` removes the wait (leave it out to keep it); `set` writes other
        attributes (plain JSON values: `pick`, `shipment`, `cancel`, `reservation_id`, ...); `timeline` entries are
        appended. `tracking` (carrier, number) writes the tracking index item, `exception_entry` the order's entry
        on the exceptions list of `exception_kind` (`clear_exception_entry` deletes it), `also` other
        TransactWriteItems entries (the order's demand lines: `OrdersStore.demand_status_updates`): these make the
        write a transaction, whose first item is the order's.
        Raises FlowChanged when another writer got there first."""
        values: dict[str, Any] = {":expected": to_value(record.version), ":next": to_value(record.version + 1)}
        names: dict[str, str] = {"#version": "version"}
        sets = ["#version = :next"]
        removes: list[str] = []
        changes: dict[str, Any] = dict(set or {})
        if status is not None:
            changes["status"] = status
            changes["status_at"] = iso(now)
        if step is not None:
            changes["step"] = step
        if waiting is not _UNSET:
            if waiting is None:
                removes.append("waiting")
            else:
                changes["waiting"] = {k: v for k, v in waiting.as_data().items() if v is not None}
        for i, (name, value) in enumerate(changes.items()):
            if value is None:
                removes.append(name)
                continue
            names[f"#s{i}"] = name
            values[f":s{i}"] = to_value(_plain_json(value))
            sets.append(f"#s{i} = :s{i}")
        kept = list(timeline)[: max(0, MAX_TIMELINE - len(record.timeline))]
        if kept:
            names["#timeline"] = "timeline"
            values[":timeline"] = to_value([e.as_data() for e in kept])
            values[":empty"] = to_value([])
            sets.append("#timeline = list_append(if_not_exists(#timeline, :empty), :timeline)")
        remove_names = []
        for i, name in enumerate(dict.fromkeys([*remove, *removes])):
            names[f"#r{i}"] = name
            remove_names.append(f"#r{i}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(remove_names) if remove_names else "")
        update = {
            "TableName": self.table_name,
            "Key": self._key(record.order_id),
            "UpdateExpression": expression,
            "ConditionExpression": "#version = :expected",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        extra_items = [
            *self._side_items(record, now, tracking, exception_entry, clear_exception_entry, exception_kind),
            *also,
        ]
        if len(extra_items) >= MAX_TRANSACTION_ITEMS:
            raise ValueError(f"order {record.order_id}: {len(extra_items) + 1} items do not fit in one transaction")
        dynamodb = client("dynamodb")
        if not extra_items:
            try:
                written = dynamodb.update_item(**update, ReturnValues="ALL_NEW")
            except dynamodb.exceptions.ConditionalCheckFailedException:
                raise FlowChanged(record.order_id) from None
            return record_from_item(written["Attributes"])
        try:
            dynamodb.transact_write_items(TransactItems=[{"Update": update}, *extra_items])
        except dynamodb.exceptions.TransactionCanceledException as exc:
            codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
            if codes and codes[0] == "ConditionalCheckFailed":
                raise FlowChanged(record.order_id) from exc
            if tracking is not None and len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise TrackingTaken(tracking) from exc  # the tracking index item comes right after the order's
            if "TransactionConflict" in codes:  # a concurrent transaction on one of the items: read, decide again
                raise FlowChanged(record.order_id) from exc
            raise
        if not record.raw:
            return self.require(record.order_id)
        # The transaction wrote exactly these changes on the version read: the new record without reading it back.
        removed = {*remove, *removes}
        data = {k: v for k, v in record.raw.items() if k not in removed}
        data.update({k: json.loads(json.dumps(v)) for k, v in changes.items() if v is not None})
        data["version"] = record.version + 1
        if kept:
            data["timeline"] = [*(data.get("timeline") or []), *(e.as_data() for e in kept)]
        return record_from_data(data)

    def _side_items(
        self,
        record: FlowRecord,
        now: datetime,
        tracking: tuple[str, str] | None,
        exception_entry: Mapping[str, Any] | None,
        clear_exception_entry: bool,
        exception_kind: str = ORDER_EXCEPTION,
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if tracking is not None:
            carrier, number = tracking
            key = tracking_key(carrier, number)
            items.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": {
                            **key,
                            **to_item({"order_id": record.order_id, "carrier": carrier, "tracking_number": number}),
                        },
                        # A tracking number belongs to one order (a repeat for the same order is fine).
                        "ConditionExpression": "attribute_not_exists(pk) OR order_id = :order",
                        "ExpressionAttributeValues": {":order": {"S": record.order_id}},
                    }
                }
            )
        if exception_entry is not None:
            item = {
                "pk": f"{EXCEPTION_PREFIX}{exception_kind}",
                "sk": f"{record.order_id}#0000",
                "order_id": record.order_id,
                "since": iso(now),
                **exception_entry,
            }
            items.append({"Put": {"TableName": self.table_name, "Item": to_item(_plain_json(item))}})
        elif clear_exception_entry:
            items.append(
                {"Delete": {"TableName": self.table_name, "Key": exception_key(exception_kind, record.order_id, 0)}}
            )
        return items


class TrackingTaken(Exception):
    """The tracking number is already another order's."""
