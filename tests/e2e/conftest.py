"""Shared fixtures for the end-to-end tests of the generated ``track_batch`` package.

One Customer.io mock runs on loopback for the whole session and is reset before each
test; services under test are pointed at it through ``TRACK_BATCH_BASE_URI``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.customerio_mock import CustomerioMock, MockConfig
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
