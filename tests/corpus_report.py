"""Run naftiko-gen over a folder of real capabilities and check every package it generates.

For each spec: generated, or refused (with its first error). For each generated package: the
modules import, ruff is clean, every REST route and MCP tool the spec declares exists, and one
call per consumed operation reaches a local upstream with the method, path, query, headers and
body the spec implies (computed here independently of the generator's model). Operations and
tools that build their result (output mappings other than `$.`, mocks, orchestrations with
mappings, `ref` to an aggregate function) are called through the generated REST service and MCP
server while the upstream answers a sample document made from the spec's own paths; the result
must equal what the spec's outputs give for it, evaluated here on their own terms.

    python tests/corpus_report.py ../shared/corpus --report docs/corpus.md

The test suite runs the same checks on the vendored sample (tests/test_corpus.py).
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from support.servers import serve_asgi

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

_PLACEHOLDER = re.compile(r"\{\{?\s*([^{}\s]+)\s*\}?\}")
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")


class Recorder:
    """An upstream that answers every request with `{}` (or `answers[path]`, the sample
    document an output mapping is checked against) and remembers it."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[str, bytes] = {}
        self.patterns: list[tuple[re.Pattern[str], bytes]] = []  # first match answers

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.requests.append({
            "method": scope["method"],
            "path": scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
            "query": scope.get("query_string", b"").decode("latin-1"),
            "headers": {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            "body": body,
        })
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        answer = next((body for pattern, body in self.patterns if pattern.fullmatch(scope["path"])),
                      self.answers.get(scope["path"], self.answers.get("*", b"{}")))
        await send({"type": "http.response.body", "body": answer})


@dataclass
class Outcome:
    spec: str
    status: str  # generated | refused | broken
    detail: str = ""
    checks: list[str] = field(default_factory=list)


def _sample(schema: dict[str, Any], name: str) -> Any:
    kind = schema.get("type")
    if schema.get("enum"):
        return schema["enum"][0]
    return {"integer": 7, "number": 1.5, "boolean": True, "array": ["a"], "object": {"k": "v"}}.get(
        kind if isinstance(kind, str) else "", f"v-{name}"[:20])


def _remove_dots(path: str) -> str:
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(out) > 1:
                out.pop()
        elif segment != ".":
            out.append(segment)
    return "/".join(out) if "/".join(out).startswith("/") else "/" + "/".join(out)


def _expected_path(base_path: str, resource_path: str, values: dict[str, Any]) -> str:
    joined = base_path.rstrip("/") + "/" + resource_path.lstrip("/")
    joined = _remove_dots(_PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", joined))
    return _PLACEHOLDER.sub(lambda m: quote(str(values.get(m.group(1), "")), safe=""), joined)


def _secrets(spec_text: str) -> dict[str, str]:
    return {name.rpartition(".")[2]: f"secret-{name.rpartition('.')[2]}" for name in _VARIABLE.findall(spec_text)}


def check_package(folder: Path, package: str, spec: dict[str, Any], spec_text: str,
                  upstream: str, recorder: Recorder) -> list[str]:
    """Problems found in one generated package (empty: it works)."""
    problems: list[str] = []
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "-q",
                           "--select", "E,F,W,I,B,UP,PYI", "--line-length", "100",
                           str(folder / package)], capture_output=True, text=True, check=False)
    if ruff.returncode != 0:
        problems.append("ruff: " + ruff.stdout.strip().splitlines()[0] if ruff.stdout else "ruff failed")
    env_backup = dict(os.environ)
    os.environ.update(_secrets(spec_text))
    for bind in spec.get("binds") or []:  # bound secrets are read from the variables binds name
        for key, variable in (bind.get("keys") or {}).items() if isinstance(bind, dict) else ():
            os.environ.setdefault(str(variable), f"secret-{key}")
    sys.path.insert(0, str(folder))
    try:
        client_module = importlib.import_module(f"{package}.client")
        for module in ("rest", "mcp_server"):
            if (folder / package / f"{module}.py").exists():
                importlib.import_module(f"{package}.{module}")
        capability = spec.get("capability", {})
        for adapter in capability.get("exposes", []) or []:
            if adapter.get("type") == "rest":
                rest = importlib.import_module(f"{package}.rest")
                served = {(m, getattr(r, "path", "")) for r in rest.app.routes for m in getattr(r, "methods", ())}
                for resource in adapter.get("resources", []):
                    path = _PLACEHOLDER.sub(lambda m: "{" + re.sub(r"\W", "_", m.group(1)) + "}", resource["path"])
                    for op in resource.get("operations", []):
                        if (op["method"].upper(), path) not in served:
                            problems.append(f"REST route {op['method']} {resource['path']} missing")
            if adapter.get("type") == "mcp":
                mcp = importlib.import_module(f"{package}.mcp_server")
                names = {t.name for t in mcp.TOOLS}
                for tool in adapter.get("tools", []):
                    tool = _resolved(tool, capability)
                    if tool.get("name") not in names:
                        problems.append(f"MCP tool {tool.get('name')} missing")
        client_cls = client_module.Client
        single = len(capability.get("consumes", [])) == 1
        bases = {c["namespace"]: f"{upstream}{urlsplit(str(c['baseUri'])).path}" for c in capability.get("consumes", [])}
        kwargs = {"base_uri": next(iter(bases.values()))} if single else {"base_uris": bases}
        with client_cls(**kwargs) as client:
            for consumer in capability.get("consumes", []):
                base_path = urlsplit(str(consumer["baseUri"])).path
                for resource in consumer.get("resources", []):
                    for op in resource.get("operations", []):
                        problems += _call_one(client, client_module, consumer, resource, op, base_path, recorder)
        problems += check_outputs(folder, package, capability, bases, recorder, spec.get("binds"))
    except Exception as exc:  # noqa: BLE001 - any failure of a generated package is a finding
        problems.append(f"{type(exc).__name__}: {str(exc)[:200]}")
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
    return problems


