"""Customer orders: create (the order and its demand in one transaction, then `order.created`) and read.

Every source places its orders through `OrderService.place`: `POST /v1/orders` (`create`) and the channel
webhooks (`shared.services.channel_ingest`: Shopify orders/create, BigCommerce store/order/created).

AWS requests of a create: one BatchGetItem of master data (cached per process), one TransactWriteItems and one
PutEvents. A replay (same id, same lines) reads the order and its demand (GetItem, BatchGetItem) and publishes
`order.created` again under the same event id: consumers drop the duplicate, and a first request whose
publication failed after its transaction is completed by the partner's retry. (A channel's duplicate reads the
order only: GetItem.)
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from shared.api.order_models import OrderLineView, OrderRequest, OrderView
from shared.aws.bus import publish
from shared.aws.orders_store import OPEN, OrderContended, OrdersStore, StoredDemand, StoredOrder
from shared.canonical.envelope import Envelope, utcnow
from shared.canonical.items import EACH
from shared.canonical.orders import MAX_ORDER_LINES, CustomerOrder, OrderCreated, OrderLine
from shared.canonical.partner import Partner
from shared.domain.backoff import full_jitter
from shared.domain.errors import OutOfScope
from shared.domain.scopes import allows
from shared.http import problems as p
from shared.http.problems import Problem

if TYPE_CHECKING:
    from shared.services.inventory_ingest import RequestMeta
    from shared.services.master_data import MasterData

ORDERING_KINDS = ("channel", "erp", "customer")
ATTEMPTS = 4
PRICE_QUANTUM = Decimal("0.000001")
_EVENT_NAMESPACE = uuid.UUID("0b6f3c1e-4c57-4b8e-9d0a-4f1f2a9c7e21")


def created_event_id(order_id: str) -> str:
    return uuid.uuid5(_EVENT_NAMESPACE, f"order/{order_id}/{OrderCreated.event_type}").hex


def same_lines(a: CustomerOrder, b: CustomerOrder) -> bool:
    return sorted(a.lines, key=lambda x: x.line) == sorted(b.lines, key=lambda x: x.line)


def may_read(partner: Partner, order: CustomerOrder) -> bool:
    """The partner that placed it, or one that may act for every location it ships from."""
    return partner.partner_id == order.source_partner or all(
        allows(partner.scopes, "location", line.location) for line in order.lines
    )


class OrderService:
    def __init__(
        self,
        store: OrdersStore,
        bus_name: str,
        *,
        master: MasterData,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.bus_name = bus_name
        self.master = master
        self._clock = clock
        self._sleep = sleep

    def create(self, body: OrderRequest, partner: Partner, meta: RequestMeta) -> tuple[OrderView, bool]:
        """Returns the order and whether the request replays an earlier one (same id and lines).

        Raises Problem (out-of-scope for other partner kinds or another channel's name, too-many-lines,
        validation-failed for repeated line numbers, order-conflict), OutOfScope, and the master data's
        unknown-sku / unknown-location / unknown-unit-of-measure."""
        if partner.kind not in ORDERING_KINDS:
            raise Problem(
                p.OUT_OF_SCOPE,
                f"partners of kind '{partner.kind}' do not place customer orders (kinds: {', '.join(ORDERING_KINDS)})",
                {"kinds": list(ORDERING_KINDS)},
            )
        body = self.master.with_location_codes(body)  # a line may name its location by GLN
        _check_lines(body)
        channel = body.channel
        if partner.kind == "channel":
            if channel not in (None, partner.partner_id):
                raise OutOfScope(partner.partner_id, "channel", channel or "")
            channel = partner.partner_id
        for location in dict.fromkeys(line.location for line in body.lines):
            if not allows(partner.scopes, "location", location):
                raise OutOfScope(partner.partner_id, "location", location)
        order = self._order(body, partner, channel)
        stored, replayed = self.place(order, meta, same_lines_only=True)
        if not replayed:
            return _view(order, OPEN, {}), False
        return self.stored_view(stored), True

    def place(self, order: CustomerOrder, meta: RequestMeta, *, same_lines_only: bool) -> tuple[StoredOrder, bool]:
        """Write the order and its demand lines at once, then publish `order.created`: every source ends here.

        Returns the stored order and whether it existed already. An existing order of the same source is
        published again under the same event id (a retry completes a first attempt whose publication failed;
        consumers and the starter drop the duplicate) and returned; `same_lines_only` refuses one with other
        lines (`order-conflict`), as an API caller reusing an id by mistake must hear. A channel's order id is
        the platform's, so any delivery of it is the same order (`same_lines_only=False`)."""
        for attempt in range(ATTEMPTS):
            if attempt:
                self._sleep(full_jitter(attempt))
            try:
                created = self.store.create(order, meta.correlation_id)
            except OrderContended:
                continue
            if created:
                self._publish(order, meta.correlation_id, meta.request_id)
                return StoredOrder(order=order, status=OPEN, version=1, correlation_id=meta.correlation_id), False
            existing = self.store.get_order(order.order_id)
            if existing is None:
                continue  # cannot happen while orders are never deleted; decide again
            if existing.order.source_partner != order.source_partner or (
                same_lines_only and not same_lines(existing.order, order)
            ):
                raise Problem(
                    p.ORDER_CONFLICT,
                    f"order '{order.order_id}' exists with other lines",
                    {"order_id": order.order_id},
                )
            self._publish(existing.order, existing.correlation_id, meta.request_id)
            return existing, True
        raise Problem(p.UNAVAILABLE, "the order could not be written: retry", headers={"Retry-After": "1"})

    def get(self, partner: Partner, order_id: str) -> OrderView:
        stored = self.store.get_order(order_id)
        if stored is None or not may_read(partner, stored.order):
            raise Problem(p.UNKNOWN_ORDER, f"no order '{order_id}'", {"order_id": order_id})
        return self.stored_view(stored)

    def stored_view(self, stored: StoredOrder) -> OrderView:
        return _view(stored.order, stored.status, self.store.order_demand(stored.order))

    def _order(self, body: OrderRequest, partner: Partner, channel: str | None) -> CustomerOrder:
        from shared.services.master_data import Need

        needs = [
            Need(sku=x.sku, location=x.location, unit=None if x.unit == EACH else x.unit, at=f"/lines/{i}")
            for i, x in enumerate(body.lines)
        ]
        resolved = self.master.require(needs)
        return CustomerOrder(
            order_id=body.order_id,
            source_partner=partner.partner_id,
            channel=channel,
            customer_ref=body.customer_ref,
            placed_at=body.placed_at,
            created_at=self._clock(),
            lines=[
                OrderLine(
                    line=x.line,
                    sku=x.sku,
                    location=x.location,
                    quantity=resolved.eaches(x.sku, x.quantity, x.unit, at=f"/lines/{i}"),
                    requested_date=x.requested_date,
                    unit_price=each_price(x.unit_price, resolved.eaches(x.sku, 1, x.unit, at=f"/lines/{i}")),
                )
                for i, x in enumerate(body.lines)
            ],
            policy=body.policy,
            ship_to=body.ship_to,
            deliver_by=body.deliver_by,
            currency=body.currency,
        )

    def _publish(self, order: CustomerOrder, correlation_id: str, request_id: str) -> None:
        envelope = Envelope[OrderCreated].wrap(
            OrderCreated(order=order),
            source_partner=order.source_partner,
            occurred_at=order.placed_at,
            received_at=order.created_at,
            correlation_id=correlation_id,
            causation_id=request_id or None,
            event_id=created_event_id(order.order_id),
        )
        publish([envelope], self.bus_name)


