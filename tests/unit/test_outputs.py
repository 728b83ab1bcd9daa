"""Output mapping: the JSONPath subset, the build decisions (shapes and schemas the model
carries) and the generated runtime that evaluates them (imported from a package generated
from tests/data/output/shipyard.yaml)."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

from naftiko_codegen import output as writer
from naftiko_codegen.model import Capability
from naftiko_codegen.outputs import PathError, evaluate, parse_path
from naftiko_codegen.pipeline import generate

from .test_build import BASE, built, line_of, only_error, variant

SHIPYARD = Path(__file__).resolve().parents[1] / "data" / "output" / "shipyard.yaml"

# --- the JSONPath subset ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("$", ()),
        ("$.", ()),
        (" $. ", ()),
        ("$.a", ("a",)),
        ("$.dimensions.length_overall", ("dimensions", "length_overall")),
        ("$.tables[0]", ("tables", 0)),
        ("$.properties.Name.title[0].text.content", ("properties", "Name", "title", 0, "text", "content")),
        ("$.get-ship.imo_number", ("get-ship", "imo_number")),
        ("$['a b'].c", ("a b", "c")),
        ('$["x.y"]', ("x.y",)),
        ("$.items[*].id", ("items", None, "id")),
        ("$.items.*", ("items", None)),
        ("$.a[-1]", ("a", -1)),
        ("$[0]", (0,)),
    ],
)
def test_parse_supported_forms(text: str, segments: tuple[Any, ...]):
    assert parse_path(text) == segments


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a.b", "does not start with `$`"),
        ("$..id", "recursive descent"),
        ("$.items[?(@.x > 1)]", "no filters"),
        ("$.items[0:2]", "no filters, slices"),
        ("$.items[0,1]", "unions"),
        ("$.a.", "member name"),
        ("$a", "unexpected `a`"),
        ("$.a b", "unexpected ` `"),
    ],
)
def test_parse_refuses_other_forms(text: str, why: str):
    with pytest.raises(PathError, match=why.replace("(", r"\(").replace("$", r"\$")):
        parse_path(text)


DOC = {"a": {"b": [1, {"c": "x"}]}, "list": [{"id": 1}, {"id": 2}, {"no": 3}], "s": "t", "n": None}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$", DOC),
        ("$.a.b[0]", 1),
        ("$.a.b[1].c", "x"),
        ("$.a.b[-1].c", "x"),
        ("$.a.b[2]", None),
        ("$.a.b[-3]", None),
        ("$.missing.deeper", None),
        ("$.s.length", None),  # no properties of strings
        ("$.s[0]", None),  # nor indexes of them
        ("$.list[*].id", [1, 2]),  # absent values are left out
        ("$.a.*", [[1, {"c": "x"}]]),
        ("$.n", None),
    ],
)
def test_evaluate(path: str, value: Any):
    assert evaluate(parse_path(path), DOC) == value


# --- build decisions -------------------------------------------------------------------------

REST_CALL = "        name: get-item\n        call: api.get-item\n"
MCP_CALL = "      description: Get one item\n      call: api.get-item\n"


def with_outputs(rest_outputs: str = "", mcp_outputs: str = "") -> str:
    replacements = []
    if rest_outputs:
        replacements.append((REST_CALL, REST_CALL + "        outputParameters:\n" + rest_outputs))
    if mcp_outputs:
        replacements.append((MCP_CALL, MCP_CALL + "      outputParameters:\n" + mcp_outputs))
    return variant(*replacements)


NESTED = """\
      - type: object
        properties:
          id:
            type: string
            mapping: $.id
          size:
            type: object
            properties:
              width:
                type: number
                mapping: $.dimensions.width
          tags:
            type: array
            mapping: $.tags
            items:
              type: string
