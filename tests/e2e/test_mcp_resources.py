"""MCP resources, prompts and an explicit tool `inputSchema`, end to end: a package generated
from tests/data/mcp/resources-prompts.yaml, served over streamable HTTP and stdio, driven by the
official ``mcp`` client against a recording upstream on loopback.

Expected values are read from the spec here, not from the generator's model."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import mcp_types as types
import pytest
import yaml
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from support.processes import RunningProcess, child_env, run_package
from support.servers import answer_lifespan, free_port, serve_asgi

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

from .test_mcp import ERA_IDS, ERAS, run

SPEC = Path(__file__).resolve().parents[1] / "data" / "mcp" / "resources-prompts.yaml"
PACKAGE = "resources_prompts"
MCP = next(a for a in yaml.safe_load(SPEC.read_text())["capability"]["exposes"] if a["type"] == "mcp")


class Directory:
    """The consumed API: `GET /v1/users/{id}/profile` (404 for id 404) and `GET /v1/status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        path = scope.get("raw_path", scope["path"].encode()).decode()
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        self.requests.append((scope["method"], path, query))
        status, body = 200, {"path": path, "query": query}
        if path == "/v1/users/404/profile":
            status, body = 404, {"error": "no such user"}
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = generate(SPEC, SPEC.parent)
    assert result.ok, [str(d) for d in result.diagnostics]
    folder = tmp_path_factory.mktemp("mcp-resources")
    output.write(folder, {result.package: result.files})
    assert result.package == PACKAGE
    return folder


@pytest.fixture(scope="module")
def directory() -> Iterator[tuple[str, Directory]]:
    app = Directory()
    with serve_asgi(app) as url:
        yield url, app


@pytest.fixture
def upstream(directory: tuple[str, Directory]) -> Directory:
    directory[1].requests.clear()
    return directory[1]


GUIDES = {"intro.md": b"# Intro\n", "api/errors.json": b'{"e": 1}', "logo.bin": bytes(range(256))}


@pytest.fixture(scope="module")
def guides(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory served as `docs://guides`, with files that must not be served too."""
    root = tmp_path_factory.mktemp("guides")
    for name, data in GUIDES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "bad name.txt").write_text("a name with a space is not served")
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("secret")
    (root / "link.txt").symlink_to(outside)
    return root


REVIEW = "Review {{who}}'s profile; {{ who }} asked. {{other}} \"\"\" {{%x}}\n"


def _env(directory: tuple[str, Directory], guides: Path | None = None) -> dict[str, str]:
    # the spec's directory and prompt file (/srv/...) are replaced through the variables the
    # README documents
    if guides is None:
        return {"DIRECTORY_BASE_URI": directory[0] + "/v1"}
    (guides.parent / "review.md").write_text(REVIEW)
    return {"DIRECTORY_BASE_URI": directory[0] + "/v1", "RESOURCES_PROMPTS_GUIDES_DIR": str(guides),
            "RESOURCES_PROMPTS_REVIEW_PROMPT_FILE": str(guides.parent / "review.md")}


