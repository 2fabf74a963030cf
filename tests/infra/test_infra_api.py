"""The partner API: routes, API keys, usage plans per tier, RFC 7807 gateway responses."""

from __future__ import annotations

import json
import re

import pytest
from cfn_reader import api_paths, props, ref_id, resources

from infra.config import load_config
from shared.http import problems

ROUTES = {("POST", "/v1/inventory/adjustments"), ("GET", "/v1/inventory/{sku}")}


def _methods(template):
    paths = api_paths(template)
    for lid, method in resources(template, "AWS::ApiGateway::Method"):
        p = props(method)
        yield lid, p["HttpMethod"], paths.get(ref_id(p["ResourceId"]), "/"), p


def test_routes_go_to_ingress_with_lambda_proxy(dev_template_dict):
    found = {(verb, path) for _, verb, path, _ in _methods(dev_template_dict)}
    assert found >= ROUTES
    for _, _verb, _path, p in _methods(dev_template_dict):
        assert p["Integration"]["Type"] == "AWS_PROXY"
        assert "IngressHandlerFunction" in json.dumps(p["Integration"]["Uri"])


# Channel platforms (Shopify, BigCommerce) and carriers' tracking providers (EasyPost) cannot send our API key: the
# channel's HMAC or token, or the carrier's HMAC (else the partner API key, checked by the ingress), authenticates them.
KEYLESS = {("POST", "/v1/channels/{channel}/webhooks"), ("POST", "/v1/carriers/{carrier}/tracking")}


def test_every_method_requires_an_api_key_except_webhooks_from_platforms(template_dict):
    seen = set()
    for lid, verb, path, p in _methods(template_dict):
        if verb == "OPTIONS":
            continue
        if (verb, path) in KEYLESS:
            seen.add((verb, path))
            assert p.get("ApiKeyRequired") is False, f"{lid}: {verb} {path}"
        else:
            assert p.get("ApiKeyRequired") is True, f"{lid}: {verb} {path}"
    assert seen == KEYLESS


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_one_usage_plan_per_tier_with_throttle_and_quota(request, env):
    template = request.getfixturevalue(f"{env}_template_dict")
    config = load_config(env)
    plans = {props(plan)["UsagePlanName"]: props(plan) for _, plan in resources(template, "AWS::ApiGateway::UsagePlan")}
    assert set(plans) == {f"distrosync-{env}-{tier}" for tier in config.tiers}
    for tier_name, tier in config.tiers.items():
        plan = plans[f"distrosync-{env}-{tier_name}"]
        assert plan["Throttle"] == {"RateLimit": tier.rate_limit, "BurstLimit": tier.burst_limit}
        assert plan["Quota"] == {"Limit": tier.quota_limit, "Period": "DAY"}
        (stage,) = plan["ApiStages"]
        assert ref_id(stage["Stage"]).startswith("ApiRestApiDeploymentStage")
        assert f"UsagePlanId{tier_name.capitalize()}" in template["Outputs"]


EXPECTED_PROBLEMS = {
    "INVALID_API_KEY": problems.INVALID_API_KEY,
    "MISSING_AUTHENTICATION_TOKEN": problems.NOT_FOUND,
    "THROTTLED": problems.THROTTLED,
    "QUOTA_EXCEEDED": problems.QUOTA_EXCEEDED,
    "REQUEST_TOO_LARGE": problems.PAYLOAD_TOO_LARGE,
}


def _gateway_responses(template):
    return {props(r)["ResponseType"]: props(r) for _, r in resources(template, "AWS::ApiGateway::GatewayResponse")}


def _render(template_text):
    """What API Gateway would send: substitute the $context variables."""
    text = template_text.replace("$context.error.messageString", '"Forbidden"')
    return json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", text))


def test_gateway_responses_are_problem_json(dev_template_dict):
    responses = _gateway_responses(dev_template_dict)
    assert set(EXPECTED_PROBLEMS) | {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for response_type, response in responses.items():
        assert response["ResponseParameters"]["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
        body = _render(response["ResponseTemplates"]["application/json"])
        assert {"type", "title", "detail", "instance", "request_id"} <= set(body), response_type
        assert "$context.path" in response["ResponseTemplates"]["application/json"]
        assert "$context.requestId" in response["ResponseTemplates"]["application/json"]


@pytest.mark.parametrize(("response_type", "kind"), EXPECTED_PROBLEMS.items())
def test_gateway_response_slugs_and_statuses(dev_template_dict, response_type, kind):
    response = _gateway_responses(dev_template_dict)[response_type]
    body = _render(response["ResponseTemplates"]["application/json"])
    assert body["type"] == f"urn:distrosync:problem:{kind.slug}"
    assert body["status"] == kind.status
    assert response["StatusCode"] == str(kind.status)


def test_stage_logs_traces_and_throttles(dev_template_dict):
    (stage,) = [props(s) for _, s in resources(dev_template_dict, "AWS::ApiGateway::Stage")]
    assert stage["StageName"] == "dev"
    assert stage["TracingEnabled"] is True
    access_format = json.loads(stage["AccessLogSetting"]["Format"])
    assert access_format["requestId"] == "$context.requestId"
    (settings,) = stage["MethodSettings"]
    assert settings["MetricsEnabled"] is True
    assert settings["DataTraceEnabled"] is False
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
