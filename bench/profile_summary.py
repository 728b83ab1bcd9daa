"""Summarise py-spy's collapsed stacks (`--format raw`): where the CPU time of a service goes.

Each input line is `frame;frame;...;leaf count`, a frame being `function (file:line)`. The
summary gives the leaf functions with the most samples ("self"), the functions present in the
most stacks ("inclusive"), our own functions (the generated package, or naftiko-gen) by
inclusive share, and the
share of samples by group of modules, each sample counted in the group of its innermost frame
(so time in `json.loads` called from the generated code counts as json).

Run: `python bench/profile_summary.py profile.txt [--generator]`.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]*?)(?::(?P<line>\d+))?\)$")

Groups = tuple[tuple[str, tuple[str, ...]], ...]

# Most specific first: the first group whose pattern a frame's file matches names that frame.
SERVICE_GROUPS: Groups = (
    ("generated package (track_batch)", ("track_batch/",)),
    ("json (stdlib)", ("json/",)),
    ("jsonschema", ("jsonschema/", "referencing/", "rpds")),
    ("import machinery (importlib)", ("<frozen importlib",)),
    ("httpx / httpcore (upstream client)", ("httpx/", "httpcore/")),
    ("h11 (HTTP parsing)", ("h11/",)),
    ("uvicorn", ("uvicorn/",)),
    ("logging (access log)", ("logging/",)),
    ("mcp SDK", ("mcp/", "mcp_types/")),
    ("fastapi", ("fastapi/",)),
    ("starlette", ("starlette/",)),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("anyio", ("anyio/",)),
    ("asyncio event loop and sockets", ("asyncio/", "selectors.py", "socket.py", "ssl.py")),
)
GENERATOR_GROUPS: Groups = (
    ("naftiko-gen (naftiko_codegen)", ("naftiko_codegen/",)),
    ("black (formatting)", ("black/", "blib2to3/")),
    ("jinja2 (templates)", ("jinja2/", "markupsafe/")),
    ("yaml (loading)", ("yaml/",)),
    ("jsonschema", ("jsonschema/", "referencing/", "rpds")),
    ("click", ("click/",)),
    ("re (regular expressions)", ("re/", "sre_")),
    ("import machinery (importlib)", ("<frozen importlib",)),
)

Focus = tuple[tuple[str, str], ...]

# (label, frame text): the inclusive share of the samples whose stack holds that frame.
SERVICE_FOCUS: Focus = (
    ("upstream call (generated client, httpx)", "AsyncClient._send (track_batch/client.py)"),
    ("httpx AsyncClient.send", "AsyncClient.send (httpx/_client.py)"),
    ("failed `import sniffio` in httpcore", "current_async_library (httpcore/_synchronization.py)"),
    (
        "httpcore pool: assign requests to connections",
        "AsyncConnectionPool._assign_requests_to_connections (httpcore",
    ),
    ("httpcore: is the idle connection still usable", "has_expired (httpcore"),
    ("request body read", "read_body (track_batch/rest.py)"),
    ("request body json.loads", "parse_json_body (track_batch/rest.py)"),
    ("input validation (jsonschema)", "check_inputs (track_batch/rest.py)"),
    ("body re-serialised (dump_json)", "dump_json (track_batch/_runtime.py)"),
    ("response built (passthrough)", "passthrough (track_batch/rest.py)"),
    ("MCP tool call handler", "call_tool (track_batch/mcp_server.py)"),
    ("MCP SDK: one request (handle_modern_request)", "handle_modern_request (mcp/server/"),
    # without the server's input-schema lookup the SDK runs tools/list on every call
    ("MCP SDK: tools/list run for a call's input schema", "_tool_input_schema (mcp/server/"),
    ("MCP tool result built (tool_result)", "tool_result (track_batch/mcp_server.py)"),
    ("access log (Logger.info)", "Logger.info (logging/__init__.py)"),
)
GENERATOR_FOCUS: Focus = (
    ("load + validate (pipeline.check)", "check (naftiko_codegen/pipeline.py)"),
    ("emit: render + format", "emit (naftiko_codegen/emit.py)"),
    (
        "black.format_str (compiled; its frames are not visible)",
        "format_python (naftiko_codegen/emit.py)",
    ),
    ("jinja2 template loading and compiling", "Environment.get_template (jinja2/environment.py)"),
    ("jinja2 rendering", "Template.render (jinja2/environment.py)"),
    ("imports", "_find_and_load (<frozen importlib._bootstrap>)"),
)


def _group(file: str, groups: Groups) -> str:
    for name, patterns in groups:
        if any(p in file for p in patterns):
            return name
    return "other"


def parse(text: str) -> list[tuple[list[tuple[str, str]], int]]:
    stacks: list[tuple[list[tuple[str, str]], int]] = []
    for line in text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for raw in stack.split(";"):
            match = FRAME.match(raw)
            if match:
                frames.append((match.group("func"), match.group("file")))
            else:
                frames.append((raw, ""))
        stacks.append((frames, int(count)))
    return stacks


def summarise(
    text: str,
    top: int = 15,
    groups: Groups = SERVICE_GROUPS,
    ours: str = "track_batch/",
    focus: Focus = SERVICE_FOCUS,
) -> dict[str, Any]:
    """Tables of the profile; `ours` marks the files whose functions get their own table."""
    stacks = parse(text)
    total = sum(count for _, count in stacks)
    if total == 0:
        return {"samples": 0}
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    by_group: Counter[str] = Counter()
    focused: Counter[str] = Counter()
    for frames, count in stacks:
        labels = [f"{f} ({p})" for f, p in frames]
        for name, pattern in focus:
            if any(pattern in label for label in labels):
                focused[name] += count
        func, file = frames[-1]
        leaf[f"{func} ({file})"] += count
        for label in {f"{f} ({p})" for f, p in frames}:
            inclusive[label] += count
        for label in {f"{f} ({p})" for f, p in frames if ours in p}:
            own[label] += count
        by_group[_group(file, groups)] += count

    def table(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"frame": label, "percent": round(100.0 * n / total, 1), "samples": n}
            for label, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "self": table(leaf),
        "inclusive": table(inclusive),
        "own_functions_inclusive": table(own),
        "focus_inclusive": [
            {
                "frame": name,
                "percent": round(100.0 * focused[name] / total, 1),
                "samples": focused[name],
            }
            for name, _ in focus
        ],
        "self_by_group": [
            {"group": g, "percent": round(100.0 * n / total, 1), "samples": n}
            for g, n in by_group.most_common()
        ],
    }


def main() -> None:
    text = Path(sys.argv[1]).read_text("utf-8", "replace")
    if "--generator" in sys.argv[2:]:
        data = summarise(
            text, groups=GENERATOR_GROUPS, ours="naftiko_codegen/", focus=GENERATOR_FOCUS
        )
    else:
        data = summarise(text)
    print(f"samples: {data['samples']}")
    for key in ("focus_inclusive", "self_by_group", "self", "own_functions_inclusive"):
        print(f"\n{key}:")
        for row in data.get(key, []):
            label = row.get("group") or row.get("frame")
            print(f"  {row['percent']:5.1f}%  {label}")


if __name__ == "__main__":
    main()
