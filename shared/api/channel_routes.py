"""Sales-channel routes: channel inventory webhooks in, channel availability out."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from shared.api.channel_models import AvailabilityView, WebhookReceipt
from shared.api.problem_response import CORRELATION_HEADER
from shared.api.request import RawRequest
from shared.canonical.partner import Partner
from shared.domain.errors import NotFound, OutOfScope
from shared.domain.scopes import allows
from shared.observability import MetricUnit, logger, metrics
from shared.services.availability import ChannelAvailability
from shared.services.channel_ingest import ChannelIngest

router = Router()

_PROBLEM = {
    "description": "Problem (RFC 7807)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}


def _ingest(deps: Any) -> ChannelIngest:
    return ChannelIngest(master=deps.master, bus_name=deps.settings.event_bus_name)


def _availability(deps: Any) -> ChannelAvailability:
    return ChannelAvailability(inventory_table=deps.settings.inventory_table, channels=deps.partners.channels)


@router.post(
    "/v1/channels/<channel>/webhooks",
    summary="A sales channel's inventory webhook (Shopify inventory_levels/update, BigCommerce "
    "store/sku/inventory/updated)",
    description=(
        "Called by the platform, without an API key. Shopify: X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(app "
        "client secret, raw body)). BigCommerce: X-Distrosync-Webhook-Token = the token issued by "
        "'distrosync channels add', set as a custom header of the webhook subscription. Topics distrosync does "
        "not read, and BigCommerce relative changes, are answered 202 with status 'ignored'."
    ),
    tags=["channels"],
    security=[{"shopifyHmac": []}, {"webhookToken": []}],
    responses={
        202: {
            "description": "Accepted (channel.inventory_reported published) or ignored",
            "content": {"application/json": {"model": WebhookReceipt}},
        },
        401: _PROBLEM,
        404: _PROBLEM,
        413: _PROBLEM,
        415: _PROBLEM,
        422: _PROBLEM,
    },
)
def post_channel_webhook(channel: Annotated[str, Path(max_length=63)]) -> Response[WebhookReceipt]:
    ctx = router.context
    partner: Partner = ctx["partner"]
    if partner.partner_id != channel or partner.kind != "channel":  # the channel gate authenticated it
        raise OutOfScope(partner.partner_id, "channel", channel)
    request: RawRequest = ctx["request"]  # as the gate read it: headers lower-cased, the raw body
    receipt = ctx["deps"].service(_ingest).receive(partner, request.headers, request.body, ctx["meta"])
    if receipt.status == "accepted":
        metrics.add_metric(name="ChannelReported", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="ChannelWebhookIgnored", unit=MetricUnit.Count, value=1)
        logger.info("channel webhook ignored", extra={"topic": receipt.topic, "reason": receipt.reason})
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=receipt,
        headers={CORRELATION_HEADER: receipt.correlation_id},
    )


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
