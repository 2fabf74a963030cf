"""RFC 7807 problem details: one stable `type` per cause, so partners can branch on it.

API Gateway's own gateway responses (declared in `infra/api.py`) use the same slugs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:distrosync:problem:"


@dataclass(frozen=True)
class ProblemKind:
    slug: str
    status: int
    title: str

    @property
    def type(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.slug


MISSING_API_KEY = ProblemKind("missing-api-key", 401, "An API key is required")
INVALID_API_KEY = ProblemKind("invalid-api-key", 401, "The API key is not valid")
MISSING_SIGNATURE = ProblemKind("missing-signature", 401, "The request is not signed")
INVALID_SIGNATURE = ProblemKind("invalid-signature", 401, "The request signature does not match")
STALE_TIMESTAMP = ProblemKind("stale-timestamp", 401, "The request timestamp is outside the allowed window")
OUT_OF_SCOPE = ProblemKind("out-of-scope", 403, "The partner may not act for this resource")
NOT_FOUND = ProblemKind("not-found", 404, "Not found")
METHOD_NOT_ALLOWED = ProblemKind("method-not-allowed", 405, "Method not allowed")
CONFLICT = ProblemKind("conflict", 409, "Conflict")
IDEMPOTENCY_IN_PROGRESS = ProblemKind("idempotency-in-progress", 409, "A request with this key is in progress")
PAYLOAD_TOO_LARGE = ProblemKind("payload-too-large", 413, "The request body is too large")
UNSUPPORTED_MEDIA_TYPE = ProblemKind("unsupported-media-type", 415, "The request body must be JSON")
MALFORMED_JSON = ProblemKind("malformed-json", 400, "The request body is not valid JSON")
VALIDATION_FAILED = ProblemKind("validation-failed", 422, "The request does not pass validation")
IDEMPOTENCY_KEY_REUSED = ProblemKind(
    "idempotency-key-reused", 422, "The idempotency key was already used with a different request"
)
UNKNOWN_SKU = ProblemKind("unknown-sku", 422, "The SKU is not in the item master")
UNKNOWN_LOCATION = ProblemKind("unknown-location", 422, "The location is not in the location master")
UNKNOWN_UNIT = ProblemKind("unknown-unit-of-measure", 422, "The item has no conversion for this unit of measure")
NEGATIVE_ON_HAND = ProblemKind("negative-on-hand", 422, "A count cannot be negative")
TOO_MANY_LINES = ProblemKind("too-many-lines", 422, "The request has more lines than allowed")
INSUFFICIENT_STOCK = ProblemKind("insufficient-stock", 409, "Not enough available stock for every line")
RESERVATION_CLOSED = ProblemKind("reservation-closed", 409, "The reservation is no longer held")
RESERVATION_CONFLICT = ProblemKind(
    "reservation-conflict", 409, "A reservation with this reference exists with different lines"
)
UNKNOWN_CHANNEL = ProblemKind("unknown-channel", 404, "No such channel")
INVALID_WEBHOOK_SIGNATURE = ProblemKind(
    "invalid-webhook-signature", 401, "The webhook signature or token does not match the channel's secret"
)
UNMAPPED_CHANNEL_ITEM = ProblemKind(
    "unmapped-channel-item", 422, "The channel's item or location has no cross-reference to a distrosync SKU"
)
UNKNOWN_SUPPLIER = ProblemKind("unknown-supplier", 422, "The supplier is not in the supplier master")
UNKNOWN_PURCHASE_ORDER = ProblemKind("unknown-purchase-order", 404, "No such purchase order")
NOT_YOUR_PURCHASE_ORDER = ProblemKind("not-your-purchase-order", 403, "The purchase order belongs to another supplier")
UNKNOWN_PO_LINE = ProblemKind("unknown-po-line", 422, "The purchase order has no such line")
INVALID_ACKNOWLEDGMENT = ProblemKind("invalid-acknowledgment", 422, "The acknowledgment contradicts the purchase order")
PURCHASE_ORDER_CLOSED = ProblemKind("purchase-order-closed", 409, "The purchase order is closed or cancelled")
OVER_SHIPMENT = ProblemKind("over-shipment", 422, "A ship notice ships more than the line's open quantity")
INVALID_SSCC = ProblemKind("invalid-sscc", 422, "An SSCC is not 18 digits with a valid check digit")
SUPPLIER_MERGE_REFUSED = ProblemKind(
    "supplier-merge-refused", 409, "These supplier records cannot be merged (different tax ids)"
)
UNKNOWN_ORDER = ProblemKind("unknown-order", 404, "No such customer order")
ORDER_CONFLICT = ProblemKind("order-conflict", 409, "An order with this id exists with different lines")
ORDER_NOT_AWAITING = ProblemKind("order-not-awaiting", 409, "The order is not at the step this callback reports on")
ORDER_DISPATCHED = ProblemKind("order-dispatched", 409, "The order has been dispatched: it can no longer be cancelled")
ORDER_CLOSED = ProblemKind("order-closed", 409, "The order is closed (completed, cancelled or in exception)")
UNKNOWN_SHIPMENT = ProblemKind("unknown-shipment", 404, "No dispatched order has this carrier and tracking number")
UNKNOWN_CARRIER = ProblemKind("unknown-carrier", 404, "No such carrier")
EDI_PROFILE_MISSING = ProblemKind("edi-profile-missing", 403, "The partner has no EDI trading partner profile")
EDI_UNREADABLE = ProblemKind("edi-unreadable", 400, "The body is not readable X12 (no interchange could be read)")
THROTTLED = ProblemKind("throttled", 429, "Too many requests")
QUOTA_EXCEEDED = ProblemKind("quota-exceeded", 429, "The usage-plan quota is exhausted")
INTERNAL = ProblemKind("internal", 500, "Internal error")
UNAVAILABLE = ProblemKind("unavailable", 503, "Temporarily unavailable")

ALL_KINDS: tuple[ProblemKind, ...] = tuple(v for v in list(globals().values()) if isinstance(v, ProblemKind))


@dataclass
class Problem(Exception):
    """Raise anywhere in a request path; the API handler renders it as problem+json."""

    kind: ProblemKind
    detail: str
    extensions: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.kind.slug}: {self.detail}")

    @property
    def status(self) -> int:
        return self.kind.status

    def body(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": self.kind.type,
            "title": self.kind.title,
            "status": self.kind.status,
            "detail": self.detail,
        }
        if instance:
            doc["instance"] = instance
        doc.update(self.extensions)
        return doc

    def to_json(self, instance: str | None = None) -> str:
        return json.dumps(self.body(instance), separators=(",", ":"))
