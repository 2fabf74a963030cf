"""Outbound delivery on the embedded runtime: events published on the bus reach the systems subscribed to them.

The ERP (ERPNext simulator) and the WMS / planning tools (webhook receivers) are connected like `distrosync
systems add` does; events are published on the bus as their producers publish them; `rt.drain()` runs the
outbound function with Lambda's SQS semantics (partial batch failures, retries, the DLQ after
maxReceiveCount).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from cli.local_session import emf_totals
from shared.aws.bus import publish
from shared.aws.clients import client as aws
from shared.aws.delivery_store import DeliveryKey
from shared.canonical.envelope import Envelope
from shared.canonical.purchasing import (
    AckLineOutcome,
    ExpectedLine,
    InboundExpectationChanged,
    PurchaseOrderAcknowledged,
    ReplenishmentRiskChanged,
)
from shared.canonical.supplier import SupplierUpdated, SupplierView
from shared.services.partner_admin import PartnerAdminError
from shared.services.system_admin import SystemAdmin
from tests.flows.systems_fixtures import connect_system

SUPPLIER_ID = "SUP-01HZX4TESTACME"
NOW = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


# ------------------------------------------------------------------------------------------------ helpers
def send(rt, *envelopes: Envelope) -> None:
    publish(list(envelopes), rt.outputs["EventBusName"])


def acknowledgment(ack_id: str = "ACK-1", version: int = 2, confirmed: int = 60, **overrides) -> Envelope:
    outcome = {
        "line": 1,
        "sku": "SKU-1",
        "location": "DC-EAST",
        "status": "changed",
        "ordered_quantity": 100,
        "confirmed_quantity": confirmed,
        "promised_date": date(2026, 3, 20),
        "unit_price": Decimal("2.40"),
        **overrides,
    }
    data = PurchaseOrderAcknowledged(
        po_number="PO-1001",
        supplier_id=SUPPLIER_ID,
        acknowledgment_id=ack_id,
        issued_at=NOW,
        version=version,
        lines=[AckLineOutcome(**outcome)],
    )
    return Envelope.wrap(data, source_partner="acme", occurred_at=NOW, correlation_id=f"corr-{ack_id}")


def supplier_updated(origin: str, xrefs: dict[str, str], version: int = 3) -> Envelope:
    view = SupplierView(
        supplier_id=SUPPLIER_ID,
        legal_name="Acme Industrial Supply LLC",
        tax_id="12-3456789",
        status="on_hold",
        cross_references=xrefs,
        version=version,
    )
    return Envelope.wrap(
        SupplierUpdated(supplier=view, changed=["status"], origin_system=origin), source_partner=origin, occurred_at=NOW
    )


def expectation(version: int = 2) -> Envelope:
    data = InboundExpectationChanged(
        po_number="PO-1001",
        supplier_id=SUPPLIER_ID,
        location="DC-EAST",
        version=version,
        lines=[
            ExpectedLine(
                line=1,
                sku="SKU-1",
                reference="PO-1001/1",
                kind="on_order",
                quantity=60,
                expected_date=date(2026, 3, 20),
            )
        ],
    )
    return Envelope.wrap(data, source_partner="purchasing", occurred_at=NOW)


def outbound_dlq_depth(rt) -> int:
    return sum(q.depth for q in rt.queues() if q.is_dlq and "outbound" in q.name)


def record(rt, key: DeliveryKey) -> dict:
    item = aws("dynamodb").get_item(TableName=rt.outputs["IdempotencyTableName"], Key={"id": {"S": key.item_id}})
    return {k: next(iter(v.values())) for k, v in item.get("Item", {}).items()}


@pytest.fixture
def erp(rt, erpnext):
    """The ERP connected as a system, with PO-1001 (SKU-1 x 100, SKU-2 x 40) and supplier ACME-001."""
    erpnext.add_purchase_order(
        "PO-1001",
        "ACME-001",
        [
            {"item_code": "SKU-1", "qty": 100, "rate": 2.5, "schedule_date": "2026-03-01"},
            {"item_code": "SKU-2", "qty": 40, "rate": 10, "schedule_date": "2026-03-01", "received_qty": 30},
        ],
    )
    erpnext.add_supplier("ACME-001", "Acme Industrial")
    connect_system(
        rt,
        "erp",
        "erp",
        "erpnext",
        target=erpnext,
        subscriptions=["purchase_order.acknowledged", "supplier.updated"],
        max_attempts=2,
    )
    return erpnext


# -------------------------------------------------------------------------------------------------- flows
def test_an_acknowledgment_updates_the_erps_order_once(rt, erp):
    envelope = acknowledgment()
    send(rt, envelope)
    report = rt.drain()
    assert report.drained and not report.failed_records, report
    po = erp.doc("Purchase Order", "PO-1001")
    assert po["order_confirmation_no"] == "ACK-1"
    assert (po["items"][0]["qty"], po["items"][0]["rate"], po["items"][0]["schedule_date"]) == (60, 2.4, "2026-03-20")
    assert {c.correlation_id for c in erp.calls} == {"corr-ACK-1"}
    calls = len(erp.calls)

    send(rt, envelope)  # a duplicate from upstream: the delivery record says it is served
    rt.drain()
    assert len(erp.calls) == calls
    totals = emf_totals(rt.logs("outbound"))
    assert (totals["Delivered"], totals["AlreadyDelivered"]) == (1, 1)


def test_an_older_acknowledgment_after_a_newer_one_is_not_sent(rt, erp):
    send(rt, acknowledgment("ACK-2", version=3, confirmed=70))
    rt.drain()
    send(rt, acknowledgment("ACK-1", version=2, confirmed=60))
    rt.drain()
    po = erp.doc("Purchase Order", "PO-1001")
    assert (po["order_confirmation_no"], po["items"][0]["qty"]) == ("ACK-2", 70)
    assert len(erp.calls_to("PUT")) == 1


def test_erp_outage_and_rate_limits_the_update_waits_and_arrives_once(rt, erp):
    """Two deliveries fail on 503s (two attempts each) and the message waits for the ERP (re-sent with a delay,
    docs/reliability.md); the third meets a 429, waits its Retry-After and gets through: the update lands exactly
    once and nothing reaches the DLQ."""
    erp.fail_next(4, status=503)
    erp.rate_limit_next(1, retry_after=1)
    send(rt, acknowledgment())
    report = rt.drain()
    assert report.drained and report.failed_records == 0, report
    assert report.invocations["outbound"] == 3
    assert [c.status for c in erp.calls_to("GET")] == [503, 503, 503, 503, 429, 200]
    assert [c.status for c in erp.calls_to("POST")] == [200] and [c.status for c in erp.calls_to("PUT")] == [200]
    assert erp.doc("Purchase Order", "PO-1001")["order_confirmation_no"] == "ACK-1"
    assert outbound_dlq_depth(rt) == 0
    totals = emf_totals(rt.logs("outbound"))
    assert (totals["DeliveryDeferred"], totals["Delivered"], totals["PartnerWait"]) == (2, 1, 2)


def test_an_erp_down_longer_than_the_retries_leaves_the_event_in_the_dlq_not_lost(rt, erp):
    rt.functions.configure("outbound", PARTNER_WAIT_HOURS=str(2 / 3600))  # waits for the ERP for 2 s, not 72 h
    erp.down = True
    send(rt, acknowledgment())
    rt.drain()
    assert outbound_dlq_depth(rt) == 1
    assert erp.doc("Purchase Order", "PO-1001")["order_confirmation_no"] is None


def test_a_permanent_refusal_is_recorded_with_its_reason_and_not_retried(rt, erp):
    envelope = acknowledgment(line=2, sku="SKU-2", ordered_quantity=40, confirmed=10)  # 30 received already
    send(rt, envelope)
    report = rt.drain()
    assert report.drained and not report.failed_records
    assert len(erp.calls_to("POST")) == 1 and erp.calls_to("PUT") == []
    saved = record(rt, DeliveryKey("erp", envelope.id, "purchase_order.acknowledged#PO-1001", 2))
    assert saved["status"] == "rejected"
    assert saved["detail"] == "ValidationError: Cannot set quantity less than received quantity"
    assert emf_totals(rt.logs("outbound"))["DeliveryRejected"] == 1
    assert any("delivery rejected by the system" in line for line in rt.logs("outbound"))
    assert outbound_dlq_depth(rt) == 0


def test_the_wms_receives_its_signed_expectation_and_planning_its_risk(rt, webhook_receiver):
    wms, planning = webhook_receiver(), webhook_receiver("/planning")
    connect_system(rt, "wms", "warehouse", "webhook", target=wms, subscriptions=["inbound.expectation_changed"])
    connect_system(rt, "planner", "planning", "webhook", target=planning, subscriptions=["replenishment.risk_changed"])
    risk = Envelope.wrap(
        ReplenishmentRiskChanged(
            po_number="PO-1001", line=1, sku="SKU-1", location="DC-EAST", supplier_id=SUPPLIER_ID, at_risk=True
        ),
        source_partner="purchasing",
        occurred_at=NOW,
    )
    wms.fail_next(1, status=503)  # retried within the delivery
    envelope = expectation()
    send(rt, envelope, risk)
    rt.drain()
    assert [e["id"] for e in wms.events("inbound.expectation_changed")] == [envelope.id]
    assert wms.events()[0] == json.loads(json.dumps(envelope.to_detail()))
    assert [d.event_id for d in wms.deliveries] == [envelope.id, envelope.id]
    assert [e["id"] for e in planning.events()] == [risk.id]


def test_supplier_changes_are_not_echoed_to_the_system_that_made_them(rt, erp):
    send(rt, supplier_updated("erp", {"erp": "ACME-001"}))
    rt.drain()
    assert erp.calls == []

    send(rt, supplier_updated("finance", {"erp": "ACME-001", "finance": "V-77"}, version=4))
    rt.drain()
    assert [c.method for c in erp.calls] == ["PUT"]
    assert erp.doc("Supplier", "ACME-001")["supplier_name"] == "Acme Industrial Supply LLC"

    send(rt, supplier_updated("finance", {"finance": "V-78"}, version=5))  # a supplier the ERP does not know
    rt.drain()
    assert len(erp.calls) == 1
    assert emf_totals(rt.logs("outbound"))["DeliverySkipped"] == 1


def test_registration_refuses_what_an_adapter_cannot_serve(rt, erpnext):
    admin = SystemAdmin.from_outputs(rt.outputs)
    with pytest.raises(PartnerAdminError, match=r"cannot deliver inbound\.expectation_changed"):
        admin.add(
            "erp",
            "erp",
            "erpnext",
            subscriptions=["inbound.expectation_changed"],
            url=erpnext.url,
            api_key="k",
            api_secret="s",
        )
    with pytest.raises(PartnerAdminError, match=r"not deliverable: inventory\.adjusted"):
        admin.add("wms", "warehouse", "webhook", subscriptions=["inventory.adjusted"], url="https://wms.example/hook")
    assert admin.list() == []


def test_systems_cli_adds_connects_and_lists(rt, erpnext, capsys):
    from cli import systems
    from cli.local_session import register_partner

    register_partner(rt, "erp", "erp", ["location:*"])  # the ERP already calls our API: connected in place
    args = {
        "id": "erp",
        "kind": "erp",
        "adapter": "erpnext",
        "url": erpnext.url,
        "api_key": erpnext.api_key,
        "api_secret": erpnext.api_secret,
        "api_secret_stdin": False,
        "subscribe": ["purchase_order.acknowledged", "supplier.updated"],
        "scope": None,
        "tier": "standard",
        "timeout": None,
        "max_attempts": None,
        "json": True,
    }
    assert systems.add(rt.outputs, type("Args", (), args)) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["adapter"] == "erpnext" and "api_key" not in added  # existing partner: credentials unchanged
    args.update(id="wms", kind="warehouse", adapter="webhook", url="https://wms.example/hook", api_key=None)
    args.update(api_secret=None, subscribe=["inbound.expectation_changed"])
    assert systems.add(rt.outputs, type("Args", (), args)) == 0
    wms = json.loads(capsys.readouterr().out)
    assert wms["api_key"] and len(wms["webhook_signing_secret"]) >= 40
    assert systems.list_systems(rt.outputs, type("Args", (), {"json": True})) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(s["partner_id"], s["adapter"]) for s in listed] == [("erp", "erpnext"), ("wms", "webhook")]
    secret = aws("secretsmanager").get_secret_value(SecretId=f"{rt.outputs['SystemSecretsPrefix']}erp")
    assert json.loads(secret["SecretString"]) == erpnext.connection()


def test_the_outbound_function_may_read_only_what_it_needs(dev_template_path):
    template = json.loads(dev_template_path.read_text())
    resources = template["Resources"]
    (_, function), *others = [
        (k, r)
        for k, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function"
        and r.get("Metadata", {}).get("distrosync:source") == "functions/outbound"
    ]
    assert not others
    props = function["Properties"]
    assert props["Timeout"] == 60
    assert set(props["Environment"]["Variables"]) >= {
        "PARTNERS_TABLE_NAME",
        "IDEMPOTENCY_TABLE_NAME",
        "SYSTEM_SECRETS_PREFIX",
    }
    role = props["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = lambda s: {s["Action"]} if isinstance(s["Action"], str) else set(s["Action"])  # noqa: E731
    secrets = [s["Resource"] for s in statements if "secretsmanager:GetSecretValue" in actions(s)]
    assert secrets == ["arn:aws:secretsmanager:us-east-1:123456789012:secret:distrosync-dev/systems/*"]
    assert not any("events:PutEvents" in actions(s) for s in statements)
    written = [s for s in statements if "dynamodb:PutItem" in actions(s)]
    assert len(written) == 1 and "IdempotencyTable" in json.dumps(written[0]["Resource"])
    queue = next(
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::SQS::Queue" and r["Properties"].get("QueueName") == "distrosync-dev-outbound"
    )
    assert queue["VisibilityTimeout"] == 360


def test_rotated_erp_credentials_are_picked_up_on_the_first_refusal(rt, erp):
    """The connection secret is updated after the function cached it: the 401 makes it read the new one."""
    from shared.aws.system_secrets import SystemSecrets

    send(rt, supplier_updated("finance", {"erp": "ACME-001"}, version=4))
    rt.drain()  # cached the connection
    erp.api_secret = "rotated-secret"
    SystemSecrets.put(f"{rt.outputs['SystemSecretsPrefix']}erp", erp.connection())
    send(rt, acknowledgment())
    report = rt.drain()
    assert report.drained and not report.failed_records
    assert [c.status for c in erp.calls_to("GET")] == [401, 200]
    assert erp.doc("Purchase Order", "PO-1001")["order_confirmation_no"] == "ACK-1"
