"""EDI outbound on the embedded runtime (docs/edi.md, "Gateway"): a PO created through the API becomes an 850 for
its supplier's trading partner, an order released by the order-to-ship flow a 940 for its warehouse's; each file
reads back right, a repeated event writes nothing and spends no control number, and the scheduled `edi_ack_overdue`
reports a group whose 997 did not come in time once (and not one that was acknowledged)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from purchasing_helpers import create_po, po_line

from cli.corpus import CORPUS
from cli.local_session import emf_totals
from shared.adapters.x12 import Party, read
from shared.adapters.x12.canonical import to_canonical
from shared.api.order_models import OrderRequest
from shared.aws.bus import publish
from shared.aws.clients import client as aws
from shared.aws.edi_files import EdiFiles
from shared.aws.edi_store import EdiStore
from shared.canonical.envelope import utcnow
from shared.canonical.parse import envelope_from_detail
from tests.flows.order_flow_fixtures import count_stock, place_order, wait_for_waiting

SQS_EVENT = json.loads((CORPUS / "aws" / "powertools_sqsEvent.json").read_text())
EVENTBRIDGE_EVENT = json.loads((CORPUS / "aws" / "powertools_eventBridgeEvent.json").read_text())


# ------------------------------------------------------------------------------------------------- helpers
def outbound_files(rt, partner: str) -> dict[str, str]:
    """Object key -> text of every file under outbound/<partner>/."""
    bucket = rt.outputs["EdiBucketName"]
    listed = aws("s3").list_objects_v2(Bucket=bucket, Prefix=f"outbound/{partner}/").get("Contents", [])
    return {o["Key"]: EdiFiles(bucket).get(o["Key"]).decode() for o in listed}


def edi_store(rt) -> EdiStore:
    return EdiStore(rt.outputs["EdiTableName"])


def set_profile(cli, partner: str, *options: str) -> dict[str, Any]:
    code, out, err = cli("edi", "partners", "set", partner, *options)
    assert code == 0, err
    return json.loads(out)["edi"]


def scheduled_event() -> dict[str, Any]:
    """An EventBridge scheduled event, as the rule's schedule sends it."""
    return {
        **EVENTBRIDGE_EVENT,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/distrosync-dev-edi-ack-overdue"],
        "detail": {},
    }


def sweep(rt) -> dict[str, Any]:
    invocation = rt.invoke("edi_ack_overdue", scheduled_event())
    assert invocation.ok, invocation.error
    return invocation.payload


def age(rt, partner: str, group_control_number: str, *, by: timedelta) -> None:
    """Time passes for a group sent: its 997 was due `by` earlier than recorded."""
    group = edi_store(rt).group_sent(partner, group_control_number)
    assert group is not None and group.due_at is not None
    due = (group.due_at - by).astimezone(UTC).isoformat(timespec="microseconds")
    aws("dynamodb").update_item(
        TableName=rt.outputs["EdiTableName"],
        Key={"pk": {"S": f"ACK#{partner}"}, "sk": {"S": group_control_number.zfill(9)}},
        UpdateExpression="SET ack_due_at = :due",
        ExpressionAttributeValues={":due": {"S": due}},
    )


