"""`distrosync dlq list | show | redrive | purge` through the command's entry point, on the embedded runtime.

Dead letters are made the ways they arrive: a consumer's message with its story (the `distrosync-dead-letter`
attribute, as docs/reliability.md writes it), a message SQS moved by itself after maxReceiveCount receives, and an
event EventBridge could not deliver to its target. One runtime serves the module; every test leaves the stack's
queues empty.
"""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime

import pytest

from cli.assembly import REPO_ROOT
from shared.aws.clients import client as aws
from shared.canonical.envelope import Envelope, eventbridge_source
from shared.canonical.inventory import ReceiptPosted

PREFIX = "distrosync-dev"
ACCOUNT = "123456789012"
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def rt(dev_template_path):
    """One runtime for the module (overrides conftest's): these tests only read and move queue messages."""
    from local.runtime import LocalRuntime

    runtime = LocalRuntime.start(dev_template_path, source_root=REPO_ROOT, mode="inprocess")
    try:
        yield runtime
    finally:
        runtime.stop()


@pytest.fixture(autouse=True)
def empty_queues(rt):
    yield
    sqs = aws("sqs")
    for url in sqs.list_queues(QueueNamePrefix=PREFIX).get("QueueUrls", []):
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
            "Messages", []
        ):
            sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            )


def url_of(name: str) -> str:
    return aws("sqs").get_queue_url(QueueName=f"{PREFIX}-{name}")["QueueUrl"]


def receipt_event(sku: str = "SKU-1", seq: int = 1) -> tuple[Envelope, dict]:
    """A receipt.posted envelope and the EventBridge event an SQS target of the bus receives for it."""
    envelope = Envelope.wrap(
        ReceiptPosted(sku=sku, location="DC-EAST", quantity=seq, sequence=seq),
        source_partner="wh-east",
        occurred_at=NOW,
        correlation_id=f"flow-{sku}-{seq}",
    )
    event = {
        "version": "0",
        "id": f"bus-{envelope.id}",
        "detail-type": envelope.type,
        "source": eventbridge_source(envelope.type),
        "account": ACCOUNT,
        "time": "2026-11-27T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": envelope.to_detail(),
    }
    return envelope, event


def story(envelope: Envelope, **changes) -> dict:
    """The `distrosync-dead-letter` attribute exactly as the contract writes it."""
    doc = {
        "error_class": "validation",
        "error": "ValidationError: 1 validation error for ReceiptPosted",
        "handler": f"{PREFIX}-projector",
        "attempts": 1,
        "first_failure_at": "2026-11-27T10:00:00Z",
        "last_failure_at": "2026-11-27T10:00:00Z",
        "correlation_id": envelope.correlation_id,
        "business_key": f"sku:{envelope.data.sku}",
        "event_id": envelope.id,
        "event_type": envelope.type,
        "source_queue": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{PREFIX}-projector",
        "message_id": f"orig-{envelope.id}",
    }
    return {**doc, **changes}


def dead_letter(queue: str = "projector-dlq", sku: str = "SKU-1", seq: int = 1, **changes) -> tuple[str, Envelope]:
    """A consumer's dead letter (its body and its story) on `queue`; returns its DLQ message id and envelope."""
    envelope, event = receipt_event(sku, seq)
    sent = aws("sqs").send_message(
        QueueUrl=url_of(queue),
        MessageBody=json.dumps(event),
        MessageAttributes={
            "distrosync-dead-letter": {"DataType": "String", "StringValue": json.dumps(story(envelope, **changes))}
        },
    )
    return sent["MessageId"], envelope


def moved_by_sqs(rt, queue: str = "projector") -> tuple[str, Envelope]:
    """A message received maxReceiveCount times and never deleted (a crashed invocation): SQS moves it itself."""
    sqs, url = aws("sqs"), url_of(queue)
    envelope, event = receipt_event("SKU-3", 3)
    sent = sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    for _ in range(rt.max_receive_count(f"{PREFIX}-{queue}")):
        assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)  # moved on this receive
    return sent["MessageId"], envelope


