"""Body templates end to end: a generated package (tests/data/request/shop-products.yaml) run
as real REST and MCP services against a recording upstream on loopback."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from support.processes import RunningProcess, run_package
from support.servers import free_port, read_body, serve_asgi

from .test_mcp import run

SPEC = Path(__file__).resolve().parents[1] / "data" / "request" / "shop-products.yaml"
PACKAGE = "shop_products"
API = "/admin/api/2025-01"


class Recorder:
    """An upstream that answers `{"ok": true}` and keeps every request it receives."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        self.requests.append({
            "method": scope["method"],
            "path": scope["raw_path"].decode("latin-1"),
            "headers": {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            "body": body,
        })
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("request") / "generated"
    result = subprocess.run([sys.executable, "-m", "naftiko_codegen", str(SPEC), "--out", str(out)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, Recorder]]:
    upstream = Recorder()
    with serve_asgi(upstream) as url:
        yield url, upstream


def _env(url: str) -> dict[str, str]:
    return {"SHOP_TOKEN": "tok-1", "SHOP_STORE": "acme", "SHOP_AGENT": "agent 7",
            "SHOP_ADMIN_BASE_URI": url + API}


def _serve(generated: Path, url: str, adapter: str) -> Any:
    port = free_port()
    args = [adapter, "--host", "127.0.0.1", "--port", str(port)]
    if adapter == "mcp":
        args[1:1] = ["--transport", "http"]
    return run_package(args, env=_env(url), host="127.0.0.1", port=port, cwd=generated,
                       pythonpath=generated, package=PACKAGE)


def _last(upstream: Recorder, before: int) -> dict[str, Any]:
    assert len(upstream.requests) == before + 1, upstream.requests[before:]
    return upstream.requests[-1]


def test_mcp_tool_fills_the_body_template(generated: Path, recorder: tuple[str, Recorder]) -> None:
    url, upstream = recorder
    with _serve(generated, url, "mcp") as proc:
        proc: RunningProcess

        async def go() -> Any:
            async with Client(f"{proc.base_url}/mcp") as client:
                tools = {t.name: t for t in (await client.list_tools()).tools}
                schema = tools["create-product"].input_schema
                # used inside text, `title` is required; values standing alone may be left out
                assert schema["required"] == ["title"]
                assert set(schema["properties"]) == {"title", "vendor", "count", "tags"}
                assert set(tools["create-sample"].input_schema["properties"]) == {"vendor", "tags"}
                full = await client.call_tool("create-product", {"title": "Mug \"XL\"", "count": 3,
                                                                 "tags": ["a", "b"]})
                sample = await client.call_tool("create-sample", {"vendor": {"name": "Acme"}})
                missing = await client.call_tool("create-product", {"count": 1})
                return full, sample, missing

        before = len(upstream.requests)
        full, sample, missing = run(go)
    assert full.is_error is False and sample.is_error is False, (full, sample)
    assert missing.is_error is True  # `title` is required: nothing went upstream for it
    first, second = upstream.requests[before:]
    assert (first["method"], first["path"]) == ("POST", f"{API}/products.json")
    assert first["headers"]["content-type"] == "application/json"
    assert first["headers"]["x-shopify-access-token"] == "tok-1"
    # typed values keep their JSON type, a value not given is left out (no `vendor`), and text
    # around a placeholder makes a string, escaped as JSON
    assert json.loads(first["body"]) == {"product": {
        "title": 'Mug "XL"', "count": 3, "tags": ["a", "b"], "published": True,
        "note": 'Created by agent 7 for Mug "XL"'}}
    assert json.loads(second["body"]) == {"product": {
        "title": "Sample", "vendor": {"name": "Acme"}, "count": 1, "published": True,
        "note": "Created by agent 7 for Sample"}}


def test_rest_route_sends_the_whole_body(generated: Path, recorder: tuple[str, Recorder]) -> None:
    url, upstream = recorder
    with _serve(generated, url, "rest") as proc:
        before = len(upstream.requests)
        answer = httpx.put(f"{proc.base_url}/products/a%20b", json=[{"id": 1}, None], timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"ok": True}
        got = _last(upstream, before)
    assert (got["method"], got["path"]) == ("PUT", f"{API}/products/a%20b.json")
    assert json.loads(got["body"]) == [{"id": 1}, None]


def test_templated_base_uri_reads_the_environment(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(generated))
    try:
        client = importlib.import_module(f"{PACKAGE}.client")
        env = {"SHOP_TOKEN": "t", "SHOP_AGENT": "a", "SHOP_STORE": "acme"}
        with client.Client(environ=env) as c:
            request = client._build_create_product(c._config, title="x")
        assert request.url == "https://acme.myshopify.com/admin/api/2025-01/products.json"
        with pytest.raises(client.ConfigurationError, match="SHOP_STORE"):
            client.Client(environ={"SHOP_TOKEN": "t", "SHOP_AGENT": "a"})
    finally:
        sys.path.remove(str(generated))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_unbound_server_variables_need_a_configured_base_uri(tmp_path: Path) -> None:
    spec = tmp_path / "shop-unbound.yaml"
    spec.write_text(SPEC.read_text("utf-8").replace("https://{{SHOP_STORE}}.myshopify.com", "https://{store}.myshopify.com"))
    result = subprocess.run([sys.executable, "-m", "naftiko_codegen", str(spec), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(tmp_path / "out"))
    try:
        client = importlib.import_module("shop_unbound.client")
        env = {"SHOP_TOKEN": "t", "SHOP_AGENT": "a", "SHOP_STORE": "unused"}
        with pytest.raises(client.ConfigurationError, match="SHOP_ADMIN_BASE_URI") as caught:
            client.Client(environ=env)
        assert "SHOP_ADMIN_BASE_URI" in str(caught.value) and "store" in str(caught.value)
        with client.Client(environ={**env, "SHOP_ADMIN_BASE_URI": "https://acme.example/api"}) as c:
            assert client._build_create_product(c._config, title="x").url == "https://acme.example/api/products.json"
    finally:
        sys.path.remove(str(tmp_path / "out"))
        for name in [m for m in sys.modules if m == "shop_unbound" or m.startswith("shop_unbound.")]:
            del sys.modules[name]
