"""Run naftiko-gen over a folder of real capabilities and check every package it generates.

For each spec: generated, or refused (with its first error). For each generated package: the
modules import, ruff is clean, every REST route and MCP tool the spec declares exists, one call
per consumed operation reaches a local upstream with the method, path, query, headers and body
the spec implies (computed here independently of the generator's model), every MCP resource
and prompt is listed and can be read or got through the generated server. Operations and
tools that build their result (output mappings other than `$.`, mocks, orchestrations with
mappings, `ref` to an aggregate function) are called through the generated REST service and MCP
server while the upstream answers a sample document made from the spec's own paths; the result
must equal what the spec's outputs give for it, evaluated here on their own terms.

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
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from support.servers import answer_lifespan, read_body, serve_asgi

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

_PLACEHOLDER = re.compile(r"\{\{?\s*([^{}\s]+)\s*\}?\}")
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")  # RFC 5849 3.6
_TEST_KEYS: list[Any] = []  # one RSA key for every OAuth 1.0a spec: generating one takes a while


def _test_key() -> Any:
    if not _TEST_KEYS:
        from cryptography.hazmat.primitives.asymmetric import rsa

        _TEST_KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _TEST_KEYS[0]


class Recorder:
    """An upstream that answers every request with `{}` and remembers it. Under a path prefix
    in `digest` it first challenges (HTTP Digest, MD5, qop=auth) and records only requests whose
    digest it verifies itself; under a prefix in `oauth1` it records only requests whose OAuth
    1.0a signature (RSA-SHA256, body hash) it verifies itself with the public key, answering 401
    and noting why in `oauth1_failures` otherwise; at a path in `token_paths` it issues OAuth 2.0
    access tokens.
    `answers[path]` (or `answers["*"]`, or the first of `patterns` matching the path) is the
    sample document an output mapping is checked against."""

    NONCE = "corpus-nonce-7f3a"
    REALM = "corpus"
    TOKEN = "corpus-access-token"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[str, bytes] = {}
        self.digest: dict[str, tuple[str, str]] = {}  # path prefix -> (user, password)
        self.challenges = 0
        self.token_paths: set[str] = set()
        self.token_requests: list[dict[str, Any]] = []
        self.patterns: list[tuple[re.Pattern[str], bytes]] = []  # first match answers
        self.oauth1: dict[str, tuple[str, Any]] = {}  # path prefix -> (consumer key, RSA public key)
        self.oauth1_failures: list[str] = []
        self.nonces: set[str] = set()
        self.answer_type = b"application/json"  # the Content-Type of the answers above

    def _oauth1_problem(self, seen: dict[str, Any], consumer_key: str, public_key: Any) -> str:
        """Why the request's OAuth 1.0a signature is wrong (empty: it verifies). The base string
        is rebuilt here from the request as received (RFC 5849 section 3.4.1)."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = seen["headers"].get("authorization", "")
        if not header.startswith("OAuth "):
            return "no `Authorization: OAuth` header"
        oauth = {unquote(k): unquote(v) for k, v in re.findall(r'([\w%.~-]+)="([^"]*)"', header[6:])}
        wanted = {"oauth_consumer_key", "oauth_nonce", "oauth_signature_method", "oauth_timestamp",
                  "oauth_version", "oauth_body_hash", "oauth_signature"}
        if wanted - set(oauth):
            return "OAuth header lacks " + ", ".join(sorted(wanted - set(oauth)))
        if oauth["oauth_consumer_key"] != consumer_key:
            return "oauth_consumer_key is not the one the spec sets"
        if (oauth["oauth_signature_method"], oauth["oauth_version"]) != ("RSA-SHA256", "1.0"):
            return f"signature method {oauth['oauth_signature_method']} version {oauth['oauth_version']}"
        if oauth["oauth_body_hash"] != base64.b64encode(hashlib.sha256(seen["body"]).digest()).decode():
            return "oauth_body_hash is not the body's"
        if not oauth["oauth_timestamp"].isdigit() or abs(int(oauth["oauth_timestamp"]) - time.time()) > 300:
            return f"oauth_timestamp {oauth['oauth_timestamp']!r} is not now"
        if not oauth["oauth_nonce"] or oauth["oauth_nonce"] in self.nonces:
            return "oauth_nonce is empty or used before"
        self.nonces.add(oauth["oauth_nonce"])

        def enc(text: str) -> str:
            return "".join(chr(b) if chr(b) in _UNRESERVED else f"%{b:02X}" for b in text.encode())

        params = parse_qsl(seen["query"], keep_blank_values=True)
        params += [(k, v) for k, v in oauth.items() if k != "oauth_signature"]
        normalised = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in params))
        uri = "http://" + seen["headers"].get("host", "").lower() + seen["path"]
        base = f"{seen['method'].upper()}&{enc(uri)}&{enc(normalised)}"
        try:
            public_key.verify(base64.b64decode(oauth["oauth_signature"]), base.encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return "oauth_signature does not verify against the base string " + base[:120]
        return ""

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
            await answer_lifespan(receive, send)
            return
        body = await read_body(receive)
        seen = {
            "method": scope["method"],
            "path": scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
            "query": scope.get("query_string", b"").decode("latin-1"),
            "headers": {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            "body": body,
        }
        answer = next((body for pattern, body in self.patterns if pattern.fullmatch(seen["path"])),
                      self.answers.get(seen["path"], self.answers.get("*", b"{}")))
        if seen["path"] in self.token_paths:
            self.token_requests.append(seen)
            await self._answer(send, 200, json.dumps({"access_token": self.TOKEN, "token_type": "Bearer",
                                                      "expires_in": 3600}).encode())
            return
        for prefix, (consumer_key, public_key) in self.oauth1.items():
            if seen["path"].startswith(prefix):
                problem = self._oauth1_problem(seen, consumer_key, public_key)
                if problem:
                    self.oauth1_failures.append(f"{seen['method']} {seen['path']}: {problem}")
                    await self._answer(send, 401, b"{}")
                    return
                break
        full = seen["path"] + ("?" + seen["query"] if seen["query"] else "")
        for prefix, (user, password) in self.digest.items():
            if seen["path"].startswith(prefix) and not self._digest_ok(
                    seen["method"], full, seen["headers"].get("authorization", ""), user, password):
                self.challenges += 1
                challenge = f'Digest realm="{self.REALM}", nonce="{self.NONCE}", qop="auth", algorithm=MD5'
                await self._answer(send, 401, b"{}", [(b"www-authenticate", challenge.encode())])
                return
        self.requests.append(seen)
        await self._answer(send, 200, answer, content_type=self.answer_type)

    @staticmethod
    async def _answer(send: Any, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None,
                      content_type: bytes = b"application/json") -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), *(extra or [])]})
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
    if kind == "object" and isinstance(schema.get("properties"), dict) and schema["properties"]:
        # a body object of fields (a route's `in: body` inputs): every member, so the required
        # ones are there
        return {k: _sample(v, k) for k, v in schema["properties"].items() if isinstance(v, dict)}
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


def _write_bind_files(spec: dict[str, Any], folder: Path, package: str) -> None:
    """A bind with `location` reads its keys from a file (docs/semantics.md, "Binds from
    files"): write one holding `secret-<KEY>` under each file key, name it with
    `<PACKAGE>_<NAMESPACE>_BINDS_FILE`, and unset the variables named like the keys, so the
    credentials the upstream must receive (see `_resolved`) can only come from the file."""
    from naftiko_codegen.names import env_prefix

    for i, bind in enumerate(spec.get("binds") or []):
        if not isinstance(bind, dict) or not bind.get("location"):
            continue
        keys = bind.get("keys") or {}
        path = folder / f"binds-{i}.yaml"
        # a comment, plain keys and double-quoted values: the flat YAML real bind files use
        path.write_text("# bind file written by the corpus harness\n" + "".join(
            f"{k if re.fullmatch(r'[A-Za-z0-9_][A-Za-z0-9_.-]*', str(k)) else json.dumps(str(k))}: "
            f"{json.dumps(f'secret-{key}')}\n" for key, k in keys.items()), "utf-8")
        os.environ[f"{env_prefix(package)}_{env_prefix(str(bind.get('namespace', '')))}_BINDS_FILE"] = str(path)
        for key in keys:
            os.environ.pop(str(key), None)


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
    recorder.oauth1.clear()
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
        if _auth_kind(auth) == "oauth1":
            # the signing key's variables hold a fresh PEM key; the recorder checks with its half
            from cryptography.hazmat.primitives import serialization

            key = _test_key()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
            for name in _VARIABLE.findall(str(auth.get("signingKey", ""))):
                env[name.rpartition(".")[2]] = pem
            recorder.oauth1[base_path or "/"] = (_resolved(auth.get("consumerKey", "")), key.public_key())
    return env


