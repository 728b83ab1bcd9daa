"""The MCP Inspector's CLI, a client nobody here wrote, lists and calls the tools of the MCP
server over streamable HTTP and over stdio, and finds nothing to report with `--strict`.

`.ci/run` installs the Inspector into `.ci/node`; when it is not there this test installs it
the same way, and it is skipped only on a machine without Node.js and npm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.processes import GENERATED_DIR, REPO_ROOT, RunningProcess, run_package
from support.servers import free_port

from .conftest import BATCH_PATH, Example, Upstream

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
NODE_PREFIX = REPO_ROOT / ".ci" / "node"
TOOL = "batch-entity-operations"
RUN_TIMEOUT_S = 90
EXIT_TOOL_ERROR = 5  # the Inspector's exit code when a tool answers isError: true


@pytest.fixture(scope="module")
def inspector() -> str:
    binary = NODE_PREFIX / "node_modules" / ".bin" / "mcp-inspector"
    if binary.exists():
        return str(binary)
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("Node.js and npm are not installed: the MCP Inspector cannot run here")
    install = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NODE_PREFIX), INSPECTOR],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0 and binary.exists(), install.stdout + install.stderr
    return str(binary)


@pytest.fixture(scope="module")
def mcp_service(mock_server: Upstream) -> Iterator[RunningProcess]:
    port = free_port()
    with run_package(
        ["mcp", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
        env=mock_server.env(),
        host="127.0.0.1",
        port=port,
    ) as proc:
        yield proc


def run_inspector(
    inspector: str, home: Path, args: list[str], expect: int = 0
) -> subprocess.CompletedProcess[str]:
    # HOME is a fresh folder: the Inspector keeps a catalog of servers there.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    env["HOME"] = str(home)
    result = subprocess.run(
        [inspector, "--cli", *args],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == expect, (
        result.returncode,
        result.stdout[-3000:],
        result.stderr[-3000:],
    )
    return result


def check_tools(listed: dict[str, Any]) -> None:
    (tool,) = listed["tools"]
    assert tool["name"] == TOOL
    assert tool["inputSchema"]["required"] == ["body"]
    assert tool["inputSchema"]["additionalProperties"] is False
    assert tool["outputSchema"] == {"type": "object", "additionalProperties": True}
    assert tool["annotations"]["idempotentHint"] is False


def call_args(body: Any) -> list[str]:
    return ["--method", "tools/call", "--tool-name", TOOL, "--tool-arg", "body=" + json.dumps(body)]


def test_streamable_http(
    inspector: str,
    mcp_service: RunningProcess,
    upstream: Upstream,
    examples: dict[int, Example],
    tmp_path: Path,
) -> None:
    url = f"{mcp_service.base_url}/mcp"
    listed = run_inspector(inspector, tmp_path, [url, "--method", "tools/list"])
    check_tools(json.loads(listed.stdout))
    strict = run_inspector(inspector, tmp_path, [url, "--method", "tools/list", "--strict"])
    check_tools(json.loads(strict.stdout))

    body = examples[1].body
    called = json.loads(run_inspector(inspector, tmp_path, [url, *call_args(body)]).stdout)
    assert called["isError"] is False and called["structuredContent"] == {}, called
    upstream.assert_forwarded(body)

    refused = run_inspector(inspector, tmp_path, [url, *call_args({"batch": []})], EXIT_TOOL_ERROR)
    result = json.loads(refused.stdout)
    assert result["isError"] is True
    assert [c["text"] for c in result["content"]][1] == "upstream answered HTTP 400"


def test_stdio(
    inspector: str, upstream: Upstream, examples: dict[int, Example], tmp_path: Path
) -> None:
    server_env = [f"{k}={v}" for k, v in upstream.env().items()] + [f"PYTHONPATH={GENERATED_DIR}"]
    server = ["--", sys.executable, "-m", "track_batch", "mcp", "--transport", "stdio"]
    options = [arg for pair in server_env for arg in ("-e", pair)] + ["--cwd", str(GENERATED_DIR)]

    strict = run_inspector(
        inspector, tmp_path, [*options, "--method", "tools/list", "--strict", *server]
    )
    check_tools(json.loads(strict.stdout))

    body = examples[2].body
    called = json.loads(
        run_inspector(inspector, tmp_path, [*options, *call_args(body), *server]).stdout
    )
    assert called["isError"] is False and called["structuredContent"] == {}, called
    reqs = upstream.mock.batch_requests()
    assert [json.loads(r.body) for r in reqs] == [body]
    assert reqs[0].path == BATCH_PATH