"""


def test_nested_object_shape_and_schema(tmp_path: Path):
    cap = built(tmp_path, with_outputs(mcp_outputs=NESTED))
    (tool,) = cap.mcp.tools
    assert tool.output.kind == "mapped"
    assert tool.output.shape == (
        "object",
        (),
        (
            ("id", ("value", ("id",))),
            ("size", ("object", (), (("width", ("value", ("dimensions", "width"))),))),
            ("tags", ("array", ("tags",), None, False)),
        ),
    )
    # every key is always there; a value the upstream lacks is null
    assert tool.output_schema == {
        "type": "object",
        "properties": {
            "id": {"type": ["string", "null"]},
            "size": {
                "type": ["object", "null"],
                "properties": {"width": {"type": ["number", "null"]}},
                "required": ["width"],
            },
            "tags": {"type": ["array", "null"], "items": {"type": ["string", "null"]}},
        },
        "required": ["id", "size", "tags"],
    }
    assert cap.maps_outputs and cap.reads_formats == frozenset()


def test_array_items_map_each_element(tmp_path: Path):
    outputs = (
        "      - type: array\n        mapping: $.data\n        items:\n          type: object\n"
        "          properties:\n            key:\n              type: string\n              mapping: $.k\n"
    )
    cap = built(tmp_path, with_outputs(mcp_outputs=outputs))
    (tool,) = cap.mcp.tools
    assert tool.output.shape == ("array", ("data",), ("object", (), (("key", ("value", ("k",))),)), False)
    assert tool.output.schema["type"] == "array"  # the result itself is never null
    assert tool.output_schema == {}  # MCP output schemas are objects; an array is text only


def test_object_properties_read_relative_to_its_mapping(tmp_path: Path):
    outputs = (
        "      - type: object\n        mapping: $.forecast\n        properties:\n"
        "          temperature:\n            type: number\n            mapping: $.temperature\n"
    )
    cap = built(tmp_path, with_outputs(rest_outputs=outputs.replace("      ", "        ", 1)
                                      .replace("\n      ", "\n        ")))
    (route,) = cap.rest.routes
    assert route.output.shape == ("object", ("forecast",), (("temperature", ("value", ("temperature",))),))
    assert route.answer == "mapped"


def test_identity_mapping_stays_a_passthrough(tmp_path: Path):
    cap = built(tmp_path, with_outputs(mcp_outputs="      - type: object\n        mapping: $.\n"))
    assert cap.mcp.tools[0].output.kind == "passthrough"
    assert not cap.maps_outputs


def test_several_outputs_form_an_object_keyed_by_name(tmp_path: Path):
    outputs = (
        "      - name: id\n        type: string\n        mapping: $.id\n"
        "      - name: kind\n        type: string\n        value: item\n"
    )
    cap = built(tmp_path, with_outputs(mcp_outputs=outputs))
    assert cap.mcp.tools[0].output.shape == (
        "object", (), (("id", ("value", ("id",))), ("kind", ("const", "item"))))


def test_mock_tool_renders_inputs(tmp_path: Path):
    text = variant(
        (MCP_CALL, ("      description: Greets\n      inputParameters:\n      - name: who\n        type: string\n"
                   "        description: Who\n      outputParameters:\n      - name: message\n        type: string\n"
                   "        value: Hello, {{who}}!\n")),
    )
    cap = built(tmp_path, text)
    (tool,) = cap.mcp.tools
    assert tool.call is None and tool.steps is None and tool.answer == "mock"
    assert tool.output.shape == ("object", (), (("message", ("text", (("Hello, ", None), ("", "who"), ("!", None)))),))
    assert tool.annotations["open_world_hint"] is False  # nothing leaves the process


def test_formats_decide_schema_and_reader(tmp_path: Path):
    text = variant(("        method: GET\n        inputParameters:\n",
                    "        method: GET\n        outputRawFormat: xml\n        inputParameters:\n"))
    text = text.replace(MCP_CALL, MCP_CALL + "      outputParameters:\n      - type: object\n        properties:\n"
                        "          n:\n            type: number\n            mapping: $.n\n")
    cap = built(tmp_path, text)
    (tool,) = cap.mcp.tools
    assert tool.output.source == "xml"
    assert tool.output_schema["properties"]["n"] == {"type": ["string", "null"]}  # XML is text
    assert cap.reads_formats == frozenset({"xml"})


def test_text_answer_passes_through_raw(tmp_path: Path):
    text = variant(("        method: GET\n        inputParameters:\n",
                    "        method: GET\n        outputRawFormat: text\n        inputParameters:\n"))
    cap = built(tmp_path, text)
    assert cap.rest.routes[0].answer == "raw"


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_html_and_markdown_answers_pass_through_raw_unless_mapped(tmp_path: Path, fmt: str):
    text = variant(("        method: GET\n        inputParameters:\n",
                    f"        method: GET\n        outputRawFormat: {fmt}\n        inputParameters:\n"))
    cap = built(tmp_path, text)
    assert cap.rest.routes[0].answer == "raw"
    assert cap.mcp.tools[0].output.kind == "raw"
    assert cap.reads_formats == frozenset()
    # mapped, they are read into JSON as the engine reads them (tables, sections)
    mapped = text.replace(MCP_CALL, MCP_CALL + "      outputParameters:\n      - type: array\n"
                          "        mapping: $.tables[0]\n")
    cap = built(tmp_path, mapped)
    assert cap.mcp.tools[0].output.kind == "mapped" and cap.mcp.tools[0].output.source == fmt
    assert cap.reads_formats == frozenset({fmt})


def test_jsonpath_outside_the_subset_is_located(tmp_path: Path):
    text = with_outputs(mcp_outputs="      - type: array\n        mapping: $..id\n")
    error = only_error(tmp_path, text, "E150")
    assert error.line == line_of(text, "mapping: $..id")
    assert "recursive descent" in error.message


def test_value_naming_no_input_is_refused(tmp_path: Path):
    text = with_outputs(mcp_outputs="      - name: x\n        type: string\n        value: '{{nobody}}'\n"
                                    "      - name: y\n        type: string\n        mapping: $.y\n")
    error = only_error(tmp_path, text, "E151")
    assert "`{{nobody}}`" in error.message


STEPS = """\
      steps:
      - type: call
        name: first
        call: api.get-item
        with:
          id: '{{id}}'
      - type: call
        name: again
        call: api.get-item
        with:
          id: $.first.next
      - type: lookup
        name: found
        index: again
        match: key
        lookupValue: $.first.keys
        outputParameters:
        - label
      mappings:
      - targetName: item.id
        value: $.first.id
      - targetName: labels
        value: $.found
      outputParameters:
      - name: labels
        type: array
