"""Time MCP tool calls over streamable HTTP with the official client (`mcp.Client`).

One client session; `--warmup` untimed calls, then `--calls` timed calls one after another (or
`--concurrency` at a time), each bounded by a timeout. Prints one JSON object with latency
percentiles and how many results were errors.

Run: `python bench/mcp_driver.py --url http://127.0.0.1:8003/mcp --tool batch
--arguments-file args.json --calls 200`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

CALL_TIMEOUT_S = 15.0


async def drive(
    url: str, tool: str, arguments: dict[str, Any], calls: int, warmup: int, concurrency: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    first_error = ""
    async with Client(url) as client:
        for _ in range(warmup):
            with anyio.fail_after(CALL_TIMEOUT_S):
                result = await client.call_tool(tool, arguments)
            if result.is_error:
                text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
                raise SystemExit(f"warm-up call of {tool} failed: {text[:500]}")

        async def one() -> None:
            nonlocal errors, first_error
            start = time.perf_counter()
            with anyio.fail_after(CALL_TIMEOUT_S):
                result = await client.call_tool(tool, arguments)
            latencies.append(time.perf_counter() - start)
            if result.is_error:
                errors += 1
                if not first_error and result.content:
                    first_error = getattr(result.content[0], "text", "")[:300]

        begin = time.perf_counter()
        remaining = calls
        while remaining > 0:
            batch = min(concurrency, remaining)
            async with anyio.create_task_group() as group:
                for _ in range(batch):
                    group.start_soon(one)
            remaining -= batch
        elapsed = time.perf_counter() - begin
        protocol = getattr(client, "protocol_version", None)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        rank = max(1, min(len(ordered), round(p / 100.0 * len(ordered) + 0.5)))
        return ordered[rank - 1] * 1000

    return {
        "url": url,
        "tool": tool,
        "calls": len(ordered),
        "concurrency": concurrency,
        "protocol_version": protocol,
        "calls_per_s": len(ordered) / elapsed if elapsed > 0 else None,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "mean_ms": statistics.fmean(ordered) * 1000,
        "errors": errors,
        "first_error": first_error,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--tool", required=True)
    parser.add_argument("--arguments-file", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    arguments = json.loads(args.arguments_file.read_text(encoding="utf-8"))
    result = anyio.run(
        drive, args.url, args.tool, arguments, args.calls, args.warmup, args.concurrency
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
