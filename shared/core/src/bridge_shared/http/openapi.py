"""The OpenAPI document says what the wire carries: every error is RFC 9457 problem+json.

`install_problem_openapi(app)` (called by `build_app`) post-processes the generated schema once:

* one `Problem` schema component (and `ProblemFieldError` for its `errors` items), exactly the members
  `bridge_shared.http.problems` emits;
* every operation documents, as `application/problem+json` with that schema: 401, 403 and 503 (the
  identity provider's keys unavailable) when it is authenticated (it has a security requirement),
  422 when it takes parameters or a body (FastAPI's `HTTPValidationError` 422 is replaced, and its
  components removed), 400 when it takes a body (FastAPI cannot parse it), 413 when it is an
  authenticated write with a body in a service that publishes events (the change would publish an
  event over the outbox's size limit: `EventTooLarge`) and whenever it takes a body (the request body
  cap), 431 (the header caps) and 500 on every operation;
* every string query and path parameter states the request guard's rule (`bridge_shared.http.guard`:
  no control characters) as a `pattern`, unless it has a format, an enum or a pattern of its own;
* the statuses a route declares with `responses=problems(404, 409)` (what its use case raises) get the
  same problem+json content, whatever FastAPI put there.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from bridge_shared.errors import TYPE_BASE
from bridge_shared.http.problems import PROBLEM_JSON

__all__ = ["PROBLEM_SCHEMA", "document_problems", "install_problem_openapi", "problems"]

_REF = "#/components/schemas/"
_WRITES = {"post", "put", "patch", "delete"}

# What each status means on this platform, used when a route does not describe it itself.
_DESCRIBED: dict[int, str] = {
    400: "The request body could not be parsed (e.g. it is not valid UTF-8 for its media type).",
    401: "No bearer token, or one that is invalid or expired (see WWW-Authenticate).",
    403: "The token's roles or scope do not allow this.",
    404: "The resource, or one the request names, does not exist or is not visible to the caller.",
    409: "The resource's current state does not allow this change.",
    413: (
        "Too large: the request body is over the service's limit, or the change would publish an event "
        "over the outbox's size limit (nothing was stored)."
    ),
    415: "The request body's media type or encoding is not supported.",
    422: "A parameter or body field is invalid; `errors` names each field.",
    431: "The request's headers, or its Authorization header alone, are over the service's limit.",
    500: "An unexpected error; nothing is reported beyond this.",
    503: (
        "The enterprise identity provider's signing keys could not be fetched to verify the token "
        "(only with enterprise sign-in configured); retry after `Retry-After` seconds."
    ),
}

PROBLEM_FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ProblemFieldError",
    "type": "object",
    "description": "One invalid field of the request.",
    "required": ["field", "message"],
    "properties": {
        "field": {
            "type": "string",
            "description": (
                "The field's dotted path within its location, without the location itself "
                "(`body.name` becomes `name`, `query.limit` becomes `limit`); `(body)` for the body "
                "as a whole."
            ),
            "examples": ["participants.0.email", "limit", "(body)"],
        },
        "message": {"type": "string", "description": "Why the value was refused, for people."},
        "type": {
            "type": "string",
            "description": "A machine-readable reason (pydantic's error type, e.g. `missing`, `too_long`).",
            "examples": ["missing", "string_too_long", "too_large"],
        },
    },
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": (
        "RFC 9457 problem details, sent as `application/problem+json` for every 4xx and 5xx. "
        "Extension members may follow (e.g. `current_phase` on a 409, `field`/`size`/`limit` on a 413)."
    ),
    "required": ["type", "title", "status", "instance"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "description": (
                "Identifies the kind of problem: the absolute URL of its page on the answering service, "
                f"`<base URL>{TYPE_BASE}<kind>` (a human page saying what it means and what to do; "
                f"`{TYPE_BASE}` lists them all), or `about:blank` for a plain HTTP error without a page."
            ),
            "examples": [f"http://localhost:8001{TYPE_BASE}invalid-request", "about:blank"],
        },
        "title": {"type": "string", "description": "Short summary of the kind of problem."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status."},
        "detail": {"type": "string", "description": "What went wrong with this request (may be absent)."},
        "instance": {"type": "string", "description": "The request's path."},
        "errors": {
            "type": "array",
            "items": {"$ref": f"{_REF}ProblemFieldError"},
            "description": "On 422 (and 413): one item per invalid field.",
        },
    },
    "additionalProperties": True,
}


def _description(status: int) -> str:
    if status in _DESCRIBED:
        return _DESCRIBED[status]
    return HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"


def problems(*statuses: int, descriptions: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the problem+json statuses its use case can answer (404, 409, ...).

    `problems(404, 409)` uses the platform's wording; `descriptions={409: "Already answered"}` says
    it for this route. Statuses every route gets (401, 403, 422, 413, 500; see the module) need not
    be listed."""
    texts = descriptions or {}
    return {s: {"description": texts.get(s, _description(s))} for s in (*statuses, *texts)}


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": f"{_REF}Problem"}}}


def _default_statuses(method: str, operation: dict[str, Any], *, publishes_events: bool) -> list[int]:
    statuses = [431, 500]
    authenticated = bool(operation.get("security"))
    if authenticated:
        statuses += [401, 403, 503]
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.append(422)
    if operation.get("requestBody"):
        statuses.append(400)  # FastAPI answers 400 when it cannot parse a body, before validation
    if operation.get("requestBody") or (publishes_events and authenticated and method in _WRITES):
        statuses.append(413)
    return statuses


# What the request guard refuses in any query parameter or the path (422): control characters.
NO_CONTROL_CHARACTERS = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"


def _state_guard_rule(schema: dict[str, Any]) -> None:
    """Adds the no-control-characters pattern to a parameter's free string schemas."""
    for branch in schema.get("anyOf", []):
        _state_guard_rule(branch)
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        _state_guard_rule(schema["items"])
    if schema.get("type") == "string" and not ({"format", "enum", "pattern", "const"} & set(schema)):
        schema["pattern"] = NO_CONTROL_CHARACTERS


def document_problems(schema: dict[str, Any], *, publishes_events: bool = True) -> dict[str, Any]:
    """Makes every error response of `schema` (an OpenAPI document) problem+json; returns it."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    components["ProblemFieldError"] = PROBLEM_FIELD_ERROR_SCHEMA
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in {"query", "path"} and isinstance(parameter.get("schema"), dict):
                    _state_guard_rule(parameter["schema"])
            for status in _default_statuses(method, operation, publishes_events=publishes_events):
                responses.setdefault(str(status), {})
            for key, response in responses.items():
                if not key.isdigit() or int(key) < 400:
                    continue
                status = int(key)
                if status == 422 and response.get("description") == "Validation Error":
                    response["description"] = _description(422)  # FastAPI's default, replaced
                response.setdefault("description", _description(status))
                response["content"] = _problem_content()
                if status == 401:
                    response["headers"] = {
                        "WWW-Authenticate": {
                            "description": '`Bearer`, or `Bearer error="invalid_token"`',
                            "schema": {"type": "string"},
                        }
                    }
            operation["responses"] = dict(sorted(responses.items()))
    # FastAPI's validation-error shapes are never sent: drop them once nothing refers to them.
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def install_problem_openapi(app: FastAPI, *, publishes_events: bool) -> None:
    """Makes `app.openapi()` (and so /openapi.json and /docs) document problem+json errors."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate(), publishes_events=publishes_events)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
