"""Shared fixtures for the end-to-end tests of the generated ``track_batch`` package.

One Customer.io mock runs on loopback for the whole session and is reset before each
test; services under test are pointed at it through ``TRACK_BATCH_BASE_URI``.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.customerio_mock import CustomerioMock, MockConfig
from support.processes import REPO_ROOT, RunningProcess
from support.servers import free_port, serve_asgi

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "customerio"
EXAMPLE_NUMBERS = list(range(1, 11))
BATCH_PATH = "/api/v2/batch"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes minutes (builds a fresh virtual environment)")


@dataclass(frozen=True)
class Example:
    """One request/response pair from ``tests/data/customerio``."""

    name: str
    expected_status: int
    # Bodies reach 500 KB: keep them out of failure reports.
    body: Any = field(repr=False)
    response: dict[str, Any] = field(repr=False)

    @property
    def expected_batch_indexes(self) -> set[int]:
        """For a 207: the indexes of the operations that failed."""
        errors = (self.response.get("body") or {}).get("errors", [])
        return {e["batch_index"] for e in errors if "batch_index" in e}


def load_examples() -> dict[int, Example]:
    index_path = DATA_DIR / "index.json"
    if not index_path.is_file():
        pytest.fail(f"example data missing: {index_path}")
    out: dict[int, Example] = {}
    for entry in json.loads(index_path.read_text()):
        number = int(entry["example"][:2])
        out[number] = Example(
            name=entry["example"],
            expected_status=entry["expected_status"],
            body=json.loads((DATA_DIR / entry["request"]).read_text()),
            response=json.loads((DATA_DIR / entry["response"]).read_text()),
        )
    return out


@pytest.fixture(scope="session")
def examples() -> dict[int, Example]:
    loaded = load_examples()
    assert sorted(loaded) == EXAMPLE_NUMBERS, sorted(loaded)
    return loaded


@dataclass
class Upstream:
    """The running mock and how to reach it."""

    mock: CustomerioMock
    url: str

    @property
    def base_uri(self) -> str:
        # What the spec consumes is .../api/v1; the batch resource is ../v2/batch from there.
        return f"{self.url}/api/v1"

    @property
    def credentials(self) -> tuple[str, str]:
        return (self.mock.config.site_id, self.mock.config.api_key)

    def env(self, **overrides: str) -> dict[str, str]:
        """Environment for a generated service talking to this mock."""
        user, password = self.credentials
        env = {
            "CUSTOMER_IO_USER": user,
            "CUSTOMER_IO_PASS": password,
            "TRACK_BATCH_BASE_URI": self.base_uri,
        }
        env.update(overrides)
        return env

    def assert_forwarded(self, body: Any, credentials: tuple[str, str] | None = None) -> None:
        """Exactly one request reached the mock, and it is the batch call as specified."""
        creds = credentials or self.credentials
        reqs = self.mock.requests
        assert len(reqs) == 1, [(r.method, r.path) for r in reqs]
        req = reqs[0]
        assert (req.method, req.path) == ("POST", BATCH_PATH)
        assert req.basic_auth == creds
        assert decode_basic(req.headers.get("authorization")) == creds
        assert req.headers.get("content-type", "").split(";")[0].strip() == "application/json"
        assert json.loads(req.body) == body

    def direct(self, body: Any, *, auth: tuple[str, str] | None = None) -> httpx.Response:
        """POST straight to the mock: the reference a proxy's answer must equal.

        The recorded request is removed so tests only see what the code under test sent.
        """
        before = len(self.mock.requests)
        resp = httpx.post(
            f"{self.url}{BATCH_PATH}", json=body, auth=auth or self.credentials, timeout=10.0
        )
        del self.mock.requests[before:]
        return resp


def decode_basic(header: str | None) -> tuple[str, str] | None:
    """Decode an ``Authorization: Basic`` header independently of the mock's parsing."""
    if not header or not header.lower().startswith("basic "):
        return None
    user, _, password = base64.b64decode(header.split(" ", 1)[1]).decode().partition(":")
    return user, password


@pytest.fixture(scope="session")
def mock_server() -> Iterator[Upstream]:
    mock = CustomerioMock(MockConfig())
    with serve_asgi(mock.app) as url:
        yield Upstream(mock, url)


@pytest.fixture
def upstream(mock_server: Upstream) -> Upstream:
    mock_server.mock.reset()
    return mock_server


@pytest.fixture
def client_env(monkeypatch: pytest.MonkeyPatch, upstream: Upstream) -> Upstream:
    """Process environment for the in-process client, pointed at the mock."""
    for name in ("TRACK_BATCH_TIMEOUT", "TRACK_BATCH_MCP_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in upstream.env().items():
        monkeypatch.setenv(name, value)
    return upstream


@pytest.fixture
def closed_base_uri() -> str:
    """A base URI on a loopback port where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/api/v1"


# A variant of track-batch whose MCP tool is marked idempotent, so that its operation is
# retried (see "Retries" in docs/semantics.md); generated like any spec.
IDEMPOTENT_PACKAGE = "track_batch_idempotent"
IDEMPOTENT_PREFIX = "TRACK_BATCH_IDEMPOTENT"


def generate_variant(root: Path, stem: str, *replacements: tuple[str, str]) -> Path:
    """Generate the package of specs/track-batch.yaml with `replacements` applied, saved as
    `<stem>.yaml`, into `root/generated`; return that folder."""
    text = (REPO_ROOT / "specs" / "track-batch.yaml").read_text("utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    spec = root / f"{stem}.yaml"
    spec.write_text(text, "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "naftiko_codegen", str(spec), "--out", str(root / "generated")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return root / "generated"


@pytest.fixture(scope="session")
def idempotent_generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder holding the generated ``track_batch_idempotent`` package."""
    return generate_variant(
        tmp_path_factory.mktemp("idempotent"),
        "track-batch-idempotent",
        ("idempotent: false", "idempotent: true"),
    )


def fast_retries(prefix: str, **overrides: str) -> dict[str, str]:
    """Service settings for fault tests: short timeouts, two quick retries."""
    env = {
        f"{prefix}_TIMEOUT": "1",
        f"{prefix}_RETRIES": "2",
        f"{prefix}_RETRY_BACKOFF": "0.05",
        f"{prefix}_RETRY_BACKOFF_MAX": "0.2",
        f"{prefix}_RETRY_DEADLINE": "15",
        f"{prefix}_MAX_RESPONSE_BYTES": str(1024 * 1024),
        f"{prefix}_SHUTDOWN_TIMEOUT": "5",
    }
    env.update(overrides)
    return env


def access_log(stderr: str) -> list[dict[str, Any]]:
    """The access-log entries among a service's stderr lines (JSON, one per request)."""
    entries = []
    for line in stderr.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("logger", "").endswith(".access"):
            entries.append(entry)
    return entries


def wait_for_access_log(
    proc: RunningProcess, count: int, where: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> list[dict[str, Any]]:
    """The service's access-log entries matching ``where``, once there are ``count`` of them
    (an entry is written just after its response is sent)."""
    deadline = time.monotonic() + timeout
    while True:
        entries = [e for e in access_log(proc.stderr_text()) if where(e)]
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)
