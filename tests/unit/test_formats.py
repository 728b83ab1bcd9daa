"""Answer formats read into JSON (`outputRawFormat` yaml, html, markdown; avro and protobuf
refused): the build decisions, and the generated readers, imported from a package generated
with all three (see docs/semantics.md, "Binds from files and other answer formats")."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from naftiko_codegen import output as writer
from naftiko_codegen.pipeline import generate
from naftiko_codegen.selectors import SelectorError, parse_selector

from .test_build import MCP_CALL, built, line_of, only_error, variant

OP = "        method: GET\n        inputParameters:\n"
TABLE_ROWS = ("      outputParameters:\n      - type: array\n        mapping: $.tables[0]\n"
              "        items:\n          type: object\n          properties:\n"
              "            n:\n              type: number\n              mapping: $.N\n")


def consumed(fmt: str, schema: str | None = None) -> tuple[str, str]:
    extra = f"        outputSchema: {schema!r}\n" if schema is not None else ""
    return OP, f"        method: GET\n        outputRawFormat: {fmt}\n{extra}        inputParameters:\n"


def mapped(fmt: str, schema: str | None = None, outputs: str = TABLE_ROWS) -> str:
    return variant(consumed(fmt, schema), (MCP_CALL, MCP_CALL + outputs))


# --- build decisions -------------------------------------------------------------------------


def test_html_selector_is_parsed_for_the_reader(tmp_path: Path):
    cap = built(tmp_path, mapped("html", "section#stock > table.products"))
    output = cap.mcp.tools[0].output
    selector = ((("", ("section", "stock", ())), (">", ("table", None, ("products",)))),)
    assert (output.kind, output.source, output.option) == ("mapped", "html", selector)
    assert output.reader == ("html", selector)
    assert cap.reads_formats == frozenset({"html"}) and cap.reads_options and not cap.reads_yaml
    # cells are text: a declared integer is a string in the result's schema
    assert output.schema["items"]["properties"]["n"] == {"type": ["string", "null"]}


def test_html_without_selector_reads_every_table(tmp_path: Path):
    cap = built(tmp_path, mapped("html"))
    output = cap.mcp.tools[0].output
    assert output.option is None and output.reader == "html" and not cap.reads_options


def test_markdown_prefix_and_mixed_types(tmp_path: Path):
    cap = built(tmp_path, mapped("markdown", "Release"))
    output = cap.mcp.tools[0].output
    assert output.reader == ("markdown", "Release")
    # table cells are text, front matter and section levels are typed: either is accepted
    assert output.schema["items"]["properties"]["n"] == {"type": ["number", "string", "null"]}
    assert cap.reads_yaml  # front matter is YAML


def test_yaml_answers_keep_their_types(tmp_path: Path):
    cap = built(tmp_path, mapped("yaml", outputs="      outputParameters:\n      - type: object\n"
                                 "        properties:\n          n:\n            type: number\n"
                                 "            mapping: $.n\n"))
    output = cap.mcp.tools[0].output
    assert (output.source, output.reader) == ("yaml", "yaml")
    assert output.schema["properties"]["n"] == {"type": ["number", "null"]}
    assert cap.reads_yaml and cap.reads_formats == frozenset({"yaml"})


def test_unmapped_yaml_is_passed_through_and_needs_no_parser(tmp_path: Path):
    cap = built(tmp_path, variant(consumed("yaml")))
    assert cap.mcp.tools[0].output.kind == "passthrough" and not cap.reads_yaml


@pytest.mark.parametrize("fmt", ["avro", "protobuf"])
def test_binary_schema_formats_pass_through_whole(tmp_path: Path, fmt: str):
    cap = built(tmp_path, variant(consumed(fmt)).replace(
        "  - type: mcp\n    namespace: demo-mcp\n    tools:\n    - name: get-item\n"
        "      description: Get one item\n      call: api.get-item\n", ""))
    assert cap.rest.routes[0].answer == "raw"


@pytest.mark.parametrize("fmt", ["avro", "protobuf"])
def test_mapping_a_binary_answer_without_its_schema_file_is_e250(tmp_path: Path, fmt: str):
    text = mapped(fmt)
    error = only_error(tmp_path, text, "E250")
    assert f"`outputRawFormat: {fmt}`" in error.message and "`api.get-item`" in error.message
    assert "outputSchema" in error.hint
    assert error.line == line_of(text, "mapping: $.tables[0]") - 1


@pytest.mark.parametrize("fmt", ["avro", "protobuf"])
def test_mapping_a_binary_answer_with_its_schema_file_is_refused(tmp_path: Path, fmt: str):
    error = only_error(tmp_path, mapped(fmt, "schemas/records.avsc"), "E300")
    assert f"`outputRawFormat: {fmt}`" in error.message


@pytest.mark.parametrize("fmt", ["avro", "protobuf"])
def test_mcp_tool_returning_a_binary_answer_is_refused(tmp_path: Path, fmt: str):
    error = only_error(tmp_path, variant(consumed(fmt)), "E300")
    assert f"MCP tool returning an `outputRawFormat: {fmt}` answer whole" in error.message


@pytest.mark.parametrize("selector", ["table[data-x]", "tr:first-child", "h2 + table", "a,"])
def test_selector_beyond_the_subset_is_refused_where_written(tmp_path: Path, selector: str):
    text = mapped("html", selector)
    error = only_error(tmp_path, text, "E300")
    assert "CSS selector" in error.message
    assert error.line == line_of(text, "outputSchema:")


def test_output_schema_of_other_formats_is_w340(tmp_path: Path):
    text = variant(consumed("json", "schema.json"))
    spec = tmp_path / "demo.yaml"
    spec.write_text(text, encoding="utf-8")
    result = generate(spec, tmp_path)
    assert result.ok
    (warning,) = [d for d in result.diagnostics if d.code == "W340"]
    assert not warning.is_error and warning.line == line_of(text, "outputSchema:")


def test_steps_read_markdown_with_its_prefix(tmp_path: Path):
    steps = ("      inputParameters:\n      - name: id\n        type: string\n        description: Id\n"
             "      steps:\n      - type: call\n        name: doc\n        call: api.get-item\n"
             "      mappings:\n      - targetName: first\n        value: $.doc.sections[0].heading\n")
    text = variant(consumed("markdown", "Rel"), (MCP_CALL, "      description: Steps\n" + steps))
    cap = built(tmp_path, text)
    (step,) = cap.mcp.tools[0].steps.steps
    assert (step.source, step.option) == ("markdown", "Rel")
    assert step.runtime[4] == ("markdown", "Rel")


def test_selector_parser():
    assert parse_selector("table") == ((("", ("table", None, ())),),)
    assert parse_selector(".a.b #c, *") == (
        (("", (None, None, ("a", "b"))), (" ", (None, "c", ()))),
        (("", (None, None, ())),),
    )
    for bad in ("", "a >", "a ~ b", "a[x=1]", "a::before"):
        with pytest.raises(SelectorError):
            parse_selector(bad)


# --- the generated readers -------------------------------------------------------------------

READERS = """\
naftiko: 1.0.0-alpha2
info:
  label: Formats
  description: Answers in yaml, html and markdown.
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: https://api.example.com
    resources:
    - name: pages
      path: /pages
      operations:
      - name: readme
        method: GET
        outputRawFormat: markdown
      - name: page
        method: GET
        outputRawFormat: html
        outputSchema: table.t
      - name: data
        method: GET
        outputRawFormat: yaml
  exposes:
  - type: rest
    namespace: formats-rest
    resources:
    - path: /readme
      operations:
      - method: GET
        name: readme
        call: api.readme
        outputParameters:
        - type: array
          mapping: $.sections
    - path: /page
      operations:
      - method: GET
        name: page
        call: api.page
        outputParameters:
        - type: array
          mapping: $.tables[0]
    - path: /data
      operations:
      - method: GET
        name: data
        call: api.data
        outputParameters:
        - type: object
          mapping: $.a
