"""Rendering problems as HTTP responses, both as a Powertools `Response` and as a raw proxy result."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from shared.http.problems import PROBLEM_CONTENT_TYPE, Problem

CORRELATION_HEADER = "X-Correlation-Id"


def problem_response(problem: Problem, instance: str, correlation_id: str) -> Response:
    return Response(
        status_code=problem.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=problem.to_json(instance),
        headers={CORRELATION_HEADER: correlation_id, **problem.headers},
    )


def problem_proxy_result(problem: Problem, instance: str, correlation_id: str) -> dict[str, Any]:
    """The same, as an API Gateway proxy result (for rejections before routing)."""
    return {
        "statusCode": problem.status,
        "headers": {
            "Content-Type": PROBLEM_CONTENT_TYPE,
            CORRELATION_HEADER: correlation_id,
            **problem.headers,
        },
        "body": problem.to_json(instance),
        "isBase64Encoded": False,
    }


def field_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic/Powertools validation errors -> [{"pointer": "/sku", "message": ..., "code": ...}]."""
    out = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        where = loc[0] if loc else "body"
        path = loc[1:] if where in ("body", "query", "path", "header") else loc
        out.append(
            {
                "in": where,
                "pointer": "/" + "/".join(path),
                "message": error.get("msg", "invalid"),
                "code": error.get("type", "invalid"),
            }
        )
    return out
