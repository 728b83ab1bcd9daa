"""The `{{...}}` variables of the Naftiko dialect, and how they resolve to environment variables.

Intended semantics (docs/semantics.md): `{{env.X}}` is the environment variable X; `{{KEY}}` and
`{{ns.KEY}}` name a key declared under `binds`, whose value names the environment variable (or,
for a bind with `location`, the key in that file, overridden by the variable KEY); a variable no
bind declares still resolves from the environment of the same name, with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .model import Template, TemplatePart

# A path placeholder: `{x}` (OpenAPI style) or `{{x}}` (the dialect's), the same parameter.
PATH_PLACEHOLDER = re.compile(r"\{\{?\s*([^{}\s]+)\s*\}?\}")
VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")


@dataclass(frozen=True)
class Reference:
    text: str  # as written between the braces
    namespace: str  # "" for a bare {{KEY}}
    key: str


def references(value: str) -> list[Reference]:
    out = []
    for match in VARIABLE.finditer(value):
        text = match.group(1)
        namespace, _, key = text.rpartition(".")
        out.append(Reference(text, namespace, key))
    return out


@dataclass(frozen=True)
class Binds:
    """`binds` as a lookup: (namespace, key) -> environment variable name."""

    by_namespace: dict[str, dict[str, str]]
    located: frozenset[str]  # namespaces whose values come from a file (`location`)

    @classmethod
    def from_data(cls, data: Any) -> Binds:
        by_namespace: dict[str, dict[str, str]] = {}
        located = set()
        for bind in data if isinstance(data, list) else []:
            if not isinstance(bind, dict):
                continue
            namespace = str(bind.get("namespace", ""))
            raw = bind.get("keys")
            keys = raw if isinstance(raw, dict) else {}
            by_namespace.setdefault(namespace, {}).update({str(k): str(v) for k, v in keys.items()})
            if bind.get("location"):
                located.add(namespace)
        return cls(by_namespace, frozenset(located))

    def resolve(self, ref: Reference) -> tuple[str, bool]:
        """The environment variable for `ref`, and whether a bind declares it. A key of a bind
        read from a file (`location`) is the variable named like the key itself: it overrides
        the file's value, which the runtime reads when the variable is not set."""
        if ref.namespace:
            keys = self.by_namespace.get(ref.namespace)
            if keys is not None and ref.key in keys:
                return self._variable(ref.namespace, ref.key), True
            return ref.key, False
        for namespace, keys in self.by_namespace.items():
            if ref.key in keys:
                return self._variable(namespace, ref.key), True
        return ref.key, False

    def declares(self, key: str) -> bool:
        """Whether some bind declares the key `key`."""
        return any(key in keys for keys in self.by_namespace.values())

    def _variable(self, namespace: str, key: str) -> str:
        return key if namespace in self.located else self.by_namespace[namespace][key]

    def declared(self) -> list[tuple[str, str]]:
        return sorted((ns, key) for ns, keys in self.by_namespace.items() for key in keys)


def parse(value: str, binds: Binds) -> Template:
    """Split `value` into literal text and environment-variable parts."""
    parts: list[TemplatePart] = []
    last = 0
    for match in VARIABLE.finditer(value):
        if match.start() > last:
            parts.append(TemplatePart(literal=value[last : match.start()]))
        text = match.group(1)
        namespace, _, key = text.rpartition(".")
        env, _declared = binds.resolve(Reference(text, namespace, key))
        parts.append(TemplatePart(env=env))
        last = match.end()
    if last < len(value) or not parts:
        parts.append(TemplatePart(literal=value[last:]))
    return Template(tuple(parts))


# `https://{store}.example.com`: an OpenAPI server variable, one brace on each side.
SERVER_VARIABLE = re.compile(r"(?<!\{)\{([^{}\s]+)\}(?!\})")
# Every `{{...}}` as written, for the placeholders of a body template.
ANY_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def caller_namespaces(data: Any) -> frozenset[str]:
    """The prefixes that name the caller's inputs in a consumed template: `tools.x` and
    `rest.x` (the corpus convention) and `<namespace>.x` for every exposed adapter."""
    names = {"tools", "rest"}
    capability = data.get("capability") if isinstance(data, dict) else None
    exposes = capability.get("exposes") if isinstance(capability, dict) else None
    for adapter in exposes if isinstance(exposes, list) else []:
        if isinstance(adapter, dict) and isinstance(adapter.get("namespace"), str):
            names.add(adapter["namespace"])
    return frozenset(names)


