"""Stage 3: the decisions the typed model records, for the real spec and for small inline ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from naftiko_codegen.build import build
from naftiko_codegen.diagnostics import Diagnosed, Diagnostic
from naftiko_codegen.load import load_file
from naftiko_codegen.model import Capability
from naftiko_codegen.openapi import document
from naftiko_codegen.validate import validate

ROOT = Path(__file__).resolve().parents[2]
TRACK_BATCH = ROOT / "specs" / "track-batch.yaml"


# --- the real spec --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cap() -> Capability:
    doc = load_file(TRACK_BATCH)
    diagnostics = validate(doc)
    assert not [d for d in diagnostics if d.is_error], diagnostics
    return build(doc)


def test_track_batch_validates_with_only_the_expected_warnings():
    diagnostics = validate(load_file(TRACK_BATCH))
    assert sorted(d.code for d in diagnostics) == ["W201", "W201", "W202"]


def test_package(cap: Capability):
    assert cap.package == "track_batch"
    assert cap.env_prefix == "TRACK_BATCH"
    assert cap.title == "Customer.io Track API — Batch"
    assert len(cap.source_sha256) == 64


def test_consumer(cap: Capability):
    (consumer,) = cap.consumers
    assert consumer.namespace == "track-batch"
    assert consumer.attr == "track_batch"
    assert consumer.base_uri == "https://track.customer.io/api/v1"
    assert consumer.base_uri_env == "TRACK_BATCH_BASE_URI"


def test_consumed_operation(cap: Capability):
    (op,) = cap.operations
    assert op.retryable is False  # a POST whose only tool says `idempotent: false`
    assert op.name == "trackbatch"
    assert op.method_name == "trackbatch"
    assert op.path == "../v2/batch"
    assert op.http_method == "POST"
    assert op.body == "value"
    (param,) = op.parameters
    assert (param.name, param.arg, param.location) == ("body", "body", "body")
    assert param.required
    assert param.fixed is None
    assert param.schema["type"] == "object"
    assert op.arguments == (param,)


def test_basic_auth_reads_the_environment(cap: Capability):
    auth = cap.consumers[0].auth
    assert auth is not None and auth.kind == "basic"
    assert auth.username is not None and auth.password is not None
    assert auth.username.env_vars == ("CUSTOMER_IO_USER",)
    assert auth.password.env_vars == ("CUSTOMER_IO_PASS",)
    assert not auth.username.is_literal and not auth.password.is_literal


def test_required_env_is_sorted_and_excludes_unused_binds(cap: Capability):
    assert cap.required_env == ("CUSTOMER_IO_PASS", "CUSTOMER_IO_USER")
    assert list(cap.required_env) == sorted(cap.required_env)


def test_client_helpers(cap: Capability):
    helpers = cap.client_helpers
    assert {"join_url", "require_env", "basic_credentials", "dump_json"} <= set(helpers)
    assert "expand_path" not in helpers and "add_query" not in helpers
    assert list(helpers) == sorted(helpers)


def test_rest_route(cap: Capability):
    assert cap.rest is not None
    assert cap.rest.port == 8080
    (route,) = cap.rest.routes
    assert route.path == "/v1//v2/batch"
    assert route.aliases == ("/v1/v2/batch",)
    assert route.http_method == "POST"
    assert route.handler == "trackbatch"
    (body,) = route.inputs
    assert (body.name, body.location, body.required) == ("body", "body", True)
    assert body.schema["type"] == "object"
    assert route.body_input == body
    assert route.input_schema["required"] == ["body"]
    (argument,) = route.call.arguments
    assert (argument.source, argument.input_name, argument.param.name) == ("input", "body", "body")
    assert route.call.operation == cap.operations[0]
    assert route.output.kind == "passthrough"


def test_mcp_tool(cap: Capability):
    assert cap.mcp is not None
    assert (cap.mcp.port, cap.mcp.transport) == (9090, "http")
    (tool,) = cap.mcp.tools
    assert tool.name == "batch-entity-operations"
    assert tool.handler == "batch_entity_operations"
    assert tool.description == "Batch entity operations"
    assert tool.annotations == {
        "read_only_hint": False,
        "destructive_hint": False,
        "idempotent_hint": False,
        "open_world_hint": True,
    }
    schema = tool.input_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["body"]
    assert schema["properties"]["body"]["type"] == "object"
    assert schema["additionalProperties"] is False
    (argument,) = tool.call.arguments
    assert (argument.source, argument.input_name) == ("input", "body")
    assert tool.output_schema == {"type": "object", "additionalProperties": True}


# --- inline specs ---------------------------------------------------------------------------

BASE = """\
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
    - name: items
      path: /items/{id}
      operations:
      - name: get-item
        method: GET
        inputParameters:
        - name: id
          in: path
  exposes:
  - type: rest
    namespace: demo-rest
    resources:
    - path: /items/{id}
      operations:
      - method: GET
        name: get-item
        call: api.get-item
  - type: mcp
    namespace: demo-mcp
    tools:
    - name: get-item
      description: Get one item
      call: api.get-item
