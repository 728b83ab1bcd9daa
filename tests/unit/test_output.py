"""Stage 6: comparing generated packages with the disk, and writing them atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from naftiko_codegen import output
from naftiko_codegen.output import Change, changes, owned_source, stale_packages, write


def init_text(source: str) -> str:
    return (
        f"{output.HEADER} 0.1.0. DO NOT EDIT.\n"
        f"# source: {source}\n"
        "# source sha256: 0000\n"
        '"""Demo."""\n'
    )


def package(source: str = "specs/demo.yaml", value: int = 1) -> dict[str, str]:
    return {
        "__init__.py": init_text(source),
        "mod.py": f"x = {value}\n",
        "sub/data.txt": "ünïcode\n",
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root whose specs exist; generated packages go to `generated/`."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "demo.yaml").write_text("naftiko: 1.0.0-alpha2\n", encoding="utf-8")
    (tmp_path / "specs" / "other.yaml").write_text("naftiko: 1.0.0-alpha2\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def out(project: Path) -> Path:
    return project / "generated"


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every file and folder below `folder`, and of the folder itself."""
    entries = {".": folder.stat()}
    for path in folder.rglob("*"):
        entries[path.relative_to(folder).as_posix()] = path.stat()
    return {k: (s.st_ino, s.st_mtime_ns) for k, s in entries.items()}


