"""Decoding and selecting dead letters (shared/services/dead_letter_ops.py), without AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cli.dlq import format_age
from shared.services.dead_letter_ops import DeadLetterOpsError, _Pace, decode, parse_where


def message(body: str, story: object = None, **attributes: str) -> dict:
    message_attributes = {}
    if story is not None:
        text = story if isinstance(story, str) else json.dumps(story)
        message_attributes["distrosync-dead-letter"] = {"DataType": "String", "StringValue": text}
    return {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": body,
        "Attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1795773600000", **attributes},
        "MessageAttributes": message_attributes,
    }


ENVELOPE = {
    "id": "e-1",
    "type": "purchase_order.acknowledged",
    "correlation_id": "c-1",
    "subject": "PO-7",
    "data": {"po_number": "PO-7", "lines": [{"sku": "SKU-1"}]},
}


def test_without_a_story_the_body_says_what_the_message_is_about():
    letter = decode("q-dlq", message(json.dumps({"source": "distrosync.purchasing", "detail": ENVELOPE})), "q")
    assert (letter.event_id, letter.event_type, letter.correlation_id) == ("e-1", "purchase_order.acknowledged", "c-1")
    assert letter.business_key == "po:PO-7" and letter.source_queue == "q" and letter.story is None
    assert letter.receive_count == 3 and letter.sent_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert letter.error_class is None and letter.attempts is None and letter.last_failure_at is None
    bare = decode("q-dlq", message(json.dumps(ENVELOPE)))  # an envelope on its own is its own detail
    assert bare.event_id == "e-1" and bare.business_key == "po:PO-7"


def test_the_story_wins_and_unreadable_bodies_or_stories_are_shown_as_they_are():
    story = {
        "error_class": "missing_reference",
        "attempts": "2",
        "first_failure_at": "2026-11-27T10:00:00Z",
        "source_queue": "arn:aws:sqs:us-east-1:123456789012:distrosync-dev-outbound",
        "business_key": "order:SO-1",
    }
    letter = decode("q-dlq", message("not json {", story), "other")
    assert letter.error_class == "missing_reference" and letter.attempts == 2 and letter.event_id is None
    assert letter.first_failure_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert letter.source_queue == "distrosync-dev-outbound" and letter.business_key == "order:SO-1"
    broken = decode("q-dlq", message(json.dumps(ENVELOPE), story="{not json"))
    assert broken.story is None and broken.event_id == "e-1" and broken.body == json.dumps(ENVELOPE)


def test_ids_and_where_select_on_every_id_and_every_field():
    letter = decode("q-dlq", message(json.dumps(ENVELOPE), {"message_id": "orig-1", "error_class": "validation"}))
    assert all(letter.matches_id(i) for i in ("m-1", "orig-1", "e-1")) and not letter.matches_id("x")
    assert letter.matches({"business_key": "PO-7", "error_class": "validation"})
    assert letter.matches({"business_key": "po:PO-7"}) and not letter.matches({"business_key": "sku:PO-7"})
    assert not letter.matches({"handler": "anything"})  # a field it does not have never matches
    assert parse_where(["error_class=validation", "event_type=a.b"]) == {
        "error_class": "validation",
        "event_type": "a.b",
    }
    with pytest.raises(DeadLetterOpsError, match="expected FIELD=VALUE"):
        parse_where(["error_class"])
    with pytest.raises(DeadLetterOpsError, match="--where body: not a field"):
        parse_where(["body=x"])


def test_pace_spaces_sends_by_the_rate():
    slept: list[float] = []
    pace = _Pace(4, slept.append)  # a sleep that takes no time: each send is due a quarter second after the last
    for _ in range(3):
        pace.wait()
    assert len(slept) == 2 and 0.24 < slept[0] <= 0.25 and 0.49 < slept[1] <= 0.5
    unlimited: list[float] = []
    free = _Pace(None, unlimited.append)
    free.wait()
    free.wait()
    assert unlimited == []


def test_ages_read_at_a_glance():
    assert [format_age(s) for s in (5, 185, 7800, 3 * 86400 + 4 * 3600 + 5)] == ["5s", "3m05s", "2h10m", "3d04h"]
