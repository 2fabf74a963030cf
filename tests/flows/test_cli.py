"""The `distrosync` command through its entry point: serve + partners --local + HTTP, and the demo."""

import json

import pytest

from cli import main as cli_main
from cli.client import PartnerClient, http_transport


@pytest.fixture
def served(dev_template_path, tmp_path, monkeypatch):
    """What `distrosync serve` runs: moto as a server, the API on a free port, the state file for --local."""
    from cli import target
    from cli.assembly import REPO_ROOT
    from local.http_server import start_http_server
    from local.runtime import LocalRuntime

    monkeypatch.setattr(target, "LOCAL_STATE", tmp_path / "local.json")
    rt = LocalRuntime.start(dev_template_path, source_root=REPO_ROOT, mode="server", state_dir=tmp_path)
    server = start_http_server(rt, port=0)
    try:
        yield rt, server.url
    finally:
        server.stop()
        rt.stop()


def run_cli(capsys, *argv):
    code = cli_main.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_partners_add_list_rotate_against_the_served_runtime(served, capsys):
    rt, url = served
    code, out, _ = run_cli(
        capsys,
        "partners",
        "add",
        "--id",
        "wh-east",
        "--kind",
        "warehouse",
        "--scope",
        "location:DC-EAST",
        "--local",
        "--json",
    )
    assert code == 0
    creds = json.loads(out)
    assert creds["partner_id"] == "wh-east" and len(creds["api_key"]) >= 20 and creds["signing_secret"]

    code, out, _ = run_cli(
        capsys, "partners", "add", "--id", "erp", "--kind", "erp", "--scope", "*", "--local", "--json"
    )
    erp_creds = json.loads(out)
    erp = PartnerClient(http_transport(url), erp_creds["api_key"], erp_creds["signing_secret"])
    assert erp.request("PUT", "/v1/locations/DC-EAST", json_body={"sequence": 1}).status == 200
    assert erp.request("PUT", "/v1/items/SKU-9", json_body={"sequence": 1}).status == 200

    client = PartnerClient(http_transport(url), creds["api_key"], creds["signing_secret"])
    body = {
        "sku": "SKU-9",
        "location": "DC-EAST",
        "on_hand": 7,
        "reason": "cycle_count",
        "sequence": 1,
        "occurred_at": "2026-11-26T08:00:00Z",
    }
    reply = client.post("/v1/inventory/adjustments", body)
    assert reply.status == 202, reply.body
    rt.drain()  # the server's pump may already have done it; draining again is harmless
    got = client.get("/v1/inventory/SKU-9", {"location": "DC-EAST"})
    assert got.status == 200 and got.json()["positions"][0]["on_hand"] == 7

    code, out, _ = run_cli(capsys, "partners", "list", "--local")
    assert code == 0 and "wh-east" in out and "warehouse" in out and creds["signing_secret"] not in out

    code, out, _ = run_cli(capsys, "partners", "rotate", "wh-east", "--local", "--json")
    rotated = json.loads(out)
    assert rotated["api_key"] != creds["api_key"]
    assert client.get("/v1/inventory/SKU-9").status == 401  # the old key is gone
    fresh = PartnerClient(http_transport(url), rotated["api_key"], rotated["signing_secret"])
    assert fresh.get("/v1/inventory/SKU-9").status == 200


def test_partner_errors_are_clear(served, capsys):
    code, _, err = run_cli(
        capsys, "partners", "add", "--id", "x-1", "--kind", "warehouse", "--scope", "planet:mars", "--local"
    )
    assert code == 2 and "scope kind 'planet'" in err
    code, _, err = run_cli(capsys, "partners", "add", "--id", "x-1", "--kind", "warehouse", "--tier", "gold", "--local")
    assert code == 2 and "tier must be one of" in err
    assert run_cli(capsys, "partners", "add", "--id", "x-1", "--kind", "carrier", "--local")[0] == 0
    code, _, err = run_cli(capsys, "partners", "add", "--id", "x-1", "--kind", "carrier", "--local")
    assert code == 2 and "already exists" in err


def test_local_commands_without_a_running_server_say_so(tmp_path, monkeypatch, capsys):
    from cli import target

    monkeypatch.setattr(target, "LOCAL_STATE", tmp_path / "absent.json")
    code, _, err = run_cli(capsys, "partners", "list", "--local")
    assert code == 2 and "distrosync serve" in err


