"""`distrosync demo` part 4: the EDI gateway (issue #6), on the embedded AWS.

A book supplier and a 3PL trade X12 with distrosync; both are partners like any API partner, with a trading partner
profile (`PartnerAdmin.set_edi`, what `distrosync edi partners set` calls). The ERP's purchase order becomes an 850
under `outbound/<supplier>/`; the supplier's 855 is dropped under `inbound/<supplier>/` as an SFTP upload would be:
the corpus file as it is gets a 997 that accepts it, but the purchasing flow refuses its delivery dates of 2004; resent
with its dates a month ahead (a new ISA13), it acknowledges the PO (lines 1 and 4 accepted, 2 and 3 rejected). The
same interchange again is refused as a duplicate (TA1 025 and a rejecting 997), a lying SE count gets AK5 R 4 and a
lying GE count AK9 R 5; the supplier's 997 for our 850 closes the group awaiting it. The 3PL's 846 counts the stock,
an order released by the order-to-ship state machine becomes a 940, and the 945 the 3PL answers completes its pick.

Ops watch `edi.interchange_processed` through a rule of their own on the bus (a queue); the files are read back
from the EDI bucket with distrosync's own reader.
"""

from __future__ import annotations

import json
import textwrap
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cli.assembly import REPO_ROOT
from cli.client import PartnerClient
from cli.corpus import CORPUS
from cli.demo_output import say
from cli.local_session import partner_client, register_partner, start_runtime

if TYPE_CHECKING:
    from shared.adapters.x12 import Group, Interchange, Transaction

LOCATION = "DC-EAST"
SUPPLIER_EDI, THREE_PL = "mill-edi", "acme-3pl"
PO = "POTEST1112"  # BAK03 of the corpus 855
# The four lines the corpus 855 acknowledges (PO1: line, quantity, EN product id = our SKU).
BOOKS = {
    1: ("9780446360265", 3, "Webster's New World Dictionary"),
    2: ("9780767928427", 2, "Clapton: The Autobiography"),
    3: ("9780099599531", 1, "Untitled (the 855 names no title)"),
    4: ("9780446360272", 2, "Webster's New World Thesaurus"),
}
X12_CORPUS = CORPUS / "x12"
SAMPLES = REPO_ROOT / "events" / "x12"  # the sets the corpus lacks (846, 945), written for the mappings
CORPUS_855 = "855_node-x12_855.edi"
SAMPLE_846 = "846_inventory_advice.edi"
# What the 846 sample counts: SKU-2 in cases of 12.
WIDGETS = {"SKU-1": {"each": 1}, "SKU-2": {"each": 1, "case": 12}, "012345678912": {"each": 1}}
ORDER = "SO-EDI-7001"
WATCHED = ("edi.interchange_processed", "purchase_order.acknowledged")


@dataclass
class _Edi:
    """The EDI bucket as the partners see it, and the ops queue watching the gateway's events."""

    rt: Any
    queue_url: str
    seen: list[dict[str, Any]]

    @classmethod
    def watch(cls, rt: Any) -> _Edi:
        """A rule on the bus to a queue of ops' own: what an ops team subscribes to see every interchange."""
        sqs, events = rt.clients("sqs"), rt.clients("events")
        url = sqs.create_queue(QueueName="ops-edi-watch")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = rt.outputs["EventBusName"]
        pattern = json.dumps({"detail-type": list(WATCHED)})
        events.put_rule(Name="ops-edi-watch", EventBusName=bus, EventPattern=pattern)
        events.put_targets(Rule="ops-edi-watch", EventBusName=bus, Targets=[{"Id": "ops", "Arn": arn}])
        return cls(rt, url, [])

    @property
    def bucket(self) -> str:
        return str(self.rt.outputs["EdiBucketName"])

    def events(self, event_type: str) -> list[dict[str, Any]]:
        sqs = self.rt.clients("sqs")
        while batch := sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            self.seen.extend(json.loads(m["Body"])["detail"] for m in batch)
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return [e for e in self.seen if e["type"] == event_type]

    def drop(self, partner_id: str, name: str, data: bytes) -> dict[str, Any]:
        """The partner uploads a file under inbound/<partner>/ (as over SFTP); the queues run; the interchange's
        `edi.interchange_processed` (the last one of that file)."""
        key = f"inbound/{partner_id}/{name}"
        self.rt.clients("s3").put_object(Bucket=self.bucket, Key=key, Body=data)
        self.rt.drain()
        done = [e["data"] for e in self.events("edi.interchange_processed") if e["data"]["object_key"] == key]
        if not done:
            raise RuntimeError(f"no edi.interchange_processed for {key}")
        return done[-1]

    def outbound(self, partner_id: str) -> dict[str, str]:
        """Key -> text of what distrosync wrote for the partner to pick up."""
        s3 = self.rt.clients("s3")
        listed = s3.list_objects_v2(Bucket=self.bucket, Prefix=f"outbound/{partner_id}/").get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read().decode() for o in listed}


