"""Credentials never leave through an error: with distinctive credential values, every error
path of the REST service, the MCP server (HTTP and stdio) and the client is driven, and all
their logs, answers, exception texts and reprs are searched for the values and for the forms
in which they are sent (Base64 Basic token, percent-encoded query value)."""

from __future__ import annotations

import base64
import importlib
import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, quote_plus

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from support.customerio_mock import CustomerioMock, MockConfig
from support.processes import GENERATED_DIR, RunningProcess, child_env, run_package, stop
from support.servers import free_port, serve_asgi

from .conftest import IDEMPOTENT_PACKAGE, IDEMPOTENT_PREFIX, fast_retries, generate_variant

USER = "site-SECRETUSER-5e1f0a"
PASSWORD = "key-SECRETPASS-9c2d7b"
WRONG_PASSWORD = "key-WRONGPASS-77aa31"
TOOL = "batch-entity-operations"
REST_PATH = "/v1/v2/batch"
BODY = {"batch": [{"type": "person", "action": "identify", "identifiers": {"id": "u1"}}]}
APIKEY_PACKAGE = "track_batch_apikey"


def _forms(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote(value), quote_plus(value)}


def forbidden() -> set[str]:
    """Every form a credential could be seen in."""
    found: set[str] = set()
    for value in (USER, PASSWORD, WRONG_PASSWORD):
        found |= _forms(value)
    for password in (PASSWORD, WRONG_PASSWORD):
        raw = f"{USER}:{password}".encode()
        for token in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            found |= _forms(token.decode())
    return found


def assert_clean(where: str, text: str) -> None:
    leaked = sorted(f for f in forbidden() if f in text)
    assert not leaked, f"{where} contains {leaked}:\n{text[:3000]}"


@dataclass
class SecretUpstream:
    mock: CustomerioMock
    url: str

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            "CUSTOMER_IO_USER": USER,
            "CUSTOMER_IO_PASS": PASSWORD,
            "TRACK_BATCH_BASE_URI": f"{self.url}/api/v1",
        }
        env.update(overrides)
        return env


@pytest.fixture(scope="module")
def secret_upstream() -> Iterator[SecretUpstream]:
    mock = CustomerioMock(MockConfig(site_id=USER, api_key=PASSWORD))
    with serve_asgi(mock.app) as url:
        yield SecretUpstream(mock, url)


@pytest.fixture
def upstream(secret_upstream: SecretUpstream) -> SecretUpstream:
    secret_upstream.mock.reset()
    return secret_upstream


@pytest.fixture(scope="module")
def apikey_generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """track-batch with its password sent as an `api_key` query parameter instead."""
    return generate_variant(
        tmp_path_factory.mktemp("apikey"),
        "track-batch-apikey",
        (
            (
                "      type: basic\n      username: '{{env.CUSTOMER_IO_USER}}'\n"
                "      password: '{{env.CUSTOMER_IO_PASS}}'\n"
            ),
            (
                "      type: apikey\n      key: api_key\n      value: '{{env.CUSTOMER_IO_PASS}}'\n"
                "      placement: query\n"
            ),
        ),
    )


@dataclass(frozen=True)
class Package:
    name: str
    prefix: str
    generated: Path
    attempts: int  # upstream attempts a retried failure takes (3 when retried)


@pytest.fixture(scope="module")
def packages(idempotent_generated: Path) -> list[Package]:
    return [
        Package("track_batch", "TRACK_BATCH", GENERATED_DIR, 1),
        Package(IDEMPOTENT_PACKAGE, IDEMPOTENT_PREFIX, idempotent_generated, 3),
    ]


