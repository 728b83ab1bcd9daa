"""Run naftiko-gen over a folder of real capabilities and check every package it generates.

For each spec: generated, or refused (with its first error). For each generated package: the
modules import, ruff is clean, every REST route and MCP tool the spec declares exists, and one
call per consumed operation reaches a local upstream with the method, path, query, headers and
body the spec implies (computed here independently of the generator's model).

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
    """An upstream that answers every request with `{}` and remembers it."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

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
        await send({"type": "http.response.body", "body": b"{}"})


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


def _base_path(base_uri: Any) -> str:
    """The path of a base URI; a templated host (`https://{{X}}.h/v1`, `https://{x}.h/v1`) keeps
    its path, a URI that is a whole variable (`{{API_URL}}`) has none the spec can tell."""
    parts = urlsplit(_VARIABLE.sub("x", str(base_uri)))
    return parts.path if parts.scheme and parts.netloc else ""


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
                    if tool.get("name") not in names:
                        problems.append(f"MCP tool {tool.get('name')} missing")
        client_cls = client_module.Client
        single = len(capability.get("consumes", [])) == 1
        bases = {c["namespace"]: f"{upstream}{_base_path(c['baseUri'])}" for c in capability.get("consumes", [])}
        kwargs = {"base_uri": next(iter(bases.values()))} if single else {"base_uris": bases}
        with client_cls(**kwargs) as client:
            for consumer in capability.get("consumes", []):
                base_path = _base_path(consumer["baseUri"])
                for resource in consumer.get("resources", []):
                    for op in resource.get("operations", []):
                        problems += _call_one(client, client_module, spec, consumer, resource, op, base_path, recorder)
    except Exception as exc:  # noqa: BLE001 - any failure of a generated package is a finding
        problems.append(f"{type(exc).__name__}: {str(exc)[:200]}")
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
    return problems


def _call_one(client: Any, module: Any, spec: dict[str, Any], consumer: dict[str, Any],
              resource: dict[str, Any], op: dict[str, Any], base_path: str, recorder: Recorder) -> list[str]:
    from naftiko_codegen.names import dedupe, python_identifier

    params = list(consumer.get("inputParameters") or []) + list(op.get("inputParameters") or [])
    names = dedupe([python_identifier(str(p["name"]), fallback="param") for p in params])
    values: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    auth = consumer.get("authentication") or {}
    kind = str(auth.get("type", "")).lower()
    credential = "authorization" if kind in ("basic", "bearer") else str(
        auth.get("key") or auth.get("name") or auth.get("header") or "").lower()
    callers = {"tools", "rest"} | {str(a.get("namespace")) for a in spec.get("capability", {}).get("exposes") or []}
    for p, arg in zip(params, names, strict=True):
        fixed = p.get("value", p.get("const"))
        if _caller_key(fixed, callers) == str(p["name"]):
            fixed = None  # `value: '{{tools.x}}'` is the caller's input x, not a fixed value
        if fixed is not None or p.get("in") == "environment":
            continue
        if p.get("in") in ("header", "query") and str(p["name"]).lower() == credential:
            continue  # the authentication sets it (docs/diagnostics.md, W213)
        value = _sample({k: v for k, v in p.items() if k in ("type", "enum")}, str(p["name"]))
        values[str(p["name"])] = value
        kwargs[arg] = value
    resource_path = str(resource.get("path", ""))
    if op.get("path"):
        resource_path = resource_path.rstrip("/") + "/" + str(op["path"]).lstrip("/")
    taken = [n for p, n in zip(params, names, strict=True) if p.get("in") != "environment"]
    for var in _PLACEHOLDER.findall(resource_path):
        if var not in values:
            arg = dedupe([*taken, python_identifier(var, fallback="param")])[-1]
            taken.append(arg)
            values[var] = kwargs[arg] = f"v-{var}"[:20]
    template = _body_template(op, spec, callers)
    if template is not None and template[0] == "json":
        for name in template[2]:
            if name not in values and name not in {str(p["name"]) for p in params}:
                # a body variable nobody declares: a non-string value, so that a template that
                # turned `"{{x}}"` into text instead of keeping the value's type is caught
                arg = dedupe([*taken, python_identifier(name, fallback="param")])[-1]
                taken.append(arg)
                values[name] = kwargs[arg] = [7, f"v-{name}"[:20]]
    elif template is not None and template[0] == "whole" and not any(p.get("in") == "body" for p in params):
        values["body"] = kwargs[dedupe([*taken, "body"])[-1]] = {"k": "v"}
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
    pairs = parse_qsl(got["query"], keep_blank_values=True)
    cookies = got["headers"].get("cookie", "").split("; ")
    bodies = []
    for p in params:
        name, where = str(p["name"]), p.get("in")
        if name not in values:
            continue
        value = values[name]
        if where == "query":
            # a list repeats the name; values are written as text (`true`, `7`)
            want = [_text(v) for v in value] if isinstance(value, list) else [_text(value)]
            sent = [v for k, v in pairs if k == name]
            if sent != want:
                problems.append(f"{op.get('name')}: query {name}={sent} != {want}")
        if where == "header" and got["headers"].get(name.lower()) != _text(value):
            problems.append(f"{op.get('name')}: header {name}: {got['headers'].get(name.lower())!r}")
        if where == "cookie" and f"{name}={_text(value)}" not in cookies:
            problems.append(f"{op.get('name')}: cookie {name} missing from {cookies}")
        if where == "body":
            bodies.append(name)
    if template is not None and template[0] == "json":
        want = _fill(template[1], values, callers, spec)
        if json.loads(got["body"] or b"null") != want:
            problems.append(f"{op.get('name')}: body {got['body'][:80]!r} != {json.dumps(want)[:80]}")
        if got["headers"].get("content-type") != "application/json":
            problems.append(f"{op.get('name')}: body sent as {got['headers'].get('content-type')}")
    elif template is not None and "body" in values and not bodies:
        if json.loads(got["body"] or b"null") != values["body"]:
            problems.append(f"{op.get('name')}: body {got['body'][:80]!r}")
    elif bodies:
        sent = json.loads(got["body"] or b"null")
        want = values[bodies[0]] if len(bodies) == 1 else {b: values[b] for b in bodies}
        if sent != want:
            problems.append(f"{op.get('name')}: body {got['body'][:80]!r}")
    if kind in ("basic", "bearer") and not got["headers"].get("authorization", "").lower().startswith(kind):
        problems.append(f"{op.get('name')}: no {kind} Authorization header")
    if kind == "basic" and "authorization" in got["headers"]:
        base64.b64decode(got["headers"]["authorization"].split()[-1])
    return problems


