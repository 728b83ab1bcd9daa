"""What a caller gets when the upstream API misbehaves, through REST and MCP, and how many times
the service tried: once for track-batch (a POST whose tool is not idempotent), up to three times
for the same operation marked idempotent. After every fault the service still serves."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client
from support.processes import GENERATED_DIR, RunningProcess, run_package
from support.servers import free_port

from .conftest import (
    BATCH_PATH,
    IDEMPOTENT_PACKAGE,
    IDEMPOTENT_PREFIX,
    Example,
    Upstream,
    fast_retries,
    wait_for_access_log,
)

TOOL = "batch-entity-operations"
REST_PATH = "/v1/v2/batch"
RETRIES = 2  # as fast_retries() sets them
MAX_RESPONSE_BYTES = 1024 * 1024  # as fast_retries() sets it
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Package:
    name: str
    prefix: str
    generated: Path
    retryable: bool


@dataclass
class Service:
    package: Package
    rest: RunningProcess
    mcp: RunningProcess


def start(package: Package, kind: str, env: dict[str, str]) -> Any:
    port = free_port()
    args = ["rest"] if kind == "rest" else ["mcp", "--transport", "http"]
    return run_package(
        [*args, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        host="127.0.0.1",
        port=port,
        cwd=package.generated,
        pythonpath=package.generated,
        package=package.name,
    )


def packages(idempotent_generated: Path) -> dict[str, Package]:
    return {
        "track_batch": Package("track_batch", "TRACK_BATCH", GENERATED_DIR, retryable=False),
        "idempotent": Package(
            IDEMPOTENT_PACKAGE, IDEMPOTENT_PREFIX, idempotent_generated, retryable=True
        ),
    }


@pytest.fixture(scope="module", params=["track_batch", "idempotent"])
def service(
    request: pytest.FixtureRequest, mock_server: Upstream, idempotent_generated: Path
) -> Iterator[Service]:
    package = packages(idempotent_generated)[request.param]
    env = mock_server.env(**fast_retries(package.prefix, **{f"{package.prefix}_TIMEOUT": "0.5"}))
    with start(package, "rest", env) as rest, start(package, "mcp", env) as mcp:
        yield Service(package, rest, mcp)


def rest_call(service: Service, body: Any) -> httpx.Response:
    with httpx.Client(timeout=30.0) as http:
        return http.post(service.rest.base_url + REST_PATH, json=body)


def mcp_call(service: Service, arguments: dict[str, Any]) -> types.CallToolResult:
    async def go() -> types.CallToolResult:
        with anyio.fail_after(30.0):
            async with Client(f"{service.mcp.base_url}/mcp") as client:
                return await client.call_tool(TOOL, arguments)

    return anyio.run(go)


def assert_still_serving(service: Service, upstream: Upstream, body: Any) -> None:
    upstream.mock.reset()
    resp = rest_call(service, body)
    assert resp.status_code == 200, (resp.text, service.rest.describe())
    result = mcp_call(service, {"body": body})
    assert result.is_error is False, result
    assert len(upstream.mock.batch_requests()) == 2


@dataclass(frozen=True)
class Fault:
    """A scripted upstream failure and what the caller must get for it."""

    id: str
    fault: dict[str, Any]
    rest_status: int
    # The MCP result's texts, in order (an is_error result), or None when the call succeeds.
    mcp_texts: tuple[str, ...] | None
    retried: bool  # whether an operation that may be retried is tried again
    problem: bool = False  # the REST answer is the service's own problem document
    rest_headers: dict[str, str] = field(default_factory=dict)


HTML = "<html><body>bad gateway</body></html>"
ERRORS_207 = {"errors": [{"batch_index": 0, "reason": "invalid", "field": "x", "message": "m"}]}
HTTP_DATE_FAR = "Wed, 21 Oct 2099 07:28:00 GMT"
HTTP_DATE_PAST = "Wed, 21 Oct 2015 07:28:00 GMT"

FAULTS = [
    Fault("slow", {"delay_s": 3.0}, 504, ("the upstream API did not answer in time",), True, True),
    Fault(
        "drop-mid-response",
        {"status": 200, "body_bytes": 200_000, "truncate": True},
        502,
        ("the upstream API could not be reached, or dropped the connection",),
        True,
        True,
    ),
    Fault(
        "reset-before-answer",
        {"drop_connection": "reset"},
        502,
        ("the upstream API could not be reached, or dropped the connection",),
        True,
        True,
    ),
    Fault("500", {"status": 500}, 500, ("", "upstream answered HTTP 500"), True),
    Fault(
        "502-html",
        {"status": 502, "body_text": HTML, "content_type": "text/html"},
        502,
        (HTML, "upstream answered HTTP 502"),
        True,
    ),
    Fault("503", {"status": 503}, 503, ("", "upstream answered HTTP 503"), True),
    # an HTTP-date already past: retried at once
    Fault(
        "503-retry-after-date",
        {"status": 503, "retry_after": HTTP_DATE_PAST},
        503,
        ("", "upstream answered HTTP 503"),
        True,
        rest_headers={"retry-after": HTTP_DATE_PAST},
    ),
    Fault("429", {"status": 429}, 429, ("", "upstream answered HTTP 429"), True),
    Fault(
        "429-retry-after",
        {"status": 429, "retry_after": 1},
        429,
        ("", "upstream answered HTTP 429"),
        True,
        rest_headers={"retry-after": "1"},
    ),
    # Waiting longer than the cap (60 s) is the caller's decision: answered at once.
    Fault(
        "429-retry-after-too-long",
        {"status": 429, "retry_after": 3600},
        429,
        ("", "upstream answered HTTP 429"),
        False,
        rest_headers={"retry-after": "3600"},
    ),
    Fault(
        "503-retry-after-date-too-far",
        {"status": 503, "retry_after": HTTP_DATE_FAR},
        503,
        ("", "upstream answered HTTP 503"),
        False,
        rest_headers={"retry-after": HTTP_DATE_FAR},
    ),
    Fault(
        "invalid-json",
        {"status": 200, "body_text": "<html>not json</html>"},
        502,
        ("upstream answered 200 with a body that is not a JSON object",),
        False,
        True,
    ),
    Fault(
        "huge-body",
        {"status": 200, "body_bytes": 3 * MAX_RESPONSE_BYTES},
        502,
        ("the upstream API answered with a body larger than this server accepts",),
        False,
        True,
    ),
    Fault(
        "400",
        {"status": 400, "body": {"errors": [{"reason": "x", "field": "", "message": "m"}]}},
        400,
        ('{"errors":[{"reason":"x","field":"","message":"m"}]}', "upstream answered HTTP 400"),
        False,
    ),
    Fault(
        "401",
        {"status": 401, "body": {"meta": {"error": "Unauthorized request"}}},
        401,
        ('{"meta":{"error":"Unauthorized request"}}', "upstream answered HTTP 401"),
        False,
    ),
    Fault("403", {"status": 403}, 403, ("", "upstream answered HTTP 403"), False),
    Fault("413", {"status": 413}, 413, ("", "upstream answered HTTP 413"), False),
    Fault("207", {"status": 207, "body": ERRORS_207}, 207, None, False),
]


def expected_attempts(case: Fault, service: Service) -> int:
    return 1 + RETRIES if case.retried and service.package.retryable else 1


@pytest.mark.parametrize("case", FAULTS, ids=[f.id for f in FAULTS])
def test_rest_fault(
    case: Fault, service: Service, upstream: Upstream, examples: dict[int, Example]
) -> None:
    body = examples[1].body
    attempts = expected_attempts(case, service)
    for _ in range(attempts):
        upstream.mock.queue_fault(case.fault)

    resp = rest_call(service, body)

    assert resp.status_code == case.rest_status, (resp.text, service.rest.describe())
    media_type = resp.headers.get("content-type", "").split(";")[0]
    if case.problem:
        assert media_type == PROBLEM_JSON, resp.headers
        assert resp.json()["status"] == case.rest_status
    else:
        assert media_type != PROBLEM_JSON, resp.text
    for name, value in case.rest_headers.items():
        assert resp.headers.get(name) == value, resp.headers
    assert len(upstream.mock.batch_requests()) == attempts
    assert upstream.mock.pending_faults() == []
    assert_still_serving(service, upstream, body)


@pytest.mark.parametrize("case", FAULTS, ids=[f.id for f in FAULTS])
def test_mcp_fault(
    case: Fault, service: Service, upstream: Upstream, examples: dict[int, Example]
) -> None:
    body = examples[1].body
    attempts = expected_attempts(case, service)
    for _ in range(attempts):
        upstream.mock.queue_fault(case.fault)

    result = mcp_call(service, {"body": body})

    if case.mcp_texts is None:
        assert result.is_error is False, result
    else:
        assert result.is_error is True, result
        texts = [c.text for c in result.content if isinstance(c, types.TextContent)]
        assert texts == list(case.mcp_texts), texts
    assert len(upstream.mock.batch_requests()) == attempts
    assert upstream.mock.pending_faults() == []
    assert_still_serving(service, upstream, body)


def test_rest_body_of_an_upstream_error_is_passed_through(
    service: Service, upstream: Upstream, examples: dict[int, Example]
) -> None:
    for _ in range(expected_attempts(FAULTS[4], service)):
        upstream.mock.queue_fault(FAULTS[4].fault)
    resp = rest_call(service, examples[1].body)
    assert (resp.status_code, resp.text) == (502, HTML)
    assert resp.headers["content-type"] == "text/html"


def test_a_retry_that_succeeds_answers_the_success(
    service: Service, upstream: Upstream, examples: dict[int, Example]
) -> None:
    if not service.package.retryable:
        pytest.skip("track-batch is never retried (tested above)")
    body = examples[1].body
    upstream.mock.queue_fault({"status": 503})
    resp = rest_call(service, body)
    assert resp.status_code == 200, resp.text
    upstream.mock.queue_fault({"drop_connection": "close"})
    result = mcp_call(service, {"body": body})
    assert result.is_error is False, result
    statuses = [r.status for r in upstream.mock.batch_requests()]
    assert statuses == [503, 200, 0, 200]
    # every attempt is the same request
    assert all(json.loads(r.body) == body for r in upstream.mock.batch_requests())


def test_retry_after_is_honoured(
    service: Service, upstream: Upstream, examples: dict[int, Example]
) -> None:
    if not service.package.retryable:
        pytest.skip("track-batch is never retried (tested above)")
    upstream.mock.queue_fault({"status": 429, "retry_after": 1})
    resp = rest_call(service, examples[1].body)
    assert resp.status_code == 200, resp.text
    first, second = upstream.mock.batch_requests()
    # a lower bound only: the retry did not start before the second the upstream asked for
    assert second.received_at - first.received_at >= 0.95


def test_upstream_request_id_is_the_callers_on_every_attempt(
    service: Service, upstream: Upstream, examples: dict[int, Example]
) -> None:
    attempts = 1 + RETRIES if service.package.retryable else 1
    for _ in range(attempts):
        upstream.mock.queue_fault({"status": 500})
    with httpx.Client(timeout=30.0) as http:
        resp = http.post(
            service.rest.base_url + REST_PATH,
            json=examples[1].body,
            headers={"X-Request-ID": "fault-test-1"},
        )
    assert resp.status_code == 500
    assert resp.headers["x-request-id"] == "fault-test-1"
    assert [r.headers.get("x-request-id") for r in upstream.mock.batch_requests()] == [
        "fault-test-1"
    ] * attempts
    (entry,) = wait_for_access_log(service.rest, 1, lambda e: e["request_id"] == "fault-test-1")
    assert entry["status"] == 500
    assert entry["upstream_status"] == 500
    assert entry["upstream_attempts"] == attempts


@pytest.fixture(scope="module")
def refused(idempotent_generated: Path, mock_server: Upstream) -> Iterator[dict[str, Service]]:
    """Both packages pointed at a loopback port where nothing listens."""
    closed = f"http://127.0.0.1:{free_port()}/api/v1"
    services = {}
    with ExitStack() as stack:
        for key, package in packages(idempotent_generated).items():
            env = mock_server.env(TRACK_BATCH_BASE_URI=closed, **fast_retries(package.prefix))
            rest = stack.enter_context(start(package, "rest", env))
            mcp = stack.enter_context(start(package, "mcp", env))
            services[key] = Service(package, rest, mcp)
        yield services


@pytest.mark.parametrize("key", ["track_batch", "idempotent"])
def test_refused_connection(
    key: str, refused: dict[str, Service], upstream: Upstream, examples: dict[int, Example]
) -> None:
    service = refused[key]
    attempts = 1 + RETRIES if service.package.retryable else 1

    resp = rest_call(service, examples[1].body)
    assert resp.status_code == 502, resp.text
    assert resp.headers["content-type"] == PROBLEM_JSON
    assert (
        resp.json()["detail"] == "the upstream API could not be reached, or dropped the connection"
    )

    result = mcp_call(service, {"body": examples[1].body})
    assert result.is_error is True, result
    texts = [c.text for c in result.content if isinstance(c, types.TextContent)]
    assert texts == ["the upstream API could not be reached, or dropped the connection"]

    # nothing reached the mock, so the attempts are counted from the services' access logs
    for proc in (service.rest, service.mcp):
        calls = wait_for_access_log(proc, 1, lambda e: e["upstream_attempts"] > 0)
        assert [(e["upstream_attempts"], e["upstream_status"]) for e in calls] == [
            (attempts, None)
        ], proc.describe()
    assert upstream.mock.requests == []
    # still serving
    assert httpx.get(service.rest.base_url + "/healthz", timeout=10.0).status_code == 200
    assert service.rest.proc.poll() is None and service.mcp.proc.poll() is None


def test_mock_faults_behave_as_scripted(upstream: Upstream) -> None:
    """The two faults added for these tests, seen from a plain HTTP client."""
    url = upstream.url + BATCH_PATH
    upstream.mock.queue_fault({"status": 200, "body_bytes": 300_000})
    resp = httpx.post(url, json={}, auth=upstream.credentials, timeout=10.0)
    assert len(resp.content) == 300_000 and resp.json()["pad"]
    upstream.mock.queue_fault({"status": 200, "body_bytes": 300_000, "truncate": True})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(url, json={}, auth=upstream.credentials, timeout=10.0)


def test_client_retries_and_typed_errors(
    idempotent_generated: Path,
    client_env: Upstream,
    monkeypatch: pytest.MonkeyPatch,
    examples: dict[int, Example],
) -> None:
    """The client of the retried operation: retries by default, none with `retries=0`, and
    errors that carry the status, body, request and attempts."""
    monkeypatch.syspath_prepend(str(idempotent_generated))
    client_module = importlib.import_module(f"{IDEMPOTENT_PACKAGE}.client")
    body = examples[1].body
    quick = client_module.RetryPolicy(max_retries=2, backoff=0.01, backoff_max=0.02)

    for _ in range(3):
        client_env.mock.queue_fault({"status": 503, "body_text": "busy"})
    with (
        client_module.Client(retries=quick) as client,
        pytest.raises(client_module.ApiStatusError) as info,
    ):
        client.trackbatch(body=body)
    error = info.value
    assert (error.status_code, error.body, error.attempts) == (503, b"busy", 3)
    assert (error.request.method, error.request.url) == ("POST", client_env.url + BATCH_PATH)
    assert len(client_env.mock.batch_requests()) == 3

    client_env.mock.reset()
    client_env.mock.queue_fault({"status": 503})
    with (
        client_module.Client(retries=0) as client,
        pytest.raises(client_module.ApiStatusError) as info,
    ):
        client.trackbatch(body=body)
    assert info.value.attempts == 1
    assert len(client_env.mock.batch_requests()) == 1

    async def call_async() -> Any:
        async with client_module.AsyncClient(retries=quick, timeout=0.3) as client:
            return await client.trackbatch(body=body)

    client_env.mock.reset()
    client_env.mock.queue_fault({"delay_s": 2.0})
    response = anyio.run(call_async)  # the first attempt times out, the retry succeeds
    assert (response.status_code, response.attempts) == (200, 2)
