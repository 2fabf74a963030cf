"""Issue #6's inbound "done when", on the embedded runtime: X12 files (the corpus's as they are, and the repository's
samples for the sets the corpus lacks) dropped under `inbound/<partner>/` or posted to `POST /v1/edi/inbound` reach
their flows through the real `edi_inbound` and the API's own services; every group gets its 997 under
`outbound/<partner>/`; a duplicate ISA13, a lying SE count and a lying GE count are refused with a specific reason
and a rejecting 997, and nothing of them is handed on.

One runtime per module (`world`); every trading partner is registered with the corpus file's own ISA/GS ids.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cli.corpus import CORPUS
from cli.local_session import emf_totals, partner_client, register_partner
from tests.flows.edi_fixtures import EdiWorld, corpus, sample, segments, start_world, ta1
from tests.flows.order_flow_fixtures import flow_record, wait_for_status, wait_for_waiting
from tests.flows.purchasing_helpers import create_po, create_supplier, po_line

pytestmark = pytest.mark.order_flow

PROBLEM = "urn:distrosync:problem:"


@pytest.fixture(scope="module")
def world(request, dev_template_path):
    yield from start_world(request, dev_template_path)


@pytest.fixture(scope="module")
def acme(world):
    """The supplier V-100 (the ERP's vendor record) whose POs the corpus's 855, 856 and 810 answer."""
    return create_supplier(world.rt, world.erp)


@pytest.fixture(scope="module")
def warehouse(world):
    """wh-east, an API warehouse partner (stock counts)."""
    return partner_client(world.rt, register_partner(world.rt, "wh-east", "warehouse", ["location:DC-EAST"]))


@pytest.fixture(scope="module")
def mill(world, acme):
    """The supplier's EDI side as 855_node-x12_855.edi names it, and the PO it acknowledges."""
    world.trading_partner(
        "mill-edi",
        "supplier",
        [f"supplier:{acme.supplier_id}"],
        isa_qualifier="ZZ",
        isa_id="1556150",
        gs_id="1556150",
        our_isa_id="123MILL",
        our_gs_id="123MILL",
        inbound_sets=["855"],
    )
    lines = [po_line(1, "SKU-1", 3), po_line(2, "SKU-2", 2), po_line(3, "SKU-3", 1), po_line(4, "SKU-4", 2)]
    create_po(world.rt, world.erp, "POTEST1112", *lines)
    return "mill-edi"


@pytest.fixture(scope="module")
def three_pl(world):
    """The 3PL of the 846 and 945 samples (events/x12), counting and shipping for DC-EAST."""
    world.trading_partner(
        "acme-3pl",
        "warehouse",
        ["location:DC-EAST"],
        isa_qualifier="ZZ",
        isa_id="ACME3PL",
        gs_id="ACME3PL",
        inbound_sets=["846", "945"],
        default_location="DC-EAST",
    )
    return "acme-3pl"


def _acks(world: EdiWorld, partner: str, kind: str) -> list[str]:
    return [text for key, text in sorted(world.outbound(partner).items()) if key.endswith(f"-{kind}.x12")]


def _ak(text: str, segment: str) -> list[list[str]]:
    return [s for s in segments(text) if s[0] == segment]


# ----------------------------------------------------------------------------------------------------- 855
def _855(isa13: str) -> bytes:
    """The corpus 855 as its supplier would resend it: another ISA13 (ISA13 and IEA02), and its delivery dates
    (SCH06, 2004-12-31 in the corpus) a month ahead."""
    ahead = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y%m%d").encode()
    data = corpus("855_node-x12_855.edi")
    assert data.count(b"000000005") == 2 and data.count(b"20041231") == 3
    return data.replace(b"000000005", isa13.encode()).replace(b"20041231", ahead)


def test_the_corpus_855_is_refused_by_its_flow_for_its_past_dates_and_the_corrected_one_acknowledges_the_po(
    world, mill
):
    as_is = world.drop(mill, corpus("855_node-x12_855.edi"), "855_node-x12_855.edi")

    (refused,) = world.processed(as_is)
    assert (refused["status"], refused["sender"], refused["control_number"]) == ("rejected", "ZZ:1556150", "000000005")
    (one,) = refused["sets"]
    assert (one["set_id"], one["control_number"], one["group"], one["outcome"], one["reference"]) == (
        "855",
        "0005",
        "5",
        "rejected",
        "POTEST1112",
    )
    assert one["reason"].startswith("invalid-acknowledgment") and "2004-12-31 is in the past" in one["reason"]
    (syntax,) = [world.outbound(mill)[k] for k in refused["acknowledgments"]]
    assert _ak(syntax, "AK5") == [["AK5", "A"]]  # a business refusal is not a 997 matter

    corrected = world.drop(mill, _855("000000007"), "855-corrected.edi")

    (done,) = world.processed(corrected)
    assert done["status"] == "accepted" and [s["outcome"] for s in done["sets"]] == ["accepted"]
    (acked,) = [e for e in world.tap.events("purchase_order.acknowledged") if e["subject"] == "POTEST1112"]
    assert acked["data"]["acknowledgment_id"] == "x12-000000007-5-0005"
    assert (acked["source_partner"], acked["correlation_id"]) == ("mill-edi", "edi-mill-edi-000000007")
    statuses = {x["line"]: x["status"] for x in world.erp.get("/v1/purchase-orders/POTEST1112").json()["lines"]}
    assert statuses == {1: "accepted", 2: "rejected", 3: "rejected", 4: "accepted"}
    (ack,) = [world.outbound(mill)[k] for k in done["acknowledgments"]]
    assert done["acknowledgments"][0].startswith("outbound/mill-edi/000000007-")
    assert _ak(ack, "AK1") == [["AK1", "PR", "5"]]
    assert _ak(ack, "AK5") == [["AK5", "A"]] and _ak(ack, "AK9") == [["AK9", "A", "1", "1", "1"]]


def test_the_same_file_twice_is_processed_once_and_the_same_isa13_in_another_file_is_refused(world, mill):
    data = _855("000000008")
    key = world.drop(mill, data, "855-first.edi")
    (first,) = world.processed(key)
    assert first["status"] == "accepted"
    written = world.outbound(mill)

    # The same object's event again (S3 delivers at least once): nothing more.
    world.rt.clients("s3").copy_object(
        Bucket=world.bucket, Key=key, CopySource={"Bucket": world.bucket, "Key": key}, MetadataDirective="REPLACE"
    )
    world.rt.drain()
    assert len(world.processed(key)) == 1 and world.outbound(mill) == written

    # The same ISA13 from the same sender in another file: refused, said so, TA1 025 and a rejecting 997.
    again = world.drop(mill, data, "855-resent.edi")
    (refused,) = world.processed(again)
    assert refused["status"] == "duplicate"
    assert "ISA13 000000008" in refused["reason"] and key in refused["reason"]
    assert [(s["outcome"], s["reason"]) for s in refused["sets"]] == [("duplicate", "its interchange is a duplicate")]
    note, rejecting = (world.outbound(mill)[k] for k in refused["acknowledgments"])
    assert ta1(note)[1:] == ["000000008", "201015", "1534", "R", "025"]
    assert _ak(rejecting, "AK5") == [["AK5", "R"]] and _ak(rejecting, "AK9") == [["AK9", "R", "1", "1", "0"]]
    handed_on = [e["data"]["acknowledgment_id"] for e in world.tap.events("purchase_order.acknowledged")]
    assert handed_on.count("x12-000000008-5-0005") == 1
    assert emf_totals(world.rt.logs("edi_inbound"))["EdiDuplicate"] == 1


def test_a_lying_se_count_and_a_lying_ge_count_are_refused_with_a_rejecting_997(world, mill):
    se_data, ge_data = _855("000000105"), _855("000000106")
    assert se_data.count(b"SE*26*0005") == 1 and ge_data.count(b"GE*1*5") == 1
    se_key = world.drop(mill, se_data.replace(b"SE*26*", b"SE*25*"), "855-lying-se.edi")
    ge_key = world.drop(mill, ge_data.replace(b"GE*1*5", b"GE*2*5"), "855-lying-ge.edi")

    (se,) = world.processed(se_key)
    (ge,) = world.processed(ge_key)
    assert se["status"] == ge["status"] == "rejected"
    (se_set,), (ge_set,) = se["sets"], ge["sets"]
    assert se_set["outcome"] == "rejected" and "SE01" in se_set["reason"] and "'25'" in se_set["reason"]
    assert ge_set["outcome"] == "rejected" and "GE01" in ge_set["reason"]
    se_ack, ge_ack = (world.outbound(mill)[done["acknowledgments"][0]] for done in (se, ge))
    assert _ak(se_ack, "AK5") == [["AK5", "R", "4"]] and _ak(se_ack, "AK9") == [["AK9", "R", "1", "1", "0"]]
    assert _ak(ge_ack, "AK9") == [["AK9", "R", "2", "1", "0", "5"]]
    handed_on = [e["data"]["acknowledgment_id"] for e in world.tap.events("purchase_order.acknowledged")]
    assert not [a for a in handed_on if a.startswith(("x12-000000105", "x12-000000106"))]


# ----------------------------------------------------------------------------------------------------- 856
def test_an_856_posted_to_the_webhook_becomes_a_ship_notice_due_after_the_profiles_transit_days(world, acme):
    client = world.trading_partner(
        "abc-edi",
        "supplier",
        [f"supplier:{acme.supplier_id}"],
        isa_qualifier="12",
        isa_id="4405197800",
        gs_id="4405197800",
        our_isa_qualifier="01",
        our_isa_id="999999999",
        our_gs_id="999999999",
        inbound_sets=["856"],
        transit_days=3,
    )
    create_po(world.rt, world.erp, "99999817", po_line(1, "SKU-1", 24), po_line(2, "SKU-2", 10))
    data = corpus("856_node-x12_856.edi")

    reply = client.request("POST", "/v1/edi/inbound", raw_body=data, headers={"Content-Type": "application/edi-x12"})
    assert reply.status == 202, reply.body
    body = reply.json()
    assert body["object_key"].startswith("inbound/abc-edi/") and body["object_key"].endswith(".x12")
    (ic,) = body["interchanges"]
    assert (ic["control_number"], ic["sender"], ic["groups"][0]["transactions"][0]["set_id"]) == (
        "000000049",
        {"qualifier": "12", "id": "4405197800"},
        "856",
    )
    world.rt.drain()

    (done,) = world.processed(body["object_key"])
    assert done["status"] == "accepted" and [s["reference"] for s in done["sets"]] == ["99999817"]
    (notice,) = [e["data"] for e in world.tap.events("ship_notice.received") if e["subject"].startswith("99999817")]
    assert notice["ship_notice"]["ship_notice_id"] == "829716"
    assert notice["ship_notice"]["eta"] == "2011-12-09"  # shipped 2011-12-06 (DTM 011) + 3 transit days
    lines = {x["line"]: x["shipped_quantity"] for x in world.erp.get("/v1/purchase-orders/99999817").json()["lines"]}
    assert lines == {1: 24, 2: 6}


def test_the_webhook_refuses_what_it_cannot_take(world, warehouse, mill):
    def stored() -> list[str]:
        listed = world.rt.clients("s3").list_objects_v2(Bucket=world.bucket, Prefix="inbound/").get("Contents", [])
        return [o["Key"] for o in listed]

    before = stored()
    x12 = {"Content-Type": "application/edi-x12"}
    no_profile = warehouse.request("POST", "/v1/edi/inbound", raw_body=corpus("850_node-x12_850.edi"), headers=x12)
    assert (no_profile.status, no_profile.json()["type"]) == (403, PROBLEM + "edi-profile-missing")
    client = world.clients[mill]
    as_json = client.request(
        "POST", "/v1/edi/inbound", raw_body=b'{"ISA": 1}', headers={"Content-Type": "application/json"}
    )
    assert (as_json.status, as_json.json()["type"]) == (415, PROBLEM + "unsupported-media-type")
    broken = corpus("850_EDI.Net_issue135_malformed-ISA16.edi")
    unreadable = client.request("POST", "/v1/edi/inbound", raw_body=broken, headers={"Content-Type": "text/plain"})
    assert (unreadable.status, unreadable.json()["type"]) == (400, PROBLEM + "edi-unreadable")
    assert "ISA16" in unreadable.json()["detail"]
    assert stored() == before  # nothing kept for any of them


# ----------------------------------------------------------------------------------------------------- 850
def test_a_customer_850_creates_an_order_and_its_flow_starts(world, warehouse):
    world.trading_partner(
        "xyz-retail",
        "customer",
        ["location:DC-EAST"],
        isa_qualifier="12",
        isa_id="4405197800",
        gs_id="4405197800",
        our_isa_qualifier="01",
        our_isa_id="999999999",
        our_gs_id="999999999",
        inbound_sets=["850"],
        default_location="DC-EAST",
    )
    counts = {"AB3542": 200, "RD5322": 300, "XY5266": 200, "VX2332": 100, "RV0524": 100, "DX1875": 1000}
    world.count_stock(warehouse, "DC-EAST", counts)

    key = world.drop("xyz-retail", corpus("850_node-x12_850.edi"), "PO-08292233294.edi")

    (done,) = world.processed(key)
    assert done["status"] == "accepted" and [s["reference"] for s in done["sets"]] == ["08292233294"]
    (created,) = [e for e in world.tap.events("order.created") if e["subject"] == "08292233294"]
    assert (created["source_partner"], created["correlation_id"]) == ("xyz-retail", "edi-xyz-retail-000003438")
    assert [line["sku"] for line in created["data"]["order"]["lines"]][:2] == ["AB3542", "RD5322"]
    record = wait_for_status(world.rt, "08292233294", "released")  # the order-to-ship flow runs it
    assert record.order.source_partner == "xyz-retail"


# ------------------------------------------------------------------------------------------------ 846
def test_an_846_applies_a_snapshot_of_the_3pls_counts(world, three_pl):
    key = world.drop(three_pl, sample("846_inventory_advice.edi"), "846_inventory_advice.edi")

    (done,) = world.processed(key)
    assert done["status"] == "accepted" and [s["reference"] for s in done["sets"]] == ["DC-EAST"]
    (snapshot,) = [
        e["data"]
        for e in world.tap.events("inventory.snapshot_received")
        if e["data"]["snapshot_id"] == "INV-20240315-EAST"
    ]
    assert {x["sku"]: x["on_hand"] for x in snapshot["lines"]} == {"SKU-1": 118, "SKU-2": 480, "012345678912": 0}
    position = world.erp.get("/v1/inventory/SKU-2", {"location": "DC-EAST"}).json()["positions"][0]
    assert position["on_hand"] == 480  # 40 cases of 12


# ------------------------------------------------------------------------------------------- 945 and 214
def test_a_945_completes_the_pick_of_a_released_order_and_a_214_adds_the_carriers_milestone(world, warehouse, three_pl):
    world.count_stock(warehouse, "DC-EAST", {"SKU-3": 10, "SKU-4": 4, "SKU-5": 2})
    order = {
        "order_id": "ORD-1001",
        "placed_at": datetime.now(UTC).isoformat(),
        "lines": [
            {"line": n, "sku": sku, "location": "DC-EAST", "quantity": q, "requested_date": "2030-01-01"}
            for n, (sku, q) in enumerate((("SKU-3", 10), ("SKU-4", 4), ("SKU-5", 2)), start=1)
        ],
    }
    assert world.erp.post("/v1/orders", order).status == 201
    wait_for_waiting(world.rt, "ORD-1001", "release")

    shipped = world.drop(three_pl, sample("945_shipping_advice.edi"), "945_shipping_advice.edi")
    (done,) = world.processed(shipped)
    assert done["status"] == "accepted" and [s["reference"] for s in done["sets"]] == ["ORD-1001"]
    record = wait_for_waiting(world.rt, "ORD-1001", "ship")
    assert record.status == "awaiting_dispatch"
    assert record.pick is not None and len(record.pick["packages"]) == 2

    tms = partner_client(world.rt, register_partner(world.rt, "tms", "tms", ["location:*"]))
    dispatch = {"carrier": "scac", "tracking_number": "1751807", "dispatched_at": datetime.now(UTC).isoformat()}
    assert tms.post("/v1/orders/ORD-1001/dispatch", dispatch).status == 202
    wait_for_waiting(world.rt, "ORD-1001", "track")
    world.trading_partner(
        "scac",
        "carrier",
        ["location:DC-EAST"],
        isa_qualifier="02",
        isa_id="SCAC",
        gs_id="SCAC",
        our_isa_id="MGCTLYST",
        our_gs_id="MGCTLYST",
        inbound_sets=["214"],
        test=True,
    )
    tracked = world.drop("scac", corpus("214_EDI.Net_x12.214.edi"), "214_EDI.Net_x12.214.edi")

    (milestone,) = world.processed(tracked)
    assert milestone["status"] == "accepted", milestone
    assert [(s["reference"], s["outcome"]) for s in milestone["sets"]] == [("1751807", "accepted")]
    after = flow_record(world.rt, "ORD-1001")
    assert "delivered" in [entry.milestone for entry in after.timeline]


# ----------------------------------------------------------------------------------------------------- 810
def test_an_810_is_kept_as_an_invoice_a_group_of_other_application_ids_is_ak9_r_7_8_and_a_business_refusal_is_listed(
    world, acme
):
    world.trading_partner(
        "snacks-edi",
        "supplier",
        [f"supplier:{acme.supplier_id}"],
        isa_qualifier="ZZ",
        isa_id="SENDERISA",
        gs_id="SENDERDEPT",
        our_isa_id="RECEIVERISA",
        our_gs_id="007326879",
        inbound_sets=["810"],
        test=True,
    )
    skus = ["002840022222", "002840033333", "002840044444", "002840055555", "002840066666", "002840077777"]
    lines = [po_line(n, sku, 1200) for n, sku in enumerate([*skus, "002840088888"], start=1)]
    create_po(world.rt, world.erp, "A99999-01", *lines)

    key = world.drop("snacks-edi", corpus("810+850_staedi_invoice810_po850_dual.edi"), "invoices.edi")

    (done,) = world.processed(key)
    assert done["status"] == "partially_accepted"
    outcomes = [(s["set_id"], s["group"], s["outcome"], s["reference"]) for s in done["sets"]]
    assert outcomes == [
        ("810", "1", "accepted", "A99999-01"),
        ("810", "1", "rejected", "A99999-04"),  # no such PO: a business refusal, not a 997 matter
        ("850", "165", "rejected", None),  # its group is from and to other applications (GS02/GS03)
    ]
    assert done["sets"][1]["reason"].startswith("unknown-purchase-order")
    gs02 = "GS02 (application sender) of group 165 is '9994935230'; the partner's profile says 'SENDERDEPT' (AK9 R 7)"
    assert done["sets"][2]["reason"].startswith(gs02) and "GS03 (application receiver)" in done["sets"][2]["reason"]
    assert done["reason"].startswith(gs02)
    (invoice,) = [e["data"]["invoice"] for e in world.tap.events("supplier_invoice.received")]
    assert (invoice["po_number"], invoice["invoice_id"]) == ("A99999-01", "00001")
    (ack,) = _acks(world, "snacks-edi", "997")
    assert _ak(ack, "AK1") == [["AK1", "IN", "1"], ["AK1", "PO", "165"]]
    assert _ak(ack, "AK5") == [["AK5", "A"], ["AK5", "A"], ["AK5", "A"]]  # the 850's own envelope is right
    assert _ak(ack, "AK9") == [["AK9", "A", "2", "2", "2"], ["AK9", "R", "1", "1", "0", "7", "8"]]


# ----------------------------------------------------------------------------------------------------- 997
def test_a_997_records_the_verdict_on_a_group_we_sent_and_gets_no_997_back(world):
    from shared.aws.edi_store import EdiStore

    world.supplier_on_edi(
        "beta-edi",
        {
            "local_id": "V-200",
            "portal_id": "beta-portal",
            "legal_name": "Beta Health Supply",
            "tax_id": "98-7654321",
            "address": {"line1": "1 Lab Street", "city": "Chicago", "postal_code": "60601", "country": "US"},
        },
        isa_qualifier="ZZ",
        isa_id="ReceiverID",
        gs_id="ReceiverDept",
        our_isa_id="Sender",
        our_gs_id="SenderDept",
        inbound_sets=["997"],
    )
    create_po(world.rt, world.erp, "PO-BETA-1", po_line(1, "SKU-1", 10), supplier="V-200")
    (sent,) = world.outbound("beta-edi")  # the 850 distrosync sent: its first group, GS06 1
    store = EdiStore(world.rt.outputs["EdiTableName"])
    assert store.group_sent("beta-edi", "1").status == "awaiting"

    key = world.drop("beta-edi", corpus("997_staedi_simple997.edi"), "997_staedi_simple997.edi")

    (done,) = world.processed(key)
    assert done["status"] == "accepted" and done["acknowledgments"] == []
    assert [(s["set_id"], s["reference"], s["outcome"]) for s in done["sets"]] == [("997", "000001", "accepted")]
    group = store.group_sent("beta-edi", "1")
    assert group.status == "rejected"  # AK9 R
    assert list(world.outbound("beta-edi")) == [sent]  # a 997 is never acknowledged


# --------------------------------------------------------------------------------------- refused for good
def test_files_the_gateway_refuses_for_good(world, three_pl):
    unknown = world.drop("nobody", corpus("855_node-x12_855.edi"), "855.edi")
    (refused,) = world.processed(unknown)
    assert (refused["status"], refused["reason"]) == ("rejected", "no partner 'nobody'")

    # Not the sender the profile names: TA1 R 006 (ISA06), nothing else.
    foreign = world.drop(three_pl, corpus("850_EdiEngine_850.OK.edi"), "850_EdiEngine_850.OK.edi")
    (done,) = world.processed(foreign)
    assert done["status"] == "rejected" and done["sets"] == []
    assert done["reason"] == "ISA06 (sender id) is 'ABCDEFGHIJKLMNO'; the partner's profile says 'ACME3PL' (TA1 006)"
    (note,) = _acks(world, three_pl, "TA1")
    assert ta1(note)[1:] == ["000003438", "101127", "1719", "R", "006"]
    assert [e for e in world.tap.events("order.created") if e["source_partner"] == three_pl] == []

    # A set that does not map: AK5 R 5, listed as not mapped with the mapping's reason.
    world.trading_partner(
        "jacob",
        "supplier",
        ["supplier:*"],
        isa_qualifier="ZZ",
        isa_id="ALEXANDRE0JACOB",
        gs_id="ALEXANDRE0JACOB",
        our_isa_id="ALEXANDRE0JACOB",
        our_gs_id="ALEXANDRE0JACOB",
        inbound_sets=["855"],
        test=True,
    )
    key = world.drop("jacob", corpus("855_staedi_multi-tx.edi"), "855_staedi_multi-tx.edi")
    (unmapped,) = world.processed(key)
    assert unmapped["status"] == "rejected"
    assert [s["outcome"] for s in unmapped["sets"]] == ["not_mapped", "not_mapped"]
    assert "PO1" in unmapped["sets"][0]["reason"]
    (ack,) = _acks(world, "jacob", "997")
    assert _ak(ack, "AK5") == [["AK5", "R", "5"], ["AK5", "R", "5"]]
    assert _ak(ack, "AK9") == [["AK9", "R", "2", "2", "0"]]


def test_a_message_that_is_not_an_s3_object_created_event_fails_alone(world):
    sqs = json.loads((CORPUS / "aws" / "powertools_sqsEvent.json").read_text())
    ec2 = (CORPUS / "aws" / "powertools_eventBridgeEvent.json").read_text()  # an EC2 state change, not S3
    first, second = sqs["Records"][:2]
    event = {"Records": [{**first, "body": ec2}, {**second, "body": "not json"}]}

    invocation = world.rt.invoke("edi_inbound", event)

    assert invocation.ok, invocation.error
    failed = [item["itemIdentifier"] for item in invocation.payload["batchItemFailures"]]
    assert failed == [first["messageId"], second["messageId"]]
    assert emf_totals(world.rt.logs("edi_inbound"))["Unprocessable"] == 2