def contents(queue: str) -> dict[str, tuple[str, dict]]:
    """message id -> (body, message attributes) of every message, all left in the queue."""
    sqs, url = aws("sqs"), url_of(queue)
    seen: dict[str, tuple[str, dict]] = {}
    handles = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for m in batch:
            seen[m["MessageId"]] = (m["Body"], m.get("MessageAttributes", {}))
            handles.append(m["ReceiptHandle"])
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return seen


def depths() -> dict[str, int]:
    sqs = aws("sqs")
    out = {}
    for url in sqs.list_queues(QueueNamePrefix=PREFIX)["QueueUrls"]:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        out[url.rsplit("/", 1)[-1]] = int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )
    return out


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


# --------------------------------------------------------------------------------------------------------- list
def test_list_shows_every_dlq_with_its_depth_oldest_age_and_source(rt, cli):
    first, _ = dead_letter()
    time.sleep(1.1)
    dead_letter(seq=2)
    dead_letter("promiser-dlq")

    code, out, err = cli("dlq", "list", "--json")
    assert code == 0, err
    queues = {q["name"]: q for q in json.loads(out)}
    expected = {q.name for q in rt.queues() if q.is_dlq}
    assert set(queues) == expected and all(name.endswith("-dlq") for name in queues)
    assert f"{PREFIX}-order_starter-dlq" in queues and f"{PREFIX}-edi-ack-overdue-dlq" in queues
    projector = queues[f"{PREFIX}-projector-dlq"]
    assert projector["depth"] == 2 and projector["kind"] == "processing"
    assert projector["source_queue"] == f"{PREFIX}-projector"
    assert 1.0 <= projector["oldest_age_seconds"] < 30
    assert queues[f"{PREFIX}-promiser-dlq"]["depth"] == 1
    delivery = queues[f"{PREFIX}-projector-delivery-dlq"]
    assert delivery["kind"] == "delivery" and delivery["source_queue"] == f"{PREFIX}-projector"
    assert delivery["depth"] == 0 and delivery["oldest_age_seconds"] is None
    assert queues[f"{PREFIX}-edi-ack-overdue-dlq"]["source_queue"] is None
    assert first in contents("projector-dlq")  # listing left every message where it was

    code, out, _ = cli("dlq", "list")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith(f"{PREFIX}-projector-dlq "))
    assert row.split()[1:4] == ["2", row.split()[2], f"{PREFIX}-projector"] and row.split()[2].endswith("s")
    assert "(from the bus)" in next(line for line in out.splitlines() if "projector-delivery-dlq" in line)
    assert out.splitlines()[-1] == f"3 message(s) in 2 of {len(expected)} DLQ(s)"


# --------------------------------------------------------------------------------------------------------- show
def test_show_decodes_the_story_and_what_sqs_knows_of_a_message_without_one(rt, cli):
    with_story, envelope = dead_letter(sku="SKU-2", seq=4)
    without_story, moved = moved_by_sqs(rt)

    code, out, err = cli("dlq", "show", "projector-dlq", "--json")
    assert code == 0, err
    letters = {d["message_id"]: d for d in json.loads(out)}
    assert set(letters) == {with_story, without_story}
    told = letters[with_story]
    assert {k: told[k] for k in ("error_class", "error", "handler", "attempts", "business_key")} == {
        "error_class": "validation",
        "error": "ValidationError: 1 validation error for ReceiptPosted",
        "handler": f"{PREFIX}-projector",
        "attempts": 1,
        "business_key": "sku:SKU-2",
    }
    assert (told["first_failure_at"], told["last_failure_at"]) == ("2026-11-27T10:00:00Z", "2026-11-27T10:00:00Z")
    assert (told["event_id"], told["event_type"], told["correlation_id"]) == (
        envelope.id,
        "receipt.posted",
        "flow-SKU-2-4",
    )
    assert told["original_message_id"] == f"orig-{envelope.id}" and told["source_queue"] == f"{PREFIX}-projector"
    assert told["has_story"] is True and json.loads(told["body"])["detail"]["id"] == envelope.id

    bare = letters[without_story]
    assert bare["has_story"] is False and bare["error_class"] is None and bare["handler"] is None
    assert bare["receive_count"] >= rt.max_receive_count(f"{PREFIX}-projector")
    assert bare["first_failure_at"] is not None  # SQS's first receive
    assert (bare["event_id"], bare["event_type"], bare["correlation_id"], bare["business_key"]) == (
        moved.id,
        "receipt.posted",
        "flow-SKU-3-3",
        "sku:SKU-3",
    )
    assert bare["source_queue"] == f"{PREFIX}-projector"  # the queue whose redrive policy names the DLQ

    code, out, _ = cli("dlq", "show", f"{PREFIX}-projector-dlq")
    assert code == 0 and out.startswith(f"{PREFIX}-projector-dlq: 2 message(s)")
    assert f"message     {with_story}  (was orig-{envelope.id})" in out
    assert "reason      validation: ValidationError: 1 validation error for ReceiptPosted" in out
    assert f"handler     {PREFIX}-projector   attempts 1" in out
    assert "key         sku:SKU-2   correlation flow-SKU-2-4" in out
    assert "reason      no story (moved by SQS; received" in out


