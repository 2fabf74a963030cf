"""Helpers of the purchasing flow tests (purchase orders, acknowledgments, ship notices, lead times, overdue
acknowledgments): suppliers are created the real way, the ERP posting its vendor record and the supplier's portal
registered with scope `supplier:<golden id>`; the `acme` fixture (tests/flows/conftest.py) is one of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from cli.client import PartnerClient
from cli.local_session import partner_client, register_partner
from shared.canonical.envelope import utcnow

PROBLEM = "urn:distrosync:problem:"


# ------------------------------------------------------------------------------------------------- helpers
@dataclass(frozen=True)
class Supplier:
    supplier_id: str
    local_id: str
    portal: PartnerClient


def today() -> date:
    return utcnow().date()


def days(n: int) -> str:
    return (today() + timedelta(days=n)).isoformat()


def create_supplier(
    rt,
    erp_client: PartnerClient,
    *,
    local_id: str = "V-100",
    portal_id: str = "acme-portal",
    legal_name: str = "ACME Industrial Supply, Inc.",
    tax_id: str | None = "12-3456789",
    **record: Any,
) -> Supplier:
    """The ERP's vendor record (the golden supplier it creates), and the supplier's portal partner."""
    body = {
        "local_id": local_id,
        "sequence": 1,
        "legal_name": legal_name,
        "address": {"line1": "12 Harbour Road", "city": "Boston", "postal_code": "02110", "country": "US"},
        **({"tax_id": tax_id} if tax_id else {}),
        **record,
    }
    reply = erp_client.post("/v1/supplier-records", body)
    assert reply.status in (200, 201), reply.body
    gid = reply.json()["supplier_id"]
    portal = partner_client(rt, register_partner(rt, portal_id, "supplier", [f"supplier:{gid}"]))
    return Supplier(gid, local_id, portal)


def po_line(n: int, sku: str, quantity: int, *, requested: int = 14, need: int | None = None, **extra: Any) -> dict:
    line = {"line": n, "sku": sku, "quantity": quantity, "unit_price": "4.25", "requested_date": days(requested)}
    if need is not None:
        line["need_date"] = days(need)
    return {**line, **extra}


def put_po(client: PartnerClient, po: str, *lines: dict, revision: int = 1, supplier: str = "V-100", **extra: Any):
    body = {
        "revision": revision,
        "supplier": supplier,
        "location": "DC-EAST",
        "erp_reference": f"ERP-{po}",
        "lines": list(lines) or [po_line(1, "SKU-1", 100), po_line(2, "SKU-2", 40)],
        **extra,
    }
    return client.request("PUT", f"/v1/purchase-orders/{po}", json_body=body)


def create_po(rt, client: PartnerClient, po: str, *lines: dict, **extra: Any) -> dict:
    reply = put_po(client, po, *lines, **extra)
    assert reply.status == 201, reply.body
    rt.drain()
    return reply.json()


def incoming(client: PartnerClient, sku: str, location: str = "DC-EAST") -> dict[str, tuple[str, int, str]]:
    """The position's incoming lines: reference -> (kind, open quantity, expected date)."""
    reply = client.get(f"/v1/inventory/{sku}", {"location": location})
    assert reply.status == 200, reply.body
    positions = reply.json()["positions"]
    if not positions:
        return {}
    return {x["reference"]: (x["kind"], x["quantity"], x["expected_date"]) for x in positions[0]["incoming"]}


def problem(reply) -> str:
    assert reply.headers.get("Content-Type", reply.headers.get("content-type", "")).startswith(
        "application/problem+json"
    ), reply.body
    return reply.json()["type"].removeprefix(PROBLEM)
