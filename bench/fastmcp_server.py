"""FastMCP's `from_openapi` server for the Track OpenAPI, in front of the benchmark upstream.

Runs in its own environment (`bench/.venvs/fastmcp`). Every operation of the document becomes a
tool; the batch operation is the tool `batch`, called with `{"batch": [...]}`. Served over
streamable HTTP at `/mcp`, stateless with JSON responses (as the generated MCP server is), by
uvicorn with its defaults.

Run: `python bench/fastmcp_server.py --openapi track.json --upstream http://127.0.0.1:8001
--port 8003` with CUSTOMER_IO_USER and CUSTOMER_IO_PASS set.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import httpx2
import uvicorn
from fastmcp import FastMCP


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openapi", type=Path, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    spec = json.loads(args.openapi.read_text(encoding="utf-8"))
    client = httpx2.AsyncClient(
        base_url=args.upstream,
        auth=httpx2.BasicAuth(os.environ["CUSTOMER_IO_USER"], os.environ["CUSTOMER_IO_PASS"]),
        timeout=10.0,
    )
    server = FastMCP.from_openapi(openapi_spec=spec, client=client, name="customer-io-track")
    app = server.http_app(path="/mcp", json_response=True, stateless_http=True)
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
