"""BigCommerce's V2 API, read only: the order a thin `store/order/created` webhook names (no AWS).

`GET {base}/stores/{store_hash}/v2/orders/{id}`, then its `/products` and `/shipping_addresses`, authenticated by
`X-Auth-Token` (a store API account's access token). The base URL (default https://api.bigcommerce.com) and the
store hash are channel settings; the token is the `api_token` field of the channel's webhook secret, which the
caller reads (`token(secret_name, fresh)`): a token refused with 401 is read once more, fresh, so a rotation
works at once.

Calls go through the outbound transport (`shared.adapters.outbound.http`: logged without headers, traced,
counted, transient failures retried) within a budget that leaves the ingress time to write the order.
Failures are told apart for the webhook's answer: `BigCommerceUnavailable` (down, slow, throttled, or the token
refused: BigCommerce retries the webhook), `BigCommerceOrderMissing` (the store has no such order),
`BigCommerceNotConfigured` (the channel lacks its store hash or token).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.adapters.channel_orders import ChannelOrder, from_bigcommerce
from shared.adapters.outbound.http import RetryPolicy, SystemCall, Transport, quote_path, retry_after_seconds
from shared.canonical.partner import ChannelSettings

API_TOKEN_FIELD = "api_token"  # the field of the channel's webhook secret holding the API token
TOKEN_HEADER = "X-Auth-Token"
DEFAULT_BASE_URL = "https://api.bigcommerce.com"
SYSTEM = "bigcommerce"
PAGE_LIMIT = 250  # V2's largest page: more lines than an order of ours may have (99)
DEFAULT_RETRY_AFTER = 30
# Three reads inside the ingress's 10 s, with time left to write the order and publish it.
POLICY = RetryPolicy(
    max_attempts=2, timeout_seconds=3.0, base_delay=0.1, max_delay=0.5, retry_after_cap=1.0, budget_seconds=6.0
)

TokenSource = Callable[[str, bool], str]  # (secret name, fresh) -> the API token; KeyError: none stored


class BigCommerceUnavailable(Exception):
    """BigCommerce's API did not give the order now; `retry_after` seconds is a fair wait."""

    def __init__(self, reason: str, retry_after: int = DEFAULT_RETRY_AFTER) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class BigCommerceOrderMissing(Exception):
    """The store has no order with the id the webhook named."""


class BigCommerceNotConfigured(Exception):
    """The channel has no store hash or API token to read orders with."""


class BigCommerceOrders:
    def __init__(
        self,
        token: TokenSource,
        *,
        policy: RetryPolicy = POLICY,
        transport: Callable[..., Transport] = Transport,
    ) -> None:
        self._token = token
        self._policy = policy
        self._transport = transport

    def read(self, channel: str, settings: ChannelSettings, order_id: str, *, correlation_id: str) -> ChannelOrder:
        """The order `order_id` of the channel's store, mapped to a channel order (PayloadError if malformed)."""
        if not settings.store_hash or not settings.webhook_secret_name:
            raise BigCommerceNotConfigured(
                f"channel '{channel}' has no BigCommerce store hash to read orders from: "
                f"distrosync channels set {channel} --store-hash HASH --api-token TOKEN"
            )
        base_url = settings.api_base_url or DEFAULT_BASE_URL
        root = quote_path("stores", settings.store_hash, "v2", "orders", order_id)

        transport = self._connect(channel, settings.webhook_secret_name, base_url, fresh=False)
        deadline = transport.deadline()
        call = transport.call("get order", "GET", root, correlation_id=correlation_id, deadline=deadline)
        if call.status == 401:  # perhaps rotated since we cached it: read it again, once
            transport = self._connect(channel, settings.webhook_secret_name, base_url, fresh=True)
            call = transport.call("get order", "GET", root, correlation_id=correlation_id, deadline=deadline)
        if call.status == 404:
            raise BigCommerceOrderMissing(f"BigCommerce store {settings.store_hash} has no order {order_id}")
        order = _document(call, channel, dict)

        lists: list[list[dict[str, Any]]] = []
        for part in ("products", "shipping_addresses"):
            call = transport.call(
                f"get order {part}",
                "GET",
                f"{root}/{part}",
                correlation_id=correlation_id,
                deadline=deadline,
                query={"limit": str(PAGE_LIMIT)},
            )
            found = [] if call.status == 204 else _document(call, channel, list)  # 204: none
            if not all(isinstance(entry, dict) for entry in found):
                raise BigCommerceUnavailable(f"BigCommerce answered {call.describe()}: entries that are not objects")
            lists.append(found)
        return from_bigcommerce(order, lists[0], lists[1])

    def _connect(self, channel: str, secret_name: str, base_url: str, *, fresh: bool) -> Transport:
        try:
            token = self._token(secret_name, fresh)
        except KeyError:
            token = None
        if token is None and not fresh:  # perhaps stored since we cached the secret
            try:
                token = self._token(secret_name, True)
            except KeyError:
                token = None
        if token is None:
            raise BigCommerceNotConfigured(
                f"channel '{channel}' has no BigCommerce API token: distrosync channels set {channel} --api-token TOKEN"
            )
        return self._transport(SYSTEM, base_url, policy=self._policy, default_headers={TOKEN_HEADER: token})


def _document(call: SystemCall, channel: str, shape: type) -> Any:
    """The JSON body of a successful call, of `shape`; any failure as `BigCommerceUnavailable`."""
    if call.status in (401, 403):
        raise BigCommerceUnavailable(
            f"BigCommerce refused the API token of channel '{channel}' ({call.describe()}): "
            f"set a token with read access to orders (distrosync channels set {channel} --api-token TOKEN)",
            DEFAULT_RETRY_AFTER,
        )
    if not call.ok:
        asked = retry_after_seconds(call.headers.get("retry-after"))
        wait = int(asked) + 1 if asked is not None else DEFAULT_RETRY_AFTER
        raise BigCommerceUnavailable(f"BigCommerce did not answer: {call.describe()}", min(wait, 3600))
    doc = call.json()
    if not isinstance(doc, shape):
        raise BigCommerceUnavailable(f"BigCommerce answered {call.describe()}: the body is not a JSON {shape.__name__}")
    return doc
