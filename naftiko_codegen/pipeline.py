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
    # what reuse.py needs to record the run: the spec's bytes, its source name, what it imported
    spec_bytes: bytes = b""
    source_name: str = ""
    imports: list[Path] = field(default_factory=list)
    reused: bool = False  # from an earlier run's manifest (reuse.py), not through the pipeline
    unchanged: bool = False  # reused, and the package on disk is exactly its output: files empty

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
        result.spec_bytes = raw
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
    result.imports = list(doc.imported)
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
        result.source_name = source_name(spec, root)
        capability = build(doc, source=result.source_name, warnings=result.diagnostics)
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


def reused(spec: Path, root: Path, out_dir: Path, strict: bool, *, write: bool) -> Result | None:
    """The result of an earlier full run of this unchanged spec (reuse.py), when the package on
    disk is exactly its output (`unchanged`, no files), or, with `write`, when the recorded
    bytes are available to write. None: the spec must go through the pipeline."""
    from . import reuse

    shown = display_path(spec)
    try:
        raw = read_spec(spec, shown)
    except Diagnosed:
        return None
    manifest = reuse.lookup(raw, shown, source_name(spec, root), strict, spec.parent)
    if manifest is None:
        return None
    result = Result(spec, shown=shown, source=raw.decode("utf-8", errors="replace"),
                    package=manifest.package, diagnostics=list(manifest.diagnostics), reused=True)
    if reuse.matches_disk(manifest, out_dir):
        result.unchanged = True
        return result
    if not write:
        return None  # --check shows a difference as the full pipeline computes it
    files = reuse.contents(manifest)
    if files is None:
        return None
    result.files = files
    return result


def remember(result: Result, strict: bool) -> None:
    """Record a successful full run for later reuse (reuse.py)."""
    from . import reuse

    if result.ok and not result.reused and result.files and result.source_name:
        reuse.record(result.spec_bytes, result.shown, result.source_name, strict, result.package,
                     result.files, result.imports, result.diagnostics, result.spec.parent)
