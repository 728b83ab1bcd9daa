"""The generator's identity (identity.py): memoised by stat data, and still exact. Every byte
of a module, template or schema, every file added or removed, and every library's metadata
must change it or be read again, as computing it from the bytes would."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from naftiko_codegen import cache, identity

# Longer than a tick of the kernel's file timestamps (at most 10 ms), far shorter than the
# default, so the tests need not wait 2 s before a memo may be stored.
RACY = 0.03


def _tick(folder: Path) -> float:
    """How far apart two writes must be for their ctimes to differ on `folder`'s filesystem."""
    probe = folder / "probe"
    probe.write_text("0")
    first = probe.stat().st_ctime_ns
    start = time.monotonic()
    while time.monotonic() - start < 1.5:
        probe.write_text("1")
        if probe.stat().st_ctime_ns != first:
            break
    probe.unlink()
    return time.monotonic() - start


@pytest.fixture(autouse=True)
def fine_timestamps(tmp_path: Path) -> None:
    if _tick(tmp_path) > RACY / 2:
        pytest.skip("this filesystem's timestamps are too coarse for the short window these tests use")


class Libraries:
    """A stand-in for importlib.metadata: one library whose version is read from a file."""

    def __init__(self, root: Path):
        self.meta = root / "lib-1.0.dist-info"
        self.meta.mkdir()
        (self.meta / "METADATA").write_text("Version: 1.0\n")
        self.calls = 0

    def __call__(self, libraries: object) -> tuple[dict[str, str], list[tuple[str, identity.Stamp]]]:
        self.calls += 1
        checks = [(str(p), identity._stamp(str(p))) for p in (self.meta, self.meta / "METADATA")]
        version = (self.meta / "METADATA").read_text().split(": ")[1].strip()
        return {"lib": version}, checks


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "gen"
    for rel, text in {
        "pkg/__init__.py": "VERSION = 1\n",
        "pkg/build.py": "def build():\n    return 'abc'\n",
        "pkg/schema/capability.schema.json": '{"type": "object"}\n',
        "templates/client.py.j2": "x = {{ cap.name | py }}\n",
        "pkg/__pycache__/build.cpython-311.py": "ignored\n",  # caches are not the generator
        "pkg/notes.txt": "ignored\n",  # nor other files
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def compute(tree: Path, libraries: Libraries) -> identity.Identity:
    return identity.compute([str(tree / "pkg"), str(tree / "templates")], ("lib",), libraries)


def from_bytes(tree: Path) -> str:
    folders = [str(tree / "pkg"), str(tree / "templates")]
    return identity.files_digest(identity.generator_files(folders))


def settle() -> None:
    time.sleep(RACY + 0.02)  # the files' stamps are now old enough to be memoised


def flip(path: Path, offset: int) -> None:
    """Change one byte in place, same size, and put the mtime back: only the ctime tells."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[offset] = data[offset] ^ 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_the_real_installation_memoised_is_what_the_bytes_give(cache_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(identity, "RACY_SECONDS", RACY)
    folders = identity.roots()
    files = identity.generator_files(folders)
    assert any(f.endswith(".j2") for f in files) and any(f.endswith(".schema.json") for f in files)
    assert any(f.endswith(os.path.join("naftiko_codegen", "identity.py")) for f in files)
    first = identity.compute(folders)
    assert list((cache_dir / "identity").glob("*.json")), "the memo was stored"
    second = identity.compute(folders)
    from importlib import metadata

    assert first == second
    assert second.files == identity.files_digest(files)
    assert second.versions == {name: metadata.version(name) for name in identity.LIBRARIES}


def test_a_memo_is_used_while_nothing_changes(tree: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(identity, "RACY_SECONDS", RACY)
    libraries = Libraries(tree)
    settle()
    first = compute(tree, libraries)
    assert compute(tree, libraries) == first
    assert libraries.calls == 1  # the second came from the memo
    assert first.files == from_bytes(tree)


@pytest.mark.parametrize("rel", ["pkg/__init__.py", "pkg/build.py", "pkg/schema/capability.schema.json",
                                 "templates/client.py.j2"])
def test_every_byte_of_a_module_template_or_schema_changes_it(
        tree: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, rel: str):
    monkeypatch.setattr(identity, "RACY_SECONDS", RACY)
    libraries = Libraries(tree)
    path = tree / rel
    seen = set()
    for offset in range(path.stat().st_size):
        settle()
        before = compute(tree, libraries)
        assert compute(tree, libraries) == before  # memoised
        flip(path, offset)
        after = compute(tree, libraries)
        assert after.files == from_bytes(tree) != before.files, f"byte {offset} of {rel}"
        seen.add(after.files)
        flip(path, offset)  # back to the original bytes, and the original digest
        assert compute(tree, libraries).files == from_bytes(tree) == before.files
    assert len(seen) == path.stat().st_size


def test_files_added_or_removed_change_it(tree: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(identity, "RACY_SECONDS", RACY)
    libraries = Libraries(tree)
    settle()
    first = compute(tree, libraries)
    (tree / "templates" / "rest.py.j2").write_text("")
    added = compute(tree, libraries)
    assert added.files != first.files and added.files == from_bytes(tree)
    (tree / "templates" / "rest.py.j2").unlink()
    (tree / "pkg" / "build.py").unlink()
    removed = compute(tree, libraries)
    assert removed.files == from_bytes(tree) not in (first.files, added.files)
    (tree / "pkg" / "__pycache__" / "other.py").write_text("")
    (tree / "pkg" / "other.txt").write_text("")
    assert compute(tree, libraries).files == removed.files  # neither is part of the generator


def test_a_library_upgraded_in_place_is_read_again(tree: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(identity, "RACY_SECONDS", RACY)
    libraries = Libraries(tree)
    settle()
    assert compute(tree, libraries).versions == {"lib": "1.0"}
    flip(libraries.meta / "METADATA", len("Version: 1."))  # 1.0 -> 1.1, same size and mtime
    assert compute(tree, libraries).versions == {"lib": "1.1"}
    assert libraries.calls == 2


def test_a_change_to_a_folder_of_sys_path_reads_the_versions_again(
        tree: Path, tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(identity, "RACY_SECONDS", RACY)
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    libraries = Libraries(tree)
    settle()
    compute(tree, libraries)
    compute(tree, libraries)
    assert libraries.calls == 1
    (site / "lib-2.0.dist-info").mkdir()  # a distribution found before the one read so far
    compute(tree, libraries)
    assert libraries.calls == 2


def test_fresh_stamps_are_not_memoised(tree: Path, cache_dir: Path):
    # with the default window, files written just now may still change within their stamp's tick
    libraries = Libraries(tree)
    compute(tree, libraries)
    compute(tree, libraries)
    assert libraries.calls == 2
    assert not (cache_dir / "identity").exists()


def test_without_a_cache_it_is_computed_every_time(tree: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NAFTIKO_GEN_CACHE", "off")
    monkeypatch.setattr(identity, "RACY_SECONDS", RACY)
    cache.folder.cache_clear()
    try:
        libraries = Libraries(tree)
        settle()
        assert compute(tree, libraries) == compute(tree, libraries)
        assert libraries.calls == 2
    finally:
        cache.folder.cache_clear()


def test_a_broken_memo_is_computed_again(tree: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(identity, "RACY_SECONDS", RACY)
    libraries = Libraries(tree)
    settle()
    first = compute(tree, libraries)
    for memo in (cache_dir / "identity").glob("*.json"):
        memo.write_text('{"versions": {"lib": "9"}')
    assert compute(tree, libraries) == first
    assert libraries.calls == 2