def _more_variations(spec: dict[str, Any], capability: dict[str, Any]) -> None:
    """docs/semantics.md, "More variations as written", read from the raw YAML: `import:` lists
    of `{name, location}` are consumes imports, and a fixed query string in a consumed resource
    path is sent as fixed query parameters of its operations."""
    for holder in (spec, capability):
        listed = holder.get("import")
        if isinstance(listed, list) and all(isinstance(i, dict) and "location" in i for i in listed):
            del holder["import"]
            capability.setdefault("consumes", []).extend(
                {"import": i.get("name", i.get("namespace")), "location": i["location"]} for i in listed)
    for consumer in capability.get("consumes") or []:
        for resource in consumer.get("resources") or []:
            path, _, query = str(resource.get("path", "")).partition("?")
            if not query:
                continue
            resource["path"] = path
            for op in resource.get("operations") or []:
                op.setdefault("inputParameters", []).extend(
                    {"name": k, "in": "query", "value": v} for k, v in parse_qsl(query, keep_blank_values=True))


def _as_written(spec: dict[str, Any], where: Path) -> dict[str, Any]:
    """The consumed side of `spec` as docs/semantics.md ("The dialect as written") reads it,
    derived here from the raw YAML rather than taken from the generator: imports spliced, `id`
    as name, names cut at a line break, repeated consumes entries merged, operations named
    alike renamed `-2`, `-3`…, and missing path placeholders appended."""
    spec = copy.deepcopy(spec)
    capability = spec.get("capability") or {}
    _more_variations(spec, capability)
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
        if entry.get("inputParameters"):  # a parameter repeated exactly is one parameter
            entry["inputParameters"] = [p for i, p in enumerate(entry["inputParameters"])
                                        if p not in entry["inputParameters"][:i]]
        seen: dict[str, list[dict[str, Any]]] = {}
        for resource in entry.get("resources") or []:
            kept = []
            for op in resource.get("operations") or []:
                if "name" not in op and "id" in op:
                    op["name"] = op.pop("id")
                for p in op.get("inputParameters") or []:
                    if isinstance(p.get("name"), str) and "\n" in p["name"].strip():
                        p["name"] = p["name"].split()[0]
                if op.get("inputParameters"):  # a parameter repeated exactly is one parameter
                    op["inputParameters"] = [p for i, p in enumerate(op["inputParameters"])
                                             if p not in op["inputParameters"][:i]]
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
    _own_paths(capability)
    # a call naming the exposed adapter's own namespace goes to the one consumed operation of
    # that name (as written, else without case and separators)
    owners = [(str(c.get("namespace")), str(op.get("name"))) for c in merged for r in c.get("resources") or []
              for op in r.get("operations") or []]
    exposed = {str(a.get("namespace")) for a in capability.get("exposes") or []}
    for adapter in capability.get("exposes") or []:
        for caller in [o for r in adapter.get("resources") or [] for o in r.get("operations") or []] + list(
                adapter.get("tools") or []):
            namespace, _, name = str(caller.get("call", "")).partition(".")
            if namespace not in exposed or namespace in {ns for ns, _ in owners}:
                continue
            found = [o for o in owners if o[1] == name] or [
                o for o in owners if re.sub(r"[^a-z0-9]", "", o[1].lower()) == re.sub(r"[^a-z0-9]", "", name.lower())]
            if len(found) == 1:
                caller["call"] = f"{found[0][0]}.{found[0][1]}"
    return spec


def _own_paths(capability: dict[str, Any]) -> None:
    """An exposed REST operation with `path: /enrich` under `/v1/contacts` is served at
    `/v1/contacts/enrich` (docs/semantics.md): here it becomes a resource of its own, right
    after the one it was declared in."""
    for adapter in capability.get("exposes") or []:
        if adapter.get("type") != "rest":
            continue
        laid_out = []
        for resource in adapter.get("resources") or []:
            own = [op for op in resource.get("operations") or [] if str(op.get("path") or "").strip("/")]
            rest_of = [op for op in resource.get("operations") or [] if op not in own]
            if rest_of or not own or "forward" in resource:
                laid_out.append({**resource, "operations": rest_of} if own else resource)
            for op in own:
                path = str(resource["path"]).rstrip("/") + "/" + str(op["path"]).strip().lstrip("/")
                laid_out.append({**{k: v for k, v in resource.items() if k != "forward"}, "path": path,
                                 "operations": [{k: v for k, v in op.items() if k != "path"}]})
        adapter["resources"] = laid_out


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
    failures = len(recorder.oauth1_failures)
    os.environ.update(_secrets(spec_text))
    for bind in spec.get("binds") or []:  # bound secrets are read from the variables binds name
        if isinstance(bind, dict) and bind.get("location"):
            continue  # read from a file: see _write_bind_files
        for key, variable in (bind.get("keys") or {}).items() if isinstance(bind, dict) else ():
            os.environ.setdefault(str(variable), f"secret-{key}")
    os.environ.update(_prepare_auth(list(spec.get("capability", {}).get("consumes", []) or []), upstream, recorder))
    _write_bind_files(spec, folder, package)
    sys.path.insert(0, str(folder))
    first_request = len(recorder.requests)
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
                shadowed = _shadowed(adapter)
                for resource in adapter.get("resources", []):
                    path = _PLACEHOLDER.sub(lambda m: "{" + re.sub(r"\W", "_", m.group(1)) + "}", resource["path"])
                    for op in resource.get("operations", []):
                        if id(op) in shadowed:
                            continue  # its route answers with the first declaration
                        if (op["method"].upper(), path) not in served:
                            problems.append(f"REST route {op['method']} {resource['path']} missing")
                problems += _check_rest_extras(rest, adapter, capability.get("consumes", []) or [], upstream, recorder)
            if adapter.get("type") == "mcp":
                mcp = importlib.import_module(f"{package}.mcp_server")
                names = {t.name for t in mcp.TOOLS}
                if adapter.get("authentication") and adapter.get("transport", "http") == "http":
                    problems += _check_guard(mcp.create_app(), adapter["authentication"], "/mcp", "MCP")
                for tool in adapter.get("tools", []):
                    tool = _with_ref(tool, capability)
                    if tool.get("name") not in names:
                        problems.append(f"MCP tool {tool.get('name')} missing")
                if adapter.get("resources") or adapter.get("prompts"):
                    problems += check_mcp_extras(mcp, adapter, capability, upstream, recorder)
            if adapter.get("type") == "skill":
                problems += check_skill(folder, package, adapter, capability)
        client_cls = client_module.Client
        single = len(capability.get("consumes", [])) == 1
        bases = {c["namespace"]: f"{upstream}{_base_path(str(c['baseUri']))}" for c in capability.get("consumes", [])}
        kwargs = {"base_uri": next(iter(bases.values()))} if single else {"base_uris": bases}
        from naftiko_codegen.names import dedupe, python_identifier

        # operations named alike in several consumed APIs: the client suffixes `_2`, `_3` in order
        calls = [(consumer, resource, op) for consumer in capability.get("consumes", [])
                 for resource in consumer.get("resources", []) for op in resource.get("operations", [])]
        methods = dedupe([python_identifier(str(op.get("name") or op.get("id")), fallback="operation")
                          for _, _, op in calls])
        with client_cls(**kwargs) as client:
            for (consumer, resource, op), method in zip(calls, methods, strict=True):
                base_path = _base_path(str(consumer["baseUri"]))
                problems += _call_one(client, client_module, spec, consumer, resource, op, base_path, recorder,
                                      method)
        problems += check_outputs(folder, package, capability, bases, recorder, spec.get("binds"))
        problems += check_rest_bodies(package, spec, recorder)
        problems += check_control(package, spec, recorder.requests[first_request:])
        problems += check_first_declaration_answers(package, spec, recorder)
    except Exception as exc:  # noqa: BLE001 - any failure of a generated package is a finding
        problems.append(f"{type(exc).__name__}: {str(exc)[:200]}")
    finally:
        # why the upstream refused a signature, wherever the request came from
        problems += [f"OAuth 1.0a {f}" for f in dict.fromkeys(recorder.oauth1_failures[failures:])]
        os.environ.clear()
        os.environ.update(env_backup)
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
    return problems


