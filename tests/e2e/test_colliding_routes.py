"""A REST route declared twice (docs/semantics.md, "Colliding routes, calls and namespaces"), end
to end: amplitude's behavioral cohorts capability (tests/data/collisions) declares five
operations at /v1/cohorts. Generated, run under uvicorn against a recording upstream on
loopback: the first declaration answers the route, the OpenAPI document says so, and the
shadowed operations stay reachable through their MCP tools."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from support.processes import run_package
from support.servers import free_port, serve_asgi

from .test_mcp import run
from .test_request_bodies import Recorder

SPEC = Path(__file__).resolve().parents[1] / "data" / "collisions" / "amplitude-behavioral-cohorts.yaml"
PACKAGE = "amplitude_behavioral_cohorts"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("collisions") / "generated"
    result = subprocess.run([sys.executable, "-m", "naftiko_codegen", str(SPEC), "--out", str(out)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return out, result.stderr


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    with serve_asgi(recorder) as url:
        yield url, recorder


def _serve(generated: Path, url: str, adapter: str) -> Any:
    port = free_port()
    args = [adapter, "--host", "127.0.0.1", "--port", str(port)]
    if adapter == "mcp":
        args[1:1] = ["--transport", "http"]
    env = {"AMPLITUDE_API_KEY": "key-1", "AMPLITUDE_SECRET_KEY": "secret-1", "BEHAVIORAL_COHORTS_API_BASE_URI": url}
    return run_package(args, env=env, host="127.0.0.1", port=port, cwd=generated, pythonpath=generated,
                       package=PACKAGE)


def test_the_generator_names_each_shadowed_operation(generated: tuple[Path, str]) -> None:
    _, stderr = generated
    shadowed = [line for line in stderr.splitlines() if "warning[W311]" in line]
    assert len(shadowed) == 2
    assert "first on line 109, `listCohorts`" in shadowed[0]
    assert "`getCohortExportStatus` (`call: behavioral-cohorts-api.getCohortExportStatus`) on line 133" in shadowed[0]
    assert "`downloadCohortExport` (`call: behavioral-cohorts-api.downloadCohortExport`) on line 145" in shadowed[1]


def test_the_first_declaration_answers_over_rest(generated: tuple[Path, str], upstream: tuple[str, Recorder]) -> None:
    out, _ = generated
    url, recorder = upstream
    with _serve(out, url, "rest") as proc, httpx.Client(base_url=proc.base_url, timeout=10) as http:
        before = len(recorder.requests)
        listed = http.get("/v1/cohorts")
        item = http.get("/v1/cohorts/c-7")
        described = http.get("/openapi.json").json()
    assert listed.status_code == 200 and item.status_code == 200, (listed.text, item.text)
    first, second = recorder.requests[before:]
    # listCohorts, declared first at GET /v1/cohorts; requestCohortExport got its item route (W246)
    assert (first["method"], first["path"]) == ("GET", "/cohorts")
    assert (second["method"], second["path"]) == ("GET", "/cohorts/c-7")
    assert first["headers"]["authorization"] == "Basic " + base64.b64encode(b"key-1:secret-1").decode()
    operations = {(path, method): op["operationId"] for path, item_ in described["paths"].items()
                  for method, op in item_.items() if path.startswith("/v1/")}
    assert operations == {("/v1/cohorts", "get"): "listCohorts", ("/v1/cohorts", "post"): "uploadCohort",
                          ("/v1/cohorts/{cohort_id}", "get"): "requestCohortExport"}


def test_a_shadowed_operation_stays_an_mcp_tool(generated: tuple[Path, str], upstream: tuple[str, Recorder]) -> None:
    out, _ = generated
    url, recorder = upstream
    with _serve(out, url, "mcp") as proc:

        async def go() -> Any:
            async with Client(f"{proc.base_url}/mcp") as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert {"getCohortExportStatus", "downloadCohortExport"} <= names
                return await client.call_tool("getCohortExportStatus", {"cohort_id": "c-9"})

        before = len(recorder.requests)
        result = run(go)
    assert result.is_error is False, result
    (got,) = recorder.requests[before:]
    assert (got["method"], got["path"]) == ("GET", "/cohorts/c-9")