"""


@pytest.fixture(scope="module")
def readers(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("formats")
    spec = folder / "formats.yaml"
    spec.write_text(READERS, encoding="utf-8")
    result = generate(spec, folder)
    assert result.ok, [d.render() for d in result.diagnostics]
    writer.write(folder / "out", {result.package: result.files})
    sys.path.insert(0, str(folder / "out"))
    try:
        yield importlib.import_module("formats._runtime"), folder / "out"
    finally:
        sys.path.remove(str(folder / "out"))
        for name in [m for m in sys.modules if m == "formats" or m.startswith("formats.")]:
            del sys.modules[name]


def test_readers_package_requires_pyyaml_and_checks_clean(readers: Any):
    runtime, out = readers
    assert runtime.__name__ == "formats._runtime"
    assert "pyyaml>=6.0,<7" in (out / "formats" / "requirements.txt").read_text("utf-8")
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select",
                           "E,F,W,I,B,UP,PYI", "--line-length", "100", str(out / "formats")],
                          capture_output=True, text=True, check=False)
    assert ruff.returncode == 0, ruff.stdout
    mypy = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(out / ".mypy"),
                           "-p", "formats"], cwd=out, capture_output=True, text=True, check=False)
    assert mypy.returncode == 0, mypy.stdout


def test_requirements_name_pyyaml_only_where_yaml_is_read(tmp_path: Path):
    spec = tmp_path / "plain.yaml"
    spec.write_text(mapped("html"), encoding="utf-8")
    result = generate(spec, tmp_path)
    assert result.ok
    assert "pyyaml" not in result.files["requirements.txt"]


def test_yaml_reads_json_values_only(readers: Any):
    runtime, _ = readers
    text = "a: 2026-02-21\nb: yes\nc: true\n1: one\nd: 1.5\ne: ~\nf: [x, 2]\n---\nsecond: document\n"
    assert runtime.read_answer(text.encode(), "yaml") == {
        "a": "2026-02-21", "b": "yes", "c": True, "1": "one", "d": 1.5, "e": None, "f": ["x", 2]}
    with pytest.raises(runtime.UnreadableAnswer, match="not valid YAML"):
        runtime.read_answer(b"a: [unclosed", "yaml")
    with pytest.raises(runtime.UnreadableAnswer):
        runtime.read_answer(b"!!python/object:os.system {}", "yaml")  # the safe loader only


def test_html_tables_as_the_engine_reads_them(readers: Any):
    runtime, _ = readers
    page = b"""<html><body><p>Intro<table class="t other" id="x">
      <tr><th>Name <i>first</i></th><th>Price</th><th></th></tr>
      <tr><td>Widget<br>large</td><td>$42<td>extra</tr>
      <tr><td>Gadget</td></tr>
      <tr><th>Sub header</th><td>skipped</td></tr>
    </table>
    <table><thead><tr><th>Decoy</th></tr></thead><tbody><tr><td>no</td></tr></tbody></table>
    <div class="t"><table><tr><td>no header</td></tr></table></div>
    <script>var t = "<table><tr><th>no</th></tr></table>";</script></body></html>"""
    table = runtime.read_answer(page, ("html", ((("", ("table", None, ("t",))),),)))
    assert table == {"tables": [[
        {"Name first": "Widget large", "Price": "$42", "": "extra"},
        {"Name first": "Gadget", "Price": "", "": ""},
    ]]}
    # a selected element that is not a table gives the tables inside it (none has headers here)
    assert runtime.read_answer(page, ("html", ((("", ("div", None, ("t",))),),))) == {"tables": []}
    # without a selector: every table with header cells
    assert [len(t) for t in runtime.read_answer(page, "html")["tables"]] == [2, 1]


def test_markdown_document_as_the_engine_reads_it(readers: Any):
    runtime, _ = readers
    text = (
        "---\r\ntitle: Notes\r\nversion: 2.1.0\r\ncount: 3\r\n---\r\n"
        "Before any heading.\n\n"
        "| Feature | Status |\n|:--|--:|\n| *HTML* support | `GA` |\n| [Docs](http://x) \\| more |\n\n"
        "# Release 1 #\n"
        "First **bold** line\nsecond line  \nhard break &amp; entity <span>tag</span>\n\n"
        "- one\n- two\n\n"
        "```\ncode is no text\n```\n\n"
        "| A | B |\n|---|---|\n| 1 | 2 |\n\n"
        "Other heading\n-------------\n\n> quoted\n"
    )
    assert runtime.read_answer(text.encode(), "markdown") == {
        "frontMatter": {"title": "Notes", "version": "2.1.0", "count": 3},
        "tables": [
            [{"Feature": "HTML support", "Status": "GA"}, {"Feature": "Docs | more", "Status": ""}],
            [{"A": "1", "B": "2"}],
        ],
        "sections": [
            {"heading": "Release 1", "level": 1,
             "content": "First bold line second line\nhard break & entity tag\nonetwo"},
            {"heading": "Other heading", "level": 2, "content": "quoted"},
        ],
    }
    only = runtime.read_answer(text.encode(), ("markdown", "Other"))
    assert [s["heading"] for s in only["sections"]] == ["Other heading"]
    assert runtime.read_answer(b"no front matter\n---\nx: 1\n", "markdown")["frontMatter"] == {}
