"""A BigCommerce simulator: the V2 order reads distrosync makes for thin `store/order/created` webhooks.

Served, as BigCommerce answers them:
- `GET /stores/<store_hash>/v2/orders/<id>` -> the order (money as decimal text, dates in RFC 2822);
- `GET /stores/<store_hash>/v2/orders/<id>/products` and `/shipping_addresses` -> a JSON array, paged by
  `limit` (default 50, at most 250) and `page`; an empty page is `204 No Content`.

`X-Auth-Token` must be the simulator's token (else 401); an unknown store hash or order is 404; other methods
405. Errors are V2's JSON arrays `[{"status": ..., "message": ...}]`.

Faults: `fail_next(n, status=503)`, `rate_limit_next(n, retry_after=1)` (429 with `Retry-After`), `slow_next(n, s)`,
`down = True` or `with sim.outage():` (503 from the proxy in front, an HTML page). Introspection: `calls` (method, path,
status). Orders are added with `add_order(...)`; `product(...)` and `address(...)` build their parts.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.simulators import BackgroundServer, FaultControls, Faults, SimulatorHandler, proxy_down

DEFAULT_LIMIT = 50
MAX_LIMIT = 250


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    status: int
    correlation_id: str | None = None


def product(
    product_id: int,
    *,
    sku: str,
    variant_id: int | None,
    quantity: int,
    price: str = "10.0000",
    name: str | None = None,
    kind: str = "physical",
    catalog_product_id: int = 100,
) -> dict[str, Any]:
    """One line of an order as `/products` lists it (`kind`: physical, digital or giftcertificate)."""
    return {
        "id": product_id,
        "product_id": catalog_product_id,
        "variant_id": variant_id,
        "name": name or f"Product {product_id}",
        "sku": sku,
        "type": kind,
        "base_price": price,
        "price_ex_tax": price,
        "price_inc_tax": price,
        "quantity": quantity,
        "quantity_shipped": 0,
    }


def address(
    address_id: int,
    *,
    first_name: str = "Jane",
    last_name: str = "Doe",
    street_1: str = "123 Main Street",
    city: str = "Austin",
    state: str = "Texas",
    zip_code: str = "78751",
    country: str = "United States",
    country_iso2: str = "US",
    **fields: Any,
) -> dict[str, Any]:
    """One shipping address of an order as `/shipping_addresses` lists it."""
    return {
        "id": address_id,
        "first_name": first_name,
        "last_name": last_name,
        "company": "",
        "street_1": street_1,
        "street_2": "",
        "city": city,
        "zip": zip_code,
        "country": country,
        "country_iso2": country_iso2,
        "state": state,
        "email": "",
        "phone": "",
        "items_total": 0,
        "items_shipped": 0,
        "shipping_method": "Free Shipping",
        **fields,
    }


class BigCommerceSimulator(FaultControls, BackgroundServer):
    def __init__(self, *, store_hash: str | None = None, token: str | None = None) -> None:
        super().__init__()
        self.store_hash = store_hash or secrets.token_hex(5)
        self.token = token or secrets.token_hex(16)
        self.faults = Faults()
        self.calls: list[Call] = []
        self._orders: dict[str, dict[str, Any]] = {}
        self._products: dict[str, list[dict[str, Any]]] = {}
        self._addresses: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------------------------------------ set-up
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_order(
        self,
        order_id: int,
        products: list[dict[str, Any]],
        shipping_addresses: list[dict[str, Any]] | None = None,
        *,
        date_created: datetime | None = None,
        currency: str = "USD",
        status: str = "Awaiting Fulfillment",
        status_id: int = 11,
        **fields: Any,
    ) -> dict[str, Any]:
        """An order with its lines and addresses (each line ships to the first address unless it says)."""
        created = date_created or datetime.now(UTC)
        addresses = copy.deepcopy(shipping_addresses if shipping_addresses is not None else [address(1)])
        lines = copy.deepcopy(products)
        for line in lines:
            line["order_id"] = order_id
            if addresses:
                line.setdefault("order_address_id", addresses[0]["id"])
        for entry in addresses:
            entry["order_id"] = order_id
            entry["items_total"] = sum(x["quantity"] for x in lines if x.get("order_address_id") == entry["id"])
        subtotal = sum(float(x["price_ex_tax"]) * x["quantity"] for x in lines)
        base = f"https://api.bigcommerce.com/stores/{self.store_hash}/v2/orders/{order_id}"
        order = {
            "id": order_id,
            "customer_id": 0,
            "date_created": format_datetime(created.astimezone(UTC)),
            "date_modified": format_datetime(created.astimezone(UTC)),
            "date_shipped": "",
            "status_id": status_id,
            "status": status,
            "subtotal_ex_tax": f"{subtotal:.4f}",
            "total_ex_tax": f"{subtotal:.4f}",
            "total_inc_tax": f"{subtotal:.4f}",
            "items_total": sum(x["quantity"] for x in lines),
            "items_shipped": 0,
            "currency_code": currency,
            "default_currency_code": currency,
            "payment_status": "captured",
            "billing_address": {k: v for k, v in address(0).items() if k not in ("id", "items_total")},
            "products": {"url": f"{base}/products", "resource": f"/orders/{order_id}/products"},
            "shipping_addresses": {
                "url": f"{base}/shipping_addresses",
                "resource": f"/orders/{order_id}/shipping_addresses",
            },
            **fields,
        }
        with self._lock:
            self._orders[str(order_id)] = order
            self._products[str(order_id)] = lines
            self._addresses[str(order_id)] = addresses
        return copy.deepcopy(order)

    # ------------------------------------------------------------------------------------------ introspection
    def calls_to(self, path_contains: str = "") -> list[Call]:
        with self._lock:
            return [c for c in self.calls if path_contains in c.path]

    # ------------------------------------------------------------------------------------------------ serving
    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        """One request -> (status, headers, body); a request body is read and ignored (only GETs are served).
        Called by the HTTP handler; usable directly in tests."""
        split = urlsplit(raw_path)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query))
        with self._lock:
            fault = self.faults.next_fault()
            stall = self.faults.stall() if fault is None else 0.0
        if stall:
            time.sleep(stall)
        if fault is not None:
            status, out_headers, out = _fault_response(*fault)
        elif headers.get("x-auth-token") != self.token:
            status, out_headers, out = _error(401, "You are not authorized to access this resource.")
        elif method != "GET":
            status, out_headers, out = _error(405, f"Method {method} is not allowed on this resource.")
        else:
            with self._lock:
                status, out_headers, out = self._route(path, query)
        with self._lock:
            self.calls.append(Call(method, path, status, headers.get("x-correlation-id")))
        return status, out_headers, out

    def _route(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        parts = [p for p in path.split("/") if p]
        if len(parts) < 5 or parts[0] != "stores" or parts[1] != self.store_hash or parts[2:4] != ["v2", "orders"]:
            return _error(404, "The requested resource was not found.")
        order_id, rest = parts[4], parts[5:]
        order = self._orders.get(order_id)
        if order is None or len(rest) > 1:
            return _error(404, "The requested resource was not found.")
        if not rest:
            return _json(200, order)
        lists = {"products": self._products, "shipping_addresses": self._addresses}
        if rest[0] not in lists:
            return _error(404, "The requested resource was not found.")
        try:
            limit = min(MAX_LIMIT, max(1, int(query.get("limit", DEFAULT_LIMIT))))
            page = max(1, int(query.get("page", 1)))
        except ValueError:
            return _error(400, "The filter(s) supplied are not valid.")
        entries = lists[rest[0]][order_id][(page - 1) * limit : page * limit]
        if not entries:
            return 204, {}, b""
        return _json(200, entries)


def _json(status: int, doc: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(doc).encode()


def _error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    return _json(status, [{"status": status, "message": message}])


def _fault_response(kind: str, value: Any) -> tuple[int, dict[str, str], bytes]:
    if kind == "down":
        return proxy_down()
    if kind == "rate_limit":
        status, headers, body = _error(429, "You have exceeded your request rate limit.")
        seconds = str(int(value)) if float(value).is_integer() else f"{value}"
        return status, {**headers, "Retry-After": seconds, "X-Rate-Limit-Time-Reset-Ms": str(int(value * 1000))}, body
    return _error(int(value), "Injected failure.")


BigCommerceSimulator.handler_class = SimulatorHandler
