"""A partner that refuses our credentials, on the embedded runtime (docs/reliability.md, "Error classes" and
"Partner outages").

Waiting cannot help a 401/403 (nor a connection secret that is missing or broken): the delivery is recorded
`refused` with the system's answer, the message goes to the outbound DLQ at once with its story (`partner_refused`),
the other systems of the message get their delivery, the breaker is not opened, and once the connection is fixed
`distrosync dlq redrive --id` delivers it once. In the order flow, a refusal is the step's permanent error: the
order goes to the exception path with the system and its answer as the reason.
"""

from __future__ import annotations

import json
import time

import pytest

from cli.local_session import emf_totals
from shared.aws.delivery_store import DeliveryKey
from shared.aws.partner_health import PartnerHealth
from shared.aws.system_secrets import SystemSecrets
from shared.domain.circuit import BreakerPolicy, Phase
from shared.domain.failures import FailureClass, classify
from shared.services.outbound import DeliveryDeferred, DeliveryRefused
from tests.flows.order_flow_fixtures import count_stock, entered_states, flow_record, place_order, wait_for_end
from tests.flows.systems_fixtures import connect_system
from tests.flows.test_dead_letters import dead_letters
from tests.flows.test_outbound_delivery import record, send, supplier_updated
from tests.flows.test_partner_outage import direct_dispatcher

OUTBOUND = "distrosync-dev-outbound"
SUPPLIER = "supplier.updated"
# A breaker that would open after two outages: refusals must never count as one.
QUICK_BREAKER = BreakerPolicy(failure_threshold=2, cool_down_seconds=30, max_cool_down_seconds=60)


@pytest.fixture
def systems(rt, erpnext, webhook_receiver):
    """The ERP (ERPNext simulator, knows supplier ACME-001) and a master-data hub (a webhook) on supplier changes."""
    erpnext.add_supplier("ACME-001", "Acme Industrial")
    connect_system(rt, "erp", "erp", "erpnext", target=erpnext, subscriptions=[SUPPLIER], max_attempts=2)
    hub = webhook_receiver()
    connect_system(rt, "mdm-hub", "planning", "webhook", target=hub, subscriptions=[SUPPLIER], max_attempts=2)
    rt.functions.configure("outbound", PARTNER_BREAKER=QUICK_BREAKER.to_json())
    return erpnext, hub


def change(version: int):
    return supplier_updated("portal", {"erp": "ACME-001"}, version=version)


def shown(cli, *where: str) -> dict[str, dict]:
    """`distrosync dlq show outbound-dlq [--where ...] --json`, by event id (every message stays in the DLQ)."""
    code, out, err = cli("dlq", "show", "outbound-dlq", *(f"--where={w}" for w in where), "--json")
    assert code == 0, err
    return {letter["event_id"]: letter for letter in json.loads(out)}


def breaker(rt, partner: str):
    return PartnerHealth(rt.outputs["IdempotencyTableName"], QUICK_BREAKER).state(partner)


def test_an_erp_refusing_our_key_dead_letters_at_once_and_a_redrive_delivers_once_after_the_fix(rt, cli, systems):
    erp, hub = systems
    ours = erp.api_secret
    erp.api_secret = "revoked-by-the-erp-admin"  # the ERP no longer accepts the secret we hold
    envelopes = [change(3), change(4)]
    for envelope in envelopes:
        send(rt, envelope)

    report = rt.drain()
    assert report.drained and report.failed_records == 0, report  # nothing waits, nothing is retried
    assert sorted(e["id"] for e in hub.events(SUPPLIER)) == sorted(e.id for e in envelopes)  # the other system
    assert [c.status for c in erp.calls_to("PUT")] == [401, 401]  # one call each: the fresh secret was the same

    letters = shown(cli, "error_class=partner_refused")  # ops find them by their class
    assert set(letters) == {e.id for e in envelopes}
    for story in letters.values():
        assert story["has_story"] and (story["error_class"], story["attempts"]) == ("partner_refused", 1)
        assert story["handler"] == OUTBOUND and story["error"].startswith("DeliveryRefused: supplier.updated")
        assert "refused by erp (credentials refused: HTTP 401: AuthenticationError" in story["error"]
        assert "mdm-hub" not in story["error"]
    for envelope in envelopes:
        refused = record(rt, DeliveryKey("erp", envelope.id))
        assert refused["status"] == "refused" and refused["detail"].startswith("credentials refused: HTTP 401")
        assert "revoked-by-the-erp-admin" not in refused["detail"] and erp.api_key not in refused["detail"]

    state = breaker(rt, "erp")  # two refusals, threshold two: still closed, nothing counted
    assert state.phase(time.time()) is Phase.CLOSED and state.failures == 0
    totals = emf_totals(rt.logs("outbound"))
    assert totals["PartnerRefused"] == 2 * 2  # the function's count (its alarm) and the per-partner one
    assert totals["DeadLettered"] == 2 and totals["PartnerWait"] == 0 and totals["CircuitOpened"] == 0
    assert any('"partner":"erp"' in line and '"PartnerRefused"' in line for line in rt.logs("outbound"))

    assert shown(cli, "error_class=validation") == {}
    assert cli("dlq", "show", "outbound-dlq", "--where", "error_class=partner_refusal")[0] == 2  # a typo says so

    # ops fix the connection and redrive one of them by its event id

    erp.api_secret = ours  # fixed (on the ERP's side: the integration user's secret is ours again)
    newest = envelopes[1]
    code, out, err = cli("dlq", "redrive", "outbound-dlq", "--id", newest.id)
    assert code == 0 and "moved 1 of 2 message(s)" in out, (out, err)
    report = rt.drain()
    assert report.drained and report.failed_records == 0, report
    assert [c.status for c in erp.calls_to("PUT")] == [401, 401, 200]  # delivered once
    assert len(hub.events(SUPPLIER)) == 2  # served before: not called again
    assert record(rt, DeliveryKey("erp", newest.id, "supplier#SUP-01HZX4TESTACME", 4))["status"] == "delivered"
    assert [story["event_id"] for _, story in dead_letters(rt, OUTBOUND)] == [envelopes[0].id]


