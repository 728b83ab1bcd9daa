"""The generated MCP server driven by the official ``mcp`` client, over HTTP and stdio."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from support.processes import GENERATED_DIR, RunningProcess, child_env, run_package
from support.servers import free_port, serve_asgi

from .conftest import BATCH_PATH, Example, Upstream

TOOL = "batch-entity-operations"
ERAS = [("auto", "2026-07-28"), ("legacy", "2025-11-25")]
ERA_IDS = ["modern", "legacy"]

T = TypeVar("T")


def unwrap(exc: BaseException) -> BaseException:
    """The MCP client reports failures from its task group as (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def run(fn: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """Run a coroutine function within ``timeout`` seconds.

    Re-raises the first real error out of any exception group.
    """

    async def bounded() -> T:
        with anyio.fail_after(timeout):
            return await fn()

    try:
        return anyio.run(bounded)
    except BaseExceptionGroup as group:
        raise unwrap(group) from group


def _start_http(env: dict[str, str]) -> AbstractContextManager[RunningProcess]:
    port = free_port()
    return run_package(
        ["mcp", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        host="127.0.0.1",
        port=port,
    )


@pytest.fixture(scope="module")
def mcp_service(mock_server: Upstream) -> Iterator[RunningProcess]:
    with _start_http(mock_server.env()) as proc:
        yield proc


def _url(proc: RunningProcess) -> str:
    return f"{proc.base_url}/mcp"


def _stdio_params(env: dict[str, str]) -> StdioServerParameters:
    # The stdio transport only inherits a short safe list, so everything is passed explicitly.
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "track_batch", "mcp", "--transport", "stdio"],
        env=child_env(env, pythonpath=GENERATED_DIR),
        cwd=str(GENERATED_DIR),
    )


def _check_tool(tools: types.ListToolsResult) -> None:
    assert [t.name for t in tools.tools] == [TOOL]
    tool = tools.tools[0]
    assert tool.description and tool.description.strip()
    assert "Batch entity operations" in tool.description
    schema = tool.input_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["body"]
    assert schema["properties"]["body"]["type"] == "object"
    ann = tool.annotations
    assert ann is not None
    assert ann.read_only_hint is False
    assert ann.destructive_hint is False
    assert ann.idempotent_hint is False


def _result_json(result: types.CallToolResult) -> Any:
    """The tool's text content, which is the upstream JSON text."""
    assert result.content and isinstance(result.content[0], types.TextContent), result
    text = result.content[0].text
    try:
        return json.loads(text)
    except ValueError:
        raise AssertionError(f"content[0].text is not the upstream JSON: {text!r}") from None


@pytest.mark.parametrize(("mode", "version"), ERAS, ids=ERA_IDS)
def test_http_list_and_call(
    mode: str,
    version: str,
    mcp_service: RunningProcess,
    upstream: Upstream,
    examples: dict[int, Example],
) -> None:
    body = examples[1].body

    async def go() -> tuple[str, types.ListToolsResult, types.CallToolResult]:
        async with Client(_url(mcp_service), mode=mode) as client:
            tools = await client.list_tools()
            result = await client.call_tool(TOOL, {"body": body})
            return client.protocol_version, tools, result

    negotiated, tools, result = run(go)
    assert negotiated == version
    _check_tool(tools)
    assert result.is_error is False, result
    assert result.structured_content == {}
    assert _result_json(result) == {}
    upstream.assert_forwarded(body)


@pytest.mark.parametrize(("mode", "version"), ERAS, ids=ERA_IDS)
def test_http_partial_failure_is_not_an_error(
    mode: str,
    version: str,
    mcp_service: RunningProcess,
    upstream: Upstream,
    examples: dict[int, Example],
) -> None:
    example = examples[4]
    reference = upstream.direct(example.body)
    assert reference.status_code == 207

    async def go() -> types.CallToolResult:
        async with Client(_url(mcp_service), mode=mode) as client:
            return await client.call_tool(TOOL, {"body": example.body})

    result = run(go)
    assert result.is_error is False, result
    assert result.structured_content == reference.json()
    assert _result_json(result) == reference.json()
    errors = result.structured_content["errors"]
    assert {e["batch_index"] for e in errors} == example.expected_batch_indexes
    upstream.assert_forwarded(example.body)


@pytest.mark.parametrize("number", [5, 8])
def test_http_upstream_400_is_error(
    number: int, mcp_service: RunningProcess, upstream: Upstream, examples: dict[int, Example]
) -> None:
    example = examples[number]
    reference = upstream.direct(example.body)
    assert reference.status_code == 400

    async def go() -> types.CallToolResult:
        async with Client(_url(mcp_service)) as client:
            return await client.call_tool(TOOL, {"body": example.body})

    result = run(go)
    assert result.is_error is True, result
    assert result.structured_content == reference.json()
    upstream.assert_forwarded(example.body)
    assert _result_json(result) == reference.json()


@pytest.mark.parametrize(
    "arguments",
    [{}, {"body": "x"}, {"body": [1]}, {"body": None}, {"batch": []}],
    ids=["missing", "string", "array", "null", "wrong-name"],
)
def test_http_invalid_arguments_never_reach_upstream(
    arguments: dict[str, Any], mcp_service: RunningProcess, upstream: Upstream
) -> None:
    async def go() -> types.CallToolResult:
        async with Client(_url(mcp_service)) as client:
            return await client.call_tool(TOOL, arguments)

    result = run(go)
    assert result.is_error is True, result
    assert result.content and isinstance(result.content[0], types.TextContent)
    assert result.content[0].text.strip()
    assert upstream.mock.requests == []


@pytest.mark.parametrize(("mode", "version"), ERAS, ids=ERA_IDS)
def test_http_unknown_tool_is_protocol_error(
    mode: str, version: str, mcp_service: RunningProcess, upstream: Upstream
) -> None:
    async def go() -> types.CallToolResult:
        async with Client(_url(mcp_service), mode=mode) as client:
            return await client.call_tool("no-such-tool", {"body": {"batch": []}})

    with pytest.raises(MCPError):
        run(go)
    assert upstream.mock.requests == []


def _raw_tools_call(url: str, host: str, body: Any) -> httpx.Response:
    """A legacy-era JSON-RPC tools/call with a chosen Host header, outside the MCP client."""
    payload = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": TOOL, "arguments": {"body": body}},
    }
    headers = {
        "host": host,
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
    }
    with httpx.Client(timeout=10.0) as http:
        return http.post(url, json=payload, headers=headers)


