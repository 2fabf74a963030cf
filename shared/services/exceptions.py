"""The exceptions lists customer service works from: `GET /v1/exceptions?kind=promise_at_risk|order_exception|
shipment_delayed`.

`promise_at_risk` entries are written by the promiser (shared/services/promising.py) with the demand line they
describe; `order_exception` by the order flow's exception step, `shipment_delayed` by carrier tracking (one entry
per order, `shared/aws/fulfillment_store.py`). A partner sees the entries at the locations its scopes cover (an
entry naming several `locations`: all of them). Pages follow the list's order (order id, then line); the
`next` token is opaque to partners: the kind and the sort key to continue after, base64url-encoded JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pydantic import BaseModel

from shared.api.fulfillment_models import (
    FulfillmentExceptionList,
    OrderExceptionView,
    PromiseAtRiskView,
    ShipmentDelayedView,
)
from shared.aws.orders_store import OrdersStore
from shared.canonical.partner import Partner
from shared.domain.scopes import allows
from shared.http import problems as p
from shared.http.problems import Problem

QUERY_PAGE = 100  # entries read per Query while filtering by scope
MAX_QUERIES = 10  # per request: a partner seeing few entries of a long list gets a short page and a token
VIEWS: dict[str, type[BaseModel]] = {
    "promise_at_risk": PromiseAtRiskView,
    "order_exception": OrderExceptionView,
    "shipment_delayed": ShipmentDelayedView,
}


def encode_token(kind: str, after: str) -> str:
    raw = json.dumps({"k": kind, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(kind: str, token: str) -> str:
    """The sort key to continue after; `validation-failed` for a token that is not one of ours for `kind`."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = data["a"]
        if data["k"] != kind or not isinstance(after, str) or not after:
            raise ValueError("another list's token")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Problem(
            p.VALIDATION_FAILED,
            "the 'next' token is not valid for this list (pass it back as received)",
            {"errors": [{"in": "query", "pointer": "/next", "message": "invalid page token", "code": "invalid"}]},
        ) from None
    return after


class ExceptionsService:
    def __init__(self, store: OrdersStore) -> None:
        self.store = store

    def list(self, partner: Partner, kind: str, *, limit: int, next_token: str | None) -> FulfillmentExceptionList:
        after = decode_token(kind, next_token) if next_token else None
        everywhere = allows(partner.scopes, "location", "*")
        items: list[dict[str, Any]] = []
        more = True
        for _ in range(MAX_QUERIES):
            # Read one more than needed (when the partner sees everything) to know whether a next page exists.
            page = self.store.exceptions(kind, after=after, limit=limit + 1 if everywhere else QUERY_PAGE)
            for item in page.items:
                if everywhere or _visible(partner, item):
                    items.append(item)
                    if len(items) > limit:
                        break
                after = item["sk"]
            more = page.last_sk is not None
            if len(items) > limit or not more:
                break
        if len(items) > limit:
            items = items[:limit]
            after, more = items[-1]["sk"], True
        view = VIEWS[kind]
        return FulfillmentExceptionList(
            kind=kind,  # type: ignore[arg-type]
            items=[view.model_validate(item) for item in items],  # type: ignore[misc]
            next=encode_token(kind, after) if more and after else None,
        )


def _visible(partner: Partner, item: dict[str, Any]) -> bool:
    locations = item.get("locations") or ([item["location"]] if item.get("location") else [])
    return bool(locations) and all(allows(partner.scopes, "location", code) for code in locations)