"""

TOOL_NAME = "    tools:\n    - name: get-item\n"
MCP_CALL = "      description: Get one item\n      call: api.get-item\n"
REST_CALL = "        name: get-item\n        call: api.get-item\n"
CONSUMED_OP = "        method: GET\n        inputParameters:\n"


def variant(*replacements: tuple[str, str], text: str = BASE) -> str:
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def line_of(text: str, marker: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(lines) == 1, (marker, lines)
    return lines[0]


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def diagnostics_of(tmp_path: Path, text: str) -> list[Diagnostic]:
    """Validation's diagnostics, then the builder's when validation found no error."""
    doc = load_file(write(tmp_path, text))
    found = validate(doc)
    if any(d.is_error for d in found):
        return found
    try:
        build(doc)
    except Diagnosed as exc:
        return found + exc.diagnostics
    return found


def built(tmp_path: Path, text: str) -> Capability:
    doc = load_file(write(tmp_path, text))
    errors = [d for d in validate(doc) if d.is_error]
    assert not errors, errors
    return build(doc)


def only_error(tmp_path: Path, text: str, code: str) -> Diagnostic:
    errors = [d for d in diagnostics_of(tmp_path, text) if d.is_error]
    assert [d.code for d in errors] == [code], [d.render() for d in errors]
    return errors[0]


def test_base_spec_builds(tmp_path: Path):
    cap = built(tmp_path, BASE)
    assert cap.package == "demo"
    assert cap.required_env == ()
    assert cap.consumers[0].auth is None


@pytest.mark.parametrize("placeholder", ["{id}", "{{id}}"])
def test_path_parameter(tmp_path: Path, placeholder: str):
    text = BASE.replace("/items/{id}", "/items/" + placeholder)
    cap = built(tmp_path, text)
    (op,) = cap.operations
    (param,) = op.parameters
    assert (param.name, param.location, param.required) == ("id", "path", True)
    assert param.arg == "id_"  # `id` is a builtin
    assert op.path == "/items/{id_}"
    assert "expand_path" in cap.client_helpers
    assert cap.rest is not None
    (route,) = cap.rest.routes
    assert route.path == "/items/{id}"
    assert [(i.name, i.location, i.required) for i in route.inputs] == [("id", "path", True)]
    assert route.call.arguments[0].input_name == "id"
    assert cap.mcp is not None
    assert cap.mcp.tools[0].input_schema["required"] == ["id"]


def test_undeclared_path_placeholder_is_still_a_path_parameter(tmp_path: Path):
    text = BASE.replace("/items/{id}", "/items/{id}/notes/{note}")
    cap = built(tmp_path, text)
    (op,) = cap.operations
    assert [(p.name, p.location, p.required) for p in op.parameters] == [
        ("id", "path", True),
        ("note", "path", True),
    ]
    assert op.path == "/items/{id_}/notes/{note}"
    assert cap.rest is not None
    assert [i.name for i in cap.rest.routes[0].inputs] == ["id", "note"]


def test_path_parameter_the_route_does_not_receive_comes_from_the_query(tmp_path: Path):
    # docs/semantics.md: a consumed value the exposed path does not carry is read from the query
    text = variant(("      path: /items/{id}\n", "      path: /items/{id}/notes/{note}\n"))
    cap = built(tmp_path, text)
    route = cap.rest.routes[0]
    assert [(i.name, i.location, i.required) for i in route.inputs if i.name == "note"] == [("note", "query", True)]
    assert "note" in route.input_schema["required"]


def test_exposed_path_variable_matches_across_dash_and_underscore(tmp_path: Path):
    text = variant(("      path: /items/{id}\n", "      path: /items/{item_id}\n"))
    text = text.replace("name: id\n          in: path", "name: item_id\n          in: path")
    text = text.replace("- path: /items/{id}", "- path: /items/{item-id}")
    text = text.replace("id: rest.id", "item_id: rest.item_id")
    cap = built(tmp_path, text)
    route = cap.rest.routes[0]
    assert [(i.name, i.location) for i in route.inputs] == [("item-id", "path")]
    assert route.call.arguments[0].input_name == "item-id"


def test_double_brace_path_placeholder_is_not_an_environment_variable(tmp_path: Path):
    text = BASE.replace("/items/{id}", "/items/{{id}}")
    assert [d.render() for d in diagnostics_of(tmp_path, text) if d.code == "W201"] == []


QUERY_AND_HEADER = """\
        - name: page[limit]
          in: query
          type: integer
          description: Page size.
        - name: X-Trace
          in: header
        - name: tags
          in: query
          type: array
          required: true
