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
import hashlib
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
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

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
    """An upstream that answers every request with `{}` and remembers it. Under a path prefix
    in `digest` it first challenges (HTTP Digest, MD5, qop=auth) and records only requests whose
    digest it verifies itself; at a path in `token_paths` it issues OAuth 2.0 access tokens."""

    NONCE = "corpus-nonce-7f3a"
    REALM = "corpus"
    TOKEN = "corpus-access-token"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.digest: dict[str, tuple[str, str]] = {}  # path prefix -> (user, password)
        self.challenges = 0
        self.token_paths: set[str] = set()
        self.token_requests: list[dict[str, Any]] = []

    def _digest_ok(self, method: str, path: str, header: str, user: str, password: str) -> bool:
        if not header.startswith("Digest "):
            return False
        p = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header[7:])}

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()  # RFC 7616 digests use MD5

        ha1 = md5(f"{user}:{self.REALM}:{password}")
        ha2 = md5(f"{method}:{p.get('uri', '')}")
        want = md5(f"{ha1}:{self.NONCE}:{p.get('nc')}:{p.get('cnonce')}:auth:{ha2}")
        return p.get("username") == user and p.get("uri") == path and p.get("response") == want

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
        seen = {
            "method": scope["method"],
            "path": scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
            "query": scope.get("query_string", b"").decode("latin-1"),
            "headers": {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            "body": body,
        }
        answer = b"{}"
        if seen["path"] in self.token_paths:
            self.token_requests.append(seen)
            await self._answer(send, 200, json.dumps({"access_token": self.TOKEN, "token_type": "Bearer",
                                                      "expires_in": 3600}).encode())
            return
        full = seen["path"] + ("?" + seen["query"] if seen["query"] else "")
        for prefix, (user, password) in self.digest.items():
            if seen["path"].startswith(prefix) and not self._digest_ok(
                    seen["method"], full, seen["headers"].get("authorization", ""), user, password):
                self.challenges += 1
                challenge = f'Digest realm="{self.REALM}", nonce="{self.NONCE}", qop="auth", algorithm=MD5'
                await self._answer(send, 401, b"{}", [(b"www-authenticate", challenge.encode())])
                return
        self.requests.append(seen)
        await self._answer(send, 200, answer)

    @staticmethod
    async def _answer(send: Any, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), *(extra or [])]})
        await send({"type": "http.response.body", "body": body})


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


def _resolved(text: Any) -> str:
    """A credential template with each variable replaced by the value `_secrets` gives it."""
    return _VARIABLE.sub(lambda m: f"secret-{m.group(1).rpartition('.')[2]}", str(text))


def _auth_kind(auth: dict[str, Any]) -> str:
    return str(auth.get("type", "")).lower()


