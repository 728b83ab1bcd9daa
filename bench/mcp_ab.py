"""MCP tool-call latency of generated packages side by side, and FastMCP's, in alternating rounds.

Each package (`label=folder`, the folder holding `track_batch/`) is served with `python -m
track_batch mcp` in front of one `upstream.py`, FastMCP's `from_openapi` server beside them (its
environment as `run.py` builds it). In every round each server gets `--calls` calls from
`mcp_driver.py` (one at a time, after 10 warm-up calls), in the opposite order every other round,
and the CPU time the server process used during them is read from `/proc` (Linux): on a shared
machine that figure moves much less than latency does.

Run: `python bench/mcp_ab.py before=/tmp/old/generated after=generated --rounds 8`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import service_bench as sb
import venvs
from common import BENCH, Json, Server

OPENAPI = BENCH / "data" / "customer-io-track-openapi.reconstructed.json"
OURS_TOOL = "batch-entity-operations"
WARMUP_CALLS = 10  # mcp_driver's default, also served while the CPU time is read


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, drive: Callable[[], Json]) -> Json:
    before = cpu_seconds(pid)
    result = drive()
    calls = int(result.get("calls") or 0) + WARMUP_CALLS
    result["server_cpu_ms_per_call"] = (cpu_seconds(pid) - before) * 1000 / calls
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="+", help="label=folder holding track_batch/")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--no-fastmcp", action="store_true")
    parser.add_argument("--output", type=Path, help="write every round as JSON here")
    args = parser.parse_args()
    packages = dict(p.split("=", 1) for p in args.packages)
    work = Path(tempfile.mkdtemp(prefix="bench-mcp-ab-"))
    ours_args = work / "ours.json"
    ours_args.write_bytes(sb.compact({"body": sb.SMALL_BATCH}))
    fastmcp_args = work / "fastmcp.json"
    fastmcp_args.write_bytes(sb.compact(sb.SMALL_BATCH))
    print(f"start {time.strftime('%H:%M:%S', time.gmtime())} UTC, load {os.getloadavg()}")
    rounds: list[Json] = []
    with sb.upstream_server() as upstream:
        targets: dict[str, tuple[Server, str, Path]] = {
            label: (sb.mcp_server(upstream.url, Path(folder).resolve()), OURS_TOOL, ours_args)
            for label, folder in packages.items()
        }
        if not args.no_fastmcp:
            env = venvs.ensure("fastmcp")
            if not env.ok:
                raise SystemExit(f"FastMCP could not be installed: {env.error[-500:]}")
            targets["fastmcp"] = (
                sb.fastmcp_server(env, upstream.url, OPENAPI),
                "batch",
                fastmcp_args,
            )
        started: list[Server] = []
        try:
            for server, _, _ in targets.values():
                started.append(server.start())
            for r in range(args.rounds):
                order = list(targets.items())
                if r % 2:
                    order.reverse()
                row: Json = {"load": os.getloadavg()[0]}
                for label, (server, tool, arguments) in order:
                    row[label] = measured(
                        server.pid,
                        lambda s=server, t=tool, a=arguments: sb.drive_mcp(
                            f"{s.url}/mcp", t, a, args.calls
                        ),
                    )
                fastmcp_p50 = row.get("fastmcp", {}).get("p50_ms")
                cells = [f"round {r + 1} load {row['load']:.2f}"]
                for label in targets:
                    result = row[label]
                    p50 = result.get("p50_ms") or 0.0
                    ratio = (
                        f" ({p50 / fastmcp_p50:.2f})" if fastmcp_p50 and label != "fastmcp" else ""
                    )
                    cells.append(
                        f"{label} p50 {p50:.2f} ms{ratio} cpu {result['server_cpu_ms_per_call']:.2f}"
                        f" ms/call errors {result.get('errors')} {result.get('error', '')}".rstrip()
                    )
                print(" | ".join(cells), flush=True)
                rounds.append(row)
        finally:
            for server in started:
                server.stop()
    print("medians:")
    for label in targets:
        p50s = [float(r[label]["p50_ms"]) for r in rounds if r[label].get("p50_ms")]
        cpus = [float(r[label]["server_cpu_ms_per_call"]) for r in rounds]
        line = f"  {label}: p50 {statistics.median(p50s):.2f} ms, cpu {statistics.median(cpus):.2f} ms/call"
        if label != "fastmcp" and "fastmcp" in targets:
            ratios = [
                float(r[label]["p50_ms"]) / float(r["fastmcp"]["p50_ms"])
                for r in rounds
                if r[label].get("p50_ms") and r["fastmcp"].get("p50_ms")
            ]
            line += f", p50 / FastMCP's {statistics.median(ratios):.2f}"
        print(line)
    print(f"end {time.strftime('%H:%M:%S', time.gmtime())} UTC, load {os.getloadavg()}")
    if args.output is not None:
        args.output.write_text(json.dumps(rounds, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
