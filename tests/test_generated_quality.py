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


def test_control_port_packages_are_clean(tmp_path: Path):
    # packages with a control port, not committed: REST, MCP, a guarded port with B3 context
    # and sampling; and a capability whose only adapter is the control port, unobserved
    from naftiko_codegen import output
    from naftiko_codegen.pipeline import generate

    observed = (ROOT / "tests" / "data" / "control" / "observed.yaml").read_text("utf-8")
    specs = {
        "guarded.yaml": observed.replace(
            "      port: 9191\n",
            "      port: 9191\n      authentication:\n        type: basic\n"
            "        username: ops\n        password: '{{CONTROL_PASSWORD}}'\n",
        ).replace("          local:\n", "          sampling: 0.5\n          propagation: b3\n          local:\n"),
        "bare.yaml": "naftiko: 1.0.0-alpha2\ninfo: {label: Bare, description: Only a control port}\n"
                     "capability:\n  exposes:\n    - type: control\n      port: 9100\n"
                     "      observability: {enabled: false}\n",
    }
    packages = []
    for name, text in specs.items():
        (tmp_path / name).write_text(text, "utf-8")
        result = generate(tmp_path / name, tmp_path)
        assert result.ok, [d.render() for d in result.diagnostics if d.is_error]
        output.write(tmp_path / "out", {result.package: result.files})
        packages.append(result.package)
    ruff = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "--isolated", "--select", "E,F,W,I,B,UP,PYI",
         "--line-length", "100", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         *[arg for p in packages for arg in ("-p", p)]],
        cwd=tmp_path / "out", capture_output=True, text=True, timeout=300, check=False,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
