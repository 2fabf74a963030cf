"""API Gateway REST APIs on moto: the API, its resources, methods, deployment, stage, gateway responses,
usage plans and API keys.

moto stores them (so keys created later by the CLI bind to real usage plans, and clients can list routes);
requests are served by the in-process emulator `local.apigateway`, which reads the same definitions.
"""

from __future__ import annotations

from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import tag_map
from local.template import Resource

_INTEGRATION_KEYS = {
    "Type": "type",
    "Uri": "uri",
    "IntegrationHttpMethod": "integrationHttpMethod",
    "RequestTemplates": "requestTemplates",
    "PassthroughBehavior": "passthroughBehavior",
    "RequestParameters": "requestParameters",
    "TimeoutInMillis": "timeoutInMillis",
    "ContentHandling": "contentHandling",
    "Credentials": "credentials",
    "CacheKeyParameters": "cacheKeyParameters",
}


def create_rest_api(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    if props.get("Body") or props.get("BodyS3Location"):
        ctx.warn(f"{resource.logical_id}: routes from an OpenAPI body are not emulated (declare resources)")
    kwargs: dict[str, Any] = {"name": props.get("Name") or ctx.name(resource.logical_id, 128)}
    kwargs.update(_renamed(props, {"Description": "description", "BinaryMediaTypes": "binaryMediaTypes"}))
    if props.get("ApiKeySourceType"):
        kwargs["apiKeySource"] = props["ApiKeySourceType"]
    if props.get("EndpointConfiguration", {}).get("Types"):
        kwargs["endpointConfiguration"] = {"types": props["EndpointConfiguration"]["Types"]}
    if props.get("Tags"):
        kwargs["tags"] = tag_map(props["Tags"])
    api = ctx.clients("apigateway").create_rest_api(**kwargs)
    return Created(ref=api["id"], attributes={"RootResourceId": api["rootResourceId"], "RestApiId": api["id"]})


def create_resource(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    created = ctx.clients("apigateway").create_resource(
        restApiId=props["RestApiId"], parentId=props["ParentId"], pathPart=props["PathPart"]
    )
    return Created(ref=created["id"], attributes={"ResourceId": created["id"]})


def create_method(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    apigw = ctx.clients("apigateway")
    where = {"restApiId": props["RestApiId"], "resourceId": props["ResourceId"], "httpMethod": props["HttpMethod"]}
    method: dict[str, Any] = {
        "authorizationType": props.get("AuthorizationType", "NONE"),
        "apiKeyRequired": bool(props.get("ApiKeyRequired", False)),
    }
    method.update(
        _renamed(
            props,
            {
                "AuthorizerId": "authorizerId",
                "RequestParameters": "requestParameters",
                "OperationName": "operationName",
                "RequestModels": "requestModels",
            },
        )
    )
    apigw.put_method(**where, **method)
    if props.get("Integration"):
        apigw.put_integration(**where, **_renamed(props["Integration"], _INTEGRATION_KEYS))
    return Created(ref=f"{props['RestApiId']}-{props['ResourceId']}-{props['HttpMethod']}")


def create_deployment(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    kwargs: dict[str, Any] = {"restApiId": props["RestApiId"]}
    kwargs.update(_renamed(props, {"Description": "description", "StageName": "stageName"}))
    deployment = ctx.clients("apigateway").create_deployment(**kwargs)
    return Created(ref=deployment["id"], attributes={"DeploymentId": deployment["id"]})


def create_stage(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    kwargs: dict[str, Any] = {
        "restApiId": props["RestApiId"],
        "stageName": props["StageName"],
        "deploymentId": props["DeploymentId"],
    }
    kwargs.update(
        _renamed(props, {"Description": "description", "Variables": "variables", "TracingEnabled": "tracingEnabled"})
    )
    ctx.clients("apigateway").create_stage(**kwargs)
    return Created(ref=props["StageName"])


def create_gateway_response(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    kwargs: dict[str, Any] = {"restApiId": props["RestApiId"], "responseType": props["ResponseType"]}
    kwargs.update(
        _renamed(
            props,
            {
                "StatusCode": "statusCode",
                "ResponseParameters": "responseParameters",
                "ResponseTemplates": "responseTemplates",
            },
        )
    )
    ctx.clients("apigateway").put_gateway_response(**kwargs)
    return Created(ref=f"{props['RestApiId']}-{props['ResponseType']}")


def create_usage_plan(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    kwargs: dict[str, Any] = {"name": props.get("UsagePlanName") or ctx.name(resource.logical_id, 128)}
    if props.get("Description"):
        kwargs["description"] = props["Description"]
    if props.get("ApiStages"):
        kwargs["apiStages"] = [_api_stage(s) for s in props["ApiStages"]]
    if props.get("Throttle"):
        kwargs["throttle"] = _throttle(props["Throttle"])
    if props.get("Quota"):
        kwargs["quota"] = _renamed(props["Quota"], {"Limit": "limit", "Offset": "offset", "Period": "period"})
    if props.get("Tags"):
        kwargs["tags"] = tag_map(props["Tags"])
    plan = ctx.clients("apigateway").create_usage_plan(**kwargs)
    return Created(ref=plan["id"], attributes={"Id": plan["id"]})


def create_api_key(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    kwargs: dict[str, Any] = {"name": props.get("Name") or ctx.name(resource.logical_id, 1024)}
    kwargs["enabled"] = bool(props.get("Enabled", False))
    kwargs.update(_renamed(props, {"Description": "description", "Value": "value", "CustomerId": "customerId"}))
    key = ctx.clients("apigateway").create_api_key(**kwargs)
    return Created(ref=key["id"], attributes={"APIKeyId": key["id"]})


def create_usage_plan_key(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    created = ctx.clients("apigateway").create_usage_plan_key(
        usagePlanId=props["UsagePlanId"], keyId=props["KeyId"], keyType=props.get("KeyType", "API_KEY")
    )
    return Created(ref=created["id"], attributes={"Id": created["id"]})


def _api_stage(stage: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"apiId": stage["ApiId"], "stage": stage["Stage"]}
    if stage.get("Throttle"):
        out["throttle"] = {path: _throttle(t) for path, t in stage["Throttle"].items()}
    return out


def _throttle(throttle: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "BurstLimit" in throttle:
        out["burstLimit"] = int(throttle["BurstLimit"])
    if "RateLimit" in throttle:
        out["rateLimit"] = float(throttle["RateLimit"])
    return out


def _renamed(props: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """CloudFormation property names -> API parameter names, for the properties that are set."""
    return {api: props[cfn] for cfn, api in names.items() if props.get(cfn) is not None}


CREATORS: dict[str, Creator] = {
    "AWS::ApiGateway::RestApi": create_rest_api,
    "AWS::ApiGateway::Resource": create_resource,
    "AWS::ApiGateway::Method": create_method,
    "AWS::ApiGateway::Deployment": create_deployment,
    "AWS::ApiGateway::Stage": create_stage,
    "AWS::ApiGateway::GatewayResponse": create_gateway_response,
    "AWS::ApiGateway::UsagePlan": create_usage_plan,
    "AWS::ApiGateway::ApiKey": create_api_key,
    "AWS::ApiGateway::UsagePlanKey": create_usage_plan_key,
}
