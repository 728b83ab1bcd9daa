"""Answers in yaml, html and markdown mapped to JSON: a generated package runs as a real uvicorn
REST service and MCP server (official `mcp` client) against a local upstream that answers a
YAML document, an HTML page with a decoy table outside the `outputSchema` selector, and a
Markdown file with front matter, a table and sections (docs/semantics.md, "Binds from files
and other answer formats")."""

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

SPEC = """\
naftiko: "1.0.0-alpha2"
info:
  label: Catalog pages
  description: A catalog published as YAML, an HTML page and Markdown release notes.
capability:
  consumes:
    - namespace: site
      type: http
      description: The catalog site.
      baseUri: "http://127.0.0.1:9/site"
      resources:
        - name: catalog
          path: "/catalog"
          operations:
            - name: get-catalog
              method: GET
              description: The catalog as YAML.
              outputRawFormat: yaml
        - name: prices
          path: "/prices"
          operations:
            - name: get-prices
              method: GET
              description: The price page.
              outputRawFormat: html
              outputSchema: "section#current table.prices"
        - name: notes
          path: "/notes"
          operations:
            - name: get-notes
              method: GET
              description: The release notes.
              outputRawFormat: markdown
              outputSchema: "Release"
  exposes:
    - type: rest
      namespace: catalog-api
      port: 3002
      resources:
        - name: items
          path: "/items"
          operations:
            - method: GET
              description: The catalog items.
              call: site.get-catalog
              outputParameters:
                - type: array
                  mapping: "$.catalog.items"
                  items:
                    type: object
                    properties:
                      sku:
                        type: string
                        mapping: "$.sku"
                      stock:
                        type: number
                        mapping: "$.stock"
                      active:
                        type: boolean
                        mapping: "$.active"
                      note:
                        type: string
                        mapping: "$.note"
        - name: prices
          path: "/prices"
          operations:
            - method: GET
              description: The current prices.
              call: site.get-prices
              outputParameters:
                - type: array
                  mapping: "$.tables[0]"
                  items:
                    type: object
                    properties:
                      product:
                        type: string
                        mapping: "$.Product"
                      price:
                        type: string
                        mapping: "$.Price"
        - name: summary
          path: "/summary"
          operations:
            - method: GET
              description: The first current price and the notes title, from two answers.
              steps:
                - type: call
                  name: prices
                  call: site.get-prices
                - type: call
                  name: notes
                  call: site.get-notes
                - type: call
                  name: catalog
                  call: site.get-catalog
              mappings:
                - targetName: product
                  value: "$.prices.tables[0][0].Product"
                - targetName: release
                  value: "$.notes.sections[1].heading"
                - targetName: first-sku
                  value: "$.catalog.catalog.items[0].sku"
    - type: mcp
      namespace: catalog-tools
      port: 3001
      description: Catalog pages.
      tools:
        - name: release-notes
          description: The release notes.
          call: site.get-notes
          outputParameters:
            - type: object
              properties:
                title:
                  type: string
                  mapping: "$.frontMatter.title"
                features:
                  type: array
                  mapping: "$.tables[0]"
                sections:
                  type: array
                  mapping: "$.sections"
"""
CATALOG = b"""catalog:
  updated: 2026-02-21
  items:
    - sku: A-1
      stock: 12
      active: true
    - sku: "007"
      stock: 0.5
      active: false
      note: no
"""
PRICES = b"""<!DOCTYPE html><html><body>
<table class="prices"><tr><th>Product</th><th>Price</th></tr><tr><td>Old</td><td>$1</td></tr></table>
<section id="current"><h2>Now</h2>
  <table class="prices">
    <thead><tr><th>Product</th><th>Price</th></tr></thead>
    <tbody>
      <tr><td>Widget <b>XL</b></td><td>&euro;42</td></tr>
      <tr><td>Gadget</td><td>$99</td></tr>
    </tbody>
  </table>
</section></body></html>"""
NOTES = b"""---
title: Catalog notes
---
# Release 2

Adds **prices**.

| Feature | Status |
|---|---|
| Prices | GA |

# Roadmap

Not selected.

## Release 1
First `release`.
"""


async def _site(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    kind, body = {
        "/site/catalog": (b"application/yaml", CATALOG),
        "/site/prices": (b"text/html; charset=utf-8", PRICES),
        "/site/notes": (b"text/markdown; charset=utf-8", NOTES),
    }.get(scope["path"], (b"text/plain", b""))
    status = 200 if body else 404
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalog")
    spec = folder / "catalog.yaml"
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
    return run_package(args, env=env, host="127.0.0.1", port=port, cwd=package, pythonpath=package,
                       package="catalog")


def test_rest_maps_yaml_and_html_answers(package: Path, site: dict[str, str]) -> None:
    with _serve(package, site, "rest") as proc:
        items = httpx.get(f"{proc.base_url}/items", timeout=10)
        prices = httpx.get(f"{proc.base_url}/prices", timeout=10)
        summary = httpx.get(f"{proc.base_url}/summary", timeout=10)
    assert items.status_code == 200, items.text
    # YAML keeps its types; `no` is text, as in the engine's YAML reader (true/false only)
    assert items.json() == [
        {"sku": "A-1", "stock": 12, "active": True, "note": None},
        {"sku": "007", "stock": 0.5, "active": False, "note": "no"},
    ]
    assert prices.status_code == 200, prices.text
    assert summary.status_code == 200, summary.text
    # orchestration steps read each answer in its format, with its selector or prefix
    assert summary.json() == {"product": "Widget XL", "release": "Release 1", "first-sku": "A-1"}
    # only the table under section#current: the first table on the page is not selected
    assert prices.json() == [{"product": "Widget XL", "price": "\u20ac42"}, {"product": "Gadget", "price": "$99"}]


def test_mcp_maps_a_markdown_answer(package: Path, site: dict[str, str]) -> None:
    async def go(proc: RunningProcess) -> Any:
        with anyio.fail_after(30):
            async with Client(f"{proc.base_url}/mcp") as client:
                return await client.call_tool("release-notes", {})

    with _serve(package, site, "mcp", "--transport", "http") as proc:
        result = anyio.run(go, proc)
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == {
        "title": "Catalog notes",
        "features": [{"Feature": "Prices", "Status": "GA"}],
        # only the sections whose heading starts with `outputSchema`; tables are not content
        "sections": [
            {"heading": "Release 2", "level": 1, "content": "Adds prices."},
            {"heading": "Release 1", "level": 2, "content": "First release."},
        ],
    }
    assert result.structured_content == json.loads(result.content[0].text)
