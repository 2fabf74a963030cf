"""An ERPNext simulator: the Frappe REST subset the reference ERP adapter uses, behaving like the real one.

Served (see docs/adr/0010-erpnext-reference-adapter.md):
- `GET /api/resource/<DocType>/<name>` -> `{"data": {...}}`;
- `PUT /api/resource/<DocType>/<name>` (JSON body) -> the saved document; on a submitted document
  (`docstatus` 1) only fields marked "allow on submit" may change (`UpdateAfterSubmitError`, 417); a cancelled
  one cannot be edited; Supplier links (`payment_terms`) must name an existing Payment Terms Template
  (`LinkValidationError`) and `hold_type` must be one of its options;
- `POST /api/method/erpnext.controllers.accounts_controller.update_child_qty_rate` ("Update Items"): as
  ERPNext does it, rows left out of `trans_items` are deleted (refused once received or billed), a row's
  quantity may not be zero nor below its received quantity, its amount not below its billed amount, unknown
  rows are `DoesNotExistError`; all or nothing (Frappe runs the request in one transaction).

Frappe's answers: 401 `AuthenticationError` for wrong credentials (`Authorization: token <key>:<secret>`),
403 `PermissionError` without any, 404 `DoesNotExistError`, 417 for validation errors, each with `exc_type`,
`exception` and `_server_messages` (a JSON list of JSON-encoded `{"message": ...}`).

Faults: `fail_next(n, status=503)`, `rate_limit_next(n, retry_after=1)` (429 `TooManyRequestsError` with
`Retry-After`), `slow_next(n, seconds, after=0)` (the request is processed after the stall, as a real server does
when the client has already given up: the ambiguous timeout), `down = True` or `with sim.outage():` (503 from
the proxy in front, an HTML page). Introspection: `calls` (method, path, status, body), `doc(doctype, name)`.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.simulators import BackgroundServer, FaultControls, Faults, SimulatorHandler, proxy_down

UPDATE_ITEMS = "erpnext.controllers.accounts_controller.update_child_qty_rate"
# Fields a submitted document may still change (their "allow_on_submit" flag in ERPNext's doctype JSON).
ALLOW_ON_SUBMIT = {
    "Purchase Order": {"order_confirmation_no", "order_confirmation_date", "schedule_date", "title", "status"},
}
# Fields the server maintains: sent back unchanged they are no change.
SERVER_FIELDS = {"name", "doctype", "docstatus", "modified", "creation", "owner", "modified_by", "idx"}
SUPPLIER_FIELDS = {
    "supplier_name",
    "tax_id",
    "payment_terms",
    "disabled",
    "on_hold",
    "hold_type",
    "release_date",
    "supplier_group",
    "supplier_type",
    "country",
    "default_currency",
}
HOLD_TYPES = ("", "All", "Invoices", "Payments")


class FrappeError(Exception):
    """A Frappe exception: `exc_type` and HTTP status as Frappe maps them."""

    def __init__(self, exc_type: str, status: int, message: str, title: str | None = None) -> None:
        super().__init__(message)
        self.exc_type = exc_type
        self.status = status
        self.message = message
        self.title = title


def _validation(message: str, exc_type: str = "ValidationError", title: str | None = None) -> FrappeError:
    return FrappeError(exc_type, 417, message, title)


def _not_found(doctype: str, name: str) -> FrappeError:
    return FrappeError("DoesNotExistError", 404, f"{doctype} {name} not found")


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    status: int
    body: Any  # the parsed JSON or form body (None when empty)
    correlation_id: str | None = None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _float(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        raise _validation(f"{value!r} is not a number") from None


class ErpNextSimulator(FaultControls, BackgroundServer):
    def __init__(
        self, *, api_key: str | None = None, api_secret: str | None = None, company: str = "Distrosync Demo"
    ) -> None:
        super().__init__()
        self.api_key = api_key or secrets.token_hex(8)
        self.api_secret = api_secret or secrets.token_hex(12)
        self.company = company
        self.faults = Faults()
        self.calls: list[Call] = []
        self._docs: dict[str, dict[str, dict[str, Any]]] = {"Purchase Order": {}, "Supplier": {}}
        self._payment_terms: set[str] = set()
        self._lock = threading.RLock()

    # ------------------------------------------------------------------------------------------------ set-up
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connection(self) -> dict[str, str]:
        """The connection secret of the erpnext adapter for this simulator."""
        return {"base_url": self.url, "api_key": self.api_key, "api_secret": self.api_secret}

    def add_payment_terms_template(self, name: str) -> None:
        with self._lock:
            self._payment_terms.add(name)

    def add_supplier(self, name: str, supplier_name: str | None = None, **fields: Any) -> dict[str, Any]:
        doc = {
            "name": name,
            "doctype": "Supplier",
            "docstatus": 0,
            "supplier_name": supplier_name or name,
            "supplier_group": "All Supplier Groups",
            "supplier_type": "Company",
            "tax_id": None,
            "payment_terms": None,
            "disabled": 0,
            "on_hold": 0,
            "hold_type": "",
            "modified": _now(),
        }
        doc.update(fields)
        with self._lock:
            self._docs["Supplier"][name] = doc
        return copy.deepcopy(doc)

    def add_purchase_order(
        self, name: str, supplier: str, items: list[dict[str, Any]], *, docstatus: int = 1, **fields: Any
    ) -> dict[str, Any]:
        """A Purchase Order; each item needs `item_code`, `qty`, `rate`, `schedule_date` (ISO date) and may give
        `uom`, `conversion_factor`, `received_qty`, `billed_amt`."""
        rows = []
        for idx, item in enumerate(items, start=1):
            row = {
                "name": secrets.token_hex(5),
                "doctype": "Purchase Order Item",
                "parent": name,
                "parenttype": "Purchase Order",
                "parentfield": "items",
                "idx": idx,
                "uom": "Nos",
                "stock_uom": "Nos",
                "conversion_factor": 1.0,
                "received_qty": 0.0,
                "billed_amt": 0.0,
                "expected_delivery_date": None,
                **item,
            }
            row["qty"], row["rate"] = float(row["qty"]), float(row["rate"])
            rows.append(row)
        doc = {
            "name": name,
            "doctype": "Purchase Order",
            "docstatus": docstatus,
            "supplier": supplier,
            "supplier_name": supplier,
            "company": self.company,
            "currency": "USD",
            "transaction_date": date.today().isoformat(),
            "order_confirmation_no": None,
            "order_confirmation_date": None,
            "status": "To Receive and Bill" if docstatus == 1 else "Draft",
            "items": rows,
            "modified": _now(),
            **fields,
        }
        _recalculate(doc)
        with self._lock:
            self._docs["Purchase Order"][name] = doc
        return copy.deepcopy(doc)

    # ---------------------------------------------------------------------------------------------- faults
    # fail_next, rate_limit_next, slow_next, down and outage() come with FaultControls

    # ------------------------------------------------------------------------------------------ introspection
    def doc(self, doctype: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._docs.get(doctype, {}).get(name)
            return copy.deepcopy(found) if found is not None else None

    def calls_to(self, method: str | None = None, path_contains: str = "") -> list[Call]:
        with self._lock:
            return [c for c in self.calls if (method is None or c.method == method) and path_contains in c.path]

    # ------------------------------------------------------------------------------------------------ serving
    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """One request -> (status, headers, body). Called by the HTTP handler; usable directly in tests."""
        path = unquote(urlsplit(raw_path).path)
        parsed = _parse_body(headers.get("content-type", ""), body)
        correlation = headers.get("x-correlation-id")
        with self._lock:
            fault = self.faults.next_fault()
            stall = self.faults.stall() if fault is None else 0.0
        if fault is not None:
            status, out_headers, out = _fault_response(*fault)
            self._record(method, path, status, parsed, correlation)
            return status, out_headers, out
        if stall:
            time.sleep(stall)
        try:
            self._authenticate(headers.get("authorization"))
            with self._lock:
                status, doc = self._route(method, path, parsed)
        except FrappeError as exc:
            status, doc = exc.status, _error_body(exc)
        self._record(method, path, status, parsed, correlation)
        return status, {"Content-Type": "application/json"}, json.dumps(doc, default=str).encode()

    def _record(self, method: str, path: str, status: int, body: Any, correlation: str | None) -> None:
        with self._lock:
            self.calls.append(Call(method, path, status, body, correlation))

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise FrappeError("PermissionError", 403, "Not permitted (log in or use an API key)")
        scheme, _, token = authorization.partition(" ")
        key, _, secret = token.partition(":")
        if scheme.lower() != "token" or key != self.api_key or not secrets.compare_digest(secret, self.api_secret):
            raise FrappeError("AuthenticationError", 401, "Invalid API key or secret")

    def _route(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if len(parts) == 4 and parts[:2] == ["api", "resource"]:
            doctype, name = parts[2], parts[3]
            if doctype not in self._docs:
                raise FrappeError("DoesNotExistError", 404, f"DocType {doctype} not found")
            if method == "GET":
                return 200, {"data": copy.deepcopy(self._get(doctype, name))}
            if method == "PUT":
                if not isinstance(body, dict):
                    raise _validation("The request body must be a JSON object")
                return 200, {"data": copy.deepcopy(self._update(doctype, name, body))}
            raise FrappeError("ValidationError", 405, f"Method {method} not allowed")
        if len(parts) == 3 and parts[:2] == ["api", "method"] and parts[2] == UPDATE_ITEMS:
            if method != "POST":
                raise FrappeError("ValidationError", 405, f"Method {method} not allowed")
            if not isinstance(body, dict):
                raise _validation("parent_doctype, trans_items and parent_doctype_name are required")
            self._update_items(body)
            return 200, {}
        raise FrappeError("DoesNotExistError", 404, f"{path} not found")

    def _get(self, doctype: str, name: str) -> dict[str, Any]:
        doc = self._docs[doctype].get(name)
        if doc is None:
            raise _not_found(doctype, name)
        return doc

    # --------------------------------------------------------------------------------------------- documents
    def _update(self, doctype: str, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        doc = self._get(doctype, name)
        if doc["docstatus"] == 2:
            raise _validation("Cannot edit cancelled document", "DocstatusTransitionError")
        changed = {k: v for k, v in changes.items() if k not in SERVER_FIELDS and k != "flags" and doc.get(k) != v}
        if doc["docstatus"] == 1:
            allowed = ALLOW_ON_SUBMIT.get(doctype, set())
            for field_name, value in changed.items():
                if field_name not in allowed:
                    raise _validation(
                        f"Not allowed to change {field_name} after submission "
                        f"from {doc.get(field_name)!r} to {value!r}",
                        "UpdateAfterSubmitError",
                    )
        if doctype == "Supplier":
            self._validate_supplier({**doc, **changed}, changed)
        for field_name in ("order_confirmation_date", "schedule_date", "release_date"):
            if changed.get(field_name):
                _date(changed[field_name], field_name)
        doc.update(changed)
        doc["modified"] = _now()
        return doc

    def _validate_supplier(self, merged: dict[str, Any], changed: dict[str, Any]) -> None:
        unknown = sorted(set(changed) - SUPPLIER_FIELDS)
        if unknown:
            raise _validation(f"Supplier has no field {unknown[0]}", "DataError")
        if not str(merged.get("supplier_name") or "").strip():
            raise _validation("Error: Value missing for Supplier: Supplier Name", "MandatoryError")
        terms = merged.get("payment_terms")
        if "payment_terms" in changed and terms and terms not in self._payment_terms:
            raise _validation(f"Could not find Default Payment Terms Template: {terms}", "LinkValidationError")
        if merged.get("hold_type", "") not in HOLD_TYPES:
            options = ", ".join(f'"{option}"' for option in HOLD_TYPES)
            raise _validation(f'Hold Type cannot be "{merged.get("hold_type")}". It should be one of {options}')
        for flag in ("disabled", "on_hold"):
            if merged.get(flag) not in (0, 1, True, False):
                raise _validation(f"{flag} must be 0 or 1")

    def _update_items(self, body: dict[str, Any]) -> None:
        parent_doctype = body.get("parent_doctype")
        name = str(body.get("parent_doctype_name") or "")
        if parent_doctype != "Purchase Order":
            raise _validation(f"Update Items is not supported for {parent_doctype}")
        stored = self._get("Purchase Order", name)
        if stored["docstatus"] == 2:
            raise _validation("Cannot edit cancelled document", "DocstatusTransitionError")
        try:
            data = json.loads(body.get("trans_items") or "[]")
        except ValueError:
            raise _validation("trans_items is not valid JSON") from None
        if not isinstance(data, list):
            raise _validation("trans_items must be a list")
        doc = copy.deepcopy(stored)  # all or nothing, as in Frappe's request transaction
        rows = {row["name"]: row for row in doc["items"]}
        kept = {d.get("docname") for d in data if isinstance(d, dict)}
        for row in list(doc["items"]):
            if row["name"] not in kept:
                if _float(row.get("received_qty")):
                    raise _validation(
                        f"Row #{row['idx']}: Cannot delete item {row['item_code']} which has already been received"
                    )
                if _float(row.get("billed_amt")):
                    raise _validation(
                        f"Row #{row['idx']}: Cannot delete item {row['item_code']} which has already been billed."
                    )
                doc["items"].remove(row)
        for d in data:
            if not isinstance(d, dict) or not d.get("item_code"):
                continue  # ERPNext ignores empty rows
            docname = d.get("docname")
            if not docname:
                row = {
                    "name": secrets.token_hex(5),
                    "doctype": "Purchase Order Item",
                    "parent": name,
                    "parenttype": "Purchase Order",
                    "parentfield": "items",
                    "item_code": d["item_code"],
                    "uom": d.get("uom") or "Nos",
                    "stock_uom": "Nos",
                    "conversion_factor": _float(d.get("conversion_factor")) or 1.0,
                    "received_qty": 0.0,
                    "billed_amt": 0.0,
                    "schedule_date": d.get("schedule_date") or doc.get("schedule_date"),
                    "expected_delivery_date": None,
                    "qty": 0.0,
                    "rate": 0.0,
                }
                doc["items"].append(row)
            else:
                row = rows.get(docname)
                if row is None:
                    raise _not_found("Purchase Order Item", str(docname))
                unchanged = (
                    _float(row.get("rate")) == _float(d.get("rate"))
                    and _float(row.get("qty")) == _float(d.get("qty"))
                    and _float(row.get("conversion_factor")) == _float(d.get("conversion_factor"))
                    and row.get("uom") == d.get("uom")
                    and bool(d.get("schedule_date"))
                    and row.get("schedule_date") == _date(d.get("schedule_date"), "schedule_date")
                )
                if unchanged:
                    continue
            qty, rate = _float(d.get("qty")), _float(d.get("rate"))
            if not qty:
                raise _validation(
                    f"Row # {d.get('idx') or row.get('idx')}: Quantity for Item {d['item_code']} cannot be zero",
                    title="Invalid Qty",
                )
            if qty < 0:
                raise _validation(f"Row #{row.get('idx')}: Quantity cannot be negative", "NonNegativeError")
            if qty < _float(row.get("received_qty")):
                raise _validation("Cannot set quantity less than received quantity")
            if _float(row.get("billed_amt")) > round(rate * qty, 2) and rate > 0:
                raise _validation(
                    f"Row #{row.get('idx')}: Cannot set Rate if amount is greater than billed amount "
                    f"for Item {row['item_code']}."
                )
            row["qty"], row["rate"] = qty, round(rate, 6)
            if d.get("conversion_factor"):
                row["conversion_factor"] = (
                    1.0 if row.get("stock_uom") == row.get("uom") else _float(d["conversion_factor"])
                )
            if d.get("uom"):
                row["uom"] = d["uom"]
            if d.get("schedule_date"):
                row["schedule_date"] = _date(d["schedule_date"], "schedule_date")
        if not doc["items"]:
            raise _validation("Error: Value missing for Purchase Order: Items", "MandatoryError")
        for idx, row in enumerate(doc["items"], start=1):
            row["idx"] = idx
        _recalculate(doc)
        if doc["grand_total"] < 0:
            raise _validation("Grand Total (Company Currency) cannot be less than 0")
        doc["modified"] = _now()
        self._docs["Purchase Order"][name] = doc


def _recalculate(doc: dict[str, Any]) -> None:
    for row in doc["items"]:
        row["amount"] = round(_float(row["qty"]) * _float(row["rate"]), 2)
        row["stock_qty"] = _float(row["qty"]) * (_float(row.get("conversion_factor")) or 1.0)
    doc["total_qty"] = sum(_float(r["qty"]) for r in doc["items"])
    doc["total"] = doc["grand_total"] = round(sum(r["amount"] for r in doc["items"]), 2)
    dates = [r["schedule_date"] for r in doc["items"] if r.get("schedule_date")]
    doc["schedule_date"] = min(dates) if dates else None


def _date(value: Any, field_name: str) -> str:
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        raise _validation(f"{field_name}: {value!r} is not a valid date (YYYY-MM-DD)") from None


def _parse_body(content_type: str, body: bytes) -> Any:
    if not body:
        return None
    text = body.decode("utf-8", "replace")
    if "application/x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except ValueError:
        return text


def _error_body(exc: FrappeError) -> dict[str, Any]:
    message = {"message": exc.message, "indicator": "red", "raise_exception": 1}
    if exc.title:
        message["title"] = exc.title
    return {
        "exception": f"frappe.exceptions.{exc.exc_type}: {exc.message}",
        "exc_type": exc.exc_type,
        "_server_messages": json.dumps([json.dumps(message)]),
    }


def _fault_response(kind: str, value: Any) -> tuple[int, dict[str, str], bytes]:
    if kind == "down":
        return proxy_down()
    if kind == "rate_limit":
        exc = FrappeError(
            "TooManyRequestsError",
            429,
            "You hit the rate limit because of too many requests. Please try after sometime.",
        )
        retry_after = str(int(value)) if float(value).is_integer() else f"{value}"
        return (
            429,
            {"Content-Type": "application/json", "Retry-After": retry_after},
            json.dumps(_error_body(exc)).encode(),
        )
    status = int(value)
    if status >= 500:
        page = f"<html><head><title>{status}</title></head><body>nginx</body></html>".encode()
        return status, {"Content-Type": "text/html"}, page
    exc = FrappeError("ValidationError", status, f"injected failure {status}")
    return status, {"Content-Type": "application/json"}, json.dumps(_error_body(exc)).encode()


ErpNextSimulator.handler_class = SimulatorHandler
