"""The REST and MCP services as operated: body limits, probes, request ids, access logs,
graceful shutdown, and the OpenAPI document they serve."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
from support.processes import GENERATED_DIR, RunningProcess, run_package
from support.servers import free_port

from .conftest import Example, Upstream, access_log, wait_for_access_log

REST_PATH = "/v1/v2/batch"
BODY_LIMIT = 2000
PROBLEM_JSON = "application/problem+json"


def _start(
    upstream: Upstream, command: str = "rest", **env: str
) -> AbstractContextManager[RunningProcess]:
    port = free_port()
    args = ["rest"] if command == "rest" else ["mcp", "--transport", "http"]
    return run_package(
        [*args, "--host", "127.0.0.1", "--port", str(port)],
        env=upstream.env(**env),
        host="127.0.0.1",
        port=port,
    )


@pytest.fixture(scope="module")
def limited(mock_server: Upstream) -> Iterator[RunningProcess]:
    with _start(mock_server, TRACK_BATCH_MAX_BODY_BYTES=str(BODY_LIMIT)) as proc:
        yield proc


def _padded(size: int) -> bytes:
    """A JSON batch of exactly `size` bytes."""
    head, tail = b'{"batch":[],"pad":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


# --- body limit ------------------------------------------------------------------------------


def test_body_over_the_limit_is_413_before_anything_is_sent(
    limited: RunningProcess, upstream: Upstream
) -> None:
    body = _padded(BODY_LIMIT + 1)
    resp = httpx.post(
        limited.base_url + REST_PATH,
        content=body,
        headers={"content-type": "application/json"},
        timeout=10.0,
    )
    assert resp.status_code == 413, resp.text
    assert resp.headers["content-type"] == PROBLEM_JSON
    assert resp.json()["status"] == 413
    assert upstream.mock.requests == []


def test_body_at_the_limit_goes_upstream(limited: RunningProcess, upstream: Upstream) -> None:
    body = _padded(BODY_LIMIT)
    resp = httpx.post(
        limited.base_url + REST_PATH,
        content=body,
        headers={"content-type": "application/json"},
        timeout=10.0,
    )
    assert resp.status_code == 400, resp.text  # the mock refuses an empty batch
    assert [json.loads(r.body) for r in upstream.mock.batch_requests()] == [json.loads(body)]


def test_chunked_body_without_length_is_cut_at_the_limit(
    limited: RunningProcess, upstream: Upstream
) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        # far more than the limit: the service must answer without reading it all
        nonlocal sent
        for _ in range(512):
            sent += 64 * 1024
            yield b" " * (64 * 1024)

    with httpx.Client(timeout=20.0) as http:
        resp = http.post(
            limited.base_url + REST_PATH,
            content=chunks(),
            headers={"content-type": "application/json"},
        )
    assert resp.status_code == 413, resp.text
    assert "content-length" not in resp.request.headers
    assert resp.request.headers["transfer-encoding"] == "chunked"
    assert upstream.mock.requests == []
    # still serving
    assert httpx.get(limited.base_url + "/healthz", timeout=10.0).status_code == 200


def test_default_limit_is_one_mebibyte(upstream: Upstream, examples: dict[int, Example]) -> None:
    with _start(upstream) as proc:
        over = httpx.post(proc.base_url + REST_PATH, content=_padded(1024 * 1024 + 1), timeout=20.0)
        assert over.status_code == 413, over.text
        # a 545 KB batch is under it, and reaches the upstream (which refuses its size)
        under = httpx.post(proc.base_url + REST_PATH, json=examples[6].body, timeout=20.0)
        assert under.status_code == 413 and under.headers["content-type"] != PROBLEM_JSON
    assert len(upstream.mock.batch_requests()) == 1


# --- probes, request ids, access log ---------------------------------------------------------


def test_probes(limited: RunningProcess) -> None:
    health = httpx.get(limited.base_url + "/healthz", timeout=10.0)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = httpx.get(limited.base_url + "/readyz", timeout=10.0)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_readyz_is_503_until_started(monkeypatch: pytest.MonkeyPatch, client_env: Upstream) -> None:
    from fastapi.testclient import TestClient
    from track_batch.rest import app

    with TestClient(app) as started:  # the lifespan runs: configured
        assert started.get("/readyz").status_code == 200
    not_started = TestClient(app).get("/readyz")  # no lifespan: no upstream client
    assert not_started.status_code == 503
    assert not_started.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(
    ("offered", "kept"),
    [
        ("req-42", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("two words", False),
        ("caf\u00e9", False),
        ("", False),
    ],
    ids=["sane", "longest", "too-long", "space", "non-ascii", "empty"],
)
def test_request_id(
    offered: str,
    kept: bool,
    limited: RunningProcess,
    upstream: Upstream,
    examples: dict[int, Example],
) -> None:
    headers = {"x-request-id": offered.encode("utf-8")}
    resp = httpx.post(
        limited.base_url + REST_PATH, json=examples[1].body, headers=headers, timeout=10.0
    )
    assert resp.status_code == 200
    returned = resp.headers["x-request-id"]
    if kept:
        assert returned == offered
    else:
        assert returned != offered and len(returned) == 32 and int(returned, 16) >= 0
    (forwarded,) = [r.headers.get("x-request-id") for r in upstream.mock.batch_requests()]
    assert forwarded == returned
    (entry,) = wait_for_access_log(limited, 1, lambda e: e["request_id"] == returned)
    assert entry["status"] == 200 and entry["upstream_status"] == 200


def test_access_log_is_one_json_line_per_request(
    limited: RunningProcess, examples: dict[int, Example], upstream: Upstream
) -> None:
    marker = "log-check-1"
    httpx.post(
        limited.base_url + REST_PATH + "?secret=query-value",
        json=examples[1].body,
        headers={"x-request-id": marker},
        timeout=10.0,
    )
    (entry,) = wait_for_access_log(limited, 1, lambda e: e["request_id"] == marker)
    assert set(entry) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "upstream_status",
        "upstream_attempts",
    }
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", REST_PATH, 200)
    assert (entry["upstream_status"], entry["upstream_attempts"]) == (200, 1)
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    stderr = limited.stderr_text()
    assert "query-value" not in stderr  # no query strings
    assert json.dumps(examples[1].body)[:40] not in stderr  # no bodies
    for line in stderr.splitlines():
        json.loads(line)  # every line of the service's stderr is JSON


def test_unknown_path_is_a_problem(limited: RunningProcess) -> None:
    resp = httpx.get(limited.base_url + "/nowhere", timeout=10.0)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == PROBLEM_JSON
    assert resp.headers["x-request-id"]
    wrong_method = httpx.get(limited.base_url + REST_PATH, timeout=10.0)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == PROBLEM_JSON
    assert wrong_method.headers["allow"] == "POST"


def test_bad_settings_refuse_to_start(upstream: Upstream) -> None:
    from support.processes import run_to_exit

    for name, value in [
        ("TRACK_BATCH_MAX_BODY_BYTES", "lots"),
        ("TRACK_BATCH_RETRIES", "-1"),
        ("TRACK_BATCH_TIMEOUT", "0"),
    ]:
        result = run_to_exit(
            ["rest", "--port", str(free_port())], env=upstream.env(**{name: value}), timeout=20.0
        )
        assert result.returncode == 78, result
        assert name in result.stderr and "Traceback" not in result.stderr


# --- graceful shutdown -----------------------------------------------------------------------


def _mcp_tools_call(url: str, body: Any) -> dict[str, Any]:
    """One JSON-RPC tools/call in one HTTP request (a session would send more around it)."""
    payload = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "batch-entity-operations", "arguments": {"body": body}},
    }
    headers = {
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
    }
    resp = httpx.post(url, json=payload, headers=headers, timeout=20.0)
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()["result"]
    return result


@pytest.mark.parametrize("command", ["rest", "mcp"])
def test_sigterm_lets_the_request_in_flight_finish(
    command: str, upstream: Upstream, examples: dict[int, Example]
) -> None:
    body = examples[1].body
    with _start(upstream, command, TRACK_BATCH_SHUTDOWN_TIMEOUT="10") as proc:
        upstream.mock.queue_fault({"delay_s": 1.5})  # the upstream takes its time
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                if command == "rest":
                    outcome["result"] = httpx.post(
                        proc.base_url + REST_PATH, json=body, timeout=20.0
                    )
                else:
                    outcome["result"] = _mcp_tools_call(f"{proc.base_url}/mcp", body)
            except (httpx.HTTPError, AssertionError, KeyError) as exc:  # reported below
                outcome["error"] = exc

        caller = threading.Thread(target=call, daemon=True)
        caller.start()
        deadline = time.monotonic() + 10.0
        while not upstream.mock.batch_requests() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert upstream.mock.batch_requests(), "the request never reached the upstream"

        proc.proc.send_signal(signal.SIGTERM)
        caller.join(timeout=20.0)
        assert not caller.is_alive()
        assert "error" not in outcome, outcome
        result = outcome["result"]
        if command == "rest":
            assert result.status_code == 200, result.text
        else:
            assert result["isError"] is False, result
        # uvicorn ends by raising the signal again, so the exit status says SIGTERM
        assert proc.wait_exit(15.0) in (0, -signal.SIGTERM), proc.describe()
        assert any(e["upstream_status"] == 200 for e in access_log(proc.stderr_text()))
        assert "Application shutdown complete." in proc.stderr_text()


# --- the OpenAPI document --------------------------------------------------------------------


def test_served_openapi_is_the_generated_file(limited: RunningProcess) -> None:
    on_disk = (GENERATED_DIR / "track_batch" / "openapi.json").read_text("utf-8")
    served = httpx.get(limited.base_url + "/openapi.json", timeout=10.0)
    assert served.status_code == 200
    assert served.json() == json.loads(on_disk)
    assert (
        on_disk
        == json.dumps(json.loads(on_disk), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )


def test_openapi_lists_every_route_the_service_answers() -> None:
    from fastapi.routing import APIRoute
    from track_batch.rest import OPENAPI, OperationRoute, app

    documented = {
        (path, method.upper()) for path, item in OPENAPI["paths"].items() for method in item
    }
    aliases = {"/v1/v2/batch"}  # the normalised form of /v1//v2/batch, the same operation
    served = {
        (route.path, method)
        for route in app.routes
        if isinstance(route, APIRoute | OperationRoute) and route.path not in aliases
        for method in route.methods
    }
    assert served == documented
    operation = OPENAPI["paths"]["/v1//v2/batch"]["post"]
    assert operation["requestBody"]["required"] is True
    assert operation["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    assert {"200", "400", "413", "422", "502", "504", "default"} <= set(operation["responses"])


def test_mcp_body_limit(client_env: Upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    from support.servers import serve_asgi
    from track_batch.mcp_server import create_app

    monkeypatch.setenv("TRACK_BATCH_MAX_BODY_BYTES", str(BODY_LIMIT))
    payload = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "batch-entity-operations",
            "arguments": {"body": {"pad": "x" * BODY_LIMIT}},
        },
    }
    headers = {
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
    }
    with serve_asgi(create_app()) as url:
        resp = httpx.post(f"{url}/mcp", json=payload, headers=headers, timeout=10.0)
    assert resp.status_code == 413, resp.text
    assert client_env.mock.requests == []
