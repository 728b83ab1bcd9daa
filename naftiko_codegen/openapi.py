"""The OpenAPI 3.1 document of a generated REST service, built from the model.

The generated service serves this document as is (`<package>/openapi.json`), so what clients
read is exactly what the generator decided; FastAPI is never asked to infer it.
"""

from __future__ import annotations

import json
from typing import Any

from .model import Capability, ExposedAuth, RestAdapter, RestRoute

PROBLEM_JSON = "application/problem+json"

_PROBLEM = {
    "type": "object",
    "description": "An RFC 9457 problem: why the service, not the upstream API, refused or failed.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "The inputs that break the operation's schema.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

_REQUEST_ID = {
    "description": "Names the request in the service's log and upstream; made when absent or "
    "not 1-128 visible ASCII characters (no spaces).",
    "schema": {"type": "string"},
}

# Local answers of a proxy operation, besides the upstream's own (passed through unchanged).
_LOCAL = {
    "400": "The request body is not JSON",
    "413": "The request body is larger than the service accepts",
    "422": "The inputs break the operation's schema",
    "502": "The upstream API could not be reached, dropped the connection, or answered a body "
    "that is not the JSON expected or larger than the service accepts",
    "504": "The upstream API did not answer in time",
}


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _response(
    description: str, content: dict[str, Any], *, retry_after: bool = False
) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-ID": _ref("headers", "RequestId")}
    if retry_after:
        headers["Retry-After"] = _ref("headers", "RetryAfter")
    return {"description": description, "headers": headers, "content": content}


def _upstream_content() -> dict[str, Any]:
    # Whatever the upstream API sends is passed through, with its own Content-Type.
    return {"application/json": {"schema": {}}, "*/*": {"schema": {}}}


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": _ref("schemas", "Problem")}}


def _operation(route: RestRoute) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": route.operation_id}
    if route.summary:
        operation["summary"] = route.summary
    description = route.description or (route.call.operation.description if route.call else "")
    if description:
        operation["description"] = description
    parameters: list[dict[str, Any]] = [_ref("parameters", "RequestId")]
    for i in route.inputs:
        if i.location in ("body", "field"):
            continue
        parameter: dict[str, Any] = {
            "name": i.route_key if i.location == "path" else i.name,
            "in": i.location,
            "required": i.required,
            "schema": {k: v for k, v in i.schema.items() if k != "description"},
        }
        if i.description:
            parameter["description"] = i.description
        parameters.append(parameter)
    operation["parameters"] = parameters
    body = route.body_input
    if body is not None:
        request_body: dict[str, Any] = {
            "required": body.required,
            "content": {"application/json": {"schema": body.schema}},
        }
        if body.description:
            request_body["description"] = body.description
        operation["requestBody"] = request_body
    elif route.body_schema is not None:
        # the inputs are members of one JSON object (docs/semantics.md, "REST request bodies
        # with several fields"); the body may be left out when none is required
        operation["requestBody"] = {
            "required": bool(route.body_schema.get("required")),
            "content": {"application/json": {"schema": route.body_schema}},
        }
    if route.empty:  # no `call`, `steps` or outputs: only the checks of the request answer
        empty: dict[str, Any] = {
            "204": {"description": "Nothing: the operation calls no API",
                    "headers": {"X-Request-ID": _ref("headers", "RequestId")}},
        }
        checked = ({"400", "413"} if body is not None else set()) | ({"422"} if route.inputs else set())
        for status in sorted(checked):
            empty[status] = _response(f"{_LOCAL[status]} (problem)", _problem_content())
        operation["responses"] = empty
        return operation
    passthrough = route.output.kind != "mapped" and route.steps is None
    responses: dict[str, Any] = {
        "200": _response(
            "The upstream answer: its status, body, Content-Type and Retry-After, unchanged"
            if passthrough
            else "The result the operation maps, with the upstream status",
            {"application/json": {"schema": route.output.schema}},
            retry_after=True,
        ),
    }
    local = (
        {"502", "504"}
        | ({"400", "413"} if body is not None or route.body_schema is not None else set())
        | ({"422"} if route.inputs else set())
    )
    for status, why in _LOCAL.items():
        if status in local:
            responses[status] = _response(
                f"{why} (problem), or the upstream answer with this status",
                {**_problem_content(), **_upstream_content()},
                retry_after=True,
            )
    responses["default"] = _response(
        "Any other upstream answer, passed through unchanged", _upstream_content(), retry_after=True
    )
    operation["responses"] = responses
    return operation


def _health(rest: RestAdapter) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    if "/healthz" in rest.health_paths:
        paths["/healthz"] = {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness: the process serves requests",
                "parameters": [_ref("parameters", "RequestId")],
                "responses": {
                    "200": _response(
                        "Serving",
                        {"application/json": {"schema": _status_schema("ok")}},
                    )
                },
            }
        }
    if "/readyz" in rest.health_paths:
        paths["/readyz"] = {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: the configuration is complete and the upstream client open",
                "parameters": [_ref("parameters", "RequestId")],
                "responses": {
                    "200": _response(
                        "Ready", {"application/json": {"schema": _status_schema("ready")}}
                    ),
                    "503": _response("Not ready", _problem_content()),
                },
            }
        }
    return paths


def _security_scheme(auth: ExposedAuth) -> dict[str, Any]:
    if auth.kind == "apikey":
        return {"type": "apiKey", "in": auth.placement, "name": auth.key}
    return {"type": "http", "scheme": auth.kind}


def _secure(rest: RestAdapter, paths: dict[str, dict[str, Any]]) -> None:
    """Every operation requires the exposed credential (401 without it); the probes do not."""
    if rest.auth is None:
        return
    for path, item in paths.items():
        for method, operation in item.items():
            if path in rest.health_paths and method == "get":
                operation["security"] = []
                continue
            operation["security"] = [{"credential": []}]
            operation["responses"]["401"] = _response(
                "The request lacks the credential (problem, with WWW-Authenticate)", _problem_content()
            )


def _status_schema(value: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "const": value}},
    }


def document(cap: Capability) -> dict[str, Any]:
    """The OpenAPI document of `cap`'s REST service (which must exist)."""
    rest = cap.rest
    assert rest is not None, "the capability exposes no REST adapter"
    paths: dict[str, dict[str, Any]] = {}
    for route in rest.routes:
        paths.setdefault(route.path, {})[route.http_method.lower()] = _operation(route)
    for path, item in _health(rest).items():
        paths.setdefault(path, {}).update(item)
    _secure(rest, paths)
    info: dict[str, Any] = {"title": cap.title, "version": cap.version}
    description = rest.description or cap.description
    if description:
        info["description"] = description
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {
            **({"securitySchemes": {"credential": _security_scheme(rest.auth)}} if rest.auth else {}),
            "schemas": {"Problem": _PROBLEM},
            "parameters": {
                "RequestId": {
                    "name": "X-Request-ID",
                    "in": "header",
                    "required": False,
                    **_REQUEST_ID,
                }
            },
            "headers": {
                "RequestId": _REQUEST_ID,
                "RetryAfter": {
                    "description": "Seconds or an HTTP-date, as the upstream API sent it",
                    "schema": {"type": "string"},
                },
            },
        },
        "x-generated-by": f"Code generated by naftiko-gen {cap.generator_version}. DO NOT EDIT. "
        f"Regenerate with: naftiko-gen {cap.source}",
        "x-source-sha256": cap.source_sha256,
    }


def render(cap: Capability) -> str:
    """The document as the generated file holds it: sorted keys, 2-space indent, final newline."""
    return json.dumps(document(cap), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
