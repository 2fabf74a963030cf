"""The partner callbacks that resume (or cancel) an order's execution: pick progress, pick complete, dispatch,
cancel (docs/order-to-ship.md, "Callbacks").

Each callback reads the order's flow record (one GetItem), decides, and writes once (`FulfillmentStore.advance`,
conditional on the version read): it *claims* the task token the execution waits on (`waiting.claimed_at`,
`claimed_by`) together with what the partner reported, and only then sends the token back (SendTaskSuccess or
SendTaskFailure). A second delivery of the same callback finds the claim and is a duplicate: nothing advances,
but the token is sent again, so that a first answer lost between the write and Step Functions is not lost for
good (Step Functions answers TaskTimedOut or InvalidToken for a token it no longer waits on: already sent).

What the token is answered with follows from the record alone (`token_answer`), so the first send and every
re-send agree: a pick short of what was released fails the wait with `ShortPick`, a cancel with
`OrderCancelled`, a carrier's failure with `DeliveryFailed`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import single_metric
from botocore.exceptions import ClientError

from shared.api.fulfillment_models import CancelRequest, DispatchRequest, PickCompleteRequest
from shared.aws.clients import client
from shared.aws.fulfillment_store import FlowChanged, FlowRecord, FulfillmentStore, TimelineEntry, TrackingTaken
from shared.canonical.envelope import utcnow
from shared.canonical.partner import Partner
from shared.domain import order_flow as flow
from shared.domain.backoff import full_jitter
from shared.domain.scopes import allows
from shared.http import problems as p
from shared.http.problems import Problem
from shared.observability import MetricUnit, logger, metrics

PICK_KINDS = frozenset({"warehouse"})
DISPATCH_KINDS = frozenset({"tms", "warehouse", "carrier"})
ATTEMPTS = 4  # reads and decisions per callback when concurrent writers keep moving the order
# Statuses in flow order: a callback about a step the order is already past is a duplicate.
PROGRESS: tuple[str, ...] = (
    "open",
    "backordered",
    "released",
    "picked",
    "awaiting_dispatch",
    "dispatched",
    "delivered",
    "completed",
)
CLOSED = frozenset({"cancelled", "exception"})
GONE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


def past(status: str, reference: str) -> bool:
    """The order is further along than `reference` (closed orders are not 'past' anything)."""
    return status in PROGRESS and PROGRESS.index(status) > PROGRESS.index(reference)


def may_act(partner: Partner, record: FlowRecord) -> bool:
    """The partner's scopes cover every location the order ships from."""
    return all(allows(partner.scopes, "location", line.location) for line in record.order.lines)


# ------------------------------------------------------------------------------------------------ task tokens
@dataclass(frozen=True)
class Answer:
    """What a claimed task token is sent back with: success, or failure with an error name and cause."""

    error: str | None = None
    cause: str | None = None

    @property
    def success(self) -> bool:
        return self.error is None


def token_answer(record: FlowRecord) -> Answer | None:
    """The answer of the claimed token the record waits on, decided from the record (None: nothing claimed)."""
    waiting = record.waiting
    if waiting is None or waiting.claimed_at is None:
        return None
    shipment = record.shipment or {}
    if waiting.step == "release" and record.pick is not None:
        short = record.pick.get("short")
        return Answer(flow.SHORT_PICK, short) if short else Answer()
    if waiting.step == "ship" and record.shipment is not None:
        return Answer()
    if waiting.step == "track" and shipment.get("delivered_at"):
        return Answer()
    if waiting.step == "track" and shipment.get("failed"):
        failed = shipment["failed"]
        return Answer(flow.DELIVERY_FAILED, f"the carrier reports {failed['status']} at {failed['at']}")
    if record.cancel is not None:
        return Answer(flow.ORDER_CANCELLED, str(record.cancel.get("reason") or "cancelled"))
    return None