def each_price(unit_price: str | None, eaches_per_unit: int) -> str | None:
    """The price of one each from the price of one unit of `eaches_per_unit` eaches (6 decimals at most)."""
    if unit_price is None or eaches_per_unit == 1:
        return unit_price
    price = (Decimal(unit_price) / eaches_per_unit).quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
    return format(price.normalize(), "f")


def _check_lines(body: OrderRequest) -> None:
    if len(body.lines) > MAX_ORDER_LINES:
        raise Problem(
            p.TOO_MANY_LINES,
            f"the order has {len(body.lines)} lines; at most {MAX_ORDER_LINES}",
            {"limit": MAX_ORDER_LINES, "lines": len(body.lines)},
        )
    counts = Counter(line.line for line in body.lines)
    repeated = [(i, line.line) for i, line in enumerate(body.lines) if counts[line.line] > 1]
    if repeated:
        numbers = ", ".join(str(n) for n in dict.fromkeys(n for _, n in repeated))
        errors = [
            {"in": "body", "pointer": f"/lines/{i}/line", "message": f"line {n} is repeated", "code": "repeated"}
            for i, n in repeated
        ]
        raise Problem(p.VALIDATION_FAILED, f"each line number may appear once per order: {numbers}", {"errors": errors})


def _view(order: CustomerOrder, status: str, demand: dict[int, StoredDemand]) -> OrderView:
    lines = []
    for line in order.lines:
        stored = demand.get(line.line)
        state = stored.state if stored is not None and stored.state.promised_at is not None else None
        lines.append(
            OrderLineView(
                line=line.line,
                sku=line.sku,
                location=line.location,
                quantity=line.quantity,
                requested_date=line.requested_date,
                promise_date=state.promise_date if state else None,
                at_risk=state.at_risk if state else None,
                depends_on=list(state.depends_on) if state else [],
                promised_at=state.promised_at if state else None,
                unit_price=line.unit_price,
                external_line_id=line.external_line_id,
            )
        )
    return OrderView(
        order_id=order.order_id,
        source_partner=order.source_partner,
        channel=order.channel,
        customer_ref=order.customer_ref,
        placed_at=order.placed_at,
        created_at=order.created_at,
        status=status,
        lines=lines,
        policy=order.policy,
        ship_to=order.ship_to,
        deliver_by=order.deliver_by,
        currency=order.currency,
        external_id=order.external_id,
        parent_order_id=order.parent_order_id,
    )
