"""Build decisions for REST request bodies with several fields (docs/semantics.md)."""

from __future__ import annotations

from pathlib import Path

from naftiko_codegen.build import build
from naftiko_codegen.diagnostics import Diagnosed
from naftiko_codegen.load import load_file
from naftiko_codegen.model import Capability
from naftiko_codegen.validate import validate

DATA = Path(__file__).resolve().parents[1] / "data" / "restbody" / "analytics-admin.yaml"

BASE = """\
naftiko: 1.0.0-alpha2
info:
  label: Demo
  description: Demo.
capability:
  consumes:
    - type: http
      namespace: api
      baseUri: https://api.example.com
      resources:
        - name: items
          path: /items
          operations:
            - name: create
              method: POST
              description: Create
              inputParameters:
CONSUMED
  exposes:
    - type: rest
      namespace: demo
      port: 8080
      resources:
        - path: /items
          operations:
            - method: METHOD
              name: create
              description: Create
              call: api.create
EXPOSED
"""


def _spec(tmp_path: Path, consumed: str, exposed: str = "", method: str = "POST") -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(BASE.replace("CONSUMED", consumed).replace("EXPOSED", exposed).replace("METHOD", method),
                    encoding="utf-8")
    return path


def _built(path: Path) -> Capability:
    doc = load_file(path)
    assert not [d for d in validate(doc) if d.is_error]
    return build(doc)


TWO_BODIES = """\
                - {name: a, in: body, type: string, required: true}
                - {name: b, in: body, type: integer}"""


def test_several_body_parameters_are_fields_of_one_object(tmp_path: Path) -> None:
    cap = _built(_spec(tmp_path, TWO_BODIES, "              with: {a: rest.first}"))
    assert cap.rest is not None
    (route,) = cap.rest.routes
    assert [(i.name, i.location, i.field, i.required) for i in route.inputs] == [
        ("first", "field", ("first",), True), ("b", "field", ("b",), False)]
    assert route.body_input is None
    assert route.body_schema == {"type": "object", "required": ["first"],
                                 "properties": {"first": {"type": "string"}, "b": {"type": "integer"}}}


def test_one_body_parameter_is_still_the_whole_body(tmp_path: Path) -> None:
    cap = _built(_spec(tmp_path, "                - {name: payload, in: body, type: object}"))
    assert cap.rest is not None
    (route,) = cap.rest.routes
    assert [(i.name, i.location) for i in route.inputs] == [("payload", "body")]
    assert route.body_schema is None


def test_template_inputs_are_fields_but_stay_in_the_query_on_get(tmp_path: Path) -> None:
    consumed = "                - {name: id, in: query}\n              body: '{\"x\": \"{{tools.x}}\", \"t\": \"t {{tools.y}}\"}'"
    post = _built(_spec(tmp_path, consumed)).rest
    assert post is not None
    assert [(i.name, i.location, i.required) for i in post.routes[0].inputs] == [
        ("id", "query", False), ("x", "field", False), ("y", "field", True)]
    get = _built(_spec(tmp_path, consumed, method="GET")).rest
    assert get is not None
    assert {i.location for i in get.routes[0].inputs} == {"query"}


def test_declared_body_input_reads_the_member_its_jsonpath_names(tmp_path: Path) -> None:
    exposed = "              inputParameters:\n                - {name: a, in: body, value: $.user.id}"
    cap = _built(_spec(tmp_path, TWO_BODIES, exposed))
    assert cap.rest is not None
    (route,) = cap.rest.routes
    assert [(i.name, i.field) for i in route.inputs] == [("a", ("user", "id")), ("b", ("b",))]
    assert route.body_schema is not None
    assert route.body_schema["required"] == ["user"]


def test_a_jsonpath_beyond_member_names_is_refused(tmp_path: Path) -> None:
    exposed = "              inputParameters:\n                - {name: a, in: body, value: '$.users[0]'}"
    doc = load_file(_spec(tmp_path, TWO_BODIES, exposed))
    try:
        build(doc)
    except Diagnosed as exc:
        (error,) = [d for d in exc.diagnostics if d.is_error]
        assert error.code == "E300" and "$.users[0]" in error.message
    else:
        raise AssertionError("a JSONPath with an index was accepted")


def test_whole_body_beside_fields_is_refused(tmp_path: Path) -> None:
    exposed = "              inputParameters:\n                - {name: extra, in: body}"
    doc = load_file(_spec(tmp_path, "                - {name: payload, in: body, type: object}", exposed))
    try:
        build(doc)
    except Diagnosed as exc:
        (error,) = [d for d in exc.diagnostics if d.is_error]
        assert error.code == "E300" and "whole REST body beside body fields" in error.message
    else:
        raise AssertionError("a whole body beside a field was accepted")


def test_object_value_of_a_body_parameter_is_a_template() -> None:
    cap = _built(DATA)
    op = next(o for o in cap.operations if o.name == "provision-account-ticket")
    assert op.body == "template" and op.body_template is not None
    # the object keyed by the parameters' names; its placeholders are the operation's inputs
    assert [k for k, _ in op.body_template.members] == ["account", "redirectUri"]
    account = op.body_template.members[0][1]
    assert [(k, n.kind, n.arg) for k, n in account.members] == [
        ("displayName", "argument", "display_name"), ("regionCode", "argument", "region_code")]
    assert sorted(p.name for p in op.parameters) == ["displayName", "redirectUri", "regionCode"]
    assert all(p.fixed is None for p in op.parameters)


def test_object_value_of_a_query_parameter_is_json_text(tmp_path: Path) -> None:
    cap = _built(_spec(tmp_path, "                - {name: filter, in: query, value: {a: [1, true]}}"))
    (param,) = cap.operations[0].parameters
    assert param.fixed is not None
    assert [p.literal for p in param.fixed.parts] == ['{"a":[1,true]}']


def test_an_argument_named_like_a_builder_local_is_renamed(tmp_path: Path) -> None:
    # `url` would be overwritten by the request builder's own `url` (rubygems `create-webhook`)
    cap = _built(_spec(tmp_path, "                - {name: url, in: body}\n                - {name: content, in: body}"))
    assert [p.arg for p in cap.operations[0].parameters] == ["url_", "content_"]
