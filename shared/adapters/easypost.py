"""EasyPost tracking webhooks: verify the signature and read the Tracker (pure: no AWS).

EasyPost signs each delivery with `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256(secret, raw body)>`,
where the secret is the webhook secret set on the EasyPost webhook, normalized to Unicode NFKD and encoded as
UTF-8 (as EasyPost's own client libraries do). The body is an `Event` (`tracker.created` / `tracker.updated`)
whose `result` is a Tracker, or a bare Tracker; other event descriptions are not tracking updates.

A Tracker carries the current `status`, `est_delivery_date` and the whole history in `tracking_details`
(EasyPost re-sends it every time): the reader returns every detail, and the receiver keeps the new ones.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.adapters import PayloadError, json_object

SIGNATURE_HEADER = "x-hmac-signature"
SIGNATURE_SCHEME = "hmac-sha256-hex="
TRACKER_EVENTS = frozenset({"tracker.created", "tracker.updated"})


@dataclass(frozen=True)
class CarrierScan:
    """One status report of a shipment (an EasyPost TrackingDetail, or a canonical tracking event)."""

    status: str  # the carrier's (EasyPost's) status, e.g. in_transit
    at: datetime
    detail: str | None = None  # e.g. arrived_at_facility, or the carrier's message
    where: str | None = None  # "City, ST, US" as the carrier says


@dataclass(frozen=True)
class TrackingReport:
    """What a tracking delivery says about one shipment."""

    carrier: str  # the carrier as named in the delivery (e.g. FedEx); looked up lower-cased
    tracking_number: str
    status: str  # the shipment's current carrier status
    scans: tuple[CarrierScan, ...]  # oldest first
    estimated_delivery: date | None
    reported_at: datetime  # when the carrier (or EasyPost) produced this report
    delivery_id: str | None = None  # EasyPost's event id, for the logs


def signature(secret: str, body: bytes) -> str:
    """The `X-Hmac-Signature` value EasyPost sends for `body` signed with `secret`."""
    key = unicodedata.normalize("NFKD", secret).encode()
    return SIGNATURE_SCHEME + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Constant-time check of the delivery's `X-Hmac-Signature` (headers lower-cased)."""
    presented = headers.get(SIGNATURE_HEADER, "").strip()
    if not presented or not secret:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), presented.encode())


def read(body: bytes) -> TrackingReport | None:
    """The tracking report of a delivery, or None for an Event that is not about a tracker (e.g. batch.created).
    Raises PayloadError when the body is not an EasyPost Event or Tracker."""
    doc = json_object(body)
    kind = doc.get("object")
    if kind == "Event":
        description = doc.get("description")
        if description not in TRACKER_EVENTS:
            return None
        tracker = doc.get("result")
        if not isinstance(tracker, dict) or tracker.get("object") != "Tracker":
            raise PayloadError(f"{description}: `result` must be a Tracker")
        return _tracker(tracker, delivery_id=_text(doc, "id"))
    if kind == "Tracker":
        return _tracker(doc, delivery_id=None)
    raise PayloadError("an EasyPost webhook body is an Event or a Tracker (`object`)")


def _tracker(tracker: Mapping[str, Any], *, delivery_id: str | None) -> TrackingReport:
    number = _text(tracker, "tracking_code")
    carrier = _text(tracker, "carrier")
    status = _text(tracker, "status")
    if not number or not carrier or not status:
        raise PayloadError("a Tracker needs `tracking_code`, `carrier` and `status`")
    details = tracker.get("tracking_details") or []
    if not isinstance(details, list):
        raise PayloadError("`tracking_details` must be a list")
    scans = [_scan(d, i) for i, d in enumerate(details)]
    reported_at = _datetime(tracker.get("updated_at"), "updated_at") or (scans[-1].at if scans else None)
    if reported_at is None:
        raise PayloadError("a Tracker needs `updated_at` or tracking details")
    if not any(scan.status == status for scan in scans):
        # The current status without a detail of its own (e.g. a new tracker): it happened by `updated_at`.
        scans.append(CarrierScan(status=status, at=reported_at, detail=_text(tracker, "status_detail")))
    return TrackingReport(
        carrier=carrier,
        tracking_number=number,
        status=status,
        scans=tuple(sorted(scans, key=lambda s: s.at)),
        estimated_delivery=_estimated(tracker),
        reported_at=reported_at,
        delivery_id=delivery_id,
    )


def _scan(detail: Any, index: int) -> CarrierScan:
    if not isinstance(detail, dict):
        raise PayloadError(f"tracking_details[{index}] must be an object")
    status = _text(detail, "status")
    at = _datetime(detail.get("datetime"), f"tracking_details[{index}].datetime")
    if not status or at is None:
        raise PayloadError(f"tracking_details[{index}] needs `status` and `datetime`")
    return CarrierScan(
        status=status,
        at=at,
        detail=_text(detail, "status_detail") or _text(detail, "message"),
        where=_where(detail.get("tracking_location")),
    )


def _estimated(tracker: Mapping[str, Any]) -> date | None:
    """The estimated delivery day: the carrier's local date when EasyPost gives it, else `est_delivery_date`."""
    local = (tracker.get("carrier_detail") or {}).get("est_delivery_date_local")
    if isinstance(local, str) and local:
        try:
            return date.fromisoformat(local[:10])
        except ValueError:
            raise PayloadError("carrier_detail.est_delivery_date_local is not a date") from None
    estimated = _datetime(tracker.get("est_delivery_date"), "est_delivery_date")
    return estimated.date() if estimated else None


def _where(location: Any) -> str | None:
    if not isinstance(location, dict):
        return None
    parts = [location.get(k) for k in ("city", "state", "country")]
    text = ", ".join(str(p) for p in parts if p)
    return text[:200] or None


def _text(doc: Mapping[str, Any], name: str) -> str | None:
    value = doc.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f"`{name}` must be a string")
    return value


def _datetime(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f"`{name}` must be an ISO 8601 timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"`{name}` is not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise PayloadError(f"`{name}` must carry a time zone: {value!r}")
    return parsed
