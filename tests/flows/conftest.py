"""Flow tests run the real handlers on the embedded runtime built from the synthesized template.

Fixtures for everyone:
- `rt`: the runtime; `catalog`: an ERP partner and the master data every flow uses, written through the API
  (items SKU-1..SKU-5 with units each=1, case=12, pallet=480 and no safety stock; locations DC-EAST, DC-WEST);
- `warehouse` / `client`: the warehouse partner wh-east (scope location:DC-EAST) and its API client;
- `erp_client`: the ERP's API client (kind erp, scope location:*);
- `acme`: a supplier created the real way (the ERP's vendor record) with its portal partner (purchasing_helpers.py);
- `captured_events`: a function returning the envelopes published on the bus since the fixture was set up,
  optionally of some types: `captured_events("inventory.adjusted")`;
- `cli`: `distrosync ...` through its entry point against this runtime: `cli("channels", "list", stdin="")`
  returns (exit code, stdout, stderr).

State machine executions run only in tests marked `order_flow` (`pytestmark = pytest.mark.order_flow`): the
orders of other tests would otherwise be reserved and released by the order-to-ship flow in background threads.
Marked tests get the short timers of `order_flow_fixtures.FLOW_TIMERS`; see order_flow_fixtures.py.
"""

import io
import json
import sys
import uuid
from dataclasses import dataclass

import pytest

from cli import main as cli_main
from cli.local_session import partner_client, register_partner
from shared.services.partner_admin import Credentials

CATALOG_SKUS = tuple(f"SKU-{n}" for n in range(1, 6))
CATALOG_LOCATIONS = ("DC-EAST", "DC-WEST")
CATALOG_UNITS = {"each": 1, "case": 12, "pallet": 480}


@dataclass(frozen=True)
class Catalog:
    erp: Credentials
    skus: tuple[str, ...] = CATALOG_SKUS
    locations: tuple[str, ...] = CATALOG_LOCATIONS
    units: tuple[tuple[str, int], ...] = tuple(CATALOG_UNITS.items())


@pytest.fixture(scope="session")
def runtime_pool(dev_template_path):
    from tests.runtime_pool import RuntimePool

    pool = RuntimePool(dev_template_path)
    yield pool
    pool.close()


@pytest.fixture
def rt(request, runtime_pool):
    """The dev stack, as just provisioned (the pool's runtime, reset to its checkpoint); with the catalog already
    written when the test asks for `catalog` (the pool keeps a checkpoint of it), unless it is marked `own_catalog`
    (its fixtures must come first: the `catalog` fixture then writes it in its turn)."""
    from tests.flows.order_flow_fixtures import FLOW_TIMERS
    from tests.runtime_pool import Preparation

    flows = request.node.get_closest_marker("order_flow") is not None
    own_catalog = request.node.get_closest_marker("own_catalog") is not None
    prepare = Preparation("catalog", write_catalog) if "catalog" in request.fixturenames and not own_catalog else None
    runtime = runtime_pool.acquire(execute_state_machines=flows, prepare=prepare)
    if flows:
        runtime.functions.configure("order_starter", ORDER_FLOW_TIMERS=json.dumps(FLOW_TIMERS))
    try:
        yield runtime
    finally:
        runtime_pool.release(runtime)


def write_catalog(rt) -> Catalog:
    """The ERP partner and the master data every flow uses, written through the API and drained."""
    erp = register_partner(rt, "erp", "erp", ["location:*"])
    api = partner_client(rt, erp)
    for sku in CATALOG_SKUS:
        reply = api.request(
            "PUT", f"/v1/items/{sku}", json_body={"units": CATALOG_UNITS, "safety_stock": 0, "sequence": 1}
        )
        assert reply.status == 200, reply.body
    for code in CATALOG_LOCATIONS:
        reply = api.request("PUT", f"/v1/locations/{code}", json_body={"name": code, "sequence": 1})
        assert reply.status == 200, reply.body
    report = rt.drain()  # consumers of item.updated see the catalog before the test starts
    assert report.drained, report
    return Catalog(erp=erp)


@pytest.fixture
def catalog(rt, runtime_pool):
    try:
        return runtime_pool.prepared("catalog")
    except KeyError:  # a module's own runtime, not the pool's
        return write_catalog(rt)


@pytest.fixture
def erp_client(rt, catalog):
    return partner_client(rt, catalog.erp)


@pytest.fixture
def warehouse(rt, catalog):
    return register_partner(rt, "wh-east", "warehouse", ["location:DC-EAST"])


@pytest.fixture
def client(rt, warehouse):
    return partner_client(rt, warehouse)


@pytest.fixture
def acme(rt, erp_client):
    """The supplier ACME (the ERP's vendor V-100, a golden supplier) and its portal partner acme-portal."""
    from purchasing_helpers import create_supplier

    return create_supplier(rt, erp_client)


@pytest.fixture
def captured_events(rt):
    """A rule on the bus sends every distrosync event to a queue of the test's own; the returned function
    drains that queue and lists every envelope captured so far, in publication order."""
    from shared.aws.clients import client as aws

    bus, name = rt.outputs["EventBusName"], f"captured-{uuid.uuid4().hex[:12]}"
    sqs, events = aws("sqs"), aws("events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": "distrosync."}]}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "capture", "Arn": arn}])
    seen: list[dict] = []

    def captured(*types: str) -> list[dict]:
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            seen.extend(json.loads(m["Body"])["detail"] for m in batch)
            sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            )
        return [e for e in seen if not types or e["type"] in types]

    return captured


@pytest.fixture
def cli(rt, monkeypatch, capsys):
    """`distrosync ...` through its entry point, acting on this runtime (what --local resolves to)."""
    from cli import target

    monkeypatch.setattr(target, "resolve", lambda local, stack: target.Target("local", rt.outputs))

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = cli_main.main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
