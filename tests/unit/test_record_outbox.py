"""Events kept on their record: the outbox attribute's encoding, its size guard, and the clearing update."""

from __future__ import annotations

import os

import pytest

from shared.aws import record_outbox
from shared.aws.record_outbox import ITEM_LIMIT, OutboxTooLarge

KEY = {"pk": {"S": "PO#1"}, "sk": {"S": "ACK#1"}}


def test_events_round_trip_through_the_attribute_and_come_off_the_item_as_read():
    events = ['{"id":"a","type":"x.y"}', '{"id":"b","type":"x.z","data":{"name":"Zoë"}}']
    item = record_outbox.attach({**KEY, "outcome": {"S": "applied"}}, events)
    assert set(item) == {"pk", "sk", "outcome", "outbox"} and isinstance(item["outbox"]["B"], bytes)
    assert record_outbox.decode(item["outbox"]) == tuple(events)

    read = dict(item)
    assert record_outbox.pop(read) == tuple(events)
    assert "outbox" not in read
    assert record_outbox.pop(read) == () and record_outbox.decode(None) == ()
    assert record_outbox.attach(KEY, []) is KEY  # nothing to keep: the item as it was


def test_an_outbox_that_would_not_fit_under_400_kb_is_refused():
    noise = os.urandom(40_000).hex()  # compresses to about half only
    big = {**KEY, "order": {"S": "x" * (ITEM_LIMIT - 60_000)}}
    with pytest.raises(OutboxTooLarge, match="2 event") as refused:
        record_outbox.attach(big, [noise, noise[::-1]])
    assert refused.value.size > ITEM_LIMIT
    assert "outbox" in record_outbox.attach(big, [noise[:1000]])
    with pytest.raises(OutboxTooLarge):
        record_outbox.encode([os.urandom(40_000).hex() for _ in range(11)], rest=8 * 1024)


def test_item_size_counts_names_and_values_as_dynamodb_does():
    assert record_outbox.item_size({"pk": {"S": "abc"}}) == 5
    assert record_outbox.item_size({"b": {"B": b"\x00" * 10}, "t": {"BOOL": True}, "n": {"NULL": True}}) == 15
    nested = {"m": {"M": {"k": {"S": "vv"}}}, "l": {"L": [{"S": "a"}, {"S": "bc"}]}}
    assert record_outbox.item_size(nested) == (1 + 3 + 1 + 1 + 2) + (1 + 3 + 2 + 3)
    assert record_outbox.item_size({"v": {"N": "12345"}}) >= 1 + 3  # numbers: rounded up
    with pytest.raises(ValueError, match="unknown"):
        record_outbox.item_size({"x": {"Q": 1}})


def test_clearing_removes_only_from_the_version_that_carried_the_events():
    plain = record_outbox.clearing("t", KEY)
    assert plain == {"TableName": "t", "Key": KEY, "UpdateExpression": "REMOVE outbox"}

    guarded = record_outbox.clearing("t", KEY, version=7, version_attribute="sequence", also=("outbox_result",))
    assert guarded["UpdateExpression"] == "REMOVE outbox, outbox_result"
    assert guarded["ConditionExpression"] == "#outbox_v = :outbox_v"
    assert guarded["ExpressionAttributeNames"] == {"#outbox_v": "sequence"}
    assert guarded["ExpressionAttributeValues"] == {":outbox_v": {"N": "7"}}
