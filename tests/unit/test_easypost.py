"""The EasyPost adapter on EasyPost's own payloads (the corpus files, as they are): signature and tracker reading."""

import json
from datetime import UTC, date, datetime

import pytest

from cli.corpus import CORPUS
from shared.adapters import PayloadError, easypost

EVENT = (CORPUS / "carriers" / "easypost_event_tracker_updated.event-body.json").read_bytes()
TRACKER = (CORPUS / "carriers" / "easypost_tracker.trackers-retrieve.json").read_bytes()
# The secret EasyPost's client libraries test with: its "é" is normalized to NFKD ("e" + U+0301) before use.
SECRET_COMPOSED = "s\u00e9cret"
SECRET_DECOMPOSED = "se\u0301cret"
# HMAC-SHA256 of the event file's bytes with the NFKD secret, computed independently with
# `openssl dgst -sha256 -hmac "$(printf 'se\xcc\x81cret')" easypost_event_tracker_updated.event-body.json`.
EVENT_SIGNATURE = "hmac-sha256-hex=044558adfe9c4781bc7c72cd65c57c7185673ac9c03669d3a493caafaff2ef44"


def test_signature_is_the_hex_hmac_of_the_raw_body_with_the_nfkd_secret():
    assert easypost.signature(SECRET_COMPOSED, EVENT) == EVENT_SIGNATURE
    assert easypost.signature(SECRET_DECOMPOSED, EVENT) == EVENT_SIGNATURE
    assert easypost.verify(SECRET_COMPOSED, {"x-hmac-signature": EVENT_SIGNATURE}, EVENT)


@pytest.mark.parametrize(
    ("secret", "headers", "body"),
    [
        ("another-secret", {"x-hmac-signature": EVENT_SIGNATURE}, EVENT),
        (SECRET_COMPOSED, {"x-hmac-signature": EVENT_SIGNATURE}, EVENT.replace(b"FedEx", b"FedEX")),
        (SECRET_COMPOSED, {"x-hmac-signature": EVENT_SIGNATURE.removeprefix("hmac-sha256-hex=")}, EVENT),
        (SECRET_COMPOSED, {}, EVENT),
        ("", {"x-hmac-signature": EVENT_SIGNATURE}, EVENT),
    ],
    ids=["wrong-secret", "body-changed", "no-scheme", "no-header", "no-secret"],
)
def test_verify_refuses_anything_else(secret, headers, body):
    assert not easypost.verify(secret, headers, body)


def test_tracker_updated_event_reads_every_scan_in_time_order_and_the_local_estimate():
    report = easypost.read(EVENT)
    assert report is not None
    assert (report.carrier, report.tracking_number, report.status) == ("FedEx", "1", "in_transit")
    assert report.delivery_id == "evt_1"
    assert report.estimated_delivery == date(2024, 8, 5)
    assert report.reported_at == datetime(2024, 8, 2, 19, 26, 51, tzinfo=UTC)
    assert [s.status for s in report.scans] == ["pre_transit"] + ["in_transit"] * 6
    assert [s.at for s in report.scans] == sorted(s.at for s in report.scans)
    first, last = report.scans[0], report.scans[-1]
    assert (first.at, first.detail, first.where) == (datetime(2024, 7, 31, 15, 0, tzinfo=UTC), "label_created", "US")
    assert (last.detail, last.where) == ("arrived_at_facility", "EDISON, NJ, US")


def test_a_bare_tracker_is_read_too():
    report = easypost.read(TRACKER)
    assert report is not None
    assert (report.carrier, report.tracking_number, report.status) == ("USPS", "EZ1000000001", "pre_transit")
    assert report.delivery_id is None
    assert report.estimated_delivery == date(2025, 5, 9)  # est_delivery_date: no local date given
    assert [(s.status, s.where) for s in report.scans] == [("pre_transit", None), ("pre_transit", "HOUSTON, TX")]


def test_the_current_status_without_a_detail_of_its_own_is_a_scan_at_updated_at():
    tracker = json.loads(TRACKER)
    tracker["status"], tracker["status_detail"] = "out_for_delivery", "out_for_delivery"
    report = easypost.read(json.dumps(tracker).encode())
    assert report is not None
    assert report.scans[-1].status == "out_for_delivery"
    assert report.scans[-1].at == datetime(2025, 5, 9, 20, 40, 17, tzinfo=UTC)


def test_events_about_other_objects_are_not_tracking_updates():
    event = json.loads(EVENT)
    event["description"], event["result"] = "batch.created", {"object": "Batch", "id": "batch_1"}
    assert easypost.read(json.dumps(event).encode()) is None


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"object": "Shipment"}',
        b'{"object": "Event", "description": "tracker.updated", "result": {"object": "Batch"}}',
        json.dumps({**json.loads(TRACKER), "tracking_code": None}).encode(),
        json.dumps(
            {**json.loads(TRACKER), "tracking_details": [{"status": "in_transit", "datetime": "soon"}]}
        ).encode(),
        json.dumps({**json.loads(TRACKER), "updated_at": "2025-05-09T20:40:17"}).encode(),
    ],
    ids=["not-an-object", "not-a-tracker", "event-without-tracker", "no-tracking-code", "bad-datetime", "naive-time"],
)
def test_malformed_payloads_are_refused_with_the_reason(body):
    with pytest.raises(PayloadError):
        easypost.read(body)
