"""Claim check (ADR 0016): which entries go as a pointer, what the pointer says, and how a consumer resolves it."""

import hashlib
import json
from datetime import UTC, date, datetime

import boto3
import pytest
from moto import mock_aws

from shared.aws import bus
from shared.aws.claim_check import envelope_from_eventbridge
from shared.canonical.envelope import Envelope
from shared.canonical.inventory import InventorySupplyChanged, SupplyLine
from shared.canonical.parse import ClaimCheckMismatch, UnresolvedClaimCheck
from shared.canonical.parse import envelope_from_eventbridge as parse_only


def envelope(lines: int = 1) -> Envelope[InventorySupplyChanged]:
    """A supply change with `lines` incoming lines (about 80 bytes each)."""
    incoming = [
        SupplyLine(reference=f"PO-{n}/1", kind="on_order", quantity=n, expected_date=date(2026, 2, 1))
        for n in range(lines)
    ]
    data = InventorySupplyChanged(sku="SKU-1", location="DC", available=0, incoming=incoming, version=1)
    return Envelope[InventorySupplyChanged].wrap(data, source_partner="p", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))


OVER_THE_LIMIT = 4000  # lines: about 330 KB


def test_only_entries_over_the_limit_become_pointers():
    small, large = envelope(), envelope(OVER_THE_LIMIT)
    assert bus.entry_size(bus.to_entry(large, "bus")) > bus.MAX_ENTRY_BYTES
    entries, claims = bus.entries_for([small, large], "bus", claim_check_bucket="claims-bucket")
    assert json.loads(entries[0]["Detail"]) == small.to_detail()
    (claim,) = claims
    pointer = json.loads(entries[1]["Detail"])
    assert pointer == claim.pointer
    assert {k: pointer[k] for k in ("id", "type", "subject", "correlation_id")} == {
        "id": large.id,
        "type": large.type,
        "subject": large.subject,
        "correlation_id": large.correlation_id,
    }
    assert pointer["claim_check"] == {
        "bucket": "claims-bucket",
        "key": f"claims/{large.id}.json",
        "sha256": hashlib.sha256(claim.body).hexdigest(),
    }
    assert json.loads(claim.body) == large.to_detail()
    assert (entries[1]["Source"], entries[1]["DetailType"]) == (large.eventbridge_source, large.detail_type)
    assert bus.entry_size(entries[1]) < 1024
    assert [len(b) for b in bus.batches(entries)] == [2]


def test_an_oversized_event_without_a_bucket_is_refused():
    with pytest.raises(ValueError, match="CLAIM_CHECK_BUCKET"):
        bus.entries_for([envelope(OVER_THE_LIMIT)], "bus", claim_check_bucket=None)


@pytest.fixture
def s3_bucket(monkeypatch):
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="claims-bucket")
        monkeypatch.setenv(bus.CLAIM_CHECK_ENV, "claims-bucket")
        yield boto3.client("s3", region_name="us-east-1")


def test_a_published_claim_is_resolved_whole_and_checked(s3_bucket, monkeypatch):
    sent: list[dict] = []

    class Events:
        def put_events(self, Entries):
            sent.extend(Entries)
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"} for _ in Entries]}

    real_client = bus.client
    monkeypatch.setattr(bus, "client", lambda name: Events() if name == "events" else real_client(name))
    large = envelope(OVER_THE_LIMIT)
    bus.publish([large], "bus")
    (entry,) = sent
    event = {"detail-type": entry["DetailType"], "source": entry["Source"], "detail": json.loads(entry["Detail"])}
    assert envelope_from_eventbridge(json.dumps(event)) == large

    key = f"claims/{large.id}.json"
    s3_bucket.put_object(Bucket="claims-bucket", Key=key, Body=b'{"tampered": true}')
    with pytest.raises(ClaimCheckMismatch, match="sha256"):
        envelope_from_eventbridge(event)
    with pytest.raises(UnresolvedClaimCheck):  # the canonical package alone reaches no S3
        parse_only(event)
