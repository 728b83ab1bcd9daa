"""The generated asynchronous client's aiohttp transport, against raw sockets on loopback.

Each failure must surface as the httpx error of the same meaning, since the client's retries
and the services' answers are decided on those (docs/semantics.md, "Timeouts and retries");
and what goes on the wire must be exactly what httpx built.
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager

import anyio
import httpx
import pytest
from support.servers import LOOPBACK, free_port
from track_batch._transport import AiohttpTransport

LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4, keepalive_expiry=5.0)
Handler = Callable[[socket.socket], None]


def _read_head(conn: socket.socket) -> bytes:
    """The request's head (up to the blank line), and whatever body bytes came with it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@contextmanager
def raw_server(handler: Handler) -> Iterator[str]:
    """A TCP server on loopback answering each connection with `handler`; yields its URL."""
    listener = socket.create_server((LOOPBACK, 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    def answer(conn: socket.socket) -> None:
        try:
            handler(conn)
        except OSError:
            # the server closes every connection on exit, perhaps under a handler still reading
            if not stop.is_set():
                raise

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for conn in connections:
            conn.close()


def _send(
    url: str,
    timeout: httpx.Timeout,
    *,
    content: bytes | AsyncIterator[bytes] | None = None,
    direct: bool = False,
) -> None:
    """POST to `url`/api and read the answer: through httpx's client, or with the transport's
    own `stream`, which the generated client uses for plain calls."""

    async def go() -> None:
        if direct:
            assert not isinstance(content, AsyncIterator)
            transport = AiohttpTransport(LIMITS)
            try:
                async with transport.stream("POST", httpx.URL(url + "/api"), {}, content, timeout) as answer:
                    async for _ in answer.aiter_bytes():
                        pass
            finally:
                await transport.aclose()
            return
        async with httpx.AsyncClient(transport=AiohttpTransport(LIMITS), timeout=timeout) as client:
            response = await client.post(url + "/api", content=content)
            await response.aread()

    anyio.run(go)


# each failure the same through httpx's client and through the transport's own `stream`
both_ways = pytest.mark.parametrize("direct", [False, True], ids=["through-httpx", "direct"])


@both_ways
def test_refused_connection_is_a_connect_error(direct: bool) -> None:
    with pytest.raises(httpx.ConnectError):
        _send(f"http://{LOOPBACK}:{free_port()}", httpx.Timeout(2.0), direct=direct)


@both_ways
def test_closing_before_answering_is_a_protocol_error(direct: bool) -> None:
    def handler(conn: socket.socket) -> None:
        _read_head(conn)
        conn.close()

    with raw_server(handler) as url, pytest.raises(httpx.RemoteProtocolError):
        _send(url, httpx.Timeout(2.0), direct=direct)


@both_ways
def test_closing_mid_answer_is_a_protocol_error(direct: bool) -> None:
    def handler(conn: socket.socket) -> None:
        _read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        conn.close()

    with raw_server(handler) as url, pytest.raises(httpx.RemoteProtocolError):
        _send(url, httpx.Timeout(2.0), direct=direct)


@both_ways
@pytest.mark.parametrize(
    "sent",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nxx"],
    ids=["silent-server", "stalled-answer"],
)
def test_a_server_that_stops_sending_is_a_read_timeout(direct: bool, sent: bytes) -> None:
    release = threading.Event()

    def handler(conn: socket.socket) -> None:
        _read_head(conn)
        conn.sendall(sent)
        release.wait(5)

    try:
        with raw_server(handler) as url, pytest.raises(httpx.ReadTimeout):
            _send(url, httpx.Timeout(5.0, read=0.3), direct=direct)
    finally:
        release.set()


def test_a_reset_while_the_body_is_sent_is_a_write_error() -> None:
    def handler(conn: socket.socket) -> None:
        _read_head(conn)
        # an abortive close (RST), while the client is still sending
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(10_000):
            yield b"x" * 65536
            await anyio.sleep(0.001)

    with raw_server(handler) as url, pytest.raises(httpx.WriteError):
        _send(url, httpx.Timeout(5.0), content=endless())


def test_the_request_goes_out_as_httpx_built_it() -> None:
    seen: list[bytes] = []

    def handler(conn: socket.socket) -> None:
        data = _read_head(conn)
        while not data.endswith(b"0\r\n\r\n"):
            data += conn.recv(65536)
        seen.append(data)
        body = gzip.compress(b'{"ok": true}')
        conn.sendall(
            b"HTTP/1.1 201 Created\r\nContent-Encoding: gzip\r\nX-Twice: 1\r\nX-Twice: 2\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )

    async def chunks() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    async def go(url: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=AiohttpTransport(LIMITS)) as client:
            response = await client.post(
                url + "/a%2Fb/c?q=%20x&r=1",
                content=chunks(),
                headers={"User-Agent": "test/1", "X-Request-ID": "abc"},
            )
            await response.aread()
            return response

    with raw_server(handler) as url:
        response = anyio.run(go, url)
    head, _, body = seen[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /a%2Fb/c?q=%20x&r=1 HTTP/1.1"
    headers = {k.lower(): v for k, _, v in (line.partition(b": ") for line in lines[1:])}
    assert headers[b"user-agent"] == b"test/1"
    assert headers[b"x-request-id"] == b"abc"
    assert headers[b"transfer-encoding"] == b"chunked"
    with httpx.Client() as plain:  # what httpx sends by default, and nothing of aiohttp's
        assert headers[b"accept-encoding"] == plain.headers["accept-encoding"].encode()
    assert b"content-type" not in headers  # none given, none added
    assert body == b"2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"
    # decoded once, by httpx: aiohttp leaves the bytes as they came
    assert response.status_code == 201 and response.json() == {"ok": True}
    assert response.headers.get_list("x-twice") == ["1", "2"]


class BodyTooLarge(Exception):
    pass


def test_a_failing_request_body_raises_its_own_error() -> None:
    """As with httpx's own transport: the REST service's 413 for a forwarded body over the
    limit is raised from inside the body, and must not turn into a connection error."""

    def handler(conn: socket.socket) -> None:
        _read_head(conn)
        while conn.recv(65536):
            pass

    async def failing() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        raise BodyTooLarge

    with raw_server(handler) as url, pytest.raises(BodyTooLarge):
        _send(url, httpx.Timeout(5.0), content=failing())
