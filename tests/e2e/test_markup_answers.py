"""`outputRawFormat: html` and `markdown` answers returned whole: a generated package runs as a
real uvicorn REST service and MCP server (official `mcp` client) against a local upstream that
answers an HTML page and a Markdown file. The REST answer is the upstream's bytes with its
Content-Type; the MCP tool returns the text."""

from __future__ import annotations

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

SPEC = """\
naftiko: "1.0.0-alpha2"
info:
  label: Docs pages
  description: An HTML page and a Markdown file, returned as the site sends them.
capability:
  consumes:
    - namespace: site
      type: http
      description: A documentation site.
      baseUri: "http://127.0.0.1:9/site"
      resources:
        - name: page
          path: "/page"
          operations:
            - name: get-page
              method: GET
              description: The products page.
              outputRawFormat: html
        - name: readme
          path: "/readme"
          operations:
            - name: get-readme
              method: GET
              description: The README.
              outputRawFormat: markdown
  exposes:
    - type: rest
      namespace: docs-api
      port: 3002
      resources:
        - name: page
          path: "/page"
          operations:
            - method: GET
              description: The products page.
              call: site.get-page
        - name: readme
          path: "/readme"
          operations:
            - method: GET
              description: The README.
              call: site.get-readme
              outputParameters:
                - type: string
                  mapping: "$."
    - type: mcp
      namespace: docs-tools
      port: 3001
      description: Documentation pages.
      tools:
        - name: get-readme
          description: The README.
          call: site.get-readme
"""
HTML = "<table class='products'><tr><th>Name</th></tr><tr><td>Widget \u2013 \u20ac9</td></tr></table>".encode()
MARKDOWN = b"---\ntitle: Demo\n---\n# Overview\n\n| Feature | Status |\n| --- | --- |\n| A | GA |\n"


async def _site(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    kind, body = {
        "/site/page": (b"text/html; charset=utf-8", HTML),
        "/site/readme": (b"text/markdown; charset=utf-8", MARKDOWN),
    }.get(scope["path"], (b"text/plain", b"no such page"))
    status = 200 if body != b"no such page" else 404
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    spec = folder / "docs.yaml"
    spec.write_text(SPEC, "utf-8")
    result = generate(spec, folder)
    assert result.ok, [d.render() for d in result.diagnostics if d.is_error]
    output.write(folder / "out", {result.package: result.files})
    return folder / "out"


@pytest.fixture(scope="module")
def site() -> Iterator[dict[str, str]]:
    with serve_asgi(_site) as url:
        yield {"SITE_BASE_URI": f"{url}/site"}


def _serve(package: Path, env: dict[str, str], *command: str) -> Any:
    port = free_port()
    args = [*command, "--host", "127.0.0.1", "--port", str(port)]
    return run_package(args, env=env, host="127.0.0.1", port=port, cwd=package, pythonpath=package, package="docs")


def test_rest_returns_html_and_markdown_as_sent(package: Path, site: dict[str, str]) -> None:
    with _serve(package, site, "rest") as proc:
        page = httpx.get(f"{proc.base_url}/page", timeout=10)
        readme = httpx.get(f"{proc.base_url}/readme", timeout=10)
    assert (page.status_code, page.content, page.headers["content-type"]) == (
        200, HTML, "text/html; charset=utf-8")
    assert (readme.status_code, readme.content, readme.headers["content-type"]) == (
        200, MARKDOWN, "text/markdown; charset=utf-8")


def test_mcp_tool_returns_the_markdown_text(package: Path, site: dict[str, str]) -> None:
    async def go(proc: RunningProcess) -> Any:
        with anyio.fail_after(30):
            async with Client(f"{proc.base_url}/mcp") as client:
                return await client.call_tool("get-readme", {})

    with _serve(package, site, "mcp", "--transport", "http") as proc:
        result = anyio.run(go, proc)
    assert not result.is_error, result.content
    assert result.content[0].text == MARKDOWN.decode()
