"""Channel webhooks -> `channel.inventory_reported`: read with the platform's adapter, mapped to our SKU
through the item cross-reference (`system` = the channel's partner id) and to our location through the
channel's `location_map`, then published.

Duplicates: the event id is derived from the channel and the platform's delivery id (Shopify's event or
webhook id; for BigCommerce, which sends none, the SHA-256 of the body, which its retries repeat byte for
byte). A redelivery publishes an event with the same id, which the projector recognises (the channel record
keeps the event id) and consumers deduplicate; no idempotency-table round trip on this hot path.

Answers, with platforms' retries in mind (Shopify retries non-2xx deliveries for hours, then may remove the
subscription):
- a topic we do not read -> 202 `ignored` (a 4xx would only make the platform retry it in vain);
- BigCommerce `relative` changes -> 202 `ignored`: a change of BigCommerce's own count cannot be compared to
  our figure without the count it applies to, and a running sum of deliveries that may be lost or reordered
  would drift silently; the next `absolute` update is compared;
- an item or location without a cross-reference -> 422 `unmapped-channel-item`: the platform retries, so the
  delivery is accepted once the operator adds the mapping within the retry window;
- a body that is not the documented shape -> 422 `validation-failed`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping

from shared.adapters import PayloadError, StockReport, adapter_for
from shared.api.channel_models import WebhookReceipt
from shared.aws.bus import publish
from shared.canonical.channel import ChannelInventoryReported
from shared.canonical.envelope import Envelope
from shared.canonical.partner import ChannelSettings, Partner
from shared.http import problems as p
from shared.http.problems import Problem
from shared.services.inventory_ingest import RequestMeta
from shared.services.master_data import MasterData

EVENT_ID_NAMESPACE = uuid.UUID("5b0f3c58-2f4e-4d0e-9a57-6a1f1c0de3a1")


def event_id(channel: str, delivery_id: str) -> str:
    """The same id for every delivery of the same webhook."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{channel}:{delivery_id}").hex


class ChannelIngest:
    def __init__(self, *, master: MasterData, bus_name: str) -> None:
        self.master = master
        self.bus_name = bus_name

    def receive(self, partner: Partner, headers: Mapping[str, str], body: bytes, meta: RequestMeta) -> WebhookReceipt:
        """Publish what an authenticated channel webhook reports (headers lower-cased, the raw body)."""
        settings = partner.channel
        adapter = adapter_for(settings.platform) if settings else None
        if settings is None or adapter is None:
            raise Problem(p.UNKNOWN_CHANNEL, f"channel '{partner.partner_id}' receives no webhooks")
        try:
            delivery = adapter.read(headers, body)
        except PayloadError as exc:
            raise Problem(p.VALIDATION_FAILED, f"{settings.platform} payload: {exc}") from None
        report = delivery.report

        def ignored(reason: str) -> WebhookReceipt:
            return WebhookReceipt(
                status="ignored", topic=delivery.topic, reason=reason, correlation_id=meta.correlation_id
            )

        if report is None:
            return ignored(f"distrosync does not read the topic {delivery.topic or '(none)'!r}")
        if report.relative:
            return ignored("a relative change cannot be compared with our figure; the next absolute update is")

        data = self.to_event_data(partner.partner_id, settings, report)
        delivery_id = delivery.delivery_id or hashlib.sha256(body).hexdigest()
        envelope = Envelope[ChannelInventoryReported].wrap(
            data,
            source_partner=partner.partner_id,
            occurred_at=report.reported_at,
            received_at=meta.received_at,
            correlation_id=meta.correlation_id,
            causation_id=meta.request_id or None,
            event_id=event_id(partner.partner_id, delivery_id),
        )
        publish([envelope], self.bus_name)
        return WebhookReceipt(
            status="accepted",
            event_id=envelope.id,
            type=envelope.type,
            subject=envelope.subject,
            topic=delivery.topic,
            correlation_id=envelope.correlation_id,
        )

    def to_event_data(self, channel: str, settings: ChannelSettings, report: StockReport) -> ChannelInventoryReported:
        """Map the channel's ids to ours, or raise `unmapped-channel-item` saying which mapping is missing."""
        sku = self.master.skus_for(channel, [report.external_item_id]).get(report.external_item_id)
        if sku is None:
            raise Problem(
                p.UNMAPPED_CHANNEL_ITEM,
                f"no item has the cross-reference {{system: {channel}, id: {report.external_item_id}}}: "
                "add it to the item's cross_references (PUT /v1/items/{sku})",
                {"system": channel, "external_item_id": report.external_item_id},
            )
        if report.external_location_id is None:
            location = settings.default_location
        else:
            location = settings.location_map.get(report.external_location_id)
            if location is None:
                raise Problem(
                    p.UNMAPPED_CHANNEL_ITEM,
                    f"channel location {report.external_location_id} is not mapped to a location code: "
                    f"distrosync channels set {channel} --map-location {report.external_location_id}=CODE",
                    {"system": channel, "external_location_id": report.external_location_id},
                )
        return ChannelInventoryReported(
            channel=channel,
            platform=settings.platform,
            sku=sku,
            location=location,
            quantity=report.quantity,
            external_item_id=report.external_item_id,
            external_location_id=report.external_location_id,
            reported_at=report.reported_at,
        )
