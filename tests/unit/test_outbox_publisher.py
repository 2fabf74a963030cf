"""The stream publisher's decisions (shared/services/outbox_publisher.py) on stream records as Lambda delivers them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from shared.aws import record_outbox
from shared.aws.bus import PublishResult
from shared.canonical.envelope import Envelope
from shared.canonical.inventory import InventoryAdjusted
from shared.services.outbox_publisher import OutboxPublisher, pending_outbox, table_of

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/records/stream/2026-11-27T10:00:00.000"


def envelope(n: int) -> Envelope[InventoryAdjusted]:
    data = InventoryAdjusted(sku=f"SKU-{n}", location="DC", delta=1, reason="pick", sequence=n)
    return Envelope[InventoryAdjusted].wrap(data, source_partner="p", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))


def record(pk: str, sequence: str, outbox: dict | None) -> dict:
    image = {"pk": {"S": pk}, "version": {"N": "1"}}
    if outbox is not None:
        image["outbox"] = {"B": base64.b64encode(outbox["B"]).decode()}
    return {
        "eventID": sequence,
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1.0,
            "Keys": {"pk": {"S": pk}},
            "NewImage": image,
            "SequenceNumber": sequence,
            "SizeBytes": 10,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": STREAM,
    }


def test_a_record_names_its_table_key_and_outbox():
    outbox = record_outbox.encode([envelope(1).model_dump_json()])
    pending = pending_outbox(record("a", "100", outbox))
    assert pending is not None
    assert (pending.table_name, pending.key, pending.sequence_number) == ("records", {"pk": {"S": "a"}}, "100")
    assert pending.value == outbox and len(pending.events) == 1
    assert pending_outbox(record("b", "101", None)) is None
    with pytest.raises(ValueError, match="not a DynamoDB stream ARN"):
        table_of("arn:aws:sqs:us-east-1:123456789012:queue")


@pytest.fixture
def table():
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="records",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ddb


def put(ddb, pk: str, outbox: dict | None, **extra: dict) -> None:
    item = {"pk": {"S": pk}, "version": {"N": "1"}, **extra}
    if outbox is not None:
        item["outbox"] = outbox
    ddb.put_item(TableName="records", Item=item)


def test_outboxes_still_on_their_records_are_published_and_cleared_others_skipped(table):
    published: list[str] = []

    def publish(envelopes, bus_name):
        published.extend(e.id for e in envelopes)
        return PublishResult(event_ids=[e.id for e in envelopes], calls=1)

    first, second, third = envelope(1), envelope(2), envelope(3)
    left = record_outbox.encode([first.model_dump_json(), second.model_dump_json()])
    gone = record_outbox.encode([third.model_dump_json()])
    put(table, "left", left, outbox_result={"S": "{}"})
    put(table, "gone", None)  # its writer published and cleared it after the image was written

    outcome = OutboxPublisher("bus", publish).process([record("left", "1", left), record("gone", "2", gone)])
    assert published == [first.id, second.id]
    assert (outcome.records_published, outcome.already_published, outcome.failed) == (1, 1, None)
    item = table.get_item(TableName="records", Key={"pk": {"S": "left"}})["Item"]
    assert "outbox" not in item and "outbox_result" not in item

    again = OutboxPublisher("bus", publish).process([record("left", "1", left)])  # the same record redelivered
    assert (again.records_published, again.already_published) == (0, 1) and len(published) == 2


def test_a_newer_outbox_is_not_cleared_and_a_failure_stops_the_batch(table):
    older, newer = envelope(1), envelope(2)
    old_box = record_outbox.encode([older.model_dump_json()])
    new_box = record_outbox.encode([older.model_dump_json(), newer.model_dump_json()])
    put(table, "a", old_box)

    def publish_then_newer_change(envelopes, bus_name):
        put(table, "a", new_box)  # a writer replaced the outbox while this one was being published
        return PublishResult(event_ids=[e.id for e in envelopes], calls=1)

    outcome = OutboxPublisher("bus", publish_then_newer_change).process([record("a", "1", old_box)])
    assert outcome.clear_lost == 1
    item = table.get_item(TableName="records", Key={"pk": {"S": "a"}})["Item"]
    assert item["outbox"]["B"] == new_box["B"]  # the newer change's events stay for their own stream record

    def failing(envelopes, bus_name):
        raise RuntimeError("EventBridge down")

    errors: list[str] = []
    put(table, "b", old_box)
    outcome = OutboxPublisher("bus", failing).process(
        [record("a", "5", new_box), record("b", "6", old_box)], on_error=lambda r, exc: errors.append(str(exc))
    )
    assert outcome.failed == "5" and errors == ["EventBridge down"]  # b waits: it is retried after a