def files_on_disk(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text("utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def no_temporary_folders(out: Path) -> bool:
    return not [p.name for p in out.iterdir() if p.name.startswith(".")]


# --- writing --------------------------------------------------------------------------------


def test_write_creates_the_package(out: Path):
    assert changes(out, {"demo": package()}) == [
        Change("demo/__init__.py", None, init_text("specs/demo.yaml")),
        Change("demo/mod.py", None, "x = 1\n"),
        Change("demo/sub/data.txt", None, "ünïcode\n"),
    ]
    assert write(out, {"demo": package()}) == ["demo"]
    assert files_on_disk(out / "demo") == package()
    assert (out / "demo" / "sub" / "data.txt").read_bytes() == "ünïcode\n".encode()
    assert changes(out, {"demo": package()}) == []
    assert owned_source(out / "demo") == "specs/demo.yaml"
    assert no_temporary_folders(out)


def test_rewriting_identical_content_touches_nothing(out: Path):
    write(out, {"demo": package()})
    before = snapshot(out / "demo")
    assert write(out, {"demo": package()}) == []
    assert snapshot(out / "demo") == before
    assert no_temporary_folders(out)


def test_changed_file_is_reported_with_a_unified_diff(out: Path):
    write(out, {"demo": package(value=1)})
    found = changes(out, {"demo": package(value=2)})
    assert found == [Change("demo/mod.py", "x = 1\n", "x = 2\n")]
    diff = found[0].diff()
    assert diff.splitlines() == [
        "--- a/demo/mod.py",
        "+++ b/demo/mod.py",
        "@@ -1 +1 @@",
        "-x = 1",
        "+x = 2",
    ]


def test_write_replaces_a_changed_package(out: Path):
    write(out, {"demo": package(value=1)})
    assert write(out, {"demo": package(value=2)}) == ["demo"]
    assert files_on_disk(out / "demo") == package(value=2)
    assert no_temporary_folders(out)


def test_diff_of_a_new_and_of_a_removed_file():
    added = Change("p/new.py", None, "a\n").diff()
    assert added.splitlines()[:2] == ["--- /dev/null", "+++ b/p/new.py"]
    removed = Change("p/old.py", "a\n", None).diff()
    assert removed.splitlines()[:2] == ["--- a/p/old.py", "+++ /dev/null"]


def test_diff_marks_a_missing_final_newline():
    diff = Change("p/m.py", "a\n", "a").diff()
    assert "\\ No newline at end of file" in diff


def test_extra_file_in_a_generated_package_is_stale(out: Path):
    write(out, {"demo": package()})
    (out / "demo" / "leftover.py").write_text("old = True\n", encoding="utf-8")
    assert changes(out, {"demo": package()}) == [Change("demo/leftover.py", "old = True\n", None)]
    assert write(out, {"demo": package()}) == ["demo"]
    assert not (out / "demo" / "leftover.py").exists()


def test_caches_inside_a_package_are_not_differences(out: Path):
    write(out, {"demo": package()})
    (out / "demo" / "__pycache__").mkdir()
    (out / "demo" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\x00\xff")
    (out / "demo" / ".mypy_cache").mkdir()
    (out / "demo" / ".mypy_cache" / "x.json").write_text("{}", encoding="utf-8")
    assert changes(out, {"demo": package()}) == []
    assert write(out, {"demo": package()}) == []


def test_file_that_is_not_utf8_differs(out: Path):
    write(out, {"demo": package()})
    (out / "demo" / "mod.py").write_bytes(b"\xff\xfe")
    assert changes(out, {"demo": package()}) == [Change("demo/mod.py", "", "x = 1\n")]


# --- stale packages -------------------------------------------------------------------------


def test_package_whose_spec_is_gone_is_reported_and_removed(project: Path, out: Path):
    write(out, {"demo": package(), "gone": package(source="specs/gone.yaml")})
    found = changes(out, {"demo": package()})
    assert [(c.path, c.new) for c in found] == [
        ("gone/__init__.py", None),
        ("gone/mod.py", None),
        ("gone/sub/data.txt", None),
    ]
    assert found[1].old == "x = 1\n"
    assert stale_packages(out, {"demo"}) == ["gone"]
    assert write(out, {"demo": package()}) == ["gone"]
    assert not (out / "gone").exists()
    assert (out / "demo").is_dir()
    assert no_temporary_folders(out)


def test_package_of_another_existing_spec_is_not_stale(out: Path):
    write(out, {"demo": package(), "other": package(source="specs/other.yaml")})
    assert changes(out, {"demo": package()}) == []
    assert write(out, {"demo": package()}) == []
    assert (out / "other").is_dir()


def test_source_is_relative_to_the_output_folders_parent(project: Path, out: Path, monkeypatch):
    write(out, {"demo": package(), "other": package(source="specs/other.yaml")})
    monkeypatch.chdir(project / "specs")  # the working directory does not matter
    assert stale_packages(out, {"demo"}) == []


def test_generated_package_without_a_source_line_is_stale(out: Path):
    write(out, {"demo": package()})
    anonymous = out / "anonymous"
    anonymous.mkdir()
    (anonymous / "__init__.py").write_text(f"{output.HEADER} 0.1.0\n\n", encoding="utf-8")
    assert stale_packages(out, {"demo"}) == ["anonymous"]


def test_folders_not_generated_are_never_stale(out: Path):
    write(out, {"demo": package()})
    mine = out / "mine"
    mine.mkdir()
    (mine / "__init__.py").write_text("# my own code\n", encoding="utf-8")
    (out / "notes").mkdir()
    (out / "README.md").write_text("hello\n", encoding="utf-8")
    assert changes(out, {"demo": package()}) == []
    assert write(out, {"demo": package()}) == []
    assert (mine / "__init__.py").read_text("utf-8") == "# my own code\n"
    assert (out / "notes").is_dir() and (out / "README.md").is_file()


# --- refusals -------------------------------------------------------------------------------


def test_folder_not_generated_is_never_replaced(out: Path):
    target = out / "demo"
    target.mkdir(parents=True)
    (target / "__init__.py").write_text("# hand-written\n", encoding="utf-8")
    (target / "keep.py").write_text("keep = 1\n", encoding="utf-8")
    with pytest.raises(FileExistsError):
        write(out, {"demo": package()})
    assert files_on_disk(target) == {"__init__.py": "# hand-written\n", "keep.py": "keep = 1\n"}
    assert no_temporary_folders(out)


def test_folder_without_init_is_never_replaced(out: Path):
    target = out / "demo"
    target.mkdir(parents=True)
    (target / "data.csv").write_text("a,b\n", encoding="utf-8")
    with pytest.raises(FileExistsError):
        write(out, {"demo": package()})
    assert (target / "data.csv").read_text("utf-8") == "a,b\n"


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../escape", "/abs"])
def test_package_names_that_leave_the_folder_are_refused(out: Path, name: str):
    with pytest.raises(ValueError):
        write(out, {name: package()})
    assert not (out.parent / "escape").exists()
    assert not Path("/abs").exists()
    assert [p.name for p in out.iterdir()] == []


def test_file_paths_that_leave_the_package_are_refused_and_cleaned_up(out: Path):
    bad = {**package(), "../evil.py": "x = 1\n"}
    with pytest.raises(ValueError):
        write(out, {"demo": bad})
    assert not (out / "evil.py").exists()
    assert not (out / "demo").exists()
    assert no_temporary_folders(out)


def test_write_creates_the_output_folder(tmp_path: Path):
    out = tmp_path / "deep" / "generated"
    assert changes(out, {"demo": package()})  # nothing on disk yet: everything is new
    write(out, {"demo": package()})
    assert files_on_disk(out / "demo") == package()


def test_write_leaves_no_temporary_folders_over_several_runs(out: Path):
    for value in (1, 2, 2, 3):
        write(out, {"demo": package(value=value), "other": package(source="specs/other.yaml")})
    assert sorted(p.name for p in out.iterdir()) == ["demo", "other"]
    assert sorted(os.listdir(out / "demo")) == ["__init__.py", "mod.py", "sub"]
    assert files_on_disk(out / "demo") == package(value=3)
