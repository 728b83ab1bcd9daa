"""The pipeline, end to end: load -> validate -> build -> emit, for one spec at a time.

Returns files and diagnostics; never prints, never writes. The CLI decides what to do with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .build import build
from .diagnostics import Diagnosed, Diagnostic, has_errors
from .emit import emit
from .load import Document, load_file
from .validate import validate


@dataclass
class Result:
    spec: Path
    package: str = ""
    files: dict[str, str] = field(default_factory=dict)  # relative to the package folder
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def check(spec: Path) -> tuple[Document | None, list[Diagnostic]]:
    """Load and validate; the document is None when it could not be loaded."""
    try:
        doc = load_file(spec)
    except Diagnosed as exc:
        return None, exc.diagnostics
    return doc, validate(doc)


def source_name(spec: Path, root: Path) -> str:
    """How generated files name their spec: relative to the project root (the output folder's
    parent), so the bytes do not depend on the working directory; else the file name."""
    try:
        return spec.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return spec.name


def generate(spec: Path, root: Path) -> Result:
    result = Result(spec)
    doc, result.diagnostics = check(spec)
    if doc is None or has_errors(result.diagnostics):
        return result
    try:
        capability = build(doc, source=source_name(spec, root))
    except Diagnosed as exc:
        result.diagnostics += exc.diagnostics
        return result
    result.package = capability.package
    prefix = capability.package + "/"
    result.files = {path.removeprefix(prefix): text for path, text in emit(capability).items()}
    return result