"""


def test_query_and_header_parameters(tmp_path: Path):
    text = variant(("          in: path\n", "          in: path\n" + QUERY_AND_HEADER))
    cap = built(tmp_path, text)
    (op,) = cap.operations
    query = {p.name: p for p in op.by_location("query")}
    header = {p.name: p for p in op.by_location("header")}
    assert set(query) == {"page[limit]", "tags"} and set(header) == {"X-Trace"}
    limit = query["page[limit]"]
    assert (limit.arg, limit.required, limit.py_type) == ("page_limit", False, "int | None")
    assert limit.schema == {"type": "integer", "description": "Page size."}
    assert (query["tags"].required, query["tags"].py_type) == (True, "list[Any]")
    trace = header["X-Trace"]
    assert (trace.arg, trace.schema, trace.py_type) == ("x_trace", {"type": "string"}, "str | None")
    assert {"add_query", "scalar_text"} <= set(cap.client_helpers)
    # the REST route receives every argument `with` leaves to the caller, under the same name
    assert cap.rest is not None
    inputs = {i.name: i for i in cap.rest.routes[0].inputs}
    assert inputs["page[limit]"].location == "query"
    assert inputs["X-Trace"].location == "header"
    # inputs are ordered path, query, header, body
    assert [i.location for i in cap.rest.routes[0].inputs] == ["path", "query", "query", "header"]
    # the MCP tool, without declared inputs, takes the consumed parameters as arguments
    assert cap.mcp is not None
    schema = cap.mcp.tools[0].input_schema
    assert set(schema["properties"]) == {"id", "page[limit]", "X-Trace", "tags"}
    assert schema["required"] == ["id", "tags"]


def test_with_literals_and_references(tmp_path: Path):
    text = variant(
        ("          in: path\n", "          in: path\n" + QUERY_AND_HEADER),
        (
            REST_CALL,
            REST_CALL + "        with:\n          page[limit]: 25\n          X-Trace: rest.trace\n"
            "          tags: '{{labels}}'\n",
        ),
        (
            MCP_CALL,
            MCP_CALL + "      with:\n        X-Trace: fixed-value\n        tags: demo-mcp.labels\n",
        ),
    )
    cap = built(tmp_path, text)
    assert cap.rest is not None and cap.mcp is not None
    rest = {a.param.name: a for a in cap.rest.routes[0].call.arguments}
    assert (rest["page[limit]"].source, rest["page[limit]"].literal) == ("literal", 25)
    assert (rest["X-Trace"].source, rest["X-Trace"].input_name) == ("input", "trace")
    assert (rest["tags"].source, rest["tags"].input_name) == ("input", "labels")
    assert (rest["id"].source, rest["id"].input_name) == ("input", "id")
    assert {i.name for i in cap.rest.routes[0].inputs} == {"id", "trace", "labels"}
    tool = {a.param.name: a for a in cap.mcp.tools[0].call.arguments}
    assert (tool["X-Trace"].source, tool["X-Trace"].literal) == ("literal", "fixed-value")
    assert (tool["tags"].source, tool["tags"].input_name) == ("input", "labels")
    assert set(cap.mcp.tools[0].input_schema["properties"]) == {"id", "page[limit]", "labels"}


def test_fixed_values_are_not_arguments_and_their_variables_are_required(tmp_path: Path):
    fixed = (
        "        - name: format\n          in: query\n          value: json\n"
        "        - name: X-Api-Version\n          in: header\n          value: '{{env.API_VERSION}}'\n"
    )
    text = variant(
        ("          in: path\n", "          in: path\n" + fixed),
        (
            "    baseUri: https://api.example.com/v1\n",
            (
                "    baseUri: https://api.example.com/v1\n    authentication:\n      type: bearer\n"
                "      token: '{{env.API_TOKEN}}'\n"
            ),
        ),
    )
    cap = built(tmp_path, text)
    (op,) = cap.operations
    fixed_params = {p.name: p.fixed for p in op.parameters if p.fixed is not None}
    assert fixed_params["format"] is not None and fixed_params["format"].literal == "json"
    assert fixed_params["X-Api-Version"] is not None
    assert fixed_params["X-Api-Version"].env_vars == ("API_VERSION",)
    assert [p.name for p in op.arguments] == ["id"]
    assert op.uses_secrets
    assert cap.required_env == ("API_TOKEN", "API_VERSION")


def test_mcp_annotations_default_to_the_protocol_defaults_but_open_world(tmp_path: Path):
    cap = built(tmp_path, BASE)
    assert cap.mcp is not None
    assert cap.mcp.tools[0].annotations == {
        "read_only_hint": False,
        "destructive_hint": True,
        "idempotent_hint": False,
        "open_world_hint": True,
    }


# --- refusals -------------------------------------------------------------------------------


def test_call_to_a_missing_operation(tmp_path: Path):
    text = variant((MCP_CALL, MCP_CALL.replace("api.get-item", "api.get-itme")))
    error = only_error(tmp_path, text, "E101")
    assert error.line == line_of(text, "api.get-itme")
    assert "api.get-itme" in error.message
    assert "did you mean `api.get-item`?" in error.hint


def test_with_key_that_sets_no_parameter(tmp_path: Path):
    text = variant((REST_CALL, REST_CALL + "        with:\n          idd: rest.id\n"))
    error = only_error(tmp_path, text, "E103")
    assert (error.line, error.column) == (line_of(text, "idd: rest.id"), 11)
    assert "`with: idd`" in error.message
    assert "did you mean `id`?" in error.hint


def test_unsupported_output_format(tmp_path: Path):
    text = variant(
        (
            CONSUMED_OP,
            "        method: GET\n        outputRawFormat: tsv\n        inputParameters:\n",
        )
    )
    error = only_error(tmp_path, text, "E300")
    assert "outputRawFormat: tsv" in error.message
    assert "yaml, html, markdown" in error.hint
    assert error.line == line_of(text, "outputRawFormat: tsv")


def test_unsupported_authentication(tmp_path: Path):
    text = variant(
        (
            "    baseUri: https://api.example.com/v1\n",
            (
                "    baseUri: https://api.example.com/v1\n    authentication:\n      type: hmac\n"
                "      apiId: key\n"
            ),
        ),
    )
    error = only_error(tmp_path, text, "E300")
    assert "hmac" in error.message
    assert error.line == line_of(text, "type: hmac")


def test_unsupported_steps(tmp_path: Path):
    text = variant(
        (
            REST_CALL,
            (
                "        name: get-item\n        steps:\n        - type: script\n          name: one\n"
                "          language: javascript\n          file: one.js\n"
            ),
        ),
    )
    error = only_error(tmp_path, text, "E300")
    assert "`script` steps" in error.message
    assert error.line == line_of(text, "- type: script")


def test_duplicate_tool_name(tmp_path: Path):
    text = variant(
        (
            MCP_CALL,
            MCP_CALL + "    - name: get-item\n      description: again\n      call: api.get-item\n",
        )
    )
    error = only_error(tmp_path, text, "E109")
    assert error.line == line_of(text, "description: again") - 1
    assert f"first on line {line_of(text, 'description: Get one item') - 1}" in error.message


def test_tool_name_over_64_characters(tmp_path: Path):
    name = "x" * 65
    text = variant((TOOL_NAME, f"    tools:\n    - name: {name}\n"))
    error = only_error(tmp_path, text, "E108")
    assert error.line == line_of(text, f"- name: {name}")
    assert name in error.message


def test_tool_name_of_64_characters_is_accepted(tmp_path: Path):
    cap = built(tmp_path, variant((TOOL_NAME, "    tools:\n    - name: " + "x" * 64 + "\n")))
    assert cap.mcp is not None and cap.mcp.tools[0].name == "x" * 64


@pytest.mark.parametrize("name", ["get/item", "get:item", "'get item'", "naïve"])
def test_tool_name_with_characters_outside_the_rule(tmp_path: Path, name: str):
    text = variant((TOOL_NAME, f"    tools:\n    - name: {name}\n"))
    errors = [d for d in diagnostics_of(tmp_path, text) if d.is_error]
    # the schema's tool-name pattern may refuse it first (E112); either way it is located
    assert [d.code for d in errors] in (["E108"], ["E112"])
    assert errors[0].line == line_of(text, f"- name: {name}")


def test_duplicate_consumed_operation(tmp_path: Path):
    text = variant(
        (
            "        - name: id\n          in: path\n",
            "        - name: id\n          in: path\n      - name: get-item\n        method: POST\n",
        )
    )
    error = only_error(tmp_path, text, "E102")
    assert error.line == line_of(text, "method: POST") - 1
    assert "api.get-item" in error.message


def test_tool_name_with_a_trailing_newline_is_refused(tmp_path: Path):
    text = variant((TOOL_NAME, '    tools:\n    - name: "get-item\\n"\n'))
    codes = [d.code for d in diagnostics_of(tmp_path, text) if d.is_error]
    assert codes in (["E108"], ["E112"])


# --- retries ---------------------------------------------------------------------------------

IDEMPOTENT = "      hints:\n        idempotent: true\n"


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
def test_operations_idempotent_by_http_are_retryable(tmp_path: Path, method: str):
    text = variant((CONSUMED_OP, f"        method: {method}\n        inputParameters:\n"))
    assert built(tmp_path, text).operations[0].retryable is True


@pytest.mark.parametrize(
    ("tools", "expected"),
    [
        ([], False),  # no tool vouches for it
        ([IDEMPOTENT], True),
        ([IDEMPOTENT, IDEMPOTENT], True),
        ([IDEMPOTENT, ""], False),  # one tool may do the work twice: not retried for anyone
        ([""], False),
        (["      hints:\n        idempotent: false\n"], False),
    ],
    ids=["no-tool", "idempotent", "both-idempotent", "one-not", "unset", "false"],
)
def test_post_is_retryable_only_when_every_tool_calling_it_is_idempotent(
    tmp_path: Path, tools: list[str], expected: bool
):
    text = variant((CONSUMED_OP, "        method: POST\n        inputParameters:\n"))
    head, _, _ = text.partition("  - type: mcp\n")
    if tools:
        head += "  - type: mcp\n    namespace: demo-mcp\n    tools:\n"
        for i, hints in enumerate(tools):
            head += f"    - name: tool-{i}\n      description: One tool\n{hints}      call: api.get-item\n"
    assert built(tmp_path, head).operations[0].retryable is expected


# --- request bodies and parameters (docs/semantics.md, "Request bodies and parameters") --------

POST_OP = """\
      - name: create-item
        method: POST
