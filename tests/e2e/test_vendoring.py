"""The generated package works on its own: copied out, with only its requirements installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support.processes import GENERATED_DIR, child_env, run_package
from support.servers import free_port

from .conftest import BATCH_PATH, Example, Upstream

PIP_TIMEOUT_S = 600
pytestmark = pytest.mark.slow

# pip's own settings and the network route to the registry; nothing the package could read.
_PIP_ENV_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


def _pip_env() -> dict[str, str]:
    extra = {
        k: v for k, v in os.environ.items() if k.startswith("PIP_") or k.upper() in _PIP_ENV_NAMES
    }
    return child_env(extra)


@pytest.fixture(scope="module")
def vendored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(folder holding only ``track_batch``, python of a fresh venv with its requirements)."""
    root = tmp_path_factory.mktemp("vendored")
    app_dir = root / "app"
    app_dir.mkdir()
    shutil.copytree(
        GENERATED_DIR / "track_batch",
        app_dir / "track_batch",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    venv_dir = root / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", str(venv_dir)], check=True, timeout=120, env=child_env()
    )
    python = venv_dir / "bin" / "python"
    # HOME is kept so pip reuses its cache and the machine's pip configuration applies.
    pip = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-r",
            str(app_dir / "track_batch" / "requirements.txt"),
        ],
        cwd=app_dir,
        env=_pip_env(),
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
        check=False,
    )
    assert pip.returncode == 0, pip.stdout[-4000:] + pip.stderr[-4000:]
    return app_dir, python


def _run_python(python: Path, app_dir: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-c", code],
        cwd=app_dir,
        env=child_env(pythonpath=app_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_modules_import_without_the_generator(vendored: tuple[Path, Path]) -> None:
    app_dir, python = vendored
    imported = _run_python(
        python,
        app_dir,
        "import track_batch.client, track_batch.rest, track_batch.mcp_server, track_batch;"
        "print(track_batch.__file__)",
    )
    assert imported.returncode == 0, imported.stderr
    assert Path(imported.stdout.strip()).resolve().is_relative_to(app_dir.resolve())

    absent = _run_python(
        python,
        app_dir,
        "import importlib.util, sys; sys.exit(importlib.util.find_spec('naftiko_codegen') is not None)",
    )
    assert absent.returncode == 0, "naftiko_codegen is importable in the vendored environment"


def test_requirements_are_plain(vendored: tuple[Path, Path]) -> None:
    app_dir, _ = vendored
    lines = (app_dir / "track_batch" / "requirements.txt").read_text().splitlines()
    names = {
        line.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower()
        for line in lines
        if line.strip() and not line.lstrip().startswith("#")
    }
    assert {"fastapi", "uvicorn", "httpx", "mcp"} <= names, names
    assert not any(n.startswith("naftiko") for n in names), names


def test_vendored_rest_service_calls_upstream(
    vendored: tuple[Path, Path], upstream: Upstream, examples: dict[int, Example]
) -> None:
    app_dir, python = vendored
    port = free_port()
    body = examples[1].body
    with run_package(
        ["rest", "--host", "127.0.0.1", "--port", str(port)],
        env=upstream.env(),
        host="127.0.0.1",
        port=port,
        python=python,
        cwd=app_dir,
        pythonpath=app_dir,
    ) as proc:
        resp = httpx.post(f"{proc.base_url}/v1/v2/batch", json=body, timeout=15.0)
        assert resp.status_code == 200, (resp.text, proc.describe())
        assert resp.json() == {}
    reqs = upstream.mock.requests
    assert [(r.method, r.path) for r in reqs] == [("POST", BATCH_PATH)]
    assert reqs[0].json() == body
    assert reqs[0].basic_auth == upstream.credentials