class TaskTokens:
    """SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat on the order-flow state machine."""

    def send(self, token: str, answer: Answer, output: dict[str, Any]) -> bool:
        """Send `answer`; False when Step Functions no longer waits on the token (it was answered already, or the
        wait timed out)."""
        if answer.success:
            return self._call("send_task_success", taskToken=token, output=json.dumps(output))
        return self._call(
            "send_task_failure", taskToken=token, error=answer.error or "", cause=(answer.cause or "")[:32768]
        )

    def heartbeat(self, token: str) -> bool:
        return self._call("send_task_heartbeat", taskToken=token)

    def _call(self, operation: str, **kwargs: Any) -> bool:
        try:
            getattr(client("stepfunctions"), operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in GONE_TOKEN_ERRORS:
                logger.info("task token no longer awaited", extra={"operation": operation, "code": code})
                return False
            logger.warning("task token not sent", extra={"operation": operation, "code": code})
            raise Problem(
                p.UNAVAILABLE, "the order flow could not be resumed; retry", headers={"Retry-After": "1"}
            ) from exc
        return True


def resend(tokens: TaskTokens, record: FlowRecord) -> None:
    """Send a claimed token's answer again (a duplicate callback: the first send may have been lost)."""
    answer = token_answer(record)
    if answer is not None and record.waiting is not None:
        tokens.send(record.waiting.token, answer, {"order_id": record.order_id, "resent": True})


def count_duplicate(route: str) -> None:
    metrics.add_metric(name="CallbackDuplicate", unit=MetricUnit.Count, value=1)
    logger.info("callback duplicate", extra={"route": route})


def step_seconds(step: str, since: datetime | None, now: datetime) -> None:
    """`StepSeconds` with the step as a dimension (kept apart from the function's other metrics)."""
    if since is None:
        return
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "distrosync")
    with single_metric(
        name="StepSeconds",
        unit=MetricUnit.Seconds,
        value=max(0.0, (now - since).total_seconds()),
        default_dimensions={"service": service},
    ) as metric:
        metric.add_dimension(name="step", value=step)


# ---------------------------------------------------------------------------------------------- the service
@dataclass(frozen=True)
class Outcome:
    result: str  # accepted | duplicate | cancelling | cancelled
    record: FlowRecord


