"""An API Gateway REST API emulator built from the template, in front of the in-process functions.

`RestApiEmulator.request(method, path, headers=..., query=..., body=b"")` does what API Gateway does for a
REST API with Lambda proxy integrations:

1. a body over 10 MB -> REQUEST_TOO_LARGE;
2. route: resources from `AWS::ApiGateway::Resource` (literal parts before `{param}` before `{proxy+}`),
   then the method (or ANY); nothing -> MISSING_AUTHENTICATION_TOKEN (403 "Missing Authentication Token");
3. `ApiKeyRequired`: the `x-api-key` header must be an enabled key of a usage plan of this stage ->
   INVALID_API_KEY; then usage-plan throttling -> THROTTLED and quota -> QUOTA_EXCEEDED (`local.usage_plans`);
4. builds the REST proxy event (resource, path, headers + multiValueHeaders, query string + multi-value,
   pathParameters, stageVariables, requestContext with identity, body, isBase64Encoded) and invokes;
5. turns the proxy result into the HTTP response; a function error or malformed result -> 502.

Refusals answer with the template's gateway responses (`local.gateway_responses`). Paths are those of a
custom domain (`/v1/inventory/SKU-1`); `/<stage>/...` (the execute-api form) is accepted too. MOCK
integrations (CORS preflight) answer from their integration response; other integration types, and
custom/Cognito authorizers, are not emulated and answer API_CONFIGURATION_ERROR.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.aws_clients import AwsClients
from local.functions import FunctionHost, FunctionNotFound
from local.gateway_responses import GatewayResponseDef, render, render_template
from local.provision import ProvisionedResource, ProvisionedStack
from local.usage_plans import Clock, Throttle, UsagePlanGate

MAX_BODY_BYTES = 10 * 1024 * 1024
HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]
QueryInput = Mapping[str, str | list[str]] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    multi_value_headers: dict[str, list[str]] = field(default_factory=dict)

    def header(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), default)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Method:
    http_method: str
    api_key_required: bool
    authorization_type: str
    integration: Mapping[str, Any]
    function: str | None  # the function key of an AWS_PROXY Lambda integration


@dataclass
class RouteNode:
    resource_id: str
    path: str
    part: str = ""
    children: list[RouteNode] = field(default_factory=list)
    methods: dict[str, Method] = field(default_factory=dict)

    @property
    def is_greedy(self) -> bool:
        return self.part.startswith("{") and self.part.endswith("+}")

    @property
    def is_parameter(self) -> bool:
        return self.part.startswith("{") and not self.is_greedy


class RestApiEmulator:
    def __init__(
        self,
        stack: ProvisionedStack,
        api_logical_id: str,
        host: FunctionHost,
        clients: AwsClients,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.host = host
        api = stack.resources[api_logical_id]
        self.logical_id = api_logical_id
        self.api_id = str(api.ref)
        self.region = stack.pseudo.region
        self.account_id = stack.pseudo.account_id
        self.binary_media_types = list(api.properties.get("BinaryMediaTypes") or [])
        self.root = RouteNode(resource_id=str(api.attributes["RootResourceId"]), path="/")
        self._build_routes(stack)
        stage = next(iter(self._own(stack, "AWS::ApiGateway::Stage")), None)
        if stage is not None:
            self.stage = str(stage.properties["StageName"])
            self.stage_variables: dict[str, str] = dict(stage.properties.get("Variables") or {})
            self.deployment_id = str(stage.properties.get("DeploymentId", ""))
            stage_throttles = _stage_throttles(stage.properties.get("MethodSettings") or [])
        else:
            deployment = next(iter(self._own(stack, "AWS::ApiGateway::Deployment")), None)
            self.stage = str((deployment.properties.get("StageName") if deployment else None) or "prod")
            self.stage_variables = {}
            self.deployment_id = str(deployment.ref) if deployment else ""
            stage_throttles = {}
        self.gateway_responses = {
            r.properties["ResponseType"]: GatewayResponseDef.from_properties(r.properties)
            for r in self._own(stack, "AWS::ApiGateway::GatewayResponse")
        }
        self.domain_name = f"{self.api_id}.execute-api.{self.region}.amazonaws.com"
        self.gate = UsagePlanGate(clients, self.api_id, self.stage, stage_throttles=stage_throttles, clock=clock)

    # -- model
    def _own(self, stack: ProvisionedStack, resource_type: str) -> list[ProvisionedResource]:
        return [r for r in stack.of_type(resource_type) if r.properties.get("RestApiId") == self.api_id]

    def _build_routes(self, stack: ProvisionedStack) -> None:
        nodes = {self.root.resource_id: self.root}
        pending = self._own(stack, "AWS::ApiGateway::Resource")
        while pending:  # parents first (the template order need not be)
            progressed = False
            for res in list(pending):
                parent = nodes.get(str(res.properties["ParentId"]))
                if parent is None:
                    continue
                part = str(res.properties["PathPart"])
                node = RouteNode(resource_id=str(res.ref), path=parent.path.rstrip("/") + "/" + part, part=part)
                parent.children.append(node)
                nodes[node.resource_id] = node
                pending.remove(res)
                progressed = True
            if not progressed:
                raise ValueError(f"API resources without a parent: {[r.logical_id for r in pending]}")
        for res in self._own(stack, "AWS::ApiGateway::Method"):
            props = res.properties
            integration = props.get("Integration") or {}
            nodes[str(props["ResourceId"])].methods[str(props["HttpMethod"]).upper()] = Method(
                http_method=str(props["HttpMethod"]).upper(),
                api_key_required=bool(props.get("ApiKeyRequired", False)),
                authorization_type=str(props.get("AuthorizationType", "NONE")),
                integration=integration,
                function=self._function_of(integration),
            )

    def _function_of(self, integration: Mapping[str, Any]) -> str | None:
        if integration.get("Type") not in ("AWS_PROXY", "AWS"):
            return None
        uri = str(integration.get("Uri", ""))
        if ":lambda:path/" not in uri or "/functions/" not in uri:
            return None
        function_arn = uri.split("/functions/", 1)[1].removesuffix("/invocations")
        try:
            return self.host.get(function_arn).key
        except FunctionNotFound:
            return None

    def routes(self) -> list[tuple[str, str]]:
        """(method, resource path) of every method, for diagnostics."""
        out: list[tuple[str, str]] = []
        stack = [self.root]
        while stack:
            node = stack.pop()
            out.extend((m, node.path) for m in node.methods)
            stack.extend(node.children)
        return sorted(out, key=lambda r: (r[1], r[0]))

    # -- requests
    def request(
        self,
        method: str,
        path: str,
        *,
        headers: HeaderInput | None = None,
        query: QueryInput | None = None,
        body: bytes | str | None = b"",
        source_ip: str = "127.0.0.1",
    ) -> HttpResponse:
        method = method.upper()
        body_bytes = body.encode() if isinstance(body, str) else (body or b"")
        header_pairs = _pairs(headers)
        split = urlsplit(path)
        query_pairs = parse_qsl(split.query, keep_blank_values=True) + _query_pairs(query)
        path = split.path or "/"
        now = datetime.now(UTC)
        context: dict[str, Any] = {
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": secrets.token_urlsafe(12)[:16] + "=",
            "path": path,
            "httpMethod": method,
            "stage": self.stage,
            "apiId": self.api_id,
            "accountId": self.account_id,
            "domainName": self.domain_name,
            "domainPrefix": self.api_id,
            "protocol": "HTTP/1.1",
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": _last(header_pairs, "user-agent")},
        }
        request_headers = dict(header_pairs)

        if len(body_bytes) > MAX_BODY_BYTES:
            return self._refuse("REQUEST_TOO_LARGE", context, request_headers)
        found = self._route(path)
        if found is None:
            return self._refuse("MISSING_AUTHENTICATION_TOKEN", context, request_headers)
        node, path_params = found
        method_def = node.methods.get(method) or node.methods.get("ANY")
        if method_def is None:
            return self._refuse("MISSING_AUTHENTICATION_TOKEN", context, request_headers)
        context["resourceId"], context["resourcePath"] = node.resource_id, node.path

        verdict = self.gate.check(
            _last(header_pairs, "x-api-key"),
            key_required=method_def.api_key_required,
            resource_path=node.path,
            http_method=method_def.http_method,
        )
        if verdict.key_id:
            context["identity"].update(apiKey=verdict.key_value, apiKeyId=verdict.key_id)
        if verdict.refusal:
            return self._refuse(verdict.refusal, context, request_headers)
        if method_def.authorization_type not in ("NONE", "AWS_IAM"):
            return self._refuse("API_CONFIGURATION_ERROR", context, request_headers)

        integration_type = method_def.integration.get("Type")
        if integration_type == "MOCK":
            return self._mock(method_def, context, request_headers)
        if integration_type != "AWS_PROXY" or method_def.function is None:
            return self._refuse("API_CONFIGURATION_ERROR", context, request_headers)

        event = self._event(node, path, method, header_pairs, query_pairs, path_params, body_bytes, context)
        invocation = self.host.invoke(method_def.function, event)
        if not invocation.ok:
            return self._refuse("DEFAULT_5XX", context, request_headers)
        return self._proxy_response(invocation.payload, context, request_headers)

    def _route(self, path: str) -> tuple[RouteNode, dict[str, str]] | None:
        for candidate in (path, *self._without_stage(path)):
            segments = [unquote(s) for s in candidate.strip("/").split("/") if s]
            params: dict[str, str] = {}
            node = _match(self.root, segments, params)
            if node is not None and node.methods:
                return node, params
        return None

    def _without_stage(self, path: str) -> list[str]:
        prefix = f"/{self.stage}"
        if path == prefix or path.startswith(prefix + "/"):
            return [path[len(prefix) :] or "/"]
        return []

    def _event(
        self,
        node: RouteNode,
        path: str,
        method: str,
        header_pairs: list[tuple[str, str]],
        query_pairs: list[tuple[str, str]],
        path_params: dict[str, str],
        body: bytes,
        context: dict[str, Any],
    ) -> dict[str, Any]:
        header_pairs = list(header_pairs)
        present = {k.lower() for k, _ in header_pairs}
        defaults = {
            "Host": self.domain_name,
            "X-Forwarded-For": context["identity"]["sourceIp"],
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https",
            "X-Amzn-Trace-Id": f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}",
        }
        header_pairs += [(k, v) for k, v in defaults.items() if k.lower() not in present]
        content_type = _last(header_pairs, "content-type") or ""
        is_binary = bool(body) and (_is_binary_media_type(content_type, self.binary_media_types) or not _is_utf8(body))
        identity = {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "user": None,
            **context["identity"],
        }
        request_context = {
            "resourceId": node.resource_id,
            "resourcePath": node.path,
            "httpMethod": method,
            "extendedRequestId": context["extendedRequestId"],
            "requestTime": context["requestTime"],
            "path": path,
            "accountId": self.account_id,
            "protocol": "HTTP/1.1",
            "stage": self.stage,
            "domainPrefix": self.api_id,
            "requestTimeEpoch": context["requestTimeEpoch"],
            "requestId": context["requestId"],
            "identity": identity,
            "domainName": self.domain_name,
            "deploymentId": self.deployment_id,
            "apiId": self.api_id,
        }
        return {
            "resource": node.path,
            "path": path,
            "httpMethod": method,
            "headers": dict(header_pairs) or None,
            "multiValueHeaders": _multi(header_pairs) or None,
            "queryStringParameters": dict(query_pairs) or None,
            "multiValueQueryStringParameters": _multi(query_pairs) or None,
            "pathParameters": path_params or None,
            "stageVariables": self.stage_variables or None,
            "requestContext": request_context,
            "body": (base64.b64encode(body).decode() if is_binary else body.decode()) if body else None,
            "isBase64Encoded": is_binary,
        }

    # -- responses
    def _refuse(self, response_type: str, context: dict[str, Any], request_headers: dict[str, str]) -> HttpResponse:
        rendered = render(response_type, self.gateway_responses, context, request_headers=request_headers)
        return self._finish(rendered.status, {**rendered.headers}, {}, rendered.body, context)

    def _proxy_response(self, payload: Any, context: dict[str, Any], request_headers: dict[str, str]) -> HttpResponse:
        try:
            status, headers, multi, body = _parse_proxy_result(payload)
        except ValueError:
            return self._refuse("DEFAULT_5XX", context, request_headers)
        return self._finish(status, headers, multi, body, context)

    def _mock(self, method: Method, context: dict[str, Any], request_headers: dict[str, str]) -> HttpResponse:
        responses = method.integration.get("IntegrationResponses") or [{"StatusCode": "200"}]
        chosen = next((r for r in responses if not r.get("SelectionPattern")), responses[0])
        lowered = {k.lower(): v for k, v in request_headers.items()}
        headers: dict[str, str] = {}
        for name, source in (chosen.get("ResponseParameters") or {}).items():
            if not name.startswith("method.response.header."):
                continue
            header = name.removeprefix("method.response.header.")
            if source.startswith("'") and source.endswith("'"):
                headers[header] = source[1:-1]
            elif source.startswith("method.request.header.") and source[22:].lower() in lowered:
                headers[header] = lowered[source[22:].lower()]
        templates = chosen.get("ResponseTemplates") or {}
        body = render_template(next(iter(templates.values())), {"context": context}) if templates else ""
        return self._finish(int(chosen.get("StatusCode", 200)), headers, {}, body.encode(), context)

    def _finish(
        self,
        status: int,
        headers: dict[str, str],
        multi: dict[str, list[str]],
        body: bytes,
        context: dict[str, Any],
    ) -> HttpResponse:
        merged: dict[str, list[str]] = {k: list(v) for k, v in multi.items()}
        for name, value in headers.items():
            merged.setdefault(name, [value])
        lowered = {k.lower() for k in merged}
        if "content-type" not in lowered:
            merged["Content-Type"] = ["application/json"]
        merged["x-amzn-RequestId"] = [context["requestId"]]
        merged["x-amz-apigw-id"] = [context["extendedRequestId"][:-1]]
        merged["Content-Length"] = [str(len(body))]
        flat = {k: ",".join(v) for k, v in merged.items()}
        return HttpResponse(status=status, headers=flat, body=body, multi_value_headers=merged)


def _match(node: RouteNode, segments: list[str], params: dict[str, str]) -> RouteNode | None:
    """The most specific resource for `segments`: literal parts, then `{param}`, then `{proxy+}`."""
    if not segments:
        return node
    head, rest = segments[0], segments[1:]
    for child in sorted(node.children, key=lambda c: (c.is_greedy, c.is_parameter)):
        if child.is_greedy:
            params[child.part[1:-2]] = "/".join(segments)
            return child
        if child.part == head or child.is_parameter:
            found = _match(child, rest, params)
            if found is not None:
                if child.is_parameter:
                    params[child.part[1:-1]] = head
                return found
    return None


def _parse_proxy_result(payload: Any) -> tuple[int, dict[str, str], dict[str, list[str]], bytes]:
    """A Lambda proxy result -> (status, headers, multi-value headers, body); ValueError when malformed."""
    if not isinstance(payload, dict):
        raise ValueError("not an object")
    try:
        status = int(payload.get("statusCode", 200))
    except (TypeError, ValueError) as exc:
        raise ValueError("statusCode is not an integer") from exc
    headers = payload.get("headers") or {}
    multi = payload.get("multiValueHeaders") or {}
    if not isinstance(headers, dict) or not isinstance(multi, dict):
        raise ValueError("headers must be objects")
    if any(isinstance(v, dict | list) for v in headers.values()):
        raise ValueError("header values must be scalars")
    if any(not isinstance(v, list) for v in multi.values()):
        raise ValueError("multiValueHeaders values must be lists")
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError("body must be a string")
    raw = (base64.b64decode(body) if payload.get("isBase64Encoded") else body.encode()) if body else b""
    return (
        status,
        {str(k): _header_value(v) for k, v in headers.items()},
        {str(k): [_header_value(x) for x in v] for k, v in multi.items()},
        raw,
    )


def _stage_throttles(method_settings: list[Mapping[str, Any]]) -> dict[str, Throttle]:
    """Stage MethodSettings -> {"/path/METHOD" or "/*/*": throttle}."""
    out: dict[str, Throttle] = {}
    for setting in method_settings:
        throttle = Throttle.parse(
            {"rateLimit": setting.get("ThrottlingRateLimit", 0), "burstLimit": setting.get("ThrottlingBurstLimit", 0)}
        )
        if throttle is None:
            continue
        path = str(setting.get("ResourcePath", "/*")).replace("~1", "/")
        out[f"{path}/{setting.get('HttpMethod', '*')}"] = throttle
    return out


def _pairs(headers: HeaderInput | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(k), str(v)) for k, v in items if v is not None]


def _query_pairs(query: QueryInput | None) -> list[tuple[str, str]]:
    if query is None:
        return []
    if not isinstance(query, Mapping):
        return [(str(k), str(v)) for k, v in query]
    out: list[tuple[str, str]] = []
    for k, v in query.items():
        out.extend((k, str(x)) for x in (v if isinstance(v, list) else [v]))
    return out


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def _last(pairs: list[tuple[str, str]], name: str) -> str | None:
    value = None
    for k, v in pairs:
        if k.lower() == name:
            value = v
    return value


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_binary_media_type(content_type: str, binary_media_types: list[str]) -> bool:
    media = content_type.split(";")[0].strip().lower()
    for pattern in binary_media_types:
        pattern = pattern.replace("~1", "/").lower()
        if pattern == "*/*" or pattern == media:
            return True
        if pattern.endswith("/*") and media.startswith(pattern[:-1]):
            return True
    return False
