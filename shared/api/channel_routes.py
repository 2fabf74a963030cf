"""Sales-channel routes: channel inventory and order webhooks in, channel availability out."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from shared.adapters.bigcommerce_api import API_TOKEN_FIELD, BigCommerceOrders
from shared.api.channel_models import AvailabilityView, WebhookReceipt
from shared.api.problem_response import CORRELATION_HEADER
from shared.api.request import RawRequest
from shared.aws.orders_store import OrdersStore
from shared.canonical.partner import Partner
from shared.domain.errors import NotFound, OutOfScope
from shared.domain.scopes import allows
from shared.observability import MetricUnit, logger, metrics
from shared.services.availability import ChannelAvailability
from shared.services.channel_ingest import ChannelIngest
from shared.services.orders import OrderService

router = Router()

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}


def _ingest(deps: Any) -> ChannelIngest:
    settings = deps.settings
    orders = OrderService(OrdersStore(settings.orders_table), settings.event_bus_name, master=deps.master)

    def api_token(secret_name: str, fresh: bool) -> str:  # the channel's webhook secret holds it too
        return deps.secrets.get(secret_name, fresh=fresh, field=API_TOKEN_FIELD)

    return ChannelIngest(
        master=deps.master, bus_name=settings.event_bus_name, orders=orders, bigcommerce=BigCommerceOrders(api_token)
    )


def _availability(deps: Any) -> ChannelAvailability:
    return ChannelAvailability(inventory_table=deps.settings.inventory_table, channels=deps.partners.channels)


@router.post(
    "/v1/channels/<channel>/webhooks",
    summary="A sales channel's webhook: inventory (Shopify inventory_levels/update, BigCommerce "
    "store/sku/inventory/updated) and orders (Shopify orders/create, BigCommerce store/order/created)",
    description=(
        "Called by the platform, without an API key. Shopify: X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(app "
        "client secret, raw body)). BigCommerce: X-Distrosync-Webhook-Token = the token issued by "
        "'distrosync channels add', set as a custom header of the webhook subscription. Topics distrosync does "
        "not read, and BigCommerce relative changes, are answered 202 with status 'ignored'. An order is created "
        "as `<channel>.<the platform's order id>` (BigCommerce's is read from its V2 API): 201 'created'; a "
        "redelivery, or another delivery of the same order, is 200 'duplicate'."
    ),
    tags=["channels"],
    security=[{"shopifyHmac": []}, {"webhookToken": []}],
    responses={
        201: {
            "description": "Order created; order.created published",
            "content": {"application/json": {"model": WebhookReceipt}},
        },
        200: {
            "description": "The order exists: order.created published again under the same event id",
            "content": {"application/json": {"model": WebhookReceipt}},
        },
        202: {
            "description": "Accepted (channel.inventory_reported published) or ignored",
            "content": {"application/json": {"model": WebhookReceipt}},
        },
        401: _PROBLEM,
        404: _PROBLEM,
        409: {"description": "order-conflict: another partner placed an order with this id", **_PROBLEM},
        413: _PROBLEM,
        415: _PROBLEM,
        422: _PROBLEM,
        503: {"description": "unavailable: the platform's API could not be read (Retry-After)", **_PROBLEM},
    },
)
def post_channel_webhook(channel: Annotated[str, Path(max_length=63)]) -> Response[WebhookReceipt]:
    ctx = router.context
    partner: Partner = ctx["partner"]
    if partner.partner_id != channel or partner.kind != "channel":  # the channel gate authenticated it
        raise OutOfScope(partner.partner_id, "channel", channel)
    request: RawRequest = ctx["request"]  # as the gate read it: headers lower-cased, the raw body
    receipt = ctx["deps"].service(_ingest).receive(partner, request.headers, request.body, ctx["meta"])
    headers = {CORRELATION_HEADER: receipt.correlation_id}
    status = 202
    if receipt.status == "accepted":
        metrics.add_metric(name="ChannelReported", unit=MetricUnit.Count, value=1)
    elif receipt.status == "created":
        metrics.add_metric(name="OrderCreated", unit=MetricUnit.Count, value=1)
        status, headers["Location"] = 201, f"/v1/orders/{receipt.order_id}"
    elif receipt.status == "duplicate":
        metrics.add_metric(name="OrderReplayed", unit=MetricUnit.Count, value=1)
        status, headers["Location"] = 200, f"/v1/orders/{receipt.order_id}"
    else:
        metrics.add_metric(name="ChannelWebhookIgnored", unit=MetricUnit.Count, value=1)
        logger.info("channel webhook ignored", extra={"topic": receipt.topic, "reason": receipt.reason})
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=receipt, headers=headers)


@router.get(
    "/v1/availability/<sku>",
    summary="What each sales channel may sell of a SKU, what it was last told, and what it reported",
    description=(
        "A channel partner reads its own channel only (`channel` is then required); other partners need the "
        "scope channel:<name> (or *) for each channel they read; without `channel` they get every channel "
        "they may read."
    ),
    tags=["channels"],
    responses={
        200: {"description": "Channel availability", "content": {"application/json": {"model": AvailabilityView}}},
        401: _PROBLEM,
        403: _PROBLEM,
        404: _PROBLEM,
    },
)
def get_availability(
    sku: Annotated[str, Path(max_length=64)],
    channel: Annotated[str | None, Query(max_length=63)] = None,
) -> Response[AvailabilityView]:
    ctx = router.context
    partner: Partner = ctx["partner"]
    if partner.kind == "channel":
        if channel != partner.partner_id:  # a channel reads its own figures only, and says so
            raise OutOfScope(partner.partner_id, "channel", channel or "(all channels)")
    elif channel is not None and not allows(partner.scopes, "channel", channel):
        raise OutOfScope(partner.partner_id, "channel", channel)
    partition = ctx["deps"].store.sku_partition(sku, consistent=False)
    if not partition.positions and partition.item is None and not partition.other_items:
        raise NotFound(f"no inventory for SKU '{sku}'")
    view = ctx["deps"].service(_availability).view(sku, partition.positions, partition.other_items, channel)
    if channel is None:
        visible = [c for c in view.channels if allows(partner.scopes, "channel", c.channel)]
        if not visible and view.channels:
            raise OutOfScope(partner.partner_id, "channel", "(any)")
        view = view.model_copy(update={"channels": visible})
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=view,
        headers={CORRELATION_HEADER: ctx["meta"].correlation_id},
    )