def caller_input(text: str, callers: frozenset[str]) -> str | None:
    """`tools.x`, `rest.x` or `<exposed namespace>.x` -> `x`; anything else -> None."""
    prefix, dot, key = text.partition(".")
    return key if dot and key and prefix in callers else None


def quote_bare_placeholders(text: str) -> str:
    """JSON text with Mustache values (`"crewIds": {{crewIds}}`, as the reference tutorial
    writes them) -> JSON: a placeholder outside any string becomes the whole string
    `"{{crewIds}}"`, which a body template fills with the value itself, its JSON type kept
    (docs/semantics.md, Request bodies). Placeholders inside strings are left as they are."""
    out: list[str] = []
    i, in_string = 0, False
    while i < len(text):
        char = text[i]
        if in_string:
            if char == "\\":
                out.append(text[i : i + 2])
                i += 2
                continue
            in_string = char != '"'
        elif char == '"':
            in_string = True
        elif text.startswith("{{", i):
            end = text.find("}}", i + 2)
            if end != -1:
                out.append('"' + text[i : end + 2] + '"')
                i = end + 2
                continue
        out.append(char)
        i += 1
    return "".join(out)


def body_data(body: Any) -> tuple[str, Any]:
    """What a consumed operation's `body` says: ("json", data) for a JSON template (a mapping
    `{type: json, data}`, a JSON string, or a mapping without `type`/`data` taken as the data),
    ("whole", None) for `{type: json}` without data (the caller sends the whole body),
    ("type", name) for another body type, ("text", None) for a string that is not JSON."""
    import json

    if isinstance(body, str):
        try:
            data = json.loads(body)
        except ValueError:
            try:
                data = json.loads(quote_bare_placeholders(body))
            except ValueError:
                return "text", None
            if not isinstance(data, (dict, list)):
                return "text", None  # a lone `{{x}}` is text to render, not a JSON document
        return "json", data
    if isinstance(body, dict) and body and set(body) <= {"type", "data"}:
        kind = str(body.get("type", "json"))
        if kind != "json":
            return "type", kind
        return ("json", body["data"]) if "data" in body else ("whole", None)
    return "json", body


def body_placeholders(data: Any) -> list[str]:
    """Every `{{...}}` in the strings of a body template, in order (keys are not templates)."""
    found: list[str] = []
    if isinstance(data, dict):
        for value in data.values():
            found += body_placeholders(value)
    elif isinstance(data, list):
        for value in data:
            found += body_placeholders(value)
    elif isinstance(data, str):
        found += [m.group(1) for m in ANY_VARIABLE.finditer(data)]
    return found


# --- a whole `{{x}}`: the caller's input or the environment (docs/semantics.md, "More
# variations as written": `{{x}}` in `with` and in a consumed parameter's `value`) ---------

WHOLE_VARIABLE = re.compile(r"\s*\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}\s*")
_SECRET_WORDS = re.compile(r"token|secret|passw(or)?d|api[_-]?key|credential", re.IGNORECASE)


def credential_like(name: str) -> bool:
    """A name that reads as an environment variable or a secret: `CORTEX_XDR_API_KEY` (upper
    case, digits and `_`), or one that says token, secret, password, API key or credential."""
    return bool(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) or _SECRET_WORDS.search(name))


