"""The generated package is lint clean and type checks strictly, as a vendored package must."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(p.name for p in (ROOT / "generated").iterdir() if (p / "__init__.py").is_file())


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install the project with its test extras")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_ruff_is_clean(package: str, tmp_path: Path):
    result = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "--isolated", "--select", "E,F,W,I,B,UP,PYI",
         "--line-length", "100", str(ROOT / "generated" / package)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("package", PACKAGES)
def test_mypy_strict_is_clean(package: str, tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         "-p", package],
        cwd=ROOT / "generated", capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generator_type_checks(tmp_path: Path):
    """The generator itself type checks too (default mypy rules, with the stubs of its
    dependencies), so that a change to one stage cannot silently break the contract of another."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "naftiko_codegen"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
