"""Serve ASGI apps on loopback for tests, and small port utilities.

``serve_asgi`` runs a real uvicorn server (real sockets, real HTTP parsing) in a
background thread, so code under test talks to it exactly as it would to a remote
host. The listening socket is bound here, before uvicorn starts, so the port is known
up front and no other process can take it in between.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

__all__ = ["free_port", "serve_asgi", "wait_for_port"]

LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 5.0


def _require_loopback(host: str) -> None:
    # Test servers must never be reachable from outside the machine.
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"host must be a loopback IP address, got {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"host must be a loopback IP address, got {host!r}")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on ``host`` right now.

    Only for servers started in another process: the port is released before it is
    returned, so it can in principle be taken again. In-process servers should use
    :func:`serve_asgi`, which keeps its socket.
    """
    _require_loopback(host)
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float = STARTUP_TIMEOUT_S) -> None:
    """Block until ``host:port`` accepts TCP connections; raise ``TimeoutError`` otherwise."""
    deadline = time.monotonic() + timeout
    last_error: OSError | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(
                f"{host}:{port} not accepting connections after {timeout}s: {last_error}"
            )
        try:
            with socket.create_connection((host, port), timeout=min(0.5, remaining)):
                return
        except OSError as exc:
            last_error = exc
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def _bind(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
    # listener says so, and without it every response pays a ~40 ms delayed-ACK stall.
    sock = socket.socket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # Lets a fixed port be reused right after a previous test released it (TIME_WAIT).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening before uvicorn starts means early connections queue instead of being refused.
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


@contextmanager
def serve_asgi(
    app: Any,
    *,
    host: str = LOOPBACK,
    port: int = 0,
    startup_timeout: float = STARTUP_TIMEOUT_S,
    shutdown_timeout: float = SHUTDOWN_TIMEOUT_S,
) -> Iterator[str]:
    """Serve ``app`` with uvicorn on ``host:port`` (0: any free port); yield the base URL.

    On exit the server is asked to stop; requests still running after
    ``shutdown_timeout`` seconds (rounded up, at least 1) are cancelled, and the thread
    is joined with a bound.
    """
    _require_loopback(host)
    sock = _bind(host, port)
    bound_port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        # Leave the process-wide logging configuration alone; warnings still reach the root logger.
        log_config=None,
        access_log=False,
        lifespan="auto",
        proxy_headers=False,
        # uvicorn types this as whole seconds.
        timeout_graceful_shutdown=max(1, math.ceil(shutdown_timeout)),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name=f"uvicorn-{host}:{bound_port}",
        daemon=True,
    )
    thread.start()
    stopped = False
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"uvicorn exited during startup on {host}:{bound_port}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"uvicorn did not start within {startup_timeout}s")
            time.sleep(0.01)
        yield _url(host, bound_port)
    finally:
        stopped = _stop(server, thread, shutdown_timeout)
        sock.close()
    # Only reached without an exception in flight, so this never masks a test failure.
    if not stopped:
        raise RuntimeError(f"uvicorn on {host}:{bound_port} did not stop")


def _stop(server: uvicorn.Server, thread: threading.Thread, shutdown_timeout: float) -> bool:
    server.should_exit = True
    # uvicorn polls should_exit every 0.1 s, then waits up to shutdown_timeout for requests.
    thread.join(timeout=math.ceil(shutdown_timeout) + 2.0)
    if thread.is_alive():
        server.force_exit = True
        thread.join(timeout=2.0)
    return not thread.is_alive()


async def answer_lifespan(receive: Any, send: Any) -> None:
    """Complete an ASGI lifespan (start-up, then shut-down) for a test app with no state."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Any) -> bytes:
    """The whole body of an ASGI HTTP request."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body
