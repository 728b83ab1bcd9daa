"""Benchmarks of the generated services against a local upstream, side by side.

Scenarios, all on loopback and against the same upstream (`upstream.py`, 200 `{}`):

- direct: the load generator calls the upstream itself;
- rest: through the generated FastAPI service (`python -m track_batch rest`);
- naive: through `naive_proxy.py` (new httpx client per request, parse then re-serialise);
- floor: through `floor_proxy.py`, the smallest proxy on the service's stack (raw ASGI under the
  same uvicorn, one aiohttp session, nothing else): what any Python proxy here costs at least;
- mcp: tool calls to the generated MCP server (`python -m track_batch mcp`) with `mcp.Client`;
- fastmcp: the same calls to FastMCP's `from_openapi` server for the Track OpenAPI.

Then: memory per in-flight 500 KB batch (upstream delaying its answer), whether the REST
service forwards the request bytes unchanged, and a py-spy profile of the REST service under
load.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import loadgen
import profile_summary
import venvs
from common import (
    API_KEY,
    BENCH,
    LOOPBACK,
    REPO,
    SITE_ID,
    Json,
    Server,
    child_env,
    free_port,
    rss_kb,
    run_process,
    shown_path,
)

PY = sys.executable

# The documented example batch (person identify, object identify, object add_relationships).
SMALL_BATCH: Json = {
    "batch": [
        {
            "type": "person",
            "identifiers": {"id": "42"},
            "action": "identify",
            "attributes": {"first_name": "Jane", "last_name": "Doe", "plan": "premium"},
        },
        {
            "type": "object",
            "identifiers": {"object_type_id": "1", "object_id": "acme"},
            "action": "identify",
            "attributes": {"name": "Acme Corp", "plan": "enterprise", "seats": 50},
        },
        {
            "type": "object",
            "identifiers": {"object_type_id": "1", "object_id": "acme"},
            "action": "add_relationships",
            "cio_relationships": [
                {"identifiers": {"id": "42"}, "relationship_attributes": {"role": "admin"}}
            ],
        },
    ]
}
# Valid JSON written with unusual spacing and key order: a pass-through forwards these bytes.
ODD_BODY = (
    b'{ "batch" :[\n  {"action":"identify",  "type" : "person", "identifiers":{"id":"42"},'
    b' "attributes": {"z_last": 1, "a_first": "x", "n": 1.50}} ]  }'
)
BIG_BODY_LIMIT = 500_000  # the documented batch limit ("smaller than 500kb")
PROFILE_RATE_HZ = 100


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def big_batch(limit: int = BIG_BODY_LIMIT - 5_000) -> bytes:
    """A typical large batch: many small identify operations, just under the size limit."""
    ops: list[Json] = []
    size = len(b'{"batch":[]}')
    i = 0
    while True:
        op = {
            "type": "person",
            "identifiers": {"id": f"user-{i:07d}"},
            "action": "identify",
            "attributes": {
                "email": f"user-{i:07d}@example.com",
                "first_name": "Jane",
                "last_name": "Doe",
                "plan": "premium",
                "company": "Acme Corp",
                "seats": 50,
                "active": True,
                "score": 0.75,
            },
        }
        encoded = compact(op)
        if size + len(encoded) + 1 > limit:
            break
        ops.append(op)
        size += len(encoded) + 1
        i += 1
    return compact({"batch": ops})


def basic_header() -> str:
    token = base64.b64encode(f"{SITE_ID}:{API_KEY}".encode()).decode()
    return f"Authorization: Basic {token}"


def service_env(upstream_url: str, generated: Path | None = None) -> dict[str, str]:
    extra = {
        "TRACK_BATCH_BASE_URI": f"{upstream_url}/api/v1",
        "CUSTOMER_IO_USER": SITE_ID,
        "CUSTOMER_IO_PASS": API_KEY,
        "UPSTREAM": upstream_url,
    }
    if generated is not None:
        extra["PYTHONPATH"] = str(generated)
    return child_env(extra)


def upstream_server(delay: float = 0.0) -> Server:
    port = free_port()
    argv = [PY, str(BENCH / "upstream.py"), "--port", str(port), "--delay", str(delay)]
    return Server("upstream", argv, port, env=child_env())


def rest_server(upstream_url: str, generated: Path) -> Server:
    port = free_port()
    argv = [PY, "-m", "track_batch", "rest", "--host", LOOPBACK, "--port", str(port)]
    return Server("rest", argv, port, env=service_env(upstream_url, generated), cwd=generated)


def floor_server(upstream_url: str) -> Server:
    port = free_port()
    argv = [PY, "-m", "uvicorn", "--app-dir", str(BENCH), "floor_proxy:app", "--host", LOOPBACK,
            "--port", str(port), "--log-level", "warning", "--no-access-log"]
    env = child_env({"FLOOR_UPSTREAM": f"{upstream_url}/api/v2/batch"})
    return Server("floor", argv, port, env=env, cwd=REPO)


def naive_server(upstream_url: str) -> Server:
    port = free_port()
    argv = [PY, str(BENCH / "naive_proxy.py"), "--port", str(port)]
    return Server("naive", argv, port, env=service_env(upstream_url), cwd=REPO)


def mcp_server(upstream_url: str, generated: Path) -> Server:
    port = free_port()
    argv = [
        PY,
        "-m",
        "track_batch",
        "mcp",
        "--transport",
        "http",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    return Server("mcp", argv, port, env=service_env(upstream_url, generated), cwd=generated)


def fastmcp_server(env: venvs.Venv, upstream_url: str, openapi: Path) -> Server:
    port = free_port()
    argv = [
        str(env.python),
        str(BENCH / "fastmcp_server.py"),
        "--openapi",
        str(openapi),
        "--upstream",
        upstream_url,
        "--port",
        str(port),
    ]
    return Server("fastmcp", argv, port, env=service_env(upstream_url), cwd=REPO)


def load(
    url: str,
    body_file: Path,
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    headers: tuple[str, ...] = (),
) -> Json:
    argv = [
        PY,
        str(BENCH / "loadgen.py"),
        "--url",
        url,
        "--body-file",
        str(body_file),
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
    ]
    for header in headers:
        argv += ["--header", header]
    result = run_process(argv, env=child_env(), timeout_s=duration + warmup + 60)
    if not result.ok:
        return {"error": f"load generator exit {result.returncode}: {result.stderr[-500:]}"}
    data: Json = json.loads(result.stdout)
    return data


def drive_mcp(url: str, tool: str, arguments_file: Path, calls: int) -> Json:
    argv = [
        PY,
        str(BENCH / "mcp_driver.py"),
        "--url",
        url,
        "--tool",
        tool,
        "--arguments-file",
        str(arguments_file),
        "--calls",
        str(calls),
        "--warmup",
        "10",
    ]
    result = run_process(argv, env=child_env(), timeout_s=calls * 2 + 60)
    if not result.ok:
        return {"error": f"MCP driver exit {result.returncode}: {result.stderr[-800:]}"}
    data: Json = json.loads(result.stdout)
    return data


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    try:
        conn.request(
            "POST", path, body=body, headers={"Content-Type": "application/json", **headers}
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _get(port: int, path: str) -> bytes:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()


def identity_check(upstream: Server, service: Server, path: str) -> Json:
    """Send ODD_BODY through the service; does the upstream receive the very same bytes?"""
    status, _ = _post(service.port, path, ODD_BODY, {})
    received = _get(upstream.port, "/__last")
    same_value = False
    same_order = False
    try:
        sent_value = json.loads(ODD_BODY)
        received_value = json.loads(received)
        same_value = sent_value == received_value
        same_order = json.dumps(sent_value) == json.dumps(received_value)
    except ValueError:
        pass
    return {
        "status": status,
        "bytes_identical": received == ODD_BODY,
        "same_json_value": same_value,
        "same_key_order": same_order,
        "sent": ODD_BODY.decode(),
        "received": received.decode("utf-8", "replace")[:400],
    }


def profile_process(
    name: str,
    pid: int,
    make_load: Callable[[float], Json],
    seconds: float,
    results_dir: Path,
    flamegraph: bool,
) -> Json:
    """py-spy `record` on `pid` while `make_load(duration)` runs in a thread.

    Sampling stops the process briefly for each sample (py-spy's default), which costs some
    throughput but gives whole stacks; the numbers measured elsewhere are taken without it.
    """
    spy = venvs.ensure("py-spy")
    if not spy.ok:
        return {"error": f"py-spy could not be installed: {spy.error[-500:]}"}
    exe = spy.bin / "py-spy"
    results_dir.mkdir(parents=True, exist_ok=True)
    raw = results_dir / f"profile-{name}.txt"
    svg = results_dir / f"profile-{name}.svg"
    record_for = max(2, int(seconds))
    lead = 1.5
    runs = [("raw", raw)] + ([("flamegraph", svg)] if flamegraph else [])
    outcome: Json = {
        "py_spy": spy.versions.get("py-spy"),
        "seconds": record_for,
        "rate_hz": PROFILE_RATE_HZ,
    }
    for fmt, target in runs:
        holder: dict[str, Json] = {}

        def background(out: dict[str, Json] = holder) -> None:
            out["load"] = make_load(record_for + lead + 1)

        thread = threading.Thread(target=background)
        thread.start()
        time.sleep(lead)
        result = run_process(
            [
                str(exe),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(record_for),
                "--rate",
                str(PROFILE_RATE_HZ),
                "--format",
                fmt,
                "--output",
                str(target),
            ],
            env=child_env(),
            timeout_s=record_for + 60,
        )
        thread.join(timeout=record_for + 180)
        if not result.ok:
            outcome["error"] = f"py-spy exit {result.returncode}: {result.stderr[-800:]}"
            return outcome
        if fmt == "raw":
            outcome["load_while_profiling"] = holder.get("load")
            outcome["summary"] = profile_summary.summarise(raw.read_text("utf-8", "replace"))
            outcome["raw_file"] = shown_path(raw)
        else:
            outcome["flamegraph_file"] = shown_path(svg)
    return outcome


async def _in_flight_peak(
    pid: int, url: str, body: bytes, count: int, headers: tuple[str, ...]
) -> tuple[int, list[tuple[int, float]]]:
    peak = rss_kb(pid)
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kb(pid))
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    try:
        answers = await loadgen.send_concurrently(url, body, count, headers)
    finally:
        done.set()
        await sampler
    return peak, answers


def memory_per_request(service: Server, path: str, body: bytes, count: int) -> Json:
    """RSS of the service before, and at its peak while `count` requests of `body` are in flight."""
    url = f"{service.url}{path}"
    # Warm up: the first big request loads code and grows buffers that stay allocated.
    asyncio.run(loadgen.send_concurrently(url, body, 2))
    time.sleep(0.3)
    before = int(statistics.median(rss_kb(service.pid) for _ in range(5)))
    peak, answers = asyncio.run(_in_flight_peak(service.pid, url, body, count, ()))
    after = rss_kb(service.pid)
    statuses = sorted({status for status, _ in answers})
    per_request_kb = (peak - before) / count
    return {
        "in_flight": count,
        "body_bytes": len(body),
        "rss_before_mb": round(before / 1024, 1),
        "rss_peak_mb": round(peak / 1024, 1),
        "rss_after_mb": round(after / 1024, 1),
        "per_request_kb": round(per_request_kb, 1),
        "per_request_x_body": round(per_request_kb * 1024 / len(body), 2),
        "statuses": statuses,
        "slowest_s": round(max(s for _, s in answers), 2),
    }


def run(
    *,
    generated: Path,
    rounds: int,
    duration: float,
    warmup: float,
    concurrency: int,
    mcp_calls: int,
    memory_in_flight: int,
    memory_delay: float,
    openapi: Path,
    fastmcp: bool,
    profile_seconds: float,
    flamegraph: bool,
    results_dir: Path,
) -> Json:
    out: Json = {
        "generated": str(generated),
        "settings": {
            "rounds": rounds,
            "duration_s": duration,
            "warmup_s": warmup,
            "throughput_concurrency": concurrency,
            "latency_concurrency": 1,
            "mcp_calls": mcp_calls,
            "body_bytes": len(compact(SMALL_BATCH)),
        },
    }
    work = Path(tempfile.mkdtemp(prefix="bench-svc-"))
    small = work / "small.json"
    small.write_bytes(compact(SMALL_BATCH))
    ours_args = work / "mcp-args.json"
    ours_args.write_bytes(compact({"body": SMALL_BATCH}))
    fastmcp_args = work / "fastmcp-args.json"
    fastmcp_args.write_bytes(compact(SMALL_BATCH))
    auth = (basic_header(),)

    print("services: HTTP (direct, generated REST, floor proxy, naive proxy)", flush=True)
    http_rounds: list[Json] = []
    with upstream_server() as upstream:
        rest = rest_server(upstream.url, generated)
        naive = naive_server(upstream.url)
        floor = floor_server(upstream.url)
        with rest, naive, floor:
            targets = {
                "direct": (f"{upstream.url}/api/v2/batch", auth),
                "rest": (f"{rest.url}/v1/v2/batch", ()),
                "floor": (f"{floor.url}/api/v2/batch", ()),
                "naive": (f"{naive.url}/v1/v2/batch", ()),
            }
            for r in range(rounds):
                row: Json = {}
                # every other round in the opposite order: on a shared machine the scenario
                # measured first in a row tends to do worse than the next ones
                order = list(targets.items())
                if r % 2:
                    order.reverse()
                for mode, conc in (("latency", 1), ("throughput", concurrency)):
                    for name, (url, headers) in order:
                        result = load(
                            url,
                            small,
                            concurrency=conc,
                            duration=duration,
                            warmup=warmup,
                            headers=headers,
                        )
                        row[f"{name}_{mode}"] = result
                        print(
                            f"    round {r + 1} {mode:10} {name:6}: "
                            f"{result.get('rps', 0):8.0f} req/s  p50 "
                            f"{result.get('p50_ms') or 0:7.2f} ms  p99 "
                            f"{result.get('p99_ms') or 0:7.2f} ms  "
                            f"{result.get('statuses')} {result.get('error', '')}",
                            flush=True,
                        )
                http_rounds.append(row)
            print("services: pass-through check", flush=True)
            out["identity"] = {
                "rest": identity_check(upstream, rest, "/v1/v2/batch"),
                "naive": identity_check(upstream, naive, "/v1/v2/batch"),
            }
            if profile_seconds > 0:
                print("services: profiling the REST service under load (py-spy)", flush=True)
                out["profile"] = profile_process(
                    "rest",
                    rest.pid,
                    lambda d: load(
                        f"{rest.url}/v1/v2/batch",
                        small,
                        concurrency=concurrency,
                        duration=d,
                        warmup=0.5,
                    ),
                    profile_seconds,
                    results_dir,
                    flamegraph,
                )
        out["http_rounds"] = http_rounds

        print("services: MCP tool calls (generated server, FastMCP from_openapi)", flush=True)
        mcp_rounds: list[Json] = []
        fm_env = venvs.ensure("fastmcp") if fastmcp else None
        out["fastmcp_install"] = (
            None
            if fm_env is None
            else {
                "ok": fm_env.ok,
                "version": fm_env.versions.get("fastmcp"),
                "mcp": fm_env.versions.get("mcp"),
                "error": fm_env.error[-1500:],
            }
        )
        ours = mcp_server(upstream.url, generated)
        with ours:
            theirs: Server | None = None
            if fm_env is not None and fm_env.ok:
                theirs = fastmcp_server(fm_env, upstream.url, openapi)
                try:
                    theirs.start()
                except RuntimeError as exc:
                    out["fastmcp_error"] = str(exc)[-1500:]
                    theirs = None
            try:
                for r in range(rounds):
                    row = {
                        "mcp": drive_mcp(
                            f"{ours.url}/mcp", "batch-entity-operations", ours_args, mcp_calls
                        )
                    }
                    if theirs is not None:
                        row["fastmcp"] = drive_mcp(
                            f"{theirs.url}/mcp", "batch", fastmcp_args, mcp_calls
                        )
                    for name, result in row.items():
                        print(
                            f"    round {r + 1} {name:8}: p50 {result.get('p50_ms') or 0:6.2f} ms"
                            f"  p90 {result.get('p90_ms') or 0:6.2f} ms  errors "
                            f"{result.get('errors')} {result.get('error', '')}",
                            flush=True,
                        )
                    mcp_rounds.append(row)
                if profile_seconds > 0:
                    print(
                        "services: profiling the MCP server during tool calls (py-spy)", flush=True
                    )
                    calls = int(max(2, profile_seconds) * 150)
                    out["profile_mcp"] = profile_process(
                        "mcp",
                        ours.pid,
                        lambda d: drive_mcp(
                            f"{ours.url}/mcp", "batch-entity-operations", ours_args, calls
                        ),
                        profile_seconds,
                        results_dir,
                        False,
                    )
            finally:
                if theirs is not None:
                    theirs.stop()
        out["mcp_rounds"] = mcp_rounds

    print("services: memory per in-flight 500 KB batch", flush=True)
    body = big_batch()
    memory: Json = {"upstream_delay_s": memory_delay}
    with upstream_server(delay=memory_delay) as slow:
        factories: dict[str, Callable[[], Server]] = {
            "rest": lambda: rest_server(slow.url, generated),
            "naive": lambda: naive_server(slow.url),
        }
        for name, factory in factories.items():
            with factory() as service:
                memory[name] = memory_per_request(service, "/v1/v2/batch", body, memory_in_flight)
                stats = json.loads(_get(slow.port, "/__stats"))
                memory[name]["upstream_max_in_flight"] = stats["max_in_flight"]
                print(
                    f"    {name}: {memory[name]['per_request_x_body']}x the body per request "
                    f"({memory[name]}",
                    flush=True,
                )
    out["memory"] = memory
    out["summary"] = summarise(out)
    return out


def summarise(out: Json) -> Json:
    """Medians over rounds of the side-by-side ratios."""
    rounds = out.get("http_rounds", [])

    def values(key: str, field: str) -> list[float]:
        return [float(r[key][field]) for r in rounds if r.get(key, {}).get(field) is not None]

    def paired(a: str, b: str, field: str, op: str) -> float | None:
        pairs = [
            (float(r[a][field]), float(r[b][field]))
            for r in rounds
            if r.get(a, {}).get(field) is not None and r.get(b, {}).get(field) is not None
        ]
        if not pairs:
            return None
        if op == "diff":
            return statistics.median(x - y for x, y in pairs)
        # A scenario that completed nothing in its window (a 0 denominator) has no ratio.
        ratios = [x / y for x, y in pairs if y]
        return statistics.median(ratios) if ratios else None

    summary: Json = {}
    for name in ("direct", "rest", "floor", "naive"):
        summary[name] = {
            "latency_p50_ms": _median(values(f"{name}_latency", "p50_ms")),
            "latency_p90_ms": _median(values(f"{name}_latency", "p90_ms")),
            "latency_p99_ms": _median(values(f"{name}_latency", "p99_ms")),
            "throughput_rps": _median(values(f"{name}_throughput", "rps")),
            "throughput_p50_ms": _median(values(f"{name}_throughput", "p50_ms")),
            "throughput_p99_ms": _median(values(f"{name}_throughput", "p99_ms")),
        }
    summary["rest_p50_overhead_ms"] = paired("rest_latency", "direct_latency", "p50_ms", "diff")
    summary["naive_p50_overhead_ms"] = paired("naive_latency", "direct_latency", "p50_ms", "diff")
    summary["floor_p50_overhead_ms"] = paired("floor_latency", "direct_latency", "p50_ms", "diff")
    summary["floor_throughput_vs_direct"] = paired(
        "floor_throughput", "direct_throughput", "rps", "ratio"
    )
    summary["rest_throughput_vs_floor"] = paired(
        "rest_throughput", "floor_throughput", "rps", "ratio"
    )
    summary["rest_throughput_vs_direct"] = paired(
        "rest_throughput", "direct_throughput", "rps", "ratio"
    )
    summary["rest_throughput_vs_naive"] = paired(
        "rest_throughput", "naive_throughput", "rps", "ratio"
    )
    mcp_rounds = out.get("mcp_rounds", [])
    for name in ("mcp", "fastmcp"):
        summary[name] = {
            field: _median(
                [
                    float(r[name][field])
                    for r in mcp_rounds
                    if r.get(name, {}).get(field) is not None
                ]
            )
            for field in ("p50_ms", "p90_ms", "p99_ms", "calls_per_s")
        }
    ratios = [
        float(r["mcp"]["p50_ms"]) / float(r["fastmcp"]["p50_ms"])
        for r in mcp_rounds
        if r.get("mcp", {}).get("p50_ms") and r.get("fastmcp", {}).get("p50_ms")
    ]
    summary["mcp_p50_vs_fastmcp"] = _median(ratios)
    return summary