_ANY_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def _caller_key(value: Any, callers: set[str]) -> str | None:
    """`{{tools.x}}` (or `rest.`, an exposed namespace) -> `x`."""
    match = _ANY_VARIABLE.fullmatch(value.strip()) if isinstance(value, str) else None
    prefix, dot, key = match.group(1).partition(".") if match else ("", "", "")
    return key if dot and prefix in callers else None


def _body_template(op: dict[str, Any], spec: dict[str, Any], callers: set[str]) -> tuple[str, Any, list[str]] | None:
    """("json", data, input names) for a JSON body template, ("whole", None, []) for
    `{type: json}` without data; read from the spec as docs/semantics.md describes it."""
    if "body" not in op:
        return None
    body = op["body"]
    if isinstance(body, str):
        data = json.loads(body)
    elif isinstance(body, dict) and set(body) <= {"type", "data"}:
        if "data" not in body:
            return "whole", None, []
        data = body["data"]
    else:
        data = body
    names: list[str] = []
    binds = {str(k) for b in spec.get("binds") or [] for k in (b.get("keys") or {})}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            for text in _ANY_VARIABLE.findall(value):
                key = _caller_key("{{" + text + "}}", callers)
                if key is None and "." not in text and text not in binds:
                    key = text
                if key is not None and key not in names:
                    names.append(key)

    walk(data)
    return "json", data, names


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _fill(data: Any, values: dict[str, Any], callers: set[str], spec: dict[str, Any]) -> Any:
    """The body the upstream should receive: a string that is one `{{x}}` becomes x's value
    with its JSON type, placeholders inside text are written as text, `{{env.X}}` and bind
    keys read the environment."""
    keys: dict[tuple[str, str], str] = {}
    for bind in spec.get("binds") or []:
        for k, v in (bind.get("keys") or {}).items():
            keys[(str(bind.get("namespace", "")), str(k))] = str(v)
            keys.setdefault(("", str(k)), str(v))

    def lookup(text: str) -> Any:
        key = _caller_key("{{" + text + "}}", callers)
        if key is not None:
            return values[key]
        namespace, _, name = text.rpartition(".")
        if not namespace and text in values:
            return values[text]
        return os.environ[keys.get((namespace if namespace != "env" else "env", name), keys.get(("", name), name))]

    if isinstance(data, dict):
        return {k: _fill(v, values, callers, spec) for k, v in data.items()}
    if isinstance(data, list):
        return [_fill(v, values, callers, spec) for v in data]
    if not isinstance(data, str):
        return data
    whole = _ANY_VARIABLE.fullmatch(data)
    if whole:
        found = lookup(whole.group(1))
        return found
    return _ANY_VARIABLE.sub(lambda m: _text(lookup(m.group(1))), data)


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
