"""Carrier tracking: `POST /v1/carriers/{carrier}/tracking` (docs/order-to-ship.md, "Callbacks").

A delivery (an EasyPost tracker, or a canonical tracking event) names the carrier and the tracking number; the
dispatch callback indexed them (`TRACKING#<carrier>#<number>`), which finds the order. Carriers repeat
themselves and report out of order: a scan is known by (status, time), and only new ones count. Each new scan
goes on the order's timeline, and each with a milestone is published as `shipment.milestone`. The newest scan
drives the order: `delivered` resumes the flow's `track` wait (or, when `track` has not started, is left on the
shipment for it to find), `failure` / `return_to_sender` fail it with `DeliveryFailed`; a scan older than the
newest known changes nothing but the timeline. An estimate later than the promised delivery is reported once
per new estimate (`shipment.delayed`, metric `SlaBreach`, the `shipment_delayed` exceptions list).

AWS requests of an update: GetItem (index), GetItem (order), PutEvents (new milestones; before the write, under
event ids derived from the scan, so a retry after a failed write publishes duplicates, never new events), one
UpdateItem or TransactWriteItems, and SendTaskSuccess/Failure when the flow waits. A repeat: the two reads.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from shared.adapters.easypost import CarrierScan, TrackingReport
from shared.aws.bus import publish
from shared.aws.fulfillment_store import (
    SHIPMENT_DELAYED,
    FlowChanged,
    FlowRecord,
    FulfillmentStore,
    TimelineEntry,
    Waiting,
)
from shared.canonical.envelope import Envelope, EventData, utcnow
from shared.canonical.fulfillment import ShipmentDelayed, ShipmentMilestone
from shared.canonical.partner import Partner
from shared.domain.backoff import full_jitter
from shared.domain.order_flow import EASYPOST_STATUSES, days_late
from shared.http import problems as p
from shared.http.problems import Problem
from shared.observability import MetricUnit, logger, metrics
from shared.services.fulfillment.callbacks import (
    ATTEMPTS,
    TaskTokens,
    count_duplicate,
    may_act,
    resend,
    token_answer,
)

_EVENT_NAMESPACE = uuid.UUID("6a1d2f4e-93b7-4c1a-8f55-2e0c7b9d4a10")
FAILED_MILESTONES = frozenset({"failure", "return_to_sender"})


def event_id(order_id: str, event_type: str, *parts: str) -> str:
    return uuid.uuid5(_EVENT_NAMESPACE, "/".join((order_id, event_type, *parts))).hex


def scan_label(scan: CarrierScan) -> str:
    """The scan's name on the timeline: its milestone, or the carrier's own status when it maps to none."""
    return EASYPOST_STATUSES.get(scan.status, scan.status)


@dataclass(frozen=True)
class TrackingDecision:
    """What an update changes on the order (pure: decided from the record and the report)."""

    new: tuple[CarrierScan, ...]  # scans not on the timeline yet, oldest first
    shipment: dict[str, Any]  # the shipment as it is to be written
    status: str | None  # the order's new status (delivered), or None
    claim: bool  # the flow waits on `track`, unclaimed: claim it and answer
    delayed: ShipmentDelayed | None
    delay_cleared: bool  # a new estimate is on time again: the exceptions-list entry goes

    @property
    def changes(self) -> bool:
        return bool(self.new) or self.delayed is not None or self.delay_cleared


def decide(record: FlowRecord, report: TrackingReport, source: str, now: datetime) -> TrackingDecision:
    shipment = dict(record.shipment or {})
    known = {(e.milestone, e.at) for e in record.timeline if e.source == source}
    newest_known = max((at for _, at in known), default=None)
    new: list[CarrierScan] = []
    for scan in report.scans:
        key = (scan_label(scan), scan.at)
        if key not in known:
            known.add(key)
            new.append(scan)
    newest = max(report.scans, key=lambda s: s.at, default=None)
    drives = newest is not None and newest in new and (newest_known is None or newest.at >= newest_known)

    status: str | None = None
    claim = False
    if drives and newest is not None:
        milestone = EASYPOST_STATUSES.get(newest.status)
        shipment["carrier_status"] = newest.status
        if milestone == "delivered" and not shipment.get("delivered_at"):
            shipment["delivered_at"] = newest.at.isoformat()
            status = "delivered" if record.status == "dispatched" else None
        elif milestone in FAILED_MILESTONES and not shipment.get("failed"):
            shipment["failed"] = {"status": newest.status, "at": newest.at.isoformat()}
        waiting = record.waiting
        claim = (
            waiting is not None
            and waiting.step == "track"
            and waiting.claimed_at is None
            and (milestone == "delivered" or milestone in FAILED_MILESTONES)
        )

    delayed, cleared = _delay(record, shipment, report, now)
    return TrackingDecision(tuple(new), shipment, status, claim, delayed, cleared)


def _delay(
    record: FlowRecord, shipment: dict[str, Any], report: TrackingReport, now: datetime
) -> tuple[ShipmentDelayed | None, bool]:
    estimated = report.estimated_delivery
    if estimated is None or shipment.get("delivered_at"):
        return None, False
    previous = _date(shipment.get("estimated_delivery"))
    shipment["estimated_delivery"] = estimated.isoformat()
    promised = record.order.deliver_by or _date(shipment.get("promised_delivery"))
    late = days_late(promised, estimated)
    reported = _date(shipment.get("delayed_estimate"))
    if late >= 1 and promised is not None:
        if reported == estimated:
            return None, False
        shipment["delayed_estimate"] = estimated.isoformat()
        return (
            ShipmentDelayed(
                order_id=record.order_id,
                carrier=str(shipment.get("carrier") or report.carrier),
                tracking_number=report.tracking_number,
                promised_delivery=promised,
                estimated_delivery=estimated,
                previous_estimate=previous if previous != estimated else None,
                days_late=late,
                reported_at=now,
                customer_ref=record.order.customer_ref,
            ),
            False,
        )
    if reported is not None:
        shipment.pop("delayed_estimate", None)
        return None, True
    return None, False


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True)
class TrackingOutcome:
    result: str  # accepted | duplicate
    record: FlowRecord
    new_milestones: int
    delayed: bool


class TrackingService:
    def __init__(
        self,
        store: FulfillmentStore,
        tokens: TaskTokens,
        bus_name: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.bus_name = bus_name
        self._clock = clock
        self._sleep = sleep

    def receive(self, partner: Partner, report: TrackingReport, request_id: str | None) -> TrackingOutcome:
        order_id = self.store.find_by_tracking(report.carrier, report.tracking_number)
        source = report.carrier.lower()
        for attempt in range(ATTEMPTS):
            record = self.store.get(order_id) if order_id else None
            if record is None or not may_act(partner, record):
                raise Problem(
                    p.UNKNOWN_SHIPMENT,
                    f"no dispatched order has tracking number {report.tracking_number} of {report.carrier}",
                    {"carrier": report.carrier, "tracking_number": report.tracking_number},
                )
            now = self._clock()
            decision = decide(record, report, source, now)
            if not decision.changes:
                count_duplicate("tracking")
                resend(self.tokens, record)
                return TrackingOutcome("duplicate", record, 0, False)
            self._publish(record, report, decision, partner, request_id)
            waiting = record.waiting
            claim: dict[str, Waiting] = {}
            if decision.claim and waiting is not None:
                claim["waiting"] = replace(waiting, claimed_at=now, claimed_by=partner.partner_id)
            entry = _delay_entry(record, decision)
            try:
                written = self.store.advance(
                    record,
                    now=now,
                    status=decision.status,
                    set={"shipment": decision.shipment},
                    timeline=[TimelineEntry(s.at, scan_label(s), source, _detail(s)) for s in decision.new],
                    exception_entry=entry,
                    clear_exception_entry=decision.delay_cleared,
                    exception_kind=SHIPMENT_DELAYED,
                    **claim,
                )
            except FlowChanged:
                self._sleep(full_jitter(attempt))
                continue
            self._observe(written, decision)
            if claim and written.waiting is not None:
                answer = token_answer(written)
                if answer is not None:
                    self.tokens.send(written.waiting.token, answer, {"order_id": written.order_id})
            return TrackingOutcome("accepted", written, len(decision.new), decision.delayed is not None)
        raise Problem(
            p.UNAVAILABLE, f"order '{order_id}' kept changing; retry", {"order_id": order_id}, {"Retry-After": "1"}
        )

    def _publish(
        self,
        record: FlowRecord,
        report: TrackingReport,
        decision: TrackingDecision,
        partner: Partner,
        request_id: str | None,
    ) -> None:
        carrier = str(decision.shipment.get("carrier") or report.carrier)
        estimated = report.estimated_delivery
        envelopes: list[Envelope[Any]] = []
        for scan in decision.new:
            milestone = EASYPOST_STATUSES.get(scan.status)
            if milestone is None:  # `unknown` and statuses EasyPost may add: on the timeline only
                continue
            data = ShipmentMilestone(
                order_id=record.order_id,
                carrier=carrier,
                tracking_number=report.tracking_number,
                milestone=milestone,  # type: ignore[arg-type]
                carrier_status=scan.status,
                status_detail=scan.detail,
                at=scan.at,
                where=scan.where,
                estimated_delivery=estimated,
            )
            key = event_id(record.order_id, data.event_type, scan.status, scan.at.isoformat())
            envelopes.append(self._wrap(data, record, partner, scan.at, key, request_id))
        if decision.delayed is not None:
            delayed = decision.delayed
            key = event_id(record.order_id, delayed.event_type, delayed.estimated_delivery.isoformat())
            envelopes.append(self._wrap(delayed, record, partner, report.reported_at, key, request_id))
        if envelopes:
            publish(envelopes, self.bus_name)

    def _wrap(
        self,
        data: EventData,
        record: FlowRecord,
        partner: Partner,
        occurred_at: datetime,
        key: str,
        request_id: str | None,
    ) -> Envelope[Any]:
        return Envelope[Any].wrap(
            data,
            source_partner=partner.partner_id,
            occurred_at=occurred_at,
            correlation_id=record.correlation_id or None,
            causation_id=request_id or None,
            event_id=key,
        )

    def _observe(self, written: FlowRecord, decision: TrackingDecision) -> None:
        logger.info(
            "tracking recorded",
            extra={
                "order_id": written.order_id,
                "new_scans": len(decision.new),
                "status": written.status,
                "delayed": decision.delayed is not None,
            },
        )
        if decision.delayed is not None:
            metrics.add_metric(name="SlaBreach", unit=MetricUnit.Count, value=1)
        # OrderToDeliverySeconds and StepSeconds{track} are the complete step's (from the timeline's `delivered`).


def _delay_entry(record: FlowRecord, decision: TrackingDecision) -> dict[str, Any] | None:
    delayed = decision.delayed
    if delayed is None:
        return None
    return {
        "location": record.order.lines[0].location,
        "carrier": delayed.carrier,
        "tracking_number": delayed.tracking_number,
        "promised_delivery": delayed.promised_delivery.isoformat(),
        "estimated_delivery": delayed.estimated_delivery.isoformat(),
        "days_late": delayed.days_late,
    }


def _detail(scan: CarrierScan) -> str | None:
    text = " — ".join(part for part in (scan.detail, scan.where) if part)
    return text[:200] or None