# ------------------------------------------------------------------------------------------------ X12 reading
def _sets(text: str) -> list[tuple[Interchange, Group, Transaction]]:
    """(interchange, group, transaction) of every set in `text`, read with distrosync's reader."""
    from shared.adapters.x12 import read

    return [(ic, g, tx) for ic in read(text.encode()).interchanges for g in ic.groups for tx in g.transactions]


def _ta1(text: str) -> list[str]:
    """The TA1 segment of an interchange acknowledgment (the reader keeps it on the interchange)."""
    from shared.adapters.x12 import read

    (ic,) = read(text.encode()).interchanges
    return ic.acknowledgments[0] if ic.acknowledgments else []


def verdict(key: str, text: str) -> str:
    """What an ops person reads off an acknowledgment: its AK1/AK5/AK9 codes, or its TA1."""
    if key.endswith("-TA1.x12"):
        return " ".join(_ta1(text)[:6])
    parts = []
    for _, _, tx in _sets(text):
        for segment in tx.segments:
            if segment[0] in ("AK1", "AK5", "AK9"):
                parts.append(" ".join(segment))
    return ", ".join(parts)


def _segments(text: str, *ids: str) -> list[list[str]]:
    return [s for _, _, tx in _sets(text) for s in tx.segments if s[0] in ids]


def _say_wrapped(text: str, indent: int) -> None:
    """A long reason on as many lines as it needs, none wider than the demo's other lines."""
    print(textwrap.fill(text, width=118, initial_indent=" " * indent, subsequent_indent=" " * (indent + 4)))


def _report(done: dict[str, Any], files: dict[str, str]) -> None:
    """Print an interchange's outcome: its status, each set's, and the acknowledgments written back."""
    reason = f": {done['reason']}" if done.get("reason") else ""
    _say_wrapped(f"edi.interchange_processed: ISA13 {done['control_number']} {done['status']}{reason}", 4)
    for s in done["sets"]:
        why = f": {s['reason']}" if s.get("reason") else ""
        _say_wrapped(f"{s['set_id']} ST02 {s['control_number']} ({s.get('reference') or '-'}) {s['outcome']}{why}", 6)
    for key in done["acknowledgments"]:
        print(f"    wrote {key}: {verdict(key, files.get(key, ''))}")


# ---------------------------------------------------------------------------------------------- the partners
def _master_data(erp: PartnerClient) -> None:
    erp.request("PUT", f"/v1/locations/{LOCATION}", json_body={"name": "East DC", "sequence": 1})
    for sku, _, title in BOOKS.values():
        body = {"description": title, "units": {"each": 1}, "safety_stock": 0, "sequence": 1}
        erp.request("PUT", f"/v1/items/{sku}", json_body=body)
    for sku, units in WIDGETS.items():
        erp.request("PUT", f"/v1/items/{sku}", json_body={"units": units, "safety_stock": 0, "sequence": 1})
    print(f"  location {LOCATION}; items: four ISBNs (EN ids of the 855) and the 3PL's {', '.join(WIDGETS)}")


