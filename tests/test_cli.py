"""The command line as users and CI run it: exit codes, messages, and nothing half-written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "track-batch.yaml"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "naftiko_codegen", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with the user's spec, as a user would lay it out."""
    (tmp_path / "specs").mkdir()
    shutil.copy(SPEC, tmp_path / "specs" / "track-batch.yaml")
    return tmp_path


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_generate_writes_the_package_and_reports_the_warnings(project: Path):
    result = run("specs/track-batch.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert sorted(tree(project / "generated")) == [
        "track_batch/README.md",
        "track_batch/__init__.py",
        "track_batch/__main__.py",
        "track_batch/_runtime.py",
        "track_batch/_transport.py",
        "track_batch/client.py",
        "track_batch/mcp_server.py",
        "track_batch/openapi.json",
        "track_batch/requirements.txt",
        "track_batch/rest.py",
    ]
    # the two credentials `binds` does not declare are warnings, with file:line:column
    assert "specs/track-batch.yaml:41:17: warning[W201]" in result.stderr
    assert "specs/track-batch.yaml:42:17: warning[W201]" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_passes_on_fresh_output_and_fails_with_a_diff_on_any_difference(project: Path):
    assert run("specs/track-batch.yaml", cwd=project).returncode == 0
    assert run("--check", "specs/track-batch.yaml", cwd=project).returncode == 0

    client = project / "generated" / "track_batch" / "client.py"
    client.write_text(client.read_text() + "# local edit\n")
    before = tree(project / "generated")
    result = run("specs/track-batch.yaml", "--check", cwd=project)
    assert result.returncode == 1
    assert "+++ b/track_batch/client.py" in result.stdout
    assert "-# local edit" in result.stdout
    assert tree(project / "generated") == before, "--check must write nothing"

    run("specs/track-batch.yaml", cwd=project)
    (project / "generated" / "track_batch" / "leftover.py").write_text("x = 1\n")
    result = run("--check", "specs/track-batch.yaml", cwd=project)
    assert result.returncode == 1
    assert "--- a/track_batch/leftover.py" in result.stdout


def test_a_package_whose_spec_is_gone_is_stale(project: Path):
    assert run("specs/track-batch.yaml", cwd=project).returncode == 0
    shutil.copy(SPEC, project / "specs" / "other.yaml")
    assert run("specs/other.yaml", cwd=project).returncode == 0
    (project / "specs" / "other.yaml").unlink()

    result = run("--check", "specs/track-batch.yaml", cwd=project)
    assert result.returncode == 1
    assert "--- a/other/__init__.py" in result.stdout

    assert run("specs/track-batch.yaml", cwd=project).returncode == 0
    assert not (project / "generated" / "other").exists()
    assert (project / "generated" / "track_batch").is_dir()


BAD_YAML = "naftiko: 1.0.0-alpha2\ncapability:\n  consumes: [\n"


@pytest.mark.parametrize(
    "content, location, code",
    [
        (BAD_YAML, "bad.yaml:4:1:", "error[E000]"),
        ("naftiko: 1.0.0-alpha2\nnaftiko: 1.0.0-alpha2\n", "bad.yaml:2:1:", "error[E003]"),
        (b"naftiko: \xff\n", "bad.yaml:1:10:", "error[E001]"),
    ],
)
def test_invalid_spec_exits_2_with_location_and_writes_nothing(project: Path, content, location, code):
    bad = project / "specs" / "bad.yaml"
    bad.write_bytes(content.encode() if isinstance(content, str) else content)
    # a valid spec in the same run is not written either: all or nothing
    result = run("specs/track-batch.yaml", "specs/bad.yaml", cwd=project)
    assert result.returncode == 2
    assert f"specs/{location} {code}" in result.stderr
    assert "nothing written" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "generated").exists()


def test_semantic_error_names_the_line_and_suggests_the_fix(project: Path):
    spec = project / "specs" / "track-batch.yaml"
    spec.write_text(spec.read_text().replace("call: track-batch.trackbatch", "call: track-batch.trackbach", 1))
    result = run("specs/track-batch.yaml", cwd=project)
    assert result.returncode == 2
    assert "specs/track-batch.yaml:57:15: error[E101]: `call: track-batch.trackbach` names no consumed operation" in result.stderr
    assert "did you mean `track-batch.trackbatch`?" in result.stderr
    assert not (project / "generated").exists()


def test_failed_run_leaves_existing_output_untouched(project: Path):
    assert run("specs/track-batch.yaml", cwd=project).returncode == 0
    before = tree(project / "generated")
    spec = project / "specs" / "track-batch.yaml"
    spec.write_text(spec.read_text().replace("method: POST", "method: FETCH", 1))
    result = run("specs/track-batch.yaml", cwd=project)
    assert result.returncode == 2
    assert tree(project / "generated") == before


@pytest.mark.parametrize(
    "args, message",
    [
        (("specs/missing.yaml",), "cannot read the file"),
        (("--no-such-option", "specs/track-batch.yaml"), "No such option"),
        (("generate",), "Missing argument"),
        (("specs/*.yml",), "no file matches"),
    ],
)
def test_bad_usage_and_unreadable_files_exit_3_without_traceback(project: Path, args, message):
    result = run(*args, cwd=project)
    assert result.returncode == 3
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "generated").exists()


def test_output_folder_that_is_not_ours_is_never_replaced(project: Path):
    mine = project / "generated" / "track_batch"
    mine.mkdir(parents=True)
    (mine / "handwritten.py").write_text("keep = True\n")
    result = run("specs/track-batch.yaml", cwd=project)
    assert result.returncode == 3
    assert "not generated by naftiko-gen" in result.stderr
    assert (mine / "handwritten.py").read_text() == "keep = True\n"


def test_validate_checks_without_writing(project: Path):
    result = run("validate", "specs/track-batch.yaml", cwd=project)
    assert result.returncode == 0
    assert "warning[W201]" in result.stderr
    assert not (project / "generated").exists()


def test_folders_globs_and_jobs_give_identical_output(project: Path):
    for name in ("a", "b", "c"):
        shutil.copy(SPEC, project / "specs" / f"{name}.yaml")
    serial = run("specs", "--out", "serial", cwd=project)
    parallel = run("specs/*.yaml", "--out", "parallel", "--jobs", "3", cwd=project)
    assert serial.returncode == parallel.returncode == 0, serial.stderr + parallel.stderr
    assert sorted(tree(project / "serial")) == sorted(tree(project / "parallel"))
    assert len({p.split("/")[0] for p in tree(project / "serial")}) == 4
    # the headers name the specs relative to the project, the same for both runs
    assert tree(project / "serial") == tree(project / "parallel")


def test_machine_readable_formats(project: Path):
    import json

    result = run("validate", "--format", "json", "specs/track-batch.yaml", cwd=project)
    data = json.loads(result.stdout)
    codes = sorted(d["code"] for d in data["diagnostics"])
    assert codes == ["W201", "W201", "W202"]
    assert data["diagnostics"][0]["path"] == "specs/track-batch.yaml"

    result = run("validate", "--format", "github", "specs/track-batch.yaml", cwd=project)
    assert "::warning file=specs/track-batch.yaml,line=41,col=17,title=naftiko-gen W201::" in result.stdout


def test_strict_turns_warnings_into_errors(project: Path):
    result = run("validate", "--strict", "specs/track-batch.yaml", cwd=project)
    assert result.returncode == 2
    assert "error[W201]" in result.stderr
    assert "error[S400]: official alpha2 schema" in result.stderr
