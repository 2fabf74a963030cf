"""Outbound adapters: how distrosync delivers a canonical event to a system it keeps in sync.

An adapter is built from the system's partner record (`Partner.outbound`) and its connection secret, and
delivers one event at a time through `shared.adapters.outbound.http.Transport` (retries, budget, logging):

- `erpnext`: the reference ERP adapter, ERPNext/Frappe REST (ADR 0010); it serves the event types in
  `ERPNEXT_EVENT_TYPES` only, and `systems add` refuses any other subscription;
- `webhook`: the signed envelope POSTed to the system's URL; it serves every deliverable type.

Adapters hold no AWS code: the dispatcher (`shared.services.outbound`) reads secrets and delivery records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:  # the transport imports Powertools: this module stays light for infra/ (it reads the budget)
    from shared.adapters.outbound.http import Deadline, RetryPolicy, SystemCall
    from shared.canonical.envelope import Envelope

# One delivery's time for all its calls and retries; the outbound function's timeout is sized from it
# (infra/outbound.py), and a delivery never starts with less than this margin left in the invocation.
DELIVERY_BUDGET_SECONDS = 25.0
SAFETY_MARGIN_SECONDS = 3.0

# Every event type a system may subscribe to (infra/outbound.py routes exactly these to the outbound function).
DELIVERABLE_EVENT_TYPES: tuple[str, ...] = (
    "supplier.created",
    "supplier.updated",
    "supplier.merged",
    "supplier.lead_time_updated",
    "purchase_order.acknowledged",
    "purchase_order.ack_overdue",
    "ship_notice.received",
    "inbound.expectation_changed",
    "replenishment.risk_changed",
    "order.promise_date_changed",
    # the order-to-ship flow (#5, docs/order-to-ship.md)
    "order.released",
    "order.release_cancelled",
    "order.status_changed",
    "shipment.ready",
    "shipment.dispatched",
    "shipment.milestone",
    "shipment.delayed",
    "invoice.requested",
    "order.exception",
    "order.cancelled",
    # supplier invoices (#6: 810 or the portal) and the EDI gateway's outcomes, for AP and ops systems
    "supplier_invoice.received",
    "edi.ack_overdue",
    "edi.interchange_processed",  # every inbound interchange's outcome, for an ops or monitoring system
)
# Documents for the systems of one location (a WMS, a DC's TMS): a system is a target of these only where its
# `location` scopes cover the event's `location`. Other events go to every subscriber, whatever its scopes.
LOCATION_SCOPED_EVENT_TYPES = frozenset(
    {"order.released", "order.release_cancelled", "shipment.ready", "shipment.dispatched"}
)

DeliveryStatus = Literal["delivered", "skipped", "rejected", "refused", "failed"]

ERPNEXT_EVENT_TYPES = frozenset(
    {"purchase_order.acknowledged", "supplier.created", "supplier.updated", "supplier.merged"}
)
# Refused credentials: the delivery is `refused` (the dispatcher re-reads the secret once first, for a rotation).
# Not a rejection: the event is fine, the connection is not; its message is dead-lettered (`partner_refused`) until
# an operator fixes the connection and redrives it.
CREDENTIAL_STATUSES = frozenset({401, 403})
# The secret's fields per adapter (docs/supplier-collaboration.md, "Partners and adapters").
CONNECTION_FIELDS: dict[str, tuple[str, ...]] = {
    "erpnext": ("base_url", "api_key", "api_secret"),
    "webhook": ("url", "signing_secret"),
}
# The fields that are secrets: never written to a log, a delivery record or a dead letter (`redact`).
SECRET_FIELDS = frozenset({"api_key", "api_secret", "signing_secret"})
REFUSAL_EXCERPT = 300  # how much of a refusing system's answer is kept


class ConnectionSettingsError(ValueError):
    """The connection secret lacks a field the adapter needs (an operator's mistake, not the system's)."""


@dataclass(frozen=True)
class DeliveryResult:
    """What one delivery to one system came to.

    `delivered`: the system has the change (including "it had it already"); `skipped`: nothing to send to this
    system (e.g. a supplier it does not know); `rejected`: the system refused it for good (4xx), `detail` says
    why in the system's words; `refused`: the system refused our credentials (401/403), `detail` has its status
    and answer; `failed`: a transient failure outlived the budget (SQS retries the message).
    """

    status: DeliveryStatus
    detail: str = ""
    calls: list[SystemCall] = field(default_factory=list)


class Adapter(Protocol):
    name: str
    system: str

    def deliver(self, envelope: Envelope[Any], detail: Mapping[str, Any], deadline: Deadline) -> DeliveryResult:
        """Deliver `envelope` (`detail` is the envelope exactly as it was published)."""
        ...

    def deadline(self) -> Deadline:
        """A fresh time budget for one delivery."""
        ...


def supported_types(adapter: str) -> frozenset[str] | None:
    """The event types an adapter can serve; None: any type."""
    if adapter == "erpnext":
        return ERPNEXT_EVENT_TYPES
    if adapter == "webhook":
        return None
    raise ValueError(f"unknown adapter {adapter!r} (known: {', '.join(CONNECTION_FIELDS)})")


def unsupported(adapter: str, subscriptions: Iterable[str]) -> list[str]:
    """The subscriptions `adapter` cannot serve, sorted (empty: all fine)."""
    served = supported_types(adapter)
    return [] if served is None else sorted(set(subscriptions) - served)


def redact(text: str, connection: Mapping[str, Any]) -> str:
    """`text` with every secret value of `connection` masked (a system may echo the token it refused)."""
    for name in SECRET_FIELDS:
        value = str(connection.get(name) or "")
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


def refusal(status: int, answer: str) -> str:
    """A refusal's detail: its status and a short excerpt of the system's answer."""
    excerpt = " ".join(answer.split())
    if len(excerpt) > REFUSAL_EXCERPT:
        excerpt = excerpt[: REFUSAL_EXCERPT - 1] + "…"
    return f"credentials refused: HTTP {status}: {excerpt or 'no body'}"


def check_connection(adapter: str, connection: Mapping[str, Any]) -> None:
    missing = [name for name in CONNECTION_FIELDS[adapter] if not str(connection.get(name) or "").strip()]
    if missing:
        raise ConnectionSettingsError(f"the {adapter} connection needs {', '.join(missing)}")
    url = str(connection.get("base_url") or connection.get("url"))
    if not url.startswith(("https://", "http://")):
        raise ConnectionSettingsError(f"the {adapter} URL must start with https:// (or http:// for a local simulator)")


def build_adapter(
    adapter: str, system: str, connection: Mapping[str, Any], policy: RetryPolicy, **transport: Any
) -> Adapter:
    """The adapter named `adapter` for `system`, on its connection; `transport` goes to the Transport (tests)."""
    check_connection(adapter, connection)
    if adapter == "erpnext":
        from shared.adapters.outbound.erpnext import ErpNextAdapter

        return ErpNextAdapter(system, connection, policy, **transport)
    if adapter == "webhook":
        from shared.adapters.outbound.webhook import WebhookAdapter

        return WebhookAdapter(system, connection, policy, **transport)
    raise ValueError(f"unknown adapter {adapter!r}")
