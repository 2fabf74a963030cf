"""`Platform`: what every domain construct builds on, passed as one value instead of five arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms

from infra.config import EnvConfig
from infra.layers import Layers
from infra.observability import Observability

if TYPE_CHECKING:
    from infra.outbox import ClaimCheck


@dataclass(frozen=True)
class Platform:
    config: EnvConfig
    key: kms.IKey  # the customer-managed data key (tables, queues, logs, topic, partner secrets)
    layers: Layers
    observability: Observability
    bus: events.IEventBus
    # Where events over EventBridge's entry limit go (ADR 0016): every function learns the bucket, publishers may
    # write claims and every function may read them (`ServiceFunction`).
    claim_check: ClaimCheck | None = None
