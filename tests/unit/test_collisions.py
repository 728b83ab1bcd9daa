"""Colliding routes, calls and namespaces (docs/semantics.md): a REST route declared twice is
served by its first declaration (W311), a call of operations named alike goes to the first that
matches (W312), adapters of different kinds may share a namespace (W313), and a consumed
parameter repeated exactly is one parameter (W314). Each test builds the capability, so a
resolution that validates but generates the wrong thing fails here."""

from __future__ import annotations

from pathlib import Path

from support.specs import run

from naftiko_codegen.diagnostics import Diagnostic
from naftiko_codegen.openapi import document

HEAD = """\
naftiko: 1.0.0-alpha2
info:
  label: Demo
  description: A small capability.
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: https://api.example.com/v1
    resources:
    - name: users
      path: /users
      operations:
      - name: activity
        method: GET
        path: /activity
      - name: search
        method: GET
        path: /search
        inputParameters:
        - name: q
          in: query
"""

ROUTES = HEAD + """\
  exposes:
  - type: rest
    namespace: rest-api
    resources:
    - path: /v1/user-activity
      name: user-activity
      operations:
      - method: GET
        name: get-activity
        call: api.activity
      - method: GET
        name: search-users
        call: api.search
  - type: mcp
    namespace: mcp-api
    tools:
    - name: search-users
      description: Search users
      call: api.search
"""


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics if d.code != "W204"]


def line_of(text: str, needle: str, after: int = 0) -> int:
    lines = text.splitlines()
    return next(i for i in range(after, len(lines)) if needle in lines[i]) + 1


def test_a_route_declared_twice_is_served_by_its_first_declaration(tmp_path: Path):
    cap, found = run(tmp_path, ROUTES)
    assert cap is not None and cap.rest is not None and cap.mcp is not None, [d.render() for d in found]
    (route,) = cap.rest.routes
    assert (route.http_method, route.path, route.operation_id) == ("GET", "/v1/user-activity", "get-activity")
    assert route.call is not None and route.call.operation.name == "activity"
    # the shadowed operation's tool still calls it, and the client keeps its method
    (tool,) = cap.mcp.tools
    assert tool.call is not None and tool.call.operation.name == "search"
    assert [o.name for o in cap.operations] == ["activity", "search"]
    # the OpenAPI document describes what is served: the first declaration only
    paths = document(cap)["paths"]
    assert paths["/v1/user-activity"]["get"]["operationId"] == "get-activity"
    (warning,) = [d for d in found if d.code == "W311"]
    first = line_of(ROUTES, "- method: GET", line_of(ROUTES, "exposes:"))
    repeat = line_of(ROUTES, "- method: GET", first)
    assert warning.line == repeat
    assert f"first on line {first}, `get-activity` (`call: api.activity`)" in warning.message
    assert f"`search-users` (`call: api.search`) on line {repeat} is not served over REST" in warning.message
    assert "the MCP tool `search-users` still calls `api.search`" in warning.message
    assert codes(found) == ["W311"]


def test_the_same_route_once_normalised_is_one_route(tmp_path: Path):
    # `//` and a trailing `/` name the same path, and placeholders match any segment
    text = ROUTES.replace("""\
      - method: GET
        name: search-users
        call: api.search
""", """\
    - path: /v1//user-activity/
      name: again
      operations:
      - method: GET
        name: search-users
        call: api.search
""")
    cap, found = run(tmp_path, text)
    assert cap is not None and cap.rest is not None, [d.render() for d in found]
    # the resource left without operations is gone: nothing of it is served
    assert [(r.path, r.operation_id) for r in cap.rest.routes] == [("/v1/user-activity", "get-activity")]
    assert codes(found) == ["W311"]


def test_an_item_route_is_not_made_up_over_a_declared_route(tmp_path: Path):
    # W246 would serve the repeat at /v1/users/{id}, which the adapter declares for another
    # operation: that route keeps its own operation and the repeat is shadowed instead
    text = HEAD + """\
      - name: get-user
        method: GET
        path: /{id}
        inputParameters:
        - name: id
          in: path
      - name: user-report
        method: GET
        path: /{id}/report
        inputParameters:
        - name: id
          in: path
  exposes:
  - type: rest
    namespace: rest-api
    resources:
    - path: /v1/users
      name: users
      operations:
      - method: GET
        name: user-activity
        call: api.activity
      - method: GET
        name: report
        call: api.user-report
    - path: /v1/users/{id}
      name: user
      operations:
      - method: GET
        name: get-user
        call: api.get-user
"""
    cap, found = run(tmp_path, text)
    assert cap is not None and cap.rest is not None, [d.render() for d in found]
    served = {(r.http_method, r.path): r.operation_id for r in cap.rest.routes}
    assert served == {("GET", "/v1/users"): "user-activity", ("GET", "/v1/users/{id}"): "get-user"}
    assert codes(found) == ["W311"]
    # without the declared item route, the repeat still gets it (W246)
    alone = text[:text.index("    - path: /v1/users/{id}")]
    cap, found = run(tmp_path, alone)
    assert cap is not None and cap.rest is not None, [d.render() for d in found]
    served = {(r.http_method, r.path): r.operation_id for r in cap.rest.routes}
    assert served == {("GET", "/v1/users"): "user-activity", ("GET", "/v1/users/{id}"): "report"}
    assert codes(found) == ["W246"]


