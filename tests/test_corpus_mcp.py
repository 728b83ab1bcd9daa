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


def _with_guides(tmp_path: Path) -> Path:
    """The spec with its `location` pointing at a folder of files (some not to be served)."""
    guides = tmp_path / "guides"
    (guides / "api").mkdir(parents=True)
    (guides / "intro.md").write_text("# Intro")
    (guides / "api" / "errors.json").write_text("{}")
    (guides / "raw.bin").write_bytes(bytes(range(256)))
    (guides / "odd name.txt").write_text("not served")
    spec = tmp_path / "specs" / "with-guides.yaml"
    spec.parent.mkdir()
    review = tmp_path / "review.md"
    review.write_text("Review {{who}} and {{ who }}, not {{them}}.")
    spec.write_text(SPEC.read_text().replace("file:///srv/directory-mcp/guides", guides.as_uri())
                    .replace("file:///srv/directory-mcp/prompts/review.md", review.as_uri()))
    return spec


def test_files_pass(tmp_path: Path):
    (outcome,) = run([_with_guides(tmp_path)], tmp_path / "work")
    assert (outcome.status, outcome.detail) == ("generated", "")


@pytest.mark.parametrize(("old", "new", "finding"), [
    ("if _plain(relative) and _inside(path, root):", "if _inside(path, root):", "MCP files"),
    ("text = data.decode(\"utf-8\")", "text = data.decode(\"latin-1\")", "content differs"),
    ('("argument", piece)\n            if i % 2 and piece in known', '("argument", piece)\n            if i % 2',
     "MCP prompt review: messages"),
])
def test_wrong_file_serving_is_caught(tmp_path: Path, old: str, new: str, finding: str):
    spec = _with_guides(tmp_path)
    result = generate(spec, spec.parent)
    assert result.ok
    out = tmp_path / "out"
    output.write(out, {result.package: result.files})
    server = out / result.package / "mcp_server.py"
    code = server.read_text()
    assert old in code, old
    server.write_text(code.replace(old, new, 1))
    text = spec.read_text()
    with upstream() as (url, recorder):
        problems = check_package(out, result.package, yaml.safe_load(text), text, url, recorder)
    assert any(finding in p for p in problems), problems


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