"""


def test_steps_decisions(tmp_path: Path):
    text = variant(
        (MCP_CALL, "      description: Two calls\n      inputParameters:\n      - name: id\n        type: string\n"
                   "        description: Id\n" + STEPS),
    )
    cap = built(tmp_path, text)
    (tool,) = cap.mcp.tools
    assert tool.answer == "steps" and tool.call is None
    first, again, found = tool.steps.steps
    assert [(a.param.name, a.source, a.input_name) for a in first.call.arguments] == [("id", "input", "id")]
    assert [(a.source, a.literal) for a in again.call.arguments] == [("step", ("first", "next"))]
    assert found.runtime == ("lookup", "found", "again", "key", ("path", ("first", "keys")), ("label",))
    assert tool.steps.mappings == ((("item", "id"), ("first", "id")), (("labels",), ("found",)))
    assert tool.output_schema == {
        "type": "object",
        "properties": {
            "item": {"type": "object", "properties": {"id": {}}, "required": ["id"]},
            "labels": {"type": ["array", "null"]},
        },
        "required": ["item", "labels"],
    }


def test_lookup_of_a_later_step_is_refused(tmp_path: Path):
    steps = STEPS.replace("index: again", "index: later")
    text = variant((MCP_CALL, "      description: Two calls\n      inputParameters:\n      - name: id\n"
                              "        type: string\n        description: Id\n" + steps))
    error = only_error(tmp_path, text, "E153")
    assert error.line == line_of(text, "index: later")


def test_step_calling_nothing_is_refused(tmp_path: Path):
    steps = STEPS.replace("name: again\n        call: api.get-item", "name: again\n        call: api.nothing")
    text = variant((MCP_CALL, "      description: Two calls\n      inputParameters:\n      - name: id\n"
                              "        type: string\n        description: Id\n" + steps))
    error = only_error(tmp_path, text, "E153")
    assert "`call: api.nothing`" in error.message


def test_base_unchanged_by_output_support(tmp_path: Path):
    cap: Capability = built(tmp_path, BASE)
    assert not cap.maps_outputs
    assert {r.answer for r in cap.rest.routes} | {t.answer for t in cap.mcp.tools} == {"passthrough"}


# --- the generated runtime -------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Any:
    result = generate(SHIPYARD, SHIPYARD.parent)
    assert result.ok
    folder = tmp_path_factory.mktemp("shipyard-runtime")
    writer.write(folder, {result.package: result.files})
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module("shipyard._runtime")
        yield module
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == "shipyard" or m.startswith("shipyard.")]:
            del sys.modules[name]


@pytest.mark.parametrize("path", ["$", "$.a.b[0]", "$.a.b[-1].c", "$.list[*].id", "$.a.*", "$.s[0]", "$.zz"])
def test_runtime_paths_agree_with_the_generator(runtime: Any, path: str):
    assert runtime.json_path(parse_path(path), DOC) == evaluate(parse_path(path), DOC)


def test_runtime_builds_shapes(runtime: Any):
    shape = ("object", (), (
        ("id", ("value", ("id",))),
        ("inner", ("object", ("deep",), (("v", ("value", ("v",))),))),
        ("gone", ("object", ("nowhere",), (("v", ("value", ("v",))),))),
        ("names", ("array", ("rows",), ("value", ("name",)), False)),
        ("one", ("array", ("single",), None, True)),
        ("notlist", ("array", ("single",), None, False)),
        ("hi", ("text", (("Hi ", None), ("", "who")))),
        ("k", ("const", 3)),
    ))
    document = {"id": 7, "deep": {"v": "w"}, "rows": [{"name": "a"}, {"x": 1}], "single": {"a": 1}}
    assert runtime.build_output(shape, document, {"who": "Nina"}) == {
        "id": 7, "inner": {"v": "w"}, "gone": None, "names": ["a", None], "one": [{"a": 1}],
        "notlist": None, "hi": "Hi Nina", "k": 3,
    }


def test_runtime_reads_xml(runtime: Any):
    document = runtime.read_answer(
        b"<r a='1'><v><c>x</c></v><v><c>y</c></v><one>t</one><empty/></r>", "xml")
    assert document == {"a": "1", "v": [{"c": "x"}, {"c": "y"}], "one": "t", "empty": ""}


def test_runtime_refuses_xml_with_a_dtd(runtime: Any):
    bomb = b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a 'aaaa'>]><r>&a;</r>"
    with pytest.raises(runtime.UnreadableAnswer):
        runtime.read_answer(bomb, "xml")


def test_runtime_unreadable_json(runtime: Any):
    with pytest.raises(runtime.UnreadableAnswer, match="not valid JSON"):
        runtime.read_answer(b"<html>", "json")
    assert runtime.read_answer(b"  ", "json") is None


def test_runtime_lookup(runtime: Any):
    index = [{"id": 1, "n": "a", "x": 0}, {"id": "2", "n": "b"}, "junk"]
    assert runtime.lookup(index, "id", "1", ["n"]) == {"n": "a"}  # compared as text
    assert runtime.lookup(index, "id", [2, 5, 1], ["n", "missing"]) == [
        {"n": "b", "missing": None}, {"n": "a", "missing": None}]
    assert runtime.lookup(index, "id", None, ["n"]) is None
    assert runtime.lookup({"not": "a list"}, "id", 1, ["n"]) is None


def test_runtime_map_results(runtime: Any):
    mappings = ((("a", "b"), ("s", "x")), (("a", "c"), ("s", "y")), (("d",), ("t",)))
    assert runtime.map_results(mappings, {"s": {"x": 1}}) == {"a": {"b": 1, "c": None}, "d": None}


def test_runtime_run_steps_passes_results_along(runtime: Any):
    class Answer:
        def __init__(self, content: bytes) -> None:
            self.content = content

    calls: list[tuple[str, dict[str, Any]]] = []

    class FakeClient:
        async def first(self, **kwargs: Any) -> Answer:
            calls.append(("first", kwargs))
            return Answer(b'{"next": "n-2", "profile": {"region": "eu"}}')

        async def second(self, **kwargs: Any) -> Answer:
            calls.append(("second", kwargs))
            return Answer(b'[{"k": "eu", "label": "Europe"}]')

    steps = (
        ("call", "one", "first", (("id", "input", "id"), ("fixed", "literal", 3)), "json",
         (("region", ("profile", "region")),)),
        ("call", "two", "second", (("after", "step", ("one", "next")),), "json", ()),
        ("lookup", "found", "two", "k", ("path", ("one", "region")), ("label",)),
    )
    last, results = asyncio.run(runtime.run_steps(FakeClient(), steps, {"id": "i-1"}))
    assert calls == [("first", {"id": "i-1", "fixed": 3}), ("second", {"after": "n-2"})]
    assert results["one"]["region"] == "eu"  # the consumed operation's named output, added
    assert results["found"] == {"label": "Europe"}
    assert last.content.startswith(b"[")


# --- aggregates ------------------------------------------------------------------------------

AGGREGATE = """\
  aggregates:
  - namespace: catalog
    label: Catalog
    functions:
    - name: find-item
      description: Find one item.
      semantics:
        safe: true
        idempotent: true
      inputParameters:
      - name: id
        type: string
        description: Item id
      call: api.get-item
      with:
        id: catalog.id
      outputParameters:
      - type: string
        mapping: $.label
