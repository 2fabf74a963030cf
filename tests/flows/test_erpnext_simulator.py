"""The ERPNext simulator answers like Frappe, and the reference adapter copes with what Frappe answers.

Requests go over real HTTP (urllib3) to the simulator; no embedded AWS is needed here.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import urllib3

from local.simulators.erpnext import UPDATE_ITEMS, ErpNextSimulator
from shared.adapters.outbound import build_adapter, unsupported
from shared.adapters.outbound.erpnext import plan_item_update, supplier_fields
from shared.adapters.outbound.http import RetryPolicy
from shared.canonical.envelope import Envelope
from shared.canonical.purchasing import AckLineOutcome, PurchaseOrderAcknowledged
from shared.canonical.supplier import SupplierUpdated, SupplierView

HTTP = urllib3.PoolManager(retries=False)
SUPPLIER_ID = "SUP-01HZX4TESTACME"


def request(sim: ErpNextSimulator, method: str, path: str, *, auth: bool = True, body=None):
    """(status, JSON body or raw bytes) of one request, with the simulator's credentials unless `auth` is False."""
    headers = {"Authorization": f"token {sim.api_key}:{sim.api_secret}"} if auth else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    response = HTTP.request(method, sim.url + path.replace(" ", "%20"), body=data, headers=headers)
    return response.status, json.loads(response.data) if response.data.startswith(b"{") else response.data


def update_items(sim: ErpNextSimulator, name: str, trans_items: list[dict]):
    fields = {"parent_doctype": "Purchase Order", "parent_doctype_name": name, "trans_items": json.dumps(trans_items)}
    response = HTTP.request(
        "POST",
        f"{sim.url}/api/method/{UPDATE_ITEMS}",
        fields=fields,
        encode_multipart=False,
        headers={"Authorization": f"token {sim.api_key}:{sim.api_secret}"},
    )
    return response.status, json.loads(response.data)


def rows(sim: ErpNextSimulator, name: str = "PO-1") -> list[dict]:
    return sim.doc("Purchase Order", name)["items"]


def trans(row: dict, **changes) -> dict:
    base = {k: row[k] for k in ("item_code", "qty", "rate", "uom", "conversion_factor", "schedule_date", "idx")}
    return {"docname": row["name"], **base, **changes}


def messages(doc: dict) -> list[str]:
    return [json.loads(m)["message"] for m in json.loads(doc["_server_messages"])]


@pytest.fixture
def sim(erpnext: ErpNextSimulator) -> ErpNextSimulator:
    erpnext.add_purchase_order(
        "PO-1",
        "ACME-001",
        [
            {"item_code": "SKU-1", "qty": 100, "rate": 2.5, "schedule_date": "2026-03-01"},
            {"item_code": "SKU-2", "qty": 40, "rate": 10, "schedule_date": "2026-03-01", "received_qty": 10},
        ],
    )
    erpnext.add_supplier("ACME-001", "Acme Industrial Supply")
    erpnext.add_payment_terms_template("Net 30")
    return erpnext


# ------------------------------------------------------------------------------------------- Frappe's answers
def test_token_auth(sim):
    assert request(sim, "GET", "/api/resource/Purchase Order/PO-1")[0] == 200
    status, doc = request(sim, "GET", "/api/resource/Purchase Order/PO-1", auth=False)
    assert status == 403 and doc["exc_type"] == "PermissionError"
    response = HTTP.request(
        "GET", f"{sim.url}/api/resource/Purchase%20Order/PO-1", headers={"Authorization": f"token {sim.api_key}:nope"}
    )
    assert response.status == 401 and json.loads(response.data)["exc_type"] == "AuthenticationError"


def test_documents_and_not_found(sim):
    status, doc = request(sim, "GET", "/api/resource/Purchase Order/PO-1")
    assert status == 200 and doc["data"]["docstatus"] == 1 and doc["data"]["total_qty"] == 140
    status, doc = request(sim, "GET", "/api/resource/Purchase Order/PO-9")
    assert status == 404 and doc["exc_type"] == "DoesNotExistError"
    assert messages(doc) == ["Purchase Order PO-9 not found"]