_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _prometheus(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples of a Prometheus text exposition: (name, labels) -> value. Raises on a line that
    is neither a comment nor a sample."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.fullmatch(line)
        if match is None:
            raise ValueError(f"not a Prometheus sample: {line!r}")
        labels = frozenset(_LABEL.findall(match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def check_control(package: str, spec: dict[str, Any], upstream_requests: list[dict[str, Any]]) -> list[str]:
    """The control port's endpoints, their status and shape, computed from the spec alone
    (docs/semantics.md, "The control adapter"): called in process, beside the REST app."""
    from starlette.testclient import TestClient

    exposes = [a for a in spec.get("capability", {}).get("exposes", []) or [] if isinstance(a, dict)]
    control = next((a for a in exposes if a.get("type") == "control"), None)
    if control is None:
        return []
    problems: list[str] = []
    management = control.get("management") or {}
    observability = control.get("observability") or {}
    enabled = observability.get("enabled", True) is not False
    traces_spec = observability.get("traces") or {}
    metrics_on = enabled and ((observability.get("metrics") or {}).get("local") or {}).get("enabled", True)
    traces_on = enabled and (traces_spec.get("local") or {}).get("enabled", True)
    b3 = traces_spec.get("propagation") == "b3"
    module = importlib.import_module(f"{package}.control")
    offered: tuple[dict[str, str], dict[str, str]] = ({}, {})
    if control.get("authentication"):  # every path of the port requires it
        problems += _check_guard(module.app, control["authentication"], "/health/live", "control port")
        offered = _offer(control["authentication"])
    http = TestClient(module.app, raise_server_exceptions=False, headers=offered[0])
    http.__enter__()  # its lifespan reads the credential
    adapters = []
    for a in exposes:
        if a.get("type") in ("rest", "mcp"):
            adapters.append({"type": a["type"], "namespace": a.get("namespace"),
                             "port": a.get("port", 8080 if a["type"] == "rest" else 9090), "state": "stopped"})
        elif a is control:
            adapters.append({"type": "control", "port": control["port"], "state": "started"})

    def expect(path: str, status: int) -> Any:
        answer = http.get(path, params=offered[1])
        if answer.status_code != status:
            problems.append(f"control GET {path}: {answer.status_code}, expected {status}")
            return None
        return answer

    if management.get("health", True):
        live = expect("/health/live", 200)
        if live is not None and live.json() != {"status": "UP"}:
            problems.append(f"control /health/live: {live.text[:80]}")
        # nothing serves REST or MCP in this process: those adapters are stopped
        degraded = len(adapters) > 1
        ready = expect("/health/ready", 503 if degraded else 200)
        want = {"status": "DEGRADED" if degraded else "UP", "adapters": adapters}
        if ready is not None and ready.json() != want:
            problems.append(f"control /health/ready: {ready.text[:160]}, expected {json.dumps(want)[:160]}")
    else:
        expect("/health/live", 404)
    if management.get("info"):
        status = expect("/status", 200)
        info = spec.get("info") or {}
        if status is not None:
            body = status.json()
            if body.get("capability") != {"label": info.get("label"), "specVersion": spec.get("naftiko")}:
                problems.append(f"control /status capability: {body.get('capability')}")
            if body.get("adapters") != adapters or not str(body.get("uptime", "")).startswith("PT"):
                problems.append(f"control /status: {status.text[:160]}")
    else:
        expect("/status", 404)
    upstream_trace = None
    for seen in upstream_requests:
        headers = seen["headers"]
        carried = headers.get("x-b3-traceid") if b3 else headers.get("traceparent")
        if enabled and not (carried and re.fullmatch(r"[0-9a-f]{32}" if b3 else r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]",
                                                    carried)):
            problems.append(f"upstream {seen['method']} {seen['path']} without trace context: {carried!r}")
            break
        if not enabled and ("traceparent" in headers or "x-b3-traceid" in headers):
            problems.append("trace context sent upstream with observability disabled")
            break
        upstream_trace = carried if b3 else (carried or "")[3:35]
    rest_spec = next((a for a in exposes if a.get("type") == "rest"), None)
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    before = _prometheus(http.get("/metrics", params=offered[1]).text) if metrics_on else {}
    if rest_spec is not None:
        rest = importlib.import_module(f"{package}.rest")
        context = ({"X-B3-TraceId": caller_trace, "X-B3-SpanId": caller_span, "X-B3-Sampled": "1"} if b3
                   else {"traceparent": f"00-{caller_trace}-{caller_span}-01"})
        TestClient(rest.app, raise_server_exceptions=False).get("/healthz", headers=context)
    if metrics_on:
        answer = expect("/metrics", 200)
        if answer is not None:
            if not answer.headers.get("content-type", "").startswith("text/plain"):
                problems.append(f"control /metrics content type {answer.headers.get('content-type')}")
            try:
                after = _prometheus(answer.text)
            except ValueError as exc:
                problems.append(f"control /metrics: {exc}")
                after = {}
            for name in ("naftiko_request_total", "naftiko_http_client_total"):
                if f"# TYPE {name} counter" not in answer.text:
                    problems.append(f"control /metrics lacks the counter {name}")
            if rest_spec is not None:
                key = ("naftiko_request_total", frozenset({("naftiko_adapter_type", "rest"),
                                                           ("naftiko_operation_id", "/healthz GET"),
                                                           ("status", "200")}))
                if after.get(key, 0) - before.get(key, 0) != 1:
                    problems.append("control /metrics did not count one REST request to /healthz")
            attempts = sum(v for (n, _), v in after.items() if n == "naftiko_http_client_total")
            if upstream_requests and attempts < len(upstream_requests):
                problems.append(f"control /metrics counts {attempts} upstream calls, {len(upstream_requests)} made")
    else:
        expect("/metrics", 404)
    if traces_on:
        listed = expect("/traces", 200)
        size = (traces_spec.get("local") or {}).get("buffer-size", 100)
        if listed is not None:
            body = listed.json()
            if body.get("bufferSize") != size or not isinstance(body.get("traces"), list):
                problems.append(f"control /traces: {listed.text[:160]}")
            ids = {t.get("traceId") for t in body.get("traces", [])}
            sampled = float(traces_spec.get("sampling", 1.0)) >= 1.0
            if sampled and upstream_trace and upstream_trace not in ids:
                problems.append("control /traces lacks the trace of the last upstream call")
            if sampled and rest_spec is not None:
                one = expect(f"/traces/{caller_trace}", 200)
                spans = one.json().get("spans", []) if one is not None else []
                if not any(s.get("parentSpanId") == caller_span and s.get("kind") == "INTERNAL"
                           and s.get("name") == "rest.request" for s in spans):
                    problems.append(f"control /traces/{caller_trace} does not continue the caller's span")
        expect("/traces/0123456789abcdef0123456789abcdef", 404)
    else:
        expect("/traces", 404)
    http.__exit__(None, None, None)
    return problems


def _skills_as_written(adapter: dict[str, Any], capability: dict[str, Any]) -> list[dict[str, Any]]:
    """The adapter's skills; `groups` of entries that `call` consumed operations read as
    skills whose tools derive from the one MCP tool (else named REST operation) making that call
    (docs/semantics.md, "The skill adapter")."""
    if "skills" in adapter or "groups" not in adapter:
        return list(adapter.get("skills") or [])

    def source(call: str) -> tuple[str, str, str]:
        for kind in ("mcp", "rest"):
            found = [(str(a["namespace"]), str(x["name"]), str(x.get("description", "")))
                     for a in capability.get("exposes") or [] if a.get("type") == kind
                     for x in (a.get("tools") or [] if kind == "mcp" else
                               [o for r in a.get("resources") or [] for o in r.get("operations") or []])
                     if x.get("call") == call and "name" in x]
            if found:
                return found[0]
        raise ValueError(f"no tool or operation calls {call}")

    skills = []
    for group in adapter["groups"]:
        tools = []
        for item in group.get("skills") or []:
            namespace, action, description = source(item["call"])
            tools.append({"name": item.get("name", action), "description": item.get("description") or description,
                          "from": {"sourceNamespace": namespace, "action": action}})
        skills.append({"name": group["name"], "description": group.get("description", ""),
                       **({"tools": tools} if tools else {})})
    return skills


def _skill_detail(skill: dict[str, Any], modes: dict[str, str]) -> dict[str, Any]:
    """`GET /skills/{name}` as the reference engine's SkillDetailResource writes it."""
    detail = {"name": skill["name"], "description": skill.get("description")}
    for key in ("license", "compatibility", "argument-hint", "allowed-tools", "user-invocable",
                "disable-model-invocation", "metadata"):
        if key in skill and skill[key] not in (None, {}):
            detail[key] = skill[key]
    detail["tools"] = [
        {"name": t["name"], "description": t.get("description"), "type": "derived",
         "invocationRef": {"targetNamespace": t["from"]["sourceNamespace"], "action": t["from"]["action"],
                           "mode": modes[t["from"]["sourceNamespace"]]}}
        if "from" in t else
        {"name": t["name"], "description": t.get("description"), "type": "instruction",
         "instruction": t["instruction"]}
        for t in skill.get("tools") or []]
    return detail


def check_skill(folder: Path, package: str, adapter: dict[str, Any], capability: dict[str, Any]) -> list[str]:
    """The skill catalogue, called through the generated `skill.py`: `GET /skills` and each
    `/skills/{name}` give what the spec says (computed here, in the engine's shapes); an unknown
    skill is 404. Each skill with a `location` is given a directory of files (its instruction
    files, a file in a folder, a hidden file and a link leading out): the contents listing, each
    file, and the ZIP download hold exactly the files that may be served, twice the same bytes;
    a path climbing out is 400 and the link out 404. A skill without files answers 404."""
    import io
    import zipfile

    from starlette.testclient import TestClient

    from naftiko_codegen.names import env_prefix

    problems: list[str] = []
    skills = _skills_as_written(adapter, capability)
    modes = {str(a.get("namespace")): str(a["type"]) for a in capability.get("exposes") or []
             if a.get("type") in ("rest", "mcp")}
    files: dict[str, dict[str, bytes]] = {}
    outside = folder / "_outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("outside the skill")
    for skill in skills:
        if not skill.get("location"):
            continue
        root = folder / "_skills" / skill["name"]
        root.mkdir(parents=True, exist_ok=True)
        served = {t["instruction"]: f"instruction {t['name']}\n".encode() for t in skill.get("tools") or []
                  if "instruction" in t}
        served["notes/more.txt"] = b"more\n"
        for name, data in served.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        (root / ".hidden").write_text("hidden")
        (root / "leak.txt").symlink_to(outside / "secret.txt")
        os.environ[f"{env_prefix(package)}_{env_prefix(str(skill['name']))}_SKILL_DIR"] = str(root)
        files[skill["name"]] = served
    module = importlib.import_module(f"{package}.skill")
    with TestClient(module.create_app(), raise_server_exceptions=False) as http:
        listed = http.get("/skills")
        want = {"count": len(skills), "skills": [
            {"name": s["name"], "description": s.get("description"),
             **({"license": s["license"]} if "license" in s else {}),
             "tools": [t["name"] for t in s.get("tools") or []]} for s in skills]}
        if listed.status_code != 200 or listed.json() != want:
            problems.append(f"skill catalogue: {listed.status_code} {listed.text[:120]}")
        for skill in skills:
            name = skill["name"]
            got = http.get(f"/skills/{name}")
            if got.status_code != 200 or got.json() != _skill_detail(skill, modes):
                problems.append(f"skill {name}: {got.status_code} {got.text[:120]}")
            contents = http.get(f"/skills/{name}/contents")
            if name not in files:
                if contents.status_code != 404:
                    problems.append(f"skill {name} without files: contents answered {contents.status_code}")
                continue
            served = files[name]
            paths = [f.get("path") for f in contents.json().get("files", [])] if contents.status_code == 200 else None
            if paths != sorted(served):
                problems.append(f"skill {name}: contents {contents.status_code} {paths}")
            for path, data in served.items():
                one = http.get(f"/skills/{name}/contents/{path}")
                if one.status_code != 200 or one.content != data:
                    problems.append(f"skill {name}: file {path} answered {one.status_code}")
            for path, status in (("%2e%2e/%2e%2e/secret.txt", 400), (".hidden", 400), ("leak.txt", 404)):
                one = http.get(f"/skills/{name}/contents/{path}")
                if one.status_code != status:
                    problems.append(f"skill {name}: {path} answered {one.status_code}, not {status}")
            first, second = http.get(f"/skills/{name}/download"), http.get(f"/skills/{name}/download")
            try:
                archive = zipfile.ZipFile(io.BytesIO(first.content))
                inside = {n: archive.read(n) for n in archive.namelist()}
            except zipfile.BadZipFile:
                inside = {}
            if first.status_code != 200 or inside != served or first.content != second.content:
                problems.append(f"skill {name}: download {first.status_code} {sorted(inside)}")
        if http.get("/skills/no-such-skill-here").status_code != 404:
            problems.append("skill catalogue: an unknown skill is not 404")
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


def _call_one(client: Any, module: Any, spec: dict[str, Any], consumer: dict[str, Any],
              resource: dict[str, Any], op: dict[str, Any], base_path: str, recorder: Recorder,
              method: str) -> list[str]:
    from naftiko_codegen.names import dedupe, python_identifier

    params = list(consumer.get("inputParameters") or []) + list(op.get("inputParameters") or [])
    # a resource's parameters are each operation's, but for a name the operation declares itself
    params += [p for p in resource.get("inputParameters") or []
               if str(p.get("name")) not in {str(q.get("name")) for q in op.get("inputParameters") or []}]
    names = dedupe([python_identifier(str(p["name"]), fallback="param") for p in params])
    values: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    auth = consumer.get("authentication") or {}
    kind = _auth_kind(auth)
    credentials = set(_credential_headers(auth)) | {str(
        auth.get("key") or auth.get("name") or auth.get("header") or "").lower()}
    if kind in ("digest", "oauth1"):
        credentials.add("authorization")
    callers = {"tools", "rest"} | {str(a.get("namespace")) for a in spec.get("capability", {}).get("exposes") or []}
    from_environment, filled = _variable_sources(spec, f"{consumer.get('namespace')}.{op.get('name')}")
    params = [{**p, "value": from_environment[str(p.get("name"))]}
              if str(p.get("name")) in from_environment and "value" not in p and "const" not in p else p
              for p in params]
    for p, arg in zip(params, names, strict=True):
        fixed = p.get("value", p.get("const"))
        if _caller_key(fixed, callers) is not None or str(p["name"]) in filled:
            fixed = None  # `value: '{{tools.x}}'` (or a caller's `{{x}}`) is the caller's input, not a fixed value
        if fixed is not None or p.get("in") == "environment":
            continue
        if p.get("in") in ("header", "query") and str(p["name"]).lower() in credentials:
            continue  # the authentication sets it (docs/diagnostics.md, W213)
        value = _sample({k: v for k, v in p.items() if k in ("type", "enum")}, str(p["name"]))
        values[str(p["name"])] = value
        kwargs[arg] = value
    resource_path = str(resource.get("path", ""))
    if op.get("path"):
        resource_path = resource_path.rstrip("/") + "/" + str(op["path"]).lstrip("/")
    taken = [n for p, n in zip(params, names, strict=True) if p.get("in") != "environment"]
    fixed_paths = {str(p["name"]): p.get("value", p.get("const")) for p in params if p.get("in") == "path"
                   and p.get("value", p.get("const")) is not None and _caller_key(p.get("value"), callers) is None
                   and str(p["name"]) not in filled}
    for var in _PLACEHOLDER.findall(resource_path):
        if var in fixed_paths:  # a fixed (or environment) value, sent without an argument
            values[var] = _resolved(fixed_paths[var])
            continue
        if var not in values:
            arg = dedupe([*taken, python_identifier(var, fallback="param")])[-1]
            taken.append(arg)
            values[var] = kwargs[arg] = f"v-{var}"[:20]
    template = _body_template(op, spec, callers) or _params_template(params, callers, spec)
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
    if not hasattr(client, method):
        return [f"client method {method} for {op.get('name')} missing"]
    before = len(recorder.requests)
    challenges, tokens = recorder.challenges, len(recorder.token_requests)
    try:
        getattr(client, method)(**kwargs)
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
        want = _fill_body(template[1], values, callers, spec)
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
    for p in params:  # a fixed value made of variables (bound, from the environment or a bind file)
        fixed = p.get("value", p.get("const"))
        if not isinstance(fixed, str) or "{{" not in fixed or _caller_key(fixed, callers) is not None \
                or str(p["name"]) in filled:
            continue
        name = str(p["name"])
        if p.get("in") == "header" and name.lower() not in credentials and got["headers"].get(
                name.lower()) != _resolved(fixed):
            problems.append(f"{op.get('name')}: header {name} is not the value the spec sets")
        if p.get("in") == "query" and name.lower() not in credentials and dict(pairs).get(name) != _resolved(fixed):
            problems.append(f"{op.get('name')}: query {name} is not the value the spec sets")
    for header, value in _credential_headers(auth).items():
        if got["headers"].get(header) != value:
            problems.append(f"{op.get('name')}: credential header {header} is not the one the spec sets")
    placement = auth.get("placement") or auth.get("in") or ("query" if kind == "query" else "header")
    if kind in ("apikey", "query") and placement == "query" and not auth.get("headers"):
        name = str(auth.get("key") or auth.get("name") or "")
        if dict(pairs).get(name) != _resolved(auth.get("value", auth.get("token", ""))):
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
            else:  # an element typed `object` without properties is an object (any), copied
                kind = items.get("type") if isinstance(items, dict) else None
                elements.append({"k": counter.next(None)} if kind == "object" else counter.next(kind))
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


def _with_ref(op: dict[str, Any], capability: dict[str, Any]) -> dict[str, Any]:
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
    # a mapped value is sampled with the type its output declares (`yearBuilt: number`), since
    # a result that breaks its declared type is refused
    declared = {str(o["name"]): o.get("type") for o in op.get("outputParameters") or []
                if isinstance(o, dict) and "name" in o}
    for entry in mappings:
        path = _segments(str(entry.get("value", "")))
        if not path or str(path[0]) not in names:
            return None
        step_name = str(path[0])
        if step_name in documents and isinstance(documents[step_name], dict) and _dig(documents[step_name], path[1:]) is None:
            _plant(documents[step_name], path[1:], counter.next(declared.get(str(entry.get("targetName")))))
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
    """(checked here, mock): single calls to operations whose answer `_in_format` can write,
    and mocks."""
    mock = not any(k in op for k in ("call", "steps", "ref"))
    if "call" in op and formats.get(str(op["call"]), "json") not in _WRITTEN_FORMATS:
        return False, False
    return ("call" in op or mock) and _built(op.get("outputParameters"), mock), mock


# --- answers in other formats ------------------------------------------------------------
# The upstream answers the sample document written in the consumed operation's
# `outputRawFormat`; the expected result is computed from the document that format carries
# (html and markdown cells are text), as the engine's converter defines it (naftiko-spec.md
# §4.7): a wrong reader gives another result. Samples a format cannot carry are not checked.

_WRITTEN_FORMATS = ("json", "yaml", "html", "markdown")


def _cell(value: Any) -> str | None:
    """A sample value as table text, None when it is not a scalar a cell can hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)) and "\n" not in str(value):
        return str(value)
    return None


def _text_tables(tables: Any) -> list[tuple[list[str], list[list[str]]]] | None:
    """[(headers, rows)] for a list of tables of flat row objects, values as text."""
    if not isinstance(tables, list):
        return None
    found = []
    for table in tables:
        if not isinstance(table, list) or not table or not all(isinstance(r, dict) and r for r in table):
            return None
        headers = list(dict.fromkeys(k for row in table for k in row))
        if any(not h.strip() or h != h.strip() or "|" in h or "<" in h for h in headers):
            return None
        rows = [[_cell(row.get(h, "")) for h in headers] for row in table]
        if any(c is None for row in rows for c in row):
            return None
        found.append((headers, rows))  # type: ignore[arg-type]
    return found


def _html(tables: list[tuple[list[str], list[list[str]]]], attributes: str) -> str:
    import html as markup

    out = []
    for headers, rows in tables:
        head = "".join(f"<th>{markup.escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td> {markup.escape(c)} </td>" for c in row) + "</tr>\n" for row in rows)
        out.append(f"<table{attributes}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>")
    return "\n".join(out)


def _in_format(capability: dict[str, Any], op: dict[str, Any], document: Any) -> tuple[bytes, bytes, Any] | None:
    """(upstream body, its Content-Type, the document it converts to) for `document` written
    in the format of the operation `op` calls; None when that format cannot carry it."""
    consumed = _consumed(capability).get(str(op.get("call")), ("", {}))[1]
    fmt = str(consumed.get("outputRawFormat") or "json").lower() if "call" in op else "json"
    option = str(consumed.get("outputSchema") or "").strip()
    if fmt == "json":
        return json.dumps(document).encode(), b"application/json", document
    if fmt == "yaml":
        return yaml.safe_dump(document, sort_keys=False).encode(), b"application/yaml", document
    if not isinstance(document, dict):
        return None
    if fmt == "html":
        tables = _text_tables(document.get("tables")) if set(document) == {"tables"} else None
        if tables is None:
            return None
        page = _html(tables, "")
        if option:
            # One element, class and id selector: the tables it selects, after a decoy table
            # that the selector does not reach (it would come first in the answer otherwise).
            selector = re.fullmatch(r"([a-z][a-z0-9]*)?((?:[.#][A-Za-z_][\w-]*)+)?", option)
            if selector is None:
                return None
            tag = selector.group(1) or "div"
            classes = " ".join(re.findall(r"\.([\w-]+)", selector.group(2) or ""))
            ident = "".join(re.findall(r"#([\w-]+)", selector.group(2) or ""))[:64]
            attributes = (f' class="{classes}"' if classes else "") + (f' id="{ident}"' if ident else "")
            decoy = _html([(["decoy"], [["not selected"]])], "")
            chosen = (_html(tables, attributes) if tag == "table"
                      else f"<{tag}{attributes}>{_html(tables, '')}</{tag}>")
            page = f"<div class=\"other\">{decoy}</div>\n{chosen}"
        text = f"<!DOCTYPE html>\n<html><body>\n<p>Sample answer<br>\n{page}\n</body></html>\n"
        rows = [[dict(zip(h, r, strict=True)) for r in rs] for h, rs in tables]
        return text.encode(), b"text/html", {"tables": rows}
    if fmt == "markdown":
        if not set(document) <= {"frontMatter", "tables", "sections"}:
            return None
        front = document.get("frontMatter", {})
        tables = _text_tables(document.get("tables", []))
        sections = document.get("sections", [])
        if not isinstance(front, dict) or tables is None or not isinstance(sections, list):
            return None
        parts = ["---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n"] if front else []
        for headers, rows in tables:
            lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
            lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
            parts.append("\n".join(lines) + "\n")
        kept = []
        for section in sections:
            if not isinstance(section, dict) or set(section) - {"heading", "level", "content"}:
                return None
            heading = option + str(section.get("heading", "s"))
            level = section.get("level", 2)
            content = _cell(section.get("content", ""))
            if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 6 or content is None:
                return None
            if re.search(r"[\\`*_\[\]<>&#|!]", heading + content) or content != content.strip():
                return None
            parts.append(f"{'#' * level} {heading}\n\n{content}\n")
            kept.append({"heading": heading, "level": level, "content": content})
        if option:  # a section whose heading does not start with the prefix is left out
            decoy = "Decoy section" if not "Decoy section".startswith(option) else "Other section"
            parts.append(f"## {decoy}\n\nleft out\n")
        converted = {"frontMatter": front, "tables": [[dict(zip(h, r, strict=True)) for r in rs] for h, rs in tables],
                     "sections": kept}
        return "\n".join(parts).encode(), b"text/markdown", converted
    return None


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
                tool = _with_ref(tool, capability)
                checked, mock = _checkable(tool, formats)
                planned = _orchestration(tool, capability) if "steps" in tool else None
                empty = mock and not tool.get("outputParameters")  # calls nothing, answers {}
                if not (checked or planned or empty) or tool.get("name") not in schemas:
                    continue
                declared = schemas[tool["name"]].input_schema
                arguments = {k: _sample(v, k) for k, v in declared.get("properties", {}).items()}
                before = len(recorder.requests)
                if planned:
                    recorder.patterns = [(re.compile(p), body) for p, body in planned[0]]
                    want = planned[1]
                elif empty:
                    want = {}
                else:
                    written = _in_format(capability, tool, _sample_document(tool["outputParameters"]))
                    if written is None:
                        continue
                    recorder.answers["*"], recorder.answer_type, document = written
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
                    recorder.answer_type = b"application/json"
                got = json.loads(result.content[0].text) if not result.is_error else result.content[0].text
                if result.is_error or got != want:
                    problems.append(f"tool {tool['name']}: result {str(got)[:120]} != {str(want)[:120]}")
                elif empty and len(recorder.requests) != before:
                    problems.append(f"tool {tool['name']}: has nothing to call, yet called the upstream")
                elif mcp.TOOLS and schemas[tool["name"]].output_schema and result.structured_content != want:
                    problems.append(f"tool {tool['name']}: structured content differs from the text")
        if adapter.get("type") == "rest":
            from fastapi.testclient import TestClient

            rest = importlib.import_module(f"{package}.rest")
            paths = rest.OPENAPI["paths"]
            with TestClient(rest.app) as http:
                shadowed = _shadowed(adapter)
                for resource in adapter.get("resources", []) or []:
                    for op in resource.get("operations", []) or []:
                        if id(op) in shadowed:
                            continue  # not served: the route answers with the first declaration
                        op = _with_ref(op, capability)
                        checked, mock = _checkable(op, formats)
                        planned = _orchestration(op, capability) if "steps" in op else None
                        empty = mock and not op.get("outputParameters") and "forward" not in op
                        if not (checked or planned or empty):
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
                        if empty:  # no call, steps or outputs: 204, nothing called (docs/semantics.md)
                            before = len(recorder.requests)
                            answer = http.request(op["method"].upper(), url, params=query,
                                                  json=payload if body else None)
                            if answer.status_code != 204 or answer.content or len(recorder.requests) != before:
                                problems.append(f"REST {op['method']} {resource['path']}: {answer.status_code} "
                                                f"{answer.text[:80]!r}, {len(recorder.requests) - before} upstream "
                                                "calls, for an operation with nothing to call or answer")
                            continue
                        if planned:
                            recorder.patterns = [(re.compile(p), body) for p, body in planned[0]]
                            want = planned[1]
                        else:
                            written = _in_format(capability, op, _sample_document(op["outputParameters"]))
                            if written is None:
                                continue
                            recorder.answers["*"], recorder.answer_type, document = written
                            want = _expected_result(op["outputParameters"], document, inputs, mock)
                        try:
                            answer = http.request(op["method"].upper(), url, params=query,
                                                  json=payload if body else None)
                        finally:
                            recorder.answers.clear()
                            recorder.patterns = []
                            recorder.answer_type = b"application/json"
                        if answer.status_code >= 300 or answer.json() != want:
                            problems.append(f"REST {op['method']} {resource['path']}: {answer.status_code} "
                                            f"{answer.text[:120]} != {str(want)[:120]}")
    return problems


def _same(a: str, b: str) -> bool:
    return a.replace("-", "_") == b.replace("-", "_")


def check_rest_bodies(package: str, spec: dict[str, Any], recorder: Recorder) -> list[str]:
    """Each REST route (not GET or HEAD) whose call sends a body made of several values (the
    inputs of a body template, several body parameters) takes them as members of a JSON request
    body object, named by `with` (or as the consumed value), read where a declared `in: body`
    input's `value` points: a request with every member reaches the upstream with the body the
    spec implies. Computed from the spec, not from the generated package."""
    from fastapi.testclient import TestClient

    capability = spec.get("capability") or {}
    consumed = _consumed(capability)
    callers = {"tools", "rest"} | {str(a.get("namespace")) for a in capability.get("exposes") or []}
    problems: list[str] = []
    for adapter in capability.get("exposes") or []:
        if adapter.get("type") != "rest":
            continue
        rest = importlib.import_module(f"{package}.rest")
        namespaces = {"rest", str(adapter.get("namespace"))}
        shadowed = _shadowed(adapter)
        with TestClient(rest.app) as http:
            for resource in adapter.get("resources") or []:
                for op in resource.get("operations") or []:
                    target = consumed.get(str(op.get("call")))
                    method = str(op.get("method", "")).upper()
                    if target is None or method in ("GET", "HEAD") or "ref" in op or "steps" in op or id(op) in shadowed:
                        continue
                    upstream_op = target[1]
                    params = [p for p in upstream_op.get("inputParameters") or [] if isinstance(p, dict)]
                    template = _body_template(upstream_op, spec, callers) or _params_template(params, callers, spec)
                    bodies = [p for p in params if p.get("in") == "body" and (
                        p.get("value") is None or _caller_key(p.get("value"), callers) == str(p["name"]))]
                    if template is not None and template[0] == "json":
                        members = list(template[2])
                    elif template is None and len(bodies) > 1 and len(bodies) == len(
                            [p for p in params if p.get("in") == "body"]):
                        members = [str(p["name"]) for p in bodies]
                    else:
                        continue
                    declared = {str(p.get("name")): p for p in op.get("inputParameters") or [] if isinstance(p, dict)}
                    route_vars = _PLACEHOLDER.findall(str(resource.get("path", "")))
                    url = str(resource.get("path", ""))
                    body: dict[str, Any] = {}
                    values: dict[str, Any] = {}
                    usable = True
                    for i, name in enumerate(members):
                        written = (op.get("with") or {}).get(name)
                        ref = name
                        if written is not None:
                            text = str(written).strip()
                            key = _caller_key(text if text.startswith("{{") else "{{" + text + "}}", set(namespaces))
                            if key is None:
                                usable = False  # a literal: not what this check is about
                                break
                            ref = key
                        typed = next((p for p in params if str(p["name"]) == name and p.get("type")), None)
                        given_type = (declared.get(ref) or {}).get("type")
                        if given_type or typed:  # a value of the declared type, distinct per member
                            kind = str(given_type or typed["type"])  # type: ignore[index]
                            value = {"integer": 7 + i, "number": 1.5 + i, "boolean": i % 2 == 0, "array": [i, ref],
                                     "object": {"k": i}}.get(kind, f"f{i}-{ref}"[:20])
                        else:
                            value = [i, f"f-{ref}"[:20]]  # not a string: a template must keep types
                        var = next((v for v in route_vars if _same(v, ref)), None)
                        given = declared.get(ref)
                        elsewhere = next((p.get("in", "query") for p in params if str(p["name"]) == name
                                          and p.get("in", "query") != "body"), None)
                        if var is not None and elsewhere in (None, "path"):
                            values[name] = f"p-{var}"  # the route's path carries it
                            continue
                        if var is not None or elsewhere is not None or (given and given.get("in") not in (None, "body")):
                            usable = False  # from the query or a header: checked elsewhere
                            break
                        values[name] = value
                        where = [ref]
                        if given is not None and str(given.get("value", "")).startswith("$."):
                            where = str(given["value"])[2:].split(".")
                        node = body
                        for part in where[:-1]:
                            node = node.setdefault(part, {})
                        node[where[-1]] = value
                    if not usable:
                        continue
                    for var in route_vars:
                        url = re.sub(r"\{\{?\s*" + re.escape(var) + r"\s*\}?\}", f"p-{var}", url)
                    operation = rest.OPENAPI["paths"].get(str(resource["path"]), {}).get(method.lower(), {})
                    query = {p["name"]: _sample(p.get("schema", {}), p["name"])
                             for p in operation.get("parameters", []) if p.get("required") and p.get("in") == "query"}
                    headers = {p["name"]: str(_sample(p.get("schema", {}), p["name"]))
                               for p in operation.get("parameters", []) if p.get("required") and p.get("in") == "header"}
                    for p in params:  # the values no member gives: sampled, as the request sends them
                        if str(p["name"]) in query:
                            values.setdefault(str(p["name"]), query[str(p["name"])])
                    before = len(recorder.requests)
                    answer = http.request(method, url, json=body, params=query, headers=headers)
                    if len(recorder.requests) != before + 1:
                        problems.append(f"REST {method} {resource['path']}: answered {answer.status_code} "
                                        f"{answer.text[:120]}, {len(recorder.requests) - before} upstream requests")
                        continue
                    sent = json.loads(recorder.requests[-1]["body"] or b"null")
                    want = (_fill_body(template[1], values, callers, spec) if template is not None
                            else {b: values[b] for b in members})
                    if sent != want:
                        problems.append(f"REST {method} {resource['path']}: upstream body {str(sent)[:100]} "
                                        f"!= {str(want)[:100]}")
    return problems


def _route_key(method: Any, path: Any) -> tuple[str, str]:
    """A route as a request sees it: placeholders are any segment; `//` and a trailing `/`
    name the same path."""
    segments = [seg for seg in _PLACEHOLDER.sub("{}", str(path)).split("/") if seg]
    return str(method).upper(), "/" + "/".join(segments)


def _routes(adapter: dict[str, Any]) -> dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """(METHOD, route key) -> every (resource, operation) declaring it, in declaration order."""
    found: dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for resource in adapter.get("resources") or []:
        for op in resource.get("operations") or []:
            found.setdefault(_route_key(op.get("method"), resource.get("path")), []).append((resource, op))
    return found


def _shadowed(adapter: dict[str, Any]) -> set[int]:
    """ids of the REST operations a route declared earlier answers for (docs/semantics.md,
    "Colliding routes, calls and namespaces"): only the first declaration of a route is served."""
    return {id(op) for declared in _routes(adapter).values() for _, op in declared[1:]}


def check_first_declaration_answers(package: str, spec: dict[str, Any], recorder: Recorder) -> list[str]:
    """A route declared more than once in a REST adapter is served by its first declaration
    only: the service registers it once, its OpenAPI operation is the first's, and a request
    reaches the first one's consumed operation (method and path), not a later one's."""
    from fastapi.testclient import TestClient

    capability = spec.get("capability") or {}
    consumed = _consumed(capability)
    problems: list[str] = []
    for adapter in capability.get("exposes") or []:
        if adapter.get("type") != "rest":
            continue
        repeated = {k: v for k, v in _routes(adapter).items() if len(v) > 1}
        if not repeated:
            continue
        rest = importlib.import_module(f"{package}.rest")
        handlers: dict[tuple[str, str], int] = {}
        for r in rest.app.routes:
            for m in getattr(r, "methods", ()):
                key = _route_key(m, getattr(r, "path", ""))
                handlers[key] = handlers.get(key, 0) + 1
        with TestClient(rest.app, raise_server_exceptions=False) as http:
            for (method, key), declared in repeated.items():
                (resource, first), later = declared[0], declared[1:]  # later: not served
                where = f"REST {method} {resource['path']}"
                if handlers.get((method, key), 0) < 1:
                    problems.append(f"{where}: not served")
                    continue
                route = _PLACEHOLDER.sub(lambda m: "{" + re.sub(r"\W", "_", m.group(1)) + "}", str(resource["path"]))
                described = rest.OPENAPI["paths"].get(route, {}).get(method.lower(), {})
                if first.get("name") and described.get("operationId") != first["name"]:
                    problems.append(f"{where}: OpenAPI describes {described.get('operationId')!r}, "
                                    f"not the first declaration {first['name']!r}")
                target = consumed.get(str(first.get("call")))
                if target is None or "steps" in first or "ref" in first:
                    continue  # what a mock or an orchestration answers is checked by check_outputs
                url, query = route, {}
                for p in described.get("parameters", []):
                    if "name" not in p or not p.get("required"):
                        continue
                    value = _sample(p.get("schema", {}), p["name"])
                    if p["in"] == "path":
                        url = url.replace("{" + p["name"] + "}", quote(str(value), safe=""))
                    elif p["in"] == "query":
                        query[p["name"]] = value
                body = described.get("requestBody", {}).get("content", {}).get("application/json", {})
                before = len(recorder.requests)
                answer = http.request(method, url, params=query,
                                      json=_sample(body.get("schema", {}), "body") if body else None)
                if len(recorder.requests) != before + 1:
                    problems.append(f"{where}: answered {answer.status_code} {answer.text[:80]}, "
                                    f"{len(recorder.requests) - before} upstream requests")
                    continue
                got = recorder.requests[-1]
                if got["method"] != str(target[1].get("method", "")).upper() or not re.fullmatch(
                        ".*" + target[0], got["path"]):
                    later_calls = ", ".join(f"`{op.get('call')}`" for _, op in later)
                    problems.append(f"{where}: reached {got['method']} {got['path']}, not the first declaration's "
                                    f"`{first.get('call')}` (later: {later_calls})")
    return problems


_ANY_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def _variable_sources(spec: dict[str, Any], address: str) -> tuple[dict[str, str], set[str]]:
    """For the consumed operation `address`, on the spec's own terms (docs/semantics.md, "More
    variations as written"): ({parameter: the `{{variable}}` every caller's `with` reads from
    the environment}, {parameters whose `value: '{{x}}'` a caller's input or `with` key x fills}).
    A `with` value `{{X}}` is the environment when it is `env.X`, a bind's key, or credential-like
    (upper case, or saying token/secret/password/api key/credential) and no input of the caller."""
    capability = spec.get("capability") or {}
    keys = {str(k) for b in spec.get("binds") or [] if isinstance(b, dict) for k in (b.get("keys") or {})}
    spaces = {str(b.get("namespace")) for b in spec.get("binds") or [] if isinstance(b, dict)}
    callers: list[tuple[dict[str, Any], set[str]]] = []

    def inputs_of(holder: dict[str, Any], resource: dict[str, Any] | None) -> set[str]:
        found = {str(p.get("name")) for h in (holder, resource or {}) for p in h.get("inputParameters") or []
                 if isinstance(p, dict)}
        return found | set(_PLACEHOLDER.findall(str((resource or {}).get("path", "")))) | set(
            (holder.get("inputSchema") or {}).get("properties") or {})

    def visit(holder: Any, inputs: set[str]) -> None:
        if not isinstance(holder, dict):
            return
        if holder.get("call") == address:
            callers.append((holder.get("with") or {}, inputs))
        for step in holder.get("steps") or []:
            visit(step, inputs)

    for adapter in capability.get("exposes") or []:
        for resource in adapter.get("resources") or []:
            if adapter.get("type") == "mcp":
                visit(resource, set(_URI_VARIABLE.findall(str(resource.get("uri", "")))))
            for op in resource.get("operations") or []:
                visit(op, inputs_of(op, resource))
        for tool in adapter.get("tools") or []:
            visit(tool, inputs_of(tool, None))
    for aggregate in capability.get("aggregates") or []:
        for function in aggregate.get("functions") or []:
            visit(function, inputs_of(function, None))

    def environment(value: Any, inputs: set[str]) -> str | None:
        match = _ANY_VARIABLE.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            return None
        text = match.group(1)
        space, dot, key = text.partition(".")
        if dot:
            return text if space == "env" or (space in spaces and key in keys) else None
        secret = re.fullmatch(r"[A-Z][A-Z0-9_]*", text) or re.search(
            r"token|secret|passw(or)?d|api[_-]?key|credential", text, re.IGNORECASE)
        return text if text not in inputs and (text in keys or secret) else None

    from_environment: dict[str, str] = {}
    for name in {str(k) for mapping, _ in callers for k in mapping}:
        found = {environment(mapping.get(name), inputs) for mapping, inputs in callers}
        if len(found) == 1 and None not in found:
            from_environment[name] = "{{" + str(found.pop()) + "}}"
    named = {n for mapping, inputs in callers for n in set(mapping) | inputs}
    namespace, _, operation = address.partition(".")
    filled: set[str] = set()
    for consumer in capability.get("consumes") or []:
        if consumer.get("namespace") != namespace:
            continue
        for resource in consumer.get("resources") or []:
            for op in resource.get("operations") or []:
                if op.get("name") != operation:
                    continue
                for p in list(consumer.get("inputParameters") or []) + list(op.get("inputParameters") or []):
                    match = _ANY_VARIABLE.fullmatch(str(p.get("value", "")).strip())
                    if match and "." not in match.group(1) and match.group(1) not in keys and match.group(1) in named:
                        filled.add(str(p.get("name")))
    return from_environment, filled


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
        # a Mustache value outside a string (`"ids": {{ids}}`) is the value itself, JSON type kept
        data = json.loads(re.sub(r'([:\[,]\s*)(\{\{[^{}]*\}\})(?=\s*[,\]}])', r'\1"\2"', body))
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


def _params_template(params: list[dict[str, Any]], callers: set[str],
                     spec: dict[str, Any]) -> tuple[str, Any, list[str]] | None:
    """Body parameters of which one has an object or array `value` (docs/semantics.md, "REST
    request bodies with several fields"): the template they make, the object keyed by their
    names (the one value when alone), an argument standing as `{{tools.<name>}}`."""
    bodies = [p for p in params if p.get("in") == "body"]
    if not any(isinstance(p.get("value", p.get("const")), (dict, list)) for p in bodies):
        return None
    data: dict[str, Any] = {}
    for p in bodies:
        value = p.get("value", p.get("const"))
        if value is None or _caller_key(value, callers) == str(p["name"]):
            value = "{{tools." + str(p["name"]) + "}}"
        data[str(p["name"])] = value
    template = data if len(bodies) > 1 else next(iter(data.values()))
    return _body_template({"body": {"type": "json", "data": template}}, spec, callers)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _fill_body(data: Any, values: dict[str, Any], callers: set[str], spec: dict[str, Any]) -> Any:
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
        return {k: _fill_body(v, values, callers, spec) for k, v in data.items()}
    if isinstance(data, list):
        return [_fill_body(v, values, callers, spec) for v in data]
    if not isinstance(data, str):
        return data
    whole = _ANY_VARIABLE.fullmatch(data)
    if whole:
        found = lookup(whole.group(1))
        return found
    return _ANY_VARIABLE.sub(lambda m: _text(lookup(m.group(1))), data)


_URI_VARIABLE = re.compile(r"\{([^{}]+)\}")


def check_mcp_extras(module: Any, adapter: dict[str, Any], capability: dict[str, Any], upstream: str,
                     recorder: Recorder) -> list[str]:
    """Every declared MCP resource and prompt is listed, and reading or getting it through the
    generated server (the official client, in process) does what the spec says: a read sends
    the consumed operation's request with the URI's variables and `with` values in place and
    returns the upstream body; a prompt comes back with its arguments put in."""
    import anyio
    from mcp import Client

    from naftiko_codegen.names import env_prefix

    consumed = {f"{c['namespace']}.{op.get('name')}": (c, r, op) for c in capability.get("consumes", [])
                for r in c.get("resources", []) for op in r.get("operations", [])}
    for c in capability.get("consumes", []):
        os.environ[env_prefix(str(c["namespace"])) + "_BASE_URI"] = upstream + urlsplit(str(c["baseUri"])).path

    async def go() -> list[str]:
        problems: list[str] = []
        async with module.upstream.open(), Client(module.server) as client:
            listed = {r.uri: r for r in (await client.list_resources()).resources} if hasattr(
                module, "RESOURCES") else {}
            templates = {t.uri_template: t for t in (await client.list_resource_templates()).resource_templates
                         } if hasattr(module, "RESOURCES") else {}
            for res in adapter.get("resources") or []:
                problems += await _check_resource(client, res, listed, templates, consumed, recorder)
            prompts = {p.name: p for p in (await client.list_prompts()).prompts} if hasattr(
                module, "PROMPTS") else {}
            for prompt in adapter.get("prompts") or []:
                problems += await _check_prompt(client, prompt, prompts)
        return problems

    return anyio.run(go)


async def _check_resource(client: Any, res: dict[str, Any], listed: dict[str, Any], templates: dict[str, Any],
                          consumed: dict[str, Any], recorder: Recorder) -> list[str]:
    uri = str(res["uri"])
    if "location" in res:
        return await _check_files(client, res, listed)
    variables = _URI_VARIABLE.findall(uri)
    entry = (templates if variables else listed).get(uri)
    if entry is None:
        return [f"MCP resource {uri} not listed"]
    problems = []
    mime = res.get("mimeType") or "application/json"
    if (entry.name, entry.title, entry.description, entry.mime_type) != (
            res["name"], res.get("label"), res.get("description"), mime):
        problems.append(f"MCP resource {uri}: listed as {entry.name!r} {entry.title!r} {entry.mime_type!r}")
    consumer, resource, op = consumed[str(res["call"])]
    params = {str(p["name"]): p for p in list(consumer.get("inputParameters") or []) + list(op.get("inputParameters") or [])}
    consumed_path = str(resource.get("path", "")) + "/" + str(op.get("path") or "")
    for var in _PLACEHOLDER.findall(consumed_path):  # a placeholder nobody declares is a path parameter
        params.setdefault(var, {"name": var, "in": "path"})
    with_ = res.get("with") or {}
    # what fills each consumed parameter: a URI variable (by `{{var}}` in `with`, or by name) or a literal
    filled_by: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in params:
        value = with_.get(name)
        ref = re.fullmatch(r"\{\{\s*([^{}\s]+)\s*\}\}", value) if isinstance(value, str) else None
        if ref and ref.group(1) in variables:
            filled_by[name] = ref.group(1)
        elif name in with_:
            values[name] = value
        elif name in variables:
            filled_by[name] = name
    samples = {}
    for var in variables:
        kinds = [params[n].get("type") for n, v in filled_by.items() if v == var]
        samples[var] = "7" if kinds[:1] == ["integer"] else f"v-{var}"
    for name, var in filled_by.items():
        values[name] = samples[var]
    concrete = _URI_VARIABLE.sub(lambda m: samples[m.group(1)], uri)
    before = len(recorder.requests)
    try:
        result = await client.read_resource(concrete)
    except Exception as exc:  # noqa: BLE001 - a failed read is a finding
        return [*problems, f"MCP resource {concrete}: {type(exc).__name__}: {str(exc)[:120]}"]
    if len(recorder.requests) != before + 1:
        return [*problems, f"MCP resource {concrete}: {len(recorder.requests) - before} upstream requests"]
    got = recorder.requests[-1]
    path = str(resource.get("path", ""))
    if op.get("path"):
        path = path.rstrip("/") + "/" + str(op["path"]).lstrip("/")
    expected = _expected_path(urlsplit(str(consumer["baseUri"])).path, path, values)
    if (got["method"], got["path"]) != (str(op["method"]).upper(), expected):
        problems.append(f"MCP resource {concrete}: sent {got['method']} {got['path']} != {expected}")
    query = dict(parse_qsl(got["query"], keep_blank_values=True))
    for name, p in params.items():
        if p.get("in") == "query" and name in values and query.get(name) != str(values[name]):
            problems.append(f"MCP resource {concrete}: query {name}={query.get(name)!r}")
    contents = [(str(c.uri), c.mime_type, getattr(c, "text", None)) for c in result.contents]
    if contents != [(concrete, mime, "{}")]:
        problems.append(f"MCP resource {concrete}: contents {contents!r}"[:200])
    return problems


async def _check_files(client: Any, res: dict[str, Any], listed: dict[str, Any]) -> list[str]:
    """A `location` directory: its regular files with plain names (and real paths inside it) are
    listed as `<uri>/<relative path>` and read back byte for byte; nothing else is."""
    import base64

    root = Path(unquote(urlsplit(str(res["location"])).path))
    prefix = str(res["uri"]) + "/"
    expected = {}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if (all(re.fullmatch(r"[A-Za-z0-9._-]+", s) and s not in (".", "..") for s in relative.split("/"))
                    and path.resolve().is_relative_to(root.resolve()) and path.resolve().is_file()):
                expected[prefix + relative] = path.read_bytes()
    got = sorted(u for u in listed if u.startswith(prefix))
    if got != sorted(expected):
        return [f"MCP files {prefix}: listed {got[:3]!r}, expected {sorted(expected)[:3]!r}"]
    problems = []
    for uri, data in expected.items():
        try:
            (item,) = (await client.read_resource(uri)).contents
        except Exception as exc:  # noqa: BLE001
            problems.append(f"MCP file {uri}: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        text = getattr(item, "text", None)
        read = text.encode() if text is not None else base64.b64decode(getattr(item, "blob", ""))
        if read != data:
            problems.append(f"MCP file {uri}: content differs")
    return problems


async def _check_prompt(client: Any, prompt: dict[str, Any], listed: dict[str, Any]) -> list[str]:
    name = str(prompt["name"])
    entry = listed.get(name)
    if entry is None:
        return [f"MCP prompt {name} not listed"]
    declared = prompt.get("arguments") or []
    problems = []
    if [(a.name, a.required) for a in entry.arguments or []] != [
            (a["name"], a.get("required", True)) for a in declared]:
        problems.append(f"MCP prompt {name}: arguments {entry.arguments!r}"[:200])
    # every argument; then the required ones only (an optional one left out is empty); then,
    # when some are required, none (refused)
    every = {str(a["name"]): f"<{a['name']} {{{{x}}}}>" for a in declared}
    required = {k: v for k, v in every.items() if next(a for a in declared if a["name"] == k).get("required", True)}
    template = prompt.get("template") or []
    if "location" in prompt:  # the file's text, read when asked for, is one user message
        file = Path(unquote(urlsplit(str(prompt["location"])).path))
        if not file.is_file():
            try:
                await client.get_prompt(name, every)
                return [*problems, f"MCP prompt {name}: served without its file {file}"]
            except Exception:  # noqa: BLE001 - refused, as it must be
                return problems
        template = [{"role": "user", "content": file.read_text("utf-8")}]
    for label, values in (("messages", every), ("without optional arguments", required)):
        try:
            result = await client.get_prompt(name, values)
        except Exception as exc:  # noqa: BLE001
            return [*problems, f"MCP prompt {name}: {type(exc).__name__}: {str(exc)[:120]}"]
        want = []
        for message in template:
            text = str(message["content"])
            for arg in every:
                value = values.get(arg, "")
                text = re.sub(r"\{\{\s*" + re.escape(arg) + r"\s*\}\}", lambda _m, v=value: v, text)
            want.append((message["role"], text))
        got = [(m.role, getattr(m.content, "text", None)) for m in result.messages]
        if got != want:
            problems.append(f"MCP prompt {name}: {label} {got!r}"[:200])
    if required:
        try:
            await client.get_prompt(name, {})
        except Exception:  # noqa: BLE001 - refused, as it must be
            return problems
        problems.append(f"MCP prompt {name}: accepted without its required arguments")
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
            # the variables of imported files are needed too (their credentials, say)
            variables = text + "".join(path.read_text("utf-8") for path in result.imports)
            problems = check_package(folder, result.package, written, variables, url, recorder)
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


def _run_share(items: list[tuple[Path, str]], work: Path) -> list[tuple[str, str, str]]:
    return [(o.spec, o.status, o.detail) for o in run(dict(items), work)]


def run_parallel(specs: dict[Path, str], work: Path, jobs: int) -> list[Outcome]:
    """`run` in `jobs` processes, each with its own upstream and a share of the specs: the
    checks import every package into the process that checks it, so shares never meet."""
    if jobs <= 1:
        return run(specs, work)
    from concurrent.futures import ProcessPoolExecutor

    items = sorted(specs.items(), key=lambda item: item[1])
    shares = [items[i::jobs] for i in range(jobs)]
    with ProcessPoolExecutor(jobs) as pool:
        results = pool.map(_run_share, shares, [work / f"share-{i}" for i in range(jobs)])
        return [Outcome(*row) for rows in results for row in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--report", type=Path, help="write the Markdown report here")
    parser.add_argument("--jobs", type=int, default=1,
                        help="check the specs in this many processes (default 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        specs = lay_out(args.folder, Path(work) / "tree")
        outcomes = run_parallel(specs, Path(work) / "packages", args.jobs)
    text = report(outcomes, str(args.folder))
    if args.report:
        args.report.write_text(text)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("generated", "refused", "broken")}
    print(json.dumps(counts))
    return 1 if counts["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
