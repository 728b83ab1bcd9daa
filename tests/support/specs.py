"""Run the generator's stages on a spec written inline in a test: one place for the steps
that unit tests of the build, the dialect and the collisions all take."""

from __future__ import annotations

from pathlib import Path

from naftiko_codegen.build import build
from naftiko_codegen.diagnostics import Diagnostic
from naftiko_codegen.load import load_file
from naftiko_codegen.model import Capability
from naftiko_codegen.pipeline import check
from naftiko_codegen.validate import validate


def write_spec(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(tmp_path: Path, text: str) -> tuple[Capability | None, list[Diagnostic]]:
    """The whole pipeline up to the model: the capability (None when the spec is refused) and
    every diagnostic, warnings included."""
    doc, result = check(write_spec(tmp_path, text))
    if doc is None or not result.ok:
        return None, result.diagnostics
    return build(doc, warnings=result.diagnostics), result.diagnostics


def built_valid(tmp_path: Path, text: str) -> Capability:
    """The model of a spec that must validate without errors."""
    doc = load_file(write_spec(tmp_path, text))
    errors = [d for d in validate(doc) if d.is_error]
    assert not errors, errors
    return build(doc)