def start(
    package: Package | tuple[str, str, Path], command: str, env: dict[str, str]
) -> AbstractContextManager[RunningProcess]:
    name, _prefix, generated = (
        (package.name, package.prefix, package.generated)
        if isinstance(package, Package)
        else package
    )
    port = free_port()
    args = ["rest"] if command == "rest" else ["mcp", "--transport", "http"]
    return run_package(
        [*args, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        host="127.0.0.1",
        port=port,
        cwd=generated,
        pythonpath=generated,
        package=name,
    )


def final_log(proc: RunningProcess) -> str:
    """The service's whole stderr, shutdown included (read before its folder is removed)."""
    stop(proc)
    return proc.stderr_text()


def describe(resp: httpx.Response) -> str:
    return f"{resp.status_code} {dict(resp.headers)} {resp.text}"


# Faults, each queued as many times as the call will try: (fault, expected REST status).
UPSTREAM_FAULTS: list[tuple[dict[str, Any], int]] = [
    ({"status": 500, "body_text": "internal"}, 500),
    ({"status": 503, "retry_after": 0}, 503),
    ({"delay_s": 2.0}, 504),
    ({"status": 200, "body_text": "not json"}, 502),
    ({"status": 200, "body_bytes": 2 * 1024 * 1024}, 502),
    ({"status": 200, "body_bytes": 100_000, "truncate": True}, 502),
    ({"drop_connection": "reset"}, 502),
]
RETRIED = {500, 503, 504}


def times(package: Package, fault: dict[str, Any], status: int) -> int:
    retried = status in RETRIED or "truncate" in fault or "drop_connection" in fault
    return package.attempts if retried else 1


def settings(package: Package) -> dict[str, str]:
    return fast_retries(package.prefix, **{f"{package.prefix}_TIMEOUT": "0.5"})


def rest_answers(proc: RunningProcess, upstream: SecretUpstream, package: Package) -> list[str]:
    """Drive every error path of a REST service; its answers."""
    answers: list[str] = []
    with httpx.Client(base_url=proc.base_url, timeout=30.0) as http:
        for fault, status in UPSTREAM_FAULTS:
            upstream.mock.reset()
            for _ in range(times(package, fault, status)):
                upstream.mock.queue_fault(fault)
            resp = http.post(REST_PATH, json=BODY)
            assert resp.status_code == status, (fault, describe(resp))
            answers.append(describe(resp))
        # credentials the upstream rejects: its 401, passed through
        upstream.mock.reset()
        upstream.mock.update_config(api_key=WRONG_PASSWORD)
        resp = http.post(REST_PATH, json=BODY)
        assert resp.status_code == 401, describe(resp)
        answers.append(describe(resp))
        upstream.mock.reset()
        for kwargs, status in [
            ({"content": b"{not json"}, 400),
            ({"json": [1]}, 422),
            ({"content": b"{}" + b" " * (1024 * 1024)}, 413),
        ]:
            resp = http.post(REST_PATH, **kwargs)  # type: ignore[arg-type]
            assert resp.status_code == status, describe(resp)
            answers.append(describe(resp))
        for path in ("/readyz", "/healthz", "/openapi.json", "/nowhere"):
            answers.append(describe(http.get(path)))
    return answers


def test_rest_error_paths(upstream: SecretUpstream, packages: list[Package]) -> None:
    for package in packages:
        with start(package, "rest", upstream.env(**settings(package))) as proc:
            assert_clean(
                f"{package.name} REST answers", "\n".join(rest_answers(proc, upstream, package))
            )
            log = final_log(proc)
        assert_clean(f"{package.name} REST log", log)
        if package.attempts > 1:
            assert "retrying POST" in log  # the retries were logged


def mcp_results(url: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    async def go() -> list[Any]:
        results: list[Any] = []
        with anyio.fail_after(60.0):
            async with Client(url) as client:
                for name, arguments in calls:
                    try:
                        results.append(await client.call_tool(name, arguments))
                    except MCPError as exc:  # the unknown tool's protocol error
                        results.append(exc)
        return results

    return anyio.run(go)


def test_connect_errors(upstream: SecretUpstream, packages: list[Package]) -> None:
    # The retried operation: its errors and its log lines about each retry.
    package = packages[1]
    closed = f"http://127.0.0.1:{free_port()}/api/v1"
    env = upstream.env(TRACK_BATCH_BASE_URI=closed, **settings(package))
    with start(package, "rest", env) as rest, start(package, "mcp", env) as mcp:
        resp = httpx.post(rest.base_url + REST_PATH, json=BODY, timeout=30.0)
        assert resp.status_code == 502
        (result,) = mcp_results(f"{mcp.base_url}/mcp", [(TOOL, {"body": BODY})])
        assert result.is_error
        assert_clean("connect-error answers", describe(resp) + repr(result))
        logs = final_log(rest) + final_log(mcp)
    assert logs.count("retrying POST") == 4
    assert_clean("connect-error logs", logs)


def test_mcp_http_error_paths(upstream: SecretUpstream, packages: list[Package]) -> None:
    for package in packages:
        with start(package, "mcp", upstream.env(**settings(package))) as proc:
            seen: list[str] = []
            for fault, status in UPSTREAM_FAULTS:
                upstream.mock.reset()
                for _ in range(times(package, fault, status)):
                    upstream.mock.queue_fault(fault)
                (result,) = mcp_results(f"{proc.base_url}/mcp", [(TOOL, {"body": BODY})])
                assert isinstance(result, types.CallToolResult) and result.is_error, result
                seen.append(repr(result))
            upstream.mock.reset()
            upstream.mock.update_config(api_key=WRONG_PASSWORD)
            (rejected,) = mcp_results(f"{proc.base_url}/mcp", [(TOOL, {"body": BODY})])
            assert rejected.content[1].text == "upstream answered HTTP 401"
            upstream.mock.reset()
            invalid = mcp_results(
                f"{proc.base_url}/mcp", [(TOOL, {"body": "x"}), ("no-such-tool", {})]
            )
            seen.extend(repr(r) for r in [rejected, *invalid])
            assert_clean(f"{package.name} MCP results", "\n".join(seen))
            assert_clean(f"{package.name} MCP log", final_log(proc))


def test_mcp_stdio_error_paths(upstream: SecretUpstream, tmp_path: Path) -> None:
    errlog_path = tmp_path / "stderr.log"
    env = upstream.env(CUSTOMER_IO_PASS=WRONG_PASSWORD, TRACK_BATCH_TIMEOUT="0.5")
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "track_batch", "mcp", "--transport", "stdio"],
        env=child_env(env, pythonpath=GENERATED_DIR),
        cwd=str(GENERATED_DIR),
    )

    async def go() -> list[types.CallToolResult]:
        with errlog_path.open("w") as errlog, anyio.fail_after(60.0):
            async with Client(stdio_client(params, errlog=errlog)) as client:
                return [
                    await client.call_tool(TOOL, {"body": BODY}),
                    await client.call_tool(TOOL, {"body": 1}),
                ]

    results = anyio.run(go)
    assert [r.is_error for r in results] == [True, True]
    assert_clean("stdio results", repr(results))
    assert_clean("stdio log", errlog_path.read_text())


