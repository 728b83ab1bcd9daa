"""Run the generated package as a real subprocess (``python -m track_batch ...``).

The child gets an explicit environment (nothing leaks in from the test runner, so a
variable the package forgets to read cannot be masked), its stdout and stderr go to
files so a failing test can show them, and every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERATED_DIR = REPO_ROOT / "generated"

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0

# Kept from the parent so the interpreter and locale behave; credentials are never inherited.
_PASSTHROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def child_env(
    extra: Mapping[str, str] | None = None, *, pythonpath: str | os.PathLike[str] | None = None
) -> dict[str, str]:
    """A minimal environment for a child process, plus ``extra``."""
    env = {k: os.environ[k] for k in _PASSTHROUGH_ENV if k in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if pythonpath is not None:
        env["PYTHONPATH"] = os.fspath(pythonpath)
    env.update(extra or {})
    return env


@dataclass
class RunningProcess:
    """A started child process and where its output goes."""

    proc: subprocess.Popen[bytes]
    argv: list[str]
    stdout_path: Path
    stderr_path: Path
    host: str | None = None
    port: int | None = None

    @property
    def base_url(self) -> str:
        assert self.host is not None and self.port is not None, "process has no port"
        return f"http://{self.host}:{self.port}"

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def describe(self) -> str:
        """Command, exit code and captured output, for assertion messages."""
        return (
            f"command: {' '.join(self.argv)}\n"
            f"exit code: {self.proc.poll()}\n"
            f"--- stdout ---\n{self.stdout_text()[-4000:]}\n"
            f"--- stderr ---\n{self.stderr_text()[-4000:]}"
        )

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"process still running after {timeout}s\n{self.describe()}"
            ) from None


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until_listening(rp: RunningProcess, timeout: float = STARTUP_TIMEOUT_S) -> None:
    """Wait for the child's port to accept connections; fail fast if the child exits."""
    assert rp.host is not None and rp.port is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rp.proc.poll() is not None:
            raise AssertionError(f"process exited before listening\n{rp.describe()}")
        if _port_open(rp.host, rp.port):
            return
        time.sleep(0.05)
    raise AssertionError(
        f"port {rp.host}:{rp.port} not listening after {timeout}s\n{rp.describe()}"
    )


def stop(rp: RunningProcess, timeout: float = STOP_TIMEOUT_S) -> int | None:
    """SIGTERM, then SIGKILL if the child does not exit within ``timeout``."""
    if rp.proc.poll() is None:
        rp.proc.send_signal(signal.SIGTERM)
        try:
            rp.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rp.proc.kill()
            rp.proc.wait(timeout=timeout)
    return rp.proc.returncode


@contextmanager
def run_package(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    host: str | None = None,
    port: int | None = None,
    python: str | os.PathLike[str] = sys.executable,
    cwd: str | os.PathLike[str] = GENERATED_DIR,
    pythonpath: str | os.PathLike[str] | None = GENERATED_DIR,
    package: str = "track_batch",
    log_dir: str | os.PathLike[str] | None = None,
    startup_timeout: float = STARTUP_TIMEOUT_S,
) -> Iterator[RunningProcess]:
    """Run ``python -m <package> <args>`` and stop it on exit.

    With ``host`` and ``port`` given, waits until the port accepts connections before
    yielding. ``env`` is merged over :func:`child_env`; nothing else is inherited.
    """
    argv = [os.fspath(python), "-m", package, *args]
    full_env = child_env(env, pythonpath=pythonpath)
    with tempfile.TemporaryDirectory(prefix="proc-", dir=log_dir) as tmp:
        out_path = Path(tmp) / "stdout.log"
        err_path = Path(tmp) / "stderr.log"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                argv,
                cwd=os.fspath(cwd),
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        rp = RunningProcess(proc, argv, out_path, err_path, host, port)
        try:
            if host is not None and port is not None:
                wait_until_listening(rp, startup_timeout)
            yield rp
        finally:
            stop(rp)


def run_to_exit(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float = STARTUP_TIMEOUT_S,
    python: str | os.PathLike[str] = sys.executable,
    cwd: str | os.PathLike[str] = GENERATED_DIR,
    pythonpath: str | os.PathLike[str] | None = GENERATED_DIR,
    package: str = "track_batch",
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <package> <args>`` to completion (for commands expected to exit)."""
    argv = [os.fspath(python), "-m", package, *args]
    return subprocess.run(
        argv,
        check=False,
        cwd=os.fspath(cwd),
        env=child_env(env, pythonpath=pythonpath),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
