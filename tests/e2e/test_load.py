"""Load on the REST and MCP services against the local upstream: every request answered, no
file descriptor left behind, and memory flat under repeated 500 KB batches.

Counts and sizes are fixed; nothing here asserts on time.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client
from support.processes import RunningProcess, run_package
from support.servers import free_port

from .conftest import Upstream

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")

REST_PATH = "/v1/v2/batch"
TOOL = "batch-entity-operations"
REST_CONCURRENCY = 200
MCP_CLIENTS = 10
MCP_CALLS_PER_CLIENT = 10  # 100 tool calls in flight at once
FD_SLACK = 10
IDLE_EXPIRY_WAIT = 15.0  # the pool closes idle connections within two 4 s keep-alive periods
RSS_ROUNDS = 20
RSS_PER_ROUND = 4
RSS_GROWTH_LIMIT = 30 * 1024 * 1024  # generous: holding the measured bodies alone takes 33 MB
BATCH_BYTES = 490_000  # just under Customer.io's 500 KB batch limit

T = TypeVar("T")


def _start(upstream: Upstream, command: str) -> AbstractContextManager[RunningProcess]:
    port = free_port()
    args = ["rest"] if command == "rest" else ["mcp", "--transport", "http"]
    return run_package(
        [*args, "--host", "127.0.0.1", "--port", str(port)],
        env=upstream.env(),
        host="127.0.0.1",
        port=port,
    )


@pytest.fixture(scope="module")
def rest_service(mock_server: Upstream) -> Iterator[RunningProcess]:
    with _start(mock_server, "rest") as proc:
        yield proc


@pytest.fixture(scope="module")
def mcp_service(mock_server: Upstream) -> Iterator[RunningProcess]:
    with _start(mock_server, "mcp") as proc:
        yield proc


def fd_count(proc: RunningProcess) -> int:
    return len(os.listdir(f"/proc/{proc.proc.pid}/fd"))


def rss_bytes(proc: RunningProcess) -> int:
    for line in Path(f"/proc/{proc.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/<pid>/status")


def stable_fd_count(proc: RunningProcess, timeout: float = 10.0) -> int:
    """The descriptor count once it stops changing for half a second (connections a caller
    closed are closed by the server a moment later), or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    counts = [fd_count(proc)]
    while time.monotonic() < deadline and (len(counts) < 5 or len(set(counts[-5:])) > 1):
        time.sleep(0.1)
        counts.append(fd_count(proc))
    return counts[-1]


def fds_settled_at_most(proc: RunningProcess, bound: int, wait: float) -> int:
    """The descriptor count once it is at most `bound`, or after `wait` seconds."""
    deadline = time.monotonic() + wait
    count = stable_fd_count(proc)
    while count > bound and time.monotonic() < deadline:
        time.sleep(0.5)
        count = fd_count(proc)
    return count


def run(fn: Callable[[], Awaitable[T]], timeout: float = 120.0) -> T:
    async def bounded() -> T:
        with anyio.fail_after(timeout):
            return await fn()

    return anyio.run(bounded)


def rest_round(proc: RunningProcess, body: Any, count: int) -> list[int]:
    """`count` POSTs at once, each on its own connection; their statuses."""

    async def go() -> list[int]:
        statuses: list[int] = []
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=60.0, limits=limits) as http:

            async def one() -> None:
                resp = await http.post(proc.base_url + REST_PATH, json=body)
                statuses.append(resp.status_code)

            async with anyio.create_task_group() as tg:
                for _ in range(count):
                    tg.start_soon(one)
        return statuses

    return run(go)


