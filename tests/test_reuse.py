"""Reusing earlier runs (reuse.py): `--check` and generation of unchanged specs skip the
pipeline, and must stay exact: any difference on disk or in an input is still found."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "track-batch.yaml"
IMPORTS_SPEC = """\
naftiko: 1.0.0-alpha2
info:
  label: Imports
  description: Imports a consumed API.
capability:
  consumes:
  - import: shared-api
    location: ./shared.yaml
  exposes:
  - type: mcp
    namespace: tools
    port: 9090
    description: Tools.
    tools:
    - name: list
      description: List things.
      call: shared-api.list
"""
SHARED = """\
naftiko: 1.0.0-alpha2
consumes:
- namespace: shared-api
  type: http
  baseUri: {base}
  resources:
  - name: things
    path: /things
    operations:
    - name: list
      method: GET
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project" / "specs").mkdir(parents=True)
    shutil.copy(SPEC, tmp_path / "project" / "specs" / "track-batch.yaml")
    return tmp_path / "project"


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NAFTIKO_GEN_CACHE": str(project.parent / "cache")}
    return subprocess.run([sys.executable, "-m", "naftiko_codegen", *args], cwd=project,
                          capture_output=True, text=True, timeout=120, check=False, env=env)


def tree(folder: Path) -> dict[str, bytes]:
    """Files below `folder`, without Python's caches (the committed package gets them when imported)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def manifests(project: Path) -> list[Path]:
    return [p for p in (project.parent / "cache" / "outputs").glob("*/*.json")]


def test_a_second_run_reuses_the_first_and_reproduces_its_bytes_and_warnings(project: Path):
    first = run(project, "specs/track-batch.yaml")
    assert first.returncode == 0, first.stderr
    assert len(manifests(project)) == 1
    generated = tree(project / "generated")
    # the committed package is the reference: generated here from the same relative path
    assert {f"track_batch/{k}": v for k, v in tree(ROOT / "generated" / "track_batch").items()} == generated

    check = run(project, "--check", "specs/track-batch.yaml")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stderr == first.stderr.replace("wrote generated/track_batch\n", "")  # same warnings

    # into an empty folder, from the recorded bytes
    shutil.rmtree(project / "generated")
    again = run(project, "specs/track-batch.yaml")
    assert again.returncode == 0, again.stderr
    assert tree(project / "generated") == generated
    assert again.stderr == first.stderr


@pytest.mark.parametrize("change", ["edit", "remove", "add"])
def test_check_still_reports_any_difference_on_disk(project: Path, change: str):
    assert run(project, "specs/track-batch.yaml").returncode == 0
    assert run(project, "--check", "specs/track-batch.yaml").returncode == 0  # reused
    package = project / "generated" / "track_batch"
    client = package / "client.py"
    if change == "edit":
        client.write_bytes(client.read_bytes().replace(b"timeout", b"timeOut", 1))
    elif change == "remove":
        client.unlink()
    else:
        (package / "extra.py").write_text("x = 1\n")
    before = tree(project / "generated")
    result = run(project, "--check", "specs/track-batch.yaml")
    assert tree(project / "generated") == before, "--check must write nothing"
    assert result.returncode == 1
    name = "extra.py" if change == "add" else "client.py"
    assert f"track_batch/{name}" in result.stdout
    # and a normal run repairs it
    assert run(project, "specs/track-batch.yaml").returncode == 0
    assert run(project, "--check", "specs/track-batch.yaml").returncode == 0


def test_a_changed_spec_or_option_is_not_reused(project: Path):
    assert run(project, "specs/track-batch.yaml").returncode == 0
    spec = project / "specs" / "track-batch.yaml"
    spec.write_text(spec.read_text().replace("Batch entity operations", "Batch operations", 1))
    result = run(project, "--check", "specs/track-batch.yaml")
    assert result.returncode == 1
    assert "Batch operations" in result.stdout
    # --strict turns the warnings into errors: never answered from a non-strict run
    assert run(project, "specs/track-batch.yaml").returncode == 0
    strict = run(project, "--strict", "specs/track-batch.yaml")
    assert strict.returncode == 2
    assert "error[W201]" in strict.stderr


def test_a_changed_import_is_not_reused(project: Path):
    specs = project / "specs"
    (specs / "imports.yaml").write_text(IMPORTS_SPEC)
    (specs / "shared.yaml").write_text(SHARED.format(base="https://api.example.com"))
    assert run(project, "specs/imports.yaml").returncode == 0
    assert run(project, "--check", "specs/imports.yaml").returncode == 0
    (specs / "shared.yaml").write_text(SHARED.format(base="https://other.example.com"))
    result = run(project, "--check", "specs/imports.yaml")
    assert result.returncode == 1
    assert "https://other.example.com" in result.stdout


def test_the_same_spec_in_another_folder_imports_that_folders_files(tmp_path: Path):
    # A copy of a project whose imported file differs (another upstream) must not be given the
    # first project's package: imports are checked where this spec finds them.
    outputs = {}
    for name, base in (("one", "https://one.example.com"), ("two", "https://two.example.com")):
        project = tmp_path / name
        (project / "specs").mkdir(parents=True)
        (project / "specs" / "imports.yaml").write_text(IMPORTS_SPEC)
        (project / "specs" / "shared.yaml").write_text(SHARED.format(base=base))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NAFTIKO_GEN_CACHE": str(tmp_path / "cache")}
        result = subprocess.run([sys.executable, "-m", "naftiko_codegen", "specs/imports.yaml"], cwd=project,
                                capture_output=True, text=True, timeout=120, check=False, env=env)
        assert result.returncode == 0, result.stderr
        outputs[name] = tree(project / "generated")
    client = next(k for k in outputs["two"] if k.endswith("/client.py"))
    assert b"https://two.example.com" in outputs["two"][client]
    assert b"https://one.example.com" not in outputs["two"][client]


def test_a_stale_package_is_still_found_when_the_others_are_reused(project: Path):
    assert run(project, "specs/track-batch.yaml").returncode == 0
    shutil.copy(SPEC, project / "specs" / "other.yaml")
    assert run(project, "specs/other.yaml").returncode == 0
    (project / "specs" / "other.yaml").unlink()
    result = run(project, "--check", "specs/track-batch.yaml")
    assert result.returncode == 1
    assert "--- a/other/__init__.py" in result.stdout
    assert run(project, "specs/track-batch.yaml").returncode == 0
    assert not (project / "generated" / "other").exists()


@pytest.mark.parametrize("switch", [{"NAFTIKO_GEN_CACHE": "off"}, {"NAFTIKO_GEN_REUSE": "off"}])
def test_with_reuse_off_nothing_is_recorded_and_nothing_breaks(project: Path, switch: dict[str, str]):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NAFTIKO_GEN_CACHE": str(project.parent / "cache"), **switch}
    for args in (["specs/track-batch.yaml"], ["--check", "specs/track-batch.yaml"]):
        result = subprocess.run([sys.executable, "-m", "naftiko_codegen", *args], cwd=project,
                                capture_output=True, text=True, timeout=120, check=False, env=env)
        assert result.returncode == 0, result.stderr
    assert not (project.parent / "cache" / "outputs").exists()


def test_a_change_to_the_generator_is_not_reused(tmp_path: Path, project: Path):
    """A copy of the generator, run until its identity is memoised (identity.py), then one byte
    of a template changed in place with its mtime put back: the earlier output is not reused."""
    from naftiko_codegen import identity

    gen = tmp_path / "gen"
    shutil.copytree(ROOT / "naftiko_codegen", gen / "naftiko_codegen",
                    ignore=shutil.ignore_patterns("__pycache__", "templates"))
    shutil.copytree(ROOT / "templates", gen / "naftiko_codegen" / "templates",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (gen / "run.py").write_text("from naftiko_codegen.cli import main\nmain()\n")
    env = {**os.environ, "NAFTIKO_GEN_CACHE": str(tmp_path / "cache")}

    def gen_run(*args: str) -> subprocess.CompletedProcess[str]:
        # a script beside the copy: sys.path[0] is its folder, which the runs leave alone
        return subprocess.run([sys.executable, str(gen / "run.py"), *args], cwd=project, capture_output=True,
                              text=True, timeout=120, check=False, env=env)

    assert gen_run("specs/track-batch.yaml").returncode == 0
    time.sleep(identity.RACY_SECONDS + 0.1)  # the copy's stamps may now be memoised
    assert gen_run("--check", "specs/track-batch.yaml").returncode == 0  # reused, memo stored
    assert list((tmp_path / "cache" / "identity").glob("*.json"))
    assert gen_run("--check", "specs/track-batch.yaml").returncode == 0  # reused, through the memo

    template = gen / "naftiko_codegen" / "templates" / "README.md.j2"
    before = template.stat()
    template.write_bytes(template.read_bytes().replace(b"Do not edit:", b"Do not edit;", 1))
    os.utime(template, ns=(before.st_atime_ns, before.st_mtime_ns))
    result = gen_run("--check", "specs/track-batch.yaml")
    assert result.returncode == 1, result.stderr
    assert "-Generated by naftiko-gen" in result.stdout and "Do not edit;" in result.stdout
