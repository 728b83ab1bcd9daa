"""Mapped outputs and orchestration, end to end: a package generated from
tests/data/output/shipyard.yaml runs as real processes (uvicorn REST service, MCP server over
streamable HTTP driven by the official `mcp` client) against a local upstream that answers
registry data and records what it was asked. Every expected result below is written out by
hand from the sample data and the spec's mappings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from support.processes import RunningProcess, run_package
from support.servers import answer_lifespan, free_port, serve_asgi

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

SPEC = Path(__file__).resolve().parents[1] / "data" / "output" / "shipyard.yaml"

SHIP = {
    "imo_number": "IMO-9321483",
    "vessel_name": "Northern Star",
    "vessel_type": "cargo",
    "operational_status": "active",
    "year_built": 2015,
    "gross_tonnage": 42000,
    "dimensions": {"length_overall": 229.5, "beam": 32},
    "assignedCrew": ["C-2", "C-9", "C-1"],
}
SHIPS = [
    {"imo_number": "IMO-1", "vessel_name": "A", "operational_status": "active"},
    {"imo_number": "IMO-2", "vessel_name": "B", "operational_status": "laid_up", "extra": 1},
]
CREW = [
    {"crewId": "C-1", "fullName": "Ada Lovelace", "role": "Captain", "phone": "secret"},
    {"crewId": "C-2", "fullName": "Grace Hopper", "role": "Engineer"},
    {"crewId": "C-3", "fullName": "Alan Turing", "role": "Cook"},
]
LEGACY_XML = (
    b"<?xml version='1.0'?><vessels><vessel><vesselCode>V-1</vesselCode><tonnage>900</tonnage>"
    b"</vessel><vessel><vesselCode>V-2</vesselCode><tonnage>1200</tonnage></vessel></vessels>"
)

# What the spec's mappings give for the data above, by hand.
MAPPED_SHIP = {
    "imo": "IMO-9321483",
    "name": "Northern Star",
    "specs": {"yearBuilt": 2015, "length": 229.5},
    "firstCrew": "C-2",
}
SHIP_WITH_CREW = {
    "imo": "IMO-9321483",
    "specs": {"tonnage": 42000},
    "crew": [
        {"fullName": "Grace Hopper", "role": "Engineer"},
        {"fullName": "Ada Lovelace", "role": "Captain"},
    ],  # C-9 is nobody: not found, left out
}


class Registry:
    """The upstream: registry JSON and legacy XML, every request recorded."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []
        self.ships: Any = SHIPS

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        path = scope["path"]
        self.requests.append((scope["method"], path, scope.get("query_string", b"").decode()))
        status, kind, body = 200, b"application/json", b""
        if path == "/registry/ships":
            body = json.dumps(self.ships).encode()
        elif path == "/registry/ships/IMO-9321483":
            body = json.dumps(SHIP).encode()
        elif path == "/registry/crew":
            body = json.dumps(CREW).encode()
        elif path == "/legacy/vessels":
            kind, body = b"application/xml", LEGACY_XML
        else:
            status, body = 404, b'{"error": "no such ship"}'
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = generate(SPEC, SPEC.parent)
    assert result.ok, [d.render() for d in result.diagnostics if d.is_error]
    folder = tmp_path_factory.mktemp("shipyard")
    output.write(folder, {result.package: result.files})
    assert result.package == "shipyard"
    return folder


@pytest.fixture(scope="module")
def registry() -> Iterator[tuple[Registry, dict[str, str]]]:
    app = Registry()
    with serve_asgi(app) as url:
        yield app, {"REGISTRY_BASE_URI": f"{url}/registry", "LEGACY_BASE_URI": f"{url}/legacy"}


def _serve(package: Path, env: dict[str, str], command: str) -> Any:
    port = free_port()
    args = [command, "--host", "127.0.0.1", "--port", str(port)]
    if command == "mcp":
        args[1:1] = ["--transport", "http"]
    return run_package(args, env=env, host="127.0.0.1", port=port, cwd=package, pythonpath=package,
                       package="shipyard")


@pytest.fixture(scope="module")
def rest(package: Path, registry: tuple[Registry, dict[str, str]]) -> Iterator[RunningProcess]:
    with _serve(package, registry[1], "rest") as proc:
        yield proc


@pytest.fixture(scope="module")
def mcp_server(package: Path, registry: tuple[Registry, dict[str, str]]) -> Iterator[RunningProcess]:
    with _serve(package, registry[1], "mcp") as proc:
        yield proc


# --- REST ------------------------------------------------------------------------------------


