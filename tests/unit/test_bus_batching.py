import json
from datetime import UTC, datetime

import pytest

from shared.aws import bus
from shared.canonical.envelope import Envelope
from shared.canonical.inventory import InventoryAdjusted


def envelope(i: int, reference: str | None = None):
    data = InventoryAdjusted(sku=f"SKU-{i}", location="DC", delta=1, reason="pick", sequence=i, reference=reference)
    return Envelope[InventoryAdjusted].wrap(data, source_partner="p", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_batches_respect_ten_entries_and_256kb():
    entries = [bus.to_entry(envelope(i), "bus") for i in range(23)]
    assert [len(b) for b in bus.batches(entries)] == [10, 10, 3]
    big = [dict(e, Detail=json.dumps({"pad": "x" * 100_000})) for e in entries[:5]]
    assert [len(b) for b in bus.batches(big)] == [2, 2, 1]
    with pytest.raises(ValueError, match="exceeds"):
        bus.batches([dict(entries[0], Detail="x" * 300_000)])


class FlakyEvents:
    """PutEvents that fails some entries on the first calls, as EventBridge does under throttling."""

    def __init__(self, fail_first: int):
        self.fail_first, self.calls = fail_first, []

    def put_events(self, Entries):
        self.calls.append(len(Entries))
        results, failed = [], 0
        for _ in Entries:
            if self.fail_first > 0:
                self.fail_first -= 1
                failed += 1
                results.append({"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"})
            else:
                results.append({"EventId": "ok"})
        return {"FailedEntryCount": failed, "Entries": results}


def test_failed_entries_are_retried_alone(monkeypatch):
    fake = FlakyEvents(fail_first=3)
    monkeypatch.setattr(bus, "client", lambda name: fake)
    result = bus.publish([envelope(i) for i in range(5)], "bus", sleep=lambda s: None)
    assert fake.calls == [5, 3] and result.calls == 2


def test_entries_that_keep_failing_raise(monkeypatch):
    fake = FlakyEvents(fail_first=100)
    monkeypatch.setattr(bus, "client", lambda name: fake)
    with pytest.raises(bus.PublishError, match="ThrottlingException"):
        bus.publish([envelope(1)], "bus", attempts=3, sleep=lambda s: None)
    assert fake.calls == [1, 1, 1]