"""
BODY_BASE = variant(
    ("      - name: get-item\n        method: GET\n", POST_OP + "BODY      - name: get-item\n        method: GET\n"),
)
MCP_CREATE = """\
    - name: create-item
      description: Create one item
      call: api.create-item
"""


def with_body(body: str, tools: str = MCP_CREATE, binds: str = "") -> str:
    text = BODY_BASE.replace("BODY", body)
    text = text.replace("    - name: get-item\n      description: Get one item\n", tools + "    - name: get-item\n      description: Get one item\n")
    return text.replace("capability:\n", binds + "capability:\n", 1)


STRUCTURED = """\
        body:
          type: json
          data:
            product:
              title: '{{tools.title}}'
              count: '{{tools.count}}'
              label: 'Item {{tools.title}} #{{env.SHOP_ID}}'
              tags: ['{{tools.tag}}', fixed, 3, null]
"""


def test_structured_body_template(tmp_path: Path):
    cap = built(tmp_path, with_body(STRUCTURED))
    op = next(o for o in cap.operations if o.name == "create-item")
    assert op.body == "template"
    assert [(p.name, p.location, p.required, p.schema) for p in op.parameters if p.name != "id"] == [
        ("title", "variable", True, {}),  # used inside text: required
        ("count", "variable", False, {}),
        ("tag", "variable", False, {}),
    ]
    tree = op.body_template
    assert tree is not None and tree.kind == "object"
    ((key, product),) = tree.members
    assert key == "product"
    members = dict(product.members)
    assert (members["title"].kind, members["title"].arg, members["title"].optional) == ("argument", "title", False)
    assert (members["count"].kind, members["count"].optional) == ("argument", True)
    label = members["label"]
    assert label.kind == "text"
    assert [(p.literal, p.arg, p.env) for p in label.parts] == [
        ("Item ", "", ""), ("", "title", ""), (" #", "", ""), ("", "", "SHOP_ID")]
    assert [(n.kind, n.literal) for n in members["tags"].items][1:] == [
        ("literal", "fixed"), ("literal", 3), ("literal", None)]
    assert "SHOP_ID" in cap.required_env
    assert {"dump_json", "omitted", "without_omitted", "scalar_text"} <= set(cap.client_helpers)
    tool = next(t for t in cap.mcp.tools if t.name == "create-item")
    assert tool.input_schema["required"] == ["id", "title"]
    assert set(tool.input_schema["properties"]) == {"id", "title", "count", "tag"}


def test_whole_body_placeholder_keeps_the_value_and_is_required(tmp_path: Path):
    cap = built(tmp_path, with_body("        body:\n          type: json\n          data: '{{tools.events}}'\n"))
    op = next(o for o in cap.operations if o.name == "create-item")
    assert op.body_template is not None
    assert (op.body_template.kind, op.body_template.optional) == ("argument", False)
    assert [(p.name, p.required) for p in op.parameters if p.name != "id"] == [("events", True)]
    assert "without_omitted" not in cap.client_helpers


def test_declared_body_parameters_are_template_values(tmp_path: Path):
    body = (
        "        inputParameters:\n"
        "        - name: name\n          in: body\n          type: string\n          required: true\n"
        "          value: '{{tools.name}}'\n"
        "        - name: spare\n          in: body\n"
        "        body:\n          type: json\n          data:\n            request_data:\n"
        "              name: '{{tools.name}}'\n"
    )
    warnings: list[Diagnostic] = []
    doc = load_file(write(tmp_path, with_body(body)))
    assert not [d for d in validate(doc) if d.is_error]
    cap = build(doc, warnings=warnings)
    (w214,) = [d for d in warnings if d.code == "W214"]
    assert "`spare`" in w214.message and w214.line == line_of(with_body(body), "name: spare")
    op = next(o for o in cap.operations if o.name == "create-item")
    # `value: '{{tools.name}}'` is the caller's input, typed as declared; `spare` is not sent
    assert [(p.name, p.location, p.required, p.schema.get("type"), p.fixed) for p in op.parameters if p.name != "id"] == [
        ("name", "variable", True, "string", None)]
    (member,) = op.body_template.members[0][1].members
    assert member[1].optional is False


def test_json_string_body_is_the_same_template(tmp_path: Path):
    body = "        body: |\n          {\"id\": \"{{userId}}\", \"kind\": \"user\"}\n"
    cap = built(tmp_path, with_body(body))
    op = next(o for o in cap.operations if o.name == "create-item")
    assert [m[0] for m in op.body_template.members] == ["id", "kind"]
    assert [(p.name, p.location) for p in op.parameters if p.name != "id"] == [("userId", "variable")]
    assert op.parameters[1].arg == "user_id"


def test_bind_key_in_a_body_reads_the_environment(tmp_path: Path):
    binds = "binds:\n- namespace: env\n  keys:\n    SHOP_TOKEN: SHOP_SECRET\n"
    cap = built(tmp_path, with_body("        body:\n          type: json\n          data:\n            token: '{{SHOP_TOKEN}}'\n",
                                      binds=binds))
    op = next(o for o in cap.operations if o.name == "create-item")
    assert [p.name for p in op.parameters] == ["id"]
    ((_, token),) = op.body_template.members
    assert [(p.env) for p in token.parts] == ["SHOP_SECRET"]
    assert cap.required_env == ("SHOP_SECRET",)


def test_type_json_without_data_is_the_whole_body(tmp_path: Path):
    cap = built(tmp_path, with_body("        body:\n          type: json\n"))
    op = next(o for o in cap.operations if o.name == "create-item")
    assert op.body == "value"
    assert [(p.name, p.arg, p.location, p.required) for p in op.parameters if p.name != "id"] == [("body", "body", "body", True)]
    route = next(r for r in cap.rest.routes if r.call.operation.name == "create-item") if any(
        r.call.operation.name == "create-item" for r in cap.rest.routes) else None
    assert route is None  # the REST adapter of BASE does not call it
    tool = next(t for t in cap.mcp.tools if t.name == "create-item")
    assert tool.input_schema["required"] == ["id", "body"]


@pytest.mark.parametrize(("body", "what"), [
    ("        body:\n          type: xml\n          data: '<a/>'\n", "`type: xml`"),
    ("        body: 'name={{tools.name}}'\n", "not JSON"),
])
def test_other_bodies_are_refused(tmp_path: Path, body: str, what: str):
    text = with_body(body)
    error = only_error(tmp_path, text, "E300")
    assert what in error.message
    assert error.line == line_of(text, "type: xml" if "xml" in body else "body: 'name")


def test_body_placeholder_naming_nothing(tmp_path: Path):
    text = with_body("        body:\n          type: json\n          data:\n            a: '{{other.thing}}'\n")
    error = only_error(tmp_path, text, "E140")
    assert "{{other.thing}}" in error.message
    assert error.line == line_of(text, "{{other.thing}}")  # the string that holds it


def test_with_key_may_fill_a_body_or_path_variable(tmp_path: Path):
    tools = MCP_CREATE + "      with:\n        title: fixed title\n        shelf: s1\n"
    body = "        body:\n          type: json\n          data:\n            title: '{{tools.title}}'\n"
    text = with_body(body, tools=tools).replace("      path: /items/{id}\n", "      path: /items/{id}\n", 1)
    # `shelf` feeds nothing: still E103; `title` feeds the body
    error = only_error(tmp_path, text, "E103")
    assert "`with: shelf`" in error.message
    cap = built(tmp_path, text.replace("        shelf: s1\n", ""))
    tool = next(t for t in cap.mcp.tools if t.name == "create-item")
    argument = next(a for a in tool.call.arguments if a.param.name == "title")
    assert (argument.source, argument.literal) == ("literal", "fixed title")


def test_with_key_fills_an_undeclared_path_placeholder(tmp_path: Path):
    text = variant(("          in: path\n", "          in: path\n"), (MCP_CALL, MCP_CALL + "      with:\n        id: '42'\n"))
    text = text.replace("        inputParameters:\n        - name: id\n          in: path\n", "")
    cap = built(tmp_path, text)
    tool = cap.mcp.tools[0]
    assert [(a.param.name, a.source, a.literal) for a in tool.call.arguments] == [("id", "literal", "42")]


def test_environment_parameter_is_read_not_asked(tmp_path: Path):
    text = variant((
        "        - name: id\n          in: path\n",
        ("        - name: id\n          in: path\n        - name: api_token\n          in: environment\n"
         "        - name: X-Token\n          in: header\n          value: '{{api_token}}'\n"),
    ))
    cap = built(tmp_path, text)
    (op,) = cap.operations
    assert [p.name for p in op.arguments] == ["id"]
    (header,) = op.by_location("header")
    assert header.fixed is not None and header.fixed.env_vars == ("api_token",)
    assert cap.required_env == ("api_token",)


@pytest.mark.parametrize(("base", "env", "unbound"), [
    ("https://{{SHOP}}.example.com/v1", ("SHOP",), ()),
    ("https://{store}.example.com/v1", (), ("store",)),
    ("https://api.example.com/v1", (), ()),
])
def test_templated_base_uri(tmp_path: Path, base: str, env: tuple[str, ...], unbound: tuple[str, ...]):
    cap = built(tmp_path, BASE.replace("https://api.example.com/v1", base))
    (consumer,) = cap.consumers
    assert consumer.base_uri == base
    assert consumer.unbound == unbound
    assert consumer.base_uri_template is not None and consumer.base_uri_template.env_vars == env
    assert cap.required_env == env


def test_operation_path_placeholders_count_for_path_parameters(tmp_path: Path):
    # `path: /2` on the resource, `/users/{id}` on the operation: `id` has its placeholder
    text = variant(("      path: /items/{id}\n", "      path: /2\n"),
                   ("        method: GET\n        inputParameters:\n",
                    "        method: GET\n        path: /users/{id}\n        inputParameters:\n"))
    cap = built(tmp_path, text)
    (op,) = cap.operations
    assert op.path == "/2/users/{id_}"
    assert [(p.name, p.location) for p in op.parameters] == [("id", "path")]


def _file_bind(location: str, token: str = "'{{TOKEN}}'") -> str:
    binds = (f"binds:\n- namespace: vault\n  location: {location}\n  keys:\n    TOKEN: api-token\n"
             "    SPARE: spare-key\n")
    return variant(("    baseUri: https://api.example.com/v1\n",
                    ("    baseUri: https://api.example.com/v1\n    authentication:\n      type: bearer\n"
                     f"      token: {token}\n"))).replace("capability:\n", binds + "capability:\n", 1)


@pytest.mark.parametrize(("location", "file"), [
    ("file:///./secrets.yaml", "./secrets.yaml"),
    ("file://./conf/secrets.yaml", "./conf/secrets.yaml"),
    ("file:///../shared/secrets.yaml", "../shared/secrets.yaml"),
    ("file:///etc/demo/secrets%20a.json", "/etc/demo/secrets a.json"),
])
def test_a_bind_read_from_a_file_gives_its_used_keys_from_that_file(tmp_path: Path, location: str, file: str):
    cap = built(tmp_path, _file_bind(location))
    # the variable named like the key overrides the file; SPARE is used nowhere, so not read
    assert cap.required_env == ("TOKEN",)
    assert cap.consumers[0].auth is not None and cap.consumers[0].auth.templates[0].env_vars == ("TOKEN",)
    (bind,) = cap.bind_files
    assert (bind.namespace, bind.file, bind.file_env, bind.keys) == (
        "vault", file, "DEMO_VAULT_BINDS_FILE", (("TOKEN", "api-token"),))
    # under its namespace too
    assert built(tmp_path, _file_bind(location, "'{{vault.TOKEN}}'")).bind_files == cap.bind_files


def test_a_bind_file_nothing_uses_is_never_read(tmp_path: Path):
    cap = built(tmp_path, _file_bind("file:///./secrets.yaml", "'{{env.OTHER}}'"))
    assert cap.bind_files == () and cap.required_env == ("OTHER",)


@pytest.mark.parametrize("location", ["https://vault.example.com/secrets.yaml", "file://host/secrets.yaml",
                                      "file:///./conf/"])
def test_a_bind_location_that_is_not_a_local_file_is_an_error(tmp_path: Path, location: str):
    text = _file_bind(location)
    error = only_error(tmp_path, text, "E200")
    assert error.line == line_of(text, "location:")


# --- exposed inputs read at a JSONPath of the request body ----------------------------------

BODY_FIELDS = """\
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
      - name: create
        method: POST
        body: '{"id": "{{userId}}", "name": "{{userName}}"}'
  exposes:
  - type: rest
    namespace: demo-rest
    resources:
    - path: /users
      operations:
      - method: POST
        name: create-user
        call: api.create
        inputParameters:
        - name: userId
          in: body
          type: string
          value: $.user.id
        - name: userName
          in: body
          type: string
          value: "$.user['full name']"