def _call_one(client: Any, module: Any, consumer: dict[str, Any], resource: dict[str, Any],
              op: dict[str, Any], base_path: str, recorder: Recorder) -> list[str]:
    from naftiko_codegen.names import dedupe, python_identifier

    params = list(consumer.get("inputParameters") or []) + list(op.get("inputParameters") or [])
    names = dedupe([python_identifier(str(p["name"]), fallback="param") for p in params])
    values: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    auth = consumer.get("authentication") or {}
    kind = str(auth.get("type", "")).lower()
    credential = "authorization" if kind in ("basic", "bearer") else str(
        auth.get("key") or auth.get("name") or auth.get("header") or "").lower()
    for p, arg in zip(params, names, strict=True):
        if "value" in p or "const" in p or p.get("in") == "environment":
            continue
        if p.get("in") in ("header", "query") and str(p["name"]).lower() == credential:
            continue  # the authentication sets it (docs/diagnostics.md, W213)
        value = _sample({k: v for k, v in p.items() if k in ("type", "enum")}, str(p["name"]))
        values[str(p["name"])] = value
        kwargs[arg] = value
    resource_path = str(resource.get("path", ""))
    if op.get("path"):
        resource_path = resource_path.rstrip("/") + "/" + str(op["path"]).lstrip("/")
    for var in _PLACEHOLDER.findall(resource_path):
        if var not in values:
            arg = python_identifier(var, fallback="param")
            values[var] = kwargs[arg] = f"v-{var}"[:20]
    method = python_identifier(str(op.get("name") or op.get("id")), fallback="operation")
    candidates = [m for m in dir(client) if m == method or re.fullmatch(re.escape(method) + r"_\d+", m)]
    if not candidates:
        return [f"client method for {op.get('name')} missing"]
    before = len(recorder.requests)
    try:
        getattr(client, candidates[0])(**kwargs)
    except module.ApiError as exc:
        return [f"{op.get('name')}: {exc}"]
    if len(recorder.requests) != before + 1:
        return [f"{op.get('name')}: {len(recorder.requests) - before} upstream requests"]
    got = recorder.requests[-1]
    problems = []
    if got["method"] != str(op["method"]).upper():
        problems.append(f"{op.get('name')}: method {got['method']}")
    expected = _expected_path(base_path, resource_path, values)
    if got["path"] != expected:
        problems.append(f"{op.get('name')}: path {got['path']} != {expected}")
    query = dict(parse_qsl(got["query"], keep_blank_values=True))
    bodies = []
    for p in params:
        name, where = str(p["name"]), p.get("in")
        if name not in values:
            continue
        if where == "query" and name not in query:
            problems.append(f"{op.get('name')}: query {name} missing")
        if where == "header" and name.lower() not in got["headers"]:
            problems.append(f"{op.get('name')}: header {name} missing")
        if where == "body":
            bodies.append(name)
    if bodies:
        sent = json.loads(got["body"] or b"null")
        want = values[bodies[0]] if len(bodies) == 1 else {b: values[b] for b in bodies}
        if sent != want:
            problems.append(f"{op.get('name')}: body {got['body'][:80]!r}")
    if kind in ("basic", "bearer") and not got["headers"].get("authorization", "").lower().startswith(kind):
        problems.append(f"{op.get('name')}: no {kind} Authorization header")
    if kind == "basic" and "authorization" in got["headers"]:
        base64.b64decode(got["headers"]["authorization"].split()[-1])
    return problems


