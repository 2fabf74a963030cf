"""In-process Lambda: environment, per-function module copies, context, errors and captured logs."""

import json
import os
import sys
import textwrap

import pytest

from local.functions import FunctionError, FunctionHost, FunctionSpec
from local.log_capture import LogStore


def api_event(path="/open/echo"):
    return {"path": path, "httpMethod": "GET", "headers": {}, "requestContext": {}}


def test_the_function_environment_applies_at_import_and_invocation_then_is_restored(rt):
    assert "GREETING" not in os.environ
    seen = json.loads(rt.invoke("api", api_event()).result()["body"])
    assert (seen["greeting_at_import"], seen["greeting_now"], seen["service_at_import"]) == ("hello", "hello", "api")
    assert "GREETING" not in os.environ and "AWS_LAMBDA_FUNCTION_NAME" not in os.environ


def test_each_function_has_its_own_copy_of_shared_modules(rt):
    boto3_client = __import__("boto3").client("sqs")
    boto3_client.send_message(QueueUrl=rt.outputs["WorkQueueUrl"], MessageBody="x")
    rt.drain()
    assert json.loads(rt.invoke("api", api_event()).result()["body"])["service_at_import"] == "api"
    (batch_line,) = [line for line in rt.functions.logs.json_lines("worker") if line.get("message") == "batch"]
    assert batch_line["service_at_import"] == "worker"  # same module, imported with the worker's environment
    assert "sample_shared" not in sys.modules  # hidden again outside invocations


def test_the_context_object_is_lambdas(rt):
    context = json.loads(rt.invoke("api", api_event()).result()["body"])["context"]
    assert context["function_name"] == "local-base-api" and context["memory_limit_in_mb"] == "128"
    assert context["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:local-base-api"
    assert 0 < context["remaining_ms"] <= 3000 and len(context["aws_request_id"]) == 36


def test_a_function_is_found_by_key_logical_id_name_or_arn(rt):
    spec = rt.functions.get("api")
    assert {rt.functions.get(n).key for n in (spec.logical_id, spec.name, spec.arn, spec.arn + ":live")} == {"api"}
    with pytest.raises(KeyError, match="functions"):
        rt.functions.get("nope")


def test_an_exception_becomes_lambdas_error_document_and_a_log_line(rt):
    invocation = rt.invoke("api", api_event("/open/boom"))
    assert invocation.error["errorType"] == "ValueError" and invocation.error["errorMessage"] == "boom"
    assert invocation.error["requestId"] == invocation.request_id and "handler.py" in invocation.error["stackTrace"][0]
    with pytest.raises(FunctionError, match="ValueError: boom"):
        invocation.result()
    assert "[ERROR] ValueError: boom" in rt.logs("api")


def test_logs_hold_start_end_report_powertools_lines_and_emf_metrics(rt):
    rt.invoke("api", api_event())  # another function's cold start first: each function has its own
    sqs = __import__("boto3").client("sqs")
    for body in ("m1", "m2"):
        sqs.send_message(QueueUrl=rt.outputs["WorkQueueUrl"], MessageBody=body)
        rt.drain()
    lines = rt.logs("worker")
    assert lines[0].startswith("START RequestId: ") and lines[-1].startswith("REPORT RequestId: ")
    reports = [line for line in lines if line.startswith("REPORT")]
    assert ["Init Duration" in r for r in reports] == [True, False]
    records = [line for line in rt.functions.logs.json_lines("worker") if line.get("message") == "batch"]
    assert [r["cold_start"] for r in records] == [True, False]
    assert records[0]["function_name"] == "local-base-worker" and records[0]["service"] == "worker"
    assert records[0]["function_memory_size"] == "256"
    emf = rt.metrics("worker")
    assert [doc["Processed"] for doc in emf] == [[1.0], [1.0]] and emf[0]["_aws"]["CloudWatchMetrics"]


# -- FunctionHost on its own, with functions written to a temporary folder


def write(root, relative, text):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def spec(root, name, environment=None, handler="handler.lambda_handler"):
    return FunctionSpec(
        logical_id=name.title(),
        name=f"stack-{name}",
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:stack-{name}",
        key=name,
        handler=handler,
        runtime="python3.12",
        timeout_seconds=3,
        memory_mb=128,
        environment=environment or {},
        source_dir=root / "functions" / name,
    )


BROKEN_AT_IMPORT = """\
import os

if not os.path.exists(os.environ["FLAG"]):
    raise ImportError("not yet")


def lambda_handler(event, context):
    return "ok"
"""


def test_import_errors_are_init_errors_and_the_next_invocation_retries(tmp_path):
    write(tmp_path, "functions/broken/handler.py", BROKEN_AT_IMPORT)
    flag = tmp_path / "flag"
    functions = [spec(tmp_path, "broken", {"FLAG": str(flag)})]
    host = FunctionHost(functions, source_root=tmp_path, logs=LogStore(), region="us-east-1")
    first = host.invoke("broken", {})
    assert first.error["errorType"] == "Runtime.ImportModuleError"
    assert first.error["errorMessage"] == "Unable to import module 'handler': not yet"
    flag.touch()
    assert host.invoke("broken", {}).result() == "ok"


def test_a_missing_handler_and_an_unserializable_result_are_reported_like_lambda(tmp_path):
    write(tmp_path, "functions/odd/handler.py", "def lambda_handler(event, context):\n    return object()\n")
    host = FunctionHost(
        [spec(tmp_path, "odd"), spec(tmp_path, "nohandler", handler="handler.missing")],
        source_root=tmp_path,
        logs=LogStore(tmp_path / "logs"),
        region="us-east-1",
    )
    write(tmp_path, "functions/nohandler/handler.py", "x = 1\n")
    assert host.invoke("odd", {}).error["errorType"] == "Runtime.MarshalError"
    assert host.invoke("nohandler", {}).error["errorType"] == "Runtime.HandlerNotFound"
    assert (tmp_path / "logs" / "odd.log").read_text().count("START RequestId") == 1


def test_module_level_state_is_per_function_and_survives_between_invocations(tmp_path):
    write(tmp_path, "lib/__init__.py", "")
    write(tmp_path, "lib/counter.py", "import os\nNAME = os.environ['NAME']\ncalls = []\n")
    for name in ("one", "two"):
        write(
            tmp_path,
            f"functions/{name}/handler.py",
            "from lib import counter\n"
            "def lambda_handler(event, context):\n"
            "    counter.calls.append(1)\n"
            "    from lib import counter as again\n"  # a lazy import finds the function's own copy
            "    return [counter.NAME, len(counter.calls), again is counter]\n",
        )
    host = FunctionHost(
        [spec(tmp_path, "one", {"NAME": "one"}), spec(tmp_path, "two", {"NAME": "two"})],
        source_root=tmp_path,
        logs=LogStore(),
        region="us-east-1",
    )
    assert host.invoke("one", {}).result() == ["one", 1, True]
    assert host.invoke("two", {}).result() == ["two", 1, True]
    assert host.invoke("one", {}).result() == ["one", 2, True]
    assert "lib" not in sys.modules
