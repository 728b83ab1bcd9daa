"""Reusing earlier runs: `--check`, and generation, of a spec that has not changed skip loading,
validating, building, rendering and formatting, and stay exact.

After a spec is generated (or checked) in full, the cache records an *output manifest* under a
key of everything that shapes the output: a fingerprint of the generator itself (its modules,
templates and schema, and the versions of the libraries that shape the bytes; identity.py, which
memoises them by file stat data), the spec's bytes,
the names it is shown and generated under, and the options. The manifest lists the package, the
sha256 of every file written, the files the spec imported (with their sha256) and the
diagnostics; the files' bytes are kept beside it, by sha256.

A later run computes the key, verifies the imported files' hashes, and compares the package on
disk file by file (names and sha256). When anything disagrees (a file edited by hand, added or
missing, an import changed, no manifest), that spec goes through the full pipeline, which
produces the usual diff. Generation into a folder that lacks the package writes the recorded
bytes after checking their hashes.

Exactness rests on the key and the recorded imports covering every input: any file the pipeline
reads besides the spec must be appended to `Document.imported` (imports.py does), or a change to
it would go unseen.

`NAFTIKO_GEN_REUSE=off` turns this off (the formatting cache stays on); `NAFTIKO_GEN_CACHE=off`
turns off both. Manifests live in the cache folder (cache.py), not in the packages: to be exact a manifest
must name the generator's fingerprint, which changes with every change to the generator, and
would make every committed package change even when its output does not.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .diagnostics import Diagnostic, Severity

FORMAT = 1  # of a manifest; part of the key
_IGNORED_DIRS = {"__pycache__"}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def fingerprint() -> str:
    """What the generator is: its own files' bytes and the versions of what it uses
    (identity.py, which memoises them by stat data)."""
    from . import identity

    current = identity.current()
    digest = hashlib.sha256(f"reuse={FORMAT}\0{sys.version_info[:2]}\0".encode())
    for package in identity.LIBRARIES:
        digest.update(f"{package}={current.versions[package]}\0".encode())
    digest.update(f"files={current.files}\0".encode())
    return digest.hexdigest()


def _key(spec_bytes: bytes, shown: str, source: str, strict: bool) -> str:
    head = json.dumps([fingerprint(), shown, source, strict]).encode()
    return _sha256(head + b"\0" + spec_bytes)


def _folder() -> Path | None:
    """Where manifests live; None when reuse is off (`NAFTIKO_GEN_REUSE=off`, or no cache): then
    every run goes through the whole pipeline."""
    if os.environ.get("NAFTIKO_GEN_REUSE", "").lower() in ("off", "0", "false", "no"):
        return None
    root = cache.folder()
    return None if root is None else root / "outputs"


@dataclass(frozen=True)
class Manifest:
    package: str
    files: dict[str, str]  # relative path in the package -> sha256
    imports: dict[str, str]  # path relative to the spec's folder -> sha256
    diagnostics: tuple[Diagnostic, ...]


def _entry_path(key: str) -> Path | None:
    folder = _folder()
    return None if folder is None else folder / key[:2] / f"{key}.json"


def _blob_path(sha: str) -> Path | None:
    folder = _folder()
    return None if folder is None else folder / "blobs" / sha[:2] / sha


def record(spec_bytes: bytes, shown: str, source: str, strict: bool, package: str,
           files: dict[str, str], imports: list[Path], diagnostics: list[Diagnostic], spec_dir: Path) -> None:
    """Remember what a full run produced for this spec. A cache that cannot be written is not used."""
    entry = _entry_path(_key(spec_bytes, shown, source, strict))
    if entry is None:
        return
    try:
        hashes = {}
        for rel, text in sorted(files.items()):
            data = text.encode("utf-8")
            sha = hashes[rel] = _sha256(data)
            blob = _blob_path(sha)
            if blob is not None and not blob.exists():
                cache.write_atomic(blob, data)
        manifest = {
            "package": package,
            "files": hashes,
            # relative to the spec: the same spec bytes in another folder import that folder's files
            "imports": {p.resolve().relative_to(spec_dir.resolve()).as_posix(): _sha256(p.read_bytes())
                        for p in sorted(set(imports))},
            "diagnostics": [[d.path, d.line, d.column, d.severity.value, d.code, d.message, d.hint]
                            for d in diagnostics],
        }
        cache.write_atomic(entry, json.dumps(manifest, sort_keys=True).encode())
    except (OSError, ValueError):  # ValueError: an import outside the spec's folder, never recorded
        pass


def lookup(spec_bytes: bytes, shown: str, source: str, strict: bool, spec_dir: Path) -> Manifest | None:
    """The manifest of an earlier full run with the same key whose imports are unchanged."""
    entry = _entry_path(_key(spec_bytes, shown, source, strict))
    if entry is None:
        return None
    try:
        data = json.loads(entry.read_bytes())
        for path, sha in data["imports"].items():
            if _sha256((spec_dir / path).read_bytes()) != sha:
                return None
        diagnostics = tuple(Diagnostic(p, line, col, Severity(sev), code, msg, hint)
                            for p, line, col, sev, code, msg, hint in data["diagnostics"])
        return Manifest(str(data["package"]), dict(data["files"]), dict(data["imports"]), diagnostics)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def on_disk(package_dir: Path) -> dict[str, str] | None:
    """sha256 of every file of a package on disk (caches excluded, as output.py does), or
    None if a file cannot be read."""
    found: dict[str, str] = {}
    if not package_dir.is_dir():
        return found
    try:
        for root, dirs, names in os.walk(package_dir):
            dirs[:] = sorted(d for d in dirs if d not in _IGNORED_DIRS and not d.startswith("."))
            for name in names:
                full = Path(root, name)
                found[full.relative_to(package_dir).as_posix()] = _sha256(full.read_bytes())
    except OSError:
        return None
    return found


def matches_disk(manifest: Manifest, out_dir: Path) -> bool:
    """The package on disk is exactly the recorded output: same files, same bytes."""
    return on_disk(out_dir / manifest.package) == manifest.files


def contents(manifest: Manifest) -> dict[str, str] | None:
    """The recorded files' text, each checked against its sha256; None if any is missing."""
    files = {}
    for rel, sha in manifest.files.items():
        blob = _blob_path(sha)
        try:
            data = blob.read_bytes() if blob is not None else None
        except OSError:
            return None
        if data is None or _sha256(data) != sha:
            return None
        files[rel] = data.decode("utf-8")
    return files
