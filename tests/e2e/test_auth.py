"""Authentication and forwarding, end to end: a package generated from tests/data/auth/auth-demo.yaml
runs its REST service and MCP server on loopback (uvicorn) against a local upstream that really
challenges (HTTP Digest, checked with hashlib independently of httpx), issues OAuth 2.0 tokens,
and echoes forwarded requests. Credentials are distinctive and searched for in the logs."""

from __future__ import annotations

import base64
import hashlib
import importlib
import logging
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from support.servers import serve_asgi

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

SPEC = Path(__file__).resolve().parents[1] / "data" / "auth" / "auth-demo.yaml"
PACKAGE = "auth_demo"
ENV = {
    "DG_USER": "digest-user-SECRET1",
    "DG_PASS": "digest-pass-SECRET2",
    "OA_ID": "client:id-SECRET3",
    "OA_SECRET": "client secret&SECRET4",
    "SVC_TOKEN": "service-token-SECRET5",
    "DD_API": "dd-api-SECRET6",
    "DD_APP": "dd-app-SECRET7",
}
REALM = "demo@example"


@dataclass
class Upstream:
    """What the upstream saw, and how it answers tokens."""

    nonce: str = "a1b2c3d4e5"
    tokens_issued: list[str] = field(default_factory=list)
    token_lifetime: int | None = 3600
    revoked: set[str] = field(default_factory=set)
    seen: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _digest_params(header: str) -> dict[str, str]:
    return {k: a if a else b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header)}


def upstream_app(state: Upstream) -> Starlette:
    async def digest(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        challenge = f'Digest realm="{REALM}", nonce="{state.nonce}", qop="auth", algorithm=MD5'
        if not header.startswith("Digest "):
            return Response(status_code=401, headers={"WWW-Authenticate": challenge})
        p = _digest_params(header[7:])

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()  # RFC 7616 digests use MD5

        ha1 = md5(f"{ENV['DG_USER']}:{REALM}:{ENV['DG_PASS']}")
        ha2 = md5(f"{request.method}:{request.url.path}")
        want = md5(f"{ha1}:{state.nonce}:{p.get('nc')}:{p.get('cnonce')}:auth:{ha2}")
        ok = p.get("username") == ENV["DG_USER"] and p.get("response") == want and p.get("uri") == request.url.path
        if not ok:
            return Response(status_code=401, headers={"WWW-Authenticate": challenge})
        return JSONResponse({"id": request.path_params["id"]})

    async def token(request: Request) -> Response:
        basic = request.headers.get("authorization", "")
        pair = base64.b64decode(basic.removeprefix("Basic ")).decode() if basic.startswith("Basic ") else ""
        form = parse_qs((await request.body()).decode())
        # RFC 6749 section 2.3.1: id and secret are form-urlencoded before Basic encoding
        if pair != "client%3Aid-SECRET3:client+secret%26SECRET4" or form.get("grant_type") != ["client_credentials"]:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("scope") != ["read write"]:
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        with state.lock:
            issued = f"tok-{len(state.tokens_issued) + 1}"
            state.tokens_issued.append(issued)
        body: dict[str, Any] = {"access_token": issued, "token_type": "Bearer"}
        if state.token_lifetime is not None:
            body["expires_in"] = state.token_lifetime
        return JSONResponse(body)

    async def things(request: Request) -> Response:
        offered = request.headers.get("authorization", "").removeprefix("Bearer ")
        if offered not in state.tokens_issued or offered in state.revoked:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"token": offered})

    async def echo(request: Request) -> Response:
        state.seen.append({
            "method": request.method,
            "path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "headers": dict(request.headers),
            "body": (await request.body()).decode(),
        })
        return Response(b'{"echo": true}', status_code=202, media_type="application/json",
                        headers={"X-Upstream": "yes"})

    return Starlette(routes=[
        Route("/digest/items/{id}", digest),
        Route("/token", token, methods=["POST"]),
        Route("/oauth/things", things),
        Route("/keys/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
    ])


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, Upstream]]:
    state = Upstream()
    with serve_asgi(upstream_app(state)) as url:
        yield url, state


