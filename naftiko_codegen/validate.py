"""Stage 2: check a loaded spec against our schema of the dialect, then against the semantic
rules that cross-reference its parts. Never raises on bad input: returns diagnostics.

Codes are stable and documented in docs/diagnostics.md.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema

from .diagnostics import Diagnostic, Severity
from .load import Document, JsonPath
from .templating import PATH_PLACEHOLDER as _PLACEHOLDER
from .templating import (
    Binds,
    body_data,
    body_placeholders,
    call_sites,
    caller_input,
    caller_namespaces,
    environment_reference,
    references,
    whole_variable,
)

SCHEMA_RESOURCE = "capability.schema.json"
OFFICIAL_SCHEMA_RESOURCE = "naftiko-schema-alpha2.json"

_DANGEROUS = re.compile(r"<\s*script|\beval\s*\(", re.IGNORECASE)
WARN = Severity.WARNING


@functools.cache
def _validator(resource: str) -> Any:
    text = resources.files("naftiko_codegen.schema").joinpath(resource).read_text("utf-8")
    schema = json.loads(text)
    return jsonschema.validators.validator_for(schema)(schema)


# --- schema -------------------------------------------------------------------------------


def _field(error: jsonschema.ValidationError) -> str:
    """The offending node as a reader finds it: `port`, `consumes[0]`, `tools[2].hints`."""
    where = list(error.absolute_path)
    if not where:
        return "the document"
    parts: list[str] = []
    for part in reversed(where):
        parts.insert(0, f"[{part}]" if isinstance(part, int) else str(part))
        if isinstance(part, str):
            break
    return "".join(parts) if not isinstance(where[0], int) or len(where) > 1 else f"item [{where[0]}]"


def _describe(error: jsonschema.ValidationError) -> tuple[str, str, str, JsonPath, bool]:
    """(code, message, hint, path, at_key) for one schema error, in the user's terms."""
    path: JsonPath = tuple(error.absolute_path)
    field = _field(error)
    kind = error.validator
    if kind == "required":
        missing = re.findall(r"'([^']*)' is a required property", error.message)
        name = missing[0] if missing else "?"
        where = f"`{field}`" if path else "the document"
        return "E110", f"`{name}` is required in {where}", f"add `{name}:`", path, False
    if kind in ("additionalProperties", "unevaluatedProperties"):
        known = sorted(error.schema.get("properties", {}) if isinstance(error.schema, dict) else {})
        extra = sorted(set(error.instance) - set(known)) if isinstance(error.instance, dict) else []
        name = extra[0] if extra else "?"
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean `{close[0]}`?" if close else (
            "allowed keys: " + ", ".join(known) if known else "remove it"
        )
        parent = next((str(part) for part in reversed(path) if isinstance(part, str)), "")
        hint = _FOREIGN_KEYS.get((name, parent), hint)
        return "E113", f"unknown key `{name}` in `{field}`", hint, path + (name,), True
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        shown = json.dumps(error.instance, ensure_ascii=False, default=str)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return "E111", f"`{field}` must be {_article(str(expected))}, not {shown}", "", path, False
    if kind in ("enum", "const"):
        allowed = list(error.validator_value) if kind == "enum" else [error.validator_value]  # type: ignore[arg-type]
        listed = ", ".join(json.dumps(v) for v in allowed[:12])
        close = difflib.get_close_matches(str(error.instance), [str(v) for v in allowed], n=1)
        hint = f"did you mean {json.dumps(close[0])}?" if close else ""
        return "E112", f"`{field}` is {json.dumps(error.instance, default=str)}; expected one of {listed}", hint, path, False
    if kind == "pattern":
        return "E112", f"`{field}` value {json.dumps(error.instance, default=str)} does not match {error.validator_value}", "", path, False
    if kind in ("minItems", "minLength", "minProperties"):
        return "E112", f"`{field}` must not be empty", "", path, False
    if kind == "not":  # "must not be present" rules carry their reason in the description
        reason = error.schema.get("description") if isinstance(error.schema, dict) else None
        return "E100", f"`{field}` is not allowed here" + (f": {reason}" if reason else ""), "", path, True
    return "E100", f"`{field}`: {error.message}", "", path, False


