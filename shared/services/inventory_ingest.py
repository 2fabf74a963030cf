"""Accepting inventory inputs: adjustments, snapshots, receipts and incoming supply.

Each input goes through the same steps: shape checks that need the whole body (line limits, repeated lines,
negative counts), the partner's location scope, the master data (SKUs, locations, units of measure; quantities
converted to eaches), then the idempotent intake, which publishes the canonical events once per
(partner, idempotency key) however often the request comes.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

from shared.api.models import (
    Accepted,
    AdjustmentRequest,
    IncomingRequest,
    ReceiptRequest,
    SnapshotRequest,
)
from shared.aws.bus import publish
from shared.aws.clients import client
from shared.canonical.envelope import Envelope, EventData
from shared.canonical.inventory import (
    IncomingUpdated,
    InventoryAdjusted,
    InventorySnapshotReceived,
    ReceiptPosted,
    SnapshotLine,
    StatusChange,
)
from shared.canonical.partner import Partner
from shared.domain.errors import OutOfScope
from shared.domain.scopes import allows
from shared.http import problems as p
from shared.http.problems import Problem
from shared.services.master_data import MasterData, Need, Resolved

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
MAX_SNAPSHOT_LINES = 1000
SNAPSHOT_LINES_PER_EVENT = 100
# Well under EventBridge's 256 KB per event, leaving room for the envelope: lines with many lots make an
# event large before it has 100 lines.
SNAPSHOT_BYTES_PER_EVENT = 200_000
MAX_INCOMING_LINES = 500


@dataclass(frozen=True)
class RequestMeta:
    correlation_id: str
    request_id: str
    received_at: datetime
    idempotency_key: str | None


def idempotency_key(header_key: str | None, message_id: str | None, feed_position: str) -> str:
    """The partner's Idempotency-Key, else its message id, else the position in its feed."""
    if header_key:
        return f"key:{header_key}"
    if message_id:
        return f"msg:{message_id}"
    return feed_position


