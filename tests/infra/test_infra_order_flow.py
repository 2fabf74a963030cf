"""The order-to-ship state machine as synthesized: retries, catches, timeouts, and who may start or resume it
(docs/order-to-ship.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfn_reader import props, ref_id, resources

from infra.config import load_config
from shared.domain import order_flow as flow

WAITING_TASKS = {
    # state -> (HeartbeatSecondsPath, TimeoutSecondsPath)
    "Release": ("$.timers.pick_heartbeat", "$.timers.pick_timeout"),
    "ShipmentReady": (None, "$.timers.dispatch_timeout"),
    "Track": (None, "$.timers.delivery_timeout"),
}
STEP_OF_STATE = {
    "Validate": "validate",
    "Reserve": "reserve",
    "Split": "split",
    "Backorder": "backorder",
    "Release": "release",
    "ErpStatus": "erp_status",
    "ShipmentReady": "ship",
    "Dispatch": "dispatch",
    "Track": "track",
    "Complete": "complete",
    "Compensate": "compensate",
    "RecordException": "exception",
}
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
}


def _env_name(template: dict[str, Any]) -> str:
    return template["Description"].rsplit("(", 1)[1].rstrip(")")


def _machine(template: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    (lid, machine), *others = list(resources(template, "AWS::StepFunctions::StateMachine"))
    assert not others
    parts = props(machine)["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else json.dumps(part).replace('"', "'") for part in parts)
    return lid, machine, json.loads(text)


def _function_lid(template: dict[str, Any], source: str) -> str:
    (lid,) = [
        lid
        for lid, fn in resources(template, "AWS::Lambda::Function")
        if fn["Metadata"]["distrosync:source"] == f"functions/{source}"
    ]
    return lid


def _statements(template: dict[str, Any], function_lid: str) -> list[dict[str, Any]]:
    role = ref_id(props(template["Resources"][function_lid])["Role"])
    out = []
    for _, policy in resources(template, "AWS::IAM::Policy"):
        if any(ref_id(r) == role for r in props(policy).get("Roles", [])):
            out.extend(props(policy)["PolicyDocument"]["Statement"])
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def test_a_standard_machine_logged_and_traced(template_dict):
    _, machine, _ = _machine(template_dict)
    p = props(machine)
    assert p["StateMachineType"] == "STANDARD"
    assert p["StateMachineName"] == f"distrosync-{_env_name(template_dict)}-order-to-ship"
    assert p["TracingConfiguration"] == {"Enabled": True}
    assert p["LoggingConfiguration"]["Level"] == "ALL"
    log_group = ref_id(p["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"])
    assert "KmsKeyId" in props(template_dict["Resources"][log_group])


def test_every_task_retries_transient_errors_with_backoff_and_full_jitter(template_dict):
    settings = load_config(_env_name(template_dict)).order_flow
    _, _, definition = _machine(template_dict)
    tasks = {name: s for name, s in definition["States"].items() if s["Type"] == "Task"}
    assert set(tasks) == set(STEP_OF_STATE)
    for name, state in tasks.items():
        retriers = {tuple(r["ErrorEquals"]): r for r in state["Retry"]}
        transient = retriers[tuple(flow.TRANSIENT_ERRORS)]
        assert transient == {
            "ErrorEquals": list(flow.TRANSIENT_ERRORS),
            "IntervalSeconds": settings.retry_interval_seconds,
            "MaxAttempts": settings.retry_max_attempts,
            "BackoffRate": 2,
            "MaxDelaySeconds": settings.retry_max_delay_seconds,
            "JitterStrategy": "FULL",
        }, name
        assert any(set(errors) == LAMBDA_SERVICE_ERRORS for errors in retriers), name
        # Nothing retries the permanent errors: they go to a Catch at once.
        retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        assert not retried & {flow.ORDER_CANCELLED, flow.ORDER_INVALID, flow.DELIVERY_REJECTED, "States.ALL"}, name


def test_the_transient_and_permanent_error_names_are_the_steps_exception_classes():
    for name in (*flow.TRANSIENT_ERRORS, flow.ORDER_CANCELLED, flow.ORDER_INVALID, flow.DELIVERY_REJECTED,
                 flow.DELIVERY_FAILED, flow.BACKORDER_EXPIRED, flow.SHORT_PICK):  # fmt: skip
        error = getattr(flow, name)
        assert issubclass(error, flow.FlowError) and error.__name__ == name


def test_every_task_catches_cancellation_into_compensation_and_the_rest_into_the_exception_path(template_dict):
    _, _, definition = _machine(template_dict)
    states = definition["States"]
    for name, step in STEP_OF_STATE.items():
        catches = states[name].get("Catch", [])
        if name == "RecordException":
            assert catches == [], "the exception path has nowhere else to go: its failure fails the execution"
            assert states[name]["Next"] == "Failed"
            continue
        by_error = {tuple(c["ErrorEquals"]): c for c in catches}
        if name == "Compensate":
            assert (flow.ORDER_CANCELLED,) not in by_error
            assert states[name]["Next"] == "Cancelled"
        else:
            cancelled = by_error[(flow.ORDER_CANCELLED,)]
            assert (cancelled["Next"], cancelled["ResultPath"]) == ("Compensate", "$.error")
            assert catches[-1] is by_error[("States.ALL",)], "States.ALL must come last"
        failed = by_error[("States.ALL",)]
        assert failed["ResultPath"] == "$.error"
        mark = states[failed["Next"]]
        # The Pass names the failed step for the exception step, then goes to it.
        assert (mark["Type"], mark["Result"], mark["ResultPath"], mark["Next"]) == (
            "Pass",
            step,
            "$.failed_step",
            "RecordException",
        )
    assert states["Failed"]["Type"] == "Fail" and states["Failed"]["Error"] == "OrderException"
    assert states["Cancelled"]["Type"] == "Succeed" and states["Completed"]["Type"] == "Succeed"
    parameters = states["RecordException"]["Parameters"]
    assert (parameters["failed_step.$"], parameters["error.$"]) == ("$.failed_step", "$.error")


def test_waiting_tasks_pass_their_token_and_time_out_by_the_execution_timers(template_dict):
    _, _, definition = _machine(template_dict)
    states = definition["States"]
    for name, (heartbeat, timeout) in WAITING_TASKS.items():
        state = states[name]
        assert state["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken"), name
        assert state["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
        assert state.get("HeartbeatSecondsPath") == heartbeat
        assert state["TimeoutSecondsPath"] == timeout
        assert "TimeoutSeconds" not in state and "HeartbeatSeconds" not in state  # configuration, not definition
    for name in set(STEP_OF_STATE) - set(WAITING_TASKS):
        assert "waitForTaskToken" not in json.dumps(states[name]["Resource"]), name
    assert states["WaitForStock"]["SecondsPath"] == "$.timers.backorder_recheck"
    assert states["Backorder"]["Parameters"]["max_rounds.$"] == "$.timers.backorder_rounds"


def test_short_stock_branches_by_the_reservation_outcome_and_policy(template_dict):
    _, _, definition = _machine(template_dict)
    states = definition["States"]
    assert definition["StartAt"] == "Validate" and states["Validate"]["Next"] == "Reserve"
    assert states["Reserve"]["ResultPath"] == states["Split"]["ResultPath"] == "$.reserve"
    assert states["Reserve"]["Next"] == states["Split"]["Next"] == "Short?"
    choice = states["Short?"]
    assert choice["Default"] == "Backorder"
    nexts = [c["Next"] for c in choice["Choices"]]
    assert nexts == ["Release", "Split"]
    assert states["Backorder"]["Next"] == "WaitForStock" and states["WaitForStock"]["Next"] == "Reserve"
    chain, state = [], "Release"
    while "Next" in states[state]:
        chain.append(state)
        state = states[state]["Next"]
    assert chain == ["Release", "ErpStatus", "ShipmentReady", "Dispatch", "Track", "Complete"] and state == "Completed"


def test_the_starter_carries_the_environments_timers_and_may_only_start_this_machine(template_dict):
    config = load_config(_env_name(template_dict))
    machine_lid, _, _ = _machine(template_dict)
    lid = _function_lid(template_dict, "order_starter")
    env = props(template_dict["Resources"][lid])["Environment"]["Variables"]
    assert flow.Timers.parse(env["ORDER_FLOW_TIMERS"]) == config.order_flow.timers
    assert ref_id(env["STATE_MACHINE_ARN"]) == machine_lid
    starts = [s for s in _statements(template_dict, lid) if any(a.startswith("states:") for a in _actions(s))]
    assert [(_actions(s), ref_id(s["Resource"])) for s in starts] == [(["states:StartExecution"], machine_lid)]


def test_only_the_ingress_and_the_steps_answer_task_tokens_and_only_for_this_machine(template_dict):
    machine_lid, _, _ = _machine(template_dict)
    answering = {}
    for lid, _ in resources(template_dict, "AWS::Lambda::Function"):
        for statement in _statements(template_dict, lid):
            if any(a.startswith("states:SendTask") for a in _actions(statement)):
                answering[lid] = statement
    # the callbacks (the ingress and its EDI twin, for a 945); the track step when delivery was reported before it
    assert set(answering) == {
        _function_lid(template_dict, "ingress"),
        _function_lid(template_dict, "edi_inbound"),
        _function_lid(template_dict, "order_flow"),
    }
    name = props(template_dict["Resources"][machine_lid])["StateMachineName"]
    for lid, statement in answering.items():
        assert set(_actions(statement)) == {
            "states:SendTaskSuccess",
            "states:SendTaskFailure",
            "states:SendTaskHeartbeat",
        }
        resource = statement["Resource"]
        # the steps name the machine's ARN (a reference would make the machine and its function depend on each other)
        assert ref_id(resource) == machine_lid or resource == (
            f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
        ), lid


@pytest.mark.parametrize("metric", ["ExecutionsFailed", "OrderException"])
def test_failed_orders_raise_an_alarm(dev_template_dict, metric):
    alarms = [props(a) for _, a in resources(dev_template_dict, "AWS::CloudWatch::Alarm")]
    assert any(a.get("MetricName") == metric and a["Threshold"] == 1 for a in alarms)


def test_the_step_function_has_time_for_an_adapter_call(template_dict):
    from shared.adapters.outbound import DELIVERY_BUDGET_SECONDS

    lid = _function_lid(template_dict, "order_flow")
    assert props(template_dict["Resources"][lid])["Timeout"] > DELIVERY_BUDGET_SECONDS + 5