# --- mapped outputs ------------------------------------------------------------------------
# For each exposed operation or tool whose result is built (an output mapping other than `$.`,
# or a mock), the upstream answers a sample document made from the spec's own paths, and the
# result must equal what the spec's outputs give for it, computed here on their own terms.


def _segments(path: str) -> list[str | int]:
    """`$.a.b[0]` -> ["a", "b", 0] (the forms the corpus writes)."""
    return [int(index) if index else name
            for name, index in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path.strip()[1:])]


def _dig(document: Any, path: list[str | int]) -> Any:
    for part in path:
        if isinstance(part, int):
            document = document[part] if isinstance(document, list) and part < len(document) else None
        else:
            document = document.get(part) if isinstance(document, dict) else None
    return document


def _plant(document: dict[str, Any], path: list[str | int], value: Any) -> Any:
    """Set `value` at `path`, creating what is missing; returns what is there afterwards."""
    if not path:
        return document
    node: Any = document
    for i, part in enumerate(path):
        last = i == len(path) - 1
        fresh: Any = value if last else ([] if isinstance(path[i + 1], int) else {})
        if isinstance(part, int):
            while len(node) <= part:
                node.append(None)
            if node[part] is None or last:
                node[part] = fresh
            node = node[part]
        else:
            if part not in node or last:
                node[part] = fresh
            node = node[part]
    return node


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def next(self, kind: Any) -> Any:
        self.n += 1
        return {"number": self.n + 0.5, "integer": self.n, "boolean": self.n % 2 == 0}.get(
            kind if isinstance(kind, str) else "", f"s{self.n}")


def _mapping_of(out: dict[str, Any]) -> Any:
    mapping = out.get("mapping")
    if mapping is None and isinstance(out.get("value"), str) and out["value"].strip().startswith("$"):
        mapping = out["value"]
    return mapping


def _fill(out: dict[str, Any], document: dict[str, Any], counter: _Counter) -> None:
    """Put into `document` a distinct value at every path `out` reads."""
    mapping = _mapping_of(out)
    if "value" in out and mapping is None:
        return
    path = _segments(mapping) if mapping else []
    properties, items = out.get("properties"), out.get("items")
    if isinstance(properties, dict) and properties:
        target = _plant(document, path, {}) if path else document
        for sub in properties.values():
            _fill(sub, target, counter)
    elif out.get("type") == "array" or items is not None:
        elements: list[Any] = []
        for _ in range(2):
            if isinstance(items, dict) and (items.get("properties") or _mapping_of(items) not in (None, "$", "$.")):
                element: dict[str, Any] = {}
                _fill(items, element, counter)
                elements.append(element)
            else:
                elements.append(counter.next((items or {}).get("type") if isinstance(items, dict) else None))
        if path:
            _plant(document, path, elements)
        else:
            document.setdefault("__array__", elements)
    elif path:
        kind = out.get("type")
        _plant(document, path, {"k": counter.next(None)} if kind == "object" else counter.next(kind))


def _expect(out: dict[str, Any], document: Any, inputs: dict[str, Any]) -> Any:
    """What the spec says `out` is for `document` (docs/semantics.md)."""
    mapping = _mapping_of(out)
    if "value" in out and mapping is None:
        value = out["value"]
        if not isinstance(value, str):
            return value
        return re.sub(r"\{\{\s*([^{}\s]+)\s*\}\}", lambda m: str(inputs.get(m.group(1), "")), value)
    base = _dig(document, _segments(mapping)) if mapping else document
    properties, items = out.get("properties"), out.get("items")
    if isinstance(properties, dict) and properties:
        if mapping and _segments(mapping) and base is None:
            return None
        return {k: _expect(v, base, inputs) for k, v in properties.items()}
    if out.get("type") == "array" or items is not None:
        if not isinstance(base, list):
            return None
        if isinstance(items, dict) and (items.get("properties") or _mapping_of(items) not in (None, "$", "$.")):
            return [_expect(items, e, inputs) for e in base]
        return base
    return base


