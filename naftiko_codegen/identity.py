"""What the generator is, for the cache keys: the versions of the libraries that shape its
output, and a digest of its own files (modules, templates, schemas).

Both are pure functions of files, and computing them cost a run more than anything else before
the pipeline starts: importing importlib.metadata and reading six distributions' metadata (20 to
30 ms), and reading and hashing about 730 KB of generator files (5 to 10 ms). So they are
computed once and memoised in the cache folder, under a key of the stat data (device, inode, size, mtime and ctime in nanoseconds) of every file and
folder they are read from:

- every generator file, found by walking the package's and the templates' folders (a file added
  or removed changes the list, so the key), each stat'd before it is read;
- the interpreter (its version, executable and `sys.path`) and every folder of `sys.path`:
  importlib.metadata finds a distribution by listing these folders, and installing, removing or
  upgrading one adds, removes or renames an entry, which changes the folder's mtime (the same
  signal importlib.metadata's own listing cache trusts);
- the metadata folder and file each version was read from, recorded in the memo and stat'd again
  on every use.

Writing to a file sets its ctime to the current time, which no program can set back (`utime`
sets only the mtime), so a change to any byte changes the key (on POSIX systems: on Windows,
where st_ctime is the creation time, nothing is memoised). A memo is only stored when every
stamp in it is older than `RACY_SECONDS`: on a filesystem with coarse timestamps, a second write
within the same tick as the one that was read would otherwise keep its stamp (git's "racily
clean" rule). Anything unexpected (no cache, an unreadable or malformed memo, a distribution
that is not a plain folder) means computing from the bytes, as before.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import cache

# Libraries whose version can change the output or the diagnostics.
LIBRARIES = ("black", "jinja2", "pyyaml", "jsonschema", "referencing", "jsonschema-specifications")
SUFFIXES = (".py", ".j2", ".json")
_IGNORED_DIRS = {"__pycache__"}
RACY_SECONDS = 2.0  # above the coarsest timestamp granularity in use (FAT: 2 s)
_MEMO_FORMAT = 1

Stamp = list[int] | None


@dataclass(frozen=True)
class Identity:
    versions: dict[str, str]  # library -> version ("?" when not installed)
    files: str  # sha256 over the generator files' names and bytes, in path order


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def roots() -> list[str]:
    """The folders the generator reads its own files from: the package, and the templates
    (a package of their own, mapped to another folder in an editable install)."""
    import importlib.util  # not importlib.resources: that costs a reused run about 10 ms

    here = os.path.dirname(os.path.realpath(__file__))
    spec = importlib.util.find_spec("naftiko_codegen.templates")
    templates = list(spec.submodule_search_locations or []) if spec else []
    return [here, *(os.path.realpath(t) for t in templates)]


def generator_files(folders: Sequence[str]) -> list[str]:
    """Every module, template and schema below `folders`, sorted, caches excluded."""
    found: set[str] = set()
    for root in folders:
        for dirpath, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in _IGNORED_DIRS and not d.startswith("."))
            # the roots are real paths already: no per-file realpath, which costs a stat per component
            found.update(os.path.join(dirpath, n) for n in names if n.endswith(SUFFIXES))
    return sorted(found)


def files_digest(files: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for path in files:
        with open(path, "rb") as handle:
            data = handle.read()
        digest.update(os.path.basename(path).encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def library_versions(libraries: Sequence[str] = LIBRARIES) -> tuple[dict[str, str], list[tuple[str, Stamp]] | None]:
    """The installed version of each library, and the stamp of each metadata folder and file
    they were read from, taken before reading (None when a distribution is not a plain folder:
    then the result cannot be checked by stat, and is not memoised)."""
    from importlib import metadata

    versions: dict[str, str] = {}
    checks: list[tuple[str, Stamp]] | None = []
    for name in libraries:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            versions[name] = "?"
            continue
        where = getattr(dist, "_path", None)  # a PathDistribution: its .dist-info / .egg-info
        if checks is not None and where is not None and os.path.isdir(str(where)):
            for path in (str(where), *(os.path.join(str(where), f) for f in ("METADATA", "PKG-INFO"))):
                checks.append((path, _stamp(path)))
        else:
            checks = None
        versions[name] = dist.version  # read after the stamps: a later write changes them
    return versions, checks


def _key(folders: Sequence[str], files: Sequence[str], libraries: Sequence[str]) -> tuple[str, list[Stamp]]:
    stamps = [_stamp(p) for p in files]
    search = [_stamp(entry or ".") for entry in sys.path]
    head = [_MEMO_FORMAT, sys.version, sys.executable, sys.path, list(libraries), list(folders), list(files)]
    text = json.dumps([head, stamps, search], default=str)
    return hashlib.sha256(text.encode()).hexdigest(), stamps + search


def _fresh(stamps: Sequence[Stamp], now_ns: int) -> bool:
    limit = now_ns - int(RACY_SECONDS * 1e9)
    return any(s is not None and max(s[3], s[4]) >= limit for s in stamps)


def compute(folders: Sequence[str], libraries: Sequence[str] = LIBRARIES,
            versions_of: Callable[..., tuple[dict[str, str], list[tuple[str, Stamp]] | None]] = library_versions
            ) -> Identity:
    """The identity of the generator in `folders`, memoised by stat data (see the module)."""
    files = generator_files(folders)
    key, stamps = _key(folders, files, libraries)  # stat before reading: a later write changes the key
    root = cache.folder()
    # On Windows st_ctime is the creation time, which a write does not move: no memo there.
    entry = None if root is None or os.name == "nt" else root / "identity" / f"{key}.json"
    if entry is not None:
        try:
            memo = json.loads(entry.read_bytes())
            if all(_stamp(path) == stamp for path, stamp in memo["checks"]):  # the versions' sources
                return Identity(dict(memo["versions"]), str(memo["files"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    versions, checks = versions_of(libraries)
    identity = Identity(versions, files_digest(files))
    if entry is None or checks is None or _fresh(stamps + [c[1] for c in checks], time.time_ns()):
        return identity
    try:
        cache.write_atomic(entry, json.dumps(
            {"versions": identity.versions, "files": identity.files, "checks": checks}).encode())
    except OSError:
        pass
    return identity


@functools.cache
def current() -> Identity:
    """The identity of this installation of the generator."""
    return compute(roots())
