"""`distrosync suppliers review | merge | split | show` through the CLI's entry point, against the runtime."""

from __future__ import annotations

import json

import pytest

from cli.local_session import partner_client, register_partner
from shared.aws.supplier_directory import SupplierDirectory

RECORDS = "/v1/supplier-records"
PROBLEM = "urn:distrosync:problem:"
BOSTON = {"line1": "12 Harbour Road", "city": "Boston", "postal_code": "02110", "country": "US"}


@pytest.fixture
def erp(rt):
    return partner_client(rt, register_partner(rt, "erp", "erp", []))


@pytest.fixture
def ap(rt):
    return partner_client(rt, register_partner(rt, "ap", "finance", []))


def send(client, local_id: str, name: str, sequence: int = 1, **extra) -> dict:
    reply = client.post(RECORDS, {"local_id": local_id, "sequence": sequence, "legal_name": name, **extra})
    assert reply.status in (200, 201, 202), reply.body
    return reply.json()


def test_review_shows_each_candidate_pair_side_by_side_with_the_reason(cli, erp, ap):
    first = send(erp, "V-1", "Acme Industrial Supply, Inc.", address=BOSTON, payment_terms="NET45")
    typo = send(ap, "AP-1", "Acme Industrail Supply", address={**BOSTON, "line1": "40 Pier St"}, payment_terms="NET30")
    assert typo["outcome"] == "pending_review"

    code, out, _ = cli("suppliers", "review", "--local")
    assert code == 0
    assert "record ap:AP-1" in out
    assert "why: similar name same postal code" in out
    assert first["supplier_id"] in out and typo["supplier_id"] in out
    assert "*payment_terms" in out and "NET45" in out and "NET30" in out  # differing rows are marked
    assert f"distrosync suppliers merge {first['supplier_id']} {typo['supplier_id']}" in out

    code, out, _ = cli("suppliers", "review", "--local", "--json")
    (review,) = json.loads(out)
    assert review["record"] == "ap:AP-1"
    assert review["supplier"]["supplier_id"] == typo["supplier_id"]
    assert review["candidates"][0]["supplier_id"] == first["supplier_id"]
    assert review["candidates"][0]["reasons"] == ["similar_name_same_postal_code"]


def test_merge_moves_records_follows_in_reads_and_empties_the_queue(rt, cli, erp, ap, captured_events):
    survivor = send(erp, "V-1", "Acme Industrial Supply, Inc.", address=BOSTON, payment_terms="NET45")["supplier_id"]
    other = send(ap, "AP-1", "Acme Industrail Supply", address=BOSTON, payment_terms="NET30")["supplier_id"]

    code, out, _ = cli("suppliers", "merge", survivor, other, "--local", "--json", "--yes")
    assert code == 0, out
    merged = json.loads(out)
    assert merged["merged_id"] == other
    assert merged["supplier"]["payment_terms"] == "NET30"  # survivorship ran again: finance's terms
    assert merged["supplier"]["cross_references"] == {"ap": "AP-1", "erp": "V-1"}

    (event,) = captured_events("supplier.merged")
    assert (event["data"]["merged_id"], event["data"]["supplier"]["supplier_id"]) == (other, survivor)
    assert event["data"]["origin_system"] == "steward"

    followed = erp.get(f"/v1/suppliers/{other}").json()
    assert followed["supplier"]["supplier_id"] == survivor and followed["merged_ids"] == [other]
    directory = SupplierDirectory(rt.outputs["SuppliersTableName"])
    assert directory.resolve("ap", "AP-1") == survivor
    assert directory.get(other).supplier_id == survivor
    assert json.loads(cli("suppliers", "review", "--local", "--json")[1]) == []

    # Again: nothing to do. The finance system's next record lands on the survivor.
    code, out, _ = cli("suppliers", "merge", survivor, other, "--local", "--yes")
    assert code == 0 and "already merged" in out
    assert send(ap, "AP-1", "Acme Industrail Supply", sequence=2, payment_terms="NET60")["supplier_id"] == survivor