def test_a_submitted_order_accepts_only_fields_allowed_on_submit(sim):
    status, doc = request(sim, "PUT", "/api/resource/Purchase Order/PO-1", body={"order_confirmation_no": "ACK-1"})
    assert status == 200 and doc["data"]["order_confirmation_no"] == "ACK-1"
    status, doc = request(sim, "PUT", "/api/resource/Purchase Order/PO-1", body={"supplier": "OTHER"})
    assert status == 417 and doc["exc_type"] == "UpdateAfterSubmitError"
    assert sim.doc("Purchase Order", "PO-1")["supplier"] == "ACME-001"


def test_a_cancelled_order_cannot_be_edited(sim):
    sim.add_purchase_order(
        "PO-C", "ACME-001", [{"item_code": "SKU-1", "qty": 1, "rate": 1, "schedule_date": "2026-03-01"}], docstatus=2
    )
    status, doc = request(sim, "PUT", "/api/resource/Purchase Order/PO-C", body={"order_confirmation_no": "A"})
    assert status == 417 and messages(doc) == ["Cannot edit cancelled document"]


def test_update_items_changes_rows_and_totals(sim):
    first, second = rows(sim)
    status, _ = update_items(sim, "PO-1", [trans(first, qty=60, schedule_date="2026-03-20"), trans(second)])
    assert status == 200
    first = rows(sim)[0]
    assert (first["qty"], first["schedule_date"], first["amount"]) == (60, "2026-03-20", 150.0)
    assert sim.doc("Purchase Order", "PO-1")["total_qty"] == 100


def test_update_items_refusals_change_nothing(sim):
    first, second = rows(sim)
    before = sim.doc("Purchase Order", "PO-1")
    cases = [
        ([trans(first, qty=60), trans(second, qty=5)], "Cannot set quantity less than received quantity"),
        ([trans(first, qty=0), trans(second)], "Row # 1: Quantity for Item SKU-1 cannot be zero"),
        ([trans(first, qty=60)], "Row #2: Cannot delete item SKU-2 which has already been received"),
        ([trans(first), trans(second), {**trans(second), "docname": "nope"}], "Purchase Order Item nope not found"),
        ([trans(first, rate=-50), trans(second)], "Grand Total (Company Currency) cannot be less than 0"),
    ]
    for trans_items, message in cases:
        status, doc = update_items(sim, "PO-1", trans_items)
        assert status in (404, 417), message
        assert messages(doc) == [message]
    assert sim.doc("Purchase Order", "PO-1") == before  # all or nothing


def test_supplier_links_and_options_are_validated(sim):
    status, doc = request(sim, "PUT", "/api/resource/Supplier/ACME-001", body={"payment_terms": "Net 45"})
    assert status == 417 and doc["exc_type"] == "LinkValidationError"
    status, doc = request(sim, "PUT", "/api/resource/Supplier/ACME-001", body={"hold_type": "Sometimes"})
    assert status == 417 and doc["exc_type"] == "ValidationError"
    status, doc = request(
        sim,
        "PUT",
        "/api/resource/Supplier/ACME-001",
        body={"payment_terms": "Net 30", "on_hold": 1, "hold_type": "All"},
    )
    assert status == 200 and (doc["data"]["payment_terms"], doc["data"]["on_hold"]) == ("Net 30", 1)


