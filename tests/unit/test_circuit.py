"""The circuit breaker's transitions and timing (shared/domain/circuit.py): pure, no clock but the arguments."""

from __future__ import annotations

import pytest

from shared.domain.circuit import BreakerPolicy, BreakerState, Decision, Phase, Transition

POLICY = BreakerPolicy(failure_threshold=3, cool_down_seconds=10, max_cool_down_seconds=35, probe_lease_seconds=5)


def fail(state: BreakerState, now: float, times: int = 1) -> tuple[BreakerState, list[Transition | None]]:
    seen = []
    for _ in range(times):
        state, transition = state.on_failure(now, POLICY)
        seen.append(transition)
    return state, seen


def test_a_closed_breaker_lets_calls_through_and_counts_consecutive_failures():
    state = BreakerState()
    assert state.decide(0) == Decision(call=True)
    state, transitions = fail(state, 0, 2)
    assert (state.phase(0), state.failures, transitions) == (Phase.CLOSED, 2, [None, None])
    assert state.decide(0).call


def test_a_success_resets_the_count_so_only_consecutive_failures_open_it():
    state, _ = fail(BreakerState(), 0, 2)
    state, transition = state.on_success(1)
    assert (state.failures, transition) == (0, None)
    state, transitions = fail(state, 2, 2)
    assert state.phase(2) is Phase.CLOSED and transitions == [None, None]


def test_a_success_on_a_healthy_breaker_changes_nothing():
    state = BreakerState(version=4)
    assert state.on_success(0) == (state, None)  # the store writes nothing


def test_it_opens_after_n_failures_and_refuses_calls_until_the_cool_down_ends():
    state, transitions = fail(BreakerState(), 100, 3)
    assert transitions == [None, None, Transition.OPENED]
    assert state.phase(100) is Phase.OPEN
    assert state.decide(100) == Decision(call=False, retry_after_seconds=10)
    assert state.decide(107.5) == Decision(call=False, retry_after_seconds=2.5)
    assert state.phase(109.999) is Phase.OPEN
    assert state.phase(110) is Phase.HALF_OPEN


def test_a_failure_of_a_call_made_before_it_opened_does_not_extend_the_open_period():
    state, _ = fail(BreakerState(), 100, 3)
    later, transition = state.on_failure(104, POLICY)
    assert (later, transition) == (state, None)


def test_half_open_allows_one_probe_at_a_time_and_a_dead_probers_lease_runs_out():
    state, _ = fail(BreakerState(), 100, 3)
    assert state.decide(110) == Decision(call=True, probe=True)
    probing = state.claim_probe(110, POLICY)
    assert probing.decide(112) == Decision(call=False, retry_after_seconds=3)
    with pytest.raises(ValueError):
        probing.claim_probe(112, POLICY)
    assert probing.decide(115) == Decision(call=True, probe=True)  # lease over: another caller may probe


def test_a_successful_probe_closes_it():
    state, _ = fail(BreakerState(version=7), 100, 3)
    state = state.claim_probe(110, POLICY)
    closed, transition = state.on_success(111)
    assert transition is Transition.CLOSED
    assert closed == BreakerState(version=7)
    assert closed.decide(111).call


def test_a_failed_probe_reopens_it_for_twice_as_long_capped():
    state, _ = fail(BreakerState(), 100, 3)
    cool_downs = []
    now = 100.0
    for _ in range(4):
        now = state.half_open_at
        state = state.claim_probe(now, POLICY)
        state, transition = state.on_failure(now + 1, POLICY)
        assert transition is Transition.REOPENED
        cool_downs.append(state.cool_down_seconds)
        assert state.phase(now + 1) is Phase.OPEN
    assert cool_downs == [20, 35, 35, 35]
    assert state.decide(now + 1) == Decision(call=False, retry_after_seconds=35)


def test_after_closing_the_next_outage_starts_from_the_first_cool_down_again():
    state, _ = fail(BreakerState(), 0, 3)
    state = state.claim_probe(10, POLICY)
    state, _ = state.on_failure(10, POLICY)  # reopened for 20 s
    state = state.claim_probe(30, POLICY)
    state, _ = state.on_success(30)
    state, transitions = fail(state, 40, 3)
    assert transitions[-1] is Transition.OPENED and state.cool_down_seconds == 10


def test_the_policy_reads_its_json_and_refuses_nonsense():
    policy = BreakerPolicy.from_json('{"failure_threshold": 2, "cool_down_seconds": 1, "unknown": true}')
    assert (policy.failure_threshold, policy.cool_down_seconds, policy.max_cool_down_seconds) == (2, 1, 900)
    assert BreakerPolicy.from_json(policy.to_json()) == policy
    assert BreakerPolicy.from_json(None) == BreakerPolicy()
    with pytest.raises(ValueError):
        BreakerPolicy(failure_threshold=0)
    with pytest.raises(ValueError):
        BreakerPolicy(cool_down_seconds=60, max_cool_down_seconds=30)


def _call(status: int | None, error: str | None = None):
    from shared.adapters.outbound.http import SystemCall

    return SystemCall("erp", "op", "POST", "/x", status, 1, 1.0, error=error)


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ([(None, "NewConnectionError: refused")], False),  # connection refused
        ([(None, "ReadTimeoutError: timed out")], False),
        ([(503, None)], False),
        ([(200, None), (502, None)], False),  # the last call sent decides
        ([(429, None)], None),  # up, but busy: neither way
        ([(200, None)], True),
        ([(417, None)], True),  # a refusal: the system answered
        ([(401, None)], True),
        ([(200, None), (None, "not sent")], True),  # the budget ran out before the second call
        ([(None, "not sent")], None),
        ([], None),  # no call made (connection settings unusable)
    ],
)
def test_what_a_delivery_says_about_its_system(statuses, verdict):
    from shared.adapters.outbound import DeliveryResult
    from shared.services.outbound import reachability

    result = DeliveryResult("failed", "why", [_call(status, error) for status, error in statuses])
    assert reachability(result)[0] is verdict
