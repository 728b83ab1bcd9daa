"""The pipeline, end to end: load -> validate -> build -> emit, for one spec at a time.

Returns files and diagnostics; never prints, never writes. The CLI decides what to do with them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnosed, Diagnostic, Severity, has_errors
from .load import Document, display_path, load_bytes, read_spec

SCHEMA_CODES = frozenset({"E100", "E110", "E111", "E112", "E113"})


@dataclass
class Result:
    spec: Path
    shown: str = ""  # the spec's path as diagnostics show it
    source: str = ""  # its text, for showing the offending lines
    package: str = ""
    files: dict[str, str] = field(default_factory=dict)  # relative to the package folder
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def unreadable(self) -> bool:
        """The file could not be read at all: an I/O problem rather than an invalid spec."""
        return any(d.code == "E008" for d in self.diagnostics)


def check(spec: Path, *, strict: bool = False) -> tuple[Document | None, Result]:
    """Load and validate. With `strict`, warnings count as errors and the official schema's
    rules apply too."""
    from .validate import validate  # jsonschema is only imported when a spec is checked

    result = Result(spec, shown=display_path(spec))
    try:
        raw = read_spec(spec, result.shown)
        result.source = raw.decode("utf-8", errors="replace")
        doc = load_bytes(result.shown, raw)
    except Diagnosed as exc:
        result.diagnostics = exc.diagnostics
        return None, result
    from .dialect import normalise
    from .imports import resolve_imports

    result.diagnostics = resolve_imports(doc, spec)
    result.diagnostics += normalise(doc)
    result.diagnostics += validate(doc, strict=strict)
    if strict:
        result.diagnostics = [d.as_error() if d.severity is Severity.WARNING else d for d in result.diagnostics]
    return doc, result


def source_name(spec: Path, root: Path) -> str:
    """How generated files name their spec: relative to the project root (the output folder's
    parent), so the bytes do not depend on the working directory; else the file name."""
    try:
        return spec.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return spec.name


def generate(spec: Path, root: Path, strict: bool = False) -> Result:
    from .build import build
    from .emit import emit

    doc, result = check(spec, strict=strict)
    if doc is None or any(d.code in SCHEMA_CODES or d.code in ("E130", "E131") for d in result.diagnostics):
        return result  # the document's shape is wrong: building it would only add noise
    try:
        capability = build(doc, source=source_name(spec, root), warnings=result.diagnostics)
        if not result.ok:
            return result  # semantic errors: built only to report what else is wrong in one run
        files = emit(capability)
    except Diagnosed as exc:
        result.diagnostics = sorted(set(result.diagnostics + exc.diagnostics))
        return result
    except Exception as exc:  # a generator bug: reported against this spec, the others go on
        if os.environ.get("NAFTIKO_GEN_DEBUG"):
            raise
        result.diagnostics.append(
            Diagnostic(result.shown, 1, 1, Severity.ERROR, "E900",
                       f"internal error in naftiko-gen ({type(exc).__name__}: {exc})",
                       "please report it with this spec; NAFTIKO_GEN_DEBUG=1 shows the details")
        )
        return result
    result.package = capability.package
    prefix = capability.package + "/"
    result.files = {path.removeprefix(prefix): text for path, text in files.items()}
    return result
