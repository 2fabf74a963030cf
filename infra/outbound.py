"""Outbound delivery: the events other systems subscribe to, delivered through their adapters (ERPNext REST,
signed webhooks) by the `outbound` function (docs/supplier-collaboration.md, "Partners and adapters")."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.platform import Platform

# Every event type a system may subscribe to.
DELIVERABLE_EVENTS = [
    "supplier.created",
    "supplier.updated",
    "supplier.merged",
    "supplier.lead_time_updated",
    "purchase_order.acknowledged",
    "inbound.expectation_changed",
    "replenishment.risk_changed",
    "order.promise_date_changed",
]


class Outbound(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        platform: Platform,
        partners: dynamodb.Table,
        idempotency: dynamodb.Table,
    ) -> None:
        super().__init__(scope, id)
