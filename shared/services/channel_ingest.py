"""Channel webhooks: stock reports -> `channel.inventory_reported`; orders -> customer orders (`order.created`).

Stock reports are read with the platform's adapter, mapped to our SKU through the item cross-reference
(`system` = the channel's partner id) and to our location through the channel's `location_map`, then published.

Orders (Shopify `orders/create` whole; BigCommerce `store/order/created` by id, read from its V2 API) become our
`CustomerOrder` (`shared.adapters.channel_orders`: exact ids, lines by cross-reference) shipped from the
channel's `default_location` (else its only location) with its `order_policy`, and are placed through
`OrderService.place` like any order: order and demand in one transaction, then `order.created`, which starts
the order's flow. The order id is `<channel>.<the platform's id>`: a redelivery, or another delivery of the same
order, finds it and is answered `duplicate`, publishing `order.created` again under the same event id.
AWS requests of an order: cross-references and items/location (two BatchGetItem, cached per process), one
TransactWriteItems, one PutEvents (a duplicate: + one GetItem).

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
- a body that is not the documented shape -> 422 `validation-failed`;
- an order line that maps to no item -> 422 `unmapped-channel-item` naming the lines (Shopify retries for 48 h:
  time to add the cross-reference); a channel without one location to ship from -> 422 likewise;
- an order with no line to ship (digital goods only) -> 202 `ignored`;
- BigCommerce's API down, slow, refusing our token, or not configured -> 503 with Retry-After (BigCommerce
  retries the webhook); the order missing from BigCommerce -> 422 `validation-failed`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime

from shared.adapters import Delivery, PayloadError, StockReport, adapter_for
from shared.adapters.bigcommerce_api import (
    BigCommerceNotConfigured,
    BigCommerceOrderMissing,
    BigCommerceOrders,
    BigCommerceUnavailable,
)
from shared.adapters.channel_orders import (
    ChannelOrder,
    UnmappedLines,
    customer_order,
    fallback_skus,
    line_skus,
    lookup_ids,
)
from shared.api.channel_models import WebhookReceipt
from shared.aws.bus import publish
from shared.canonical.channel import ChannelInventoryReported
from shared.canonical.envelope import Envelope, utcnow
from shared.canonical.orders import MAX_ORDER_LINES, OrderCreated
from shared.canonical.partner import ChannelSettings, Partner
from shared.http import problems as p
from shared.http.problems import Problem
from shared.observability import MetricUnit, logger, metrics
from shared.services.inventory_ingest import RequestMeta
from shared.services.master_data import MasterData
from shared.services.orders import OrderService, created_event_id

NOT_CONFIGURED_RETRY_AFTER = "300"  # an operator must act: no point in BigCommerce retrying sooner

EVENT_ID_NAMESPACE = uuid.UUID("5b0f3c58-2f4e-4d0e-9a57-6a1f1c0de3a1")


def event_id(channel: str, delivery_id: str) -> str:
    """The same id for every delivery of the same webhook."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{channel}:{delivery_id}").hex


