"""Run naftiko-gen over a folder of real capabilities and check every package it generates.

For each spec: generated, or refused (with its first error). For each generated package: the
modules import, ruff is clean, every REST route and MCP tool the spec declares exists, and one
call per consumed operation reaches a local upstream with the method, path, query, headers and
body the spec implies (computed here independently of the generator's model).

    python tests/corpus_report.py ../shared/corpus --report docs/corpus.md

A flattened corpus (`provider__file.yaml` with a SOURCES.tsv of original repositories and paths)
is first copied back into its original tree, so that `./shared/x.yaml` imports resolve against
the corpus files that came from there; refusals name the imports still missing from the corpus.

The test suite runs the same checks on the vendored sample (tests/test_corpus.py).
"""

from __future__ import annotations

import argparse
import base64
import copy
import csv
import importlib
import json
import os
import re
import shutil
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


def _secrets(spec_text: str) -> dict[str, str]:
    return {name.rpartition(".")[2]: f"secret-{name.rpartition('.')[2]}" for name in _VARIABLE.findall(spec_text)}


def _as_written(spec: dict[str, Any], where: Path) -> dict[str, Any]:
    """The consumed side of `spec` as docs/semantics.md ("The dialect as written") reads it,
    derived here from the raw YAML rather than taken from the generator: imports spliced, `id`
    as name, names cut at a line break, repeated consumes entries merged, operations named
    alike renamed `-2`, `-3`…, and missing path placeholders appended."""
    spec = copy.deepcopy(spec)
    capability = spec.get("capability") or {}
    consumes: list[dict[str, Any]] = []
    listed = [item.get("location") if isinstance(item, dict) else item
              for item in (spec.pop("imports", None) or []) + (capability.pop("imports", None) or [])]
    for location in listed:
        data = yaml.safe_load((where / str(location)).read_text("utf-8"))
        pool = data.get("consumes") or (data.get("capability") or {}).get("consumes") or []
        capability.setdefault("consumes", []).extend({"import": e["namespace"], "location": location} for e in pool)
    for entry in capability.get("consumes") or []:
        if "import" in entry and "location" in entry:
            data = yaml.safe_load((where / str(entry["location"]).removeprefix("file://")).read_text("utf-8"))
            pool = data.get("consumes") or (data.get("capability") or {}).get("consumes") or []
            entry = copy.deepcopy(next(e for e in pool if e.get("namespace") == entry["import"]))
        consumes.append(entry)
    merged: list[dict[str, Any]] = []
    for entry in consumes:
        first = next((m for m in merged if m.get("namespace") == entry.get("namespace")), None)
        if first is None:
            merged.append(entry)
        elif entry != first:
            first["resources"] = first.get("resources", []) + entry.get("resources", [])
    for entry in merged:
        seen: dict[str, list[dict[str, Any]]] = {}
        for resource in entry.get("resources") or []:
            kept = []
            for op in resource.get("operations") or []:
                if "name" not in op and "id" in op:
                    op["name"] = op.pop("id")
                for p in op.get("inputParameters") or []:
                    if isinstance(p.get("name"), str) and "\n" in p["name"].strip():
                        p["name"] = p["name"].split()[0]
                twins = seen.setdefault(str(op.get("name")), [])
                if any(t == {"op": op, "res": {k: v for k, v in resource.items() if k != "operations"}}
                       for t in twins):
                    continue
                twins.append({"op": copy.deepcopy(op), "res": {k: v for k, v in resource.items() if k != "operations"}})
                kept.append(op)
            resource["operations"] = kept
        taken = set(seen)
        for name, twins in seen.items():
            n = 2
            ops = [op for r in entry.get("resources") or [] for op in r.get("operations") or []
                   if str(op.get("name")) == name]
            for op in ops[1:]:
                while f"{name}-{n}" in taken:
                    n += 1
                op["name"] = f"{name}-{n}"
                taken.add(op["name"])
        for resource in entry.get("resources") or []:
            for op in resource.get("operations") or []:
                path = str(resource.get("path", "")) + "/" + str(op.get("path") or "")
                for p in list(entry.get("inputParameters") or []) + list(op.get("inputParameters") or []):
                    if p.get("in") == "path" and str(p.get("name")) not in _PLACEHOLDER.findall(path):
                        op["path"] = str(op.get("path") or "").rstrip("/") + "/{" + str(p["name"]) + "}"
                        path += "/{" + str(p["name"]) + "}"
    capability["consumes"] = merged
    return spec


