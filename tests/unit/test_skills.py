"""The skill adapter's build decisions (naftiko_codegen/skills.py) and its dialect rewrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from naftiko_codegen.build import build
from naftiko_codegen.diagnostics import Diagnosed, Diagnostic
from naftiko_codegen.emit import emit
from naftiko_codegen.model import Capability
from naftiko_codegen.pipeline import check
from naftiko_codegen.skills import location_directory, plain_file

CATALOGUE = Path(__file__).resolve().parents[1] / "data" / "skill" / "catalogue.yaml"

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
    - name: items
      path: /items
      operations:
      - method: GET
        name: list-items
        description: List items
  exposes:
  - type: rest
    namespace: items-rest
    resources:
    - path: /items
      operations:
      - method: GET
        name: list-items
        description: List items
        call: api.list-items
  - type: mcp
    namespace: items-mcp
    tools:
    - name: list-items
      description: List items
      call: api.list-items
"""


def run(tmp_path: Path, text: str, name: str = "demo") -> tuple[Capability | None, list[Diagnostic]]:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(text, encoding="utf-8")
    doc, result = check(spec)
    if doc is None or not result.ok:
        return None, result.diagnostics
    try:
        return build(doc, warnings=result.diagnostics), result.diagnostics
    except Diagnosed as exc:
        return None, list(exc.diagnostics)


def errors(diagnostics: list[Diagnostic]) -> list[tuple[str, int]]:
    return [(d.code, d.line) for d in diagnostics if d.is_error]


def skill(tools: str, extra: str = "") -> str:
    return HEAD + f"""\
  - type: skill
    namespace: items-skills
    skills:
    - name: items
      description: Items{extra}
      tools:
{tools}"""


def test_catalogue_decisions(tmp_path: Path):
    cap, _ = run(tmp_path, CATALOGUE.read_text(), "catalogue")
    assert cap is not None and cap.skill is not None
    adapter = cap.skill
    assert (adapter.namespace, adapter.address, adapter.port) == ("orders-skills", "127.0.0.1", 9097)
    assert adapter.catalogue == {"count": 2, "skills": [
        {"name": "order-management", "description": "Tools for managing orders", "license": "Apache-2.0",
         "tools": ["list-orders", "list-orders-mcp", "order-guide"]},
        {"name": "onboarding-guide", "description": "A purely descriptive skill with no tools", "tools": []},
    ]}
    managed, onboarding = adapter.skills
    assert [t.get("invocationRef", {}).get("mode") for t in managed.detail["tools"]] == ["rest", "mcp", None]
    assert managed.detail["user-invocable"] is True  # booleans stay booleans
    assert managed.detail["metadata"] == {"owner": "orders-team"}
    assert (managed.directory, managed.directory_env) == ("/srv/skills/order-management",
                                                          "CATALOGUE_ORDER_MANAGEMENT_SKILL_DIR")
    assert (onboarding.directory, onboarding.directory_env) == ("", "")
    assert adapter.located == (managed,)


def test_package_files_follow_the_adapters(tmp_path: Path):
    cap, _ = run(tmp_path, CATALOGUE.read_text(), "catalogue")
    assert cap is not None
    files = emit(cap)
    assert "catalogue/skill.py" in files
    main = files["catalogue/__main__.py"]
    assert '"skill"' in main and "catalogue.skill:app" in main
    assert "CATALOGUE_ORDER_MANAGEMENT_SKILL_DIR" in files["catalogue/README.md"]
    plain, _ = run(tmp_path, HEAD)
    assert plain is not None and plain.skill is None
    assert not any(name.endswith("skill.py") for name in emit(plain))
    assert '"skill"' not in emit(plain)["demo/__main__.py"]


@pytest.mark.parametrize(("tools", "code"), [
    ("      - {name: t, description: d, instruction: a.md, from: {sourceNamespace: items-rest, action: list-items}}\n",
     "E240"),
    ("      - {name: t, description: d}\n", "E240"),
    ("      - {name: t, description: d, from: {sourceNamespace: api, action: list-items}}\n", "E241"),
    ("      - {name: t, description: d, from: {sourceNamespace: items-skills, action: list-items}}\n", "E241"),
    ("      - {name: t, description: d, from: {sourceNamespace: items-mcp, action: list-item}}\n", "E242"),
    ("      - {name: t, description: d, instruction: guide.md}\n", "E243"),
])
def test_invalid_tools(tmp_path: Path, tools: str, code: str):
    cap, diagnostics = run(tmp_path, skill(tools))
    assert cap is None
    assert [c for c, _ in errors(diagnostics)] == [code]


@pytest.mark.parametrize("instruction", ["../x.md", "/etc/passwd", ".hidden", "a//b.md", "a b.md", "./a.md"])
def test_instruction_outside_the_skill(tmp_path: Path, instruction: str):
    tools = f"      - {{name: t, description: d, instruction: '{instruction}'}}\n"
    cap, diagnostics = run(tmp_path, skill(tools, "\n      location: file:///srv/items"))
    assert cap is None
    assert [c for c, _ in errors(diagnostics)] == ["E245"]