def _trading_partners(rt: Any, erp: PartnerClient) -> str:
    """The ERP's vendor record (the golden supplier), its EDI partner and the 3PL, each with its profile."""
    from shared.services.partner_admin import PartnerAdmin, StackResources

    vendor = {
        "local_id": "V-1556150",
        "sequence": 1,
        "legal_name": "Millbrook Book Distribution",
        "address": {"line1": "7615 Disalle Boulevard", "city": "Fort Wayne", "postal_code": "46825", "country": "US"},
    }
    reply = say("ERP: vendor record V-1556150 (Millbrook Book Distribution)", erp.post("/v1/supplier-records", vendor))
    supplier_id = str(reply.json()["supplier_id"])
    admin = PartnerAdmin(StackResources.from_outputs(rt.outputs))
    register_partner(rt, SUPPLIER_EDI, "supplier", [f"supplier:{supplier_id}"])
    profile: dict[str, object] = {
        "isa_qualifier": "ZZ",
        "isa_id": "1556150",
        "gs_id": "1556150",
        "our_isa_id": "123MILL",
        "our_gs_id": "123MILL",
        "inbound_sets": ["855", "856", "810", "997"],
        "outbound_sets": ["850"],
    }
    admin.set_edi(SUPPLIER_EDI, profile)
    print(f"  {SUPPLIER_EDI} (supplier, scope supplier:{supplier_id})")
    print("    profile: ISA ZZ:1556150, GS 1556150; ours ZZ:123MILL / 123MILL; in 855 856 810 997; out 850")
    register_partner(rt, THREE_PL, "warehouse", [f"location:{LOCATION}"])
    three_pl: dict[str, object] = {
        "isa_qualifier": "ZZ",
        "isa_id": "ACME3PL",
        "gs_id": "ACME3PL",
        "inbound_sets": ["846", "945", "997"],
        "outbound_sets": ["940"],
        "default_location": LOCATION,
    }
    admin.set_edi(THREE_PL, three_pl)
    print(f"  {THREE_PL} (warehouse, scope location:{LOCATION})")
    print("    profile: ISA ZZ:ACME3PL, GS ACME3PL; ours ZZ:DISTROSYNC; in 846 945 997; out 940")
    return supplier_id


# ------------------------------------------------------------------------------------------- the files
def _corpus_855() -> bytes:
    return (X12_CORPUS / CORPUS_855).read_bytes()


def _isa13(data: bytes, isa13: str) -> bytes:
    """Another ISA13 (and its IEA02): the corpus 855 says 000000005 in both and nowhere else."""
    if data.count(b"000000005") != 2:
        raise ValueError("the corpus 855 no longer holds ISA13 000000005 twice (ISA13 and IEA02)")
    return data.replace(b"000000005", isa13.encode())


def _dates_ahead(data: bytes, days: int = 30) -> bytes:
    """The corpus 855's delivery dates (SCH06 2004-12-31) moved `days` ahead, as its supplier corrects them."""
    ahead = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y%m%d").encode()
    return data.replace(b"*20041231*", b"*" + ahead + b"*")


def _supplier_997(text_850: str, first: int) -> bytes:
    """The 997 the supplier's EDI tool sends for our 850: distrosync's own ack module, from the 850's receiver back
    to its sender, control numbers from the supplier's own counter."""
    from shared.adapters.x12 import read
    from shared.adapters.x12.ack import counting_from, write_acks

    return write_acks(read(text_850.encode()), counting_from(first), datetime.now(UTC), line_break="\n").encode()


# ------------------------------------------------------------------------------------------------ the story
def _purchase_order(rt: Any, erp: PartnerClient, edi: _Edi) -> tuple[str, str] | None:
    """The ERP puts the PO; the 850 written for the supplier (key, text), None unless exactly one was."""
    lines = [
        {
            "line": n,
            "sku": sku,
            "quantity": quantity,
            "unit_price": "4.50",
            "requested_date": (datetime.now(UTC).date() + timedelta(days=14)).isoformat(),
        }
        for n, (sku, quantity, _) in BOOKS.items()
    ]
    body = {"revision": 1, "supplier": "V-1556150", "location": LOCATION, "erp_reference": "ERP-4711", "lines": lines}
    say(f"ERP: PO {PO}, 4 lines (3+2+1+2 books)", erp.request("PUT", f"/v1/purchase-orders/{PO}", json_body=body))
    rt.drain()
    files = edi.outbound(SUPPLIER_EDI)
    sent = [key for key in files if key.endswith("-850.x12")]
    if len(sent) != 1:
        print(f"  outbound/{SUPPLIER_EDI}/ holds {len(sent)} 850s, not one")
        return None
    ((ic, group, tx),) = _sets(files[sent[0]])
    print(f"  wrote {sent[0]}: ISA13 {ic.control_number}, GS06 {group.control_number}, ST02 {tx.control_number}")
    for segment in tx.segments:
        if segment[0] in ("BEG", "REF", "N1", "PO1", "CTT"):
            print("    " + "*".join(segment))
    return sent[0], files[sent[0]]


