"""The order-to-ship flow decided without AWS: statuses, steps, error names, timers and carrier milestones.

The state machine (infra/fulfillment.py), the step function (functions/order_flow), the partner callbacks
(pick complete, dispatch, tracking, cancel) and the order view all read their vocabulary from here, so that the
definition's Retry/Catch error names and the errors the steps raise cannot drift apart
(docs/order-to-ship.md).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Literal

# ------------------------------------------------------------------------------------------------ statuses
OrderStatus = Literal[
    "open",  # accepted; the flow validates and reserves it
    "backordered",  # short and the policy says wait: the flow re-tries the reservation on a timer
    "released",  # reserved and released to the WMS: waiting for pick completion
    "picked",  # the WMS confirmed the pick; ERP status and shipment-ready follow
    "awaiting_dispatch",  # shipment-ready sent to the TMS: waiting for label and dispatch
    "dispatched",  # on its way: tracking until delivered
    "delivered",  # the carrier delivered it
    "completed",  # delivered and closed (the flow's last step ran)
    "cancelled",  # cancelled before dispatch; the compensation ran
    "exception",  # a step failed for good: see the exceptions list
]
ORDER_STATUSES: tuple[str, ...] = OrderStatus.__args__  # type: ignore[attr-defined]
# A cancel request is honoured in these; from `dispatched` on it is refused (409 order-dispatched).
CANCELLABLE: frozenset[str] = frozenset({"open", "backordered", "released", "picked", "awaiting_dispatch"})
FINAL: frozenset[str] = frozenset({"completed", "cancelled", "exception"})

# ----------------------------------------------------------------------------------------------- steps
Step = Literal[
    "validate",
    "reserve",
    "backorder",
    "split",
    "release",  # release to the WMS, then wait for pick completion (task token)
    "erp_status",
    "ship",  # shipment-ready to the TMS, then wait for label and dispatch (task token)
    "dispatch",
    "track",  # wait until the carrier reports delivery (task token)
    "complete",
    "compensate",
    "exception",
]
STEPS: tuple[str, ...] = Step.__args__  # type: ignore[attr-defined]
# Steps that park the execution on a task token, and the status the order has while it waits there.
WAITING_STEPS: dict[str, str] = {"release": "released", "ship": "awaiting_dispatch", "track": "dispatched"}

OrderPolicy = Literal["backorder", "split"]  # what a short reservation does (`backorder`: wait for all of it)
ORDER_POLICIES: tuple[str, ...] = OrderPolicy.__args__  # type: ignore[attr-defined]

# ----------------------------------------------------------------------------------------- error names
# Raised by the steps (the Lambda runtime reports the exception's class name as the error) and named in the
# state machine's Retry and Catch. Transient ones are retried with backoff; the others go to a Catch.
PARTNER_UNAVAILABLE = "PartnerUnavailable"  # a system did not answer in time (5xx, 429, timeout)
CONTENDED = "Contended"  # DynamoDB kept cancelling the transaction for concurrent writers
THROTTLED = "Throttled"  # an AWS API throttled us
AWS_UNAVAILABLE = "AwsUnavailable"  # an AWS API answered 5xx or did not answer in time
TRANSIENT_ERRORS: tuple[str, ...] = (PARTNER_UNAVAILABLE, CONTENDED, THROTTLED, AWS_UNAVAILABLE)
ORDER_CANCELLED = "OrderCancelled"  # the order was cancelled: the compensation path
ORDER_INVALID = "OrderInvalid"  # the order cannot be fulfilled as written (validate)
DELIVERY_REJECTED = "DeliveryRejected"  # a system refused a document for good (4xx)
DELIVERY_FAILED = "DeliveryFailed"  # the carrier reports failure or return to sender
BACKORDER_EXPIRED = "BackorderExpired"  # still short after every re-try of the reservation
SHORT_PICK = "ShortPick"  # the WMS picked fewer units than released
# What Step Functions itself reports for a task that waited too long (callers map them to reasons).
TIMEOUT_ERRORS: tuple[str, ...] = ("States.Timeout", "States.HeartbeatTimeout")


class FlowError(Exception):
    """Base of the errors a step raises on purpose; the class name is the state machine's error name."""


class PartnerUnavailable(FlowError):
    pass


class Contended(FlowError):
    pass


class Throttled(FlowError):
    pass


class AwsUnavailable(FlowError):
    pass


class OrderCancelled(FlowError):
    pass


class OrderInvalid(FlowError):
    pass


class DeliveryRejected(FlowError):
    pass


class DeliveryFailed(FlowError):
    pass


class BackorderExpired(FlowError):
    pass


class ShortPick(FlowError):
    pass


# ----------------------------------------------------------------------------------------------- timers
@dataclass(frozen=True)
class Timers:
    """How long the flow waits, in seconds. The definition reads them from the execution input
    (`TimeoutSecondsPath`, `HeartbeatSecondsPath`, `SecondsPath`), so an environment (or the embedded runtime)
    shortens them by configuration, not by another definition."""

    pick_heartbeat: int = 4 * 3600  # the WMS reports progress at least this often while picking
    pick_timeout: int = 24 * 3600  # release -> pick complete
    dispatch_timeout: int = 48 * 3600  # shipment-ready -> dispatched
    delivery_timeout: int = 30 * 24 * 3600  # dispatched -> delivered
    backorder_recheck: int = 3600  # between re-tries of a short reservation
    backorder_rounds: int = 14 * 24  # re-tries before the backorder is an exception

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"timer {name} must be a positive number of seconds, got {value!r}")

    def as_input(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def parse(cls, raw: str | None) -> Timers:
        """From the JSON of ORDER_FLOW_TIMERS (missing keys keep their defaults; unknown keys are refused)."""
        import json

        if not raw:
            return cls()
        values = json.loads(raw)
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown order-flow timers: {', '.join(unknown)}")
        return cls(**values)


# ----------------------------------------------------------------------------------------- executions
_EXECUTION_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")
MAX_EXECUTION_NAME = 80


def execution_name(order_id: str) -> str:
    """One execution per order: the name is the order id (unsafe characters replaced) and a short hash of the
    exact id, so `SO.1` and `SO_1` do not collide and a duplicate start is refused by Step Functions."""
    digest = hashlib.sha256(order_id.encode()).hexdigest()[:8]
    safe = _EXECUTION_NAME_UNSAFE.sub("_", order_id)[: MAX_EXECUTION_NAME - 9]
    return f"{safe}-{digest}"


# ----------------------------------------------------------------------------------- carrier milestones
Milestone = Literal["pre_transit", "in_transit", "out_for_delivery", "delivered", "failure", "return_to_sender"]
MILESTONES: tuple[str, ...] = Milestone.__args__  # type: ignore[attr-defined]
# EasyPost tracker statuses -> milestones (`unknown` and anything new: recorded, no milestone).
EASYPOST_STATUSES: dict[str, str] = {
    "pre_transit": "pre_transit",
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "available_for_pickup": "out_for_delivery",
    "delivered": "delivered",
    "return_to_sender": "return_to_sender",
    "failure": "failure",
    "error": "failure",
    "cancelled": "failure",
}
TERMINAL_MILESTONES: frozenset[str] = frozenset({"delivered", "failure", "return_to_sender"})


def days_late(promised: date | None, estimated: datetime | date | None) -> int:
    """Days the carrier's estimated delivery is after the promised delivery (0: on time or unknown)."""
    if promised is None or estimated is None:
        return 0
    estimated_day = estimated.date() if isinstance(estimated, datetime) else estimated
    return max(0, (estimated_day - promised).days)
