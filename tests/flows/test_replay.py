"""`distrosync replay` on the embedded runtime: a window of the bus's archive is re-delivered to its consumers
(every rule, or the rules of one type), the consumers see the events again and drop them as duplicates, and no
state that was already right changes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from purchasing_helpers import create_po, po_line

from cli.local_session import emf_totals
from shared.aws.clients import client as aws
from shared.canonical.envelope import utcnow


def adjust(client, sku: str, on_hand: int, sequence: int) -> None:
    body = {
        "sku": sku,
        "location": "DC-EAST",
        "on_hand": on_hand,
        "reason": "cycle_count",
        "sequence": sequence,
        "occurred_at": utcnow().isoformat(),
    }
    assert client.post("/v1/inventory/adjustments", body).status == 202


def state(rt, erp_client) -> dict:
    """What the consumers keep: positions (with their incoming supply and figures) and the PO."""
    positions = {
        sku: erp_client.get(f"/v1/inventory/{sku}", {"location": "DC-EAST"}).json()["positions"]
        for sku in ("SKU-1", "SKU-2")
    }
    return {"positions": positions, "po": erp_client.get("/v1/purchase-orders/PO-8001").json()}


def journal(rt) -> set[str]:
    items = aws("dynamodb").scan(TableName=rt.outputs["JournalTableName"])["Items"]
    return {json.dumps(item, sort_keys=True) for item in items}


def listen(rt, event_type: str):
    """A rule of the test's own for `event_type` into a queue; returns a function draining the replayed copies."""
    sqs, events, name = aws("sqs"), aws("events"), f"replay-probe-{event_type.replace('.', '-')}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = rt.outputs["EventBusName"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"detail-type": [event_type]}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "probe", "Arn": arn}])

    def replayed() -> list[str]:
        names = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            names.extend(json.loads(m["Body"]).get("replay-name") for m in batch)
            sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            )
        return [n for n in names if n]

    return replayed


def totals(rt, function: str) -> dict[str, float]:
    return dict(emf_totals(rt.logs(function)))


def test_a_replayed_window_is_delivered_again_and_changes_nothing(rt, cli, client, erp_client, acme):
    po_probe = listen(rt, "purchase_order.created")
    start = utcnow()
    adjust(client, "SKU-1", 40, 1)
    adjust(client, "SKU-2", 12, 1)
    create_po(rt, erp_client, "PO-8001", po_line(1, "SKU-1", 100), po_line(2, "SKU-2", 24))
    rt.drain()
    end = utcnow() + timedelta(seconds=1)
    before, journaled = state(rt, erp_client), journal(rt)
    assert before["positions"]["SKU-1"][0]["on_hand"] == 40 and journaled
    journal_before, projector_before = totals(rt, "journal"), totals(rt, "projector")

    # every type, every rule
    code, out, err = cli("replay", "--from", start.isoformat(), "--to", end.isoformat())
    assert code == 0, err
    assert "type    every type" in out
    report = rt.drain()
    assert report.invocations["journal"] > 0 and report.invocations["projector"] > 0
    journal_after = totals(rt, "journal")
    replayed = journal_after.get("Replayed", 0) - journal_before.get("Replayed", 0)
    assert replayed >= 4  # the adjustments, the PO's events and what they caused; not the older catalog
    projector_after = totals(rt, "projector")
    assert projector_after.get("Duplicate", 0) - projector_before.get("Duplicate", 0) >= 2  # both counts again
    assert projector_after.get("Applied", 0) == projector_before.get("Applied", 0)
    assert state(rt, erp_client) == before
    # every item of the replayed events written again, the same (the projector re-announces the unchanged
    # supply figures of the SKUs a batch touched, so new inventory.supply_changed items may follow)
    assert journaled <= journal(rt)
    (name,) = po_probe()  # its rule had the PO's creation once more, marked with the replay's name
    assert out.startswith(f"replay {name}: COMPLETED")

    # one type: only the rules that consume it
    code, out, err = cli(
        "replay", "--from", start.isoformat(), "--to", end.isoformat(), "--type", "inventory.adjusted", "--json"
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["state"] == "COMPLETED" and document["type"] == "inventory.adjusted"
    rules = document["rules"]
    assert any("Inventory" in r for r in rules) and any("Journal" in r for r in rules)
    assert not any("Promising" in r or "replay-probe" in r for r in rules)  # they consume other types
    rt.drain()
    assert totals(rt, "journal")["Replayed"] > journal_after["Replayed"]  # the journal's rule matches every type
    assert po_probe() == []  # a rule of another type had nothing
    assert state(rt, erp_client) == before


def test_replay_refuses_what_it_cannot_do(rt, cli):
    now = utcnow()
    code, _, err = cli("replay", "--from", now.isoformat(), "--to", (now - timedelta(hours=1)).isoformat())
    assert code == 2 and "window is empty" in err
    code, _, err = cli("replay", "--from", now.isoformat(), "--to", now.isoformat(), "--type", "no.such_type")
    assert code == 2 and "unknown event type" in err
    with pytest.raises(SystemExit) as exited:
        cli("replay", "--from", "yesterday", "--to", now.isoformat())
    assert exited.value.code == 2


def test_the_journal_fails_only_the_messages_it_cannot_read_and_writes_the_others_once(rt):
    """AWS's SQS event (corpus: a plain-text body and a JSON one that is no EventBridge event) beside a real
    inventory.adjusted message, twice in one batch (a redelivery)."""
    from cli.corpus import CORPUS
    from cli.local_session import REPO_ROOT

    foreign = json.loads((CORPUS / "aws" / "powertools_sqsEvent.json").read_text())["Records"]
    sample = json.loads((REPO_ROOT / "events/samples/projector/sqs_inventory_adjusted.json").read_text())["Records"]
    again = {**sample[0], "messageId": "redelivered-1"}
    result = rt.invoke("journal", {"Records": [*foreign, *sample, again]}).result()
    assert result == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in sorted(
        foreign, key=lambda r: r["messageId"])]}  # fmt: skip
    detail = json.loads(sample[0]["body"])["detail"]
    items = aws("dynamodb").query(
        TableName=rt.outputs["JournalTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "KEY#sku:SKU-1"}},
    )["Items"]
    assert [(i["event_id"]["S"], i["type"]["S"]) for i in items] == [(detail["id"], "inventory.adjusted")]
    totals = emf_totals(rt.logs("journal"))
    assert (totals["Unprocessable"], totals["Journaled"], totals["Failed"]) == (2, 1, 2)
