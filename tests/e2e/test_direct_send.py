"""The asynchronous client's direct sending (docs/semantics.md, "Limits": HTTP client and
Cookies), on loopback: what goes on the wire must be what httpx sends for the same call, the
answer must read the same, and no cookie an answer sets may be sent back.

tests/data/wire/wire.yaml is generated once; each call is made three ways against a raw
socket server that records the request bytes: the asynchronous client as services use it
(direct), the same client with the same aiohttp transport given as `transport=` (through
httpx's request objects), and the synchronous client (httpx's own transport).
"""

from __future__ import annotations

import asyncio
import gzip
import importlib
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
from support.servers import LOOPBACK, free_port

SPEC = Path(__file__).resolve().parents[1] / "data" / "wire" / "wire.yaml"
ENV = {"WIRE_TOKEN": "token-1"}


class RawRecorder:
    """An HTTP/1.1 server on a raw socket: keeps every request's head and body as bytes and
    answers each with the next canned answer (or the last one)."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.requests: list[tuple[bytes, bytes]] = []
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                answer = self.answers[min(len(self.requests), len(self.answers) - 1)]
                self.requests.append((head, body))
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def __enter__(self) -> Self:
        async def start() -> None:
            self.server = await asyncio.start_server(self._handle, LOOPBACK, 0)
            self.port = self.server.sockets[0].getsockname()[1]

        thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self.server is not None
            self.server.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/v1"


def answer(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode("latin-1") + body


def request_line_and_headers(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The request line, and the header fields as sent (names in their case), sorted by name:
    the order of fields carries no meaning (RFC 9110, section 5.3)."""
    first, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    fields = [line.partition(":") for line in lines]
    return first, sorted((name.strip(), value.strip()) for name, _, value in fields)


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    out = tmp_path_factory.mktemp("wire") / "generated"
    result = subprocess.run([sys.executable, "-m", "naftiko_codegen", str(SPEC), "--out", str(out)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("wire.client")
    finally:
        sys.path.remove(str(out))


def three_ways(wire: Any, url: str, call: Callable[[Any], Any]) -> list[Any]:
    """The call's answer made by the direct asynchronous client, the asynchronous client
    through httpx's objects, and the synchronous client, in that order."""
    from wire._transport import AiohttpTransport

    async def run_async(through_httpx: bool) -> Any:
        transport = AiohttpTransport(httpx.Limits(max_connections=4)) if through_httpx else None
        async with wire.AsyncClient(url, environ=ENV, retries=0, transport=transport) as client:
            if not through_httpx:
                # the direct path must not build httpx's request: fail if it does
                def refuse(*args: Any, **kwargs: Any) -> Any:
                    raise AssertionError("sent through httpx.AsyncClient")

                client._http.stream = refuse
            first: Awaitable[Any] = call(client)
            return await first

    results = [asyncio.run(run_async(False)), asyncio.run(run_async(True))]
    with wire.Client(url, environ=ENV, retries=0) as client:
        results.append(call(client))
    return results


CALLS: dict[str, Callable[[Any], Any]] = {
    # path segment to encode, a repeated query name, a boolean, an integer, a header that
    # replaces httpx's default Accept in another case, a header of the spec's, a cookie
    "every parameter": lambda c: c.get_item(
        item_id="a b/ü?#", tags=["x y", "z&w", 3], exact=True, limit=0,
        accept="application/json", x_trace_note="n-1", session="s 1",
    ),
    "optional parameters left out": lambda c: c.get_item(item_id="plain"),
    "a JSON body": lambda c: c.put_item(item_id="7", body={"name": "é", "n": [1, 2.5, None]}),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_direct_client_sends_what_httpx_sends(wire: Any, name: str) -> None:
    with RawRecorder([answer(b'{"ok": true}')]) as upstream:
        answers = three_ways(wire, upstream.url, CALLS[name])
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.content for a in answers] == [b'{"ok": true}'] * 3
    direct, through_httpx, sync = upstream.requests
    assert request_line_and_headers(direct[0]) == request_line_and_headers(through_httpx[0])
    assert direct[1] == through_httpx[1]
    # the synchronous client, on httpx's own transport, sends the same request line, body and
    # header names and values (its transport writes the names in lower case)
    line, fields = request_line_and_headers(sync[0])
    assert line == request_line_and_headers(direct[0])[0]
    assert sorted((n.lower(), v) for n, v in fields) == sorted(
        (n.lower(), v) for n, v in request_line_and_headers(direct[0])[1]
    )
    assert sync[1] == direct[1]


def test_a_compressed_answer_is_read_decoded(wire: Any) -> None:
    document = b'{"items": ["' + b"x" * 5000 + b'"]}'
    packed = gzip.compress(document)
    with RawRecorder([answer(packed, "Content-Encoding: gzip")]) as upstream:
        answers = three_ways(wire, upstream.url, CALLS["optional parameters left out"])
    assert [a.content for a in answers] == [document] * 3
    assert {a.headers["content-encoding"] for a in answers} == {"gzip"}


def test_an_answer_over_the_limit_is_refused_after_decoding(wire: Any) -> None:
    packed = gzip.compress(b"0" * 200_000)  # about 200 bytes on the wire

    async def call() -> None:
        async with wire.AsyncClient(upstream.url, environ=ENV, retries=0,
                                    max_response_bytes=100_000) as client:
            await client.get_item(item_id="1")

    with (
        RawRecorder([answer(packed, "Content-Encoding: gzip")]) as upstream,
        pytest.raises(wire.UpstreamResponseTooLarge),
    ):
        asyncio.run(call())


def test_no_cookie_is_kept_between_calls(wire: Any) -> None:
    # every answer sets the cookie: each client's second call would carry it if it were kept
    answers = [answer(b"{}", "Set-Cookie: sid=secret-of-the-first-caller; Path=/")]

    def twice(client: Any) -> Any:
        if isinstance(client, wire.Client):
            client.get_item(item_id="1")
            return client.get_item(item_id="2")

        async def both() -> Any:
            await client.get_item(item_id="1")
            return await client.get_item(item_id="2")

        return both()

    with RawRecorder(answers) as upstream:
        three_ways(wire, upstream.url, twice)
    assert len(upstream.requests) == 6
    for head, _ in upstream.requests:
        assert b"secret-of-the-first-caller" not in head, head


def test_a_refused_connection_is_a_connect_error_naming_the_request(wire: Any) -> None:
    url = f"http://{LOOPBACK}:{free_port()}/v1"

    async def direct() -> None:
        async with wire.AsyncClient(url, environ=ENV, retries=0) as client:
            await client.get_item(item_id="1")

    with pytest.raises(wire.UpstreamConnectError) as caught:
        asyncio.run(direct())
    assert str(caught.value).startswith(f"GET {url}/items/1") and "token-1" not in str(caught.value)


def test_rest_routes_answer_their_declared_methods_only(
    wire: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's operation routes are Starlette's, below FastAPI: a GET route must not
    also answer HEAD (Starlette's default), and the rest of the contract holds."""
    from support.servers import serve_asgi

    with RawRecorder([answer(b'{"id": "1"}')]) as upstream:
        monkeypatch.setenv("WIRE_TOKEN", "token-1")
        monkeypatch.setenv("WIRE_API_BASE_URI", upstream.url)
        rest = importlib.import_module("wire.rest")
        with serve_asgi(rest.app) as base:
            got = httpx.get(f"{base}/items/1", headers={"X-Request-ID": "r-1"}, timeout=10)
            head = httpx.head(f"{base}/items/1", timeout=10)
            post = httpx.post(f"{base}/items/1", timeout=10)
    assert (got.status_code, got.json(), got.headers["x-request-id"]) == (200, {"id": "1"}, "r-1")
    assert (head.status_code, head.headers["allow"]) == (405, "GET")
    assert (post.status_code, post.headers["allow"]) == (405, "GET")
    assert post.headers["content-type"] == "application/problem+json"
    assert len(upstream.requests) == 1
