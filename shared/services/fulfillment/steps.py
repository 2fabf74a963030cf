"""The state machine's steps (owner: flow). See docs/order-to-ship.md, "Steps".

Interface fixed by the contract (functions/order_flow/handler.py calls it):
- `StepRequest.from_event(event)`: the Lambda task's payload `{"step", "order_id", "correlation_id", "token"?,
  "max_rounds"?, "error"?, "failed_step"?}` (and `timers`?, when the definition passes the execution's);
- `build_steps(settings: OrderFlowSettings) -> FlowSteps`, built once per cold start (no AWS call);
- `FlowSteps.run(request) -> dict` (small), raising `shared.domain.order_flow` errors by name.

The steps are in `step_reserve` (validate, reserve, split, backorder), `step_handover` (release, erp_status,
ship, dispatch, track, complete) and `step_close` (compensate, exception); what they share in `_flow_core`, what
they decide without AWS in `_flow_plan`. Failures the state machine should retry are raised under the transient
names: EventBridge refusing events as `Throttled`, AWS throttling as `Throttled`, DynamoDB contention as
`Contended`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.domain.failures import FailureClass, classify
from shared.domain.order_flow import STEPS, AwsUnavailable, Contended, OrderInvalid, Throttled, Timers
from shared.domain.reservations import Contended as ReservationsContended
from shared.domain.reservations import ReservationInProgress
from shared.observability import logger
from shared.services.fulfillment import step_close, step_handover, step_reserve
from shared.services.fulfillment._flow_core import FlowContext
from shared.settings import OrderFlowSettings

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)
CONTENTION_CODES = frozenset({"TransactionConflictException", "TransactionInProgressException"})
TOKEN_STEPS = frozenset({"release", "ship", "track"})


@dataclass(frozen=True)
class StepRequest:
    step: str
    order_id: str
    correlation_id: str
    token: str | None = None
    max_rounds: int | None = None
    error: dict[str, Any] | None = None  # {"Error", "Cause"} caught by the definition
    failed_step: str | None = None
    timers: dict[str, int] | None = None  # the execution's timers, when the task passes them

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> StepRequest:
        return cls(
            step=str(event["step"]),
            order_id=str(event["order_id"]),
            correlation_id=str(event.get("correlation_id") or ""),
            token=event.get("token"),
            max_rounds=int(event["max_rounds"]) if event.get("max_rounds") is not None else None,
            error=event.get("error"),
            failed_step=event.get("failed_step"),
            timers=event.get("timers"),
        )


class FlowSteps:
    """One function per step; `run` dispatches on `request.step`."""

    def __init__(self, settings: OrderFlowSettings, context: FlowContext | None = None) -> None:
        self.settings = settings
        self.context = context or FlowContext(settings)
        ctx = self.context
        self._steps: dict[str, Callable[[StepRequest], dict[str, Any]]] = {
            "validate": lambda r: step_reserve.validate(ctx, r.order_id),
            "reserve": lambda r: step_reserve.reserve(ctx, r.order_id),
            "split": lambda r: step_reserve.split(ctx, r.order_id),
            "backorder": lambda r: step_reserve.backorder(ctx, r.order_id, r.max_rounds),
            "release": lambda r: step_handover.release(ctx, r.order_id, _token(r)),
            "erp_status": lambda r: step_handover.erp_status(ctx, r.order_id),
            "ship": lambda r: step_handover.ship(ctx, r.order_id, _token(r)),
            "dispatch": lambda r: step_handover.dispatch(ctx, r.order_id),
            "track": lambda r: step_handover.track(ctx, r.order_id, _token(r)),
            "complete": lambda r: step_handover.complete(ctx, r.order_id),
            "compensate": lambda r: step_close.compensate(ctx, r.order_id, r.error),
            "exception": lambda r: step_close.record_exception(
                ctx, r.order_id, r.failed_step, r.error, _timers(r.timers)
            ),
        }
        assert set(self._steps) == set(STEPS), "every step of the vocabulary has its function"

    def run(self, request: StepRequest) -> dict[str, Any]:
        step = self._steps.get(request.step)
        if step is None:
            raise ValueError(f"unknown step {request.step!r} (steps: {', '.join(STEPS)})")
        try:
            result = step(request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in THROTTLING_CODES:
                raise Throttled(f"{code}: {exc}") from exc
            if code in CONTENTION_CODES:
                raise Contended(f"{code}: {exc}") from exc
            if _aws_unavailable(exc):
                raise AwsUnavailable(f"{code}: {exc}") from exc
            raise
        except (ReservationsContended, ReservationInProgress) as exc:
            raise Contended(str(exc)) from exc
        except BotoCoreError as exc:  # a read or connect timeout, a dropped connection: no answer from AWS
            if classify(exc) in (FailureClass.TIMEOUT, FailureClass.PARTNER_UNAVAILABLE):
                raise AwsUnavailable(f"{type(exc).__name__}: {exc}") from exc
            raise
        logger.info("step done", extra={"order_id": request.order_id, "step": request.step, **_summary(result)})
        return result


def _aws_unavailable(exc: ClientError) -> bool:
    """A 5xx or a timeout from an AWS API: the state machine retries the step (one GetItem timing out must not
    send the order to the exception path)."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return int(status) >= 500 or classify(exc) is FailureClass.TIMEOUT


def build_steps(settings: OrderFlowSettings) -> FlowSteps:
    return FlowSteps(settings)


def _token(request: StepRequest) -> str:
    if not request.token:
        raise OrderInvalid(f"step {request.step} needs the task token in its payload")
    return request.token


def _timers(values: dict[str, int] | None) -> Timers | None:
    if not values:
        return None
    try:
        return Timers(**{k: int(v) for k, v in values.items() if k in Timers.__dataclass_fields__})
    except (TypeError, ValueError):
        return None


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k in ("outcome", "policy", "round", "systems")}
