"""Per-call work of the generated MCP server, end to end: a package generated from
tests/data/mcp/param-headers.yaml, served by uvicorn on loopback in this process and driven by
the official ``mcp`` client (and by raw HTTP where a client would not misbehave).

At protocol 2026-07-28 the SDK checks a call's `Mcp-Param-*` headers against the
`x-mcp-header` annotations of the tool's input schema. It finds that schema through the
server's lookup, else by running the server's tools/list handler on every call; the generated
server gives the lookup, so a call must not list the tools, and the header check must still
hold for the annotated tool."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import httpx
import mcp_types as types
import pytest
from mcp import Client
from support.servers import answer_lifespan, serve_asgi

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

from .test_mcp import run

SPEC = Path(__file__).resolve().parents[1] / "data" / "mcp" / "param-headers.yaml"
PACKAGE = "param_headers"
MODERN = "2026-07-28"


class StatusService:
    """The consumed API: `GET /v1/status?region=...` answers the region it was asked for."""

    def __init__(self) -> None:
        self.regions: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        region = dict(parse_qsl(scope.get("query_string", b"").decode())).get("region", "")
        self.regions.append(region)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps({"region": region}).encode()})


@pytest.fixture(scope="module")
def status_service() -> Iterator[tuple[str, StatusService]]:
    app = StatusService()
    with serve_asgi(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           status_service: tuple[str, StatusService]) -> Iterator[tuple[str, ModuleType]]:
    """The generated MCP server's module, served; its upstream is the status service."""
    result = generate(SPEC, SPEC.parent)
    assert result.ok, [str(d) for d in result.diagnostics]
    assert result.package == PACKAGE
    folder = tmp_path_factory.mktemp("mcp-param-headers")
    output.write(folder, {result.package: result.files})
    saved = os.environ.get("REGIONS_BASE_URI")
    os.environ["REGIONS_BASE_URI"] = status_service[0] + "/v1"
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(f"{PACKAGE}.mcp_server")
        with serve_asgi(module.app) as url:
            yield f"{url}/mcp", module
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        if saved is None:
            os.environ.pop("REGIONS_BASE_URI", None)
        else:
            os.environ["REGIONS_BASE_URI"] = saved


@pytest.fixture
def upstream(status_service: tuple[str, StatusService]) -> StatusService:
    status_service[1].regions.clear()
    return status_service[1]


def _structured(result: types.CallToolResult) -> Any:
    assert result.is_error is False, result
    return result.structured_content


def test_a_call_does_not_list_the_tools(server: tuple[str, ModuleType], upstream: StatusService) -> None:
    url, module = server
    handled: list[str] = []

    async def record(ctx: Any, call_next: Any) -> Any:
        handled.append(ctx.method)
        return await call_next(ctx)

    async def go() -> list[Any]:
        async with Client(url) as client:
            # the client lists the tools once, for their output schemas and header annotations
            first = await client.call_tool("plain-status", {"region": "eu"})
            handled.clear()
            later = [await client.call_tool(name, {"region": region})
                     for name, region in (("plain-status", "us"), ("region-status", "eu"),
                                          ("region-status", "us"))]
            return [_structured(r) for r in (first, *later)]

    module.server.middleware.append(record)
    try:
        assert run(go) == [{"region": r} for r in ("eu", "us", "eu", "us")]
    finally:
        module.server.middleware.remove(record)
    assert handled == ["tools/call"] * 3
    assert upstream.regions == ["eu", "us", "eu", "us"]


def _post(url: str, tool: str, arguments: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    """One 2026-07-28 tools/call as the official client frames it, with `headers` added."""
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {}}
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments, "_meta": meta}}
    return httpx.post(url, json=body, timeout=10, headers={
        "accept": "application/json, text/event-stream", "mcp-protocol-version": MODERN,
        "mcp-method": "tools/call", "mcp-name": tool, **headers})


@pytest.mark.parametrize(("headers", "problem"), [
    ({"mcp-param-region": "us"}, "does not match"),
    ({}, "is missing"),
], ids=["mismatch", "missing"])
def test_the_annotated_header_is_still_checked(server: tuple[str, ModuleType], upstream: StatusService,
                                               headers: dict[str, str], problem: str) -> None:
    url, _module = server
    answer = _post(url, "region-status", {"region": "eu"}, headers)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == types.HEADER_MISMATCH
    assert "Mcp-Param-Region" in error["message"] and problem in error["message"], error
    assert upstream.regions == []
    # with the header the client would send, the same call goes through
    answer = _post(url, "region-status", {"region": "eu"}, {"mcp-param-region": "eu"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["structuredContent"] == {"region": "eu"}
    assert upstream.regions == ["eu"]


def test_a_tool_without_annotations_checks_no_header(server: tuple[str, ModuleType],
                                                     upstream: StatusService) -> None:
    url, _module = server
    answer = _post(url, "plain-status", {"region": "eu"}, {"mcp-param-region": "us"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["structuredContent"] == {"region": "eu"}
    assert upstream.regions == ["eu"]
