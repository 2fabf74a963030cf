"""Helpers of the inbound EDI flow tests (docs/edi.md, "Gateway"): one embedded runtime per test module, with the
catalog, the trading partners (each registered the real way, then given the profile that matches its corpus file's
own ISA/GS ids through `PartnerAdmin.set_edi`, what `distrosync edi partners set` calls) and a tap on the bus.

- `start_world(request, template)`: a generator for a module-scoped fixture; yields an `EdiWorld`;
- `EdiWorld.drop(partner, data, name)`: a file put under `inbound/<partner>/` as an SFTP upload would, processed
  (S3 -> EventBridge -> SQS -> edi_inbound); `EdiWorld.processed(key)`: its `edi.interchange_processed` events;
- `EdiWorld.outbound(partner)`: what distrosync wrote for the partner under `outbound/<partner>/` (key -> text);
- `acks(text)`: the AK5/AK9 and TA1 segments of outbound files, read back with our reader.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.assembly import REPO_ROOT
from cli.client import PartnerClient
from cli.corpus import CORPUS
from cli.local_session import partner_client, register_partner
from shared.services.partner_admin import PartnerAdmin, StackResources

X12 = CORPUS / "x12"
SAMPLES = REPO_ROOT / "events" / "x12"  # sets the corpus lacks (846, 945), written for the mappings' tests
ITEM_UNITS = {"each": 1, "case": 12, "pallet": 480}
LOCATIONS = ("DC-EAST", "DC-WEST")
# Items of the catalog: SKU-1..5, and the product ids the corpus files name (used as the SKU, docs/edi.md).
ITEMS = (
    *(f"SKU-{n}" for n in range(1, 6)),
    "AB3542",  # 850_node-x12_850.edi (VN)
    "RD5322",
    "XY5266",
    "VX2332",
    "RV0524",
    "DX1875",
    "012345678912",  # 846_inventory_advice.edi (UP)
    "002840022222",  # 810_staedi_simple810.edi (UA)
    "002840033333",
    "002840044444",
    "002840055555",
    "002840066666",
    "002840077777",
    "002840088888",
)


def corpus(name: str) -> bytes:
    return (X12 / name).read_bytes()


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def segments(text: str) -> list[list[str]]:
    """Every segment of an X12 file we wrote (ISA..IEA included), read back with the reader."""
    from shared.adapters.x12 import read

    result = read(text)
    assert result.ok, result.errors
    out: list[list[str]] = []
    for ic in result.interchanges:
        for group in ic.groups:
            for tx in group.transactions:
                out.extend(tx.segments)
    return out


def ta1(text: str) -> list[str]:
    """The TA1 segment of a TA1 file, read back with the reader (no envelope error)."""
    from shared.adapters.x12 import read

    result = read(text)
    assert result.ok, result.errors
    ((segment,),) = [ic.acknowledgments for ic in result.interchanges]
    return segment


class EventTap:
    """A rule on the bus sends every distrosync event to a queue of the module's own; `events()` drains it."""

    def __init__(self, rt: Any) -> None:
        from shared.aws.clients import client as aws

        self._sqs, events = aws("sqs"), aws("events")
        bus, name = rt.outputs["EventBusName"], f"edi-tap-{uuid.uuid4().hex[:12]}"
        self._url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": "distrosync."}]}))
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
        self._seen: list[dict[str, Any]] = []

    def events(self, *types: str) -> list[dict[str, Any]]:
        while batch := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", []):
            self._seen.extend(json.loads(m["Body"])["detail"] for m in batch)
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        return [e for e in self._seen if not types or e["type"] in types]