def test_injected_faults(sim):
    sim.fail_next(1, status=502)
    sim.rate_limit_next(1, retry_after=2)
    assert request(sim, "GET", "/api/resource/Purchase Order/PO-1")[0] == 502
    response = HTTP.request("GET", f"{sim.url}/api/resource/Purchase%20Order/PO-1")
    assert response.status == 429 and response.headers["Retry-After"] == "2"
    assert json.loads(response.data)["exc_type"] == "TooManyRequestsError"
    with sim.outage():
        assert request(sim, "GET", "/api/resource/Purchase Order/PO-1")[0] == 503
    assert request(sim, "GET", "/api/resource/Purchase Order/PO-1")[0] == 200
    assert [c.status for c in sim.calls] == [502, 429, 503, 200]


# ------------------------------------------------------------------------------------- the reference adapter
def ack(lines: list[AckLineOutcome], ack_id: str = "ACK-1", po: str = "PO-1") -> Envelope:
    data = PurchaseOrderAcknowledged(
        po_number=po,
        supplier_id=SUPPLIER_ID,
        acknowledgment_id=ack_id,
        issued_at=datetime(2026, 2, 2, 9, 0, tzinfo=UTC),
        version=2,
        lines=lines,
    )
    return Envelope.wrap(data, source_partner="acme", occurred_at=data.issued_at, correlation_id="corr-ack")


def line(n: int, sku: str, status: str, ordered: int, confirmed: int, promised: date | None = None, price=None):
    return AckLineOutcome(
        line=n,
        sku=sku,
        location="DC-EAST",
        status=status,
        ordered_quantity=ordered,
        confirmed_quantity=confirmed,
        promised_date=promised,
        unit_price=price,
    )


def adapter(sim: ErpNextSimulator, **policy):
    return build_adapter("erpnext", "erp", sim.connection(), RetryPolicy(base_delay=0.01, **policy))


def deliver(sim, envelope, **policy):
    a = adapter(sim, **policy)
    return a.deliver(envelope, envelope.to_detail(), a.deadline())


def test_an_acknowledgment_is_applied_once(sim):
    envelope = ack(
        [line(1, "SKU-1", "changed", 100, 60, date(2026, 3, 20), Decimal("2.40")), line(2, "SKU-2", "accepted", 40, 40)]
    )
    result = deliver(sim, envelope)
    assert result.status == "delivered", result.detail
    po = sim.doc("Purchase Order", "PO-1")
    assert (po["order_confirmation_no"], po["order_confirmation_date"]) == ("ACK-1", "2026-02-02")
    first = po["items"][0]
    assert (first["qty"], first["rate"], first["schedule_date"]) == (60, 2.4, "2026-03-20")
    assert all(c.correlation_id == "corr-ack" for c in sim.calls)
    again = deliver(sim, envelope)
    assert again.status == "delivered" and "already carries acknowledgment ACK-1" in again.detail
    assert len(sim.calls_to("POST")) == 1 and len(sim.calls_to("PUT")) == 1


def test_a_rejected_line_leaves_the_order(sim):
    result = deliver(sim, ack([line(1, "SKU-1", "rejected", 100, 0), line(2, "SKU-2", "accepted", 40, 40)]))
    assert result.status == "delivered" and "removed" in result.detail
    assert [r["item_code"] for r in rows(sim)] == ["SKU-2"]


def test_a_refusal_is_permanent_with_the_erps_words(sim):
    result = deliver(sim, ack([line(2, "SKU-2", "changed", 40, 5)]))
    assert result.status == "rejected"
    assert result.detail == "ValidationError: Cannot set quantity less than received quantity"
    assert sim.doc("Purchase Order", "PO-1")["order_confirmation_no"] is None


def test_an_ambiguous_timeout_does_not_apply_twice(sim):
    """The confirmation is applied but its answer never arrives: the retry sees the marker and stops."""
    envelope = ack([line(1, "SKU-1", "changed", 100, 80)])
    sim.slow_next(1, 0.5, after=2)  # the GET and Update Items answer; the PUT is applied, its answer too late
    first = deliver(sim, envelope, timeout_seconds=0.3, max_attempts=1)
    assert first.status == "failed"
    for _ in range(100):  # the server finishes the slow PUT (SQS retries much later than this)
        if sim.doc("Purchase Order", "PO-1")["order_confirmation_no"] == "ACK-1":
            break
        time.sleep(0.01)
    second = deliver(sim, envelope)
    assert second.status == "delivered" and "already carries" in second.detail
    assert len(sim.calls_to("POST")) == 1 and rows(sim)[0]["qty"] == 80