# --------------------------------------------------------------------------------------------------- 850
def test_a_po_for_a_supplier_with_an_850_profile_becomes_an_850_once(rt, cli, erp_client, acme, captured_events):
    set_profile(cli, "acme-portal", "--isa", "01:123456789", "--gs", "ACMESUPPLY", "--outbound", "850")
    create_po(rt, erp_client, "PO-8501", po_line(1, "SKU-1", 120), po_line(2, "SKU-2", 40, unit_price="10"))

    files = outbound_files(rt, "acme-portal")
    assert list(files) == ["outbound/acme-portal/000000001-850.x12"]
    result = read(files["outbound/acme-portal/000000001-850.x12"].encode())
    assert result.errors == []
    [interchange] = result.interchanges
    assert interchange.sender == Party("ZZ", "DISTROSYNC") and interchange.receiver == Party("01", "123456789")
    assert interchange.control_number == "000000001"
    [group] = interchange.groups
    assert (group.functional_id, group.receiver, int(group.control_number)) == ("PO", "ACMESUPPLY", 1)
    assert [(t.set_id, int(t.control_number)) for t in group.transactions] == [("850", 1)]
    segments = group.transactions[0].segments
    assert segments[0][:4] == ["BEG", "00", "SA", "PO-8501"]
    assert ["REF", "IA", "V-100"] in segments and ["REF", "IL", "ERP-PO-8501"] in segments
    assert ["N1", "ST", "", "92", "DC-EAST"] in segments

    [mapped] = to_canonical(result, location="DC-EAST")
    assert isinstance(mapped.request, OrderRequest)
    [created] = captured_events("purchase_order.created")
    expected = [
        (line["line"], line["sku"], line["quantity"], "each", date.fromisoformat(line["requested_date"]))
        for line in created["data"]["purchase_order"]["lines"]
    ]
    got = [(x.line, x.sku, x.quantity, x.unit, x.requested_date) for x in mapped.request.lines]
    assert got == expected and [x.unit_price for x in mapped.request.lines] == ["4.25", "10"]

    # Recorded: the document the event became, and its group awaiting a 997 within the default 24 hours.
    document = edi_store(rt).document_sent("acme-portal", created["id"])
    assert document is not None and document.object_key == "outbound/acme-portal/000000001-850.x12"
    assert (document.set_id, document.reference, document.group_control_number) == ("850", "PO-8501", "000000001")
    awaiting = edi_store(rt).group_sent("acme-portal", "000000001")
    assert awaiting is not None and awaiting.status == "awaiting" and awaiting.references == ["PO-8501"]
    assert awaiting.due_at == awaiting.sent_at + timedelta(hours=24)
    assert awaiting.correlation_id == created["correlation_id"]

    # The same event again (a redelivery): no new file, no control number spent.
    publish([envelope_from_detail(created)], rt.outputs["EventBusName"])
    rt.drain()
    assert list(outbound_files(rt, "acme-portal")) == ["outbound/acme-portal/000000001-850.x12"]
    create_po(rt, erp_client, "PO-8502", po_line(1, "SKU-3", 6))
    files = outbound_files(rt, "acme-portal")
    assert sorted(files) == ["outbound/acme-portal/000000001-850.x12", "outbound/acme-portal/000000002-850.x12"]
    [second] = read(files["outbound/acme-portal/000000002-850.x12"].encode()).interchanges
    numbers = (second.control_number, second.groups[0].control_number, second.groups[0].transactions[0].control_number)
    assert numbers == ("000000002", "000000002", "0002")
    assert second.groups[0].transactions[0].segments[0][3] == "PO-8502"
    totals = emf_totals(rt.logs("edi_outbound"))
    assert totals["EdiDocumentSent"] == 2 and totals["EdiDocumentAlreadySent"] == 1


def test_pos_of_other_suppliers_and_partners_without_850_get_nothing(rt, cli, erp_client, acme):
    from purchasing_helpers import create_supplier

    create_supplier(rt, erp_client, local_id="V-200", portal_id="bolt-portal", legal_name="Bolt Fasteners GmbH",
                    tax_id="98-7654321")  # fmt: skip
    set_profile(cli, "acme-portal", "--isa", "ZZ:ACME", "--gs", "ACME", "--outbound", "850")
    set_profile(cli, "bolt-portal", "--isa", "ZZ:BOLT", "--gs", "BOLT", "--inbound", "855")
    create_po(rt, erp_client, "PO-8601", po_line(1, "SKU-1", 5), supplier="V-200")
    assert outbound_files(rt, "acme-portal") == {} and outbound_files(rt, "bolt-portal") == {}
    create_po(rt, erp_client, "PO-8602", po_line(1, "SKU-1", 5))
    assert list(outbound_files(rt, "acme-portal")) == ["outbound/acme-portal/000000001-850.x12"]