def test_http_dns_rebinding_is_refused(
    mcp_service: RunningProcess, upstream: Upstream, examples: dict[int, Example]
) -> None:
    body = examples[1].body
    resp = _raw_tools_call(_url(mcp_service), "evil.example", body)
    # The SDK answers 421 Misdirected Request; any 4xx but a routing miss is a refusal.
    assert 400 <= resp.status_code < 500 and resp.status_code != 404, (resp.status_code, resp.text)
    assert upstream.mock.requests == []

    # The same request with the real Host goes through, so the refusal above is the Host check.
    resp = _raw_tools_call(_url(mcp_service), f"127.0.0.1:{mcp_service.port}", body)
    assert resp.status_code == 200, (resp.status_code, resp.text)
    upstream.assert_forwarded(body)


def test_http_allowed_hosts_from_env(upstream: Upstream, examples: dict[int, Example]) -> None:
    body = examples[1].body
    env = upstream.env(TRACK_BATCH_MCP_ALLOWED_HOSTS="svc.internal:*, other.internal:8443")
    with _start_http(env) as proc:
        refused = _raw_tools_call(_url(proc), f"127.0.0.1:{proc.port}", body)
        assert 400 <= refused.status_code < 500, (refused.status_code, refused.text)
        assert upstream.mock.requests == []
        accepted = _raw_tools_call(_url(proc), f"svc.internal:{proc.port}", body)
        assert accepted.status_code == 200, (accepted.status_code, accepted.text, proc.describe())
    upstream.assert_forwarded(body)


def test_http_not_served_beside_mcp(mcp_service: RunningProcess) -> None:
    with httpx.Client(timeout=10.0) as http:
        resp = http.post(
            f"{mcp_service.base_url}/mcp/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"accept": "application/json, text/event-stream"},
        )
    assert resp.status_code == 404


@pytest.mark.parametrize(("mode", "version"), ERAS, ids=ERA_IDS)
def test_stdio_list_and_call(
    mode: str,
    version: str,
    upstream: Upstream,
    examples: dict[int, Example],
    tmp_path: Path,
) -> None:
    body = examples[1].body
    errlog_path = tmp_path / "stderr.log"

    async def go() -> tuple[str, types.ListToolsResult, types.CallToolResult]:
        with errlog_path.open("w") as errlog:
            transport = stdio_client(_stdio_params(upstream.env()), errlog=errlog)
            async with Client(transport, mode=mode) as client:
                tools = await client.list_tools()
                result = await client.call_tool(TOOL, {"body": body})
                return client.protocol_version, tools, result

    try:
        negotiated, tools, result = run(go)
    except Exception as exc:
        raise AssertionError(f"stdio server failed: {exc!r}\n{errlog_path.read_text()}") from exc
    assert negotiated == version
    _check_tool(tools)
    assert result.is_error is False, result
    assert result.structured_content == {}
    upstream.assert_forwarded(body)


def test_stdio_upstream_401_is_error(
    upstream: Upstream, examples: dict[int, Example], tmp_path: Path
) -> None:
    body = examples[9].body
    env = upstream.env(CUSTOMER_IO_PASS="not-the-key")
    errlog_path = tmp_path / "stderr.log"

    async def go() -> types.CallToolResult:
        with errlog_path.open("w") as errlog:
            async with Client(stdio_client(_stdio_params(env), errlog=errlog)) as client:
                return await client.call_tool(TOOL, {"body": body})

    try:
        result = run(go)
    except Exception as exc:
        raise AssertionError(f"stdio server failed: {exc!r}\n{errlog_path.read_text()}") from exc
    assert result.is_error is True, result
    assert result.structured_content == {"meta": {"error": "Unauthorized request"}}
    upstream.assert_forwarded(body, (upstream.credentials[0], "not-the-key"))
    assert _result_json(result) == {"meta": {"error": "Unauthorized request"}}


def test_create_app_builds_a_fresh_app_each_time(
    client_env: Upstream, examples: dict[int, Example]
) -> None:
    # The SDK's session manager runs once per instance: each app must own its own.
    from track_batch.mcp_server import create_app

    body = examples[1].body
    apps = [create_app(), create_app()]
    assert apps[0] is not apps[1]
    for app in apps:
        with serve_asgi(app) as url:

            async def go(url: str = url) -> types.CallToolResult:
                async with Client(f"{url}/mcp") as client:
                    return await client.call_tool(TOOL, {"body": body})

            result = run(go)
        assert result.is_error is False, result
        assert result.structured_content == {}
    assert [(r.method, r.path) for r in client_env.mock.requests] == [("POST", BATCH_PATH)] * 2
