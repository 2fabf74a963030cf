"""The REST API emulator: what API Gateway enforces before the Lambda, the proxy event, and the response."""

import base64
import json
from pathlib import Path

import boto3
from sample_stack import make_api_key

from local.gateway_responses import GatewayResponseDef, render

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "aws"
PROBLEM = "application/problem+json"


def get(rt, path, key=None, **kwargs):
    headers = {"x-api-key": key["value"]} if key else {}
    headers.update(kwargs.pop("headers", {}))
    return rt.api.request(kwargs.pop("method", "GET"), path, headers=headers, **kwargs)


def echoed(response):
    assert response.status == 200, response.text
    return response.json()["event"]


def assert_problem(response, status, slug):
    assert response.status == status, response.text
    assert response.header("Content-Type") == PROBLEM
    problem = response.json()
    assert problem["type"] == f"urn:sample:problem:{slug}"
    assert problem["request_id"] == response.header("x-amzn-RequestId")
    return problem


def test_no_key_or_an_unknown_key_gets_the_templates_invalid_api_key_response(rt, api_key):
    missing = get(rt, "/v1/inventory/SKU-1")
    problem = assert_problem(missing, 401, "invalid-api-key")
    assert problem["instance"] == "/v1/inventory/SKU-1" and missing.header("x-amzn-ErrorType") == "ForbiddenException"
    assert_problem(get(rt, "/v1/inventory/SKU-1", {"value": "x" * 40}), 401, "invalid-api-key")
    assert rt.functions.logs.lines("api") == []  # refused before the Lambda


def test_a_disabled_key_or_a_key_of_no_plan_of_this_stage_is_refused(rt):
    assert_problem(
        get(rt, "/v1/inventory/A", make_api_key(rt, "UsagePlanIdStandard", enabled=False)), 401, "invalid-api-key"
    )
    planless = boto3.client("apigateway").create_api_key(name="loose", enabled=True)
    assert_problem(get(rt, "/v1/inventory/A", planless), 401, "invalid-api-key")


def test_a_deleted_key_stops_working_at_once(rt, api_key):
    assert get(rt, "/v1/inventory/A", api_key).status == 200
    boto3.client("apigateway").delete_api_key(apiKey=api_key["id"])
    assert_problem(get(rt, "/v1/inventory/A", api_key), 401, "invalid-api-key")


def test_a_valid_key_reaches_the_lambda_with_the_rest_proxy_event(rt, api_key):
    response = get(rt, "/v1/inventory/SKU%201?a=1&a=2&b=", api_key, headers={"User-Agent": "tests/1.0"})
    event = echoed(response)
    corpus = json.loads((CORPUS / "powertools_apiGatewayProxyEvent.json").read_text())
    # "version" is the HTTP API payload-1.0 marker and "authorizer"/"clientCert" need an authorizer or mTLS
    assert set(event) == set(corpus) - {"version"}
    assert set(corpus["requestContext"]) - {"authorizer"} <= set(event["requestContext"])
    assert set(corpus["requestContext"]["identity"]) - {"clientCert"} <= set(event["requestContext"]["identity"])
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/v1/inventory/{sku}",
        "/v1/inventory/SKU%201",
        "GET",
    )
    assert event["pathParameters"] == {"sku": "SKU 1"}
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["headers"]["User-Agent"] == "tests/1.0" and event["multiValueHeaders"]["User-Agent"] == ["tests/1.0"]
    assert {"Host", "X-Forwarded-For", "X-Forwarded-Proto"} <= set(event["headers"])
    assert (event["body"], event["isBase64Encoded"], event["stageVariables"]) == (None, False, None)
    context = event["requestContext"]
    api_id = rt.api.api_id
    assert (context["stage"], context["apiId"], context["resourcePath"]) == ("v1", api_id, "/v1/inventory/{sku}")
    assert context["requestId"] == response.header("x-amzn-RequestId")
    assert context["identity"]["apiKey"] == api_key["value"] and context["identity"]["apiKeyId"] == api_key["id"]
    assert context["identity"]["sourceIp"] == "127.0.0.1" and context["identity"]["userAgent"] == "tests/1.0"
    assert context["domainName"] == f"{api_id}.execute-api.us-east-1.amazonaws.com"
    assert response.header("X-Echo") == "yes" and response.multi_value_headers["Set-Cookie"] == ["a=1", "b=2"]


