"""MCP behaviour of the reference fixtures: the generated server on loopback (streamable HTTP)
or over stdio, driven by the official ``mcp`` client, against a recording upstream."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError
from support.processes import child_env
from support.recording_upstream import RecordingUpstream
from support.servers import free_port

from .conftest import TESTS, Conformance, Generation, run, serve_mcp

IMO = "IMO-9321483"
SHIP = {
    "imo_number": IMO,
    "vessel_name": "Northern Star",
    "vessel_type": "cargo",
    "flag_code": "NO",
    "operational_status": "active",
    "year_built": 2015,
    "gross_tonnage": 42000,
    "dimensions": {"length_overall": 229},
}
# What the Notion-like query API of mcp-capability.yaml answers.
QUERY_RESULTS = {
    "results": [
        {
            "id": "p1",
            "properties": {
                "Name": {"title": [{"text": {"content": "Ada"}}]},
                "Status": {"select": {"name": "Committed"}},
            },
        },
        {
            "id": "p2",
            "properties": {
                "Name": {"title": [{"text": {"content": "Grace"}}]},
                "Status": {"select": {"name": "Committed"}},
            },
        },
    ]
}
QUERY_BODY = {"filter": {"property": "Status", "select": {"equals": "Committed"}}}
# Protocol defaults of the four tool hints (MCP 2025-11-25, ToolAnnotations).
DEFAULT_HINTS = {
    "read_only_hint": False,
    "destructive_hint": True,
    "idempotent_hint": False,
    "open_world_hint": True,
}


def text_json(result: types.CallToolResult) -> Any:
    assert result.content and isinstance(result.content[0], types.TextContent), result
    return json.loads(result.content[0].text)


def call(url: str, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
    async def go() -> types.CallToolResult:
        async with Client(url) as client:
            return await client.call_tool(tool, arguments)

    return run(go)


def list_tools(url: str) -> dict[str, types.Tool]:
    async def go() -> types.ListToolsResult:
        async with Client(url) as client:
            return await client.list_tools()

    return {t.name: t for t in run(go).tools}


def effective_hints(tool: types.Tool) -> dict[str, Any]:
    """The four hints as a client must read them: absent means the protocol default."""
    ann = tool.annotations
    return {
        name: (
            getattr(ann, name) if ann is not None and getattr(ann, name) is not None else default
        )
        for name, default in DEFAULT_HINTS.items()
    }


# ---------------------------------------------------------------------------------------------
# mcp/mcp-tool-handler-with-mustache-capability.yaml (ToolHandlerTest)

MUSTACHE = f"{TESTS}/mcp/mcp-tool-handler-with-mustache-capability.yaml"


def test_mustache_with_resolves_path(conformance: Conformance, upstream: RecordingUpstream) -> None:
    # Engine test: `with: {imo_number: "{{imo}}"}` must not leave "Unresolved template
    # parameters in URI". Observable: the upstream receives the caller's value in the path.
    gen = conformance.generate(MUSTACHE)
    upstream.respond("GET", f"/ships/{IMO}", json_body=SHIP)
    with serve_mcp(gen) as url:
        tools = list_tools(url)
        result = call(url, "get-ship", {"imo": IMO})
    tool = tools["get-ship"]
    assert tool.description == "Get a ship by IMO number"
    assert tool.input_schema["required"] == ["imo"]
    assert tool.input_schema["properties"]["imo"]["type"] == "string"
    assert result.is_error is False, result
    assert text_json(result) == SHIP
    assert result.structured_content == SHIP
    assert [(r.method, r.path, r.query) for r in upstream.requests] == [
        ("GET", f"/ships/{IMO}", "")
    ]


def test_mustache_unknown_tool(conformance: Conformance, upstream: RecordingUpstream) -> None:
    # Engine: IllegalArgumentException "Unknown tool"; over MCP, a protocol error.
    gen = conformance.generate(MUSTACHE)
    with serve_mcp(gen) as url, pytest.raises(MCPError):
        call(url, "no-such-tool", {"imo": IMO})
    assert upstream.requests == []


def test_mustache_unreachable_upstream_is_tool_error(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Engine: the connection failure after resolution is tolerated (the call itself is sound);
    # here it is an `isError` result with one text, never a server failure.
    monkeypatch.setenv("REGISTRY_BASE_URI", f"http://127.0.0.1:{free_port()}")
    gen = conformance.generate(MUSTACHE)
    with serve_mcp(gen) as url:
        result = call(url, "get-ship", {"imo": IMO})
    assert result.is_error is True
    assert isinstance(result.content[0], types.TextContent)
    assert "could not be reached" in result.content[0].text
    assert upstream.requests == []


# ---------------------------------------------------------------------------------------------
# nested-object-output-capability.yaml (NestedObjectOutputMappingIntegrationTest)


def test_nested_object_output(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{TESTS}/nested-object-output-capability.yaml")
    upstream.respond("GET", f"/ships/{IMO}", json_body=SHIP)
    with serve_mcp(gen) as url:
        result = call(url, "get-ship", {"imo": IMO})
    assert result.is_error is False, result
    expected = {
        "imo": IMO,
        "name": "Northern Star",
        "status": "active",
        # Numbers stay numbers.
        "specs": {"yearBuilt": 2015, "tonnage": 42000, "length": 229},
    }
    assert text_json(result) == expected
    assert result.structured_content == expected
    assert [(r.method, r.path) for r in upstream.requests] == [("GET", f"/ships/{IMO}")]


# ---------------------------------------------------------------------------------------------
# mcp/mcp-capability.yaml (McpIntegrationTest, McpServerResourceTest, ProtocolDispatcher*)


def _check_query_database(url: str, upstream: RecordingUpstream) -> None:
    result = call(url, "query-database", {})
    assert result.is_error is False, result
    assert text_json(result) == [
        {"name": "Ada", "status": "Committed"},
        {"name": "Grace", "status": "Committed"},
    ]
    (req,) = upstream.requests
    # Resource path without a leading `/` continues the base path; the literal `with` value
    # fills the placeholder.
    assert (req.method, req.path) == ("POST", "/v1/databases/test-db-id-123/query")
    assert req.headers["content-type"].split(";")[0] == "application/json"
    assert req.json() == QUERY_BODY


def test_mcp_capability_tool(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{TESTS}/mcp/mcp-capability.yaml")
    upstream.respond("POST", "/v1/databases/test-db-id-123/query", json_body=QUERY_RESULTS)

    async def initialize(url: str) -> tuple[Any, Any, types.ListToolsResult]:
        async with Client(url) as client:
            return (
                client.server_info,
                client.server_capabilities,
                await client.list_tools(),
            )

    with serve_mcp(gen) as url:
        _info, capabilities, tools = run(lambda: initialize(url))
        # Only tools are advertised.
        assert capabilities.tools is not None
        assert capabilities.resources is None
        assert capabilities.prompts is None
        (tool,) = tools.tools
        assert tool.name == "query-database"
        assert tool.description == "Query the test database to retrieve committed participants."
        # `datasource_id` is fixed by `with`: not an argument.
        assert tool.input_schema.get("required", []) == []
        assert "datasource_id" not in tool.input_schema.get("properties", {})
        _check_query_database(url, upstream)


def test_mcp_capability_unreachable_upstream(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Engine: nothing listening upstream gives `isError: true` with content[0].type "text".
    monkeypatch.setenv("MOCK_API_BASE_URI", f"http://127.0.0.1:{free_port()}/v1")
    gen = conformance.generate(f"{TESTS}/mcp/mcp-capability.yaml")
    with serve_mcp(gen) as url:
        result = call(url, "query-database", {})
        with pytest.raises(MCPError):
            call(url, "no-such-tool", {})
    assert result.is_error is True
    assert isinstance(result.content[0], types.TextContent)


# mcp/mcp-stdio-capability.yaml (StdioIntegrationTest): the same tool over stdio.


def test_mcp_stdio(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{TESTS}/mcp/mcp-stdio-capability.yaml")
    gen.require()
    (package,) = [p.name for p in gen.out.iterdir() if (p / "__init__.py").is_file()]
    upstream.respond("POST", "/v1/databases/test-db-id-123/query", json_body=QUERY_RESULTS)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", package, "mcp", "--transport", "stdio"],
        env=child_env(pythonpath=gen.out),
        cwd=str(gen.out),
    )

    async def go() -> tuple[Any, types.ListToolsResult, types.CallToolResult]:
        async with Client(params) as client:
            # The engine test also sends `ping`; the protocol version the official SDK
            # negotiates (2026-07-28) removed that method (the SDK answers "Method not
            # found"), so the session is shown to be up by `tools/list` instead.
            tools = await client.list_tools()
            result = await client.call_tool("query-database", {})
            return client.server_info, tools, result

    info, tools, result = run(go)
    assert info.name == "test-mcp-stdio"
    assert [t.name for t in tools.tools] == ["query-database"]
    assert result.is_error is False, result
    assert text_json(result) == [
        {"name": "Ada", "status": "Committed"},
        {"name": "Grace", "status": "Committed"},
    ]
    (req,) = upstream.requests
    assert (req.method, req.path) == ("POST", "/v1/databases/test-db-id-123/query")
    assert req.json() == QUERY_BODY


# ---------------------------------------------------------------------------------------------
# mcp/mcp-hints-capability.yaml (McpToolHintsIntegrationTest)


def _hints_fixture(conformance: Conformance) -> Generation:
    # The fixture's `with: {id: ...}` names a parameter `delete-record` does not have (its path
    # is `data`, it declares none): naftiko-gen refuses that as E103, a spec error the engine
    # ignores. The hints under test do not depend on it, so that line is left out.
    return conformance.variant(
        f"{TESTS}/mcp/mcp-hints-capability.yaml",
        "without-dangling-with",
        ('          with:\n            id: "$this.hints-mcp.record-id"\n', ""),
    )


def test_hints(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = _hints_fixture(conformance)
    with serve_mcp(gen) as url:
        tools = list_tools(url)
    assert list(tools) == ["read-data", "delete-record", "no-hints-tool"]
    read = tools["read-data"]
    assert read.title == "Read Data"
    assert read.annotations is not None
    assert read.annotations.read_only_hint is True
    assert read.annotations.open_world_hint is True
    delete = tools["delete-record"]
    assert delete.title is None
    assert delete.annotations is not None
    assert delete.annotations.title is None
    assert (
        delete.annotations.read_only_hint,
        delete.annotations.destructive_hint,
        delete.annotations.idempotent_hint,
        delete.annotations.open_world_hint,
    ) == (False, True, True, False)
    # Engine: no `annotations` key. Equivalent for a client: every hint at its protocol default
    # (naftiko-gen states them explicitly, docs/semantics.md, Annotations).
    assert effective_hints(tools["no-hints-tool"]) == DEFAULT_HINTS


def test_hints_tools_call(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = _hints_fixture(conformance)
    upstream.respond("GET", "/v1/data", json_body={"result": "hello"})
    upstream.respond("DELETE", "/v1/data", status=204, text="")
    with serve_mcp(gen) as url:
        read = call(url, "read-data", {})
        delete = call(url, "delete-record", {"record-id": "r1"})
    assert read.is_error is False, read
    assert isinstance(read.content[0], types.TextContent)
    assert json.loads(read.content[0].text) == "hello"
    assert delete.is_error is False, delete
    assert [(r.method, r.path) for r in upstream.requests] == [
        ("GET", "/v1/data"),
        ("DELETE", "/v1/data"),
    ]


# ---------------------------------------------------------------------------------------------
# mcp/mcp-resources-prompts-capability.yaml (ResourcesPromptsIntegrationTest, ProtocolDispatcher*)

RESOURCES_PROMPTS = f"{TESTS}/mcp/mcp-resources-prompts-capability.yaml"


def test_resources_prompts_listing(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(RESOURCES_PROMPTS)

    async def go() -> tuple[Any, Any, Any, Any, Any]:
        async with Client(url) as client:
            return (
                client.server_capabilities,
                await client.list_tools(),
                await client.list_resources(),
                await client.list_resource_templates(),
                await client.list_prompts(),
            )

    with serve_mcp(gen) as url:
        capabilities, tools, resources, templates, prompts = run(go)
    assert capabilities.tools is not None
    assert capabilities.resources is not None
    assert capabilities.prompts is not None
    assert [(t.name, t.title) for t in tools.tools] == [("query-database", "Query Database")]
    # Only the fixed URI is a resource; the URI template is listed as a template.
    assert [(r.uri, r.name, r.title, r.mime_type) for r in resources.resources] == [
        (
            "data://databases/pre-release/schema",
            "database-schema",
            "Database Schema",
            "application/json",
        )
    ]
    assert [(t.uri_template, t.name, t.title) for t in templates.resource_templates] == [
        ("data://users/{userId}/profile", "user-profile", "User Profile")
    ]
    listed = {p.name: p for p in prompts.prompts}
    assert list(listed) == ["participant-outreach", "summary-prompt"]
    assert listed["participant-outreach"].title == "Participant Outreach"
    assert [(a.name, a.required) for a in listed["participant-outreach"].arguments or []] == [
        ("participant_name", True),
        ("product_name", True),
    ]
    assert [(a.name, bool(a.required)) for a in listed["summary-prompt"].arguments or []] == [
        ("data", True),
        ("format", False),
    ]


def test_prompts_get(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(RESOURCES_PROMPTS)

    async def go() -> list[Any]:
        async with Client(url) as client:
            return [
                await client.get_prompt(
                    "participant-outreach",
                    {"participant_name": "Ada", "product_name": "Engine"},
                ),
                # A value that looks like a placeholder is not expanded again; `\` and `$`
                # are copied as they are.
                await client.get_prompt(
                    "participant-outreach",
                    {
                        "participant_name": "{{product_name}}",
                        "product_name": "C:\\x $1 $$",
                    },
                ),
                await client.get_prompt("summary-prompt", {"data": "a,b", "format": "table"}),
            ]

    with serve_mcp(gen) as url:
        outreach, injected, summary = run(go)
        with pytest.raises(MCPError):
            run(lambda: _get_prompt(url, "no-such-prompt"))
    texts = [m.content.text for m in outreach.messages]
    assert texts == [
        (
            "Draft a personalized outreach email to Ada about the upcoming Engine pre-release. "
            "Be professional but friendly."
        )
    ]
    assert [m.role for m in outreach.messages] == ["user"]
    assert injected.messages[0].content.text.startswith(
        "Draft a personalized outreach email to {{product_name}} about the upcoming "
        "C:\\x $1 $$ pre-release."
    )
    assert [(m.role, m.content.text) for m in summary.messages] == [
        ("user", "Summarize the following data in table format:\n\na,b"),
        ("assistant", "I'll summarize the data for you."),
        ("user", "Please focus on the key insights."),
    ]
    assert upstream.requests == []


async def _get_prompt(url: str, name: str) -> Any:
    async with Client(url) as client:
        return await client.get_prompt(name, {})


def test_resources_read(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(RESOURCES_PROMPTS)
    upstream.respond("POST", "/v1/databases/test-db-id-123/query", json_body={"schema": 1})
    upstream.respond("POST", "/v1/databases/u42/query", json_body={"user": "u42"})

    async def read(uri: str) -> Any:
        async with Client(url) as client:
            return await client.read_resource(uri)

    with serve_mcp(gen) as url:
        fixed = run(lambda: read("data://databases/pre-release/schema"))
        templated = run(lambda: read("data://users/u42/profile"))
        # `{userId}` matches exactly one segment; an unknown URI is an invalid-params error.
        for uri in ("data://users/a/b/profile", "data://nowhere"):
            with pytest.raises(MCPError):
                run(functools.partial(read, uri))
    assert [json.loads(c.text) for c in fixed.contents] == [{"schema": 1}]
    assert fixed.contents[0].mime_type == "application/json"
    assert [json.loads(c.text) for c in templated.contents] == [{"user": "u42"}]
    assert [(r.method, r.path) for r in upstream.requests] == [
        ("POST", "/v1/databases/test-db-id-123/query"),
        ("POST", "/v1/databases/u42/query"),
    ]


# ---------------------------------------------------------------------------------------------
# mcp/mcp-step-with-namespace-capability.yaml (StepWithNamespaceIntegrationTest)


def test_step_with_namespace(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{TESTS}/mcp/mcp-step-with-namespace-capability.yaml")
    upstream.respond(
        "GET",
        "/voyages/VOY-2026-042",
        json_body={"voyageId": "VOY-2026-042", "status": "x"},
    )
    with serve_mcp(gen) as url:
        result = call(url, "get-voyage-manifest", {"voyageId": "VOY-2026-042"})
    assert result.is_error is False, result
    assert text_json(result) == {"voyageId": "VOY-2026-042"}
    # The caller's value, not the literal `shipyard-tools.voyageId`.
    assert [(r.method, r.path) for r in upstream.requests] == [("GET", "/voyages/VOY-2026-042")]


# ---------------------------------------------------------------------------------------------
# inline/mcp-auth-bearer-mock.yaml (McpAuthenticationIntegrationTest)

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "conformance", "version": "1"},
    },
}
ACCEPT = {"Accept": "application/json, text/event-stream"}


def test_mcp_bearer_auth(conformance: Conformance, upstream: RecordingUpstream) -> None:
    # The fixture's mock output has no `name` (the engine names it `value`); naftiko-gen
    # requires one (E152, docs/semantics.md "Output mapping": a mock's result is keyed by its
    # outputs' names; asserted in test_refusals.py). Authentication, under test here, does
    # not depend on it, so the output is named as the engine names it.
    gen = conformance.variant(
        "inline/mcp-auth-bearer-mock.yaml",
        "named-output",
        (
            '              value: "ok"\n',
            '              value: "ok"\n              name: "value"\n',
        ),
    )
    good = {**ACCEPT, "Authorization": "Bearer mcp-secret-token-123"}
    bad = {**ACCEPT, "Authorization": "Bearer wrong"}
    with serve_mcp(gen) as url:
        for headers in (ACCEPT, bad):
            assert httpx.post(url, json=INITIALIZE, headers=headers, timeout=10).status_code == 401
            assert httpx.get(url, headers=headers, timeout=10).status_code == 401
            assert httpx.delete(url, headers=headers, timeout=10).status_code == 401
        ok = httpx.post(url, json=INITIALIZE, headers=good, timeout=10)
    assert ok.status_code == 200, ok.text
    assert ok.json()["result"]["serverInfo"]["name"] == "auth-test-mcp"
