"""`{{x}}` read as the caller's input or the environment, and the spellings read one way
(docs/semantics.md, "More variations as written"), end to end: tests/data/variables/
keyed-search.yaml generated, then run as real REST and MCP services against a recording
upstream on loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from support.processes import RunningProcess, run_package
from support.servers import free_port, serve_asgi

from .test_mcp import run
from .test_request_bodies import Recorder as BodyRecorder

SPEC = Path(__file__).resolve().parents[1] / "data" / "variables" / "keyed-search.yaml"
PACKAGE = "keyed_search"
KEY = "key-from-the-environment"


class Recorder(BodyRecorder):
    """Keeps each request's path with its query string."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await super().__call__(scope, receive, send)
        if scope["type"] == "http" and scope.get("query_string"):
            self.requests[-1]["path"] += "?" + scope["query_string"].decode("latin-1")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("variables") / "generated"
    result = subprocess.run([sys.executable, "-m", "naftiko_codegen", str(SPEC), "--out", str(out)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "W350" in result.stderr and "W352" in result.stderr
    return out


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, Recorder]]:
    upstream = Recorder()
    with serve_asgi(upstream) as url:
        yield url, upstream


def _serve(generated: Path, url: str, adapter: str, env: dict[str, str] | None = None) -> Any:
    port = free_port()
    args = [adapter, "--host", "127.0.0.1", "--port", str(port)]
    if adapter == "mcp":
        args[1:1] = ["--transport", "http"]
    # `userId` is set too: a query value naming the caller's input must not read it
    environment = {"SEARCH_API_KEY": KEY, "userId": "from-the-environment",
                   "SEARCH_API_BASE_URI": url + "/v1"} if env is None else env
    return run_package(args, env=environment, host="127.0.0.1", port=port, cwd=generated,
                       pythonpath=generated, package=PACKAGE)


def test_rest_sends_the_key_from_the_environment_and_the_input_as_query(
        generated: Path, recorder: tuple[str, Recorder]) -> None:
    url, upstream = recorder
    with _serve(generated, url, "rest") as proc:
        before = len(upstream.requests)
        found = httpx.post(f"{proc.base_url}/search", json={"user": {"id": "u 7"}}, timeout=10)
        expired = httpx.post(f"{proc.base_url}/items/a1/expire", timeout=10)
        spec = httpx.get(f"{proc.base_url}/openapi.json", timeout=10).json()
    assert found.status_code == 200 and expired.status_code == 200, (found.text, expired.text)
    search, expire = upstream.requests[before:]
    assert search["path"] == "/v1/items?q=u+7"
    assert search["headers"]["x-api-key"] == KEY
    assert expire["path"] == "/v1/items/a1/expire?temp=false"
    # the key is nobody's argument: not in the route's parameters or body
    operation = spec["paths"]["/search"]["post"]
    assert "X-Api-Key" not in str(operation.get("parameters", [])) + str(operation.get("requestBody", {}))


def test_mcp_tool_takes_the_input_and_not_the_key(generated: Path, recorder: tuple[str, Recorder]) -> None:
    url, upstream = recorder
    with _serve(generated, url, "mcp") as proc:
        proc: RunningProcess

        async def go() -> Any:
            async with Client(f"{proc.base_url}/mcp") as client:
                tools = {t.name: t for t in (await client.list_tools()).tools}
                assert set(tools["search"].input_schema["properties"]) == {"userId"}
                return await client.call_tool("search", {"userId": "u8"})

        before = len(upstream.requests)
        result = run(go)
    assert result.is_error is False, result
    (got,) = upstream.requests[before:]
    assert got["path"] == "/v1/items?q=u8"
    assert got["headers"]["x-api-key"] == KEY


def test_a_missing_key_stops_the_service(generated: Path, recorder: tuple[str, Recorder]) -> None:
    url, _upstream = recorder
    env = {"SEARCH_API_BASE_URI": url + "/v1"}
    result = subprocess.run([sys.executable, "-m", PACKAGE, "rest", "--port", str(free_port())],
                            env={**env, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(generated)},
                            capture_output=True, text=True, timeout=60, check=False, cwd=generated)
    assert result.returncode == 78, result.stderr
    assert "SEARCH_API_KEY" in result.stderr and "userId" not in result.stderr
