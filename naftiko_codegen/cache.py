"""A content-addressed cache for the slow, pure steps of generation (formatting with black,
compiling templates). It never changes a byte of output: a hit returns exactly what the step
would compute, since the key covers the input and the versions of everything that shapes it.

Location: `$NAFTIKO_GEN_CACHE`, else `$XDG_CACHE_HOME/naftiko-gen`, else `~/.cache/naftiko-gen`.
`NAFTIKO_GEN_CACHE=off` disables it. A cache that cannot be written is simply not used.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import __version__


@functools.cache
def folder() -> Path | None:
    configured = os.environ.get("NAFTIKO_GEN_CACHE", "")
    if configured.lower() in ("off", "0", "false", "no"):
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "naftiko-gen"


@functools.cache
def _versions() -> str:
    from . import identity  # memoised by stat data: no importlib.metadata on most runs

    versions = identity.current().versions
    return ";".join([f"naftiko-gen={__version__}", *(f"{p}={versions[p]}" for p in ("black", "jinja2"))])


def _key(kind: str, text: str) -> str:
    return hashlib.sha256(f"{kind}\0{_versions()}\0{text}".encode()).hexdigest()


def cached_text(kind: str, text: str, compute: Callable[[str], str]) -> str:
    """`compute(text)`, remembered on disk under a key of `kind`, `text` and the versions."""
    root = folder()
    if root is None:
        return compute(text)
    key = _key(kind, text)
    path = root / kind / key[:2] / key
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    result = compute(text)
    try:
        write_atomic(path, result.encode("utf-8"))
    except OSError:
        pass
    return result


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename: readers never see a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)  # concurrent writers race harmlessly: same key, same content
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def bytecode_folder() -> Path | None:
    """Where compiled Jinja templates are kept (Jinja keys them by template source itself)."""
    root = folder()
    if root is None:
        return None
    path = root / "jinja" / hashlib.sha256(_versions().encode()).hexdigest()[:16]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path
