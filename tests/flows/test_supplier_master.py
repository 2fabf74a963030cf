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


def finance_record(**extra) -> dict:
    record = {
        "local_id": "AP-77",
        "sequence": 3,
        "legal_name": "ACME IND SUPPLY",
        "tax_id": "123456789",
        "payment_terms": "NET30",
        "bank_account": {"iban": IBAN, "bic": "COBADEFFXXX", "holder": "Acme Industrial Supply Inc"},
        "remit_to": {"line1": "PO Box 9", "city": "Boston", "postal_code": "02111", "country": "US"},
    }
    record.update(extra)
    return record


def raw_items(rt) -> list[dict]:
    from shared.aws.clients import client as aws

    return aws("dynamodb").scan(TableName=rt.outputs["SuppliersTableName"])["Items"]


def test_records_of_other_systems_match_by_tax_id_and_survive_by_source_priority(rt, systems, captured_events):
    gid = systems["erp"].post(RECORDS, acme()).json()["supplier_id"]

    reply = systems["ap"].post(RECORDS, finance_record())
    assert reply.status == 200, reply.body
    body = reply.json()
    assert (body["supplier_id"], body["outcome"]) == (gid, "matched")
    assert body["changed"] == ["remit_to", "bank_account", "payment_terms", "cross_references"]

    golden = systems["erp"].get(f"/v1/suppliers/{gid}").json()
    supplier = golden["supplier"]
    assert supplier["legal_name"] == "ACME Industrial Supply, Inc."  # the ERP's legal name
    assert supplier["payment_terms"] == "NET30"  # finance's terms over the ERP's NET45
    assert supplier["bank_account_masked"] == "****3000"
    assert supplier["cross_references"] == {"ap": "AP-77", "erp": "V-100"}
    sources = {s["system"]: s for s in golden["sources"]}
    assert sources["ap"]["bank_account_masked"] == "****3000" and sources["ap"]["kind"] == "finance"
    assert "payment_terms" in sources["ap"]["wins"] and "legal_name" in sources["erp"]["wins"]

    updated = captured_events("supplier.updated")
    assert [e["data"]["changed"] for e in updated] == [body["changed"]]
    assert updated[0]["data"]["origin_system"] == "ap"
    assert updated[0]["data"]["supplier"]["bank_account_masked"] == "****3000"

    # The account is stored encrypted, and neither logged nor published.
    digits = IBAN[4:]
    assert digits not in json.dumps(raw_items(rt))
    assert digits not in json.dumps(captured_events())
    assert not [line for line in rt.logs("ingress") if digits in line or "COBADEFF" in line]


def test_a_replay_or_an_older_record_changes_nothing_and_publishes_nothing(rt, systems, captured_events):
    gid = systems["erp"].post(RECORDS, acme(sequence=5)).json()["supplier_id"]
    systems["ap"].post(RECORDS, finance_record())
    before = len(captured_events())

    replay = systems["ap"].post(RECORDS, finance_record())
    assert replay.status == 200 and replay.json()["outcome"] == "unchanged" and not replay.json()["superseded"]
    older = systems["erp"].post(RECORDS, acme(sequence=4, legal_name="Acme Old Name Inc"))
    assert older.status == 200
    assert (older.json()["outcome"], older.json()["superseded"]) == ("unchanged", True)
    same_content_newer = systems["ap"].post(RECORDS, finance_record(sequence=4))
    assert same_content_newer.json()["outcome"] == "unchanged"

    assert len(captured_events()) == before
    assert systems["erp"].get(f"/v1/suppliers/{gid}").json()["supplier"]["legal_name"].startswith("ACME Industrial")


def test_an_erp_echoing_back_a_golden_value_changes_nothing(rt, systems, captured_events):
    gid = systems["erp"].post(RECORDS, acme()).json()["supplier_id"]
    systems["ap"].post(RECORDS, finance_record())
    before = len(captured_events())

    echo = systems["erp"].post(RECORDS, acme(sequence=2, payment_terms="NET30"))  # what the ERP was told
    assert echo.status == 200
    assert (echo.json()["outcome"], echo.json()["changed"]) == ("updated", [])
    assert len(captured_events()) == before

    # A change that wins is published with just that attribute.
    renamed = systems["erp"].post(
        RECORDS, acme(sequence=3, payment_terms="NET30", legal_name="Acme Supply Holdings Inc")
    )
    assert renamed.json()["changed"] == ["legal_name"]
    assert [e["data"]["changed"] for e in captured_events("supplier.updated")][-1] == ["legal_name"]
    assert systems["erp"].get(f"/v1/suppliers/{gid}").json()["supplier"]["version"] == 3