class IntakeRequest(BaseModel):
    """What the idempotent section receives: hashed on (partner_id, key), validated on `payload` (the body
    as the partner sent it). The excluded fields ride along to the publication without being hashed."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    partner_id: str
    key: str
    payload: SerializeAsAny[BaseModel]
    events: list[EventData] = Field(exclude=True)
    occurred_at: datetime = Field(exclude=True)
    partner: Partner = Field(exclude=True)
    meta: RequestMeta = Field(exclude=True)


class Intake:
    """Publishes a request's events once per (partner, idempotency key); a replay returns the first answer.

    A replay with another body under the same key is refused (`IdempotencyValidationError`); a failed
    publication leaves no record, so the partner's retry publishes.
    """

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

    def register_lambda_context(self, context: Any) -> None:
        self.config.register_lambda_context(context)

    def accept(
        self,
        partner: Partner,
        meta: RequestMeta,
        *,
        key: str,
        payload: BaseModel,
        events: Sequence[EventData],
        occurred_at: datetime,
    ) -> tuple[Accepted, bool]:
        """Returns the acceptance and whether it replays an earlier identical request."""
        request = IntakeRequest(
            partner_id=partner.partner_id,
            key=key,
            payload=payload,
            events=list(events),
            occurred_at=occurred_at,
            partner=partner,
            meta=meta,
        )
        if self._accept_once is None:
            from aws_lambda_powertools.utilities.idempotency import idempotent_function

            self._accept_once = idempotent_function(
                data_keyword_argument="request", persistence_store=self.persistence(), config=self.config
            )(self._publish)
        result = self._accept_once(request=request)
        return Accepted.model_validate(result), result.get("_request_id") != meta.request_id

    def _publish(self, request: IntakeRequest) -> dict[str, Any]:
        meta = request.meta
        envelopes = [
            Envelope[type(data)].wrap(  # type: ignore[misc]
                data,
                source_partner=request.partner_id,
                occurred_at=request.occurred_at,
                received_at=meta.received_at,
                correlation_id=meta.correlation_id,
                causation_id=meta.request_id or None,
            )
            for data in request.events
        ]
        publish(envelopes, self.bus_name)
        first = envelopes[0]
        accepted = Accepted(
            event_id=first.id,
            event_ids=[e.id for e in envelopes],
            type=first.type,
            subject=first.subject,
            correlation_id=first.correlation_id,
            received_at=first.received_at,
        )
        return {**accepted.model_dump(mode="json"), "_request_id": meta.request_id}


class InventoryIngest:
    """The inventory inputs, checked against scope and master data, published through the intake."""

    def __init__(self, intake: Intake, master: MasterData) -> None:
        self.intake = intake
        self.master = master

    def adjustment(self, body: AdjustmentRequest, partner: Partner, meta: RequestMeta) -> tuple[Accepted, bool]:
        body = self.master.with_location_codes(body)
        negative = _negative_counts("", body.on_hand, body.unavailable or {})
        if negative:
            _refuse_negative(negative)
        _check_scope(partner, [body.location])
        resolved = self.master.require([Need(sku=body.sku, location=body.location, unit=body.unit)])
        eaches = _converter(resolved, body.sku, body.unit)
        change = body.status_change
        data = InventoryAdjusted(
            sku=body.sku,
            location=body.location,
            lot=body.lot,
            delta=eaches(body.delta),
            on_hand=eaches(body.on_hand),
            unavailable={k: eaches(v) for k, v in body.unavailable.items()} if body.unavailable is not None else None,
            status_change=(
                StatusChange(
                    from_status=change.from_status, to_status=change.to_status, quantity=eaches(change.quantity)
                )
                if change
                else None
            ),
            reason=body.reason,  # type: ignore[arg-type]  # set by the request's validator
            sequence=body.sequence,
            reference=body.reference,
        )
        key = idempotency_key(meta.idempotency_key, body.message_id, f"seq:{body.sku}@{body.location}#{body.sequence}")
        return self.intake.accept(partner, meta, key=key, payload=body, events=[data], occurred_at=body.occurred_at)

    def snapshot(self, body: SnapshotRequest, partner: Partner, meta: RequestMeta) -> tuple[Accepted, bool]:
        body = self.master.with_location_codes(body)
        _check_line_count(len(body.lines), MAX_SNAPSHOT_LINES)
        _refuse_repeats([(f"/lines/{i}/sku", line.sku) for i, line in enumerate(body.lines)], "SKU")
        negative = [
            error
            for i, line in enumerate(body.lines)
            for error in _negative_counts(f"/lines/{i}", line.on_hand, line.unavailable, line.lots, sku=line.sku)
        ]
        if negative:
            _refuse_negative(negative)
        _check_scope(partner, [body.location])
        resolved = self.master.require(
            [Need(location=body.location)]
            + [Need(sku=line.sku, unit=line.unit, at=f"/lines/{i}") for i, line in enumerate(body.lines)]
        )
        lines = []
        for line in body.lines:
            eaches = _converter(resolved, line.sku, line.unit)
            lines.append(
                SnapshotLine(
                    sku=line.sku,
                    on_hand=eaches(line.on_hand),
                    unavailable={k: eaches(v) for k, v in line.unavailable.items()},
                    lots={k: eaches(v) for k, v in line.lots.items()},
                )
            )
        chunks = _chunks(lines)
        events = [
            InventorySnapshotReceived(
                location=body.location,
                snapshot_id=body.snapshot_id,
                sequence=body.sequence,
                part=n,
                parts=len(chunks),
                lines=chunk,
            )
            for n, chunk in enumerate(chunks, start=1)
        ]
        key = idempotency_key(meta.idempotency_key, body.message_id, f"snap:{body.location}#{body.snapshot_id}")
        return self.intake.accept(partner, meta, key=key, payload=body, events=events, occurred_at=body.taken_at)

    def receipt(self, body: ReceiptRequest, partner: Partner, meta: RequestMeta) -> tuple[Accepted, bool]:
        body = self.master.with_location_codes(body)
        _check_scope(partner, [body.location])
        resolved = self.master.require([Need(sku=body.sku, location=body.location, unit=body.unit)])
        data = ReceiptPosted(
            sku=body.sku,
            location=body.location,
            lot=body.lot,
            quantity=resolved.eaches(body.sku, body.quantity, body.unit),
            incoming_reference=body.incoming_reference,
            sequence=body.sequence,
            document=body.document,
        )
        key = idempotency_key(meta.idempotency_key, body.message_id, f"rcpt:{body.sku}@{body.location}#{body.sequence}")
        return self.intake.accept(partner, meta, key=key, payload=body, events=[data], occurred_at=body.occurred_at)

    def incoming(self, body: IncomingRequest, partner: Partner, meta: RequestMeta) -> tuple[Accepted, bool]:
        body = self.master.with_location_codes(body)
        _check_line_count(len(body.lines), MAX_INCOMING_LINES)
        _refuse_repeats([(f"/lines/{i}/line", line.line) for i, line in enumerate(body.lines)], "line")
        undated = [
            {
                "in": "body",
                "pointer": f"/lines/{i}/expected_date",
                "message": "give an expected_date on the line or on the document",
                "code": "missing",
            }
            for i, line in enumerate(body.lines)
            if line.expected_date is None and body.expected_date is None
        ]
        if undated:
            raise Problem(p.VALIDATION_FAILED, f"{len(undated)} line(s) have no expected date", {"errors": undated})
        _check_scope(partner, [line.location for line in body.lines])
        resolved = self.master.require(
            [
                Need(sku=line.sku, location=line.location, unit=line.unit, at=f"/lines/{i}")
                for i, line in enumerate(body.lines)
            ]
        )
        events = [
            IncomingUpdated(
                sku=line.sku,
                location=line.location,
                reference=f"{body.document}/{line.line}",
                kind=body.kind,
                quantity=resolved.eaches(line.sku, line.quantity, line.unit),
                expected_date=line.expected_date or body.expected_date,  # type: ignore[arg-type]
                sequence=body.sequence,
            )
            for line in body.lines
        ]
        # The document's version and which of its lines: a document sent in parts keeps one key per part.
        lines_digest = hashlib.sha256("\n".join(sorted(line.line for line in body.lines)).encode()).hexdigest()[:16]
        key = idempotency_key(
            meta.idempotency_key, body.message_id, f"in:{body.kind}:{body.document}#{body.sequence}:{lines_digest}"
        )
        return self.intake.accept(partner, meta, key=key, payload=body, events=events, occurred_at=body.occurred_at)


def _chunks(lines: list[SnapshotLine]) -> list[list[SnapshotLine]]:
    """Consecutive lines, at most 100 and about `SNAPSHOT_BYTES_PER_EVENT` per chunk."""
    chunks: list[list[SnapshotLine]] = []
    size = 0
    for line in lines:
        n = len(line.model_dump_json())
        if not chunks or len(chunks[-1]) == SNAPSHOT_LINES_PER_EVENT or size + n > SNAPSHOT_BYTES_PER_EVENT:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += n
    return chunks


def _converter(resolved: Resolved, sku: str, unit: str) -> Callable[[int | None], Any]:
    def eaches(quantity: int | None) -> int | None:
        return None if quantity is None else resolved.eaches(sku, quantity, unit)

    return eaches


def _check_scope(partner: Partner, locations: Iterable[str]) -> None:
    for location in dict.fromkeys(locations):
        if not allows(partner.scopes, "location", location):
            raise OutOfScope(partner.partner_id, "location", location)


def _check_line_count(count: int, limit: int) -> None:
    if count > limit:
        raise Problem(
            p.TOO_MANY_LINES,
            f"the request has {count} lines; at most {limit} per request (send the rest in another)",
            {"limit": limit, "lines": count},
        )


def _refuse_repeats(values: list[tuple[str, str]], noun: str) -> None:
    counts = Counter(v for _, v in values)
    repeated = [(ptr, v) for ptr, v in values if counts[v] > 1]
    if repeated:
        names = ", ".join(dict.fromkeys(v for _, v in repeated))
        raise Problem(
            p.VALIDATION_FAILED,
            f"each {noun} may appear once per request: {names} repeated",
            {
                "errors": [
                    {
                        "in": "body",
                        "pointer": ptr,
                        "message": f"{noun} '{v}' appears more than once",
                        "code": "repeated",
                    }
                    for ptr, v in repeated
                ]
            },
        )


def _negative_counts(
    at: str, on_hand: int | None, unavailable: dict[str, int], lots: dict[str, int] | None = None, *, sku: str = ""
) -> list[dict[str, Any]]:
    found = [(f"{at}/on_hand", on_hand)] if on_hand is not None and on_hand < 0 else []
    found += [(f"{at}/unavailable/{reason}", n) for reason, n in unavailable.items() if n < 0]
    found += [(f"{at}/lots/{lot}", n) for lot, n in (lots or {}).items() if n < 0]
    return [
        {
            "in": "body",
            "pointer": pointer,
            "message": f"a count cannot be negative ({n})",
            "code": p.NEGATIVE_ON_HAND.slug,
            "value": n,
            **({"sku": sku} if sku else {}),
        }
        for pointer, n in found
    ]


def _refuse_negative(errors: list[dict[str, Any]]) -> None:
    lines = sorted({int(e["pointer"].split("/")[2]) for e in errors if e["pointer"].startswith("/lines/")})
    where = f"line(s) {', '.join(str(n) for n in lines)}" if lines else "the count"
    extensions: dict[str, Any] = {"errors": errors}
    if lines:
        extensions["lines"] = lines
        extensions["skus"] = list(dict.fromkeys(e["sku"] for e in errors if "sku" in e))
    raise Problem(p.NEGATIVE_ON_HAND, f"negative counts in {where}", extensions)
