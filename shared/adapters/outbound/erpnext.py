"""The reference ERP adapter: ERPNext/Frappe REST (docs/adr/0010-erpnext-reference-adapter.md).

Frappe's REST API: `Authorization: token <api_key>:<api_secret>`; documents at `/api/resource/<DocType>/<name>`
answer `{"data": {...}}`; whitelisted methods at `/api/method/<dotted.path>`; errors carry `exc_type` and
`_server_messages` (a JSON list of JSON-encoded `{"message": ...}`), validation errors with HTTP 417.

- `purchase_order.acknowledged` -> the ERP's Purchase Order (`erp_reference`, else the PO number):
  1. GET it; when its `order_confirmation_no` already is this acknowledgment's id, it is done (a retried
     delivery after an ambiguous timeout arrives once);
  2. when a line's quantity, rate or date changes, or a line is rejected, ERPNext's own "Update Items"
     (`erpnext.controllers.accounts_controller.update_child_qty_rate`) with every row of the order (rows left
     out are deleted: that is how a rejected line leaves the order), the promised date as the row's
     `schedule_date`;
  3. PUT `order_confirmation_no` / `order_confirmation_date` (fields allowed on a submitted order) last, so
     that the marker is only set once the changes are in.
- `supplier.created|updated|merged` -> PUT `/api/resource/Supplier/<the ERP's id>` when the golden record's
  cross-references name this system; a supplier the ERP does not know is skipped (vendors are onboarded in
  the ERP).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from shared.adapters.outbound import CREDENTIAL_STATUSES, DeliveryResult, refusal
from shared.adapters.outbound.http import Deadline, Outcome, RetryPolicy, SystemCall, Transport, quote_path
from shared.canonical.envelope import Envelope
from shared.canonical.purchasing import AckLineOutcome, PurchaseOrderAcknowledged
from shared.canonical.supplier import SupplierView

UPDATE_ITEMS_METHOD = "/api/method/erpnext.controllers.accounts_controller.update_child_qty_rate"
PURCHASE_ORDER = "Purchase Order"
SUPPLIER = "Supplier"
SUPPLIER_EVENTS = frozenset({"supplier.created", "supplier.updated", "supplier.merged"})
_TAGS = re.compile(r"<[^>]+>")


class PlanError(ValueError):
    """The acknowledgment cannot be laid onto the ERP's order (a line it does not have)."""


def frappe_error(call: SystemCall) -> str:
    """The system's own words: `exc_type: message; message` from a Frappe error response."""
    if call.status is None:
        return call.describe()
    doc = call.json()
    if not isinstance(doc, dict):
        text = call.body.decode("utf-8", "replace").strip()
        return f"HTTP {call.status}: {_TAGS.sub(' ', text)[:300].strip() or 'no body'}"
    messages: list[str] = []
    raw = doc.get("_server_messages")
    if isinstance(raw, str):
        try:
            for item in json.loads(raw):
                try:
                    decoded = json.loads(item)
                    message = decoded.get("message", item) if isinstance(decoded, dict) else item
                except (TypeError, ValueError):
                    message = item
                messages.append(_TAGS.sub("", str(message)).strip())
        except ValueError:
            messages.append(raw)
    if not messages and doc.get("exception"):
        messages.append(str(doc["exception"]).splitlines()[-1])
    if not messages and doc.get("message"):
        messages.append(str(doc["message"]))
    exc_type = doc.get("exc_type") or f"HTTP {call.status}"
    return f"{exc_type}: {'; '.join(messages) or 'no message'}"[:1000]


def _number(value: Any) -> float:
    return float(value or 0)