def _base_path(base_uri: str) -> str:
    # a base URI that is a variable (`{{API_URL}}`) has no path of its own here
    return urlsplit(base_uri).path if base_uri.startswith(("http://", "https://")) else ""


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
        bases = {c["namespace"]: f"{upstream}{_base_path(str(c['baseUri']))}" for c in capability.get("consumes", [])}
        kwargs = {"base_uri": next(iter(bases.values()))} if single else {"base_uris": bases}
        with client_cls(**kwargs) as client:
            for consumer in capability.get("consumes", []):
                base_path = _base_path(str(consumer["baseUri"]))
                for resource in consumer.get("resources", []):
                    for op in resource.get("operations", []):
                        problems += _call_one(client, client_module, consumer, resource, op, base_path, recorder)
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
    candidates = sorted((m for m in dir(client) if m == method or re.fullmatch(re.escape(method) + r"_\d+", m)),
                        key=lambda m: m != method)
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


@contextmanager
def upstream() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    with serve_asgi(recorder) as url:
        yield url, recorder


def lay_out(folder: Path, tree: Path) -> dict[Path, str]:
    """Copy a flattened corpus (`provider__file.yaml`, with SOURCES.tsv naming each file's
    repository and path) back into its original tree under `tree`, so that imports such as
    `./shared/x.yaml` resolve against the corpus files that really came from there.
    Returns {spec in the tree: corpus file name}; files SOURCES.tsv does not list stay flat."""
    specs = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    sources = folder / "SOURCES.tsv"
    placed: dict[str, str] = {}
    if sources.is_file():
        with sources.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                placed[row["file"]] = f"{row['repo']}/{row['path']}"
    out: dict[Path, str] = {}
    for spec in specs:
        name = spec.relative_to(folder).as_posix()
        target = tree / (placed.get(name) or f"_flat/{name}")
        if target in out:  # two corpus files from one path: keep both, the second one flat
            target = tree / "_flat" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(spec, target)
        out[target] = name
    return out


def _missing_imports(result: Any) -> list[str]:
    return sorted({m.group(1) for d in result.diagnostics if d.code == "E130"
                   for m in [re.search(r"cannot import `([^`]+)`", d.message)] if m})


def run(specs: list[Path] | dict[Path, str], work: Path) -> list[Outcome]:
    """`specs`: paths, or {path: name to report it under} (see lay_out)."""
    named = specs if isinstance(specs, dict) else {spec: spec.name for spec in specs}
    outcomes = []
    with upstream() as (url, recorder):
        for spec, name in named.items():
            result = generate(spec, spec.parent)
            if not result.ok:
                errors = [d for d in result.diagnostics if d.is_error]
                first = errors[0]
                missing = _missing_imports(result)
                detail = f"{first.line}:{first.column} {first.code} {first.message}"[:160]
                if missing:
                    detail = (f"{first.line}:{first.column} {first.code} imports missing from the corpus: "
                              + ", ".join(missing))[:300]
                outcomes.append(Outcome(name, "refused", detail))
                continue
            folder = work / Path(name).stem
            output.write(folder, {result.package: result.files})
            text = spec.read_text("utf-8")
            written = _as_written(yaml.safe_load(text), spec.parent)
            problems = check_package(folder, result.package, written, text, url, recorder)
            outcomes.append(Outcome(name, "broken" if problems else "generated",
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
    with tempfile.TemporaryDirectory() as work:
        specs = lay_out(args.folder, Path(work) / "tree")
        outcomes = run(specs, Path(work) / "packages")
    text = report(outcomes, str(args.folder))
    if args.report:
        args.report.write_text(text)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("generated", "refused", "broken")}
    print(json.dumps(counts))
    return 1 if counts["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
