"""The MCP server generated with resources, prompts and an explicit tool `inputSchema`: strict
type checking, and spec strings (URIs, titles, descriptions, media types, prompt text, schema
text) that can never become code and round-trip exactly."""

from __future__ import annotations

import ast
import importlib
import itertools
import subprocess
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import anyio
import yaml
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "data" / "mcp" / "resources-prompts.yaml"
BASE = yaml.safe_load(SPEC.read_text())
_counter = itertools.count()

NASTY = st.sampled_from(['"""', "'''", "\\", "\n", "\r", "{{", "}}", "{%", "%}", "\x00", "\u2028",
                         "#", "');import os#", '")\nimport os\n("', "\\N{BULLET}", "${x}", "`", "\t",
                         "(", "[^/]", "$", "*", "%2F"])
TEXT = st.lists(st.one_of(NASTY, st.text(max_size=8)), max_size=8).map("".join)
# a URI may hold anything but braces (they make it a template) and the `/` that separates a
# variable's segment; the templated resource keeps its `{userId}`
URI_TEXT = TEXT.map(lambda t: t.replace("{", "").replace("}", "").replace("/", ""))


def _node_types(files: dict[str, str]) -> dict[str, set[str]]:
    return {name: {type(node).__name__ for node in ast.walk(ast.parse(text))}
            for name, text in files.items() if name.endswith(".py")}


BASELINE = _node_types(generate(SPEC, SPEC.parent).files)


def test_mypy_strict_is_clean(tmp_path: Path):
    result = generate(SPEC, SPEC.parent)
    output.write(tmp_path, {result.package: result.files})
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "-p", result.package],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(text=TEXT, uri=URI_TEXT, content=TEXT)
@example(text='"""\nimport os\n"""', uri="');import os#(.*)", content='{{who}}")\nimport os\n("{{ tone }}')
def test_spec_strings_never_become_code(tmp_path_factory, text: str, uri: str, content: str):
    folder = tmp_path_factory.mktemp("hostile-mcp")
    package = f"hostile_mcp_{next(_counter)}"
    spec = yaml.safe_load(yaml.safe_dump(BASE))
    mcp = next(a for a in spec["capability"]["exposes"] if a["type"] == "mcp")
    status, profile, guides = mcp["resources"]
    guides.update(label=text, description=text, uri="f://" + uri + "x", location="file:///srv/" + quote(content))
    status.update(uri="s://" + uri, label=text, description=text, mimeType="text/x-" + uri)
    profile.update(uri="d://" + uri + "/{userId}", label=text)
    prompt = mcp["prompts"][0]
    prompt.update(label=text, description=text)
    prompt["arguments"][1]["label"] = text
    prompt["template"][1]["content"] = content
    mcp["tools"][0]["inputSchema"]["properties"]["region"]["description"] = text
    path = folder / f"{package}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    # PyYAML's own round trip folds a line break character such as U+0085 in a quoted scalar
    # into a space: the file would not hold the strings this test expects, so skip those.
    assume(yaml.safe_load(path.read_text()) == spec)
    result = generate(path, folder)
    assert result.ok, [d.render() for d in result.diagnostics if d.is_error]
    for name, kinds in _node_types(result.files).items():
        assert kinds <= BASELINE[name], f"{name}: unexpected {kinds - BASELINE[name]}"

    output.write(folder / "out", {package: result.files})
    sys.path.insert(0, str(folder / "out"))
    try:
        server = importlib.import_module(f"{package}.mcp_server")
        (listed,) = server.RESOURCES
        assert (listed.uri, listed.title, listed.description, listed.mime_type) == (
            "s://" + uri, text or None, text or None, "text/x-" + uri)
        (files,) = server.FILE_RESOURCES
        assert (files.title, files.description, files.uri, files.directory) == (
            text or None, text or None, "f://" + uri + "x", str(PurePosixPath("/srv/" + content)))
        (template,) = server.RESOURCE_TEMPLATES
        assert template.uri_template == "d://" + uri + "/{userId}"
        # each URI matches its own resource only, literally
        assert server.READERS[0].pattern.fullmatch("s://" + uri)
        assert server.READERS[1].pattern.fullmatch("d://" + uri + "/42").groups() == ("42",)
        assert server.READERS[1].pattern.fullmatch("d://" + uri + "/4/2") is None
        declared, _review = server.PROMPTS
        assert (declared.title, declared.description) == (text or None, text or None)
        assert server.TOOLS[0].input_schema["properties"]["region"]["description"] == text
        got = anyio.run(server.get_prompt, None, server.types.GetPromptRequestParams(
            name="outreach", arguments={"who": "W", "tone": "T"}))
        expected = content
        for arg, value in (("who", "W"), ("tone", "T")):
            for spelling in ("{{" + arg + "}}", "{{ " + arg + " }}"):
                expected = expected.replace(spelling, value)
        assert got.messages[1].content.text == expected
    finally:
        sys.path.remove(str(folder / "out"))
        for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[module]