def _row_line(outcome: AckLineOutcome, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ERP row of a PO line: the row at index `line` when it carries the SKU, else the one row with the SKU."""
    by_idx = {int(row.get("idx") or 0): row for row in rows}
    row = by_idx.get(outcome.line)
    if row is not None and row.get("item_code") == outcome.sku:
        return row
    same_item = [r for r in rows if r.get("item_code") == outcome.sku]
    if len(same_item) == 1:
        return same_item[0]
    raise PlanError(f"line {outcome.line} ({outcome.sku}) matches no single row of the ERP's order")


def plan_item_update(rows: list[dict[str, Any]], lines: list[AckLineOutcome]) -> tuple[list[dict[str, Any]], list[str]]:
    """ERPNext "Update Items" rows for an acknowledgment, and what changes (empty: nothing to send).

    Every remaining row is sent (ERPNext deletes the rows left out). Our quantities are eaches and prices per
    each; a row in another unit of measure gets them through its `conversion_factor`. A rejected line (or one
    confirmed at zero, unless backordered: the supplier still means to ship it) is left out, i.e. removed.
    """
    ordered = sorted(rows, key=lambda r: int(r.get("idx") or 0))
    by_row = {}
    for outcome in lines:
        by_row[_row_line(outcome, ordered)["name"]] = outcome
    trans_items: list[dict[str, Any]] = []
    changes: list[str] = []
    for row in ordered:
        factor = _number(row.get("conversion_factor")) or 1.0
        qty, rate, schedule = _number(row.get("qty")), _number(row.get("rate")), row.get("schedule_date")
        outcome = by_row.get(row["name"])
        if outcome is not None:
            removed = outcome.status == "rejected" or (
                outcome.confirmed_quantity == 0 and outcome.status != "backordered"
            )
            if removed:
                changes.append(f"row {row.get('idx')} ({row.get('item_code')}) removed")
                continue
            if outcome.confirmed_quantity > 0:
                new_qty = round(outcome.confirmed_quantity / factor, 6)
                if new_qty != qty:
                    changes.append(f"row {row.get('idx')} qty {qty:g} -> {new_qty:g}")
                    qty = new_qty
            if outcome.unit_price is not None:
                new_rate = float(Decimal(outcome.unit_price) * Decimal(str(factor)))
                if round(new_rate, 6) != round(rate, 6):
                    changes.append(f"row {row.get('idx')} rate {rate:g} -> {new_rate:g}")
                    rate = new_rate
            if outcome.promised_date is not None and outcome.promised_date.isoformat() != schedule:
                changes.append(f"row {row.get('idx')} schedule_date {schedule} -> {outcome.promised_date}")
                schedule = outcome.promised_date.isoformat()
        trans_items.append(
            {
                "docname": row["name"],
                "idx": row.get("idx"),
                "item_code": row.get("item_code"),
                "qty": qty,
                "rate": rate,
                "uom": row.get("uom"),
                "conversion_factor": factor,
                "schedule_date": schedule,
            }
        )
    return trans_items, changes


def supplier_fields(view: SupplierView) -> dict[str, Any]:
    """The ERPNext Supplier fields the golden record governs (absent golden values leave the ERP's alone)."""
    fields: dict[str, Any] = {"supplier_name": view.legal_name}
    if view.tax_id:
        fields["tax_id"] = view.tax_id
    if view.payment_terms:
        fields["payment_terms"] = view.payment_terms  # a Link to "Payment Terms Template"
    held = view.status in ("on_hold", "blocked")
    fields["on_hold"] = 1 if held else 0
    fields["hold_type"] = "All" if held else ""
    fields["disabled"] = 1 if view.status in ("blocked", "inactive") else 0
    return fields


class ErpNextAdapter:
    name = "erpnext"

    def __init__(self, system: str, connection: Mapping[str, Any], policy: RetryPolicy, **transport: Any) -> None:
        self.system = system
        auth = f"token {connection['api_key']}:{connection['api_secret']}"
        self.transport = Transport(
            system, str(connection["base_url"]), policy=policy, default_headers={"Authorization": auth}, **transport
        )

    def deadline(self) -> Deadline:
        return self.transport.deadline()

    def deliver(self, envelope: Envelope[Any], detail: Mapping[str, Any], deadline: Deadline) -> DeliveryResult:
        if envelope.type == PurchaseOrderAcknowledged.event_type:
            return self._acknowledge(envelope, deadline)
        if envelope.type in SUPPLIER_EVENTS:
            return self._supplier(envelope, deadline)
        return DeliveryResult("rejected", f"the erpnext adapter does not serve {envelope.type}")

    # ------------------------------------------------------------------------------------------ purchase orders
    def _acknowledge(self, envelope: Envelope[Any], deadline: Deadline) -> DeliveryResult:
        data: PurchaseOrderAcknowledged = envelope.data
        name = data.erp_reference or data.po_number
        path = quote_path("api", "resource", PURCHASE_ORDER, name)
        calls: list[SystemCall] = []

        def call(operation: str, method: str, target: str, **kwargs: Any) -> SystemCall:
            result = self.transport.call(
                operation, method, target, correlation_id=envelope.correlation_id, deadline=deadline, **kwargs
            )
            calls.append(result)
            return result

        read = call("get_purchase_order", "GET", path)
        if not read.ok:
            return _failure(read, calls)
        po = (read.json() or {}).get("data") or {}
        if po.get("order_confirmation_no") == data.acknowledgment_id:
            return DeliveryResult("delivered", f"{name} already carries acknowledgment {data.acknowledgment_id}", calls)
        if int(po.get("docstatus") or 0) == 2:
            return DeliveryResult("rejected", f"{name} is cancelled in the ERP", calls)
        try:
            trans_items, changes = plan_item_update(list(po.get("items") or []), list(data.lines))
        except PlanError as exc:
            return DeliveryResult("rejected", f"{name}: {exc}", calls)
        if changes:
            update = call(
                "update_items",
                "POST",
                UPDATE_ITEMS_METHOD,
                form={
                    "parent_doctype": PURCHASE_ORDER,
                    "trans_items": json.dumps(trans_items, separators=(",", ":")),
                    "parent_doctype_name": name,
                },
            )
            if not update.ok:
                return _failure(update, calls)
        confirm = call(
            "confirm_purchase_order",
            "PUT",
            path,
            json_body={
                "order_confirmation_no": data.acknowledgment_id,
                "order_confirmation_date": _day(data.issued_at.date()),
            },
        )
        if not confirm.ok:
            return _failure(confirm, calls)
        summary = "; ".join(changes) if changes else "no line changes"
        return DeliveryResult("delivered", f"{name} acknowledged ({data.acknowledgment_id}): {summary}", calls)

    # ------------------------------------------------------------------------------------------------ suppliers
    def _supplier(self, envelope: Envelope[Any], deadline: Deadline) -> DeliveryResult:
        view: SupplierView = envelope.data.supplier
        local_id = view.cross_references.get(self.system)
        if not local_id:
            return DeliveryResult(
                "skipped", f"{self.system} has no record of {view.supplier_id} (vendors are onboarded in the ERP)"
            )
        put = self.transport.call(
            "update_supplier",
            "PUT",
            quote_path("api", "resource", SUPPLIER, local_id),
            correlation_id=envelope.correlation_id,
            deadline=deadline,
            json_body=supplier_fields(view),
        )
        if not put.ok:
            return _failure(put, [put])
        return DeliveryResult(
            "delivered", f"Supplier {local_id} updated from {view.supplier_id} v{view.version}", [put]
        )


def _day(value: date) -> str:
    return value.isoformat()


def _failure(call: SystemCall, calls: list[SystemCall]) -> DeliveryResult:
    """Transient failures fail the delivery; refused credentials (401/403: an operator fixes those, the event
    must not be dropped) make it `refused`; any other refusal rejects it."""
    if call.status in CREDENTIAL_STATUSES:
        return DeliveryResult("refused", refusal(call.status, frappe_error(call)), calls)
    transient = call.outcome is Outcome.TRANSIENT
    return DeliveryResult("failed" if transient else "rejected", frappe_error(call), calls)
