"""A 940 for any order id, on the embedded runtime (docs/edi.md, "Outbound documents", 945 mapping): a Shopify-length
order released by the order-to-ship flow at a 940 warehouse goes out with its alias in W0502 and its id in N9 OQ, the
alias is kept in the EDI table with the document, and the 945 that echoes only the alias completes the order's pick;
a 945 naming an alias nobody issued is refused in its 997 (AK5 R 5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from cli.local_session import emf_totals
from local.simulators.warehouse_edi import shipping_advice_945
from shared.adapters.x12 import read
from shared.adapters.x12.documents import order_alias, order_release_940
from shared.aws.bus import publish
from shared.aws.clients import client as aws
from shared.aws.edi_store import AliasTaken, DocumentSent, EdiStore, GroupSent, OrderAlias
from shared.canonical.envelope import Envelope
from shared.canonical.fulfillment import OrderReleased
from shared.canonical.partner import EdiSettings
from tests.flows.edi_fixtures import segments
from tests.flows.order_flow_fixtures import count_stock, place_order, wait_for_waiting

SHOPIFY = "shopify-main.820982911946154508"  # 31 characters: W0502 holds 22
WAREHOUSE = "wh-east"


def set_profile(cli: Any) -> EdiSettings:
    """wh-east trades X12: 940s out, 945s in (what `distrosync edi partners set` writes)."""
    code, out, err = cli(
        "edi", "partners", "set", WAREHOUSE, "--isa", "ZZ:WHEAST3PL", "--gs", "WHEAST", "--outbound", "940",
        "--inbound", "945",
    )  # fmt: skip
    assert code == 0, err
    return EdiSettings.model_validate(json.loads(out)["edi"])


def files(rt: Any, suffix: str) -> dict[str, str]:
    """Key -> text of the files written for wh-east whose key ends with `suffix`."""
    s3, bucket = aws("s3"), rt.outputs["EdiBucketName"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"outbound/{WAREHOUSE}/").get("Contents", [])
    return {
        o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode()
        for o in listed
        if o["Key"].endswith(suffix)
    }


def drop(rt: Any, name: str, text: str) -> str:
    """The 3PL puts a file under inbound/wh-east/ (as SFTP would); the queues run."""
    key = f"inbound/{WAREHOUSE}/{name}"
    aws("s3").put_object(Bucket=rt.outputs["EdiBucketName"], Key=key, Body=text.encode())
    rt.drain()
    return key


def processed(captured_events: Any, key: str) -> dict[str, Any]:
    [event] = [e["data"] for e in captured_events("edi.interchange_processed") if e["data"]["object_key"] == key]
    return event


@pytest.mark.order_flow
def test_a_shopify_length_order_gets_a_940_with_its_alias_and_the_945_echoing_the_alias_completes_its_pick(
    rt, cli, catalog, client, erp_client, captured_events
):
    set_profile(cli)
    count_stock(rt, client, "SKU-4", 30)
    place_order(erp_client, SHOPIFY, ("SKU-4", 3), ("SKU-4", 2), customer_ref="#1042")
    wait_for_waiting(rt, SHOPIFY, "release")
    rt.drain()

    [(key, text_940)] = files(rt, "-940.x12").items()
    alias = order_alias(SHOPIFY)
    sent = read(text_940.encode())
    assert sent.errors == []
    body = sent.interchanges[0].groups[0].transactions[0].segments
    assert body[0] == ["W05", "N", alias, "#1042"]
    assert body[2] == ["N9", "OQ", "", SHOPIFY]  # after N1 SF; N902 holds 30 characters in 004010: N903
    [released] = captured_events("order.released")
    store = EdiStore(rt.outputs["EdiTableName"])
    document = store.document_sent(WAREHOUSE, released["id"])
    assert document is not None and (document.object_key, document.reference) == (key, SHOPIFY)
    assert store.aliased_order(WAREHOUSE, alias) == SHOPIFY
    assert store.aliased_order("another-3pl", alias) is None  # kept per partner

    shipped = datetime.now(UTC).replace(second=0, microsecond=0)
    text_945 = shipping_advice_945(text_940, 945, shipped).text
    assert f"W06*F*{alias}*" in text_945 and "N9*" not in text_945  # the alias alone names the order
    inbound = drop(rt, "945-000000945.edi", text_945)

    done = processed(captured_events, inbound)
    assert done["status"] == "accepted", done
    assert [(s["reference"], s["outcome"]) for s in done["sets"]] == [(SHOPIFY, "accepted")]
    [ack] = [text for k, text in files(rt, "-997.x12").items() if k.startswith(f"outbound/{WAREHOUSE}/000000945-")]
    assert [s for s in segments(ack) if s[0] in ("AK5", "AK9")] == [["AK5", "A"], ["AK9", "A", "1", "1", "1"]]
    record = wait_for_waiting(rt, SHOPIFY, "ship")
    assert record.status == "awaiting_dispatch"
    assert record.pick is not None and len(record.pick["packages"]) == 2


def test_a_945_naming_an_alias_nobody_issued_is_refused_in_its_997(rt, cli, warehouse, captured_events):
    profile = set_profile(cli)
    never_sent = OrderReleased.model_validate(
        {"order_id": "shopify-main.1000000000000000001", "location": "DC-EAST",
         "lines": [{"line": 1, "sku": "SKU-1", "quantity": 1}],
         "callback": "https://api.example/v1/orders/shopify-main.1000000000000000001/pick-complete"}
    )  # fmt: skip
    text_940 = order_release_940(never_sent, profile, interchange=1, group=1, set_=1, when=datetime.now(UTC))
    inbound = drop(rt, "945-000000946.edi", shipping_advice_945(text_940, 946, datetime.now(UTC)).text)

    done = processed(captured_events, inbound)
    assert done["status"] == "rejected"
    [refused] = done["sets"]
    assert (refused["set_id"], refused["outcome"]) == ("945", "not_mapped")
    alias = order_alias(never_sent.order_id)
    assert f"W0602 '{alias}' is no order alias distrosync sent to partner '{WAREHOUSE}'" in refused["reason"]
    [ack] = files(rt, "-997.x12").values()
    assert [s for s in segments(ack) if s[0] in ("AK5", "AK9")] == [["AK5", "R", "5"], ["AK9", "R", "1", "1", "0"]]


def test_an_alias_is_never_recorded_for_a_second_order(rt):
    store = EdiStore(rt.outputs["EdiTableName"])
    now = datetime.now(UTC)

    def send(event_id: str, order_id: str) -> bool:
        document = DocumentSent(WAREHOUSE, event_id, f"outbound/{WAREHOUSE}/{event_id}-940.x12", "940", order_id,
                                event_id, event_id, "0001", now)  # fmt: skip
        group = GroupSent(WAREHOUSE, event_id, event_id, "OW", ["940"], [order_id], now, None, 0, document.object_key)
        return store.record_sent(document, [group], alias=OrderAlias(WAREHOUSE, "DSCOLLIDINGALIAS234567", order_id))

    assert send("000000001", SHOPIFY)
    assert send("000000002", SHOPIFY)  # the same order released again: the same alias, renewed
    with pytest.raises(AliasTaken, match=f"already stands for order {SHOPIFY}"):
        send("000000003", "shopify-main.2")
    assert store.document_sent(WAREHOUSE, "000000003") is None  # nothing of the refused document was written
    assert store.group_sent(WAREHOUSE, "000000003") is None
    assert store.aliased_order(WAREHOUSE, "DSCOLLIDINGALIAS234567") == SHOPIFY


def test_a_940_whose_alias_stands_for_another_order_is_refused_and_its_file_withdrawn(rt, cli, warehouse):
    set_profile(cli)
    alias = order_alias(SHOPIFY)
    store = EdiStore(rt.outputs["EdiTableName"])
    assert store.record_sent(None, [], alias=OrderAlias(WAREHOUSE, alias, "shopify-main.7"))  # a collision, staged
    released = OrderReleased.model_validate(
        {"order_id": SHOPIFY, "location": "DC-EAST", "lines": [{"line": 1, "sku": "SKU-1", "quantity": 1}],
         "callback": f"https://api.example/v1/orders/{SHOPIFY}/pick-complete"}
    )  # fmt: skip
    envelope = Envelope[OrderReleased].wrap(released, source_partner="distrosync", occurred_at=datetime.now(UTC))
    publish([envelope], rt.outputs["EventBusName"])
    rt.drain()

    assert files(rt, ".x12") == {}
    versions = aws("s3").list_object_versions(Bucket=rt.outputs["EdiBucketName"], Prefix=f"outbound/{WAREHOUSE}/")
    assert [m["Key"] for m in versions.get("DeleteMarkers", [])] == [f"outbound/{WAREHOUSE}/000000001-940.x12"]
    assert store.document_sent(WAREHOUSE, envelope.id) is None and store.group_sent(WAREHOUSE, "1") is None
    assert store.aliased_order(WAREHOUSE, alias) == "shopify-main.7"
    assert emf_totals(rt.logs("edi_outbound"))["EdiDocumentRefused"] == 1
    assert any(f"alias {alias} of order {SHOPIFY} already stands for order shopify-main.7" in line
               for line in rt.logs("edi_outbound"))  # fmt: skip