def test_instruction_in_a_folder_of_the_skill(tmp_path: Path):
    tools = "      - {name: t, description: d, instruction: examples/usage.md}\n"
    cap, diagnostics = run(tmp_path, skill(tools, "\n      location: file:///./skills/items"))
    assert cap is not None and cap.skill is not None, diagnostics
    (found,) = cap.skill.skills
    assert found.directory == "./skills/items"
    assert found.detail["tools"] == [{"name": "t", "description": "d", "type": "instruction",
                                      "instruction": "examples/usage.md"}]


def test_second_adapter_and_authentication_are_refused(tmp_path: Path):
    tools = "      - {name: t, description: d, from: {sourceNamespace: items-mcp, action: list-items}}\n"
    text = skill(tools) + """\
  - type: skill
    namespace: more-skills
    authentication: {type: bearer, token: x}
    skills:
    - {name: more, description: More}
"""
    cap, diagnostics = run(tmp_path, text)
    assert cap is None
    assert [d.code for d in diagnostics if d.is_error] == ["E300"]  # the second adapter, not its content


@pytest.mark.parametrize(("location", "directory"), [
    ("file:///srv/skills/x", "/srv/skills/x"),
    ("file:///srv/skills/x/", "/srv/skills/x"),
    ("file:///./skills/x", "./skills/x"),
    ("file:///../shared/x", "../shared/x"),
    ("file:///srv/a%20b", "/srv/a b"),
    ("file:///", ""),
    ("file:///./", ""),
    ("file:///srv/..", ""),
    ("file:///../..", ""),
    ("file://host/x", ""),
    ("https://example.com/x", ""),
])
def test_location_directory(location: str, directory: str):
    assert location_directory(location) == directory


def test_plain_file():
    assert plain_file("guide.md") and plain_file("examples/usage.v2.md")
    assert not any(plain_file(p) for p in ("..", "a/../b", ".env", "a/.git/x", "", "a//b", "/a", "a b"))


GROUPS = HEAD + """\
  - type: skill
    namespace: items-skills
    groups:
    - name: read-items
      description: Reading items
      skills:
      - name: list
        call: api.list-items
"""


def test_groups_are_read_as_skills_derived_from_the_mcp_tool(tmp_path: Path):
    cap, diagnostics = run(tmp_path, GROUPS)
    assert cap is not None and cap.skill is not None, diagnostics
    (w330,) = [d for d in diagnostics if d.code == "W330"]
    assert w330.line == GROUPS.splitlines().index("    groups:") + 1
    (found,) = cap.skill.skills
    assert found.summary == {"name": "read-items", "description": "Reading items", "tools": ["list"]}
    assert found.detail["tools"] == [{"name": "list", "description": "List items", "type": "derived",
                                      "invocationRef": {"targetNamespace": "items-mcp",
                                                        "action": "list-items", "mode": "mcp"}}]


def test_groups_whose_call_no_tool_makes_are_left_alone(tmp_path: Path):
    head, _, _ = GROUPS.rpartition("call: api.list-items\n")
    cap, diagnostics = run(tmp_path, head + "call: api.other\n")
    assert cap is None
    assert "W330" not in [d.code for d in diagnostics]
    assert next(d.code for d in diagnostics if d.is_error) == "E110"


def test_authentication_on_the_catalogue_is_refused(tmp_path: Path):
    tools = "      - {name: t, description: d, from: {sourceNamespace: items-mcp, action: list-items}}\n"
    text = skill(tools).replace("    namespace: items-skills\n",
                                "    namespace: items-skills\n    authentication: {type: bearer, token: x}\n")
    cap, diagnostics = run(tmp_path, text)
    assert cap is None
    (refused,) = [d for d in diagnostics if d.is_error]
    assert refused.code == "E300" and "skill adapter" in refused.message


def test_a_tool_named_by_its_aggregate_function_can_be_derived_from(tmp_path: Path):
    text = HEAD.replace("""    tools:
    - name: list-items
      description: List items
      call: api.list-items
""", """    tools:
    - ref: catalog.list-all
""").replace("capability:\n", """capability:
  aggregates:
  - label: Catalog
    namespace: catalog
    functions:
    - name: list-all
      description: List every item
      call: api.list-items
""", 1)
    tools = "      - {name: t, description: d, from: {sourceNamespace: items-mcp, action: list-all}}\n"
    cap, diagnostics = run(tmp_path, skill(tools).replace(HEAD, text))
    assert cap is not None and cap.skill is not None, [d.render() for d in diagnostics]
    assert cap.skill.skills[0].detail["tools"][0]["invocationRef"]["action"] == "list-all"
