"""Hostile specs: strings from a spec can never become code, and names can never leave the
output folder. Property-based: arbitrary text (quotes, triple quotes, backslashes, newlines,
template syntax, NUL, line separators) in every string the generated code carries."""

from __future__ import annotations

import ast
import importlib
import itertools
import sys
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

ROOT = Path(__file__).resolve().parent.parent
BASE = yaml.safe_load((ROOT / "specs" / "track-batch.yaml").read_text())
_counter = itertools.count()

NASTY = st.sampled_from(['"""', "'''", "\\", "\n", "\r", "{{", "}}", "{%", "%}", "\x00", "\u2028",
                         "#", "');import os#", '")\nimport os\n("', "\\N{BULLET}", "${x}", "`", "\t"])
TEXT = st.lists(st.one_of(NASTY, st.text(max_size=8)), max_size=8).map("".join)


def _spec(description: str, label: str, tool_description: str, rest_description: str) -> dict:
    spec = yaml.safe_load(yaml.safe_dump(BASE))
    spec["info"]["label"] = label
    spec["info"]["description"] = description
    consumed = spec["capability"]["consumes"][0]
    consumed["resources"][0]["operations"][0]["description"] = description
    consumed["resources"][0]["operations"][0]["inputParameters"][0]["description"] = description
    rest, mcp = spec["capability"]["exposes"]
    rest["description"] = rest_description
    rest["resources"][0]["operations"][0]["description"] = rest_description
    mcp["description"] = tool_description
    mcp["tools"][0]["description"] = tool_description
    mcp["tools"][0]["label"] = label
    return spec


def _node_types(files: dict[str, str]) -> dict[str, set[str]]:
    return {
        name: {type(node).__name__ for node in ast.walk(ast.parse(text))}
        for name, text in files.items()
        if name.endswith(".py")
    }


BASELINE = _node_types(generate(ROOT / "specs" / "track-batch.yaml", ROOT).files)


# Each example formats a whole package, so shrinking is skipped: a failure is reported as found.
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(description=TEXT, label=TEXT, tool_description=TEXT, rest_description=TEXT)
@example(description='"""\nimport os\n"""', label="');import os#", tool_description="\\\x00\u2028{{x}}{% raw %}",
         rest_description='")\nimport os\n("')
def test_spec_strings_never_become_code(tmp_path_factory, description, label, tool_description, rest_description):
    folder = tmp_path_factory.mktemp("hostile")
    package = f"hostile_{next(_counter)}"
    spec = folder / f"{package}.yaml"
    spec.write_text(yaml.safe_dump(_spec(description, label, tool_description, rest_description),
                                   allow_unicode=True))
    # The generator sees the strings as YAML loads them: PyYAML's own round trip folds a line
    # break character such as U+0085 in a quoted scalar into a space, so expect those.
    loaded = yaml.safe_load(spec.read_text())
    description, label = loaded["info"]["description"], loaded["info"]["label"]
    rest_description = loaded["capability"]["exposes"][0]["description"]
    tool_description = loaded["capability"]["exposes"][1]["tools"][0]["description"]
    result = generate(spec, folder)
    assert result.ok, [d.render() for d in result.diagnostics]

    # the modules parse, and hold no construct the templates do not emit for a benign spec
    for name, kinds in _node_types(result.files).items():
        assert kinds <= BASELINE[name], f"{name}: unexpected {kinds - BASELINE[name]}"

    # and the values round-trip exactly where the spec's strings are carried as data
    output.write(folder / "out", {package: result.files})
    sys.path.insert(0, str(folder / "out"))
    try:
        mcp_server = importlib.import_module(f"{package}.mcp_server")
        rest = importlib.import_module(f"{package}.rest")
        tool = mcp_server.TOOLS[0]
        assert tool.description == tool_description or (not tool_description and tool.description)
        assert tool.title == (label or None)
        assert rest.app.title == (label or package)
        # the OpenAPI document the service serves is generated JSON, read back as is
        document = rest.app.openapi()
        assert document["info"].get("description", "") == (rest_description or description)
        operation = document["paths"]["/v1//v2/batch"]["post"]
        assert operation["operationId"] == "trackbatch"
        assert operation.get("description", "") == (rest_description or description)
        schema = tool.input_schema["properties"]["body"]
        assert schema.get("description", "") == description
    finally:
        sys.path.remove(str(folder / "out"))
        for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[module]


def test_names_cannot_leave_the_output_folder(tmp_path):
    spec = yaml.safe_load(yaml.safe_dump(BASE))
    spec["capability"]["consumes"][0]["namespace"] = "../../etc/x"
    spec["capability"]["exposes"][0]["resources"][0]["operations"][0]["call"] = "../../etc/x.trackbatch"
    spec["capability"]["exposes"][1]["tools"][0]["call"] = "../../etc/x.trackbatch"
    spec["capability"]["exposes"][0]["namespace"] = "/abs/olute"
    for stem in ("..", "CON", "__init__", "../escape"):
        target = tmp_path / "specs" / f"{stem}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.resolve().parent != (tmp_path / "specs").resolve():
            continue  # the file system itself refuses such a name
        target.write_text(yaml.safe_dump(spec))
        result = generate(target, tmp_path)
        if not result.ok:
            assert all(d.line >= 0 for d in result.diagnostics)
            continue
        assert result.package.isidentifier() and result.package not in ("con",)
        out = tmp_path / "generated"
        output.write(out, {result.package: result.files})
        written = [p.resolve() for p in out.rglob("*") if p.is_file()]
        assert written and all(out.resolve() in p.parents for p in written)


def test_output_refuses_package_names_that_escape(tmp_path):
    import pytest

    for name in ("..", "../x", "/tmp/x", "a/b", ""):
        with pytest.raises(ValueError):
            output.write(tmp_path / "out", {name: {"__init__.py": "# Code generated by naftiko-gen\n"}})
