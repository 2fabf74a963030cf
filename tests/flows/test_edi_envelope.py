"""Envelope checks and acknowledgments on the embedded runtime (docs/edi.md, "Gateway"): files dropped under
`inbound/<partner>/` reach the real `edi_inbound`; a group whose GS02/GS03 is not the profile's is rejected whole
(997 AK9 R 7/8, nothing handed on, the reason in `edi.interchange_processed`); an IEA that lies gets a TA1 E beside
the 997 and its sets go on; a missing IEA gets a TA1 R 023 only, and the interchange sent again whole is taken; a
5010 supplier's 999 for our 850s moves each group from awaiting to accepted or rejected.

The corpus 855 (its supplier's ids in the profile) with edited trailers, and events/x12/999_implementation_ack.edi.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.flows.edi_fixtures import EdiWorld, corpus, sample, segments, start_world, ta1
from tests.flows.purchasing_helpers import create_po, create_supplier, po_line

MILL = "mill-edi"


@pytest.fixture(scope="module")
def world(request, dev_template_path):
    yield from start_world(request, dev_template_path)


@pytest.fixture(scope="module")
def mill(world):
    """The supplier of 855_node-x12_855.edi (ISA and GS ids as the file has them) and the PO it acknowledges."""
    acme = create_supplier(world.rt, world.erp)
    world.trading_partner(
        MILL,
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
    return MILL


def _855(isa13: str) -> bytes:
    """The corpus 855 resent as ISA13 `isa13` (ISA13 and IEA02), its 2004 delivery dates a month ahead."""
    ahead = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y%m%d").encode()
    data = corpus("855_node-x12_855.edi")
    assert data.count(b"000000005") == 2 and data.count(b"20041231") == 3
    return data.replace(b"000000005", isa13.encode()).replace(b"20041231", ahead)


def _files(world: EdiWorld, done: dict) -> dict[str, str]:
    """The acknowledgments an interchange's event names, by kind (997, TA1)."""
    written = world.outbound(done["object_key"].split("/")[1])
    return {key.rsplit("-", 1)[1].removesuffix(".x12"): written[key] for key in done["acknowledgments"]}


def _ak(text: str, segment: str) -> list[list[str]]:
    return [s for s in segments(text) if s[0] == segment]


def _acknowledged(world: EdiWorld, isa13: str) -> list[str]:
    """The 855s of interchange `isa13` handed on to purchasing (their acknowledgment ids)."""
    ids = [e["data"]["acknowledgment_id"] for e in world.tap.events("purchase_order.acknowledged")]
    return [i for i in ids if i.startswith(f"x12-{isa13}-")]


# ----------------------------------------------------------------------------------------------- GS02/GS03
@pytest.mark.parametrize(
    ("isa13", "gs", "code", "element"),
    [
        ("000000201", b"GS*PR*1556199*123MILL*", "7", "GS02 (application sender) of group 5 is '1556199'"),
        ("000000202", b"GS*PR*1556150*OTHERAPP*", "8", "GS03 (application receiver) of group 5 is 'OTHERAPP'"),
    ],
)
def test_a_group_not_from_the_profiles_application_is_rejected_whole(world, mill, isa13, gs, code, element):
    data = _855(isa13)
    assert data.count(b"GS*PR*1556150*123MILL*") == 1
    key = world.drop(mill, data.replace(b"GS*PR*1556150*123MILL*", gs), f"855-gs-{code}.edi")

    (done,) = world.processed(key)
    assert done["status"] == "rejected"
    assert done["reason"].startswith(element) and done["reason"].endswith(f"(AK9 R {code})")
    ((one,),) = [done["sets"]]
    assert (one["set_id"], one["outcome"]) == ("855", "rejected") and one["reason"].startswith(element)
    files = _files(world, done)
    assert list(files) == ["997"]
    assert _ak(files["997"], "AK9") == [["AK9", "R", "1", "1", "0", code]]
    assert _acknowledged(world, isa13) == []  # nothing handed on


# ------------------------------------------------------------------------------------------------------ IEA
@pytest.mark.parametrize(
    ("isa13", "old", "new", "note", "said"),
    [
        ("000000211", b"IEA*1*000000211", b"IEA*2*000000211", "021", "IEA01"),
        ("000000212", b"IEA*1*000000212", b"IEA*1*000000999", "001", "IEA02"),
    ],
)
def test_an_iea_that_lies_gets_a_ta1_e_beside_the_997_and_its_sets_go_on(world, mill, isa13, old, new, note, said):
    data = _855(isa13)
    assert data.count(old) == 1
    key = world.drop(mill, data.replace(old, new), f"855-iea-{note}.edi")

    (done,) = world.processed(key)
    assert done["status"] == "accepted" and [s["outcome"] for s in done["sets"]] == ["accepted"]
    assert said in done["reason"] and done["reason"].endswith(f"(TA1 E {note})")
    files = _files(world, done)
    assert sorted(files) == ["997", "TA1"]
    assert ta1(files["TA1"])[1:] == [isa13, "201015", "1534", "E", note]
    assert _ak(files["997"], "AK9") == [["AK9", "A", "1", "1", "1"]]
    assert _acknowledged(world, isa13) == [f"x12-{isa13}-5-0005"]


