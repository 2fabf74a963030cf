"""Accepting a warehouse adjustment: scope check, canonical event, idempotent publish."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.api.models import Accepted, AdjustmentRequest
from shared.aws.bus import publish
from shared.aws.clients import client
from shared.canonical.envelope import Envelope
from shared.canonical.inventory import InventoryAdjusted
from shared.canonical.partner import Partner
from shared.domain.errors import OutOfScope
from shared.domain.scopes import allows

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
AdjustedEnvelope = Envelope[InventoryAdjusted]


@dataclass(frozen=True)
class RequestMeta:
    correlation_id: str
    request_id: str
    received_at: datetime
    idempotency_key: str | None


def idempotency_key(request: AdjustmentRequest, header_key: str | None) -> str:
    """The partner's Idempotency-Key, else its message id, else the feed position (sku, location, sequence)."""
    if header_key:
        return f"key:{header_key}"
    if request.message_id:
        return f"msg:{request.message_id}"
    return f"seq:{request.sku}@{request.location}#{request.sequence}"


def to_envelope(request: AdjustmentRequest, partner: Partner, meta: RequestMeta) -> Envelope[InventoryAdjusted]:
    data = InventoryAdjusted(
        sku=request.sku,
        location=request.location,
        delta=request.delta,
        on_hand=request.on_hand,
        reason=request.reason,
        sequence=request.sequence,
        reference=request.reference,
    )
    return AdjustedEnvelope.wrap(
        data,
        source_partner=partner.partner_id,
        occurred_at=request.occurred_at,
        received_at=meta.received_at,
        correlation_id=meta.correlation_id,
        causation_id=meta.request_id or None,
    )


class IntakeRequest(BaseModel):
    """What the idempotent section receives: hashed on (partner_id, key), validated on `payload`."""

    partner_id: str
    key: str
    payload: AdjustmentRequest
    partner: Partner
    meta: RequestMeta


class AdjustmentIntake:
    """Publishes `inventory.adjusted` once per (partner, idempotency key), however often the request comes."""

    def __init__(self, *, idempotency_table: str, bus_name: str) -> None:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

        self.bus_name = bus_name
        self.idempotency_table = idempotency_table
        self.config = IdempotencyConfig(
            event_key_jmespath="[partner_id, key]",
            payload_validation_jmespath="payload",
            expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
            raise_on_no_idempotency_key=True,
        )
        self._persistence: Any = None
        self._accept_once: Callable[..., dict[str, Any]] | None = None

    def persistence(self) -> Any:
        """The idempotency store (Powertools DynamoDB layer), created on first use on the shared client."""
        if self._persistence is None:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

            self._persistence = DynamoDBPersistenceLayer(
                table_name=self.idempotency_table, boto3_client=client("dynamodb")
            )
        return self._persistence

    def _accept(self, request: IntakeRequest) -> dict[str, Any]:
        if self._accept_once is None:
            from aws_lambda_powertools.utilities.idempotency import idempotent_function

            self._accept_once = idempotent_function(
                data_keyword_argument="request", persistence_store=self.persistence(), config=self.config
            )(self._publish)
        return self._accept_once(request=request)

    def register_lambda_context(self, context: Any) -> None:
        self.config.register_lambda_context(context)

    def accept(self, request: AdjustmentRequest, partner: Partner, meta: RequestMeta) -> tuple[Accepted, bool]:
        """Returns the acceptance and whether it replays an earlier identical request."""
        if not allows(partner.scopes, "location", request.location):
            raise OutOfScope(partner.partner_id, "location", request.location)
        intake = IntakeRequest(
            partner_id=partner.partner_id,
            key=idempotency_key(request, meta.idempotency_key),
            payload=request,
            partner=partner,
            meta=meta,
        )
        result = self._accept(intake)
        return Accepted.model_validate(result), result.get("_request_id") != meta.request_id

    def _publish(self, request: IntakeRequest) -> dict[str, Any]:
        envelope = to_envelope(request.payload, request.partner, request.meta)
        publish([envelope], self.bus_name)
        accepted = Accepted(
            event_id=envelope.id,
            type=envelope.type,
            subject=envelope.subject,
            correlation_id=envelope.correlation_id,
            received_at=envelope.received_at,
        )
        return {**accepted.model_dump(mode="json"), "_request_id": request.meta.request_id}