def _credential_headers(auth: dict[str, Any]) -> dict[str, str]:
    """Header (lower case) -> value every request must carry, from the spec alone."""
    kind = _auth_kind(auth)
    if kind == "bearer":
        return {"authorization": "Bearer " + _resolved(auth.get("token", ""))}
    if kind == "basic":
        pair = f"{_resolved(auth.get('username', ''))}:{_resolved(auth.get('password', ''))}"
        return {"authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    if kind == "oauth2":
        return {"authorization": "Bearer " + Recorder.TOKEN}
    if kind in ("apikey", "header", "query"):
        if isinstance(auth.get("headers"), dict):
            return {str(k).lower(): _resolved(v) for k, v in auth["headers"].items()}
        placement = auth.get("placement") or auth.get("in") or ("query" if kind == "query" else "header")
        name = auth.get("key") or auth.get("name") or auth.get("header")
        if placement == "header" and name:
            return {str(name).lower(): _resolved(auth.get("value", auth.get("token", "")))}
    return {}


def _prepare_auth(consumers: list[dict[str, Any]], upstream: str, recorder: Recorder) -> dict[str, str]:
    """Point each consumed API's token endpoint at the recorder and arm its digest challenge;
    the environment the client needs for that."""
    from naftiko_codegen.names import env_prefix

    env: dict[str, str] = {}
    recorder.digest.clear()
    recorder.token_paths.clear()
    for consumer in consumers:
        auth = consumer.get("authentication") or {}
        base_path = urlsplit(str(consumer["baseUri"])).path
        if _auth_kind(auth) == "digest":
            recorder.digest[base_path or "/"] = (_resolved(auth.get("username", "")),
                                                 _resolved(auth.get("password", "")))
        if _auth_kind(auth) == "oauth2":
            path = f"/__token__/{consumer['namespace']}"
            recorder.token_paths.add(path)
            env[env_prefix(str(consumer["namespace"])) + "_TOKEN_URL"] = upstream + path
    return env


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
    os.environ.update(_prepare_auth(list(spec.get("capability", {}).get("consumes", []) or []), upstream, recorder))
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
                problems += _check_rest_extras(rest, adapter, capability.get("consumes", []) or [], upstream, recorder)
            if adapter.get("type") == "mcp":
                mcp = importlib.import_module(f"{package}.mcp_server")
                names = {t.name for t in mcp.TOOLS}
                if adapter.get("authentication") and adapter.get("transport", "http") == "http":
                    problems += _check_guard(mcp.create_app(), adapter["authentication"], "/mcp", "MCP")
                for tool in adapter.get("tools", []):
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
    except Exception as exc:  # noqa: BLE001 - any failure of a generated package is a finding
        problems.append(f"{type(exc).__name__}: {str(exc)[:200]}")
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
    return problems


def _offer(auth: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The headers and query an exposed adapter's caller sends to authenticate, from the spec."""
    kind = _auth_kind(auth)
    if kind == "bearer":
        return {"Authorization": "Bearer " + _resolved(auth.get("token", ""))}, {}
    if kind == "basic":
        pair = f"{_resolved(auth.get('username', ''))}:{_resolved(auth.get('password', ''))}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}, {}
    name = str(auth.get("key") or auth.get("name") or auth.get("header") or "")
    value = _resolved(auth.get("value", auth.get("token", "")))
    placement = auth.get("placement") or auth.get("in") or "header"
    return ({name: value}, {}) if placement == "header" else ({}, {name: value})


def _check_guard(app: Any, auth: dict[str, Any], path: str, what: str) -> list[str]:
    """Without the credential: 401 with a challenge; with it: past the check."""
    from starlette.testclient import TestClient

    headers, query = _offer(auth)
    problems = []
    with TestClient(app, raise_server_exceptions=False) as http:
        refused = http.post(path, json={})
        if refused.status_code != 401 or not refused.headers.get("www-authenticate"):
            problems.append(f"{what} answered {refused.status_code} without the credential")
        wrong = http.post(path, json={}, headers={k: v + "x" for k, v in headers.items()},
                          params={k: v + "x" for k, v in query.items()})
        if wrong.status_code != 401:
            problems.append(f"{what} answered {wrong.status_code} to a wrong credential")
        accepted = http.post(path, json={}, headers=headers, params=query)
        if accepted.status_code == 401:
            problems.append(f"{what} refused the credential the spec sets")
    return problems


def _check_rest_extras(rest: Any, adapter: dict[str, Any], consumers: list[dict[str, Any]],
                       upstream: str, recorder: Recorder) -> list[str]:
    """Exposed authentication, and each `forward` resource: a request under its prefix reaches
    the consumed API at base URI + rest of the path, with the query string, the trusted headers
    only and the API's credentials."""
    from starlette.testclient import TestClient

    from naftiko_codegen.names import env_prefix

    problems: list[str] = []
    auth = adapter.get("authentication") or {}
    if auth:
        problems += _check_guard(rest.app, auth, "/__probe__/x", "REST")
    headers, query = _offer(auth) if auth else ({}, {})
    by_ns = {str(c.get("namespace")): c for c in consumers}
    forwards = [r for r in adapter.get("resources", []) if isinstance(r.get("forward"), dict)]
    if not forwards:
        return problems
    for consumer in consumers:
        os.environ[env_prefix(str(consumer["namespace"])) + "_BASE_URI"] = (
            upstream + urlsplit(str(consumer["baseUri"])).path)
    with TestClient(rest.app, raise_server_exceptions=False) as http:
        for resource in forwards:
            target = by_ns.get(str(resource["forward"].get("targetNamespace")))
            prefix = _PLACEHOLDER.sub("", str(resource["path"]))
            if target is None or not prefix.endswith("/"):
                continue
            trusted = [str(h) for h in resource["forward"].get("trustedHeaders") or []]
            sent = {**headers, "X-Not-Trusted": "no", **{h: f"t-{i}" for i, h in enumerate(trusted)}}
            before = len(recorder.requests)
            answer = http.get(prefix + "a/b", params={**query, "q": "1"}, headers=sent)
            if answer.status_code != 200 or len(recorder.requests) != before + 1:
                problems.append(f"forward {resource['path']}: answered {answer.status_code}, "
                                f"{len(recorder.requests) - before} upstream requests")
                continue
            got = recorder.requests[-1]
            base_path = urlsplit(str(target["baseUri"])).path.rstrip("/")
            if got["path"] != base_path + "/a/b":
                problems.append(f"forward {resource['path']}: upstream path {got['path']}")
            if ("q", "1") not in parse_qsl(got["query"]):
                problems.append(f"forward {resource['path']}: query string lost")
            for i, h in enumerate(trusted):
                if h.lower() in _credential_headers(target.get("authentication") or {}):
                    continue
                if got["headers"].get(h.lower()) != f"t-{i}":
                    problems.append(f"forward {resource['path']}: trusted header {h} not passed")
            if "x-not-trusted" in got["headers"]:
                problems.append(f"forward {resource['path']}: an untrusted header was passed")
            for h, value in _credential_headers(target.get("authentication") or {}).items():
                if got["headers"].get(h) != value:
                    problems.append(f"forward {resource['path']}: credential header {h} is not the API's")
    return problems


def _call_one(client: Any, module: Any, consumer: dict[str, Any], resource: dict[str, Any],
              op: dict[str, Any], base_path: str, recorder: Recorder) -> list[str]:
    from naftiko_codegen.names import dedupe, python_identifier

    params = list(consumer.get("inputParameters") or []) + list(op.get("inputParameters") or [])
    names = dedupe([python_identifier(str(p["name"]), fallback="param") for p in params])
    values: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    auth = consumer.get("authentication") or {}
    kind = _auth_kind(auth)
    credentials = set(_credential_headers(auth)) | {str(
        auth.get("key") or auth.get("name") or auth.get("header") or "").lower()}
    if kind == "digest":
        credentials.add("authorization")
    for p, arg in zip(params, names, strict=True):
        if "value" in p or "const" in p or p.get("in") == "environment":
            continue
        if p.get("in") in ("header", "query") and str(p["name"]).lower() in credentials:
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
    challenges, tokens = recorder.challenges, len(recorder.token_requests)
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
    for header, value in _credential_headers(auth).items():
        if got["headers"].get(header) != value:
            problems.append(f"{op.get('name')}: credential header {header} is not the one the spec sets")
    placement = auth.get("placement") or auth.get("in") or ("query" if kind == "query" else "header")
    if kind in ("apikey", "query") and placement == "query" and not auth.get("headers"):
        name = str(auth.get("key") or auth.get("name") or "")
        if query.get(name) != _resolved(auth.get("value", auth.get("token", ""))):
            problems.append(f"{op.get('name')}: query credential {name} is not the one the spec sets")
    if kind == "digest" and recorder.challenges == challenges and not got["headers"].get(
            "authorization", "").startswith("Digest "):
        problems.append(f"{op.get('name')}: no HTTP Digest answer")  # recorded means verified
    if kind == "oauth2":
        for token_request in recorder.token_requests[tokens:]:
            form = dict(parse_qsl(token_request["body"].decode()))
            pair = f"{quote_plus(_resolved(auth.get('clientId')))}:{quote_plus(_resolved(auth.get('clientSecret')))}"
            if (token_request["method"] != "POST" or form.get("grant_type") != "client_credentials"
                    or token_request["headers"].get("authorization")
                    != "Basic " + base64.b64encode(pair.encode()).decode()):
                problems.append(f"{op.get('name')}: token request does not authenticate the client")
        if not recorder.token_requests:
            problems.append(f"{op.get('name')}: no token request")
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