def test_a_poison_message_the_consumer_dead_letters_is_shown_with_the_story_it_wrote(rt, cli):
    sent = aws("sqs").send_message(QueueUrl=url_of("projector"), MessageBody="not an event {")
    rt.drain()
    code, out, err = cli("dlq", "show", "projector-dlq", "--json")
    assert code == 0, err
    (letter,) = json.loads(out)
    assert letter["has_story"] is True and letter["body"] == "not an event {"
    assert (letter["error_class"], letter["handler"], letter["attempts"]) == ("validation", f"{PREFIX}-projector", 1)
    assert letter["original_message_id"] == sent["MessageId"] and letter["source_queue"] == f"{PREFIX}-projector"
    assert letter["error"] and letter["first_failure_at"] == letter["last_failure_at"] is not None


def test_unknown_queues_and_source_queues_are_refused(rt, cli):
    code, out, err = cli("dlq", "show", "nothing-dlq")
    assert (code, out) == (2, "") and f"no queue {PREFIX}-nothing-dlq" in err
    code, _, err = cli("dlq", "purge", "projector", "--yes")
    assert code == 2 and f"{PREFIX}-projector is not a dead-letter queue" in err
    code, _, err = cli("dlq", "redrive", "projector-dlq", "--where", "payload=1")
    assert code == 2 and "--where payload: not a field" in err