def test_quality_holds_procurement_lead_times_and_the_directory(rt, systems):
    from shared.aws.supplier_directory import SupplierDirectory

    gid = systems["erp"].post(RECORDS, acme(status="active", ack_window_hours=24)).json()["supplier_id"]
    held = systems["qms"].post(
        RECORDS, {"local_id": "Q-1", "sequence": 1, "legal_name": "Acme", "tax_id": "12 3456789", "status": "on_hold"}
    )
    assert held.json()["changed"] == ["status", "cross_references"]
    buyer = systems["buyer"].post(
        RECORDS,
        {
            "local_id": "B-1",
            "updated_at": "2026-03-01T10:00:00Z",
            "legal_name": "Acme Industrial Supply",
            "address": {"line1": "12 Harbour Rd", "city": "Boston", "postal_code": "02110", "country": "US"},
            "default_lead_time_days": 20,
            "contacts": [{"name": "Jane Buyer", "email": "jane@acme.example"}],
        },
    )
    assert buyer.status == 200 and buyer.json()["outcome"] == "matched"  # name + postal code, no tax id to disagree

    directory = SupplierDirectory(rt.outputs["SuppliersTableName"])
    assert directory.resolve("erp", "V-100") == directory.resolve("buyer", "B-1") == gid
    assert directory.resolve("erp", "nope") is None
    ref = directory.get(gid)
    assert (ref.status, ref.default_lead_time_days, ref.ack_window_hours) == ("on_hold", 20, 24)
    assert ref.name == "ACME Industrial Supply, Inc."
    assert directory.get("SUP-00000000000000000000000000") is None


def test_same_name_with_another_tax_id_is_kept_apart_and_queued(rt, systems, captured_events):
    gid = systems["erp"].post(RECORDS, acme()).json()["supplier_id"]
    reply = systems["ap"].post(RECORDS, finance_record(legal_name="Acme Industrial Supply LLC", tax_id="98-7654321"))
    assert reply.status == 202, reply.body
    body = reply.json()
    assert body["outcome"] == "pending_review" and body["supplier_id"] != gid
    assert body["candidates"] == {gid: ["same_name_other_tax_id"]} and body["review_id"]
    created = captured_events("supplier.created")
    assert [e["data"]["supplier"]["supplier_id"] for e in created] == [gid, body["supplier_id"]]


def test_who_may_send_and_read_supplier_records(rt, systems):
    refused = systems["wh"].post(RECORDS, acme())
    assert refused.status == 403 and refused.json()["type"] == PROBLEM + "out-of-scope"

    gid = systems["erp"].post(RECORDS, acme()).json()["supplier_id"]
    portal = partner_client(rt, register_partner(rt, "acme-portal", "supplier", [f"supplier:{gid}"]))
    other = partner_client(rt, register_partner(rt, "other-portal", "supplier", ["supplier:SUP-0000000000"]))
    assert portal.get(f"/v1/suppliers/{gid}").status == 200
    assert other.get(f"/v1/suppliers/{gid}").status == 403
    missing = systems["erp"].get("/v1/suppliers/SUP-00000000000000000000000000")
    assert missing.status == 404 and missing.json()["type"] == PROBLEM + "not-found"


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"duns": "12345"}, "/duns"),
        ({"sequence": None}, "/"),
        ({"bank_account": {"holder": "no number"}}, "/bank_account"),
        ({"local_id": "A#B"}, "/local_id"),
        ({"status": "paused"}, "/status"),
    ],
)
def test_bad_records_get_a_specific_problem(rt, systems, change, pointer):
    record = {k: v for k, v in acme(**change).items() if v is not None}
    reply = systems["erp"].post(RECORDS, record)
    assert reply.status == 422, reply.body
    problem = reply.json()
    assert problem["type"] == PROBLEM + "validation-failed"
    assert any(e["pointer"].startswith(pointer) for e in problem["errors"]), problem


# ------------------------------------------------------------------------------------------ events kept on the golden
@pytest.fixture
def outage(monkeypatch):
    """`outage["on"] = True`: every PutEvents entry fails (as EventBridge reports an internal failure)."""
    from botocore.client import BaseClient

    real = BaseClient._make_api_call
    state = {"on": False}

    def put_events_fails_during_the_outage(self, operation, params):
        if operation == "PutEvents" and state["on"]:
            entries = [{"ErrorCode": "InternalFailure", "ErrorMessage": "outage"} for _ in params["Entries"]]
            return {"FailedEntryCount": len(entries), "Entries": entries}
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", put_events_fails_during_the_outage)
    return state


