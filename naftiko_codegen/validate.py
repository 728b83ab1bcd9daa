"""Stage 2: check a loaded spec against our schema of the dialect, then against the semantic
rules that cross-reference its parts. Never raises on bad input: returns diagnostics."""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema

from .diagnostics import Diagnostic, Severity
from .load import Document, JsonPath
from .templating import Binds, references

SCHEMA_RESOURCE = "capability.schema.json"


@functools.cache
def schema_validator() -> jsonschema.protocols.Validator:
    text = resources.files("naftiko_codegen.schema").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """A message and a hint for one schema error, in the user's terms."""
    where = error.absolute_path
    field = str(where[-1]) if where else "the document"
    if error.validator == "required":
        return error.message.replace("is a required property", f"is required in `{field}`"), ""
    if error.validator == "additionalProperties":
        extra = sorted(
            set(error.instance) - set(error.schema.get("properties", {}))
            if isinstance(error.instance, dict)
            else []
        )
        known = sorted(error.schema.get("properties", {}))
        hint = ""
        if extra:
            close = difflib.get_close_matches(extra[0], known, n=1)
            hint = f"did you mean `{close[0]}`?" if close else "allowed keys: " + ", ".join(known)
        return f"unknown key(s) {', '.join(f'`{k}`' for k in extra)} in `{field}`", hint
    if error.validator == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value)
        return f"`{field}` is {json.dumps(error.instance)}; expected one of {allowed}", ""
    if error.validator == "type":
        return f"`{field}` must be of type {error.validator_value}, not {json.dumps(error.instance)[:60]}", ""
    return f"`{field}`: {error.message}", ""


def _unknown_key_path(error: jsonschema.ValidationError) -> JsonPath:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        if extra:
            return tuple(error.absolute_path) + (extra[0],)
    return tuple(error.absolute_path)


def check_schema(doc: Document) -> list[Diagnostic]:
    out = []
    for error in schema_validator().iter_errors(doc.data):
        # Within a oneOf/anyOf, report the branch error that went deepest: it names the real field.
        leaf = error
        while leaf.context:
            leaf = max(leaf.context, key=lambda e: len(e.absolute_path))
        message, hint = _describe(leaf)
        path = _unknown_key_path(leaf)
        out.append(
            doc.diagnostic(path, "E100", message, hint=hint, key=leaf.validator == "additionalProperties")
        )
    return sorted(set(out))


# --- semantic rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class OperationRef:
    namespace: str
    name: str
    path: JsonPath  # to the consumed operation
    resource_path: JsonPath


def consumed_operations(data: dict[str, Any]) -> dict[str, list[OperationRef]]:
    """`namespace.name` -> every consumed operation with that address (more than one: ambiguous)."""
    index: dict[str, list[OperationRef]] = {}
    consumes = data.get("capability", {}).get("consumes", []) or []
    for ci, consumer in enumerate(consumes):
        if not isinstance(consumer, dict):
            continue
        namespace = str(consumer.get("namespace", ""))
        for ri, resource in enumerate(consumer.get("resources", []) or []):
            if not isinstance(resource, dict):
                continue
            for oi, operation in enumerate(resource.get("operations", []) or []):
                if isinstance(operation, dict) and "name" in operation:
                    ref = OperationRef(
                        namespace,
                        str(operation["name"]),
                        ("capability", "consumes", ci, "resources", ri, "operations", oi),
                        ("capability", "consumes", ci, "resources", ri),
                    )
                    index.setdefault(f"{namespace}.{ref.name}", []).append(ref)
    return index