def test_rest_maps_one_call(rest: RunningProcess, registry: tuple[Registry, dict[str, str]]):
    app, _env = registry
    answer = httpx.get(f"{rest.base_url}/ships/IMO-9321483", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == MAPPED_SHIP
    assert app.requests[-1] == ("GET", "/registry/ships/IMO-9321483", "")


def test_rest_passes_an_upstream_error_through(rest: RunningProcess):
    answer = httpx.get(f"{rest.base_url}/ships/IMO-0", timeout=10)
    assert (answer.status_code, answer.json()) == (404, {"error": "no such ship"})


def test_rest_orchestration_with_lookup(rest: RunningProcess, registry: tuple[Registry, dict[str, str]]):
    app, _env = registry
    before = len(app.requests)
    answer = httpx.get(f"{rest.base_url}/ships/IMO-9321483/crew", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json() == SHIP_WITH_CREW
    # the steps ran in order, each once
    assert app.requests[before:] == [("GET", "/registry/ships/IMO-9321483", ""), ("GET", "/registry/crew", "")]


def test_rest_maps_xml(rest: RunningProcess):
    answer = httpx.get(f"{rest.base_url}/legacy/vessels", timeout=10)
    assert answer.status_code == 200, answer.text
    # XML carries text only: the declared `number` is a string in the result and its schema
    assert answer.json() == [{"code": "V-1", "tonnage": "900"}, {"code": "V-2", "tonnage": "1200"}]


def test_openapi_documents_the_mapped_result(rest: RunningProcess):
    document = httpx.get(f"{rest.base_url}/openapi.json", timeout=10).json()
    schema = document["paths"]["/ships/{imo}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["properties"]["specs"]["properties"]["length"] == {"type": ["number", "null"]}


# --- MCP -------------------------------------------------------------------------------------


def _call(proc: RunningProcess, name: str, arguments: dict[str, Any]) -> Any:
    async def go() -> Any:
        with anyio.fail_after(30):
            async with Client(f"{proc.base_url}/mcp") as client:
                tools = {t.name: t for t in (await client.list_tools()).tools}
                return tools, await client.call_tool(name, arguments)

    return anyio.run(go)


def test_mcp_tool_maps_one_call(mcp_server: RunningProcess):
    tools, result = _call(mcp_server, "get-ship", {"imo": "IMO-9321483"})
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == MAPPED_SHIP
    # the client validated it against the advertised output schema, which says what is returned
    assert result.structured_content == MAPPED_SHIP
    schema = tools["get-ship"].output_schema
    assert schema["required"] == ["imo", "name", "specs", "firstCrew"]
    assert schema["properties"]["specs"]["properties"]["yearBuilt"] == {"type": ["number", "null"]}


def test_mcp_array_result_is_text_only(mcp_server: RunningProcess):
    tools, result = _call(mcp_server, "list-ships", {"status": "active"})
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == [
        {"imo": "IMO-1", "status": "active"},
        {"imo": "IMO-2", "status": "laid_up"},
    ]
    assert tools["list-ships"].output_schema is None  # MCP output schemas describe objects only


def test_mcp_orchestration_with_lookup(mcp_server: RunningProcess, registry: tuple[Registry, dict[str, str]]):
    app, _env = registry
    before = len(app.requests)
    _tools, result = _call(mcp_server, "get-ship-with-crew", {"imo": "IMO-9321483"})
    assert not result.is_error, result.content
    assert result.structured_content == SHIP_WITH_CREW
    assert [r[1] for r in app.requests[before:]] == ["/registry/ships/IMO-9321483", "/registry/crew"]


def test_mcp_orchestration_stops_at_an_upstream_error(mcp_server: RunningProcess,
                                                      registry: tuple[Registry, dict[str, str]]):
    app, _env = registry
    before = len(app.requests)
    _tools, result = _call(mcp_server, "get-ship-with-crew", {"imo": "IMO-0"})
    assert result.is_error
    assert "HTTP 404" in result.content[-1].text
    assert [r[1] for r in app.requests[before:]] == ["/registry/ships/IMO-0"]  # no second step


def test_mcp_orchestration_without_mappings_answers_the_last_call(mcp_server: RunningProcess):
    _tools, result = _call(mcp_server, "crew-after-ship", {"imo": "IMO-9321483"})
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == CREW


def test_mcp_mock_answers_without_upstream(mcp_server: RunningProcess,
                                           registry: tuple[Registry, dict[str, str]]):
    app, _env = registry
    before = len(app.requests)
    tools, result = _call(mcp_server, "greet", {"who": "Nina"})
    assert result.structured_content == {"message": "Hello, Nina!", "source": "mock"}
    assert tools["greet"].annotations.open_world_hint is False
    assert len(app.requests) == before


def test_mcp_result_that_breaks_its_schema_is_an_error(mcp_server: RunningProcess,
                                                       registry: tuple[Registry, dict[str, str]]):
    app, _env = registry
    app.ships = {"not": "a list"}  # `mapping: $.` of an array output finds an object
    try:
        _tools, result = _call(mcp_server, "list-ships", {})
    finally:
        app.ships = SHIPS
    assert result.is_error
    assert "does not give this tool's result" in result.content[0].text
