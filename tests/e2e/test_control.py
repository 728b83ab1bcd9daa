"""The control port as operated: `python -m observed serve` runs the REST service, the MCP
server and the control port of tests/data/control/observed.yaml in one process, against a local
upstream that records the trace context it receives. Readiness, metrics and traces are read
from the control port after real calls (docs/semantics.md, "The control adapter")."""

from __future__ import annotations

import json
import re
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from support.processes import RunningProcess, run_package, run_to_exit
from support.servers import answer_lifespan, free_port, serve_asgi, wait_for_port

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

SPEC = Path(__file__).resolve().parents[1] / "data" / "control" / "observed.yaml"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])")


class Inventory:
    """The upstream: one item per path, and the `traceparent` of every request."""

    def __init__(self) -> None:
        self.traceparents: list[str | None] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.traceparents.append(headers.get("traceparent"))
        body = json.dumps({"id": scope["path"].rsplit("/", 1)[-1]}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


@dataclass
class Served:
    proc: RunningProcess
    upstream: Inventory
    rest: str
    mcp: str
    control: str
    ports: dict[str, int]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = generate(SPEC, SPEC.parent)
    assert result.ok, [d.render() for d in result.diagnostics if d.is_error]
    folder = tmp_path_factory.mktemp("observed")
    output.write(folder, {result.package: result.files})
    return folder


@contextmanager
def _serve(folder: Path) -> Iterator[Served]:
    upstream = Inventory()
    ports = {"rest": free_port(), "mcp": free_port(), "control": free_port()}
    with serve_asgi(upstream) as url:
        args = ["serve", "--host", "127.0.0.1", "--port", str(ports["control"]),
                "--rest-host", "127.0.0.1", "--rest-port", str(ports["rest"]),
                "--mcp-host", "127.0.0.1", "--mcp-port", str(ports["mcp"])]
        with run_package(args, env={"INVENTORY_BASE_URI": f"{url}/v1"}, host="127.0.0.1",
                         port=ports["control"], cwd=folder, pythonpath=folder, package="observed") as proc:
            wait_for_port("127.0.0.1", ports["rest"])
            wait_for_port("127.0.0.1", ports["mcp"])
            yield Served(proc, upstream, f"http://127.0.0.1:{ports['rest']}",
                         f"http://127.0.0.1:{ports['mcp']}/mcp", proc.base_url, ports)


@pytest.fixture(scope="module")
def served(package: Path) -> Iterator[Served]:
    with _serve(package) as running:
        yield running


def _samples(text: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line and not line.startswith("#")}


def test_ready_lists_every_adapter_started(served: Served) -> None:
    answer = httpx.get(f"{served.control}/health/ready", timeout=10)
    assert answer.status_code == 200, served.proc.describe()
    assert answer.json() == {
        "status": "UP",
        "adapters": [
            {"type": "rest", "namespace": "inventory-rest", "port": served.ports["rest"], "state": "started"},
            {"type": "mcp", "namespace": "inventory-mcp", "port": served.ports["mcp"], "state": "started"},
            {"type": "control", "port": served.ports["control"], "state": "started"},
        ],
    }
    assert httpx.get(f"{served.control}/health/live", timeout=10).json() == {"status": "UP"}


def test_rest_call_continues_the_callers_trace_upstream(served: Served) -> None:
    served.upstream.traceparents.clear()
    answer = httpx.get(f"{served.rest}/items/abc", timeout=10,
                       headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
    assert answer.json() == {"id": "abc"}
    (sent,) = served.upstream.traceparents
    match = TRACEPARENT.fullmatch(sent or "")
    assert match is not None, sent
    # the same trace, a new span (the upstream call's own), still sampled
    assert match.group(1) == CALLER_TRACE and match.group(2) != CALLER_SPAN and match.group(3) == "01"
    trace = httpx.get(f"{served.control}/traces/{CALLER_TRACE}", timeout=10).json()
    assert (trace["traceId"], trace["operation"], trace["status"]) == (CALLER_TRACE, "rest.request", "OK")
    spans = {s["name"]: s for s in trace["spans"]}
    assert set(spans) == {"rest.request", "http.client.GET"}
    server, client = spans["rest.request"], spans["http.client.GET"]
    # under the caller's span, so not the entry point: INTERNAL, as the engine marks it
    assert (server["parentSpanId"], server["kind"]) == (CALLER_SPAN, "INTERNAL")
    assert (client["spanId"], client["parentSpanId"], client["kind"]) == (
        match.group(2), server["spanId"], "CLIENT")
    assert server["attributes"]["naftiko.operation.id"] == "/items/{id} GET"
    assert client["attributes"]["http.response.status_code"] == 200
    listed = httpx.get(f"{served.control}/traces", params={"operation": "rest"}, timeout=10).json()
    assert CALLER_TRACE in {t["traceId"] for t in listed["traces"]}
    assert listed["bufferSize"] == 10


def test_metrics_count_rest_mcp_and_upstream_calls(served: Served) -> None:
    before = _samples(httpx.get(f"{served.control}/metrics", timeout=10).text)

    async def call() -> Any:
        with anyio.fail_after(30):
            async with Client(served.mcp) as client:
                return await client.call_tool("get-item", {"id": "q"})

    result = anyio.run(call)
    assert not result.is_error, result.content
    httpx.get(f"{served.rest}/items/r", timeout=10)
    answer = httpx.get(f"{served.control}/metrics", timeout=10)
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    after = _samples(answer.text)

    def grew(key: str) -> float:
        return after.get(key, 0) - before.get(key, 0)

    tool = 'naftiko_request_total{naftiko_adapter_type="mcp",naftiko_operation_id="get-item",status="200"}'
    route = ('naftiko_request_total{naftiko_adapter_type="rest",naftiko_operation_id="/items/{id} GET",'
             'status="200"}')
    upstream = ('naftiko_http_client_total{http_request_method="GET",server_address="127.0.0.1",'
                'http_response_status_code="200"}')
    assert (grew(tool), grew(route), grew(upstream)) == (1, 1, 2)
    count = route.replace("_total{", "_duration_seconds_count{")
    inf = route.replace("_total{", "_duration_seconds_bucket{").replace('"}', '",le="+Inf"}')
    assert grew(count) == 1 and grew(inf) == 1


def test_sigterm_stops_every_adapter(package: Path) -> None:
    with _serve(package) as own:
        own.proc.proc.send_signal(signal.SIGTERM)
        assert own.proc.wait_exit(15) == 0, own.proc.describe()
        for port in own.ports.values():
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/", timeout=5)


def test_an_adapter_that_cannot_start_stops_the_others(package: Path) -> None:
    # the REST port is taken: uvicorn cannot bind it, and `serve` ends with its exit code
    # rather than run a control port that would report DEGRADED for ever
    ports = {"rest": free_port(), "mcp": free_port(), "control": free_port()}
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", ports["rest"]))
        taken.listen()
        done = run_to_exit(
            ["serve", "--host", "127.0.0.1", "--port", str(ports["control"]),
             "--rest-host", "127.0.0.1", "--rest-port", str(ports["rest"]),
             "--mcp-host", "127.0.0.1", "--mcp-port", str(ports["mcp"])],
            env={"INVENTORY_BASE_URI": "http://127.0.0.1:9/v1"}, cwd=package, pythonpath=package,
            package="observed")
    assert done.returncode == 3, done.stderr
    assert f"('127.0.0.1', {ports['rest']}): address already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_to_start_without_the_control_ports_credential(tmp_path: Path) -> None:
    text = SPEC.read_text("utf-8").replace(
        "      port: 9191\n",
        "      port: 9191\n      authentication:\n        type: bearer\n        token: '{{CONTROL_TOKEN}}'\n")
    spec = tmp_path / "guarded.yaml"
    spec.write_text(text, "utf-8")
    result = generate(spec, tmp_path)
    assert result.ok
    output.write(tmp_path / "out", {result.package: result.files})
    done = run_to_exit(["serve"], env={"INVENTORY_BASE_URI": "http://127.0.0.1:9/v1"},
                       cwd=tmp_path / "out", pythonpath=tmp_path / "out", package="guarded")
    assert done.returncode == 78, done.stderr
    assert "CONTROL_TOKEN" in done.stderr
