"""A closed-loop HTTP/1.1 load generator: fixed connections, fixed duration, loopback only.

Standard library only. Each of `--concurrency` keep-alive connections sends the same request,
waits for the whole answer, and sends again, until `--warmup` + `--duration` seconds have passed
or `--max-requests` answers were received. Only answers completed inside the measured window
count. Prints one JSON object: throughput, latency percentiles, status counts, errors.

Run: `python bench/loadgen.py --url http://127.0.0.1:8001/api/v2/batch --body-file b.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REQUEST_TIMEOUT_S = 30.0


@dataclass
class Target:
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme != "http" or not ipaddress.ip_address(host).is_loopback:
            raise SystemExit(f"only http:// loopback targets are allowed, not {url!r}")
        return cls(host, parts.port or 80, parts.path or "/")


def build_request(target: Target, body: bytes, headers: Sequence[str] = ()) -> bytes:
    lines = [
        f"POST {target.path} HTTP/1.1",
        f"Host: {target.host}:{target.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = -1
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, bytes(body)
            body += await reader.readexactly(size + 2)
            del body[-2:]
    if length < 0:
        return status, await reader.read()
    return status, await reader.readexactly(length)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    completed: int = 0


async def _connection(
    target: Target,
    request: bytes,
    window: tuple[float, float],
    max_requests: int,
    tally: Tally,
) -> None:
    start, stop = window
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < stop and tally.completed < max_requests:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(target.host, target.port)
            assert reader is not None
            sent = time.perf_counter()
            writer.write(request)
            status, _ = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT_S)
            done = time.perf_counter()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.errors[type(exc).__name__] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
            continue
        tally.completed += 1
        if start <= sent and done <= stop:
            tally.latencies.append(done - sent)
            tally.statuses[status] += 1
    if writer is not None:
        writer.close()


async def run_load(
    url: str,
    body: bytes,
    *,
    concurrency: int,
    duration_s: float,
    warmup_s: float,
    max_requests: int,
    headers: Sequence[str] = (),
) -> dict[str, object]:
    target = Target.parse(url)
    request = build_request(target, body, headers)
    now = time.perf_counter()
    window = (now + warmup_s, now + warmup_s + duration_s)
    tally = Tally()
    await asyncio.gather(
        *(_connection(target, request, window, max_requests, tally) for _ in range(concurrency))
    )
    ordered = sorted(tally.latencies)

    def pct(p: float) -> float | None:
        if not ordered:
            return None
        rank = max(1, min(len(ordered), round(p / 100.0 * len(ordered) + 0.5)))
        return ordered[rank - 1] * 1000

    return {
        "url": url,
        "concurrency": concurrency,
        "duration_s": duration_s,
        "warmup_s": warmup_s,
        "body_bytes": len(body),
        "requests": len(ordered),
        "rps": len(ordered) / duration_s,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "mean_ms": statistics.fmean(ordered) * 1000 if ordered else None,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": dict(tally.errors),
    }


async def send_concurrently(
    url: str, body: bytes, count: int, headers: Sequence[str] = ()
) -> list[tuple[int, float]]:
    """`count` requests at once, one connection each: (status, seconds) per request; status 0
    for a transport error."""
    target = Target.parse(url)
    request = build_request(target, body, headers)

    async def one() -> tuple[int, float]:
        start = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(target.host, target.port)
            try:
                writer.write(request)
                await writer.drain()
                status, _ = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT_S)
            finally:
                writer.close()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            return 0, time.perf_counter() - start
        return status, time.perf_counter() - start

    return list(await asyncio.gather(*(one() for _ in range(count))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    args = parser.parse_args()
    result = asyncio.run(
        run_load(
            args.url,
            args.body_file.read_bytes(),
            concurrency=args.concurrency,
            duration_s=args.duration,
            warmup_s=args.warmup,
            max_requests=args.max_requests,
            headers=args.header,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
