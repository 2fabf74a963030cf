"""Reservation routes: reserve all lines or none, read, release, commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from shared.api.problem_response import CORRELATION_HEADER
from shared.api.reservation_models import (
    REFERENCE_PATTERN,
    InsufficientStockProblem,
    LineShortfallView,
    ReservationRequest,
)
from shared.aws.reservation_store import ReservationStore
from shared.canonical.reservation import Reservation
from shared.domain import reservations as r
from shared.http import problems as p
from shared.http.problems import Problem
from shared.observability import MetricUnit, metrics
from shared.services.reservations import ReservationService

if TYPE_CHECKING:
    from shared.api.deps import Deps

router = Router()

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}
_RESERVATION = {"application/json": {"model": Reservation}}
_Reference = Annotated[str, Path(min_length=1, max_length=128, pattern=REFERENCE_PATTERN)]


def build_service(deps: Deps) -> ReservationService:
    settings = deps.settings
    store = ReservationStore(settings.reservations_table, settings.inventory_table)
    return ReservationService(store, settings.event_bus_name, master=deps.master)


def _service() -> ReservationService:
    return router.context["deps"].service(build_service)


@contextmanager
def _as_problems() -> Iterator[None]:
    """The reservation errors as their problem types (the rest are mapped by shared/api/app.py)."""
    try:
        yield
    except r.TooManyLines as exc:
        raise Problem(p.TOO_MANY_LINES, str(exc), {"limit": exc.limit, "count": exc.count}) from None
    except r.UnknownUnit as exc:
        raise Problem(p.UNKNOWN_UNIT, str(exc), {"sku": exc.sku, "unit": exc.unit}) from None
    except r.InsufficientStock as exc:
        lines = [LineShortfallView.model_validate(asdict(line)).model_dump() for line in exc.lines]
        raise Problem(p.INSUFFICIENT_STOCK, str(exc), {"lines": lines}) from None
    except r.ReservationConflict as exc:
        raise Problem(p.RESERVATION_CONFLICT, str(exc)) from None
    except r.ReservationClosed as exc:
        raise Problem(p.RESERVATION_CLOSED, str(exc), {"reservation_status": exc.status}) from None
    except r.ReservationInProgress as exc:
        raise Problem(p.IDEMPOTENCY_IN_PROGRESS, str(exc), headers={"Retry-After": "1"}) from None
    except r.Contended as exc:
        raise Problem(p.UNAVAILABLE, str(exc), headers={"Retry-After": "1"}) from None


def _reply(status: int, reservation: Reservation, *, replayed: bool | None = None, **headers: str) -> Response:
    out: dict[str, Any] = {CORRELATION_HEADER: router.context["meta"].correlation_id, **headers}
    if replayed is not None:
        out["Idempotent-Replayed"] = str(replayed).lower()
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=reservation, headers=out)


def _count(action: str, replayed: bool) -> None:
    metrics.add_metric(
        name="ReservationReplayed" if replayed else f"Reservation{action}", unit=MetricUnit.Count, value=1
    )


@router.post(
    "/v1/reservations",
    summary="Reserve stock for every line of an order or hold, or none",
    tags=["reservations"],
    responses={
        201: {"description": "Reserved; reservation.created published", "content": _RESERVATION},
        200: {"description": "The same request again: the existing reservation", "content": _RESERVATION},
        401: _PROBLEM,
        403: _PROBLEM,
        409: {
            "description": "insufficient-stock (schema below), reservation-conflict (the reference exists with "
            "other lines, kind or channel) or idempotency-in-progress (a reservation of over 99 positions with "
            "this reference is still being written)",
            "content": {"application/problem+json": {"model": InsufficientStockProblem}},
        },
        422: _PROBLEM,
        503: _PROBLEM,
    },
)
def create_reservation(body: Annotated[ReservationRequest, Body()]) -> Response[Reservation]:
    ctx = router.context
    with _as_problems():
        body = ctx["deps"].master.with_location_codes(body)  # a line may name its location by GLN
        reservation, replayed = _service().create(body.to_draft(), ctx["partner"], ctx["meta"])
    _count("Created", replayed)
    metrics.add_metric(name="ReservationLines", unit=MetricUnit.Count, value=len(reservation.lines))
    return _reply(
        200 if replayed else 201,
        reservation,
        replayed=replayed,
        Location=f"/v1/reservations/{reservation.reference}",
    )


@router.get(
    "/v1/reservations/<reference>",
    summary="One of your reservations",
    tags=["reservations"],
    responses={200: {"description": "The reservation", "content": _RESERVATION}, 401: _PROBLEM, 404: _PROBLEM},
)
def get_reservation(reference: _Reference) -> Response[Reservation]:
    return _reply(200, _service().get(router.context["partner"], reference))


@router.post(
    "/v1/reservations/<reference>/release",
    summary="Release a held reservation: its stock is available again",
    tags=["reservations"],
    responses={
        200: {"description": "Released (again: Idempotent-Replayed)", "content": _RESERVATION},
        401: _PROBLEM,
        404: _PROBLEM,
        409: _PROBLEM,
        503: _PROBLEM,
    },
)
def release_reservation(reference: _Reference) -> Response[Reservation]:
    ctx = router.context
    with _as_problems():
        reservation, replayed = _service().release(ctx["partner"], reference, ctx["meta"])
    _count("Released", replayed)
    return _reply(200, reservation, replayed=replayed)


@router.post(
    "/v1/reservations/<reference>/commit",
    summary="Commit a held reservation on shipment: its stock leaves committed/reserved",
    description=(
        "On hand is not changed here: it drops when the warehouse reports the shipment (or counts). "
        "Until then the shipped units show as available again."
    ),
    tags=["reservations"],
    responses={
        200: {"description": "Committed (again: Idempotent-Replayed)", "content": _RESERVATION},
        401: _PROBLEM,
        404: _PROBLEM,
        409: _PROBLEM,
        503: _PROBLEM,
    },
)
def commit_reservation(reference: _Reference) -> Response[Reservation]:
    ctx = router.context
    with _as_problems():
        reservation, replayed = _service().commit(ctx["partner"], reference, ctx["meta"])
    _count("Committed", replayed)
    return _reply(200, reservation, replayed=replayed)