def test_adapters_of_different_kinds_may_share_a_namespace(tmp_path: Path):
    text = ROUTES.replace("namespace: mcp-api", "namespace: rest-api")
    cap, found = run(tmp_path, text)
    assert cap is not None and cap.rest is not None and cap.mcp is not None, [d.render() for d in found]
    assert cap.rest.namespace == cap.mcp.namespace == "rest-api"
    (warning,) = [d for d in found if d.code == "W313"]
    assert warning.line == line_of(text, "namespace: rest-api", line_of(text, "type: mcp"))
    assert f"rest adapter on line {line_of(text, 'namespace: rest-api')}" in warning.message
    # a consumed API and an adapter of one name: `call: ns.op` only ever names a consumed
    # operation and `ns.x` in `with` only an input, so each use still has one meaning (W354)
    clash = ROUTES.replace("namespace: mcp-api", "namespace: api")
    cap, found = run(tmp_path, clash)
    assert cap is not None and [d.code for d in found if d.is_error] == []
    assert "W354" in [d.code for d in found]


def test_a_parameter_repeated_exactly_is_one_parameter(tmp_path: Path):
    repeated = "        - name: q\n          in: query\n"
    text = ROUTES.replace(repeated, repeated * 3)
    cap, found = run(tmp_path, text)
    assert cap is not None, [d.render() for d in found]
    search = next(o for o in cap.operations if o.name == "search")
    assert [(p.name, p.arg, p.location) for p in search.parameters] == [("q", "q", "query")]
    warnings = [d for d in found if d.code == "W314"]
    first = line_of(text, "- name: q")
    assert [d.line for d in warnings] == [first + 2, first + 4]
    assert all(f"repeats the one on line {first} exactly" in d.message for d in warnings)
    # parameters of one name that differ are not merged here
    different = ROUTES.replace(repeated, repeated + "        - name: q\n          in: header\n")
    cap, found = run(tmp_path, different)
    assert cap is not None and "W314" not in codes(found)


def test_an_exposed_operation_path_continues_its_resource_path(tmp_path: Path):
    # zoominfo: search at POST /v1/contacts, enrich at `path: /enrich` below it
    text = ROUTES.replace("""\
      - method: GET
        name: search-users
        call: api.search
""", """\
      - method: GET
        name: search-users
        path: /search
        call: api.search
    - path: /v1/other
      name: other
      operations:
      - method: GET
        name: other
        call: api.activity
""")
    cap, found = run(tmp_path, text)
    assert cap is not None and cap.rest is not None, [d.render() for d in found]
    # served where the path says, in declaration order, and nothing is shadowed
    assert [(r.path, r.operation_id) for r in cap.rest.routes] == [
        ("/v1/user-activity", "get-activity"), ("/v1/user-activity/search", "search-users"), ("/v1/other", "other")]
    assert "/v1/user-activity/search" in document(cap)["paths"]
    (warning,) = [d for d in found if d.code == "W315"]
    assert warning.line == line_of(text, "path: /search", line_of(text, "exposes:"))
    assert "it is served at GET /v1/user-activity/search" in warning.message
    assert codes(found) == ["W315"]
    # a resource whose only operation has a path is served at the joined path
    alone = text.replace("""\
      - method: GET
        name: get-activity
        call: api.activity
""", "")
    cap, found = run(tmp_path, alone)
    assert cap is not None and cap.rest is not None, [d.render() for d in found]
    assert [r.path for r in cap.rest.routes] == ["/v1/user-activity/search", "/v1/other"]
    # a later operation path landing on a declared route is shadowed by it (W311)
    onto = text.replace("    - path: /v1/other\n", "    - path: /v1/user-activity/search\n")
    cap, found = run(tmp_path, onto)
    assert cap is not None and cap.rest is not None, [d.render() for d in found]
    assert [(r.path, r.operation_id) for r in cap.rest.routes] == [
        ("/v1/user-activity", "get-activity"), ("/v1/user-activity/search", "search-users")]
    assert codes(found) == ["W315", "W311"]