@pytest.fixture(scope="module")
def package(upstream: tuple[str, Upstream], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    url, _state = upstream
    root = tmp_path_factory.mktemp("auth")
    spec = root / "auth-demo.yaml"
    spec.write_text(SPEC.read_text("utf-8").replace("UPSTREAM", url), "utf-8")
    result = generate(spec, root)
    assert result.ok, [str(d) for d in result.diagnostics]
    output.write(root / "out", {result.package: result.files})
    sys.path.insert(0, str(root / "out"))
    try:
        module = importlib.import_module(PACKAGE)
        module.__dict__["_generated_into"] = root / "out"
        yield module
    finally:
        sys.path.remove(str(root / "out"))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return ENV


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_digest_answers_the_challenge(package: ModuleType, env: dict[str, str]) -> None:
    client_module = _module("client")
    with client_module.Client() as client:
        assert client.get_item(id_="i-1").json() == {"id": "i-1"}


def test_oauth2_token_fetched_once_then_renewed_when_refused(
    package: ModuleType, env: dict[str, str], upstream: tuple[str, Upstream]
) -> None:
    _url, state = upstream
    client_module = _module("client")
    before = len(state.tokens_issued)

    async def go() -> list[str]:
        async with client_module.AsyncClient() as client:
            results: list[str] = []

            async def one() -> None:
                results.append((await client.list_things()).json()["token"])

            async with anyio.create_task_group() as group:
                for _ in range(5):
                    group.start_soon(one)
            # the API refuses the token (revoked): one new token, and the call succeeds
            state.revoked.add(results[0])
            results.append((await client.list_things()).json()["token"])
            return results

    results = anyio.run(go)
    assert len(state.tokens_issued) == before + 2, state.tokens_issued
    assert set(results[:5]) == {state.tokens_issued[before]}  # five concurrent calls, one fetch
    assert results[5] == state.tokens_issued[before + 1]

    # the synchronous client shares nothing with the first: its own token, from threads at once
    with client_module.Client() as client:
        tokens: list[str] = []
        threads = [threading.Thread(target=lambda: tokens.append(client.list_things().json()["token"]))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert len(set(tokens)) == 1 and len(tokens) == 4
    assert len(state.tokens_issued) == before + 3


def test_oauth2_refused_client_is_the_answer(package: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                            env: dict[str, str]) -> None:
    monkeypatch.setenv("OA_SECRET", "wrong")
    client_module = _module("client")
    with client_module.Client() as client, pytest.raises(client_module.ApiStatusError) as caught:
        client.list_things()
    assert caught.value.response.status_code == 401
    assert caught.value.response.json() == {"error": "invalid_client"}
    shown = f"{caught.value} {caught.value!r} {caught.value.response!r}"
    assert "wrong" not in shown and ENV["OA_ID"] not in shown


def test_access_token_stays_out_of_errors(package: ModuleType, env: dict[str, str],
                                          upstream: tuple[str, Upstream]) -> None:
    _url, state = upstream
    client_module = _module("client")
    with client_module.Client() as client:
        client.list_things()
        token = state.tokens_issued[-1]
        # the learnt token is redacted like configured credentials
        assert client._config.redact(f"x {token} y") == "x *** y"
        assert ENV["OA_SECRET"] not in repr(client._config) and token not in repr(client._config)


def test_rest_requires_bearer_probes_stay_open(
    package: ModuleType, env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    rest = _module("rest")
    caplog.set_level(logging.DEBUG)
    with serve_asgi(rest.app) as url, httpx.Client(base_url=url, timeout=10) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/readyz").status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ENV["SVC_TOKEN"]}):
            refused = http.get("/items/i-2", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.headers["www-authenticate"] == 'Bearer realm="demo"'
            assert refused.headers["content-type"] == "application/problem+json"
        assert http.get("/openapi.json").status_code == 401
        good = {"Authorization": f"Bearer {ENV['SVC_TOKEN']}"}
        answer = http.get("/items/i-2", headers=good)
        assert answer.status_code == 200 and answer.json() == {"id": "i-2"}
        # the scheme is case-insensitive
        assert http.get("/things", headers={"authorization": f"bearer {ENV['SVC_TOKEN']}"}).status_code == 200
        # only GET and HEAD of a probe are open
        assert http.post("/healthz").status_code == 401
        document = http.get("/openapi.json", headers=good).json()
        assert document["components"]["securitySchemes"] == {"credential": {"type": "http", "scheme": "bearer"}}
        assert document["paths"]["/items/{id}"]["get"]["security"] == [{"credential": []}]
        assert "401" in document["paths"]["/items/{id}"]["get"]["responses"]
        assert document["paths"]["/healthz"]["get"]["security"] == []
    for secret in ENV.values():
        assert secret not in caplog.text


def test_rest_forward_passes_trusted_headers_only(
    package: ModuleType, env: dict[str, str], upstream: tuple[str, Upstream]
) -> None:
    _url, state = upstream
    rest = _module("rest")
    good = {"Authorization": f"Bearer {ENV['SVC_TOKEN']}"}
    with serve_asgi(rest.app) as url, httpx.Client(base_url=url, timeout=10) as http:
        assert http.get("/dd/v1/hosts").status_code == 401  # the forward is guarded too
        del state.seen[:]
        answer = http.post(
            "/dd/v1/hosts%2Fx?filter=a&filter=b",
            headers={**good, "X-Trace": "abc-123", "X-Other": "no", "Cookie": "c=1",
                     "Content-Type": "text/plain", "Accept-Encoding": "gzip;q=0.5"},
            content=b"raw body",
        )
        assert answer.status_code == 202
        assert answer.content == b'{"echo": true}'
        assert answer.headers["x-upstream"] == "yes"
        seen = state.seen[-1]
        assert seen["method"] == "POST"
        assert seen["path"] == "/keys/v1/hosts%2Fx"
        assert seen["query"] == "filter=a&filter=b&site=eu"
        assert seen["body"] == "raw body"
        headers = seen["headers"]
        assert headers["x-trace"] == "abc-123"
        assert "x-other" not in headers and "cookie" not in headers
        assert "authorization" not in headers
        assert headers["dd-api-key"] == ENV["DD_API"] and headers["dd-application-key"] == ENV["DD_APP"]
        assert headers["x-api-version"] == "2026-01"
        assert headers["content-type"] == "text/plain"
        assert headers["accept-encoding"] == "gzip;q=0.5"  # the caller's
        # a percent-encoded prefix still routes; the rest is re-encoded
        encoded = http.get("/%64d/v2/x%20y", headers=good)
        assert encoded.status_code == 202 and state.seen[-1]["path"] == "/keys/v2/x%20y"
        # a dot segment could climb above the base URI: refused before anything goes upstream
        count = len(state.seen)
        climbing = http.get("/dd/v1/%2e%2e/%2e%2e/digest/items/x", headers=good)
        assert climbing.status_code == 400
        assert len(state.seen) == count


def test_mcp_requires_api_key(package: ModuleType, env: dict[str, str]) -> None:
    mcp_server = _module("mcp_server")
    app = mcp_server.create_app()
    with serve_asgi(app) as url:
        with httpx.Client(timeout=10) as http:
            for method in ("GET", "POST", "DELETE"):
                refused = http.request(method, f"{url}/mcp", json={} if method == "POST" else None,
                                       headers={"X-MCP-Key": "wrong"})
                assert refused.status_code == 401, method
                assert refused.headers["www-authenticate"].startswith("ApiKey ")

        async def call(key: str) -> Any:
            async with httpx.AsyncClient(headers={"X-MCP-Key": key}, timeout=10) as http_client:
                transport = streamable_http_client(f"{url}/mcp", http_client=http_client)
                async with Client(transport) as client:
                    return await client.call_tool("get-item", {"id": "i-3"})

        result = anyio.run(call, ENV["SVC_TOKEN"])
        assert result.is_error is False and result.structured_content == {"id": "i-3"}
        with pytest.raises(Exception):  # noqa: B017 - the SDK's error for an HTTP 401
            anyio.run(call, "wrong")


def test_generated_code_is_lint_and_type_clean(package: ModuleType, tmp_path: Path) -> None:
    """The branches only these features render (digest, token flow, guards, forward) are held
    to the same bar as the committed packages."""
    out = package.__dict__["_generated_into"]
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "E,F,W,I,B,UP,PYI",
         "--line-length", "100", str(out / PACKAGE)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "-p", PACKAGE],
        cwd=out, capture_output=True, text=True, timeout=300, check=False,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr


@pytest.mark.parametrize(
    ("kind", "placement", "offer", "accepted"),
    [
        ("basic", "header", [(b"authorization", b"Basic " + base64.b64encode(b"ops:pw-1"))], True),
        ("basic", "header", [(b"authorization", b"BASIC " + base64.b64encode(b"ops:pw-1"))], True),
        ("basic", "header", [(b"authorization", b"Basic " + base64.b64encode(b"ops:pw-2"))], False),
        ("bearer", "header", [(b"authorization", b"Bearer pw-1 ")], False),
        ("apikey", "query", [], True),
        ("apikey", "header", [(b"x-key", b"pw-1")], True),
        ("apikey", "header", [(b"x-key", b"pw-")], False),
    ],
)
def test_credential_check(package: ModuleType, kind: str, placement: str, offer: list[tuple[bytes, bytes]],
                          accepted: bool) -> None:
    runtime = _module("_runtime")
    check = runtime.CredentialCheck(kind, realm='a "realm"', name="X-Key", placement=placement)
    scope = {"type": "http", "path": "/x", "headers": offer, "query_string": b"x-key=pw-1&other=1"}
    assert check.accepts(scope) is False  # not configured: nothing is accepted
    check.configure("pw-1", "ops")
    assert check.accepts(scope) is accepted
    assert "pw-1" not in repr(check)
    assert 'realm="a \\"realm\\""' in check.challenge