# ------------------------------------------------------------------------------------------------------ redrive
def test_redrive_id_moves_only_that_message_back_to_its_source_queue(rt, cli):
    chosen, envelope = dead_letter(seq=1)
    other, _ = dead_letter(seq=2)
    by_event, third = dead_letter(seq=3)

    code, out, err = cli("dlq", "redrive", "projector-dlq", "--id", chosen, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [m["message_id"] for m in report["moved"]] == [chosen]
    assert report["moved"][0]["to"] == f"queue {PREFIX}-projector" and not report["failed"]
    assert "redrive [" in err and "1 moved" in err  # the progress bar, on stderr
    assert set(contents("projector-dlq")) == {other, by_event}
    ((body, attributes),) = contents("projector").values()
    assert json.loads(body)["detail"]["id"] == envelope.id
    assert "distrosync-dead-letter" not in attributes  # a fresh start on its source queue

    code, out, _ = cli("dlq", "redrive", "projector-dlq", "--id", third.id)  # by event id
    assert code == 0 and "moved 1 of" in out and f"-> queue {PREFIX}-projector" in out
    assert set(contents("projector-dlq")) == {other}

    code, out, _ = cli("dlq", "redrive", "--id", "no-such-id", "--id", other, "projector-dlq", "--dry-run")
    assert code == 1 and "no message for --id no-such-id" in out and f"would move {other}" in out
    assert set(contents("projector-dlq")) == {other}  # released at once, not left invisible


def test_dry_run_changes_nothing_and_says_what_would_move(rt, cli):
    dead_letter(seq=1)
    dead_letter(seq=2, error_class="missing_reference")
    moved_by_sqs(rt)
    before, dlq_before = depths(), contents("projector-dlq")

    code, out, err = cli("dlq", "redrive", "projector-dlq", "--dry-run", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["dry_run"] is True and len(report["would_move"]) == 3 and "moved" not in report
    assert {m["to"] for m in report["would_move"]} == {f"queue {PREFIX}-projector"}
    assert depths() == before and contents("projector-dlq") == dlq_before

    code, out, _ = cli("dlq", "redrive", "projector-dlq", "--dry-run", "--where", "error_class=missing_reference")
    assert code == 0 and "would move 1 of 3" in out and out.rstrip().endswith("dry run: nothing was changed")
    assert depths() == before and contents("projector-dlq") == dlq_before


def test_where_selects_on_story_fields_all_of_them(rt, cli):
    wanted, _ = dead_letter(sku="SKU-1", seq=1, error_class="missing_reference")
    dead_letter(sku="SKU-2", seq=2, error_class="missing_reference")
    dead_letter(sku="SKU-1", seq=3, error_class="validation")
    moved_by_sqs(rt)  # no story: no error class

    code, out, err = cli(
        "dlq", "redrive", "projector-dlq", "--where", "error_class=missing_reference", "--where",
        "business_key=SKU-1", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert [m["message_id"] for m in json.loads(out)["moved"]] == [wanted]
    assert len(contents("projector-dlq")) == 3 and len(contents("projector")) == 1

    code, out, _ = cli("dlq", "redrive", "projector-dlq", "--where", "event_type=receipt.posted", "--json")
    assert code == 0 and len(json.loads(out)["moved"]) == 3  # the story-less one too: its body says its type
    assert contents("projector-dlq") == {} and len(contents("projector")) == 4


def test_rate_limits_the_sends(rt, cli):
    for seq in range(1, 5):
        dead_letter(seq=seq)
    started = time.monotonic()
    code, out, err = cli("dlq", "redrive", "projector-dlq", "--rate", "5", "--json")
    elapsed = time.monotonic() - started
    assert code == 0, err
    assert len(json.loads(out)["moved"]) == 4 and elapsed >= 0.6  # 4 sends at 5/s: 3 intervals of 0.2 s
    code, _, err = cli("dlq", "redrive", "projector-dlq", "--rate", "0")
    assert code == 2 and "--rate must be a positive number" in err


def test_an_event_the_bus_could_not_deliver_goes_to_its_targets_queue(rt, cli):
    envelope, event = receipt_event("SKU-4", 7)
    sent = aws("sqs").send_message(
        QueueUrl=url_of("projector-delivery-dlq"),
        MessageBody=json.dumps(event),
        MessageAttributes={
            "RULE_ARN": {
                "DataType": "String",
                "StringValue": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{PREFIX}-bus/projector-rule",
            },
            "TARGET_ARN": {"DataType": "String", "StringValue": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{PREFIX}-projector"},
            "ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"},
            "ERROR_MESSAGE": {"DataType": "String", "StringValue": "KMS key is disabled"},
        },
    )
    code, out, _ = cli("dlq", "show", "projector-delivery-dlq", "--json")
    (letter,) = json.loads(out)
    assert letter["error"] == "SDK_CLIENT_ERROR: KMS key is disabled" and letter["event_id"] == envelope.id
    code, out, _ = cli("dlq", "show", "projector-delivery-dlq")
    assert "reason      no story: SDK_CLIENT_ERROR: KMS key is disabled" in out

    code, out, err = cli("dlq", "redrive", "projector-delivery-dlq", "--id", sent["MessageId"], "--json")
    assert code == 0, err
    assert json.loads(out)["moved"][0]["to"] == f"queue {PREFIX}-projector"
    ((body, attributes),) = contents("projector").values()
    assert json.loads(body) == event and attributes == {}


def test_without_a_queue_to_return_to_a_distrosync_event_goes_back_on_its_bus(rt, cli, captured_events):
    """A schedule's DLQ has no source queue: its own scheduled events cannot be sent again (the schedule runs
    again); a distrosync event found there is put on the bus once more."""
    envelope, event = receipt_event("SKU-5", 9)
    sqs, url = aws("sqs"), url_of("reservation-expiry-dlq")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}, "id": "s-1"}
    left = sqs.send_message(QueueUrl=url, MessageBody=json.dumps(scheduled))["MessageId"]

    code, out, _ = cli("dlq", "redrive", "reservation-expiry-dlq", "--json")
    report = json.loads(out)
    assert code == 1 and [m["to"] for m in report["moved"]] == [f"bus {PREFIX}-bus"]
    assert [(f["message_id"], f["reason"]) for f in report["failed"]] == [
        (left, "no source queue to send it back to (not a distrosync event on a bus)")
    ]
    assert [e["id"] for e in captured_events("receipt.posted")] == [envelope.id]
    assert set(contents("reservation-expiry-dlq")) == {left}


# -------------------------------------------------------------------------------------------------------- purge
def test_purge_asks_first_and_takes_yes_for_scripts(rt, cli, monkeypatch, capsys):
    kept, _ = dead_letter()
    code, _, err = cli("dlq", "purge", "projector-dlq")  # stdin is not a terminal: no one to ask
    assert code == 2 and "pass --yes" in err and set(contents("projector-dlq")) == {kept}

    monkeypatch.setattr("sys.stdin", Tty("n\n"))
    from cli import main as cli_main

    assert cli_main.main(["dlq", "purge", "projector-dlq"]) == 1
    asked = capsys.readouterr()
    assert f"Delete every message of {PREFIX}-projector-dlq for good? [y/N]" in asked.err and asked.out == ""
    assert set(contents("projector-dlq")) == {kept}

    monkeypatch.setattr("sys.stdin", Tty("y\n"))
    assert cli_main.main(["dlq", "purge", "projector-dlq"]) == 0
    assert capsys.readouterr().out == f"{PREFIX}-projector-dlq: purged 1 message(s)\n"
    assert contents("projector-dlq") == {}

    dead_letter("promiser-dlq")
    dead_letter("promiser-dlq", seq=2)
    code, out, _ = cli("dlq", "purge", "promiser-dlq", "--yes", "--json")
    assert code == 0 and json.loads(out) == {"queue": f"{PREFIX}-promiser-dlq", "purged": 2}
    assert contents("promiser-dlq") == {}


# ------------------------------------------------------------------------------------------------ end to end
def test_a_poison_receipt_then_a_fix_then_redrive_by_id_is_processed_once(rt, client, cli):
    """The projector is deployed pointing at a table that does not exist: a receipt fails and lands in its DLQ.
    Once the configuration is fixed, `dlq redrive --id` puts it through, and its effect happens once."""
    table = rt.outputs["InventoryTableName"]
    rt.functions.configure("projector", INVENTORY_TABLE_NAME=f"{table}-missing")
    body = {"sku": "SKU-1", "location": "DC-EAST", "quantity": 2, "unit": "case", "sequence": 1}
    reply = client.post("/v1/inventory/receipts", {**body, "occurred_at": NOW.isoformat()})
    assert reply.status == 202, reply.body
    event_id = reply.json()["event_id"]
    rt.drain()
    code, out, _ = cli("dlq", "show", "projector-dlq", "--json")
    (letter,) = json.loads(out)
    assert letter["event_id"] == event_id and letter["event_type"] == "receipt.posted"
    assert letter["source_queue"] == f"{PREFIX}-projector"

    rt.functions.configure("projector", INVENTORY_TABLE_NAME=table)  # the fix
    code, out, err = cli("dlq", "redrive", "projector-dlq", "--id", event_id)
    assert code == 0 and "moved 1 of 1" in out, (out, err)
    rt.drain()
    assert contents("projector-dlq") == {}
    on_hand = client.get("/v1/inventory/SKU-1", {"location": "DC-EAST"}).json()["positions"][0]["on_hand"]
    assert on_hand == 24

    code, out, _ = cli("dlq", "redrive", "projector-dlq", "--id", event_id)  # nothing left to send twice
    assert code == 1 and "no message for --id" in out
    rt.drain()
    assert client.get("/v1/inventory/SKU-1", {"location": "DC-EAST"}).json()["positions"][0]["on_hand"] == 24