# ------------------------------------------------------------------------------------------- 997s overdue
def test_a_group_whose_997_is_overdue_is_reported_once_and_an_acknowledged_one_never(
    rt, cli, erp_client, acme, captured_events
):
    set_profile(cli, "acme-portal", "--isa", "ZZ:ACME", "--gs", "ACME", "--outbound", "850", "--ack-due-hours", "4")
    create_po(rt, erp_client, "PO-8701", po_line(1, "SKU-1", 10))
    create_po(rt, erp_client, "PO-8702", po_line(1, "SKU-2", 10))
    create_po(rt, erp_client, "PO-8703", po_line(1, "SKU-3", 10))  # still within its 4 hours
    assert sweep(rt)["overdue"] == 0

    answered = edi_store(rt).record_ack("acme-portal", "2", "accepted", received_at=utcnow())  # PO-8702's 997
    assert answered is not None and answered.references == ["PO-8702"]
    age(rt, "acme-portal", "000000001", by=timedelta(hours=5))
    age(rt, "acme-portal", "000000002", by=timedelta(hours=5))

    report = sweep(rt)
    assert (report["overdue"], report["skipped"], report["complete"]) == (1, 0, True)
    [overdue] = captured_events("edi.ack_overdue")
    data = overdue["data"]
    assert (data["partner_id"], data["functional_id"], data["group_control_number"]) == (
        "acme-portal",
        "PO",
        "000000001",
    )
    assert data["interchange_control_number"] == "000000001" and data["set_ids"] == ["850"]
    assert data["references"] == ["PO-8701"] and data["ack_due_hours"] == 4
    assert datetime.fromisoformat(data["due_at"]) == datetime.fromisoformat(data["sent_at"]) + timedelta(hours=4 - 5)
    created = {e["data"]["purchase_order"]["po_number"]: e for e in captured_events("purchase_order.created")}
    assert overdue["correlation_id"] == created["PO-8701"]["correlation_id"]

    assert sweep(rt)["overdue"] == 0
    assert len(captured_events("edi.ack_overdue")) == 1
    assert edi_store(rt).group_sent("acme-portal", "1").status == "overdue"  # type: ignore[union-attr]
    # A 997 that comes late still records its verdict.
    assert edi_store(rt).record_ack("acme-portal", "1", "accepted", received_at=utcnow()) is not None


# --------------------------------------------------------------------------------------------------- 940
@pytest.mark.order_flow
def test_an_order_released_at_a_location_whose_warehouse_has_a_940_profile_becomes_a_940(
    rt, cli, catalog, client, erp_client, captured_events
):
    set_profile(cli, "wh-east", "--isa", "ZZ:WHEAST3PL", "--gs", "WHEAST", "--outbound", "940", "--no-line-break")
    count_stock(rt, client, "SKU-4", 30)
    ship_to = {"name": "Ann Lee", "address1": "1 Pier Road", "city": "Salem", "region": "MA", "postal_code": "01970",
               "country": "US"}  # fmt: skip
    place_order(erp_client, "SO-9401", ("SKU-4", 3), ("SKU-4", 2), ship_to=ship_to, customer_ref="CUST-PO-77")
    wait_for_waiting(rt, "SO-9401", "release")
    rt.drain()

    files = outbound_files(rt, "wh-east")
    assert list(files) == ["outbound/wh-east/000000001-940.x12"]
    text = files["outbound/wh-east/000000001-940.x12"]
    assert "\n" not in text
    result = read(text.encode())
    assert result.errors == []
    [interchange] = result.interchanges
    assert interchange.receiver == Party("ZZ", "WHEAST3PL") and interchange.groups[0].functional_id == "OW"
    segments = interchange.groups[0].transactions[0].segments
    today = utcnow().strftime("%Y%m%d")
    assert segments == [
        ["W05", "N", "SO-9401", "CUST-PO-77"],
        ["N1", "ST", "Ann Lee"],
        ["N3", "1 Pier Road"],
        ["N4", "Salem", "MA", "01970", "US"],
        ["N1", "SF", "", "91", "DC-EAST"],
        ["G62", "10", today],
        ["LX", "1"],
        ["W01", "3", "EA", "", "VN", "SKU-4"],
        ["LX", "2"],
        ["W01", "2", "EA", "", "VN", "SKU-4"],
        ["W76", "5"],
    ]
    [released] = captured_events("order.released")
    document = edi_store(rt).document_sent("wh-east", released["id"])
    assert document is not None and document.object_key == "outbound/wh-east/000000001-940.x12"
    assert (document.set_id, document.reference) == ("940", "SO-9401")
    group = edi_store(rt).group_sent("wh-east", "1")
    assert group is not None and group.functional_id == "OW" and group.correlation_id == released["correlation_id"]


