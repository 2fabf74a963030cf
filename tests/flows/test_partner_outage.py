"""Partner outages on the embedded runtime (docs/reliability.md, "Partner outages"; ADR 0017).

A system that is down (503s, refused connections) opens its circuit breaker after N failed deliveries: no more
calls reach it while it is open, its deliveries wait, and the other systems subscribed to the same events are
served meanwhile. After the cool-down one probe finds it back, the breaker closes and every pending delivery
reaches it exactly once; nothing goes to the dead-letter queue (the consumer re-sends a `partner_unavailable`
message with the breaker's wait as its delay, shared/aws/consumer.py).
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from cli.local_session import emf_totals
from shared.adapters.outbound import build_adapter
from shared.aws.bus import publish
from shared.aws.delivery_store import DeliveryStore
from shared.aws.partner_health import PartnerHealth
from shared.aws.partners import PartnerRepository
from shared.aws.system_secrets import SystemSecrets
from shared.canonical.envelope import Envelope
from shared.canonical.purchasing import ReplenishmentRiskChanged
from shared.domain.circuit import BreakerPolicy, Decision, Phase, Transition
from shared.domain.failures import FailureClass, classify
from shared.domain.order_flow import PartnerUnavailable
from shared.services.outbound import DeliveryDeferred, OutboundDispatcher
from tests.flows.systems_fixtures import connect_system

RISK = "replenishment.risk_changed"
NOW = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
# Short timers: three failed deliveries open a breaker for 3 s (doubling up to 12 s).
POLICY = BreakerPolicy(failure_threshold=3, cool_down_seconds=3, max_cool_down_seconds=12, probe_lease_seconds=30)


def risk(line: int) -> Envelope:
    data = ReplenishmentRiskChanged(
        po_number="PO-1001",
        line=line,
        sku=f"SKU-{line}",
        location="DC-EAST",
        supplier_id="SUP-01HZX4TESTACME",
        at_risk=True,
    )
    return Envelope.wrap(data, source_partner="purchasing", occurred_at=NOW, correlation_id=f"corr-risk-{line}")


def subscribe(rt, partner_id: str, **target) -> None:
    connect_system(rt, partner_id, "planning", "webhook", subscriptions=[RISK], max_attempts=1, **target)


def breaker(rt, partner_id: str):
    return PartnerHealth(rt.outputs["IdempotencyTableName"], POLICY).state(partner_id)


def direct_dispatcher(rt, policy: BreakerPolicy, **kwargs) -> OutboundDispatcher:
    """The outbound dispatcher on this runtime's tables, called directly (not through its function)."""
    idempotency = rt.outputs["IdempotencyTableName"]
    return OutboundDispatcher(
        PartnerRepository(rt.outputs["PartnersTableName"]),
        DeliveryStore(idempotency),
        SystemSecrets(),
        health=PartnerHealth(idempotency, policy),
        **kwargs,
    )


def outbound_dlq_depth(rt) -> int:
    return sum(q.depth for q in rt.queues() if q.is_dlq and "outbound" in q.name)


