"""API Gateway's gateway responses: the answers it gives itself, before (or instead of) the integration.

The response for a type is the template's `AWS::ApiGateway::GatewayResponse` of that type, else the API's
DEFAULT_4XX / DEFAULT_5XX (whose StatusCode, when set, replaces the type's own), else API Gateway's built-in
default: the type's status and `{"message":$context.error.messageString}`.

Templates are rendered for the `$context` variables API Gateway offers there. `$context.error.messageString`
is the *quoted* message, as in API Gateway (so `"$context.error.messageString"` in a template yields doubled
quotes there too). `$!name` renders an unknown variable as nothing, `$name` leaves it as written (VTL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'

# type -> (built-in status, message, x-amzn-ErrorType)
BUILT_IN: Mapping[str, tuple[int, str, str | None]] = {
    "ACCESS_DENIED": (403, "Forbidden", "AccessDeniedException"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error", "InternalServerErrorException"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "Internal server error", "AuthorizerConfigurationException"),
    "AUTHORIZER_FAILURE": (500, "Internal server error", "AuthorizerFailureException"),
    "BAD_REQUEST_PARAMETERS": (400, "Bad request parameters", "BadRequestException"),
    "BAD_REQUEST_BODY": (400, "Invalid request body", "BadRequestException"),
    "EXPIRED_TOKEN": (403, "The security token included in the request is expired", "ExpiredTokenException"),
    "INTEGRATION_FAILURE": (504, "Internal server error", "InternalServerErrorException"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", "InternalServerErrorException"),
    "INVALID_API_KEY": (403, "Forbidden", "ForbiddenException"),
    "INVALID_SIGNATURE": (403, "Forbidden", "InvalidSignatureException"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token", "MissingAuthenticationTokenException"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded", "LimitExceededException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLongException"),
    "RESOURCE_NOT_FOUND": (404, "Not Found", "ResourceNotFoundException"),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type", "UnsupportedMediaTypeException"),
    "WAF_FILTERED": (403, "Forbidden", "WAFFilteredException"),
    # A failed Lambda proxy integration (function error, malformed response) answers 502 through DEFAULT_5XX.
    "DEFAULT_5XX": (502, "Internal server error", "InternalServerErrorException"),
    "DEFAULT_4XX": (400, "Bad Request", None),
}


@dataclass(frozen=True)
class GatewayResponseDef:
    """One `AWS::ApiGateway::GatewayResponse` of the template."""

    response_type: str
    status_code: int | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    templates: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> GatewayResponseDef:
        status = props.get("StatusCode")
        return cls(
            response_type=props["ResponseType"],
            status_code=int(status) if status not in (None, "") else None,
            parameters=dict(props.get("ResponseParameters") or {}),
            templates=dict(props.get("ResponseTemplates") or {}),
        )


@dataclass(frozen=True)
class RenderedResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def choose(response_type: str, configured: Mapping[str, GatewayResponseDef]) -> tuple[int, GatewayResponseDef]:
    """The status and definition API Gateway uses for `response_type`."""
    built_in_status = BUILT_IN[response_type][0]
    if response_type in configured:
        own = configured[response_type]
        return own.status_code or built_in_status, own
    default = configured.get("DEFAULT_5XX" if built_in_status >= 500 else "DEFAULT_4XX")
    if default is not None:
        return default.status_code or built_in_status, default
    return built_in_status, GatewayResponseDef(response_type, templates={"application/json": DEFAULT_TEMPLATE})


def render(
    response_type: str,
    configured: Mapping[str, GatewayResponseDef],
    context: Mapping[str, Any],
    *,
    request_headers: Mapping[str, str],
    message: str | None = None,
) -> RenderedResponse:
    """The full gateway response for `response_type` (`context` holds the `$context` variables)."""
    status, definition = choose(response_type, configured)
    _, built_in_message, error_type = BUILT_IN[response_type]
    message = message or built_in_message
    variables = dict(context)
    variables["error"] = {
        "message": message,
        "messageString": '"' + message.replace('"', '\\"') + '"',
        "responseType": response_type,
    }
    content_type, template = _template_for(definition.templates, request_headers)
    headers = {"Content-Type": content_type}
    if error_type:
        headers["x-amzn-ErrorType"] = error_type
    lowered = {k.lower(): v for k, v in request_headers.items()}
    for name, source in definition.parameters.items():
        if name.startswith("gatewayresponse.header."):
            value = _parameter_value(source, lowered, variables)
            if value is not None:
                headers[_set_case(headers, name.removeprefix("gatewayresponse.header."))] = value
    body = render_template(template, {"context": variables}) if template else ""
    return RenderedResponse(status=status, headers=headers, body=body.encode())


def _template_for(templates: Mapping[str, str], request_headers: Mapping[str, str]) -> tuple[str, str]:
    if not templates:
        return "application/json", DEFAULT_TEMPLATE
    accept = next((v for k, v in request_headers.items() if k.lower() == "accept"), "")
    for media_type in (m.split(";")[0].strip() for m in accept.split(",")):
        if media_type in templates:
            return media_type, templates[media_type]
    if "application/json" in templates:
        return "application/json", templates["application/json"]
    return next(iter(templates.items()))


def _parameter_value(source: str, request_headers: Mapping[str, str], variables: Mapping[str, Any]) -> str | None:
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    if source.startswith("method.request.header."):
        return request_headers.get(source.removeprefix("method.request.header.").lower())
    if source.startswith("context."):
        value = _lookup({"context": variables}, source)
        return None if value is None else str(value)
    return None


def _set_case(headers: Mapping[str, str], name: str) -> str:
    """Reuse the existing spelling of a header (Content-Type vs content-type) so that it is replaced."""
    return next((k for k in headers if k.lower() == name.lower()), name)


_VARIABLE = re.compile(r"\$(!?)(?:\{([A-Za-z][\w.]*)\}|([A-Za-z][\w]*(?:\.[A-Za-z_][\w]*)*))")


def render_template(template: str, variables: Mapping[str, Any]) -> str:
    """Substitute `$a.b`, `${a.b}`, `$!a.b` and `$!{a.b}` references (the subset of VTL gateway responses use)."""

    def substitute(match: re.Match[str]) -> str:
        quiet, braced, bare = match.groups()
        value = _lookup(variables, braced or bare)
        if value is None:
            return "" if quiet else match.group(0)
        return str(value)

    return _VARIABLE.sub(substitute, template)


def _lookup(variables: Mapping[str, Any], dotted: str) -> Any:
    value: Any = variables
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value
