"""The order's fulfillment view (`GET /v1/orders/{id}`): its flow state, what it waits for, its shipment and its
timeline in time order, read from the order item alone (docs/order-to-ship.md, "Callbacks")."""

from __future__ import annotations

from typing import Any

from shared.api.fulfillment_models import (
    FulfillmentView,
    OrderDetail,
    ShipmentView,
    TimelineEntryView,
    WaitingView,
)
from shared.aws.fulfillment_store import FlowRecord, FulfillmentStore
from shared.aws.orders_store import StoredOrder
from shared.canonical.partner import Partner
from shared.http import problems as p
from shared.http.problems import Problem
from shared.services.orders import OrderService, may_read

# What a waiting step waits for, in the partner's words.
WAITING_FOR = {"release": "pick", "ship": "dispatch", "track": "delivery"}
SHIPMENT_FIELDS = tuple(ShipmentView.model_fields)


def fulfillment_view(record: FlowRecord) -> FulfillmentView:
    waiting = record.waiting
    shipment = record.shipment
    return FulfillmentView(
        status=record.status,
        step=record.step,
        waiting=WaitingView(
            waiting_for=WAITING_FOR[waiting.step],  # type: ignore[arg-type]
            since=waiting.since,
            reported=waiting.claimed_at is not None,
        )
        if waiting is not None and waiting.step in WAITING_FOR
        else None,
        reservation_id=record.reservation_id,
        shipment=ShipmentView.model_validate({k: shipment.get(k) for k in SHIPMENT_FIELDS if k in shipment})
        if shipment
        else None,
        exception=_texts(record.exception),
        cancel=_texts(record.cancel),
        split_into=list(record.split_into),
        timeline=[
            TimelineEntryView(at=e.at, milestone=e.milestone, source=e.source, detail=e.detail)
            for e in sorted(record.timeline, key=lambda e: e.at)
        ],
    )


def _texts(data: dict[str, Any] | None) -> dict[str, str | None] | None:
    return {k: None if v is None else str(v) for k, v in data.items()} if data else None


class OrderDetails:
    """`GET /v1/orders/{id}`: the #4 view (lines and promises) and the fulfillment view, from one read of the
    order item (plus its demand lines)."""

    def __init__(self, store: FulfillmentStore, orders: OrderService) -> None:
        self.store = store
        self.orders = orders

    def get(self, partner: Partner, order_id: str) -> OrderDetail:
        record = self.store.get(order_id)
        if record is None or not may_read(partner, record.order):
            raise Problem(p.UNKNOWN_ORDER, f"no order '{order_id}'", {"order_id": order_id})
        stored = StoredOrder(record.order, record.status, record.version, record.correlation_id)
        view = self.orders.stored_view(stored)
        return OrderDetail(**view.model_dump(), fulfillment=fulfillment_view(record))
