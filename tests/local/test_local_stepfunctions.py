"""State machines of a synthesized stack run on the embedded runtime, their Lambda tasks in-process."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from sample_stack import SAMPLE

from local.runtime import LocalRuntime


@pytest.fixture
def ext(extended_template):
    with LocalRuntime.start(extended_template, source_root=SAMPLE) as runtime:
        yield runtime


def start(rt, prefix: str = "order", **order) -> str:
    sfn = boto3.client("stepfunctions")
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    document = {"order": name, **order}
    return sfn.start_execution(stateMachineArn=rt.outputs["OrderFlowArn"], name=name, input=json.dumps(document))[
        "executionArn"
    ]


def history(execution_arn: str) -> list[dict]:
    return boto3.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


def wait_for_event(execution_arn: str, event_type: str, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = history(execution_arn)
        if any(e["type"] == event_type for e in events):
            return events
        time.sleep(0.01)
    raise TimeoutError(f"no {event_type} in {execution_arn}")


def task_token(events: list[dict]) -> str:
    scheduled = [e for e in events if e["type"] == "TaskScheduled"][-1]  # Confirm, after Price
    parameters = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])
    return parameters["Payload"]["token"]


def test_the_state_machine_is_created_from_the_synthesized_definition(ext):
    machine = boto3.client("stepfunctions").describe_state_machine(stateMachineArn=ext.outputs["OrderFlowArn"])
    definition = json.loads(machine["definition"])
    assert machine["name"] == "local-extended-order-flow"
    assert definition["StartAt"] == "Price"
    assert definition["States"]["Price"]["Resource"] == "arn:aws:states:::lambda:invoke"
    assert definition["States"]["Reserve"]["Resource"] == ext.functions.get("steps").arn
    (resource,) = ext.stack.of_type("AWS::StepFunctions::StateMachine")
    assert resource.ref == resource.attributes["Arn"] == ext.outputs["OrderFlowArn"]
    assert resource.attributes["Name"] == machine["name"]


def test_lambda_tasks_retry_a_transient_error_then_wait_for_the_task_token(ext):
    execution = start(ext, sku="A-1", quantity=3)
    events = wait_for_event(execution, "TaskSubmitted")
    with pytest.raises(TimeoutError):
        ext.wait_for_execution(execution, timeout=0.05)  # parked until the token comes back

    boto3.client("stepfunctions").send_task_success(taskToken=task_token(events), output='{"confirmed": true}')
    done = ext.wait_for_execution(execution)

    assert done["status"] == "SUCCEEDED"
    output = json.loads(done["output"])
    assert output["price"] == {"total": 15}
    assert output["reservation"] == {"reserved": output["order"], "attempts": 2}
    assert output["confirmation"] == {"confirmed": True}
    failures = [
        e["lambdaFunctionFailedEventDetails"] for e in history(execution) if e["type"] == "LambdaFunctionFailed"
    ]
    assert [f["error"] for f in failures] == ["TransientError"]
    assert json.loads(failures[0]["cause"])["errorMessage"].endswith("(attempt 1)")
    parked = [
        line for line in ext.functions.logs.json_lines("steps") if line.get("message") == "waiting for confirmation"
    ]
    assert [line["order"] for line in parked] == [output["order"]]


def test_a_token_answered_during_its_own_task_ends_the_heartbeat_wait_at_once(ext):
    """moto fix 9: the task's Lambda answers its own token before the wait (with a 60 s heartbeat) begins."""
    execution = start(ext, prefix="answered", sku="A-1", quantity=1)
    done = ext.wait_for_execution(execution, timeout=10)

    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["confirmation"] == {"confirmed": True, "by": "park"}
    types = [e["type"] for e in history(execution)]
    assert types.count("TaskSucceeded") == 2  # Price, then Confirm with its own answer
    assert "TaskTimedOut" not in types