def _built(outputs: Any, mock: bool) -> bool:
    """Whether the result is built (not the upstream answer passed through)."""
    if mock:
        return bool(outputs)
    if not outputs:
        return False
    only = outputs[0]
    return not (len(outputs) == 1 and _mapping_of(only) in ("$", "$.")
                and not only.get("properties") and not only.get("items"))


def _sample_document(outputs: list[dict[str, Any]]) -> Any:
    document: dict[str, Any] = {}
    counter = _Counter()
    for out in outputs:
        _fill(out, document, counter)
    return document.pop("__array__") if list(document) == ["__array__"] else document


def _expected_result(outputs: list[dict[str, Any]], document: Any, inputs: dict[str, Any], mock: bool) -> Any:
    if len(outputs) == 1 and not mock:
        return _expect(outputs[0], document, inputs)
    return {str(o.get("name")): _expect(o, document, inputs) for o in outputs}


def _resolved(op: dict[str, Any], capability: dict[str, Any]) -> dict[str, Any]:
    """An operation or tool with `ref`: what its aggregate function runs, with the operation's
    own name, description and inputs when it has them."""
    if "ref" not in op:
        return op
    for aggregate in capability.get("aggregates", []) or []:
        for function in aggregate.get("functions", []) or []:
            if f"{aggregate.get('namespace')}.{function.get('name')}" == op["ref"]:
                merged = {k: v for k, v in function.items() if k not in ("semantics",)}
                merged.update({k: v for k, v in op.items() if k != "ref" and v})
                for key in ("call", "with", "steps", "mappings", "outputParameters"):
                    merged.pop(key, None)
                    if key in function:
                        merged[key] = function[key]
                return merged
    return op