"""


def test_body_input_with_a_jsonpath_value_reads_that_field(tmp_path: Path):
    # `in: body, value: $.user.id` (engine: JSONPath on the request body) is the member there,
    # not the whole body; both inputs come from one body, which is then not sent verbatim.
    (route,) = built(tmp_path, BODY_FIELDS).rest.routes
    assert [(i.name, i.location, i.field) for i in route.inputs] == [
        ("userId", "field", ("user", "id")),
        ("userName", "field", ("user", "full name")),
    ]
    assert route.body_input is None
    assert [i.name for i in route.body_fields] == ["userId", "userName"]
    assert route.body_verbatim is False
    assert route.input_schema["required"] == ["userId", "userName"]


def test_body_input_without_value_is_the_member_of_its_name(tmp_path: Path):
    text = variant(("          value: $.user.id\n", ""), text=BODY_FIELDS)
    (route,) = built(tmp_path, text).rest.routes
    assert route.body_input is None
    assert [(i.name, i.field) for i in route.body_fields] == [("userId", ("userId",)), ("userName", ("user", "full name"))]


def test_body_input_jsonpath_beyond_members_is_refused(tmp_path: Path):
    text = variant(("value: $.user.id\n", "value: $..id\n"), text=BODY_FIELDS)
    error = only_error(tmp_path, text, "E300")
    assert "a body input read at `$..id`" in error.message


def test_body_fields_are_documented_as_one_json_body(tmp_path: Path):
    cap = built(tmp_path, BODY_FIELDS)
    body = document(cap)["paths"]["/users"]["post"]["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    user = schema["properties"]["user"]
    assert schema["required"] == ["user"]
    assert user["required"] == ["id", "full name"]
    assert user["properties"]["id"]["type"] == "string"
    assert user["properties"]["full name"]["type"] == "string"


def test_bare_body_template_variable_is_an_input_not_an_environment_variable(tmp_path: Path):
    # `{{userId}}` in a body template, declared by no bind, is the caller's input (no W201);
    # `{{env.X}}` there is still the environment and still warned about.
    codes = [d.code for d in diagnostics_of(tmp_path, BODY_FIELDS)]
    assert "W201" not in codes
    text = variant(('"name": "{{userName}}"', '"name": "{{env.DEFAULT_NAME}}"'), text=BODY_FIELDS)
    warned = [d for d in diagnostics_of(tmp_path, text) if d.code == "W201"]
    assert [d.message.split("`")[1] for d in warned] == ["{{env.DEFAULT_NAME}}"]