def _po_lines(erp: PartnerClient) -> dict[int, str]:
    view = erp.get(f"/v1/purchase-orders/{PO}").json()
    return {line["line"]: line["status"] for line in view["lines"]}


def _handed_on(edi: _Edi, isa13: str) -> list[str]:
    """Acknowledgments the purchasing flow took from one interchange of the supplier."""
    return [
        e["data"]["acknowledgment_id"]
        for e in edi.events("purchase_order.acknowledged")
        if e["correlation_id"] == f"edi-{SUPPLIER_EDI}-{isa13}"
    ]


def _wait(rt: Any, what: str, check: Any, timeout: float = 30.0) -> Any:
    """Drain the queues until `check()` is truthy; the state machine runs in the background meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rt.drain()
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise TimeoutError(f"the demo waited {timeout:.0f}s for {what}")


def _order_status(erp: PartnerClient, order_id: str, *statuses: str) -> str | None:
    reply = erp.get(f"/v1/orders/{order_id}")
    status = (reply.json() or {}).get("fulfillment", {}).get("status") if reply.status == 200 else None
    return status if status in statuses else None


def _on_hand(erp: PartnerClient, sku: str) -> int | None:
    positions = erp.get(f"/v1/inventory/{sku}", {"location": LOCATION}).json().get("positions") or []
    return int(positions[0]["on_hand"]) if positions else None


def _refusals(erp: PartnerClient, edi: _Edi, corrected: bytes, acknowledged: dict[int, str]) -> bool:
    """Steps 4 and 5: a duplicate ISA13 (TA1 025 and a rejecting 997) and two lying envelopes (AK5 R 4, AK9 R 5),
    none of them handed on. True when each was refused with its codes and the PO did not change."""
    print("\n[4/7] The same interchange again under another file name (its EDI tool re-sent the folder)")
    duplicate = edi.drop(SUPPLIER_EDI, "855-resent.edi", corrected)
    files = edi.outbound(SUPPLIER_EDI)
    _report(duplicate, files)
    said = [verdict(k, files[k]) for k in duplicate["acknowledgments"]]
    refused_twice = (
        len(said) == 2 and said[0].endswith(" R 025") and "AK5 R" in said[1] and said[1].endswith("AK9 R 1 1 0")
    )
    unchanged = _po_lines(erp) == acknowledged and _handed_on(edi, "000000006") == ["x12-000000006-5-0005"]
    print(f"  PO {PO} {'unchanged' if unchanged else 'CHANGED'}; the flow took the interchange once")

    print("\n[5/7] Envelopes that lie: SE01 says 25 segments (there are 26), GE01 says 2 sets (there is 1)")
    lying_se = _isa13(_corpus_855(), "000000105").replace(b"SE*26*0005", b"SE*25*0005")
    se = edi.drop(SUPPLIER_EDI, "855-lying-se.edi", lying_se)
    files = edi.outbound(SUPPLIER_EDI)
    _report(se, files)
    se_said = [verdict(k, files[k]) for k in se["acknowledgments"]]
    lying_ge = _isa13(_corpus_855(), "000000106").replace(b"GE*1*5", b"GE*2*5")
    ge = edi.drop(SUPPLIER_EDI, "855-lying-ge.edi", lying_ge)
    files = edi.outbound(SUPPLIER_EDI)
    _report(ge, files)
    ge_said = [verdict(k, files[k]) for k in ge["acknowledgments"]]
    lies_kept_out = not _handed_on(edi, "000000105") and not _handed_on(edi, "000000106")
    print(f"  handed on to the purchasing flow: {'nothing' if lies_kept_out else 'SOMETHING'}")
    return (
        duplicate["status"] == "duplicate"
        and refused_twice
        and unchanged
        and se["status"] == ge["status"] == "rejected"
        and se_said == ["AK1 PR 5, AK5 R 4, AK9 R 1 1 0"]
        and ge_said == ["AK1 PR 5, AK5 A, AK9 R 2 1 0 5"]
        and lies_kept_out
    )


def _three_pl(rt: Any, erp: PartnerClient, edi: _Edi) -> bool:
    """Step 7: the 3PL's 846 counts the stock, an order released by the state machine becomes a 940, and the 945
    built from it moves the order past its pick. True when each did."""
    print(f"\n[7/7] The 3PL: its 846 counts {LOCATION}, an order becomes a 940, its 945 confirms the pick")
    counted = edi.drop(THREE_PL, SAMPLE_846, (SAMPLES / SAMPLE_846).read_bytes())
    _report(counted, edi.outbound(THREE_PL))
    on_hand = {sku: _on_hand(erp, sku) for sku in WIDGETS}
    print("  on hand: " + ", ".join(f"{sku} {n}" for sku, n in on_hand.items()) + " (SKU-2: 40 cases of 12)")
    wanted = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    order = {
        "order_id": ORDER,
        "placed_at": datetime.now(UTC).isoformat(),
        "customer_ref": "CUST-PO-88",
        "ship_to": {
            "name": "Jane Doe",
            "address1": "12 Main St",
            "city": "Springfield",
            "region": "IL",
            "postal_code": "62701",
            "country": "US",
        },
        "lines": [
            {"line": n, "sku": sku, "location": LOCATION, "quantity": quantity, "requested_date": wanted}
            for n, sku, quantity in ((1, "SKU-1", 10), (2, "SKU-2", 24))
        ],
    }
    say(f"ERP: order {ORDER}, 10 SKU-1 and 24 SKU-2", erp.post("/v1/orders", order), "created")
    _wait(rt, f"{ORDER} released", lambda: _order_status(erp, ORDER, "released"))
    sent_940 = _wait(rt, "the 940", lambda: [k for k in edi.outbound(THREE_PL) if k.endswith("-940.x12")])
    text_940 = edi.outbound(THREE_PL)[sent_940[0]]
    ((ic_940, _, _),) = _sets(text_940)
    print(f"  {ORDER} released by the state machine; wrote {sent_940[0]}: ISA13 {ic_940.control_number}")
    for segment in _segments(text_940, "W05", "LX", "W01", "W76"):
        print("    " + "*".join(segment))
    from local.simulators.warehouse_edi import shipping_advice_945

    when = datetime.now(UTC).replace(second=0, microsecond=0)
    ups = ("UPSN", "UPS GROUND")
    advice = shipping_advice_945(text_940, 947, when, ship_from=("ACME EAST DC", LOCATION), carrier=ups)
    print("  the 3PL's EDI tool answers with a 945: " + ", ".join(f"line {n}: {q} shipped" for n, q in advice.lines))
    shipped = edi.drop(THREE_PL, "945-000000947.edi", advice.text.encode())
    _report(shipped, edi.outbound(THREE_PL))
    status = _wait(rt, f"{ORDER} past its pick", lambda: _order_status(erp, ORDER, "awaiting_dispatch"))
    print(f"  GET /v1/orders/{ORDER}: fulfillment {status} (picked; shipment-ready sent, waiting for dispatch)")
    return (
        counted["status"] == "accepted"
        and on_hand == {"SKU-1": 118, "SKU-2": 480, "012345678912": 0}
        and shipped["status"] == "accepted"
        and status == "awaiting_dispatch"
    )


def run_edi_demo(env_name: str = "dev") -> int:
    from cli.demo_orders import DEMO_TIMERS
    from shared.aws.edi_store import EdiStore

    print("distrosync demo, part 4: the EDI gateway (X12) on an embedded AWS (moto), partners on SFTP folders\n")
    print("[1/7] The stack, the ERP, and two trading partners (partners like any other, with an X12 profile)")
    started = time.perf_counter()
    rt = start_runtime(env_name, quiet=True)
    rt.functions.configure("order_starter", ORDER_FLOW_TIMERS=json.dumps(DEMO_TIMERS))
    try:
        print(f"  stack created in {time.perf_counter() - started:.1f}s; EDI bucket {rt.outputs['EdiBucketName']}")
        edi = _Edi.watch(rt)
        erp = partner_client(rt, register_partner(rt, "erp", "erp", ["location:*"]))
        _master_data(erp)
        _trading_partners(rt, erp)
        rt.drain()

        print(f"\n[2/7] The ERP sends PO {PO}: an 850 for the supplier to pick up under outbound/{SUPPLIER_EDI}/")
        sent = _purchase_order(rt, erp, edi)
        if sent is None:
            print("\ndemo part 4 FAILED: the PO became no 850")
            return 1
        key_850, text_850 = sent

        print(f"\n[3/7] The supplier uploads its 855 (the corpus file, as it is) to inbound/{SUPPLIER_EDI}/")
        as_is = edi.drop(SUPPLIER_EDI, CORPUS_855, _corpus_855())
        _report(as_is, edi.outbound(SUPPLIER_EDI))
        untouched = _po_lines(erp)
        print(f"  GET /v1/purchase-orders/{PO}: " + ", ".join(f"line {n} {s}" for n, s in untouched.items()))
        print("  (its envelope is right, so its 997 accepts it; the purchasing flow refused its 2004 delivery dates)")
        print("  the supplier corrects its delivery dates (SCH06 a month ahead) and resends as ISA13 000000006")
        corrected = _isa13(_dates_ahead(_corpus_855()), "000000006")
        resent = edi.drop(SUPPLIER_EDI, "855-000000006.edi", corrected)
        _report(resent, edi.outbound(SUPPLIER_EDI))
        acknowledged = _po_lines(erp)
        print(f"  GET /v1/purchase-orders/{PO}: " + ", ".join(f"line {n} {s}" for n, s in acknowledged.items()))

        refused = _refusals(erp, edi, corrected, acknowledged)

        print(f"\n[6/7] The supplier's EDI tool acknowledges our 850 ({key_850}) with a 997")
        store = EdiStore(rt.outputs["EdiTableName"])
        ((_, group_850, _),) = _sets(text_850)
        gs06 = group_850.control_number
        before = store.group_sent(SUPPLIER_EDI, gs06)
        print(f"  our group GS06 {gs06} (850 {PO}): {before.status if before else 'not recorded'}")
        their_997 = _supplier_997(text_850, 201)
        print(
            "  their 997: " + " | ".join("*".join(s) for s in _segments(their_997.decode(), "AK1", "AK2", "AK5", "AK9"))
        )
        fa = edi.drop(SUPPLIER_EDI, "997-000000201.edi", their_997)
        _report(fa, edi.outbound(SUPPLIER_EDI))
        after = store.group_sent(SUPPLIER_EDI, gs06)
        print(f"  our group GS06 {gs06}: {after.status if after else 'not recorded'} (no longer awaiting its 997)")

        three_pl = _three_pl(rt, erp, edi)

        ok = (
            as_is["status"] == "rejected"
            and set(untouched.values()) == {"open"}
            and resent["status"] == "accepted"
            and acknowledged == {1: "accepted", 2: "rejected", 3: "rejected", 4: "accepted"}
            and refused
            and fa["status"] == "accepted"
            and after is not None
            and after.status == "accepted"
            and three_pl
        )
        print(
            "\ndemo part 4 "
            + (
                f"completed: the 850 went out and was acknowledged, the 855 acknowledged {PO} once, the duplicate "
                f"and the lying counts were refused with their codes, the 3PL's 846, 940 and 945 moved {ORDER} past "
                "its pick"
                if ok
                else "FAILED"
            )
        )
        return 0 if ok else 1
    finally:
        rt.stop()
