import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.canonical.envelope import Envelope
from shared.canonical.inventory import InventoryAdjusted
from shared.canonical.parse import UnknownEventType, envelope_from_eventbridge
from shared.domain.scopes import allows, parse_scope
from shared.http.signing import sign, signature_matches


def test_envelope_derives_type_subject_and_eventbridge_fields():
    data = InventoryAdjusted(sku="SKU-1", location="DC-EAST", delta=-2, reason="pick", sequence=7)
    env = Envelope[InventoryAdjusted].wrap(data, source_partner="wh-east", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert env.type == "inventory.adjusted" and env.schema_version == "1.1"
    assert env.subject == "SKU-1@DC-EAST"
    assert env.eventbridge_source == "distrosync.inventory" and env.detail_type == "inventory.adjusted"
    assert env.correlation_id == env.id  # a flow that starts here is its own correlation
    round_trip = envelope_from_eventbridge({"detail": env.to_detail()})
    assert round_trip == env


def test_envelope_rejects_naive_timestamps_and_unknown_types():
    data = InventoryAdjusted(sku="SKU-1", location="DC-EAST", delta=1, reason="pick", sequence=1)
    with pytest.raises(ValidationError, match="time zone"):
        Envelope[InventoryAdjusted].wrap(data, source_partner="p", occurred_at=datetime(2026, 1, 1))
    with pytest.raises(UnknownEventType):
        envelope_from_eventbridge({"detail": {"type": "nope.nothing"}})


def test_signature_is_hmac_of_timestamp_dot_body():
    body = b'{"a":1}'
    expected = "sha256=" + hmac.new(b"secret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("secret", 1700000000, body) == expected
    assert signature_matches("secret", "1700000000", body, expected)
    assert not signature_matches("secret", "1700000001", body, expected)
    assert not signature_matches("other", "1700000000", body, expected)


def test_scopes():
    assert parse_scope("location:DC-EAST") == ("location", "DC-EAST")
    with pytest.raises(ValueError, match="scope kind"):
        parse_scope("planet:mars")
    assert allows(["location:DC-EAST"], "location", "DC-EAST")
    assert not allows(["location:DC-EAST"], "location", "DC-WEST")
    assert allows(["location:*"], "location", "DC-WEST") and allows(["*"], "supplier", "S1")
    assert not allows(["supplier:DC-EAST"], "location", "DC-EAST")
