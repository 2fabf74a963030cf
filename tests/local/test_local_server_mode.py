"""Server mode: moto as a server other processes can use, the API over real HTTP, queues drained meanwhile."""

import json
import os
import time
import urllib.error
import urllib.request

import boto3
from sample_stack import SAMPLE

from local.http_server import start_http_server
from local.runtime import LocalRuntime


def http(url, *, headers=None, body=None, method="GET"):
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_server_mode_shares_state_serves_http_and_drains_in_the_background(base_template, tmp_path):
    rt = LocalRuntime.start(base_template, source_root=SAMPLE, mode="server", state_dir=tmp_path)
    state_file = tmp_path / "local.json"
    try:
        state = json.loads(state_file.read_text())
        assert state["endpoint_url"] == rt.endpoint_url and state["outputs"] == rt.outputs
        assert os.environ["AWS_ENDPOINT_URL"] == rt.endpoint_url  # handlers and our clients use the server

        def other(service):  # what another process (the CLI with --local) builds from the state file
            return boto3.client(service, endpoint_url=state["endpoint_url"], region_name=state["region"])

        assert rt.outputs["TableName"] in other("dynamodb").list_tables()["TableNames"]

        server = start_http_server(rt, port=0)
        try:
            assert json.loads(state_file.read_text())["api_url"] == server.url
            key = other("apigateway").create_api_key(name="partner", enabled=True)
            other("apigateway").create_usage_plan_key(
                usagePlanId=state["outputs"]["UsagePlanIdStandard"], keyId=key["id"], keyType="API_KEY"
            )
            status, headers, body = http(f"{server.url}/v1/inventory/SKU-1?x=1", headers={"x-api-key": key["value"]})
            assert status == 200 and headers["X-Echo"] == "yes"
            event = json.loads(body)["event"]
            assert event["pathParameters"] == {"sku": "SKU-1"} and event["queryStringParameters"] == {"x": "1"}
            status, headers, body = http(f"{server.url}/v1/inventory/SKU-1")
            assert status == 401 and headers["Content-Type"] == "application/problem+json"

            other("sqs").send_message(QueueUrl=rt.outputs["WorkQueueUrl"], MessageBody="from-another-process")
            table = rt.outputs["TableName"]
            assert wait_for(lambda: other("dynamodb").scan(TableName=table)["Count"] == 1)
            log_file = tmp_path / "logs" / "worker.log"  # what `tail -f` in another terminal shows
            assert state["log_dir"] == str(tmp_path / "logs") and '"message":"batch"' in log_file.read_text()
        finally:
            server.stop()
    finally:
        rt.stop()
    assert not state_file.exists() and "AWS_ENDPOINT_URL" not in os.environ
