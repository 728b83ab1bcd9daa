"""The generated REST service, run as ``python -m track_batch rest`` against the mock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
from support.processes import RunningProcess, run_package, run_to_exit
from support.servers import free_port

from .conftest import EXAMPLE_NUMBERS, Example, Upstream

SPEC_PATH = "/v1//v2/batch"  # as written in the spec
ALIAS_PATH = "/v1/v2/batch"  # normalised alias
PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def _start(upstream: Upstream, **env: str) -> AbstractContextManager[RunningProcess]:
    port = free_port()
    return run_package(
        ["rest", "--host", "127.0.0.1", "--port", str(port)],
        env=upstream.env(**env),
        host="127.0.0.1",
        port=port,
    )


@pytest.fixture(scope="module")
def rest_service(mock_server: Upstream) -> Iterator[RunningProcess]:
    with _start(mock_server) as proc:
        yield proc


def _post(proc: RunningProcess, path: str, **kwargs: Any) -> httpx.Response:
    url = httpx.URL(proc.base_url + path)
    # httpx sends the path as given; check the double slash really goes on the wire.
    assert url.raw_path == path.encode()
    with httpx.Client(timeout=15.0) as http:
        return http.post(url, **kwargs)


def _assert_problem(resp: httpx.Response, status: int, proc: RunningProcess) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.text, proc.describe())
    assert resp.headers["content-type"].split(";")[0] == "application/problem+json"
    problem = resp.json()
    assert PROBLEM_FIELDS <= problem.keys(), problem
    assert problem["status"] == status
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    return problem


@pytest.mark.parametrize("path", [SPEC_PATH, ALIAS_PATH])
@pytest.mark.parametrize("number", [n for n in EXAMPLE_NUMBERS if n != 9])
def test_examples_pass_through(
    number: int,
    path: str,
    examples: dict[int, Example],
    upstream: Upstream,
    rest_service: RunningProcess,
) -> None:
    example = examples[number]
    fault = {"status": 429, "retry_after": 2}
    if example.expected_status == 429:
        upstream.mock.queue_fault(fault)
    reference = upstream.direct(example.body)
    assert reference.status_code == example.expected_status
    if example.expected_status == 429:
        upstream.mock.queue_fault(fault)

    resp = _post(rest_service, path, json=example.body)

    assert resp.status_code == example.expected_status, (resp.text, rest_service.describe())
    if example.expected_status == 429:
        assert resp.headers.get("retry-after") == "2"
        assert reference.headers.get("retry-after") == "2"
    if reference.content:
        assert resp.json() == reference.json()
    else:
        assert resp.content == b""
    if example.expected_status == 207:
        assert {e["batch_index"] for e in resp.json()["errors"]} == example.expected_batch_indexes
    upstream.assert_forwarded(example.body)


def test_the_request_body_reaches_the_upstream_byte_for_byte(
    examples: dict[int, Example], upstream: Upstream, rest_service: RunningProcess
) -> None:
    """An identity body is checked, then forwarded as sent: spacing, key order and number
    spelling included, not re-serialised."""
    sent = (
        b'{ "batch" :[\n  {"type" : "person",  "action":"identify", "identifiers":{"id":"42"},'
        b' "attributes": {"z_last": 1, "a_first": "\\u00e9", "n": 1.50}} ]  }'
    )
    resp = _post(rest_service, ALIAS_PATH, content=sent, headers={"content-type": "application/json"})
    assert resp.status_code == 200, (resp.text, rest_service.describe())
    (received,) = upstream.mock.requests
    assert received.body == sent


def test_bad_upstream_credentials_pass_through_401(
    examples: dict[int, Example], upstream: Upstream
) -> None:
    body = examples[9].body
    with _start(upstream, CUSTOMER_IO_PASS="not-the-key") as proc:
        resp = _post(proc, SPEC_PATH, json=body)
    assert resp.status_code == 401, (resp.text, proc.describe())
    assert resp.json() == {"meta": {"error": "Unauthorized request"}}
    upstream.assert_forwarded(body, (upstream.credentials[0], "not-the-key"))


def test_upstream_unreachable_is_502(
    examples: dict[int, Example], upstream: Upstream, closed_base_uri: str
) -> None:
    with _start(upstream, TRACK_BATCH_BASE_URI=closed_base_uri) as proc:
        resp = _post(proc, SPEC_PATH, json=examples[1].body)
        _assert_problem(resp, 502, proc)
        resp = _post(proc, ALIAS_PATH, json=examples[1].body)
        _assert_problem(resp, 502, proc)
    assert upstream.mock.requests == []


def test_upstream_timeout_is_504(examples: dict[int, Example], upstream: Upstream) -> None:
    with _start(upstream, TRACK_BATCH_TIMEOUT="0.5") as proc:
        upstream.mock.queue_fault({"delay_s": 2.0})
        resp = _post(proc, SPEC_PATH, json=examples[1].body)
        _assert_problem(resp, 504, proc)
        # The service still answers normally once upstream is fast again.
        upstream.mock.reset()
        resp = _post(proc, ALIAS_PATH, json=examples[1].body)
        assert resp.status_code == 200, (resp.text, proc.describe())
    upstream.assert_forwarded(examples[1].body)


@pytest.mark.parametrize("path", [SPEC_PATH, ALIAS_PATH])
@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 400),
        (b"[1]", 422),
        (b'"x"', 422),
        (b"42", 422),
        (b"", 422),
    ],
    ids=["not-json", "array", "string", "number", "missing"],
)
def test_invalid_body_is_refused_locally(
    content: bytes, status: int, path: str, upstream: Upstream, rest_service: RunningProcess
) -> None:
    headers = {"content-type": "application/json"} if content else {}
    resp = _post(rest_service, path, content=content, headers=headers)
    _assert_problem(resp, status, rest_service)
    assert upstream.mock.requests == []


@pytest.mark.parametrize(
    ("env_drop", "missing"),
    [
        (("CUSTOMER_IO_USER", "CUSTOMER_IO_PASS"), ("CUSTOMER_IO_USER", "CUSTOMER_IO_PASS")),
        (("CUSTOMER_IO_PASS",), ("CUSTOMER_IO_PASS",)),
    ],
    ids=["both", "password"],
)
@pytest.mark.parametrize(
    "command",
    [
        ["rest", "--host", "127.0.0.1"],
        ["mcp", "--transport", "http", "--host", "127.0.0.1"],
        ["mcp", "--transport", "stdio"],
    ],
    ids=["rest", "mcp-http", "mcp-stdio"],
)
def test_startup_refused_without_credentials(
    command: list[str], env_drop: tuple[str, ...], missing: tuple[str, ...], upstream: Upstream
) -> None:
    env = {k: v for k, v in upstream.env().items() if k not in env_drop}
    if "--host" in command:
        command = [*command, "--port", str(free_port())]
    result = run_to_exit(command, env=env, timeout=20.0)
    assert result.returncode != 0, result
    for name in missing:
        assert name in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert upstream.mock.requests == []
