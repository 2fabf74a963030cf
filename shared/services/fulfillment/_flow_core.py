"""What every order-to-ship step uses: its stores and services (built once per cold start, no AWS call until
used), the read-decide-write loop on the flow record, deterministic envelopes, publication, delivery now, and
the step metrics."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import single_metric

from shared.aws.bus import PublishError, publish
from shared.aws.clients import client
from shared.aws.fulfillment_store import FlowChanged, FlowRecord, FulfillmentStore, TimelineEntry, UnknownOrder
from shared.aws.orders_store import MAX_TRANSACTION_ITEMS, OrdersStore
from shared.aws.reservation_store import ReservationStore
from shared.canonical.envelope import Envelope, EventData, utcnow
from shared.canonical.fulfillment import OrderStatusChanged
from shared.canonical.partner import Partner
from shared.domain.order_flow import Contended, OrderCancelled, OrderInvalid, Throttled
from shared.observability import MetricUnit, logger
from shared.services.fulfillment._flow_plan import SOURCE, flow_event_id, previous_status
from shared.services.inventory_ingest import RequestMeta
from shared.services.outbound import Dispatch, OutboundDispatcher
from shared.services.reservations import ReservationService
from shared.settings import OrderFlowSettings

SERVICE = "order_flow"
WRITE_ATTEMPTS = 5  # reads and decisions again when another writer moved the order in between
# The internal partner the flow reserves as (never registered: it calls no API). Its reservations are
# `order-flow:<order id>`, kind `order`, without expiry.
FLOW_PARTNER = Partner(
    partner_id="order-flow",
    kind="erp",
    scopes=["location:*"],
    api_key_id="internal",
    secret_name="internal",
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)

# The step an order is in while it has a status (what `StepSeconds` names when the order leaves the status).
STEP_OF_STATUS: dict[str, str] = {
    "open": "reserve",
    "backordered": "backorder",
    "picked": "erp_status",
    "awaiting_dispatch": "ship",
    "dispatched": "track",
}

# A decision on a record: the keyword arguments of `FulfillmentStore.advance`, or None (nothing to write).
Plan = Callable[[FlowRecord, datetime], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Written:
    record: FlowRecord  # as written (or as read, when the plan wrote nothing)
    changed: bool
    now: datetime  # the time the decision was made at


class FlowContext:
    def __init__(
        self,
        settings: OrderFlowSettings,
        *,
        dispatcher: OutboundDispatcher | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.bus_name = settings.event_bus_name
        self.flows = FulfillmentStore(settings.orders_table)
        self.orders = OrdersStore(settings.orders_table)
        self.reservation_store = ReservationStore(settings.reservations_table, settings.inventory_table)
        self.reservations = ReservationService(self.reservation_store, settings.event_bus_name, clock=clock)
        self.dispatcher = dispatcher or OutboundDispatcher.from_settings(settings)
        self.clock = clock

    # ------------------------------------------------------------------------------------------- records
    def read(self, order_id: str) -> FlowRecord:
        try:
            return self.flows.require(order_id)
        except UnknownOrder:
            raise OrderInvalid(f"order '{order_id}' does not exist") from None

    def write(self, record: FlowRecord, plan: Plan, *, cancellable: bool = True) -> Written:
        """Decide on `record` and write the decision, conditional on its version; when another writer moved the
        order meanwhile, read it and decide again. A cancellable step first checks the cancel flag."""
        for _ in range(WRITE_ATTEMPTS):
            if cancellable:
                ensure_not_cancelled(record)
            now = self.clock()
            change = plan(record, now)
            if change is None:
                return Written(record, False, now)
            try:
                return Written(self.flows.advance(record, now=now, **change), True, now)
            except FlowChanged:
                logger.info("the order moved on meanwhile; deciding again", extra={"order_id": record.order_id})
                record = self.read(record.order_id)
        raise Contended(f"order '{record.order_id}' kept changing while the flow wrote it")

    def demand(self, record: FlowRecord, status: str, lines: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """The updates that give the order's demand lines (all, or `lines`) `status`, for `advance(also=...)`."""
        numbers = [line.line for line in record.order.lines] if lines is None else list(lines)
        return self.orders.demand_status_updates(record.order, dict.fromkeys(numbers, status))

    def off_risk_list(self, record: FlowRecord, written: int) -> list[dict[str, Any]]:
        """The deletes of the order's `promise_at_risk` entries, when they fit in the transaction that writes
        the order item and `written` demand lines (up to 49 lines); else the promiser removes them at its next
        re-peg of each SKU."""
        numbers = [line.line for line in record.order.lines]
        if 1 + written + len(numbers) > MAX_TRANSACTION_ITEMS:
            return []
        return self.orders.at_risk_entry_deletes(record.order, numbers)

    @staticmethod
    def entry(now: datetime, milestone: str, detail: str | None = None) -> TimelineEntry:
        return TimelineEntry(at=now, milestone=milestone, source=SOURCE, detail=detail)

    def meta(self, record: FlowRecord, step: str) -> RequestMeta:
        """What the reservation service records as the request: the flow's correlation id, the step as cause."""
        return RequestMeta(
            correlation_id=record.correlation_id or record.order_id,
            request_id=f"{SOURCE}/{record.order_id}/{step}",
            received_at=self.clock(),
            idempotency_key=None,
        )

    # -------------------------------------------------------------------------------------------- events
    def envelope(
        self, record: FlowRecord, data: EventData, step: str, occurred_at: datetime, *, round: int | None = None
    ) -> Envelope[Any]:
        return Envelope[type(data)].wrap(  # type: ignore[misc]
            data,
            source_partner=SOURCE,
            occurred_at=occurred_at,
            correlation_id=record.correlation_id or None,
            event_id=flow_event_id(record.order_id, step, data.event_type, round),
        )

    def status_changed(
        self,
        record: FlowRecord,
        step: str,
        status: str,
        at: datetime,
        note: str | None = None,
        *,
        previous: str | None = None,
    ) -> Envelope[Any]:
        """`order.status_changed` to `status` (`record` as written: its previous status is on the timeline)."""
        order = record.order
        data = OrderStatusChanged(
            order_id=order.order_id,
            status=status,  # type: ignore[arg-type]
            previous_status=previous or previous_status(record, status),  # type: ignore[arg-type]
            step=step,  # type: ignore[arg-type]
            at=at,
            channel=order.channel,
            customer_ref=order.customer_ref,
            note=note[:500] if note else None,
        )
        return self.envelope(record, data, step, at)

    def publish(self, envelopes: Sequence[Envelope[Any]]) -> None:
        """One PutEvents (per 10); what EventBridge keeps refusing is `Throttled`: the state machine retries
        the step, which publishes the same events again (same ids)."""
        if not envelopes:
            return
        try:
            publish(envelopes, self.bus_name)
        except PublishError as exc:
            logger.warning("flow events not published", extra={"failures": exc.failures})
            raise Throttled(str(exc)) from exc

    def deliver(self, envelope: Envelope[Any], *, kinds: frozenset[str] | None = None) -> Dispatch:
        """Deliver now (one call per system; the state machine's Retry does the waiting between attempts)."""
        return self.dispatcher.deliver_now(envelope, kinds=kinds, attempts=1)

    # ------------------------------------------------------------------------------------------ task tokens
    def answer(self, token: str, output: Mapping[str, Any]) -> None:
        """Send the step's own task token back: what it waited for had happened already. A token Step Functions
        no longer knows (the wait ended another way meanwhile) needs no answer."""
        sfn = client("stepfunctions")
        try:
            sfn.send_task_success(taskToken=token, output=json.dumps(dict(output)))
        except (sfn.exceptions.InvalidToken, sfn.exceptions.TaskTimedOut, sfn.exceptions.TaskDoesNotExist) as exc:
            logger.info("the task token was answered already", extra={"error": type(exc).__name__})

    # ----------------------------------------------------------------------------------------------- metrics
    @staticmethod
    def seconds(name: str, value: float, **dimensions: str) -> None:
        """A duration metric in its own EMF document when it has dimensions (a step), else with the function's."""
        with single_metric(
            name=name, unit=MetricUnit.Seconds, value=max(0.0, value), default_dimensions={"service": SERVICE}
        ) as metric:
            for key, dimension in dimensions.items():
                metric.add_dimension(name=key, value=dimension)

    def step_seconds(self, before: FlowRecord, now: datetime) -> None:
        """`StepSeconds{step}` as the order leaves a status: the time it spent in the step that set that status
        (`STEP_OF_STATUS`). The pick (`release`) is measured by the pick-complete callback, which ends it."""
        step = STEP_OF_STATUS.get(before.status)
        if step is None:
            return
        since = before.status_at or before.order.created_at
        self.seconds("StepSeconds", (now - since).total_seconds(), step=step)


def ensure_not_cancelled(record: FlowRecord) -> None:
    if record.cancel_requested:
        reason = (record.cancel or {}).get("reason") or "no reason given"
        raise OrderCancelled(f"order '{record.order_id}' was cancelled: {reason}"[:500])