# ------------------------------------------------------------------------------------------------ handler
def test_unreadable_messages_fail_alone_in_their_batch(rt, cli, erp_client, acme, captured_events):
    set_profile(cli, "acme-portal", "--isa", "ZZ:ACME", "--gs", "ACME", "--outbound", "850")
    create_po(rt, erp_client, "PO-8801", po_line(1, "SKU-1", 3))
    [created] = captured_events("purchase_order.created")
    valid = {
        **SQS_EVENT["Records"][0],
        "messageId": "valid-1",
        "body": json.dumps({**EVENTBRIDGE_EVENT, "detail": created}),
    }
    batch = {"Records": [*SQS_EVENT["Records"], valid]}  # the corpus's two bodies are no EventBridge events

    invocation = rt.invoke("edi_outbound", batch)
    assert invocation.ok, invocation.error
    failed = [f["itemIdentifier"] for f in invocation.payload["batchItemFailures"]]
    assert failed == [r["messageId"] for r in SQS_EVENT["Records"]]
    # the valid one (a redelivery of the PO's event) is served already: nothing written again
    assert list(outbound_files(rt, "acme-portal")) == ["outbound/acme-portal/000000001-850.x12"]
    assert emf_totals(rt.logs("edi_outbound"))["Unprocessable"] == 2


def test_a_po_the_profile_cannot_carry_is_refused_without_spending_control_numbers(rt, cli, erp_client, acme):
    set_profile(cli, "acme-portal", "--isa", "ZZ:ACME", "--gs", "ACME", "--outbound", "850")
    create_po(rt, erp_client, "PO-2026-0000000000000000001", po_line(1, "SKU-1", 3))  # BEG03 holds 22 characters
    assert outbound_files(rt, "acme-portal") == {}
    assert emf_totals(rt.logs("edi_outbound"))["EdiDocumentRefused"] == 1
    assert any("BEG03 'PO-2026-0000000000000000001' does not fit its 22 characters" in line
               for line in rt.logs("edi_outbound"))  # fmt: skip
    create_po(rt, erp_client, "PO-8901", po_line(1, "SKU-1", 3))
    assert list(outbound_files(rt, "acme-portal")) == ["outbound/acme-portal/000000001-850.x12"]


def test_a_copy_that_loses_the_race_withdraws_its_file(rt, cli, erp_client, acme, captured_events, monkeypatch):
    """Two copies of one message delivered at once both find nothing recorded; the one recorded second deletes the
    file it wrote, so that the partner finds one 850."""
    from shared.services.edi.outbound import EdiOutbound
    from shared.settings import EdiOutboundSettings

    set_profile(cli, "acme-portal", "--isa", "ZZ:ACME", "--gs", "ACME", "--outbound", "850")
    create_po(rt, erp_client, "PO-9001", po_line(1, "SKU-1", 3))
    [created] = captured_events("purchase_order.created")
    settings = EdiOutboundSettings(
        rt.outputs["PartnersTableName"], rt.outputs["EdiTableName"], rt.outputs["EdiBucketName"], "unused"
    )
    concurrent = EdiOutbound.from_settings(settings)
    recorded = concurrent.store.document_sent
    calls: list[str] = []

    def not_yet(partner: str, event_id: str) -> Any:  # the first look came before the other copy recorded its file
        calls.append(event_id)
        return None if len(calls) == 1 else recorded(partner, event_id)

    monkeypatch.setattr(concurrent.store, "document_sent", not_yet)

    assert concurrent.deliver(envelope_from_detail(created)) == []
    assert len(calls) == 2  # its own look, then record_sent's after the conditional write failed
    assert list(outbound_files(rt, "acme-portal")) == ["outbound/acme-portal/000000001-850.x12"]
    versions = aws("s3").list_object_versions(Bucket=rt.outputs["EdiBucketName"], Prefix="outbound/acme-portal/")
    withdrawn = [m["Key"] for m in versions.get("DeleteMarkers", [])]
    assert withdrawn == ["outbound/acme-portal/000000002-850.x12"]  # written with its own numbers, then deleted
    document = edi_store(rt).document_sent("acme-portal", created["id"])
    assert document is not None and document.interchange_control_number == "000000001"