def test_a_missing_iea_gets_a_ta1_r_023_only_and_the_interchange_sent_again_whole_is_taken(world, mill):
    whole = _855("000000221")
    cut = whole[: whole.index(b"IEA*")]
    key = world.drop(mill, cut, "855-cut.edi")

    (done,) = world.processed(key)
    assert (done["status"], done["sets"]) == ("rejected", [])
    assert (
        done["reason"]
        == "interchange 000000221 has no IEA: the data ends (TA1 R 023: send the interchange again whole)"
    )
    files = _files(world, done)
    assert list(files) == ["TA1"]  # no 997: nothing of it was taken
    assert ta1(files["TA1"])[1:] == ["000000221", "201015", "1534", "R", "023"]
    assert _acknowledged(world, "000000221") == []

    # Not claimed: the same ISA13 complete, in another file, is no duplicate.
    again = world.drop(mill, whole, "855-whole.edi")
    (taken,) = world.processed(again)
    assert taken["status"] == "accepted" and taken["reason"] is None
    assert list(_files(world, taken)) == ["997"]
    assert _acknowledged(world, "000000221") == ["x12-000000221-5-0005"]


# ------------------------------------------------------------------------------------------------------ 999
def test_a_999_for_our_850s_records_each_groups_verdict_and_gets_no_ack_back(world):
    from shared.aws.edi_store import EdiStore

    world.supplier_on_edi(
        "gamma-5010",
        {
            "local_id": "V-300",
            "portal_id": "gamma-portal",
            "legal_name": "Gamma Medical Supply",
            "tax_id": "55-1234567",
            "address": {"line1": "3 Dock Street", "city": "Newark", "postal_code": "07102", "country": "US"},
        },
        isa_qualifier="ZZ",
        isa_id="GAMMA5010",
        gs_id="GAMMA5010",
        version="00501",
        gs_version="005010",
        inbound_sets=["997"],  # a 999 is taken wherever a 997 is
    )
    create_po(world.rt, world.erp, "PO-GAMMA-1", po_line(1, "SKU-1", 10), supplier="V-300")
    create_po(world.rt, world.erp, "PO-GAMMA-2", po_line(1, "SKU-2", 5), supplier="V-300")
    sent = sorted(world.outbound("gamma-5010"))
    assert len(sent) == 2  # two 850s: groups GS06 1 and 2
    store = EdiStore(world.rt.outputs["EdiTableName"])
    assert [store.group_sent("gamma-5010", n).status for n in ("1", "2")] == ["awaiting", "awaiting"]

    key = world.drop("gamma-5010", sample("999_implementation_ack.edi"), "999_implementation_ack.edi")

    (done,) = world.processed(key)
    assert done["status"] == "accepted" and done["acknowledgments"] == []
    assert [(s["set_id"], s["reference"], s["outcome"]) for s in done["sets"]] == [
        ("999", "1", "accepted"),
        ("999", "2", "accepted"),
    ]
    first, second = store.group_sent("gamma-5010", "1"), store.group_sent("gamma-5010", "2")
    assert (first.status, second.status) == ("accepted", "rejected")
    items = world.rt.clients("dynamodb").query(
        TableName=world.rt.outputs["EdiTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "ACK#gamma-5010"}},
    )["Items"]
    details = {i["group_control_number"]["S"].lstrip("0"): i["ack_detail"]["S"] for i in items}
    assert details["1"] == "AK9 A"
    assert details["2"].startswith("AK9 R; 850 0001: IK5 R (I5); segment PO1 at position 8")
    assert sorted(world.outbound("gamma-5010")) == sent  # an acknowledgment is never acknowledged


# ------------------------------------------------------------------------------------------- set not listed
def test_a_set_the_profile_does_not_list_is_ak5_r_1_and_not_handed_on(world):
    world.trading_partner(
        "east-3pl",
        "warehouse",
        ["location:DC-EAST"],
        isa_qualifier="ZZ",
        isa_id="ACME3PL",
        gs_id="ACME3PL",
        inbound_sets=["945"],  # not 846
        default_location="DC-EAST",
    )
    key = world.drop("east-3pl", sample("846_inventory_advice.edi"), "846_inventory_advice.edi")

    (done,) = world.processed(key)
    assert done["status"] == "rejected" and done["reason"] is None
    ((one,),) = [done["sets"]]
    assert (one["set_id"], one["outcome"]) == ("846", "rejected")
    assert one["reason"] == "transaction set 846 is not in the partner's profile (inbound sets: 945)"
    files = _files(world, done)
    assert _ak(files["997"], "AK5") == [["AK5", "R", "1"]] and _ak(files["997"], "AK9") == [["AK9", "R", "1", "1", "0"]]
    assert world.tap.events("inventory.snapshot_received") == []