def golden_item(rt, gid: str) -> dict:
    from shared.aws.clients import client as aws

    key = {"pk": {"S": f"SUPPLIER#{gid}"}, "sk": {"S": "GOLDEN"}}
    return aws("dynamodb").get_item(TableName=rt.outputs["SuppliersTableName"], Key=key)["Item"]


def test_a_record_whose_event_could_not_be_published_is_published_by_its_retry(rt, systems, captured_events, outage):
    outage["on"] = True
    first = systems["erp"].post(RECORDS, acme())
    assert (first.status, first.json()["type"]) == (503, PROBLEM + "unavailable"), first.body
    outage["on"] = False
    assert captured_events("supplier.created") == []

    retry = systems["erp"].post(RECORDS, acme())
    assert retry.status == 201, retry.body  # the first request's answer: it created the supplier
    body = retry.json()
    assert body["outcome"] == "created" and len(body["event_ids"]) == 1
    (created,) = captured_events("supplier.created")
    assert (created["id"], created["data"]["supplier"]["supplier_id"]) == (body["event_ids"][0], body["supplier_id"])
    assert "outbox" not in golden_item(rt, body["supplier_id"])

    again = systems["erp"].post(RECORDS, acme())
    assert (again.status, again.json()["outcome"], again.json()["event_ids"]) == (200, "unchanged", [])
    assert len(captured_events("supplier.created")) == 1


def test_events_left_on_a_golden_are_published_by_the_next_record_that_touches_it(rt, systems, captured_events, outage):
    gid = systems["erp"].post(RECORDS, acme()).json()["supplier_id"]
    outage["on"] = True
    assert systems["ap"].post(RECORDS, finance_record()).status == 503  # matched: supplier.updated left on the golden
    outage["on"] = False
    assert captured_events("supplier.updated") == []

    renamed = systems["erp"].post(RECORDS, acme(sequence=2, legal_name="Acme Supply Holdings Inc"))
    assert renamed.json()["changed"] == ["legal_name"]
    updated = captured_events("supplier.updated")
    assert [(e["data"]["origin_system"], e["data"]["supplier"]["version"]) for e in updated] == [("ap", 2), ("erp", 3)]
    assert "outbox" not in golden_item(rt, gid)

    # The finance system's retry comes after its event went out with the ERP's record: nothing is left to do.
    retry = systems["ap"].post(RECORDS, finance_record())
    assert (retry.json()["supplier_id"], retry.json()["outcome"]) == (gid, "unchanged")
    assert len(captured_events("supplier.updated")) == 2


def test_a_merge_whose_event_could_not_be_published_publishes_it_when_run_again(rt, systems, captured_events, outage):
    from cli.suppliers import service
    from shared.aws.bus import PublishError

    survivor = systems["erp"].post(RECORDS, acme()).json()["supplier_id"]
    other = systems["ap"].post(RECORDS, finance_record(tax_id=None, local_id="AP-9", legal_name="Acme Ind Supply"))
    other_id = other.json()["supplier_id"]
    assert other_id != survivor
    master = service(rt.outputs)

    outage["on"] = True
    with pytest.raises(PublishError):
        master.merge(survivor, other_id)
    outage["on"] = False
    assert captured_events("supplier.merged") == []

    again = master.merge(survivor, other_id)  # merged already: the event it left is published, with its id
    (merged,) = captured_events("supplier.merged")
    assert again.event_id == merged["id"] and merged["data"]["merged_id"] == other_id
    assert master.merge(survivor, other_id).event_id is None
    assert len(captured_events("supplier.merged")) == 1


def test_a_split_whose_events_could_not_be_published_publishes_them_when_run_again(
    rt, systems, captured_events, outage
):
    from cli.suppliers import service
    from shared.aws.bus import PublishError

    gid = systems["erp"].post(RECORDS, acme()).json()["supplier_id"]
    assert systems["ap"].post(RECORDS, finance_record()).json()["outcome"] == "matched"
    before = len(captured_events())
    master = service(rt.outputs)

    outage["on"] = True
    with pytest.raises(PublishError):
        master.split(gid, "ap", "AP-77")
    outage["on"] = False
    assert len(captured_events()) == before

    split = master.split(gid, "ap", "AP-77")
    events = captured_events()[before:]
    assert sorted((e["type"], e["data"]["supplier"]["supplier_id"]) for e in events) == [
        ("supplier.created", split.created.supplier_id),
        ("supplier.updated", gid),
    ]
    assert split.remaining.supplier_id == gid and split.created.cross_references == {"ap": "AP-77"}
    with pytest.raises(Exception, match="no record"):
        master.split(gid, "ap", "AP-77")
    assert len(captured_events()) == before + 2