@pytest.fixture(scope="module")
def service(package: Path, directory: tuple[str, Directory], guides: Path) -> Iterator[RunningProcess]:
    port = free_port()
    with run_package(["mcp", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
                     env=_env(directory, guides), host="127.0.0.1", port=port, cwd=package,
                     pythonpath=package, package=PACKAGE) as proc:
        yield proc


def _url(proc: RunningProcess) -> str:
    return f"{proc.base_url}/mcp"


def _text(contents: types.ReadResourceResult) -> Any:
    assert len(contents.contents) == 1
    item = contents.contents[0]
    assert isinstance(item, types.TextResourceContents), item
    return json.loads(item.text)


@pytest.mark.parametrize(("mode", "version"), ERAS, ids=ERA_IDS)
def test_lists_what_the_spec_declares(mode: str, version: str, service: RunningProcess) -> None:
    async def go() -> tuple[Any, ...]:
        async with Client(_url(service), mode=mode) as client:
            return (client.protocol_version, await client.list_resources(),
                    await client.list_resource_templates(), await client.list_prompts(),
                    await client.list_tools())

    negotiated, resources, templates, prompts, tools = run(go)
    assert negotiated == version
    concrete = [r for r in MCP["resources"] if "{" not in r["uri"] and "location" not in r]
    templated = [r for r in MCP["resources"] if "{" in r["uri"]]
    files = [r for r in MCP["resources"] if "location" in r]
    called = [r for r in resources.resources if not r.uri.startswith("docs://")]
    assert [(r.name, r.title, r.uri, r.description) for r in called] == [
        (r["name"], r["label"], r["uri"], r["description"]) for r in concrete]
    assert [r.mime_type for r in called] == ["application/json"]  # the default
    # each plain regular file under the directory, in path order; not the odd name, not the link
    (folder,) = files
    served = [r for r in resources.resources if r.uri.startswith("docs://")]
    assert [r.uri for r in served] == [f"{folder['uri']}/{name}" for name in sorted(GUIDES)]
    assert {r.title for r in served} == {folder["label"]}
    assert [r.mime_type for r in served] == ["application/json", "text/markdown", "application/octet-stream"]
    assert [(t.name, t.title, t.uri_template, t.mime_type) for t in templates.resource_templates] == [
        (r["name"], r["label"], r["uri"], r["mimeType"]) for r in templated]
    declared = MCP["prompts"]
    assert [(p.name, p.title, p.description) for p in prompts.prompts] == [
        (p["name"], p["label"], p["description"]) for p in declared]
    assert [(a.name, a.title, a.description, a.required) for a in prompts.prompts[0].arguments or []] == [
        (a["name"], a.get("label"), a["description"], a.get("required", True)) for a in declared[0]["arguments"]]
    tool = tools.tools[0]
    assert tool.input_schema == MCP["tools"][0]["inputSchema"]
    assert tool.title == MCP["tools"][0]["label"]
    assert tool.annotations is not None and tool.annotations.read_only_hint is True
    assert tool.annotations.destructive_hint is False


@pytest.mark.parametrize(("mode", "version"), ERAS, ids=ERA_IDS)
def test_read_calls_upstream(mode: str, version: str, service: RunningProcess, upstream: Directory) -> None:
    async def go() -> tuple[types.ReadResourceResult, types.ReadResourceResult]:
        async with Client(_url(service), mode=mode) as client:
            return (await client.read_resource("status://regions/eu"),
                    await client.read_resource("data://users/42/profile"))

    status, profile = run(go)
    assert _text(status) == {"path": "/v1/status", "query": {"region": "eu"}}
    assert str(status.contents[0].uri) == "status://regions/eu"
    assert status.contents[0].mime_type == "application/json"
    assert _text(profile) == {"path": "/v1/users/42/profile", "query": {"fields": "name,email"}}
    assert upstream.requests == [("GET", "/v1/status", {"region": "eu"}),
                                 ("GET", "/v1/users/42/profile", {"fields": "name,email"})]


def test_read_files(service: RunningProcess, upstream: Directory) -> None:
    async def go() -> list[types.ReadResourceResult]:
        async with Client(_url(service)) as client:
            return [await client.read_resource(f"docs://guides/{name}") for name in GUIDES]

    results = run(go)
    for name, result in zip(GUIDES, results, strict=True):
        (item,) = result.contents
        assert str(item.uri) == f"docs://guides/{name}"
        if isinstance(item, types.TextResourceContents):
            assert item.text.encode() == GUIDES[name]
        else:
            assert isinstance(item, types.BlobResourceContents)
            assert base64.b64decode(item.blob) == GUIDES[name] and name == "logo.bin"
    assert upstream.requests == []


@pytest.mark.parametrize("uri", ["docs://guides/../guides/intro.md", "docs://guides/link.txt",
                                 "docs://guides/bad%20name.txt", "docs://guides/bad name.txt",
                                 "docs://guides/api", "docs://guides/", "docs://guides//intro.md",
                                 "docs://guides/missing.md", "docs://guides/api/../../x"])
def test_files_outside_the_plain_names_are_not_served(uri: str, service: RunningProcess) -> None:
    async def go() -> types.ReadResourceResult:
        async with Client(_url(service)) as client:
            return await client.read_resource(uri)

    with pytest.raises(MCPError) as caught:
        run(go)
    assert caught.value.error.code == types.INVALID_PARAMS


@pytest.mark.parametrize("uri", ["data://users/abc/profile", "data://users/4%2F2/profile",
                                 "data://users/42/profile/more", "status://regions/us", "nope"])
def test_bad_or_unknown_uri_is_a_protocol_error(uri: str, service: RunningProcess, upstream: Directory) -> None:
    async def go() -> types.ReadResourceResult:
        async with Client(_url(service)) as client:
            return await client.read_resource(uri)

    with pytest.raises(MCPError) as caught:
        run(go)
    assert caught.value.error.code == types.INVALID_PARAMS
    assert upstream.requests == []


def test_upstream_error_is_a_protocol_error(service: RunningProcess, upstream: Directory) -> None:
    async def go() -> types.ReadResourceResult:
        async with Client(_url(service)) as client:
            return await client.read_resource("data://users/404/profile")

    with pytest.raises(MCPError) as caught:
        run(go)
    assert "404" in caught.value.error.message
    assert upstream.requests == [("GET", "/v1/users/404/profile", {"fields": "name,email"})]


@pytest.mark.parametrize(("mode", "version"), ERAS, ids=ERA_IDS)
def test_get_prompt_puts_arguments_in(mode: str, version: str, service: RunningProcess) -> None:
    # a value that looks like a placeholder or code stays as given
    who = "Ada {{tone}} \"\"\" '; import os"

    async def go() -> tuple[types.GetPromptResult, types.GetPromptResult]:
        async with Client(_url(service), mode=mode) as client:
            return (await client.get_prompt("outreach", {"who": who, "tone": "warm"}),
                    await client.get_prompt("outreach", {"who": "Bob"}))

    full, partial = run(go)
    template = MCP["prompts"][0]["template"]

    def expected(values: dict[str, str]) -> list[tuple[str, str]]:
        out = []
        for message in template:
            text = message["content"]
            for name in ("who", "tone"):  # independent of how the generator splits the text
                for spelling in ("{{" + name + "}}", "{{ " + name + " }}"):
                    text = text.replace(spelling, "\0" + name + "\0")
            parts = text.split("\0")
            out.append((message["role"], "".join(
                values.get(p, "") if i % 2 else p for i, p in enumerate(parts))))
        return out

    def got(result: types.GetPromptResult) -> list[tuple[str, str]]:
        return [(m.role, m.content.text) for m in result.messages if isinstance(m.content, types.TextContent)]

    assert got(full) == expected({"who": who, "tone": "warm"})
    assert got(full)[0][1].startswith(f"Write to {who} in a warm tone")
    assert got(partial) == expected({"who": "Bob"})
    assert full.description == MCP["prompts"][0]["description"]


def test_prompt_read_from_a_file(service: RunningProcess) -> None:
    async def go() -> types.GetPromptResult:
        async with Client(_url(service)) as client:
            return await client.get_prompt("review", {"who": "{{other}}"})

    result = run(go)
    assert [(m.role, m.content.text) for m in result.messages] == [  # type: ignore[union-attr]
        ("user", "Review {{other}}'s profile; {{other}} asked. {{other}} \"\"\" {{%x}}\n")]


@pytest.mark.parametrize(("name", "arguments"), [("outreach", {"tone": "warm"}), ("nope", {}),
                                                 ("review", {})],
                         ids=["missing-required", "unknown", "file-missing-required"])
def test_bad_prompt_request_is_a_protocol_error(name: str, arguments: dict[str, str], service: RunningProcess) -> None:
    async def go() -> types.GetPromptResult:
        async with Client(_url(service)) as client:
            return await client.get_prompt(name, arguments)

    with pytest.raises(MCPError) as caught:
        run(go)
    assert caught.value.error.code == types.INVALID_PARAMS


def test_explicit_input_schema_validates_arguments(service: RunningProcess, upstream: Directory) -> None:
    async def go() -> list[types.CallToolResult]:
        async with Client(_url(service)) as client:
            return [await client.call_tool("get-status", args)
                    for args in ({"region": "mars"}, {}, {"region": "eu", "x": 1}, {"region": "us"})]

    *bad, good = run(go)
    assert [r.is_error for r in bad] == [True, True, True]
    assert good.is_error is False
    assert good.structured_content == {"path": "/v1/status", "query": {"region": "us"}}
    assert upstream.requests == [("GET", "/v1/status", {"region": "us"})]


def test_stdio(package: Path, directory: tuple[str, Directory], upstream: Directory,
               tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", PACKAGE, "mcp", "--transport", "stdio"],
        env=child_env(_env(directory), pythonpath=package), cwd=str(package))
    errlog_path = tmp_path / "stderr.log"

    async def go() -> tuple[Any, ...]:
        with errlog_path.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                try:  # no file at the spec's path here
                    await client.get_prompt("review", {"who": "Cy"})
                    missing_file: Exception | None = None
                except MCPError as exc:
                    missing_file = exc
                return (await client.list_resources(), await client.list_resource_templates(),
                        await client.read_resource("data://users/7/profile"),
                        await client.get_prompt("outreach", {"who": "Cy", "tone": "dry"}), missing_file)

    try:
        resources, templates, profile, prompt, missing_file = run(go)
    except Exception as exc:
        raise AssertionError(f"stdio server failed: {exc!r}\n{errlog_path.read_text()}") from exc
    assert [r.uri for r in resources.resources] == ["status://regions/eu"]
    assert [t.uri_template for t in templates.resource_templates] == ["data://users/{userId}/profile"]
    assert _text(profile)["path"] == "/v1/users/7/profile"
    assert prompt.messages[0].content.text.startswith("Write to Cy in a dry tone")
    assert isinstance(missing_file, MCPError) and missing_file.error.code == types.INTERNAL_ERROR
    assert upstream.requests == [("GET", "/v1/users/7/profile", {"fields": "name,email"})]


def test_stdio_from_the_spec_is_the_default_transport(tmp_path: Path, directory: tuple[str, Directory],
                                                      upstream: Directory) -> None:
    spec = tmp_path / "stdio-directory.yaml"
    spec.write_text(SPEC.read_text().replace("      port: 9091\n", "      transport: stdio\n"))
    result = generate(spec, spec.parent)
    assert result.ok, [d.render() for d in result.diagnostics]
    output.write(tmp_path / "out", {result.package: result.files})
    params = StdioServerParameters(
        command=sys.executable, args=["-m", result.package, "mcp"],  # no --transport
        env=child_env(_env(directory), pythonpath=tmp_path / "out"), cwd=str(tmp_path / "out"))
    errlog_path = tmp_path / "stderr.log"

    async def go() -> types.ReadResourceResult:
        with errlog_path.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                return await client.read_resource("status://regions/eu")

    try:
        status = run(go)
    except Exception as exc:
        raise AssertionError(f"stdio server failed: {exc!r}\n{errlog_path.read_text()}") from exc
    assert _text(status) == {"path": "/v1/status", "query": {"region": "eu"}}
    assert upstream.requests == [("GET", "/v1/status", {"region": "eu"})]