class ChannelIngest:
    def __init__(
        self,
        *,
        master: MasterData,
        bus_name: str,
        orders: OrderService | None = None,
        bigcommerce: BigCommerceOrders | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.master = master
        self.bus_name = bus_name
        self.orders = orders
        self.bigcommerce = bigcommerce
        self._clock = clock

    def receive(self, partner: Partner, headers: Mapping[str, str], body: bytes, meta: RequestMeta) -> WebhookReceipt:
        """Act on an authenticated channel webhook (headers lower-cased, the raw body)."""
        settings = partner.channel
        adapter = adapter_for(settings.platform) if settings else None
        if settings is None or adapter is None:
            raise Problem(p.UNKNOWN_CHANNEL, f"channel '{partner.partner_id}' receives no webhooks")
        try:
            delivery = adapter.read(headers, body)
        except PayloadError as exc:
            raise Problem(p.VALIDATION_FAILED, f"{settings.platform} payload: {exc}") from None
        if delivery.order is not None or delivery.order_ref is not None:
            return self.receive_order(partner.partner_id, settings, delivery, meta)
        report = delivery.report
        if report is None:
            return _ignored(delivery, meta, f"distrosync does not read the topic {delivery.topic or '(none)'!r}")
        if report.relative:
            return _ignored(
                delivery, meta, "a relative change cannot be compared with our figure; the next absolute update is"
            )

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

    # -------------------------------------------------------------------------------------------------- orders
    def receive_order(
        self, channel: str, settings: ChannelSettings, delivery: Delivery, meta: RequestMeta
    ) -> WebhookReceipt:
        """Create the order a webhook sends (or names), or find it: `created` / `duplicate` / `ignored`."""
        if self.orders is None:
            raise RuntimeError("ChannelIngest was built without an OrderService")
        order = delivery.order or self._read_order(channel, settings, delivery.order_ref or "", meta)
        if not order.lines:
            return _ignored(delivery, meta, f"no line of order {order.external_id} ships")
        if len(order.lines) > MAX_ORDER_LINES:
            raise Problem(
                p.TOO_MANY_LINES,
                f"order {order.external_id} has {len(order.lines)} lines to ship; at most {MAX_ORDER_LINES}",
                {"limit": MAX_ORDER_LINES, "lines": len(order.lines)},
            )
        location = shipping_location(channel, settings)
        xrefs = self.master.skus_for(channel, lookup_ids(order))
        known = self.master.lookup(skus=[*xrefs.values(), *fallback_skus(order)], locations=[location])
        if location not in known.locations:
            raise Problem(
                p.UNKNOWN_LOCATION,
                f"channel '{channel}' ships its orders from {location}, which is not in the location master",
                {"locations": [location]},
            )
        try:
            skus = line_skus(order, xrefs, known.items)
        except UnmappedLines as exc:
            raise _unmapped(channel, order, exc) from None
        try:
            placed = customer_order(
                order,
                channel=channel,
                skus=skus,
                location=location,
                policy=settings.order_policy,
                created_at=self._clock(),
            )
        except PayloadError as exc:
            raise Problem(p.VALIDATION_FAILED, f"{settings.platform} order: {exc}") from None
        stored, replayed = self.orders.place(placed, meta, same_lines_only=False)
        order_id = stored.order.order_id
        logger.info(
            "channel order duplicate" if replayed else "channel order created",
            extra={"order_id": order_id, "topic": delivery.topic, "lines": len(stored.order.lines)},
        )
        if not replayed:
            metrics.add_metric(name="OrderLines", unit=MetricUnit.Count, value=len(placed.lines))
        return WebhookReceipt(
            status="duplicate" if replayed else "created",
            event_id=created_event_id(order_id),
            type=OrderCreated.event_type,
            subject=order_id,
            topic=delivery.topic,
            order_id=order_id,
            correlation_id=meta.correlation_id,
        )

    def _read_order(self, channel: str, settings: ChannelSettings, order_ref: str, meta: RequestMeta) -> ChannelOrder:
        """A thin webhook's order, read from the platform's API."""
        if self.bigcommerce is None or settings.platform != "bigcommerce":
            raise RuntimeError(f"no API reader for {settings.platform} orders")
        try:
            return self.bigcommerce.read(channel, settings, order_ref, correlation_id=meta.correlation_id)
        except BigCommerceUnavailable as exc:
            logger.warning("BigCommerce order not read", extra={"order_ref": order_ref, "reason": exc.reason})
            raise Problem(p.UNAVAILABLE, exc.reason, headers={"Retry-After": str(exc.retry_after)}) from None
        except BigCommerceNotConfigured as exc:
            logger.error("BigCommerce order not read: channel not configured", extra={"reason": str(exc)})
            raise Problem(p.UNAVAILABLE, str(exc), headers={"Retry-After": NOT_CONFIGURED_RETRY_AFTER}) from None
        except BigCommerceOrderMissing as exc:
            raise Problem(p.VALIDATION_FAILED, str(exc), {"external_id": order_ref}) from None
        except PayloadError as exc:
            raise Problem(p.VALIDATION_FAILED, f"bigcommerce order {order_ref}: {exc}") from None

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


def shipping_location(channel: str, settings: ChannelSettings) -> str:
    """Where a channel's orders ship from: its default location, else its only location."""
    if settings.default_location is not None:
        return settings.default_location
    if len(settings.locations) == 1:
        return settings.locations[0]
    fed = f"{len(settings.locations)} locations" if settings.locations else "every location"
    raise Problem(
        p.UNMAPPED_CHANNEL_ITEM,
        f"channel '{channel}' is fed by {fed} and names no default location to ship its orders from: "
        f"distrosync channels set {channel} --default-location CODE",
        {"system": channel, "locations": list(settings.locations)},
    )


def _unmapped(channel: str, order: ChannelOrder, exc: UnmappedLines) -> Problem:
    details = "; ".join(line.describe(channel) for line in exc.lines)
    return Problem(
        p.UNMAPPED_CHANNEL_ITEM,
        f"order {order.external_id}: {details}. Add one to the item's cross_references (PUT /v1/items/{{sku}}); "
        "the channel's retry is then accepted",
        {
            "system": channel,
            "external_id": order.external_id,
            "lines": [
                {
                    "line": line.line,
                    "external_line_id": line.external_line_id,
                    "variant_id": line.variant_id,
                    "sku": line.sku,
                }
                for line in exc.lines
            ],
        },
    )


def _ignored(delivery: Delivery, meta: RequestMeta, reason: str) -> WebhookReceipt:
    return WebhookReceipt(status="ignored", topic=delivery.topic, reason=reason, correlation_id=meta.correlation_id)