# Keys of other capability dialects, which Naftiko has no construct for: what to write instead.
_FOREIGN_KEYS = {
    ("orchestration", "capability"): (
        "Naftiko has no `capability.orchestration`, nor `builtin.*` steps, `on_failure` or `${...}` "
        "expressions: orchestrate with `steps` (`call` and `lookup`) and `mappings` on an exposed "
        "operation or tool, or in an aggregate function (`capability.aggregates`)"),
    ("operationId", "tools"): (
        "a tool is `{name, description, call: <namespace>.<operation>}`; `operationId` is not Naftiko"),
    ("paths", "exposes"): (
        "a REST adapter lists `resources: [{path, operations: [{method, call: <namespace>.<operation>}]}]`; "
        "operation names under `paths` do not say the method or which inputs the route takes"),
}


def _article(kind: str) -> str:
    return ("an " if kind[:1] in "aeiou" else "a ") + kind


def _leaf(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    # Within a oneOf/anyOf, the branch error that went deepest names the real field.
    while error.context:
        error = max(error.context, key=lambda e: (len(e.absolute_path), e.validator != "required"))
    return error


def check_schema(doc: Document, resource: str = SCHEMA_RESOURCE, code: str | None = None) -> list[Diagnostic]:
    out = []
    for error in _validator(resource).iter_errors(doc.data):
        found, message, hint, path, at_key = _describe(_leaf(error))
        out.append(doc.diagnostic(path, code or found, message, hint=hint, key=at_key))
    return sorted(set(out))


def check_official(doc: Document) -> list[Diagnostic]:
    """`--strict`: the official alpha2 schema's rules, which most real capabilities break."""
    return [
        Diagnostic(d.path, d.line, d.column, Severity.ERROR, "S400",
                   f"official alpha2 schema: {d.message}", d.hint)
        for d in check_schema(doc, OFFICIAL_SCHEMA_RESOURCE, code="S400")
    ]


# --- the document, walked defensively (semantic rules also run on documents with schema errors)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class OperationRef:
    namespace: str
    name: str
    path: JsonPath  # to the consumed operation
    resource_path: JsonPath


def consumed_operations(data: Any) -> dict[str, list[OperationRef]]:
    """`namespace.name` -> every consumed operation with that address (more than one: ambiguous)."""
    index: dict[str, list[OperationRef]] = {}
    for ci, consumer in enumerate(_list(_dict(_dict(data).get("capability")).get("consumes"))):
        consumer = _dict(consumer)
        namespace = str(consumer.get("namespace", ""))
        for ri, resource in enumerate(_list(consumer.get("resources"))):
            for oi, operation in enumerate(_list(_dict(resource).get("operations"))):
                if isinstance(operation, dict) and "name" in operation:
                    ref = OperationRef(
                        namespace,
                        str(operation["name"]),
                        ("capability", "consumes", ci, "resources", ri, "operations", oi),
                        ("capability", "consumes", ci, "resources", ri),
                    )
                    index.setdefault(f"{namespace}.{ref.name}", []).append(ref)
    return index


def _strings(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, path + (i,))


def _adapters(data: Any) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    for ei, adapter in enumerate(_list(_dict(_dict(data).get("capability")).get("exposes"))):
        if isinstance(adapter, dict):
            yield ("capability", "exposes", ei), adapter


def _exposed_calls(data: Any) -> Iterator[tuple[JsonPath, dict[str, Any], dict[str, Any]]]:
    """(path to the exposed operation or tool, its mapping, its adapter)."""
    for base, adapter in _adapters(data):
        if adapter.get("type") == "rest":
            for ri, resource in enumerate(_list(adapter.get("resources"))):
                for oi, op in enumerate(_list(_dict(resource).get("operations"))):
                    if isinstance(op, dict):
                        yield base + ("resources", ri, "operations", oi), op, adapter
        elif adapter.get("type") == "mcp":
            for ti, tool in enumerate(_list(adapter.get("tools"))):
                if isinstance(tool, dict):
                    yield base + ("tools", ti), tool, adapter


def doc_get(data: Any, path: JsonPath) -> Any:
    for part in path:
        data = data[part]
    return data


# --- semantic rules -----------------------------------------------------------------------


class _Rules:
    def __init__(self, doc: Document):
        self.doc = doc
        self.data = doc.data
        self.out: list[Diagnostic] = []
        self.index = consumed_operations(self.data)
        self.capability = _dict(_dict(self.data).get("capability"))

    def report(self, path: JsonPath, code: str, message: str, hint: str = "",
               severity: Severity = Severity.ERROR, key: bool = False) -> None:
        self.out.append(self.doc.diagnostic(path, code, message, hint=hint, severity=severity, key=key))

    def run(self) -> list[Diagnostic]:
        self.duplicate_operations()
        self.duplicate_namespaces()
        self.consumed_paths()
        self.calls()
        self.duplicate_tools()
        self.variables()
        self.lint()
        return sorted(set(self.out))

    def duplicate_operations(self) -> None:
        for address, refs in sorted(self.index.items()):
            first = self.doc.position(refs[0].path)
            for dup in refs[1:]:
                self.report(dup.path + ("name",), "E102",
                            f"operation `{address}` is defined twice (first on line {first.line})",
                            "give each consumed operation of a namespace its own name")

    def duplicate_namespaces(self) -> None:
        seen: dict[str, tuple[JsonPath, str]] = {}  # namespace -> (where first, its kind)
        kinds: dict[tuple[str, str], JsonPath] = {}  # (namespace, kind) -> first of that kind
        entries: list[tuple[JsonPath, Any]] = [
            (("capability", "consumes", i), c) for i, c in enumerate(_list(self.capability.get("consumes")))]
        entries += list(_adapters(self.data))
        for path, entry in entries:
            namespace = _dict(entry).get("namespace")
            if not isinstance(namespace, str):
                continue
            kind = "consumes" if path[1] == "consumes" else f"{_dict(entry).get('type')} adapter"
            if (namespace, kind) in kinds:  # two consumed APIs, or two adapters of one kind
                first = self.doc.position(kinds[(namespace, kind)])
                self.report(path + ("namespace",), "E120",
                            f"namespace `{namespace}` is used twice (first on line {first.line})",
                            "namespaces name consumed APIs and adapters; each must be unique")
                continue
            kinds[(namespace, kind)] = path + ("namespace",)
            if namespace not in seen:
                seen[namespace] = (path + ("namespace",), kind)
                continue
            first = self.doc.position(seen[namespace][0])
            other = seen[namespace][1]
            if "consumes" in (kind, other):
                # a consumed API and an exposed adapter named alike: `call` names only consumed
                # operations and `<namespace>.x` only inputs, so each use has one meaning
                self.report(path + ("namespace",), "W354",
                            f"namespace `{namespace}` names a consumed API and an exposed adapter (first on line "
                            f"{first.line}); `call: {namespace}.<operation>` is the consumed API, and "
                            f"`{namespace}.<input>` in `with` the caller's input",
                            "give the exposed adapter a namespace of its own", WARN)
            else:
                # an adapter's namespace only names its own callers' inputs (`{{ns.x}}`), which
                # each adapter reads in its own operations and tools: nothing can mean the other
                self.report(path + ("namespace",), "W313",
                            f"namespace `{namespace}` of this {kind} is also the namespace of the {other} "
                            f"on line {first.line}; in each adapter it names that adapter's own inputs",
                            "give each adapter its own namespace", WARN)

    def consumed_paths(self) -> None:
        for ci, consumer in enumerate(_list(self.capability.get("consumes"))):
            consumer = _dict(consumer)
            base = ("capability", "consumes", ci)
            uri = consumer.get("baseUri")
            if isinstance(uri, str):
                if uri.endswith("/"):
                    self.report(base + ("baseUri",), "W203", "`baseUri` ends with `/`",
                                "drop the trailing slash; resource paths start with `/`", WARN)
                if "?" in uri or "#" in uri:
                    self.report(base + ("baseUri",), "E104",
                                "`baseUri` must not contain a query string or fragment",
                                "declare query values as `in: query` input parameters")
            shared = [p for p in _list(consumer.get("inputParameters")) if isinstance(p, dict)]
            for ri, resource in enumerate(_list(consumer.get("resources"))):
                resource = _dict(resource)
                rpath = base + ("resources", ri)
                raw = resource.get("path")
                if not isinstance(raw, str):
                    continue
                if "?" in raw:
                    # a fixed `?k=v` is read as fixed query parameters (dialect.py, W352); what
                    # is left has a placeholder, a fragment or a name declared otherwise
                    query = raw.partition("?")[2]
                    names = [pair.partition("=")[0] for pair in query.split("&") if pair]
                    self.report(rpath + ("path",), "E104", "a resource path must not contain a query string",
                                f"remove `?{query}` from the path and declare "
                                + (", ".join(f"`{{name: {n}, in: query}}`" for n in names) or "the query values")
                                + " under the operations' inputParameters (a `{{placeholder}}` there is the "
                                "caller's value, not a fixed one)")
                for oi, op in enumerate(_list(resource.get("operations"))):
                    # an operation-level `path` continues the resource's, placeholders included
                    full = raw if not isinstance(_dict(op).get("path"), str) else raw.rstrip("/") + "/" + _dict(op)["path"]
                    placeholders = set(_PLACEHOLDER.findall(full))
                    params = shared + [p for p in _list(_dict(op).get("inputParameters")) if isinstance(p, dict)]
                    declared = {str(p.get("name")) for p in params if p.get("in") == "path"}
                    opath = rpath + ("operations", oi)
                    for name in sorted(placeholders - declared):
                        self.report(rpath + ("path",), "W211",
                                    f"path placeholder `{{{name}}}` has no `in: path` parameter in `{_dict(op).get('name')}`; "
                                    "it becomes a required string argument",
                                    f"declare it: inputParameters: [{{name: {name}, in: path}}]", WARN)
                    for i, p in enumerate(_list(_dict(op).get("inputParameters"))):
                        if isinstance(p, dict) and p.get("in") == "path" and str(p.get("name")) not in placeholders:
                            self.report(opath + ("inputParameters", i, "name"), "E122",
                                        f"path parameter `{p.get('name')}` has no `{{{p.get('name')}}}` placeholder in `{full}`",
                                        "add the placeholder to the resource path, or change `in`")

    def call_hint(self, call: str) -> str:
        """The closest consumed operations to an unknown `call`: by the whole name, then by the
        operation name alone (the namespace is often the part that is wrong). A call naming an
        exposed tool or operation of this capability says so: only consumed operations are
        called."""
        if call.partition(".")[0] == "orchestration" and "orchestration" in self.capability:
            return ("it names an entry of `capability.orchestration`, which Naftiko does not have: "
                    "write the steps on the exposed operation or tool itself")
        if not self.index:
            return "declare the operation under consumes"
        known = sorted(self.index)
        close = difflib.get_close_matches(call, known, n=3, cutoff=0.6)
        name = call.rpartition(".")[2]
        by_name = {k.rpartition(".")[2]: k for k in known}
        for match in difflib.get_close_matches(name, list(by_name), n=3, cutoff=0.5):
            if by_name[match] not in close:
                close.append(by_name[match])
        exposed = {str(_dict(op).get("name")) for _path, op, _adapter in _exposed_calls(self.data)}
        prefix = (f"`{call}` is an exposed tool or operation of this capability, not a consumed one; "
                  if call in exposed else "")
        if len(close) == 1:
            return prefix + f"did you mean `{close[0]}`?"
        if close:
            return prefix + "closest consumed operations: " + ", ".join(f"`{c}`" for c in close[:3])
        return prefix + "known operations: " + ", ".join(known[:10]) + (", …" if len(known) > 10 else "")

    def calls(self) -> None:
        for path, op, _adapter in _exposed_calls(self.data):
            call = op.get("call")
            if not isinstance(call, str):
                continue
            if call not in self.index:
                hint = self.call_hint(call)
                self.report(path + ("call",), "E101", f"`call: {call}` names no consumed operation", hint)
                continue
            target = _dict(doc_get(self.data, self.index[call][0].path))
            accepted = {str(_dict(p).get("name")) for p in _list(target.get("inputParameters"))}
            ci = int(self.index[call][0].path[2])
            accepted |= {str(_dict(p).get("name")) for p in
                         _list(_dict(_list(self.capability.get("consumes"))[ci]).get("inputParameters"))}
            # a `with` key may also fill a path placeholder or a body template's `{{key}}`
            resource = _dict(doc_get(self.data, self.index[call][0].path[:-2]))
            accepted |= set(_PLACEHOLDER.findall(str(resource.get("path", "")) + "/" + str(target.get("path", ""))))
            # a parameter `value: '{{x}}'` no bind declares may be filled by a caller's `with: {x: ...}`
            for p in _list(target.get("inputParameters")):
                bare = whole_variable(_dict(p).get("value"))
                if bare is not None and "." not in bare:
                    accepted.add(bare)
            if "body" in target:
                kind, data = body_data(target["body"])
                callers = caller_namespaces(self.data)
                for text in body_placeholders(data) if kind == "json" else []:
                    accepted.add(caller_input(text, callers) or text)
                if kind == "whole":
                    accepted.add("body")  # `{type: json}` alone: the caller's whole body
            for key in _dict(op.get("with")):
                if key in accepted:
                    continue
                close = difflib.get_close_matches(str(key), sorted(accepted), n=1)
                self.report(path + ("with", key), "E103", f"`with: {key}` sets no input parameter of `{call}`",
                            f"did you mean `{close[0]}`?" if close else (
                                "its parameters: " + ", ".join(sorted(accepted)) if accepted
                                else f"`{call}` takes no parameters: declare `{key}` under its inputParameters "
                                     f"(`{{name: {key}, in: query}}`), or write `{{{{{key}}}}}` in its path, "
                                     "or remove the `with` entry"), key=True)

    def duplicate_tools(self) -> None:
        # a REST route declared twice never gets here: the dialect serves its first declaration (W311)
        for base, adapter in _adapters(self.data):
            if adapter.get("type") == "mcp":
                seen: dict[str, JsonPath] = {}
                for ti, tool in enumerate(_list(adapter.get("tools"))):
                    name = _dict(tool).get("name")
                    if not isinstance(name, str):
                        continue
                    path = base + ("tools", ti, "name")
                    if name in seen:
                        first = self.doc.position(seen[name])
                        self.report(path, "E109", f"MCP tool `{name}` is declared twice (first on line {first.line})",
                                    "rename one of them")
                    else:
                        seen[name] = path

    def variables(self) -> None:
        binds = Binds.from_data(_dict(self.data).get("binds"))
        used: set[tuple[str, str]] = set()
        # a `with` value read from the environment, and a parameter `value: '{{x}}'` filled by
        # a caller's input x (docs/semantics.md, "More variations as written")
        sites = call_sites(self.data)
        from_environment = {site.path + ("with", key) for site in sites for key, value in site.with_.items()
                            if environment_reference(value, binds, site.inputs) is not None}
        named: dict[str, set[str]] = {}
        for site in sites:
            named.setdefault(site.address, set()).update(site.inputs | set(site.with_))
        from_callers = self.caller_filled(binds, named)
        for path, text in _strings(self.capability, ("capability",)):
            if path in from_callers:
                continue
            if path[-1] == "path" or ("with" in path and path not in from_environment) \
                    or path[1:4:2] == ("exposes", "prompts"):
                # `{{x}}` there names a path parameter, a caller's input or a prompt argument
                continue
            if "outputParameters" in path and "consumes" not in path:
                continue  # an exposed output's value renders the caller's inputs (E151 otherwise)
            for ref in references(text):
                env, declared = binds.resolve(ref)
                if declared:
                    for ns, keys in binds.by_namespace.items():
                        if ref.key in keys and (not ref.namespace or ns == ref.namespace):
                            used.add((ns, ref.key))
                    continue
                if ref.namespace and ref.namespace not in binds.by_namespace and ref.namespace != "env":
                    continue  # `{{rest.x}}`-style references name inputs, not variables
                if not ref.namespace and "consumes" in path and "body" in path:
                    continue  # a bare `{{x}}` in a body template that no bind declares is the input x
                namespace = ref.namespace or "env"
                if namespace in binds.by_namespace:
                    hint = f"add `{ref.key}: {env}` to the keys of the `{namespace}` bind"
                else:
                    hint = f"declare it: binds: [{{namespace: {namespace}, keys: {{{ref.key}: {env}}}}}]"
                self.report(path, "W201",
                            f"`{{{{{ref.text}}}}}` is not declared under `binds`; it is read from the environment variable {env}",
                            hint, WARN)
        binds_list = _list(_dict(self.data).get("binds"))
        for ns, key in binds.declared():
            if (ns, key) in used:
                continue
            index = next((i for i, b in enumerate(binds_list) if _dict(b).get("namespace") == ns), 0)
            self.report(("binds", index, "keys", key), "W202",
                        f"bind key `{key}` is declared but never used; the generated code does not require it",
                        "remove it, or reference it as {{" + key + "}}", WARN, key=True)

    def caller_filled(self, binds: Binds, named: dict[str, set[str]]) -> set[JsonPath]:
        """The consumed parameters' `value: '{{x}}'` (x declared by no bind) that a caller of
        their operation fills, having an input or a `with` key `x`."""
        out: set[JsonPath] = set()
        for ci, consumer in enumerate(_list(self.capability.get("consumes"))):
            consumer = _dict(consumer)
            base: JsonPath = ("capability", "consumes", ci)
            for ri, resource in enumerate(_list(consumer.get("resources"))):
                for oi, op in enumerate(_list(_dict(resource).get("operations"))):
                    callers = named.get(f"{consumer.get('namespace')}.{_dict(op).get('name')}", set())
                    opath = base + ("resources", ri, "operations", oi)
                    for where, params in ((base, consumer.get("inputParameters")),
                                          (opath, _dict(op).get("inputParameters"))):
                        for pi, p in enumerate(_list(params)):
                            bare = whole_variable(_dict(p).get("value"))
                            if bare is not None and "." not in bare and not binds.declares(bare) and bare in callers:
                                out.add(where + ("inputParameters", pi, "value"))
        return out

    def lint(self) -> None:
        for ci, consumer in enumerate(_list(self.capability.get("consumes"))):
            for ri, resource in enumerate(_list(_dict(consumer).get("resources"))):
                for oi, op in enumerate(_list(_dict(resource).get("operations"))):
                    if isinstance(op, dict) and not op.get("description"):
                        self.report(("capability", "consumes", ci, "resources", ri, "operations", oi), "W204",
                                    f"consumed operation `{op.get('name')}` has no description",
                                    "describe it: generated docstrings and tool descriptions use it", WARN)
            auth = _dict(_dict(consumer).get("authentication"))
            if str(auth.get("type", "")).lower() == "oauth2":
                for key in ("tokenUrl", "tokenEndpoint", "authorizationServerUri", "authorizationUrl"):
                    url = auth.get(key)
                    if isinstance(url, str) and not url.startswith("https://") and "{{" not in url:
                        self.report(("capability", "consumes", ci, "authentication", key), "W205",
                                    f"OAuth2 `{key}` is not https: tokens would cross the network in clear",
                                    "use an https URL", WARN)
        for path, op, adapter in _exposed_calls(self.data):
            if not op.get("description"):
                what = "MCP tool" if adapter.get("type") == "mcp" else "REST operation"
                self.report(path, "W204", f"{what} `{op.get('name', '')}` has no description",
                            "describe it: MCP clients show the description to the model", WARN)
        for path, text in _strings(_dict(self.data), ()):
            if path and path[-1] == "description" and _DANGEROUS.search(text):
                self.report(path, "W206", "description contains `<script` or `eval(`",
                            "descriptions are shown to people and models; remove markup and code", WARN)


def check_semantics(doc: Document) -> list[Diagnostic]:
    return _Rules(doc).run()


def validate(doc: Document, *, strict: bool = False) -> list[Diagnostic]:
    """Every problem at once: schema errors, and the semantic rules (which are written to cope
    with a document of the wrong shape). `strict` adds the official schema's rules."""
    problems = check_schema(doc) + check_semantics(doc)
    if strict:
        problems += check_official(doc)
    return sorted(set(problems))