"""


def test_ref_runs_the_function(tmp_path: Path):
    text = BASE.replace("capability:\n", "capability:\n" + AGGREGATE, 1)
    text = variant(
        (MCP_CALL, "      ref: catalog.find-item\n      hints:\n        idempotent: false\n"),
        text=text,
    )
    cap = built(tmp_path, text)
    (tool,) = cap.mcp.tools
    assert tool.description == "Find one item."  # inherited
    assert tool.input_schema["properties"] == {"id": {"type": "string", "description": "Item id"}}
    assert [(a.source, a.input_name) for a in tool.call.arguments] == [("input", "id")]
    assert tool.output.shape == ("value", ("label",))
    # safe -> read-only and not destructive; the tool's own idempotent wins over the semantics
    assert (tool.annotations["read_only_hint"], tool.annotations["destructive_hint"],
            tool.annotations["idempotent_hint"]) == (True, False, False)


def test_ref_to_nothing_is_located(tmp_path: Path):
    text = BASE.replace("capability:\n", "capability:\n" + AGGREGATE, 1)
    text = variant((MCP_CALL, "      description: Get one item\n      ref: catalog.nothing\n"), text=text)
    error = only_error(tmp_path, text, "E155")
    assert error.line == line_of(text, "ref: catalog.nothing")


# --- an operation without `call`, `steps` or outputs ------------------------------------------


def test_an_operation_with_nothing_to_call_or_answer_answers_nothing(tmp_path: Path):
    from naftiko_codegen.build import build
    from naftiko_codegen.load import load_file
    from naftiko_codegen.openapi import document as openapi_document

    text = variant(("        name: get-item\n        call: api.get-item\n", "        name: get-item\n"),
                   ("      description: Get one item\n      call: api.get-item\n", "      description: Get one item\n"))
    (tmp_path / "demo.yaml").write_text(text, "utf-8")
    found: list[Any] = []
    build(load_file(tmp_path / "demo.yaml"), warnings=found)
    warnings = [d for d in found if d.code == "W290"]
    # the consumed operation of the same name is what was probably meant
    assert [(d.line, d.hint) for d in warnings] == [
        (line_of(text, "      - method: GET"), "did you mean `call: api.get-item`?"),
        (line_of(text, "    tools:") + 1, "did you mean `call: api.get-item`?"),
    ]
    cap = built(tmp_path, text)
    (route,) = cap.rest.routes
    assert (route.answer, route.call, route.steps, route.empty) == ("empty", None, None, True)
    assert not cap.rest.calls_upstream
    assert list(openapi_document(cap)["paths"]["/items/{id}"]["get"]["responses"]) == ["204", "422"]
    (tool,) = cap.mcp.tools
    assert tool.answer == "mock" and tool.output.shape == ("object", (), ())


def test_an_operation_with_nothing_to_call_runs(tmp_path: Path):
    """The generated REST service answers 204 and the MCP tool `{}`, calling nothing."""
    from fastapi.testclient import TestClient

    text = variant(("        name: get-item\n        call: api.get-item\n", "        name: get-item\n"),
                   ("      description: Get one item\n      call: api.get-item\n", "      description: Get one item\n"))
    (tmp_path / "demo.yaml").write_text(text, "utf-8")
    result = generate(tmp_path / "demo.yaml", tmp_path)
    assert result.ok
    writer.write(tmp_path / "out", {result.package: result.files})
    sys.path.insert(0, str(tmp_path / "out"))
    try:
        rest = importlib.import_module("demo.rest")
        mcp = importlib.import_module("demo.mcp_server")
        with TestClient(rest.app) as http:
            answer = http.get("/items/7")
        assert (answer.status_code, answer.content) == (204, b"")

        async def call() -> Any:
            async with mcp.upstream.open():
                return await mcp.call_tool(None, mcp.types.CallToolRequestParams(name="get-item", arguments={}))

        tool = asyncio.run(call())
        assert not tool.is_error and tool.content[0].text == "{}"
    finally:
        sys.path.remove(str(tmp_path / "out"))
        for name in [m for m in sys.modules if m.split(".")[0] == "demo"]:
            del sys.modules[name]
