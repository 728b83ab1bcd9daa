"""The batch proxy written the obvious way, as a point of comparison for the generated service.

FastAPI, a new `httpx.AsyncClient` per request, `await request.json()` then `json=`: what a
hand-written proxy often looks like. Served by uvicorn with its defaults, like the generated
service (`python -m track_batch rest`).

Run: `UPSTREAM=http://127.0.0.1:8001 python bench/naive_proxy.py --port 8002`.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI(title="naive batch proxy")


@app.post("/v1/v2/batch")
async def batch(request: Request) -> JSONResponse:
    payload: Any = await request.json()
    auth = (os.environ["CUSTOMER_IO_USER"], os.environ["CUSTOMER_IO_PASS"])
    async with httpx.AsyncClient(timeout=10.0) as client:
        upstream = await client.post(
            os.environ["UPSTREAM"] + "/api/v2/batch", json=payload, auth=auth
        )
    return JSONResponse(upstream.json(), status_code=upstream.status_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
