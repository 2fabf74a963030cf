"""Supplier master on the embedded runtime: records in through the API, golden suppliers out, events, masking."""

from __future__ import annotations

import json

import pytest

from cli.local_session import partner_client, register_partner

RECORDS = "/v1/supplier-records"
PROBLEM = "urn:distrosync:problem:"
IBAN = "DE89370400440532013000"


def acme(local_id: str = "V-100", sequence: int = 1, **extra) -> dict:
    record = {
        "local_id": local_id,
        "sequence": sequence,
        "legal_name": "ACME Industrial Supply, Inc.",
        "tax_id": "12-3456789",
        "address": {"line1": "12 Harbour Road", "city": "Boston", "postal_code": "02110", "country": "US"},
        "payment_terms": "NET45",
        "default_lead_time_days": 12,
    }
    record.update(extra)
    return record


@pytest.fixture
def systems(rt):
    """One client per source system kind, plus a warehouse (not a source system)."""
    out = {}
    for partner_id, kind in (("erp", "erp"), ("ap", "finance"), ("buyer", "procurement"), ("qms", "quality")):
        out[partner_id] = partner_client(rt, register_partner(rt, partner_id, kind, []))
    out["wh"] = partner_client(rt, register_partner(rt, "wh-east", "warehouse", ["location:DC-EAST"]))
    return out


def test_a_new_record_creates_a_golden_supplier_and_publishes_it(rt, systems, captured_events):
    reply = systems["erp"].post(RECORDS, acme())
    assert reply.status == 201, reply.body
    body = reply.json()
    assert body["outcome"] == "created"
    gid = body["supplier_id"]
    assert gid.startswith("SUP-") and len(gid) == 30

    created = captured_events("supplier.created")
    assert len(created) == 1
    assert created[0]["data"]["supplier"]["supplier_id"] == gid
    assert created[0]["data"]["supplier"]["cross_references"] == {"erp": "V-100"}
    assert created[0]["data"]["origin_system"] == "erp"

    shown = systems["erp"].get(f"/v1/suppliers/{gid}")
    assert shown.status == 200, shown.body
    assert shown.json()["supplier"]["legal_name"] == "ACME Industrial Supply, Inc."
