"""A minimal upstream for `POST /api/v2/batch`: answers 200 `{}` as fast as asyncio allows.

Standard library only, loopback only. HTTP/1.1 with keep-alive, `Content-Length` or chunked
request bodies. Every POST gets `200 {}` (after `--delay` seconds, without blocking other
requests). Two control routes help the benchmarks:

- `GET /__last`: the exact bytes of the last POST body received;
- `GET /__stats`: `{"requests": n, "in_flight": n, "max_in_flight": n}`.

Run: `python bench/upstream.py --port 8001 [--delay 0.5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import signal

BODY_OK = b"{}"
RESPONSE_OK = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json; charset=utf-8\r\n"
    b"Content-Length: 2\r\n"
    b"\r\n" + BODY_OK
)
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024


class Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.last_body = b""


def _response(status: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode("ascii")
    return head + body


class HttpProtocol(asyncio.Protocol):
    """One connection: parse requests from a byte buffer, answer them in order."""

    def __init__(self, stats: Stats, delay: float) -> None:
        self.stats = stats
        self.delay = delay
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False  # a delayed answer is pending; later requests wait for it

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > MAX_BODY_BYTES + MAX_HEADER_BYTES:
            self._fail()
            return
        self._process()

    def _fail(self) -> None:
        if self.transport is not None:
            self.transport.write(_response("400 Bad Request", b"bad request", "text/plain"))
            self.transport.close()

    def _process(self) -> None:
        while not self.busy and self.transport is not None and not self.transport.is_closing():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEADER_BYTES:
                    self._fail()
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                self._fail()
                return
            method, target = parts[0], parts[1]
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            start = end + 4
            if "chunked" in headers.get("transfer-encoding", "").lower():
                parsed = _dechunk(self.buffer, start)
                if parsed is None:
                    return
                body, consumed = parsed
            else:
                length = int(headers.get("content-length", "0") or 0)
                if len(self.buffer) < start + length:
                    return
                body = bytes(self.buffer[start : start + length])
                consumed = start + length
            del self.buffer[:consumed]
            self._handle(method, target, body, headers)

    def _handle(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> None:
        assert self.transport is not None
        close = headers.get("connection", "").lower() == "close"
        if method == "GET" and target == "/__last":
            self._write(
                _response("200 OK", self.stats.last_body, "application/octet-stream"), close
            )
            return
        if method == "GET" and target == "/__stats":
            data = json.dumps(
                {
                    "requests": self.stats.requests,
                    "in_flight": self.stats.in_flight,
                    "max_in_flight": self.stats.max_in_flight,
                }
            ).encode()
            self._write(_response("200 OK", data, "application/json"), close)
            return
        if method != "POST":
            self._write(_response("404 Not Found", b"{}", "application/json"), close)
            return
        stats = self.stats
        stats.requests += 1
        stats.last_body = body
        if self.delay <= 0:
            self._write(RESPONSE_OK, close)
            return
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        self.busy = True
        asyncio.get_running_loop().call_later(self.delay, self._delayed, close)

    def _delayed(self, close: bool) -> None:
        self.stats.in_flight -= 1
        self.busy = False
        if self.transport is not None and not self.transport.is_closing():
            self._write(RESPONSE_OK, close)
            self._process()

    def _write(self, data: bytes, close: bool) -> None:
        assert self.transport is not None
        self.transport.write(data)
        if close:
            self.transport.close()


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """(body, bytes consumed) of a complete chunked body at `start`, or None if incomplete."""
    body = bytearray()
    pos = start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
        pos = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", pos)
            if trailer_end < 0:
                return None
            return bytes(body), trailer_end + 2
        if len(buffer) < pos + size + 2:
            return None
        body += buffer[pos : pos + size]
        pos += size + 2


async def serve(host: str, port: int, delay: float) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit("the upstream listens on loopback only")
    stats = Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: HttpProtocol(stats, delay), host, port, backlog=1024, reuse_address=True
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.delay))


if __name__ == "__main__":
    main()
