"""Throwaway virtual environments for the peers and the profiler, under `bench/.venvs/`.

Each environment is built once from a fixed requirement list and reused while that list is
unchanged. A failed install is a result, not a crash: it is reported as the peer's outcome.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from common import BENCH, child_env

VENVS = BENCH / ".venvs"
MARKER = ".bench-requirements"
INSTALL_TIMEOUT_S = 900.0

# Versions the peers were first measured with; if a pin cannot be installed, the newest release is
# tried and the version actually installed is what the report shows.
PEERS: dict[str, list[str]] = {
    "openapi-python-client": ["openapi-python-client==0.29.1"],
    "fastapi-code-generator": ["fastapi-code-generator==0.8.1"],
    "fastmcp": ["fastmcp==4.2.3", "uvicorn"],
    "py-spy": ["py-spy"],
}


@dataclass
class Venv:
    name: str
    ok: bool
    path: Path
    versions: dict[str, str] = field(default_factory=dict)
    error: str = ""
    requirements: list[str] = field(default_factory=list)

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"


def _pip_install(path: Path, requirements: list[str], log: list[str]) -> bool:
    argv = [
        str(path / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        *requirements,
    ]
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            env=child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.append(f"pip install {' '.join(requirements)}: timed out")
        return False
    if proc.returncode != 0:
        tail = "\n".join(line for line in proc.stderr.splitlines() if "WARNING" not in line)[-1500:]
        log.append(f"pip install {' '.join(requirements)}: exit {proc.returncode}\n{tail}")
        return False
    return True


def _versions(path: Path) -> dict[str, str]:
    proc = subprocess.run(
        [
            str(path / "bin" / "python"),
            "-m",
            "pip",
            "list",
            "--format",
            "json",
            "--disable-pip-version-check",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(),
        check=False,
    )
    try:
        return {item["name"].lower(): item["version"] for item in json.loads(proc.stdout)}
    except (ValueError, KeyError, TypeError):
        return {}


def ensure(name: str, *, echo: bool = True) -> Venv:
    """The environment `name` from `PEERS`, created (or rebuilt) if its requirements changed."""
    requirements = PEERS[name]
    path = VENVS / name
    marker = path / MARKER
    wanted = "\n".join(requirements)
    if marker.exists() and (path / "bin" / "python").exists():
        recorded = marker.read_text().split("\n", 1)
        if recorded[0] == "ok" and recorded[1:] == [wanted]:
            return Venv(name, True, path, _versions(path), requirements=requirements)
    if path.exists():
        shutil.rmtree(path)
    VENVS.mkdir(parents=True, exist_ok=True)
    if echo:
        print(f"  installing {name} into {path.relative_to(BENCH.parent)} (once) ...", flush=True)
    log: list[str] = []
    created = subprocess.run(
        [sys.executable, "-m", "venv", str(path)], capture_output=True, text=True, check=False
    )
    if created.returncode != 0:
        return Venv(name, False, path, error=f"venv: {created.stderr[-500:]}")
    installed = _pip_install(path, requirements, log)
    used = requirements
    if not installed:
        # The pinned release may be gone: try the newest one of each package.
        unpinned = [r.split("==", 1)[0] for r in requirements]
        if unpinned != requirements and _pip_install(path, unpinned, log):
            installed, used = True, unpinned
    if not installed:
        marker.write_text("failed\n" + wanted)
        return Venv(name, False, path, error="\n".join(log), requirements=requirements)
    marker.write_text("ok\n" + wanted)
    return Venv(name, True, path, _versions(path), requirements=used)
