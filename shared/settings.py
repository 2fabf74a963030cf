"""Function settings, read from the environment in one place (the names are in docs/contracts.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


@dataclass(frozen=True)
class IngressSettings:
    partners_table: str
    idempotency_table: str
    inventory_table: str
    event_bus_name: str
    partner_secrets_prefix: str
    reservations_table: str
    suppliers_table: str = ""
    purchasing_table: str = ""
    orders_table: str = ""
    data_key_arn: str = ""
    order_flow_state_machine_arn: str = ""
    edi_bucket: str = ""
    edi_table: str = ""
    signature_max_skew_seconds: int = 300
    max_body_bytes: int = 1024 * 1024

    @classmethod
    def from_env(cls) -> IngressSettings:
        return cls(
            partners_table=_required("PARTNERS_TABLE_NAME"),
            idempotency_table=_required("IDEMPOTENCY_TABLE_NAME"),
            inventory_table=_required("INVENTORY_TABLE_NAME"),
            event_bus_name=_required("EVENT_BUS_NAME"),
            partner_secrets_prefix=_required("PARTNER_SECRETS_PREFIX"),
            reservations_table=_required("RESERVATIONS_TABLE_NAME"),
            suppliers_table=_required("SUPPLIERS_TABLE_NAME"),
            purchasing_table=_required("PURCHASING_TABLE_NAME"),
            orders_table=_required("ORDERS_TABLE_NAME"),
            data_key_arn=_required("DATA_KEY_ARN"),
            order_flow_state_machine_arn=_required("ORDER_FLOW_STATE_MACHINE_ARN"),
            edi_bucket=_required("EDI_BUCKET_NAME"),
            edi_table=_required("EDI_TABLE_NAME"),
            signature_max_skew_seconds=int(os.environ.get("SIGNATURE_MAX_SKEW_SECONDS", "300")),
            max_body_bytes=int(os.environ.get("MAX_BODY_BYTES", str(1024 * 1024))),
        )


@dataclass(frozen=True)
class ProjectorSettings:
    inventory_table: str
    partners_table: str
    event_bus_name: str

    @classmethod
    def from_env(cls) -> ProjectorSettings:
        return cls(
            inventory_table=_required("INVENTORY_TABLE_NAME"),
            partners_table=_required("PARTNERS_TABLE_NAME"),
            event_bus_name=_required("EVENT_BUS_NAME"),
        )


@dataclass(frozen=True)
class ReservationExpirySettings:
    reservations_table: str
    inventory_table: str
    event_bus_name: str

    @classmethod
    def from_env(cls) -> ReservationExpirySettings:
        return cls(
            reservations_table=_required("RESERVATIONS_TABLE_NAME"),
            inventory_table=_required("INVENTORY_TABLE_NAME"),
            event_bus_name=_required("EVENT_BUS_NAME"),
        )


@dataclass(frozen=True)
class OutboundSettings:
    partners_table: str
    idempotency_table: str
    system_secrets_prefix: str

    @classmethod
    def from_env(cls) -> OutboundSettings:
        return cls(
            partners_table=_required("PARTNERS_TABLE_NAME"),
            idempotency_table=_required("IDEMPOTENCY_TABLE_NAME"),
            system_secrets_prefix=_required("SYSTEM_SECRETS_PREFIX"),
        )


@dataclass(frozen=True)
class AckOverdueSettings:
    purchasing_table: str
    event_bus_name: str

    @classmethod
    def from_env(cls) -> AckOverdueSettings:
        return cls(purchasing_table=_required("PURCHASING_TABLE_NAME"), event_bus_name=_required("EVENT_BUS_NAME"))


@dataclass(frozen=True)
class PromiserSettings:
    orders_table: str
    inventory_table: str
    event_bus_name: str

    @classmethod
    def from_env(cls) -> PromiserSettings:
        return cls(
            orders_table=_required("ORDERS_TABLE_NAME"),
            inventory_table=_required("INVENTORY_TABLE_NAME"),
            event_bus_name=_required("EVENT_BUS_NAME"),
        )


@dataclass(frozen=True)
class OrderFlowSettings:
    """The order-to-ship step function (functions/order_flow)."""

    orders_table: str
    reservations_table: str
    inventory_table: str
    partners_table: str
    idempotency_table: str
    event_bus_name: str
    system_secrets_prefix: str

    @classmethod
    def from_env(cls) -> OrderFlowSettings:
        return cls(
            orders_table=_required("ORDERS_TABLE_NAME"),
            reservations_table=_required("RESERVATIONS_TABLE_NAME"),
            inventory_table=_required("INVENTORY_TABLE_NAME"),
            partners_table=_required("PARTNERS_TABLE_NAME"),
            idempotency_table=_required("IDEMPOTENCY_TABLE_NAME"),
            event_bus_name=_required("EVENT_BUS_NAME"),
            system_secrets_prefix=_required("SYSTEM_SECRETS_PREFIX"),
        )


@dataclass(frozen=True)
class OrderStarterSettings:
    """The starter (functions/order_starter): one execution per order.created."""

    state_machine_arn: str
    timers_json: str

    @classmethod
    def from_env(cls) -> OrderStarterSettings:
        return cls(
            state_machine_arn=_required("STATE_MACHINE_ARN"), timers_json=os.environ.get("ORDER_FLOW_TIMERS", "")
        )


@dataclass(frozen=True)
class EdiOutboundSettings:
    """The EDI outbound function (functions/edi_outbound): 850/940 files for trading partners."""

    partners_table: str
    edi_table: str
    edi_bucket: str
    event_bus_name: str

    @classmethod
    def from_env(cls) -> EdiOutboundSettings:
        return cls(
            partners_table=_required("PARTNERS_TABLE_NAME"),
            edi_table=_required("EDI_TABLE_NAME"),
            edi_bucket=_required("EDI_BUCKET_NAME"),
            event_bus_name=_required("EVENT_BUS_NAME"),
        )


@dataclass(frozen=True)
class EdiAckOverdueSettings:
    """The 997-due sweep (functions/edi_ack_overdue)."""

    edi_table: str
    event_bus_name: str

    @classmethod
    def from_env(cls) -> EdiAckOverdueSettings:
        return cls(edi_table=_required("EDI_TABLE_NAME"), event_bus_name=_required("EVENT_BUS_NAME"))