def _strings(value: Any, path: JsonPath):
    """Every string in `value` with its path (for template variables)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, path + (i,))


def _exposed_calls(data: dict[str, Any]):
    """(path to the exposed operation or tool, its mapping, adapter type, adapter namespace)."""
    for ei, adapter in enumerate(data.get("capability", {}).get("exposes", []) or []):
        if not isinstance(adapter, dict):
            continue
        kind = adapter.get("type")
        if kind == "rest":
            for ri, resource in enumerate(adapter.get("resources", []) or []):
                for oi, op in enumerate((resource or {}).get("operations", []) or []):
                    if isinstance(op, dict):
                        yield ("capability", "exposes", ei, "resources", ri, "operations", oi), op, adapter
        elif kind == "mcp":
            for ti, tool in enumerate(adapter.get("tools", []) or []):
                if isinstance(tool, dict):
                    yield ("capability", "exposes", ei, "tools", ti), tool, adapter


def check_semantics(doc: Document) -> list[Diagnostic]:
    data = doc.data
    out: list[Diagnostic] = []
    index = consumed_operations(data)

    for address, refs in sorted(index.items()):
        for dup in refs[1:]:
            first = doc.position(refs[0].path)
            out.append(
                doc.diagnostic(
                    dup.path + ("name",), "E102",
                    f"operation `{address}` is defined twice (first on line {first.line})",
                    hint="give each consumed operation of a namespace its own name",
                )
            )

    for path, op, _adapter in _exposed_calls(data):
        call = op.get("call")
        if not isinstance(call, str):
            continue
        if call not in index:
            close = difflib.get_close_matches(call, list(index), n=1)
            hint = f"did you mean `{close[0]}`?" if close else (
                "known operations: " + ", ".join(sorted(index)) if index else "declare the operation under consumes"
            )
            out.append(
                doc.diagnostic(path + ("call",), "E101", f"`call: {call}` names no consumed operation", hint=hint)
            )
            continue
        target = doc_get(data, index[call][0].path)
        accepted = {
            str(p.get("name")) for p in target.get("inputParameters", []) or [] if isinstance(p, dict)
        }
        mapping = op.get("with") or {}
        if isinstance(mapping, dict):
            for key in mapping:
                if key not in accepted:
                    close = difflib.get_close_matches(str(key), sorted(accepted), n=1)
                    out.append(
                        doc.diagnostic(
                            path + ("with", key), "E103",
                            f"`with: {key}` sets no input parameter of `{call}`",
                            hint=f"did you mean `{close[0]}`?" if close else (
                                "its parameters: " + ", ".join(sorted(accepted)) if accepted else f"`{call}` takes no parameters"
                            ),
                            key=True,
                        )
                    )

    binds = Binds.from_data(data.get("binds"))
    used: set[tuple[str, str]] = set()
    for path, text in _strings(data.get("capability", {}), ("capability",)):
        for ref in references(text):
            env, declared = binds.resolve(ref)
            if declared:
                for ns, keys in binds.by_namespace.items():
                    if ref.key in keys and (not ref.namespace or ns == ref.namespace):
                        used.add((ns, ref.key))
                continue
            namespace = ref.namespace or "env"
            if namespace in binds.by_namespace:
                bind_hint = f"add `{ref.key}: {env}` to the keys of the `{namespace}` bind"
            else:
                bind_hint = f"declare it: binds: [{{namespace: {namespace}, keys: {{{ref.key}: {env}}}}}]"
            out.append(
                doc.diagnostic(
                    path, "W201",
                    f"`{{{{{ref.text}}}}}` is not declared under `binds`; it is read from the environment variable {env}",
                    hint=bind_hint, severity=Severity.WARNING,
                )
            )
    for ns, key in binds.declared():
        if (ns, key) not in used:
            bind_index = next(
                (i for i, b in enumerate(data.get("binds") or []) if isinstance(b, dict) and b.get("namespace") == ns),
                0,
            )
            out.append(
                doc.diagnostic(
                    ("binds", bind_index, "keys", key), "W202",
                    f"bind key `{key}` is declared but never used; the generated code does not require it",
                    hint="remove it, or reference it as {{" + key + "}}",
                    severity=Severity.WARNING, key=True,
                )
            )
    return sorted(set(out))


def doc_get(data: Any, path: JsonPath) -> Any:
    for part in path:
        data = data[part]
    return data


def validate(doc: Document) -> list[Diagnostic]:
    """Schema first; semantic rules only on a document whose shape is right."""
    problems = check_schema(doc)
    if any(d.is_error for d in problems):
        return problems
    return problems + check_semantics(doc)
