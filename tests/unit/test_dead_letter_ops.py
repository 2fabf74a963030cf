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


class FakeSqs:
    """Messages in order; a receive hides what it returns (visibility > 0), as SQS does."""

    def __init__(self, count: int) -> None:
        self.visible = {f"m-{i}": True for i in range(count)}
        self.extended = 0

    def receive_message(self, **request) -> dict:
        ids = [m for m, shown in self.visible.items() if shown][: request["MaxNumberOfMessages"]]
        for m in ids:
            self.visible[m] = request["VisibilityTimeout"] == 0
        return {"Messages": [{"MessageId": m, "ReceiptHandle": f"h-{m}", "Body": "{}"} for m in ids]}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict]) -> None:
        assert len(Entries) <= 10
        for entry in Entries:
            message = entry["ReceiptHandle"].removeprefix("h-")
            if message in self.visible:
                self.visible[message] = entry["VisibilityTimeout"] == 0
                self.extended += entry["VisibilityTimeout"] > 0

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:
        del self.visible[ReceiptHandle.removeprefix("h-")]

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict:
        return {"Attributes": {"ApproximateNumberOfMessages": str(sum(self.visible.values()))}}


def test_a_scan_sees_each_message_once_and_releases_what_it_did_not_delete(monkeypatch):
    from shared.services import dead_letter_ops

    sqs = FakeSqs(25)
    with dead_letter_ops._Scan(sqs, "url", hold_seconds=2) as scan:
        seen = []
        for message in scan.messages():
            seen.append(message["MessageId"])
            if message["MessageId"] in ("m-3", "m-17"):
                scan.delete(message["MessageId"])
        assert len(seen) == 25 == len(set(seen))
        assert not any(sqs.visible.values())  # held while the scan lasts
        later = dead_letter_ops.time.monotonic() + 1.5
        monkeypatch.setattr(dead_letter_ops.time, "monotonic", lambda: later)
        scan.keep_alive()  # past half of the hold: every held message is hidden again
        assert sqs.extended == 23
    assert set(sqs.visible) == {f"m-{i}" for i in range(25)} - {"m-3", "m-17"}
    assert all(sqs.visible.values())  # released at once, not left to time out