def test_a_webhook_answering_403_or_a_broken_secret_is_refused_and_redriven_once_fixed(rt, cli, systems):
    erp, hub = systems
    hub.fail_next(1, status=403)  # the hub's gateway refuses us once; then its admin lets us in again
    first = change(3)
    send(rt, first)
    report = rt.drain()
    assert report.drained and report.failed_records == 0, report
    assert erp.calls_to("PUT") and erp.calls_to("PUT")[-1].status == 200  # the ERP has it
    assert [d.status for d in hub.deliveries] == [403]
    (story,) = shown(cli).values()
    assert story["error_class"] == "partner_refused"
    assert "refused by mdm-hub (credentials refused: HTTP 403" in story["error"]
    assert record(rt, DeliveryKey("mdm-hub", first.id))["status"] == "refused"

    # A connection secret that is no longer a connection (an operator's slip): refused without a call.
    secrets = SystemSecrets()
    name = f"{rt.outputs['SystemSecretsPrefix']}mdm-hub"
    good = secrets.get(name)
    SystemSecrets.put(name, {"url": good["url"]})
    rt.functions.configure("outbound")  # a new execution environment: it reads the broken secret (not a cached one)
    second = change(4)
    send(rt, second)
    report = rt.drain()
    assert report.drained and report.failed_records == 0, report
    assert len(hub.deliveries) == 1  # no call was made
    stories = shown(cli, "error_class=partner_refused")
    assert set(stories) == {first.id, second.id}
    assert "connection settings: the webhook connection needs signing_secret" in stories[second.id]["error"]

    SystemSecrets.put(name, good)  # fixed; both are redriven at once (a refusal lets the next delivery read afresh)
    code, _out, err = cli("dlq", "redrive", "outbound-dlq", "--where", "error_class=partner_refused")
    assert code == 0, err
    report = rt.drain()
    assert report.drained and report.failed_records == 0, report
    assert sorted(e["id"] for e in hub.events(SUPPLIER)) == sorted([first.id, second.id])  # each once
    assert dead_letters(rt, OUTBOUND) == []
    assert [c.status for c in erp.calls_to("PUT")] == [200, 200]  # the ERP was not called again