def whole_variable(value: Any) -> str | None:
    """The text between the braces of a value that is exactly one `{{...}}`; else None."""
    match = WHOLE_VARIABLE.fullmatch(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def environment_reference(value: Any, binds: Binds, inputs: set[str] | frozenset[str]) -> str | None:
    """The variable a `with` value that is exactly one `{{...}}` reads from the environment, as
    written between the braces; None when it names the caller's input (or is no variable).

    `{{env.X}}` and `{{ns.KEY}}` of a bind are the environment; a bare `{{x}}` is the caller's
    input when the caller has an input `x`, else the environment when a bind declares `x` or
    when `x` is credential-like (`{{CORTEX_XDR_API_KEY}}`), else the caller's input."""
    text = whole_variable(value)
    if text is None:
        return None
    namespace, _, key = text.rpartition(".")
    if namespace:
        keys = binds.by_namespace.get(namespace)
        return text if namespace == "env" or (keys is not None and key in keys) else None
    if text in inputs:
        return None
    declared = any(text in keys for keys in binds.by_namespace.values())
    return text if declared or credential_like(text) else None


def declared_inputs(op: Any, resource: Any = None) -> set[str]:
    """The inputs an exposed operation or tool declares: its `inputParameters`, its resource's,
    the path variables of a REST resource, and the properties of a tool's `inputSchema`."""
    names: set[str] = set()
    for holder in (op, resource):
        if not isinstance(holder, dict):
            continue
        for p in holder.get("inputParameters") or []:
            if isinstance(p, dict) and isinstance(p.get("name"), str):
                names.add(p["name"])
    if isinstance(resource, dict) and isinstance(resource.get("path"), str):
        names.update(PATH_PLACEHOLDER.findall(resource["path"]))
    schema = op.get("inputSchema") if isinstance(op, dict) else None
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        names.update(str(k) for k in schema["properties"])
    return names


@dataclass(frozen=True)
class CallSite:
    """Something that calls a consumed operation: an exposed operation or tool, a step, an
    aggregate function or an MCP resource, with its `with` and the inputs its caller has."""

    address: str  # `namespace.operation` called
    with_: dict[str, Any]
    path: tuple[Any, ...]  # to the mapping that holds `call` and `with`
    inputs: frozenset[str]


def call_sites(data: Any) -> list[CallSite]:
    """Every place that calls a consumed operation, in document order."""
    out: list[CallSite] = []
    capability = data.get("capability") if isinstance(data, dict) else None
    if not isinstance(capability, dict):
        return out

    def add(holder: Any, path: tuple[Any, ...], inputs: set[str]) -> None:
        if not isinstance(holder, dict):
            return
        if isinstance(holder.get("call"), str):
            mapping = holder.get("with")
            out.append(CallSite(holder["call"], mapping if isinstance(mapping, dict) else {}, path,
                                frozenset(inputs)))
        for si, step in enumerate(holder.get("steps") or [] if isinstance(holder.get("steps"), list) else []):
            add(step, path + ("steps", si), inputs)

    functions: dict[str, set[str]] = {}
    for ai, aggregate in enumerate(capability.get("aggregates") or [] if isinstance(capability.get("aggregates"), list) else []):
        for fi, function in enumerate(aggregate.get("functions") or [] if isinstance(aggregate, dict) else []):
            if isinstance(function, dict):
                inputs = declared_inputs(function)
                functions[f"{aggregate.get('namespace')}.{function.get('name')}"] = inputs
                add(function, ("capability", "aggregates", ai, "functions", fi), inputs)
    exposes = capability.get("exposes")
    for ei, adapter in enumerate(exposes if isinstance(exposes, list) else []):
        if not isinstance(adapter, dict):
            continue
        base = ("capability", "exposes", ei)
        for ri, resource in enumerate(adapter.get("resources") or [] if isinstance(adapter.get("resources"), list) else []):
            if not isinstance(resource, dict):
                continue
            if adapter.get("type") == "mcp":  # a resource's inputs are its URI variables
                add(resource, base + ("resources", ri), set(re.findall(r"\{([^{}]+)\}", str(resource.get("uri", "")))))
                continue
            for oi, op in enumerate(resource.get("operations") or [] if isinstance(resource.get("operations"), list) else []):
                if isinstance(op, dict):
                    inputs = declared_inputs(op, resource) | functions.get(str(op.get("ref")), set())
                    add(op, base + ("resources", ri, "operations", oi), inputs)
        for ti, tool in enumerate(adapter.get("tools") or [] if isinstance(adapter.get("tools"), list) else []):
            if isinstance(tool, dict):
                add(tool, base + ("tools", ti), declared_inputs(tool) | functions.get(str(tool.get("ref")), set()))
    return out