def _consumed(capability: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """"ns.op" -> (the upstream path pattern, as a regular expression, and the operation)."""
    found = {}
    for c in capability.get("consumes", []) or []:
        base = urlsplit(str(c.get("baseUri", ""))).path
        for r in c.get("resources", []) or []:
            for op in r.get("operations", []) or []:
                path = str(r.get("path", ""))
                if op.get("path"):
                    path = path.rstrip("/") + "/" + str(op["path"]).lstrip("/")
                joined = _remove_dots(_PLACEHOLDER.sub("\x00", base.rstrip("/") + "/" + path.lstrip("/")))
                pattern = "[^/]+".join(re.escape(part) for part in joined.split("\x00"))
                found[f"{c.get('namespace')}.{op.get('name') or op.get('id')}"] = (pattern, op)
    return found


def _orchestration(op: dict[str, Any], capability: dict[str, Any]) -> tuple[list[tuple[str, bytes]], Any] | None:
    """For `steps` with `mappings` (call steps on JSON operations, lookups on a JSONPath): the
    upstream answers per path pattern and the result docs/semantics.md gives for them; None for
    the orchestrations this does not cover."""
    consumed = _consumed(capability)
    steps, mappings = op.get("steps") or [], op.get("mappings") or []
    names = [str(s.get("name")) for s in steps]
    if not mappings or len(set(names)) != len(names):
        return None
    documents: dict[str, Any] = {}
    results: dict[str, Any] = {}
    counter = _Counter()
    patterns: list[str] = []
    for step in steps:
        name = str(step.get("name"))
        if step.get("type", "call") == "call":
            target = consumed.get(str(step.get("call")))
            if target is None or str(target[1].get("outputRawFormat") or "json") != "json":
                return None
            if any(isinstance(o, dict) and o.get("name") and _mapping_of(o) not in (None, "$", "$.")
                   for o in target[1].get("outputParameters") or []):
                return None  # named consumed outputs are added to the answer: not covered here
            if any(isinstance(v, str) and any(n in v for n in names) for v in (step.get("with") or {}).values()):
                return None  # arguments taken from earlier steps: not covered here
            if target[0] in patterns:
                return None  # two steps on one path would need one answer each
            patterns.append(target[0])
            documents[name] = {}
        elif step.get("type") == "lookup":
            value = str(step.get("lookupValue", ""))
            source = _segments(value)
            index = str(step.get("index"))
            if not value.startswith("$") or not source or source[0] not in documents or index not in documents:
                return None
            keys = [f"k{counter.next(None)}", f"k{counter.next(None)}"]
            _plant(documents[source[0]], source[1:], keys)
            fields = [str(f.get("name") if isinstance(f, dict) else f) for f in step.get("outputParameters") or []]
            match = str(step.get("match"))
            rows = [{match: "decoy", **{f: "no" for f in fields}}]
            for key in reversed(keys):
                rows.append({match: key, **{f: f"{f}-{key}" for f in fields}, "other": 1})
            documents[index] = rows
            results[name] = [{f: f"{f}-{key}" for f in fields} for key in keys]
        else:
            return None
    want: dict[str, Any] = {}
    for entry in mappings:
        path = _segments(str(entry.get("value", "")))
        if not path or str(path[0]) not in names:
            return None
        step_name = str(path[0])
        if step_name in documents and isinstance(documents[step_name], dict) and _dig(documents[step_name], path[1:]) is None:
            _plant(documents[step_name], path[1:], counter.next(None))
        source = results.get(step_name, documents.get(step_name))
        node = want
        target = str(entry.get("targetName", "")).split(".")
        for part in target[:-1]:
            node = node.setdefault(part, {})
        node[target[-1]] = _dig(source, path[1:])
    answers = [(pattern, json.dumps(documents[s["name"]]).encode())
               for pattern, s in zip(patterns, [s for s in steps if s.get("type", "call") == "call"], strict=True)]
    return answers, want


def _formats(capability: dict[str, Any]) -> dict[str, str]:
    return {f"{c.get('namespace')}.{op.get('name') or op.get('id')}": str(op.get("outputRawFormat") or "json")
            for c in capability.get("consumes", []) or [] for r in c.get("resources", []) or []
            for op in r.get("operations", []) or []}


def _checkable(op: dict[str, Any], formats: dict[str, str]) -> tuple[bool, bool]:
    """(checked here, mock): single calls to JSON operations and mocks."""
    mock = not any(k in op for k in ("call", "steps", "ref"))
    if "call" in op and formats.get(str(op["call"]), "json") != "json":
        return False, False
    return ("call" in op or mock) and _built(op.get("outputParameters"), mock), mock


def check_outputs(folder: Path, package: str, capability: dict[str, Any], bases: dict[str, str],
                  recorder: Recorder, binds: Any = None) -> list[str]:
    import asyncio

    from naftiko_codegen.names import env_prefix

    problems: list[str] = []
    formats = _formats(capability)
    for namespace, base in bases.items():
        os.environ[env_prefix(namespace) + "_BASE_URI"] = base

    for adapter in capability.get("exposes", []) or []:
        if adapter.get("type") == "mcp":
            mcp = importlib.import_module(f"{package}.mcp_server")
            schemas = {t.name: t for t in mcp.TOOLS}
            for tool in adapter.get("tools", []) or []:
                tool = _resolved(tool, capability)
                checked, mock = _checkable(tool, formats)
                planned = _orchestration(tool, capability) if "steps" in tool else None
                if not (checked or planned) or tool.get("name") not in schemas:
                    continue
                declared = schemas[tool["name"]].input_schema
                arguments = {k: _sample(v, k) for k, v in declared.get("properties", {}).items()}
                if planned:
                    recorder.patterns = [(re.compile(p), body) for p, body in planned[0]]
                    want = planned[1]
                else:
                    document = _sample_document(tool["outputParameters"])
                    recorder.answers["*"] = json.dumps(document).encode()
                    want = _expected_result(tool["outputParameters"], document, arguments, mock)

                async def call(name: str = tool["name"], arguments: dict[str, Any] = arguments,
                               mcp: Any = mcp) -> Any:
                    async with mcp.upstream.open():
                        params = mcp.types.CallToolRequestParams(name=name, arguments=arguments)
                        return await mcp.call_tool(None, params)

                try:
                    result = asyncio.run(call())
                finally:
                    recorder.answers.clear()
                    recorder.patterns = []
                got = json.loads(result.content[0].text) if not result.is_error else result.content[0].text
                if result.is_error or got != want:
                    problems.append(f"tool {tool['name']}: result {str(got)[:120]} != {str(want)[:120]}")
                elif mcp.TOOLS and schemas[tool["name"]].output_schema and result.structured_content != want:
                    problems.append(f"tool {tool['name']}: structured content differs from the text")
        if adapter.get("type") == "rest":
            from fastapi.testclient import TestClient

            rest = importlib.import_module(f"{package}.rest")
            paths = rest.OPENAPI["paths"]
            with TestClient(rest.app) as http:
                for resource in adapter.get("resources", []) or []:
                    for op in resource.get("operations", []) or []:
                        op = _resolved(op, capability)
                        checked, mock = _checkable(op, formats)
                        planned = _orchestration(op, capability) if "steps" in op else None
                        if not (checked or planned):
                            continue
                        route = _PLACEHOLDER.sub(lambda m: "{" + re.sub(r"\W", "_", m.group(1)) + "}",
                                                 str(resource["path"]))
                        described = paths.get(str(resource["path"]), paths.get(route, {})).get(op["method"].lower(), {})
                        inputs: dict[str, Any] = {}
                        query: dict[str, Any] = {}
                        url = route
                        for p in described.get("parameters", []):
                            if "name" not in p or not p.get("required"):
                                continue
                            value = _sample(p.get("schema", {}), p["name"])
                            inputs[p["name"]] = value
                            if p["in"] == "path":
                                url = url.replace("{" + p["name"] + "}", quote(str(value), safe=""))
                            elif p["in"] == "query":
                                query[p["name"]] = value
                        body = described.get("requestBody", {}).get("content", {}).get("application/json", {})
                        payload = _sample(body.get("schema", {}), "body") if body else None
                        if planned:
                            recorder.patterns = [(re.compile(p), body) for p, body in planned[0]]
                            want = planned[1]
                        else:
                            document = _sample_document(op["outputParameters"])
                            recorder.answers["*"] = json.dumps(document).encode()
                            want = _expected_result(op["outputParameters"], document, inputs, mock)
                        try:
                            answer = http.request(op["method"].upper(), url, params=query,
                                                  json=payload if body else None)
                        finally:
                            recorder.answers.clear()
                            recorder.patterns = []
                        if answer.status_code >= 300 or answer.json() != want:
                            problems.append(f"REST {op['method']} {resource['path']}: {answer.status_code} "
                                            f"{answer.text[:120]} != {str(want)[:120]}")
    return problems


@contextmanager
def upstream() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    with serve_asgi(recorder) as url:
        yield url, recorder


def run(specs: list[Path], work: Path) -> list[Outcome]:
    outcomes = []
    with upstream() as (url, recorder):
        for spec in specs:
            result = generate(spec, spec.parent)
            if not result.ok:
                errors = [d for d in result.diagnostics if d.is_error]
                first = errors[0]
                outcomes.append(Outcome(spec.name, "refused",
                                        f"{first.line}:{first.column} {first.code} {first.message}"[:160]))
                continue
            folder = work / spec.stem
            output.write(folder, {result.package: result.files})
            text = spec.read_text("utf-8")
            problems = check_package(folder, result.package, yaml.safe_load(text), text, url, recorder)
            outcomes.append(Outcome(spec.name, "broken" if problems else "generated",
                                    "; ".join(problems)[:300]))
    return outcomes


def report(outcomes: list[Outcome], source: str) -> str:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("generated", "refused", "broken")}
    total = len(outcomes)
    lines = [
        "# Corpus report", "",
        f"`python tests/corpus_report.py {source} --report docs/corpus.md` over {total} capabilities.", "",
        "| result | specs | share |", "| --- | --- | --- |",
        *[f"| {k} | {v} | {100 * v / max(total, 1):.1f}% |" for k, v in counts.items()], "",
        "generated: the package imports, is ruff clean, has every declared route and tool, and one call per",
        "consumed operation reached a local upstream as the spec implies. refused: naftiko-gen exited with",
        "a diagnostic (its first error is shown). broken: generated, but a check failed (a bug).", "",
        "| spec | result | detail |", "| --- | --- | --- |",
    ]
    for o in sorted(outcomes, key=lambda o: o.spec):
        detail = o.detail.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{o.spec}` | {o.status} | {detail} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--report", type=Path, help="write the Markdown report here")
    args = parser.parse_args()
    specs = sorted(p for p in args.folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    with tempfile.TemporaryDirectory() as work:
        outcomes = run(specs, Path(work))
    text = report(outcomes, str(args.folder))
    if args.report:
        args.report.write_text(text)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("generated", "refused", "broken")}
    print(json.dumps(counts))
    return 1 if counts["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