def test_demo_runs_the_flow_and_exits_zero(dev_template_path, monkeypatch, capsys):
    from cli import local_session

    monkeypatch.setattr(local_session, "local_template", lambda env_name, **kw: dev_template_path)
    code, out, _ = run_cli(capsys, "demo")
    assert code == 0, out
    assert "on_hand 141, committed 0, reserved 10" in out and "available 120" in out
    assert "replayed, nothing new published" in out and "403 out-of-scope" in out
    assert "409 insufficient-stock" in out and "422 negative-on-hand" in out and "422 too-many-lines" in out
    assert "ATP rises with confirmed supply (120 -> 144 -> 336)" in out and "Shopify says untracked" in out
    assert "demo completed" in out
    # Part 2, supplier collaboration: the issue #4 scenario.
    assert "403 not-your-purchase-order" in out and "200 superseded" in out and "200 unchanged" in out
    assert "order_confirmation_no NF-ACK-881 (1 successful update)" in out and "WMS expects 120 CHAIR-1" in out
    assert "SO-1002/1 50 CHAIR-1" in out and "SO-1003/1 40 CHAIR-1" in out
    assert "demo part 2 completed" in out and "2 orders are at risk with new dates" in out
    po_trace = out[out.index("distrosync trace po:PO-4500") : out.index("demo part 2 completed")]
    assert "event  purchase_order.created PO-4500 v1 open 1 line (erp)" in po_trace
    assert "call   purchase_order.acknowledged PO-4500 -> erp: delivered" in po_trace
    assert po_trace.index("purchase_order.created") < po_trace.index("purchase_order.acknowledged PO-4500 1 line")
    # Part 3, order to ship: the issue #5 scenario through the synthesized state machine.
    assert "Shopify orders/create (X-Shopify-Webhook-Id 64f9a71e...)               -> 201 created" in out
    assert "Shopify retries the same delivery" in out and "-> 200 duplicate" in out
    assert "WMS: the same pick complete again" in out and "404 unknown-order" in out
    assert "shopify-main.820982911946154508: completed" in out and " delivered " in out
    assert "shipment_delayed: SO-2001 FedEx 1: promised 2024-08-03, now 2024-08-05" in out
    assert "SO-2002: cancelled, execution SUCCEEDED (ended in the compensation path)" in out
    assert "409 order-dispatched" in out and "SLA breaches 1" in out
    assert "demo part 3 completed" in out
    order_trace = out[out.index("distrosync trace order:shopify-main.820982911946154508") : out.index("demo part 3")]
    told = [line.strip().split("  ", 1)[1] for line in order_trace.splitlines()[1:] if line.strip()]
    assert told.index("event  order.created shopify-main.820982911946154508 2 lines (shopify-main)") < told.index(
        "step   Reserve entered"
    )
    assert "call   order.released shopify-main.820982911946154508 -> wh-east: delivered: HTTP 204" in told
    assert told.index("step   Track waits for its task token") < told.index("step   execution succeeded")
    # Part 4, the EDI gateway: the issue #6 scenario through S3 drops, 997s and TA1s read back.
    part4 = out[out.index("demo, part 4") :]
    assert "wrote outbound/mill-edi/000000001-850.x12: ISA13 000000001, GS06 000000001, ST02 0001" in part4
    assert "PO1*1*3*EA*4.5*PE*SK*9780446360265" in part4
    assert "000000005-" in part4 and "2004-12-31 is in the past" in part4
    assert "line 1 accepted, line 2 rejected, line 3 rejected, line 4 accepted" in part4
    assert "ISA13 000000006 duplicate: duplicate interchange: ZZ:1556150 used ISA13 000000006" in part4
    assert "-TA1.x12: TA1 000000006 201015 1534 R 025" in part4 and "-997.x12: AK1 PR 5, AK5 R, AK9 R 1 1 0" in part4
    assert "PO POTEST1112 unchanged" in part4
    assert "000000105-" in part4 and "-997.x12: AK1 PR 5, AK5 R 4, AK9 R 1 1 0" in part4
    assert "000000106-" in part4 and "-997.x12: AK1 PR 5, AK5 A, AK9 R 2 1 0 5" in part4
    assert "handed on to the purchasing flow: nothing" in part4
    assert "our group GS06 000000001 (850 POTEST1112): awaiting" in part4
    assert "our group GS06 000000001: accepted" in part4
    assert "on hand: SKU-1 118, SKU-2 480, 012345678912 0" in part4
    assert "wrote outbound/acme-3pl/000000002-940.x12" in part4 and "W05*N*SO-EDI-7001*CUST-PO-88" in part4
    assert "945 ST02 0001 (SO-EDI-7001) accepted" in part4
    assert "GET /v1/orders/SO-EDI-7001: fulfillment awaiting_dispatch" in part4
    assert "demo part 4 completed" in part4


def test_a_state_file_left_by_a_dead_server_is_not_trusted(tmp_path, monkeypatch, capsys):
    import subprocess
    import sys

    from cli import target

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    state = tmp_path / "local.json"
    state.write_text(json.dumps({"endpoint_url": "http://127.0.0.1:9", "outputs": {}, "pid": int(dead.stdout)}))
    monkeypatch.setattr(target, "LOCAL_STATE", state)
    code, _, err = run_cli(capsys, "partners", "list", "--local")
    assert code == 2 and "is not running" in err
