"""The corpus harness's MCP resource and prompt checks (tests/corpus_report.py): a package
generated from tests/data/mcp/resources-prompts.yaml passes them, and the same package with a
resource or prompt handled wrongly fails them, so the expectations do not come from the
generator."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from corpus_report import check_package, run, upstream

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

SPEC = Path(__file__).resolve().parent / "data" / "mcp" / "resources-prompts.yaml"


def test_resources_and_prompts_pass(tmp_path: Path):
    (outcome,) = run([SPEC], tmp_path)
    assert (outcome.status, outcome.detail) == ("generated", "")


@pytest.mark.parametrize(("old", "new", "finding"), [
    ('fields="name,email"', 'fields="name"', "query fields"),
    ('"data://users/([^/]+)/profile"', '"data://users/([^/]+)/profiles"', "Unknown resource"),
    ('uri="status://regions/eu"', 'uri="status://regions/us"', "not listed"),
    ('given.get(value, "")', 'given.get(value, "?")', "MCP prompt outreach: without optional"),
    ("if a.required and a.name not in given", "if False", "accepted without"),
    ('("argument", "tone")', '("text", "tone")', "MCP prompt outreach: messages"),
    ('("text", "I will keep it short.")', '("text", "I will keep it short")', "messages"),
    ('mime_type="application/json"', 'mime_type="text/plain"', "listed as"),
])
def test_a_wrong_package_is_caught(tmp_path: Path, old: str, new: str, finding: str):
    result = generate(SPEC, SPEC.parent)
    assert result.ok
    output.write(tmp_path, {result.package: result.files})
    server = tmp_path / result.package / "mcp_server.py"
    code = server.read_text()
    assert old in code, old
    server.write_text(code.replace(old, new, 1))
    text = SPEC.read_text()
    with upstream() as (url, recorder):
        problems = check_package(tmp_path, result.package, yaml.safe_load(text), text, url, recorder)
    assert any(finding in p for p in problems), problems