@dataclass
class EdiWorld:
    rt: Any
    erp: PartnerClient
    tap: EventTap
    admin: PartnerAdmin
    clients: dict[str, PartnerClient] = field(default_factory=dict)

    @property
    def bucket(self) -> str:
        return self.rt.outputs["EdiBucketName"]

    def trading_partner(self, partner_id: str, kind: str, scopes: list[str], **profile: Any) -> PartnerClient:
        """A partner registered as any other, then given its trading partner profile."""
        creds = register_partner(self.rt, partner_id, kind, scopes)
        self.admin.set_edi(partner_id, profile)
        self.clients[partner_id] = partner_client(self.rt, creds)
        return self.clients[partner_id]

    def supplier_on_edi(self, partner_id: str, supplier: dict[str, Any], **profile: Any) -> Any:
        """A supplier created the real way (the ERP's vendor record, `supplier` its fields for `create_supplier`)
        and its trading partner, scoped to it, that our 850s go to (`profile` the rest of its profile). Returns the
        supplier."""
        from tests.flows.purchasing_helpers import create_supplier

        created = create_supplier(self.rt, self.erp, **supplier)
        self.trading_partner(
            partner_id, "supplier", [f"supplier:{created.supplier_id}"], outbound_sets=["850"], **profile
        )
        # edi_outbound reads the profiles once a minute: its cold start stands for that minute here.
        self.rt.functions.configure("edi_outbound")
        return created

    def drop(self, partner_id: str, data: bytes, name: str) -> str:
        """Put a file under inbound/<partner>/ (as SFTP would) and let the queues run; returns its key."""
        from shared.aws.clients import client as aws

        key = f"inbound/{partner_id}/{name}"
        aws("s3").put_object(Bucket=self.bucket, Key=key, Body=data)
        self.rt.drain()
        return key

    def processed(self, object_key: str) -> list[dict[str, Any]]:
        """The `data` of the edi.interchange_processed events of one inbound file, in publication order."""
        return [
            e["data"] for e in self.tap.events("edi.interchange_processed") if e["data"]["object_key"] == object_key
        ]

    def outbound(self, partner_id: str) -> dict[str, str]:
        """Key -> text of every file distrosync wrote for the partner."""
        from shared.aws.clients import client as aws

        s3 = aws("s3")
        listed = s3.list_objects_v2(Bucket=self.bucket, Prefix=f"outbound/{partner_id}/").get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read().decode() for o in listed}

    def count_stock(self, client: PartnerClient, location: str, counts: dict[str, int]) -> None:
        """Absolute counts through the warehouse's API (one snapshot), projected."""
        from shared.canonical.envelope import utcnow

        body = {
            "location": location,
            "snapshot_id": f"count-{uuid.uuid4().hex[:8]}",
            "sequence": 1,
            "taken_at": utcnow().isoformat(),
            "lines": [{"sku": sku, "on_hand": n} for sku, n in counts.items()],
        }
        reply = client.post("/v1/inventory/snapshots", body)
        assert reply.status == 202, reply.body
        self.rt.drain()


def start_world(request: Any, template: Path) -> Iterator[EdiWorld]:
    """The runtime (order-to-ship executions on when the module is marked `order_flow`), the catalog through the
    ERP's API, and the tap. Partners are the tests' to register."""
    from local.runtime import LocalRuntime
    from tests.flows.order_flow_fixtures import FLOW_TIMERS

    flows = request.node.get_closest_marker("order_flow") is not None
    rt = LocalRuntime.start(template, source_root=REPO_ROOT, mode="inprocess", execute_state_machines=flows)
    try:
        if flows:
            rt.functions.configure("order_starter", ORDER_FLOW_TIMERS=json.dumps(FLOW_TIMERS))
        erp = partner_client(rt, register_partner(rt, "erp", "erp", ["location:*"]))
        for sku in ITEMS:
            reply = erp.request(
                "PUT", f"/v1/items/{sku}", json_body={"units": ITEM_UNITS, "safety_stock": 0, "sequence": 1}
            )
            assert reply.status == 200, reply.body
        for code in LOCATIONS:
            reply = erp.request("PUT", f"/v1/locations/{code}", json_body={"name": code, "sequence": 1})
            assert reply.status == 200, reply.body
        rt.drain()
        yield EdiWorld(rt, erp, EventTap(rt), PartnerAdmin(StackResources.from_outputs(rt.outputs)))
    finally:
        rt.stop()