class Callbacks:
    def __init__(
        self,
        store: FulfillmentStore,
        tokens: TaskTokens,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self._clock = clock
        self._sleep = sleep

    # ---------------------------------------------------------------------------------------------- picks
    def pick_progress(self, partner: Partner, order_id: str) -> Outcome:
        """The WMS is still picking: a heartbeat for the release wait (no write)."""
        _require_kind(partner, PICK_KINDS, "report picks")
        record = self._read(partner, order_id)
        if record.pick is not None or past(record.status, "released"):
            count_duplicate("pick-progress")
            return Outcome("duplicate", record)
        _refuse_closed(record)
        waiting = record.waiting
        if waiting is None or waiting.step != "release" or waiting.claimed_at is not None:
            raise _not_awaiting(record, "a pick")
        if not self.tokens.heartbeat(waiting.token):
            raise Problem(
                p.ORDER_NOT_AWAITING,
                f"order '{order_id}' no longer waits for its pick (the wait ended)",
                {"order_id": order_id, "status": record.status},
            )
        return Outcome("accepted", record)

    def pick_complete(self, partner: Partner, order_id: str, body: PickCompleteRequest) -> Outcome:
        _require_kind(partner, PICK_KINDS, "report picks")
        for attempt in range(ATTEMPTS):
            record = self._read(partner, order_id)
            if record.pick is not None or past(record.status, "released"):
                return self._duplicate("pick-complete", record)
            _refuse_closed(record)
            waiting = record.waiting
            if waiting is None or waiting.step != "release" or waiting.claimed_at is not None:
                raise _not_awaiting(record, "a pick")
            short = short_pick(record, body)
            now = self._clock()
            pick = {
                "picked_at": body.picked_at.isoformat(),
                "reported_at": now.isoformat(),
                "by": partner.partner_id,
                "lines": [line.model_dump() for line in body.lines] if body.lines is not None else None,
                "packages": [package.model_dump(exclude_none=True) for package in body.packages],
                "short": short,
            }
            entry = TimelineEntry(body.picked_at, "short_picked" if short else "picked", partner.partner_id, short)
            try:
                written = self.store.advance(
                    record,
                    now=now,
                    status=None if short else "picked",
                    waiting=replace(waiting, claimed_at=now, claimed_by=partner.partner_id),
                    set={"pick": {k: v for k, v in pick.items() if v is not None}},
                    timeline=[entry],
                )
            except FlowChanged:
                self._sleep(full_jitter(attempt))
                continue
            self._send(written)
            if not short:
                step_seconds("release", record.status_at, now)
            return Outcome("accepted", written)
        raise _contended(order_id)

    # ------------------------------------------------------------------------------------------- dispatch
    def dispatch(self, partner: Partner, order_id: str, body: DispatchRequest) -> Outcome:
        _require_kind(partner, DISPATCH_KINDS, "report dispatches")
        for attempt in range(ATTEMPTS):
            record = self._read(partner, order_id)
            if record.shipment is not None:
                _same_shipment(record, body)
                return self._duplicate("dispatch", record)
            if past(record.status, "awaiting_dispatch"):
                return self._duplicate("dispatch", record)
            _refuse_closed(record)
            waiting = record.waiting
            if waiting is None or waiting.step != "ship" or waiting.claimed_at is not None:
                raise _not_awaiting(record, "a dispatch")
            now = self._clock()
            shipment = {
                "carrier": body.carrier,
                "tracking_number": body.tracking_number,
                "service": body.service,
                "dispatched_at": body.dispatched_at.isoformat(),
                "estimated_delivery": body.estimated_delivery.isoformat() if body.estimated_delivery else None,
                "promised_delivery": _promised(record, body),
                "label_url": body.label_url,
                "reported_by": partner.partner_id,
                "reported_at": now.isoformat(),
            }
            entry = TimelineEntry(
                body.dispatched_at, "handed_to_carrier", partner.partner_id, f"{body.carrier} {body.tracking_number}"
            )
            try:
                written = self.store.advance(
                    record,
                    now=now,
                    waiting=replace(waiting, claimed_at=now, claimed_by=partner.partner_id),
                    set={"shipment": {k: v for k, v in shipment.items() if v is not None}},
                    timeline=[entry],
                    tracking=(body.carrier, body.tracking_number),
                )
            except FlowChanged:
                self._sleep(full_jitter(attempt))
                continue
            except TrackingTaken:
                raise Problem(
                    p.CONFLICT,
                    f"tracking number {body.tracking_number} of {body.carrier} belongs to another order",
                    {"order_id": order_id, "carrier": body.carrier, "tracking_number": body.tracking_number},
                ) from None
            self._send(written)
            return Outcome("accepted", written)
        raise _contended(order_id)

    # --------------------------------------------------------------------------------------------- cancel
    def cancel(self, partner: Partner, order_id: str, body: CancelRequest) -> Outcome:
        """Ask the flow to cancel: `cancel` set (each step checks it), and a waiting token failed with
        OrderCancelled so that a parked execution compensates at once."""
        for attempt in range(ATTEMPTS):
            record = self._read(partner, order_id, source_may_act=True)
            shipment = record.shipment or {}
            if record.shipment is not None or record.status in ("dispatched", "delivered", "completed"):
                raise Problem(
                    p.ORDER_DISPATCHED,
                    f"order '{order_id}' left the warehouse"
                    + (f" at {shipment['dispatched_at']}" if shipment.get("dispatched_at") else "")
                    + f" (status {record.status}): it can no longer be cancelled",
                    {"order_id": order_id, "status": record.status, "dispatched_at": shipment.get("dispatched_at")},
                )
            if record.status == "exception":
                raise _closed(record)
            if record.status == "cancelled" or record.cancel is not None:
                count_duplicate("cancel")
                resend(self.tokens, record)
                return Outcome("cancelled", record)
            now = self._clock()
            waiting = record.waiting
            claim = waiting is not None and waiting.claimed_at is None
            cancel = {"requested_at": now.isoformat(), "reason": body.reason, "by": partner.partner_id}
            try:
                written = self.store.advance(
                    record,
                    now=now,
                    set={"cancel": cancel},
                    **(
                        {"waiting": replace(waiting, claimed_at=now, claimed_by=partner.partner_id)}
                        if claim and waiting is not None
                        else {}
                    ),
                    timeline=[TimelineEntry(now, "cancel_requested", partner.partner_id, body.reason)],
                )
            except FlowChanged:
                self._sleep(full_jitter(attempt))
                continue
            if claim:
                self._send(written)
            return Outcome("cancelling", written)
        raise _contended(order_id)

    # ---------------------------------------------------------------------------------------------- shared
    def _read(self, partner: Partner, order_id: str, *, source_may_act: bool = False) -> FlowRecord:
        record = self.store.get(order_id)
        allowed = record is not None and (
            may_act(partner, record) or (source_may_act and partner.partner_id == record.order.source_partner)
        )
        if record is None or not allowed:
            raise Problem(p.UNKNOWN_ORDER, f"no order '{order_id}'", {"order_id": order_id})
        return record

    def _duplicate(self, route: str, record: FlowRecord) -> Outcome:
        count_duplicate(route)
        resend(self.tokens, record)
        return Outcome("duplicate", record)

    def _send(self, written: FlowRecord) -> None:
        answer = token_answer(written)
        if answer is None or written.waiting is None:  # cannot happen after a claim; say so if it does
            logger.error("claimed a token without an answer", extra={"order_id": written.order_id})
            return
        sent = self.tokens.send(written.waiting.token, answer, {"order_id": written.order_id})
        logger.info(
            "task token answered",
            extra={"step": written.waiting.step, "error": answer.error, "sent": sent},
        )


def short_pick(record: FlowRecord, body: PickCompleteRequest) -> str | None:
    """Why the pick is short of what was released (None: every unit picked). Lines not released and more units
    than released are refused (422)."""
    if body.lines is None:
        return None
    ordered = record.quantities  # the order's lines, or what a split reserved of them
    picked: dict[int, int] = {}
    errors = []
    for i, line in enumerate(body.lines):
        if line.line not in ordered:
            errors.append(_error(i, "line", f"order '{record.order_id}' released no line {line.line}"))
            continue
        picked[line.line] = picked.get(line.line, 0) + line.quantity
        if picked[line.line] > ordered[line.line]:
            errors.append(_error(i, "quantity", f"line {line.line}: more than the {ordered[line.line]} released"))
    if errors:
        detail = "; ".join(e["message"] for e in errors)
        raise Problem(p.VALIDATION_FAILED, detail, {"errors": errors})
    short = [f"line {n}: {picked.get(n, 0)} of {q}" for n, q in sorted(ordered.items()) if picked.get(n, 0) < q]
    return "picked " + ", ".join(short) if short else None


def _error(index: int, field: str, message: str) -> dict[str, str]:
    return {"in": "body", "pointer": f"/lines/{index}/{field}", "message": message, "code": "invalid"}


def _promised(record: FlowRecord, body: DispatchRequest) -> str | None:
    """What the customer was promised: the order's deliver_by, else the TMS's estimate at dispatch."""
    promised = record.order.deliver_by or body.estimated_delivery
    return promised.isoformat() if promised else None


def _same_shipment(record: FlowRecord, body: DispatchRequest) -> None:
    shipment = record.shipment or {}
    same = (
        str(shipment.get("carrier", "")).lower() == body.carrier.lower()
        and shipment.get("tracking_number") == body.tracking_number
    )
    if not same:
        raise Problem(
            p.CONFLICT,
            f"order '{record.order_id}' was dispatched already with another carrier or tracking number",
            {"order_id": record.order_id, "carrier": shipment.get("carrier")},
        )


def _require_kind(partner: Partner, kinds: frozenset[str], what: str) -> None:
    if partner.kind not in kinds:
        raise Problem(
            p.OUT_OF_SCOPE,
            f"partners of kind {partner.kind} may not {what} (kinds allowed: {', '.join(sorted(kinds))})",
            {"scope": f"kind:{partner.kind}"},
        )


def _refuse_closed(record: FlowRecord) -> None:
    if record.status in CLOSED or record.cancel is not None:
        raise _closed(record)


def _closed(record: FlowRecord) -> Problem:
    why = "cancel requested" if record.status not in CLOSED and record.cancel is not None else record.status
    return Problem(
        p.ORDER_CLOSED,
        f"order '{record.order_id}' is closed ({why})",
        {"order_id": record.order_id, "status": record.status},
    )


def _not_awaiting(record: FlowRecord, what: str) -> Problem:
    return Problem(
        p.ORDER_NOT_AWAITING,
        f"order '{record.order_id}' is {record.status}: it does not wait for {what}",
        {"order_id": record.order_id, "status": record.status},
    )


def _contended(order_id: str) -> Problem:
    return Problem(
        p.UNAVAILABLE, f"order '{order_id}' kept changing; retry", {"order_id": order_id}, {"Retry-After": "1"}
    )