def test_a_po_line_the_erp_does_not_have_is_rejected(sim):
    result = deliver(sim, ack([line(3, "SKU-9", "accepted", 5, 5)]))
    assert result.status == "rejected" and "line 3 (SKU-9) matches no single row" in result.detail
    assert sim.calls_to("POST") == []


def test_refused_credentials_are_a_refusal_not_a_rejection_or_an_outage(sim):
    bad = build_adapter("erpnext", "erp", {**sim.connection(), "api_secret": "wrong"}, RetryPolicy())
    result = bad.deliver(ack([line(1, "SKU-1", "accepted", 100, 100)]), {}, bad.deadline())
    assert result.status == "refused" and "401" in result.detail and "AuthenticationError" in result.detail


def supplier_event(status: str = "on_hold", xrefs: dict | None = None, terms: str | None = "Net 30") -> Envelope:
    view = SupplierView(
        supplier_id=SUPPLIER_ID,
        legal_name="Acme Industrial Supply LLC",
        tax_id="12-3456789",
        payment_terms=terms,
        status=status,
        cross_references=xrefs if xrefs is not None else {"erp": "ACME-001", "finance": "V-77"},
        version=3,
    )
    data = SupplierUpdated(supplier=view, changed=["status"], origin_system="finance")
    return Envelope.wrap(data, source_partner="finance", occurred_at=datetime.now(UTC))


def test_a_supplier_update_lands_on_the_erps_record(sim):
    result = deliver(sim, supplier_event())
    assert result.status == "delivered"
    doc = sim.doc("Supplier", "ACME-001")
    assert (doc["supplier_name"], doc["tax_id"], doc["on_hold"], doc["hold_type"], doc["disabled"]) == (
        "Acme Industrial Supply LLC",
        "12-3456789",
        1,
        "All",
        0,
    )


def test_a_supplier_the_erp_does_not_know_is_skipped(sim):
    result = deliver(sim, supplier_event(xrefs={"finance": "V-77"}))
    assert result.status == "skipped" and sim.calls == []


def test_unknown_payment_terms_are_a_permanent_refusal(sim):
    result = deliver(sim, supplier_event(terms="Net 45"))
    assert result.status == "rejected" and result.detail.startswith("LinkValidationError")


def test_plan_converts_eaches_through_the_rows_unit():
    row = {
        "name": "r1",
        "idx": 1,
        "item_code": "SKU-1",
        "qty": 10,
        "rate": 24.0,
        "uom": "Case",
        "conversion_factor": 12,
        "schedule_date": "2026-03-01",
    }
    items, changes = plan_item_update([row], [line(1, "SKU-1", "changed", 120, 60, price=Decimal("2.5"))])
    assert (items[0]["qty"], items[0]["rate"]) == (5.0, 30.0) and len(changes) == 2
    assert plan_item_update([row], [line(1, "SKU-1", "accepted", 120, 120, price=Decimal("2"))])[1] == []


def test_supplier_status_maps_to_erpnext_flags():
    view = supplier_event().data.supplier
    assert supplier_fields(view.model_copy(update={"status": "inactive"}))["disabled"] == 1
    assert supplier_fields(view.model_copy(update={"status": "active"}))["on_hold"] == 0


def test_the_erpnext_adapter_refuses_what_it_cannot_serve():
    assert unsupported("erpnext", ["purchase_order.acknowledged", "inbound.expectation_changed"]) == [
        "inbound.expectation_changed"
    ]
    assert unsupported("webhook", ["inbound.expectation_changed", "replenishment.risk_changed"]) == []
