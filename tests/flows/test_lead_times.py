"""Lead times on the embedded runtime: the supplier (through its scope) or the ERP sets them, ordered by sequence;
a change publishes supplier.lead_time_updated with the previous value, the same value publishes nothing."""

from __future__ import annotations

from datetime import timedelta

from purchasing_helpers import create_supplier, problem

from shared.canonical.envelope import utcnow


def path(supplier_id: str, sku: str = "SKU-1") -> str:
    return f"/v1/suppliers/{supplier_id}/items/{sku}/lead-time"


def put(client, supplier_id: str, body: dict, sku: str = "SKU-1"):
    return client.request("PUT", path(supplier_id, sku), json_body=body)


def test_the_supplier_sets_its_lead_time_in_order_and_only_changes_are_published(rt, acme, captured_events):
    gid = acme.supplier_id
    created = put(acme.portal, gid, {"lead_time_days": 12, "sequence": 1})
    assert created.status == 200, created.body
    assert (created.json()["outcome"], created.json()["lead_time"]["updated_by"]) == ("created", "acme-portal")
    longer = put(acme.portal, gid, {"lead_time_days": 21, "sequence": 2})
    assert longer.json()["outcome"] == "updated"

    first, second = captured_events("supplier.lead_time_updated")
    assert (first["data"]["lead_time_days"], first["data"]["previous_lead_time_days"]) == (12, None)
    assert (second["data"]["lead_time_days"], second["data"]["previous_lead_time_days"]) == (21, 12)
    assert (second["data"]["supplier_id"], second["data"]["sku"], second["data"]["location"]) == (gid, "SKU-1", None)
    assert second["id"] == longer.json()["event_id"] and second["source_partner"] == "acme-portal"

    same = put(acme.portal, gid, {"lead_time_days": 21, "sequence": 3})
    assert (same.json()["outcome"], same.json()["event_id"]) == ("unchanged", None)
    stale = put(acme.portal, gid, {"lead_time_days": 5, "sequence": 2})
    assert (stale.json()["outcome"], stale.json()["lead_time"]["lead_time_days"]) == ("stale", 21)
    assert len(captured_events("supplier.lead_time_updated")) == 2

    shown = acme.portal.get(path(gid))
    assert (shown.status, shown.json()["lead_time_days"], shown.json()["sequence"]) == (200, 21, 3)


def test_a_location_has_its_own_lead_time_and_effective_at_orders_updates(rt, erp_client, acme, captured_events):
    gid, now = acme.supplier_id, utcnow()
    assert (
        put(erp_client, gid, {"lead_time_days": 7, "location": "DC-WEST", "effective_at": now.isoformat()}).status
        == 200
    )
    older = {"lead_time_days": 30, "location": "DC-WEST", "effective_at": (now - timedelta(days=1)).isoformat()}
    assert put(erp_client, gid, older).json()["outcome"] == "stale"
    assert erp_client.get(path(gid), {"location": "DC-WEST"}).json()["lead_time_days"] == 7
    missing = erp_client.get(path(gid))  # no lead time for every location was set
    assert (missing.status, problem(missing)) == (404, "not-found")
    (event,) = captured_events("supplier.lead_time_updated")
    assert (event["data"]["location"], event["source_partner"]) == ("DC-WEST", "erp")


def test_only_the_supplier_itself_or_an_erp_or_procurement_system_sets_it(rt, erp_client, acme, client):
    gid = acme.supplier_id
    globex = create_supplier(
        rt, erp_client, local_id="V-200", portal_id="globex-portal", legal_name="Globex GmbH", tax_id="DE999999999"
    )
    body = {"lead_time_days": 3, "sequence": 1}
    refused = put(globex.portal, gid, body)
    assert (refused.status, problem(refused)) == (403, "out-of-scope")
    warehouse = put(client, gid, body)
    assert (warehouse.status, problem(warehouse)) == (403, "out-of-scope")
    assert globex.portal.get(path(gid)).status == 403

    unknown_supplier = put(erp_client, "SUP-00000000000000000000000000", body)
    assert (unknown_supplier.status, problem(unknown_supplier)) == (422, "unknown-supplier")
    unknown_sku = put(erp_client, gid, body, sku="SKU-404")
    assert (unknown_sku.status, problem(unknown_sku)) == (422, "unknown-sku")
    unordered = put(erp_client, gid, {"lead_time_days": 3})
    assert (unordered.status, problem(unordered)) == (422, "validation-failed")