def test_merge_asks_first_and_refuses_different_tax_ids(cli, erp, ap):
    a = send(erp, "V-1", "Acme Industrial Supply", tax_id="12-3456789", address=BOSTON)["supplier_id"]
    b = send(ap, "AP-1", "Acme Industrial Supply", tax_id="98-7654321", address=BOSTON)["supplier_id"]

    code, out, _ = cli("suppliers", "merge", a, b, "--local", stdin="n\n")
    assert code == 1 and "not merged" in out and "*tax_id" in out

    code, out, _ = cli("suppliers", "merge", a, b, "--local", "--yes", "--json")
    assert code == 1
    problem = json.loads(out)
    assert problem["type"] == PROBLEM + "supplier-merge-refused" and problem["status"] == 409
    assert problem["tax_ids"] == {a: ["123456789"], b: ["987654321"]}

    code, _, err = cli("suppliers", "merge", a, "SUP-00000000000000000000000000", "--local", "--yes")
    assert code == 1 and "no supplier" in err


def test_split_detaches_a_record_into_a_new_golden(rt, cli, erp, ap, captured_events):
    gid = send(erp, "V-1", "Acme Industrial Supply", tax_id="12-3456789", payment_terms="NET45")["supplier_id"]
    assert send(ap, "AP-1", "Acme Subsidiary Ltd", tax_id="123456789", payment_terms="NET30")["outcome"] == "matched"

    code, out, _ = cli("suppliers", "split", gid, "--record", "ap:AP-1", "--local", "--json")
    assert code == 0, out
    result = json.loads(out)
    new_id = result["created"]["supplier_id"]
    assert result["created"]["cross_references"] == {"ap": "AP-1"}
    assert result["remaining"]["cross_references"] == {"erp": "V-1"}
    assert result["remaining"]["payment_terms"] == "NET45"  # survivorship without finance's record

    assert [e["data"]["supplier"]["supplier_id"] for e in captured_events("supplier.created")][-1] == new_id
    last_update = captured_events("supplier.updated")[-1]["data"]
    assert last_update["supplier"]["supplier_id"] == gid
    assert last_update["changed"] == ["payment_terms", "cross_references"]
    assert SupplierDirectory(rt.outputs["SuppliersTableName"]).resolve("ap", "AP-1") == new_id

    code, _, err = cli("suppliers", "split", gid, "--record", "erp:V-1", "--local")
    assert code == 1 and "only record" in err
    code, _, err = cli("suppliers", "split", gid, "--record", "nonsense", "--local")
    assert code == 2 and "SYSTEM:LOCAL_ID" in err


def test_show_prints_the_golden_and_its_records_masked(cli, erp, ap):
    gid = send(erp, "V-1", "Acme Industrial Supply", tax_id="12-3456789", address=BOSTON)["supplier_id"]
    send(
        ap,
        "AP-1",
        "Acme",
        tax_id="123456789",
        bank_account={"account_number": "000123456789", "routing_number": "011000015"},
    )

    code, out, _ = cli("suppliers", "show", gid, "--local")
    assert code == 0
    assert "****6789" in out and "000123456789" not in out and "011000015" not in out
    assert "erp:V-1 (erp, sequence 1)  wins:" in out and "ap:AP-1 (finance, sequence 1)" in out
    assert "12 Harbour Road, 02110, Boston, US" in out

    code, out, _ = cli("suppliers", "show", gid, "--local", "--json")
    assert json.loads(out)["supplier"]["bank_account_masked"] == "****6789"


def test_a_merge_during_an_eventbridge_outage_says_to_run_it_again_and_the_rerun_publishes(
    rt, cli, erp, ap, captured_events, monkeypatch
):
    from botocore.client import BaseClient

    survivor = send(erp, "V-1", "Acme Industrial Supply, Inc.", address=BOSTON)["supplier_id"]
    other = send(ap, "AP-1", "Acme Industrail Supply", address=BOSTON)["supplier_id"]
    real = BaseClient._make_api_call

    def put_events_fails(self, operation, params):
        if operation == "PutEvents":
            entries = [{"ErrorCode": "InternalFailure", "ErrorMessage": "outage"} for _ in params["Entries"]]
            return {"FailedEntryCount": len(entries), "Entries": entries}
        return real(self, operation, params)

    with monkeypatch.context() as patched:
        patched.setattr(BaseClient, "_make_api_call", put_events_fails)
        code, out, err = cli("suppliers", "merge", survivor, other, "--local", "--yes")
    assert code == 1 and "run the same command again" in err, (out, err)
    assert captured_events("supplier.merged") == []

    code, out, _ = cli("suppliers", "merge", survivor, other, "--local", "--yes")
    assert code == 0, out
    assert len(captured_events("supplier.merged")) == 1