def test_a_task_error_is_caught_to_the_failure_path(ext):
    execution = start(ext, sku="A-1", quantity=0)
    done = ext.wait_for_execution(execution)

    assert done["status"] == "FAILED"
    assert (done["error"], done["cause"]) == ("OrderRejected", "the order cannot be priced")
    events = history(execution)
    (failed,) = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert failed["error"] == "PermanentError" and "quantity 0 of A-1" in failed["cause"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered == ["Price", "Release", "Rejected"]
    (release,) = [e for e in events if e["type"] == "PassStateEntered"]
    assert json.loads(release["stateEnteredEventDetails"]["input"])["error"]["Error"] == "PermanentError"


def test_lambda_invoke_reaches_the_in_process_function(ext):
    response = boto3.client("lambda").invoke(
        FunctionName=ext.functions.get("steps").name, Payload=json.dumps({"step": "price", "sku": "B", "quantity": 2})
    )
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"sku": "B", "total": 10}

    failed = boto3.client("lambda").invoke(
        FunctionName=ext.functions.get("steps").arn, Payload=json.dumps({"step": "price", "sku": "B", "quantity": 0})
    )
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "PermanentError"


def test_stop_execution_ends_a_task_token_wait_and_the_runtime_stops_the_running_ones(extended_template):
    with LocalRuntime.start(extended_template, source_root=SAMPLE) as runtime:
        sfn = boto3.client("stepfunctions")
        stopped = start(runtime, sku="A-1", quantity=3)
        left_running = start(runtime, sku="A-1", quantity=4)
        wait_for_event(stopped, "TaskSubmitted")
        wait_for_event(left_running, "TaskSubmitted")

        sfn.stop_execution(executionArn=stopped, error="Cancelled", cause="the customer cancelled")
        assert runtime.wait_for_execution(stopped, timeout=2)["status"] == "ABORTED"  # not parked until its timeout
        assert sfn.describe_execution(executionArn=left_running)["status"] == "RUNNING"
        executions = _moto_executions(runtime)
    # stop() ended the execution still waiting for its token: no worker thread is left waiting for it.
    deadline = time.monotonic() + 2
    while any(e.exec_status.value == "RUNNING" for e in executions) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(e.exec_status.value for e in executions) == ["ABORTED", "ABORTED"]


def test_configure_overrides_a_functions_environment_from_its_next_cold_start(ext):
    steps = ext.functions.get("steps")
    ext.functions.configure("steps", SAMPLE_SETTING="short")
    assert ext.functions.get("steps").environment["SAMPLE_SETTING"] == "short"
    assert {k: v for k, v in ext.functions.get("steps").environment.items() if k != "SAMPLE_SETTING"} == dict(
        steps.environment
    )


def _moto_executions(runtime):
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[runtime.stack.pseudo.account_id][runtime.region]
    return backend._get_executions()


def test_a_definition_is_parsed_once_per_process_and_a_bad_one_is_still_refused(ext, monkeypatch):
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    sfn = boto3.client("stepfunctions")
    machine = sfn.describe_state_machine(stateMachineArn=ext.outputs["OrderFlowArn"])
    parsed: list[str] = []
    parse = AmazonStateLanguageParser.parse
    monkeypatch.setattr(AmazonStateLanguageParser, "parse", lambda text: parsed.append(text) or parse(text))
    role = machine["roleArn"]
    sfn.create_state_machine(name=f"again-{uuid.uuid4().hex[:6]}", definition=machine["definition"], roleArn=role)
    assert parsed == []  # the runtime's start validated this very text already (moto_fixes, fix 8)

    broken = json.dumps({"StartAt": "A", "States": {"A": {"Type": "NoSuchType"}}})
    with pytest.raises(ClientError, match="ASLParserException"):  # moto's InvalidDefinition
        sfn.create_state_machine(name=f"broken-{uuid.uuid4().hex[:6]}", definition=broken, roleArn=role)
    assert parsed == [broken]
