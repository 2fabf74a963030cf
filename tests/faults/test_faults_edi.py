"""Faults in inbound EDI: a 3PL's 846 inventory advice dropped under inbound/ (S3 -> EventBridge -> SQS ->
edi_inbound), its snapshot projected, its 997 written back, with faults at every AWS call site of the flow."""

from __future__ import annotations

from typing import Any

import pytest

from shared.services.partner_admin import PartnerAdmin, StackResources
from tests.faults.harness import (
    assert_permanent_failures_told,
    assert_same_end_state,
    dead_letters,
    faulted,
    normalized,
    site_groups,
)
from tests.faults.world import World, start_world
from tests.flows.edi_fixtures import sample

OTHER_DCS = ("WEST", "NRTH", "SOTH")  # a DC per faulted run: EAST's width, so that the ISA keeps its length
ADVICE = sample("846_inventory_advice.edi")  # ACME3PL's counts for DC-EAST, snapshot INV-20240315-EAST


@pytest.fixture(scope="module")
def world(request, dev_template_path):
    yield from start_world(request, dev_template_path, items=("SKU-1", "SKU-2", "AB3542", "012345678912"))


def three_pl(world: World, partner_id: str, isa_id: str, location: str) -> str:
    world.partner(partner_id, "warehouse", [f"location:{location}"])
    profile = {
        "isa_qualifier": "ZZ",
        "isa_id": isa_id,
        "gs_id": isa_id,
        "inbound_sets": ["846", "945"],
        "default_location": location,
    }
    PartnerAdmin(StackResources.from_outputs(world.rt.outputs)).set_edi(partner_id, profile)
    return partner_id


def advise(world: World, partner_id: str, data: bytes, location: str) -> dict[str, Any]:
    """Drop the file as an SFTP upload would, let the queues run; returns the end state."""
    key = f"inbound/{partner_id}/846.edi"
    world.rt.clients("s3").put_object(Bucket=world.rt.outputs["EdiBucketName"], Key=key, Body=data)
    report = world.rt.drain(timeout=90)
    assert report.drained, report
    processed = [
        {**e["data"], "acknowledgments": len(e["data"].get("acknowledgments") or [])}  # file names have a random part
        for e in world.tap.events("edi.interchange_processed")
        if e["data"]["object_key"] == key
    ]
    snapshots = {
        e["id"]: e["data"] for e in world.tap.events("inventory.snapshot_received") if e["data"]["location"] == location
    }
    positions = {}
    for sku in ("SKU-1", "SKU-2"):
        reply = world.erp.get(f"/v1/inventory/{sku}", {"location": location})
        assert reply.status in (200, 404), reply.body
        positions[sku] = reply.json()["positions"] if reply.status == 200 else []
    s3 = world.rt.clients("s3")
    written = s3.list_objects_v2(Bucket=world.rt.outputs["EdiBucketName"], Prefix=f"outbound/{partner_id}/")
    return {
        "processed": processed,  # once, accepted
        "snapshots": list(snapshots.values()),  # one snapshot event (by id)
        "positions": positions,
        "acknowledgments": len(written.get("Contents", [])),  # one 997
    }


def test_an_846_under_faults_is_processed_once(world, injector):
    east = three_pl(world, "acme-3pl", "ACME3PL", "DC-EAST")
    with injector.recording() as calls:
        expected = advise(world, east, ADVICE, "DC-EAST")
    (done,) = expected["processed"]
    assert done["status"] == "accepted" and expected["acknowledgments"] == 1
    assert expected["positions"]["SKU-2"][0]["on_hand"] == 480

    groups = site_groups(sorted(calls))
    assert len(groups) <= len(OTHER_DCS)
    injected = 0
    for n, (group, code) in enumerate(zip(groups, OTHER_DCS, strict=False)):
        location, isa_id = f"DC-{code}", f"ACME3P{code[0]}"  # same widths: the ISA stays fixed-length
        reply = world.erp.put(f"/v1/locations/{location}", {"name": location, "sequence": 1})
        assert reply.status == 200, reply.body
        partner = three_pl(world, f"{code.lower()}-3pl", isa_id, location)
        data = ADVICE.replace(b"ACME3PL", isa_id.encode()).replace(b"EAST", code.encode())
        with faulted(injector, group, seed=43 + n) as faults:
            got = advise(world, partner, data, location)
        injected += faults.total
        assert_permanent_failures_told(dead_letters(world.rt))
        renames = {code: "EAST", f"{code.lower()}-3pl": "acme-3pl", isa_id: "ACME3PL"}
        assert_same_end_state(normalized(got, renames), normalized(expected))
    assert injected >= len(calls) // 2
