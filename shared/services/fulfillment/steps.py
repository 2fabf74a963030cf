"""The state machine's steps (owner: flow). See docs/order-to-ship.md, "Steps".

Interface fixed by the contract (functions/order_flow/handler.py calls it):
- `StepRequest.from_event(event)`: the Lambda task's payload `{"step", "order_id", "correlation_id", "token"?,
  "max_rounds"?, "error"?, "failed_step"?}`;
- `build_steps(settings: OrderFlowSettings) -> FlowSteps`, built once per cold start (no AWS call);
- `FlowSteps.run(request) -> dict` (small), raising `shared.domain.order_flow` errors by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.settings import OrderFlowSettings


@dataclass(frozen=True)
class StepRequest:
    step: str
    order_id: str
    correlation_id: str
    token: str | None = None
    max_rounds: int | None = None
    error: dict[str, Any] | None = None  # {"Error", "Cause"} caught by the definition
    failed_step: str | None = None

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
        )


class FlowSteps:
    """One method per step; `run` dispatches on `request.step`."""

    def __init__(self, settings: OrderFlowSettings) -> None:
        self.settings = settings

    def run(self, request: StepRequest) -> dict[str, Any]:
        raise NotImplementedError(f"step {request.step} is being built (issue #5)")


def build_steps(settings: OrderFlowSettings) -> FlowSteps:
    return FlowSteps(settings)
