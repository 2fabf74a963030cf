"""The pure parts of the journal, the trace and the replay: items and summaries, execution steps, pattern matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.services.journal import NotAnEvent, journal_items, summarize
from shared.services.replay import Rule, pattern_matches, replay_name, rules_for
from shared.services.trace import step_entries, trace
from shared.services.trace_entries import TraceEntry

RECEIVED = "2026-11-27T10:00:01.123456+00:00"


def envelope(event_type: str, data: dict, **fields) -> dict:
    return {
        "id": "e-1",
        "type": event_type,
        "schema_version": "1.0",
        "source_partner": "erp-main",
        "occurred_at": "2026-11-27T09:59:00Z",
        "received_at": RECEIVED,
        "correlation_id": "c-1",
        "causation_id": None,
        "subject": fields.pop("subject", "S"),
        "data": data,
        **fields,
    }


def test_one_item_per_business_key_keyed_by_time_and_id_with_a_ttl_from_the_event():
    detail = envelope(
        "receipt.posted",
        {"sku": "SKU-1", "location": "DC-EAST", "quantity": 30, "incoming_reference": "PO-1/1/ASN-1", "sequence": 1},
        subject="SKU-1@DC-EAST",
    )
    items = journal_items(detail, retention_days=90)
    assert [(i["pk"], i["key"]) for i in items] == [("KEY#sku:SKU-1", "sku:SKU-1"), ("KEY#po:PO-1", "po:PO-1")]
    assert {i["sk"] for i in items} == {"2026-11-27T10:00:01.123Z#e-1"}
    received = datetime(2026, 11, 27, 10, 0, 1, 123456, tzinfo=UTC)
    assert items[0]["expires_at"] == int((received + timedelta(days=90)).timestamp())
    assert items == journal_items(detail, retention_days=90)  # a redelivery writes the very same items
    assert items[0]["summary"] == "receipt.posted SKU-1@DC-EAST qty 30 (erp-main)"
    assert items[0]["occurred_at"] == "2026-11-27T09:59:00.000Z" and items[0]["keys"] == ["sku:SKU-1", "po:PO-1"]


def test_an_event_without_keys_has_no_items_and_a_body_that_is_no_envelope_is_refused():
    assert journal_items(envelope("location.updated", {"code": "DC-EAST"}), retention_days=1) == []
    with pytest.raises(NotAnEvent):
        journal_items({"type": "x.y", "received_at": RECEIVED}, retention_days=1)
    with pytest.raises(NotAnEvent):
        journal_items({**envelope("x.y", {}), "received_at": "2026-11-27T10:00:00"}, retention_days=1)


def test_summaries_carry_ids_statuses_and_quantities_but_no_names_addresses_or_prices():
    change = envelope(
        "order.status_changed",
        {"order_id": "SO-1", "status": "released", "previous_status": "open", "customer_ref": "Ada Lovelace"},
        subject="SO-1",
    )
    assert summarize(change) == "order.status_changed SO-1 open -> released (erp-main)"
    created = envelope(
        "purchase_order.created",
        {
            "version": 1,
            "purchase_order": {
                "po_number": "PO-1",
                "status": "open",
                "supplier_name": "ACME",
                "lines": [{"line": 1, "unit_price": "4.25", "quantity": 3}],
                "ship_to": {"line1": "12 Harbour Road"},
            },
        },
        subject="PO-1",
    )
    assert summarize(created) == "purchase_order.created PO-1 v1 open 1 line (erp-main)"
    supplier = envelope(
        "supplier.updated",
        {"supplier": {"supplier_id": "SUP-1", "legal_name": "ACME", "bank": {"iban": "***1234"}, "status": "active"}},
        subject="SUP-1",
    )
    assert summarize(supplier) == "supplier.updated SUP-1 active (erp-main)"


def test_execution_history_becomes_steps_with_waits_failures_and_the_end():
    at = datetime(2026, 11, 27, 10, tzinfo=UTC)
    history = [
        {"type": "ExecutionStarted", "timestamp": at, "id": 1},
        {"type": "ChoiceStateEntered", "timestamp": at, "id": 2, "stateEnteredEventDetails": {"name": "Short?"}},
        {"type": "TaskStateEntered", "timestamp": at, "id": 3, "stateEnteredEventDetails": {"name": "Release"}},
        {
            "type": "TaskScheduled",
            "timestamp": at,
            "id": 4,
            "taskScheduledEventDetails": {"resource": "arn:aws:states:::lambda:invoke.waitForTaskToken"},
        },
        {
            "type": "TaskFailed",
            "timestamp": at,
            "id": 5,
            "taskFailedEventDetails": {"error": "States.Timeout", "cause": "no pick"},
        },
        {"type": "ExecutionFailed", "timestamp": at, "id": 6, "executionFailedEventDetails": {"error": "Failed"}},
    ]
    steps = [e.summary for e in step_entries(history, "execution SO-1-abc")]
    assert steps == [
        "execution SO-1-abc started",
        "Release entered",
        "Release waits for its task token",
        "Release failed: States.Timeout: no pick",
        "execution failed: Failed",
    ]


class Broken:
    def entries(self, kind, value):
        raise PermissionError("AccessDenied")


class Fixed:
    def __init__(self, *entries: TraceEntry) -> None:
        self._entries = entries

    def entries(self, kind, value):
        return list(self._entries)


def test_a_trace_is_time_ordered_cause_first_and_survives_a_source_it_cannot_read():
    t = datetime(2026, 11, 27, 10, tzinfo=UTC)
    call = TraceEntry(t, "call", "order.released SO-1 -> wms: delivered", "deliveries")
    event = TraceEntry(t, "event", "order.released SO-1", "journal")
    earlier = TraceEntry(t - timedelta(seconds=1), "step", "Release entered", "execution")
    result = trace("order", "SO-1", [("deliveries", Fixed(call)), ("journal", Fixed(event, earlier)), ("x", Broken())])
    assert [e.summary for e in result.entries] == ["Release entered", "order.released SO-1", call.summary]
    assert result.key == "order:SO-1" and result.problems == ["x: PermissionError: AccessDenied"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": [{"prefix": "distrosync."}]}, True),
        ({"source": ["distrosync.order"], "detail-type": ["order.created", "order.cancelled"]}, True),
        ({"source": ["distrosync.inventory"]}, False),
        ({"detail-type": [{"anything-but": ["order.created"]}]}, False),
        ({"detail-type": [{"wildcard": "order.*"}]}, True),
        ({"source": ["aws.s3"], "detail-type": ["Object Created"]}, False),
        ({"detail": {"data": {"status": ["released"]}}}, True),  # undecidable without the event: kept
        ({"$or": [{"detail-type": ["x.y"]}, {"source": [{"prefix": "distrosync.ord"}]}]}, True),
        ({"detail-type": [{"exists": False}]}, False),
        ({"account": ["123456789012"]}, True),
        ({"account": ["999999999999"]}, False),
    ],
)
def test_patterns_are_matched_against_an_event_of_the_type(pattern, expected):
    event = {"source": "distrosync.order", "detail-type": "order.created", "account": "123456789012"}
    assert pattern_matches(pattern, event) is expected


def test_the_rules_of_a_type_and_the_replay_name():
    rules = [
        Rule("journal", "arn:j", {"source": [{"prefix": "distrosync."}]}),
        Rule("starter", "arn:s", {"source": ["distrosync.order"], "detail-type": ["order.created"]}),
        Rule("projector", "arn:p", {"source": ["distrosync.inventory"], "detail-type": ["inventory.adjusted"]}),
        Rule("schedule", "arn:x", None),
    ]
    assert [r.name for r in rules_for(rules, "order.created", "123456789012", "us-east-1")] == ["journal", "starter"]
    assert [r.name for r in rules_for(rules, None, "123456789012", "us-east-1")] == ["journal", "starter", "projector"]
    name = replay_name(datetime(2026, 11, 27, 10, tzinfo=UTC), datetime(2026, 11, 27, 11, 2, 3, tzinfo=UTC), None)
    assert name == "distrosync-20261127T1000-all-20261127T110203"
    assert len(replay_name(datetime.now(UTC), datetime.now(UTC), "purchase_order.acknowledged")) <= 64