def test_rest_concurrent_requests(
    rest_service: RunningProcess, upstream: Upstream, examples: dict[int, Any]
) -> None:
    body = examples[1].body
    # The first round opens the upstream connection pool, which keeps some connections idle.
    assert rest_round(rest_service, body, REST_CONCURRENCY) == [200] * REST_CONCURRENCY
    before = stable_fd_count(rest_service)

    for _ in range(2):
        statuses = rest_round(rest_service, body, REST_CONCURRENCY)
        assert statuses == [200] * REST_CONCURRENCY, sorted(set(statuses))

    after = stable_fd_count(rest_service)
    print(f"REST service fds: {before} before, {after} after {2 * REST_CONCURRENCY} requests")
    assert after <= before + FD_SLACK, (before, after)
    assert len(upstream.mock.batch_requests()) == 3 * REST_CONCURRENCY
    assert all(r.status == 200 for r in upstream.mock.batch_requests())


def mcp_round(proc: RunningProcess, body: Any) -> list[types.CallToolResult]:
    async def go() -> list[types.CallToolResult]:
        results: list[types.CallToolResult] = []

        async def session() -> None:
            async with Client(f"{proc.base_url}/mcp") as client:

                async def call() -> None:
                    results.append(await client.call_tool(TOOL, {"body": body}))

                async with anyio.create_task_group() as tg:
                    for _ in range(MCP_CALLS_PER_CLIENT):
                        tg.start_soon(call)

        async with anyio.create_task_group() as tg:
            for _ in range(MCP_CLIENTS):
                tg.start_soon(session)
        return results

    return run(go)


def test_mcp_concurrent_tool_calls(
    mcp_service: RunningProcess, upstream: Upstream, examples: dict[int, Any]
) -> None:
    body = examples[1].body
    calls = MCP_CLIENTS * MCP_CALLS_PER_CLIENT
    first = mcp_round(mcp_service, body)
    assert [r.is_error for r in first] == [False] * calls
    before = stable_fd_count(mcp_service)

    for _ in range(2):
        results = mcp_round(mcp_service, body)
        errors = [r for r in results if r.is_error]
        assert len(results) == calls and not errors, errors[:3]
        assert all(r.structured_content == {} for r in results)

    # The asynchronous client's pool (aiohttp) keeps every connection of a burst idle for its
    # keep-alive expiry (4 s; docs/semantics.md, Limits) instead of capping idle ones at 20:
    # a leak is a descriptor still open once that has passed.
    after = fds_settled_at_most(mcp_service, before + FD_SLACK, wait=IDLE_EXPIRY_WAIT)
    print(f"MCP service fds: {before} before, {after} after {2 * calls} tool calls")
    assert after <= before + FD_SLACK, (before, after)
    assert len(upstream.mock.batch_requests()) == 3 * calls


def big_batch(size: int) -> dict[str, Any]:
    """A valid batch of identify operations, `size` bytes of compact JSON at most."""
    ops: list[dict[str, Any]] = []
    used = len('{"batch":[]}')
    i = 0
    while True:
        op = {
            "type": "person",
            "action": "identify",
            "identifiers": {"id": f"load-{i}"},
            "attributes": {"plan": "x" * 180},
        }
        grown = used + len(json.dumps(op, separators=(",", ":"))) + 1
        if grown > size:
            return {"batch": ops}
        ops.append(op)
        used = grown
        i += 1


def test_rest_memory_is_flat_under_large_batches(
    rest_service: RunningProcess, upstream: Upstream
) -> None:
    body = big_batch(BATCH_BYTES)
    size = len(json.dumps(body, separators=(",", ":")))
    assert 480_000 < size <= BATCH_BYTES

    samples: list[int] = []
    for round_no in range(RSS_ROUNDS):
        statuses = rest_round(rest_service, body, RSS_PER_ROUND)
        assert statuses == [200] * RSS_PER_ROUND, (round_no, statuses)
        samples.append(rss_bytes(rest_service))
        upstream.mock.reset()  # the mock keeps what it accepted; the service must not

    warm = samples[2]  # after the allocator has grown to its working size
    growth = samples[-1] - warm
    print(f"REST service RSS (MiB) per round: {[round(s / 2**20, 1) for s in samples]}")
    assert growth < RSS_GROWTH_LIMIT, [round(s / 2**20, 1) for s in samples]