def test_a_message_waits_for_a_down_system_first_then_is_refused_for_the_refusing_one(rt, webhook_receiver):
    """The dispatcher on its own: a message with one system down and one refusing waits (the down one may come
    back); once that one is served, only the refusal is left and the message is refused (dead-lettered)."""
    from shared.observability import metrics

    down, refusing, served = webhook_receiver(), webhook_receiver(), webhook_receiver()
    for name, receiver in (("wms-down", down), ("wms-refusing", refusing), ("planner", served)):
        connect_system(rt, name, "planning", "webhook", target=receiver, subscriptions=[SUPPLIER], max_attempts=1)
    refusing.secret = "not-what-we-sign-with"
    down.down = True
    dispatcher = direct_dispatcher(rt, QUICK_BREAKER)
    envelope = change(3)
    try:
        with pytest.raises(DeliveryDeferred) as deferred:
            dispatcher.dispatch(envelope, envelope.to_detail())
        assert classify(deferred.value) is FailureClass.PARTNER_UNAVAILABLE
        assert "not delivered to wms-down" in str(deferred.value)
        assert "refused by wms-refusing (credentials refused: HTTP 401" in str(deferred.value)

        down.down = False
        with pytest.raises(DeliveryRefused) as refused:
            dispatcher.dispatch(envelope, envelope.to_detail())
        assert classify(refused.value) is FailureClass.PARTNER_REFUSED
        assert "wms-down" not in str(refused.value) and "wms-refusing" in str(refused.value)
    finally:
        metrics.clear_metrics()  # the test process's metric set is shared with the functions run in it
    assert [len(r.events(SUPPLIER)) for r in (down, served)] == [1, 1]  # each served once
    assert [d.status for d in refusing.deliveries] == [401, 401]
    refusing_breaker, down_breaker = breaker(rt, "wms-refusing"), breaker(rt, "wms-down")
    assert (refusing_breaker.failures, refusing_breaker.version) == (0, 0)  # answers: nothing to count or write
    assert (down_breaker.failures, down_breaker.version) == (0, 2)  # one failure counted, then reset by the success


@pytest.mark.order_flow
def test_a_wms_refusing_our_credentials_sends_the_order_to_the_exceptions_without_retries(
    rt, client, erp_client, order_systems
):
    wms = order_systems.wms
    count_stock(rt, client, "SKU-1", 50)
    wms.secret = "rotated-on-their-side"  # the WMS checks our signature with another secret: 401
    place_order(erp_client, "SO-900", ("SKU-1", 1))
    assert wait_for_end(rt, "SO-900")["status"] == "FAILED"
    assert entered_states(rt, "SO-900")[-3:] == ["ReleaseFailed", "RecordException", "Failed"]
    assert [d.status for d in wms.deliveries] == [401]  # not retried by the state machine
    record = flow_record(rt, "SO-900")
    assert record.status == "exception" and record.exception["step"] == "release"
    assert record.exception["error"] == "DeliveryRejected"
    assert "refused by wh-east: credentials refused: HTTP 401" in record.exception["reason"]
    assert emf_totals(rt.logs("order_flow"))["PartnerRefused"] == 2


def test_ops_fix_a_refused_connection_with_systems_connect_then_redrive(rt, cli, systems):
    """The ERP's admin issued a new secret: `systems connect erp --api-secret-stdin` puts it in our connection
    secret (the other fields kept), and a redrive right after is delivered once."""
    erp, _hub = systems
    erp.api_secret = "issued-by-the-erp-admin"
    envelope = change(3)
    send(rt, envelope)
    assert rt.drain().drained
    assert set(shown(cli, "error_class=partner_refused")) == {envelope.id}

    code, out, err = cli("systems", "connect", "erp", "--api-secret-stdin", "--json", stdin="issued-by-the-erp-admin\n")
    assert code == 0, err
    assert json.loads(out)["changed"] == ["api_secret"] and "issued-by-the-erp-admin" not in out
    connection = SystemSecrets().get(f"{rt.outputs['SystemSecretsPrefix']}erp")
    assert connection["api_secret"] == "issued-by-the-erp-admin" and connection["api_key"] == erp.api_key

    code, out, err = cli("dlq", "redrive", "outbound-dlq", "--where", "error_class=partner_refused")
    assert code == 0, (out, err)
    assert rt.drain().drained
    assert [c.status for c in erp.calls_to("PUT")] == [401, 200]
    assert dead_letters(rt, OUTBOUND) == []


def test_systems_connect_rotates_a_webhook_key_and_refuses_what_cannot_be(rt, cli, systems):
    name = f"{rt.outputs['SystemSecretsPrefix']}mdm-hub"
    before = SystemSecrets().get(name)
    code, out, err = cli("systems", "connect", "mdm-hub", "--rotate-signing-secret", "--json")
    assert code == 0, err
    rotated = json.loads(out)
    assert rotated["changed"] == ["signing_secret"]
    after = SystemSecrets().get(name, fresh=True)
    assert after == {**before, "signing_secret": rotated["webhook_signing_secret"]} != before

    assert "no connected system 'nobody'" in cli("systems", "connect", "nobody", "--url", "https://x.example")[2]
    assert "nothing to change" in cli("systems", "connect", "erp")[2]
    assert "a webhook connection has none" in cli("systems", "connect", "mdm-hub", "--api-key", "k")[2]
    no_key = cli("systems", "connect", "erp", "--rotate-signing-secret")
    assert no_key[0] == 2 and "an erpnext connection has no signing secret" in no_key[2]
    code, _, err = cli("systems", "connect", "erp", "--url", "not a url")
    assert code == 2 and "URL must start with https://" in err
