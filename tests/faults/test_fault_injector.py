"""The injector itself, on moto without a runtime: what it raises, where, how often, and only inside invocations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws

from local.fault_injection import CallSite, Fault, FaultInjector, FaultPlan, FaultRule, active
from local.functions import ENVIRONMENT_LOCK
from shared.domain.failures import FailureClass, classify

FUNCTION = "distrosync-dev-projector"


@pytest.fixture
def injector() -> Iterator[FaultInjector]:
    """An injector of its own for the test; the suite's goes back in place after it."""
    suite = active()
    own = FaultInjector(function_keys={FUNCTION: "projector"}).install()
    try:
        with mock_aws():
            yield own
    finally:
        own.uninstall()
        if suite is not None:
            suite.install()


@contextmanager
def invocation() -> Iterator[None]:
    """What the runtime does around a handler: its lock held, the function named in the environment."""
    with ENVIRONMENT_LOCK:
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = FUNCTION
        try:
            yield
        finally:
            del os.environ["AWS_LAMBDA_FUNCTION_NAME"]


def queue() -> tuple[object, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    return sqs, sqs.create_queue(QueueName="q")["QueueUrl"]


def plan(kind: Fault, times: int | None = 1, **rule: object) -> FaultPlan:
    return FaultPlan(
        seed=1, rules=(FaultRule(service="sqs", operation="SendMessage", kinds=(kind,), times=times, **rule),)
    )


def test_each_kind_raises_what_aws_would_and_is_classified_transient(injector):
    sqs, url = queue()
    expected = {
        Fault.THROTTLE: ("ThrottlingException", 400, FailureClass.RATE_LIMIT),
        Fault.SERVER_ERROR: ("InternalServerError", 500, FailureClass.INTERNAL),  # then 503 at the next
    }
    for kind, (code, status, failure_class) in expected.items():
        with injector.armed(plan(kind)), invocation(), pytest.raises(ClientError) as raised:
            sqs.send_message(QueueUrl=url, MessageBody="x")
        assert raised.value.response["Error"]["Code"] == code
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
        assert classify(raised.value) is failure_class
    with injector.armed(plan(Fault.TIMEOUT)), invocation(), pytest.raises(ReadTimeoutError) as timed_out:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert classify(timed_out.value) is FailureClass.TIMEOUT
    assert (
        int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"])
        == 0
    )


def test_a_late_timeout_happens_after_the_call_did(injector):
    sqs, url = queue()
    with injector.armed(plan(Fault.LATE_TIMEOUT)), invocation(), pytest.raises(ReadTimeoutError):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert len(sqs.receive_message(QueueUrl=url).get("Messages", [])) == 1  # it was sent: the caller cannot know


def test_only_calls_inside_an_invocation_fail_and_only_times_per_site(injector):
    sqs, url = queue()
    with injector.armed(plan(Fault.THROTTLE, times=2)) as injected:
        sqs.send_message(QueueUrl=url, MessageBody="the test's own call")
        outcomes = []
        with invocation():
            for _ in range(4):
                try:
                    sqs.send_message(QueueUrl=url, MessageBody="x")
                    outcomes.append("sent")
                except ClientError:
                    outcomes.append("throttled")
    assert outcomes == ["throttled", "throttled", "sent", "sent"]
    assert injected == {(CallSite("projector", "sqs", "SendMessage"), Fault.THROTTLE): 2}
    assert injector.calls[CallSite("projector", "sqs", "SendMessage")] == 4


def test_a_seeded_plan_injects_the_same_faults_every_time(injector):
    sqs, url = queue()
    runs = []
    for _ in range(2):
        with injector.armed(plan(Fault.SERVER_ERROR, times=None, probability=0.5)), invocation():
            outcome = []
            for _ in range(12):
                try:
                    sqs.send_message(QueueUrl=url, MessageBody="x")
                    outcome.append(0)
                except ClientError:
                    outcome.append(1)
        runs.append(outcome)
    assert runs[0] == runs[1] and 0 < sum(runs[0]) < 12


def test_every_site_spreads_the_kinds_over_the_sites():
    sites = [CallSite("f", "dynamodb", op) for op in ("GetItem", "PutItem", "Query", "UpdateItem", "Scan")]
    plan = FaultPlan.every_site(sites, seed=3)
    assert [r.kinds for r in plan.rules] == [r.kinds for r in FaultPlan.every_site(reversed(sites), seed=3).rules]
    assert {k for r in plan.rules for k in r.kinds} == set(Fault)
    assert all(plan.rule_for(s) is not None for s in sites) and plan.rule_for(CallSite("g", "s3", "GetObject")) is None