def test_bodies_are_text_or_base64_and_greedy_paths_match(rt, api_key):
    text = echoed(get(rt, "/v1/inventory", api_key, method="POST", body=b'{"n": 1}'))
    assert (text["body"], text["isBase64Encoded"]) == ('{"n": 1}', False)
    binary = echoed(
        get(rt, "/v1/inventory", api_key, method="POST", body=b"\x00\xff", headers={"Content-Type": "image/png"})
    )
    assert binary["isBase64Encoded"] and base64.b64decode(binary["body"]) == b"\x00\xff"
    proxied = echoed(get(rt, "/open/a/b/c", method="DELETE"))
    assert proxied["resource"] == "/open/{proxy+}" and proxied["pathParameters"] == {"proxy": "a/b/c"}
    assert echoed(get(rt, "/v1/inventory/summary", api_key))["resource"] == "/v1/inventory/summary"  # literal wins
    binary_response = get(rt, "/open/binary")
    assert binary_response.body == b"\x00\xff" and binary_response.header("Content-Type") == "application/octet-stream"


def test_unknown_routes_and_methods_get_the_missing_authentication_token_response(rt, api_key):
    for method, path in (("GET", "/nowhere"), ("DELETE", "/v1/inventory/SKU-1"), ("GET", "/"), ("GET", "/v1")):
        response = get(rt, path, api_key, method=method)
        problem = assert_problem(response, 404, "not-found")
        assert (
            problem["instance"] == path and response.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
        )


def test_the_execute_api_path_with_the_stage_works_too(rt, api_key):
    assert echoed(get(rt, "/v1/v1/inventory/SKU-1", api_key))["resource"] == "/v1/inventory/{sku}"


def test_usage_plan_throttling_answers_the_templates_throttled_response(rt, api_key):
    # The function's cold start (up to a second on a loaded machine) would refill the bucket mid-burst: warm it on
    # another method first (buckets are per method here), then three requests in a row.
    assert get(rt, "/v1/inventory/summary", api_key).status == 200
    statuses = [get(rt, "/v1/inventory/A", api_key).status for _ in range(3)]  # rate 1/s, burst 2
    assert statuses == [200, 200, 429]
    throttled = get(rt, "/v1/inventory/A", api_key)
    assert_problem(throttled, 429, "throttled")
    assert throttled.header("x-amzn-ErrorType") == "TooManyRequestsException"


def test_the_quota_falls_back_to_the_default_4xx_response_with_its_own_status(rt):
    key = make_api_key(rt, "UsagePlanIdTiny")  # 3 requests a day
    statuses = [get(rt, "/v1/inventory/A", key).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert_problem(get(rt, "/v1/inventory/A", key), 429, "client-error")


def test_a_body_over_10_mb_is_refused_before_routing(rt):
    assert_problem(get(rt, "/anything", method="POST", body=b"x" * (10 * 1024 * 1024 + 1)), 413, "client-error")


def test_function_errors_and_malformed_results_are_502(rt):
    for path in ("/open/boom", "/open/malformed"):
        response = get(rt, path)
        assert (response.status, response.json()) == (502, {"message": "Internal server error"})


def test_cors_preflight_is_answered_by_the_mock_integration(rt):
    response = get(rt, "/v1/inventory", method="OPTIONS", headers={"Origin": "https://example.com"})
    assert response.status == 204
    assert response.header("Access-Control-Allow-Origin") == "https://example.com"
    assert "OPTIONS" in response.header("Access-Control-Allow-Methods")


def test_built_in_defaults_and_the_quoted_message_string():
    context = {"path": "/x", "requestId": "r-1"}
    plain = render("INVALID_API_KEY", {}, context, request_headers={})
    assert (plain.status, json.loads(plain.body)) == (403, {"message": "Forbidden"})
    configured = {
        "DEFAULT_4XX": GatewayResponseDef(
            "DEFAULT_4XX",
            status_code=400,
            parameters={"gatewayresponse.header.X-Origin": "method.request.header.origin"},
            templates={
                "application/json": '{"m":"$context.error.messageString","p":"$context.path","q":"$!context.nope"}'
            },
        )
    }
    quoted = render("THROTTLED", configured, context, request_headers={"Origin": "o"})
    assert quoted.status == 400 and quoted.headers["X-Origin"] == "o"
    assert quoted.body.decode() == '{"m":""Too Many Requests"","p":"/x","q":""}'  # as API Gateway renders it