def closed_port_url() -> str:
    """A local URL nothing listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/distrosync"


# ------------------------------------------------------------------------------------------------------ flows
def test_a_down_partner_waits_behind_its_open_breaker_and_gets_everything_once_after_recovery(rt, webhook_receiver):
    rt.functions.configure("outbound", PARTNER_BREAKER=POLICY.to_json())
    wms, planner = webhook_receiver(), webhook_receiver()
    subscribe(rt, "wms-x", target=wms)
    subscribe(rt, "planner-y", target=planner)
    wms.down = True
    events = [risk(line) for line in range(1, 7)]
    publish(events, rt.outputs["EventBusName"])
    ids = sorted(e.id for e in events)

    rt.poller.poll_round()  # one batch of the six events
    assert [d.status for d in wms.deliveries] == [503, 503, 503]  # then the breaker opened: no more calls
    assert sorted(e["id"] for e in planner.events()) == ids  # the other system is served meanwhile
    state = breaker(rt, "wms-x")
    assert state.phase(time.time()) is Phase.OPEN and state.failures == 3
    totals = emf_totals(rt.logs("outbound"))
    assert (totals["CircuitOpened"], totals["CallsSkipped"], totals["Delivered"]) == (1, 3, 6)

    rt.poller.poll_round()  # while it is open, whatever comes back calls nobody
    assert len(wms.deliveries) == 3 and len(planner.deliveries) == 6
    assert breaker(rt, "wms-x").phase(time.time()) is Phase.OPEN, "the test was too slow for its 3 s cool-down"

    wms.down = False
    time.sleep(max(0.0, breaker(rt, "wms-x").half_open_at - time.time()))
    report = rt.drain()
    assert report.drained, report
    accepted = Counter(e["id"] for e in wms.events(RISK))
    assert sorted(accepted) == ids and set(accepted.values()) == {1}  # each pending delivery, exactly once
    assert [d.status for d in wms.deliveries].count(503) == 3  # the probe found it up: no call failed again
    assert len(planner.deliveries) == 6  # served once, never called again
    assert outbound_dlq_depth(rt) == 0
    assert breaker(rt, "wms-x").phase(time.time()) is Phase.CLOSED
    totals = emf_totals(rt.logs("outbound"))
    assert totals["CircuitClosed"] == 1
    assert totals["PartnerWait"] >= 6  # the consumer re-sent them with a delay: no receive counted to the DLQ
    assert any('"partner":"wms-x"' in line and "circuit closed" in line for line in rt.logs("outbound"))


@pytest.fixture
def metrics_kept_apart():
    """The dispatcher run by the test itself counts into Powertools' metric set, which is one per process: cleared
    after the test so the functions of later tests do not publish those counts as theirs."""
    from shared.observability import metrics

    try:
        yield
    finally:
        metrics.clear_metrics()


def test_an_unreachable_system_defers_as_partner_unavailable_with_the_breakers_wait(
    rt, webhook_receiver, metrics_kept_apart
):
    """The dispatcher on its own (what the outbound consumer and the order flow's steps call): a refused
    connection is a failure for the breaker; once open, the target is deferred without a call, with the time
    left until it half-opens, while the other target of the message is delivered."""
    planner = webhook_receiver()
    subscribe(rt, "tms-down", url=closed_port_url())
    subscribe(rt, "planner-up", target=planner)
    built: list[str] = []

    def counting_factory(adapter, system, connection, policy, **transport):
        built.append(system)
        return build_adapter(adapter, system, connection, policy, **transport)

    dispatcher = direct_dispatcher(rt, POLICY, adapter_factory=counting_factory)
    waits = []
    for line in range(1, 5):
        envelope = risk(line)
        with pytest.raises(DeliveryDeferred) as deferred:
            dispatcher.dispatch(envelope, envelope.to_detail())
        assert classify(deferred.value) is FailureClass.PARTNER_UNAVAILABLE
        assert "tms-down" in str(deferred.value) and "planner-up" not in str(deferred.value)
        waits.append(deferred.value.retry_after_seconds)
    assert built.count("tms-down") == 3  # the fourth found the breaker open: no call
    assert built.count("planner-up") == 4 and len(planner.events(RISK)) == 4
    assert waits[:3] == [None, None, None]  # a refused connection asks for no particular wait
    assert waits[3] is not None and 2 < waits[3] <= 3  # the breaker's: until it half-opens

    # A flow step (deliver_now) is told at once too, and Step Functions' Retry waits.
    with pytest.raises(PartnerUnavailable) as unavailable:
        dispatcher.deliver_now(risk(9), kinds=frozenset({"planning"}))
    assert classify(unavailable.value) is FailureClass.PARTNER_UNAVAILABLE
    assert 0 < unavailable.value.retry_after_seconds <= 3
    assert built.count("tms-down") == 3


def test_concurrent_consumers_count_every_failure_once_and_agree_on_one_probe(rt, metrics_kept_apart):
    """Two consumers (two Lambdas) with stale reads of one breaker: conditional writes make them agree."""
    table, now = rt.outputs["IdempotencyTableName"], [1000.0]
    first, second = (PartnerHealth(table, POLICY, clock=lambda: now[0]) for _ in range(2))
    first.load(["erp"]), second.load(["erp"])  # both read it closed, no failures

    assert first.failed("erp", "HTTP 503") is None
    assert second.failed("erp", "HTTP 503") is None  # its write lost the race: it re-read and counted on top
    assert first.failed("erp", "HTTP 503") is Transition.OPENED  # stale (1 failure): re-read 2, third opens it
    second.forget()
    assert second.decide("erp") == Decision(call=False, retry_after_seconds=3)

    now[0] += 3  # half-open: one of them probes, the other waits for the probe's lease
    assert first.decide("erp") == Decision(call=True, probe=True)
    assert second.decide("erp") == Decision(call=False, retry_after_seconds=30)

    assert first.succeeded("erp") is Transition.CLOSED
    second.forget()
    assert second.decide("erp") == Decision(call=True)
    version = second.state("erp").version
    assert second.succeeded("erp") is None  # nothing changed: nothing written
    assert breaker(rt, "erp").version == version

    # A breaker that cannot be read or written (here: no such table) fails open: calls go ahead, nothing raises.
    lost = PartnerHealth("distrosync-no-such-table", POLICY, clock=lambda: now[0])
    assert lost.decide("erp") == Decision(call=True)
    assert [lost.failed("erp", "HTTP 503") for _ in range(POLICY.failure_threshold)] == [None] * 3
    assert lost.decide("erp") == Decision(call=True)
