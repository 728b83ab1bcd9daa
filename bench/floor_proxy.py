"""The smallest proxy on the generated service's stack, to measure the stack's own floor.

A raw ASGI app under uvicorn (httptools, uvloop) that reads the request body and sends it with
one shared aiohttp session to `FLOOR_UPSTREAM`, then returns the answer: no FastAPI, no input
check, no log, no httpx. Whatever the generated service costs above this is the generated
code's and its libraries' (FastAPI, httpx over aiohttp); the gap between this and the upstream
called directly is the stack's and the machine's.

Run (see docs/benchmarks.md, "The floor of the stack"):
    python bench/upstream.py --port 18811 &
    FLOOR_UPSTREAM=http://127.0.0.1:18811/api/v2/batch python -m uvicorn --app-dir bench \\
        floor_proxy:app --port 18812 --log-level warning --no-access-log &
    python bench/loadgen.py --url http://127.0.0.1:18812/api/v2/batch --body-file <batch.json> \\
        --concurrency 1 --duration 3
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp

UPSTREAM = os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:18811/api/v2/batch")
_session: aiohttp.ClientSession | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _session
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _session is not None:
                    await _session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if _session is None:  # created inside the running loop
        _session = aiohttp.ClientSession()
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    async with _session.post(UPSTREAM, data=body, headers={"content-type": "application/json"}) as answer:
        data = await answer.read()
        status = answer.status
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})