def import_client(monkeypatch: pytest.MonkeyPatch, generated: Path, package: str) -> ModuleType:
    monkeypatch.syspath_prepend(str(generated))
    return importlib.import_module(f"{package}.client")


def exception_texts(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(vars(exc))]
    response = getattr(exc, "response", None)
    if response is not None:
        parts += [repr(response), repr(response.request), response.text]
    return "\n".join(parts)


def test_client_error_paths(
    upstream: SecretUpstream,
    packages: list[Package],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    for name, value in upstream.env().items():
        monkeypatch.setenv(name, value)
    seen: list[str] = []
    for package in packages:
        client_module = import_client(monkeypatch, package.generated, package.name)
        retry = client_module.RetryPolicy(max_retries=2, backoff=0.01, backoff_max=0.05)
        with client_module.Client(timeout=0.5, retries=retry, max_response_bytes=1 << 20) as client:
            seen += [repr(client), repr(client._config), repr(vars(client))]
            for fault, status in UPSTREAM_FAULTS:
                upstream.mock.reset()
                for _ in range(times(package, fault, status)):
                    upstream.mock.queue_fault(fault)
                try:
                    response = client.trackbatch(body=BODY)
                except client_module.ApiError as exc:
                    seen.append(exception_texts(exc))
                else:
                    seen.append(repr(response))
        with (
            client_module.Client(f"http://127.0.0.1:{free_port()}/api/v1", retries=retry) as closed,
            pytest.raises(client_module.UpstreamConnectError) as refused,
        ):
            closed.trackbatch(body=BODY)
        seen.append(exception_texts(refused.value))
        with (
            client_module.Client(environ=upstream.env(CUSTOMER_IO_PASS=WRONG_PASSWORD)) as wrong,
            pytest.raises(client_module.ApiStatusError) as unauthorized,
        ):
            wrong.trackbatch(body=BODY)
        assert unauthorized.value.status_code == 401
        seen.append(exception_texts(unauthorized.value))
    assert_clean("client exceptions and reprs", "\n".join(seen))
    assert any("retrying" in r.getMessage() for r in caplog.records)
    _assert_clean_records(caplog)


def _assert_clean_records(caplog: pytest.LogCaptureFixture) -> None:
    from track_batch._runtime import JsonFormatter

    formatter = JsonFormatter()
    lines = [formatter.format(r) + " " + repr(r.__dict__) for r in caplog.records]
    assert_clean("client logs", "\n".join(lines))


def test_apikey_in_the_query_stays_out_of_errors(
    upstream: SecretUpstream,
    apikey_generated: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("CUSTOMER_IO_PASS", PASSWORD)
    monkeypatch.setenv("TRACK_BATCH_BASE_URI", f"{upstream.url}/api/v1")
    client_module = import_client(monkeypatch, apikey_generated, APIKEY_PACKAGE)
    seen: list[str] = []
    with client_module.Client() as client, pytest.raises(client_module.ApiStatusError) as info:
        client.trackbatch(body=BODY)  # the mock wants Basic credentials: 401
    seen.append(exception_texts(info.value))
    # the key really went in the query string, where the error does not look
    assert f"api_key={PASSWORD}" in upstream.mock.requests[0].query
    with (
        client_module.Client(f"http://127.0.0.1:{free_port()}/api/v1", timeout=2) as closed,
        pytest.raises(client_module.UpstreamConnectError) as refused,
    ):
        closed.trackbatch(body=BODY)
    seen.append(exception_texts(refused.value))
    assert_clean("apikey client errors", "\n".join(seen))
    _assert_clean_records(caplog)

    package = (APIKEY_PACKAGE, "TRACK_BATCH_APIKEY", apikey_generated)
    with start(package, "rest", upstream.env()) as proc:
        resp = httpx.post(proc.base_url + REST_PATH, json=BODY, timeout=30.0)
        assert resp.status_code == 401
        assert_clean("apikey REST answer", describe(resp))
        assert_clean("apikey REST log", final_log(proc))
