"""Stage 3: a validated document -> the typed model. Every decision about the generated code is
made here (URL joining, `with` resolution, names, schemas); templates only lay it out.

Constructs the generator cannot yet turn into correct code are refused with a diagnostic that
names the construct and where it is, never dropped in silence.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from . import __version__
from .diagnostics import Diagnosed, Diagnostic, Severity, has_errors
from .load import Document, JsonPath
from .model import (
    Argument,
    Auth,
    Call,
    Capability,
    ConsumedOperation,
    Consumer,
    McpAdapter,
    McpTool,
    Output,
    Parameter,
    RestAdapter,
    RestInput,
    RestRoute,
    Step,
    Steps,
    Template,
    route_variable,
)
from .names import dedupe, env_prefix, mcp_tool_name_ok, package_name, python_identifier
from .outputs import PathError, parse_path, scalar_schema
from .templating import PATH_PLACEHOLDER as _PLACEHOLDER
from .templating import Binds, parse

_RAW_FORMATS = ("json", "xml", "csv", "text", "binary")
_RAW_FORMAT_HINTS = {
    "yaml": "generated packages read no YAML (the standard library has no parser for it); "
            "ask the API for JSON",
}
_SCALAR_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
_DEFAULT_HOST = "127.0.0.1"
FREE_OBJECT = {"type": "object", "additionalProperties": True}


class _Builder:
    def __init__(self, doc: Document, package: str, source: str):
        self.doc = doc
        self.source = source
        self.data: dict[str, Any] = doc.data
        self.package = package
        self.diagnostics: list[Diagnostic] = []
        self.binds = Binds.from_data(self.data.get("binds"))
        self.operations: dict[str, ConsumedOperation] = {}  # "ns.name" -> model
        self.formats: dict[str, str] = {}  # "ns.name" -> outputRawFormat, when not json
        self.projections: dict[str, tuple[list[Any], JsonPath]] = {}  # "ns.name" -> consumed outputs
        self.functions: dict[str, tuple[dict[str, Any], JsonPath, str]] = {}  # "ns.fn" -> (spec, path, ns)
        for ai, aggregate in enumerate(self.data.get("capability", {}).get("aggregates", []) or []):
            for fi, function in enumerate(aggregate.get("functions", []) or []):
                if isinstance(function, dict) and function.get("name"):
                    key = f"{aggregate.get('namespace')}.{function['name']}"
                    self.functions.setdefault(key, (function, ("capability", "aggregates", ai, "functions", fi),
                                                    str(aggregate.get("namespace"))))

    def unsupported(self, path: JsonPath, what: str, hint: str = "") -> None:
        self.diagnostics.append(
            self.doc.diagnostic(path, "E300", f"{what} is not supported by naftiko-gen {__version__}", hint=hint)
        )

    def error(self, path: JsonPath, code: str, message: str, hint: str = "") -> None:
        self.diagnostics.append(self.doc.diagnostic(path, code, message, hint=hint))

    # --- consumes ---------------------------------------------------------------------------

    def template(self, value: Any) -> Template:
        return parse(str(value), self.binds)

    def parameter_schema(self, spec: dict[str, Any], location: str) -> dict[str, Any]:
        declared = spec.get("type")
        schema: dict[str, Any] = {}
        if isinstance(declared, str) and declared in _SCALAR_TYPES:
            schema["type"] = declared
        elif location in ("path", "query", "header", "cookie"):
            schema["type"] = "string"
        for key in ("enum", "format", "minimum", "maximum", "minLength", "maxLength", "pattern", "items"):
            if key in spec:
                schema[key] = spec[key]
        if isinstance(spec.get("description"), str) and spec["description"]:
            schema["description"] = spec["description"]
        if schema.get("type") == "object" and "properties" not in spec:
            schema["additionalProperties"] = True  # free-form: say so, clients flag `{}` as "any"
        return schema

    def parameters(self, specs: list[Any], base: JsonPath, path_vars: list[str]) -> list[Parameter]:
        params: list[Parameter] = []
        names: list[str] = []
        for i, spec in enumerate(specs):
            location = spec.get("in", "query")
            if location == "environment":
                self.unsupported(base + (i, "in"), "`in: environment` on a consumed parameter")
                continue
            name = str(spec["name"])
            fixed = None
            for key in ("value", "const"):
                if key in spec and spec[key] is not None:
                    fixed = self.template(spec[key] if not isinstance(spec[key], bool) else str(spec[key]).lower())
            required = bool(spec.get("required", location == "path"))
            params.append(
                Parameter(
                    name=name,
                    arg="",
                    location=location,
                    schema=self.parameter_schema(spec, location),
                    required=required or location == "path",
                    description=str(spec.get("description", "") or ""),
                    fixed=fixed,
                )
            )
            names.append(name)
        for var in path_vars:  # a placeholder nobody declared is still a required path parameter
            if var not in names:
                params.append(Parameter(var, "", "path", {"type": "string"}, True, ""))
        args = dedupe([python_identifier(p.name, fallback="param") for p in params])
        return [
            Parameter(p.name, arg, p.location, p.schema, p.required, p.description, p.fixed)
            for p, arg in zip(params, args, strict=True)
        ]

    def consumers(self) -> list[Consumer]:
        out: list[Consumer] = []
        method_names: list[str] = []
        raw_ops: list[tuple[int, dict[str, Any], ConsumedOperation]] = []
        consumes = self.data.get("capability", {}).get("consumes", []) or []
        tool_hints = _idempotent_hints(self.data)
        for ci, spec in enumerate(consumes):
            base: JsonPath = ("capability", "consumes", ci)
            if spec.get("type", "http") != "http":
                self.unsupported(base + ("type",), f"consumes type `{spec.get('type')}`")
                continue
            namespace = str(spec["namespace"])
            auth = self.auth(spec.get("authentication"), base + ("authentication",))
            shared = spec.get("inputParameters") or []
            ops: list[ConsumedOperation] = []
            for ri, resource in enumerate(spec.get("resources", []) or []):
                rbase = base + ("resources", ri)
                if resource.get("inputParameters"):
                    self.unsupported(rbase + ("inputParameters",), "resource-level consumed `inputParameters`",
                                     "move them to each operation")
                raw_path = str(resource.get("path", ""))
                path = _PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", raw_path)
                path_vars = _PLACEHOLDER.findall(path)
                for oi, op in enumerate(resource.get("operations", []) or []):
                    obase = rbase + ("operations", oi)
                    if not (op.get("name") or op.get("id")):
                        self.unsupported(obase, "a consumed operation without `name`", "name it, so `call` can reach it")
                        continue
                    op_path, op_vars = path, path_vars
                    if op.get("path"):  # an operation-level path continues the resource's
                        joined = raw_path.rstrip("/") + "/" + str(op["path"]).lstrip("/")
                        op_path = _PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", joined)
                        op_vars = _PLACEHOLDER.findall(op_path)
                    for key, what in (("body", "a request `body` template"),
                                      ("steps", "orchestration `steps`")):
                        if key in op:
                            self.unsupported(obase + (key,), f"{what} on a consumed operation")
                    fmt = str(op.get("outputRawFormat") or "json").lower()
                    if fmt not in _RAW_FORMATS:
                        self.unsupported(obase + ("outputRawFormat",), f"`outputRawFormat: {fmt}`",
                                         _RAW_FORMAT_HINTS.get(fmt, "json, xml, csv, text and binary are read"))
                    elif fmt != "json":
                        self.formats[f"{namespace}.{op.get('name') or op['id']}"] = fmt
                    if isinstance(op.get("outputParameters"), list):  # read by orchestration steps
                        self.projections[f"{namespace}.{op.get('name') or op['id']}"] = (
                            op["outputParameters"], obase + ("outputParameters",))
                    params = self.parameters(list(shared) + list(op.get("inputParameters") or []),
                                             obase + ("inputParameters",), op_vars)
                    params = self.without_credentials(params, auth, obase, base, len(shared))
                    # arguments are named after parameters; placeholders are renamed to match
                    renamed = op_path
                    for p in params:
                        if p.location == "path":
                            renamed = renamed.replace("{" + p.name + "}", "{" + p.arg + "}")
                    bodies = [p for p in params if p.location == "body"]
                    model = ConsumedOperation(
                        name=str(op.get("name") or op["id"]),
                        method_name="",
                        http_method=str(op["method"]).upper(),
                        path=renamed,
                        description=str(op.get("description", "") or ""),
                        parameters=tuple(params),
                        body="none" if not bodies else ("value" if len(bodies) == 1 else "object"),
                        consumer=namespace,
                        retryable=retryable(str(op["method"]),
                                            tool_hints.get(f"{namespace}.{op.get('name') or op.get('id')}", [])),
                    )
                    raw_ops.append((len(out), op, model))
                    method_names.append(python_identifier(model.name, fallback="operation"))
                    ops.append(model)
            out.append(
                Consumer(
                    namespace=namespace,
                    attr=python_identifier(namespace, fallback="consumer"),
                    base_uri=str(spec["baseUri"]),
                    base_uri_env=env_prefix(namespace) + "_BASE_URI",
                    auth=auth,
                    operations=(),
                )
            )
        # method names are unique across the whole client
        finals = dedupe(method_names)
        grouped: dict[int, list[ConsumedOperation]] = {}
        for (consumer_index, _op, model), method in zip(raw_ops, finals, strict=True):
            named = ConsumedOperation(**{**model.__dict__, "method_name": method})
            grouped.setdefault(consumer_index, []).append(named)
            self.operations.setdefault(f"{model.consumer}.{model.name}", named)
        return [
            Consumer(c.namespace, c.attr, c.base_uri, c.base_uri_env, c.auth, tuple(grouped.get(i, [])))
            for i, c in enumerate(out)
        ]

    def without_credentials(self, params: list[Parameter], auth: Auth | None, obase: JsonPath,
                            cbase: JsonPath, shared: int) -> list[Parameter]:
        """Drop parameters that would carry the credential the consumes authentication sets
        (an `Authorization` header parameter next to `bearer`, say): the authentication wins,
        and callers are never asked for a secret the service already holds."""
        if auth is None:
            return params
        taken = {("header", "authorization")} if auth.kind in ("basic", "bearer") else {
            (auth.placement, auth.key.lower())}
        kept = []
        for i, p in enumerate(params):
            if (p.location, p.name.lower()) in taken and p.fixed is None:
                where = cbase + ("inputParameters", i) if i < shared else obase + ("inputParameters", i - shared)
                self.diagnostics.append(self.doc.diagnostic(
                    where, "W213",
                    f"parameter `{p.name}` carries the credential that `authentication` already sets; it is not an argument",
                    hint="remove the parameter: the generated code sends the credential itself",
                    severity=Severity.WARNING))
                continue
            kept.append(p)
        return kept

    def auth(self, spec: Any, path: JsonPath) -> Auth | None:
        if not spec:
            return None
        kind = str(spec.get("type", "")).lower()
        if kind == "basic":
            return Auth("basic", username=self.template(spec.get("username", "")),
                        password=self.template(spec.get("password", "")))
        if kind == "bearer":
            return Auth("bearer", token=self.template(spec.get("token", "")))
        if kind in ("apikey", "header", "query"):
            # Spellings found in real capabilities, one meaning: a secret in a header or the query.
            #   apikey {key, value, placement} (official) | apikey/apiKey {name, value, in}
            #   | apiKey {header, token} | header {header, value} | query {key|name, value}
            headers = spec.get("headers")
            if isinstance(headers, dict) and len(headers) == 1:
                (name, value), = headers.items()
                return Auth("apikey", key=str(name), value=self.template(value), placement="header")
            if headers:
                self.unsupported(path + ("headers",), "an API key spread over several headers")
                return None
            placement = str(spec.get("placement") or spec.get("in") or ("query" if kind == "query" else "header"))
            if placement not in ("header", "query"):
                self.error(path + ("placement",), "E105", f"apikey placement `{placement}` is neither header nor query",
                           "use `placement: header` or `placement: query`")
                return None
            name = spec.get("key") or spec.get("name") or spec.get("header")
            value = spec.get("value", spec.get("token"))
            if not name or value is None:
                self.error(path, "E105", "an API key needs the name of its header or query parameter and a value",
                           "write `key: <name>` and `value: '{{SECRET}}'`")
                return None
            return Auth("apikey", key=str(name), value=self.template(value),
                        placement=placement)  # type: ignore[arg-type]
        self.unsupported(path + ("type",), f"authentication type `{spec.get('type')}` on consumes")
        return None

    # --- exposes ----------------------------------------------------------------------------

    def output(self, specs: Any, path: JsonPath, fmt: str = "json", inputs: set[str] | None = None,
               mock: bool = False) -> Output | None:
        """What an exposed operation returns (see docs/semantics.md, "Output mapping and
        orchestration"). `fmt`: the called operation's `outputRawFormat`; `inputs`: the names
        a `value` template may use; `mock`: no call, the result is built from values alone."""
        specs = specs or []
        if not specs:
            return Output("raw", {}) if fmt in ("text", "binary") else Output("passthrough", FREE_OBJECT)
        if len(specs) == 1 and not mock:
            only = specs[0]
            mapping = only.get("mapping", only.get("value"))
            if mapping in ("$", "$.") and not only.get("properties") and not only.get("items"):
                if fmt in ("text", "binary"):
                    return Output("raw", {})
                if fmt == "json":
                    kind = only.get("type", "object")
                    return Output("passthrough", FREE_OBJECT if kind == "object" else {})
        if fmt in ("text", "binary"):
            self.error(path, "E154", f"an answer in `outputRawFormat: {fmt}` cannot be mapped",
                       hint="return it whole with `mapping: $.`, or read it as json, xml or csv")
            return None
        if fmt not in ("json", "xml", "csv"):
            return None  # refused where the format is declared
        text_only = fmt != "json"
        shapes: list[tuple[str, Any, dict[str, Any]]] = []
        for i, spec in enumerate(specs):
            built = self.shape(spec, path + (i,), text_only, inputs or set(), nested=False)
            if built is None:
                return None
            name = spec.get("name")
            if (mock or len(specs) > 1) and not isinstance(name, str):
                self.error(path + (i,), "E152", "an output among several (or of a mock) needs a `name`",
                           hint="name it: the result is an object keyed by the outputs' names")
                return None
            shapes.append((str(name), *built))
        if len(shapes) == 1 and not mock:
            _name, shape, schema = shapes[0]
        else:
            shape = ("object", (), tuple((n, sh) for n, sh, _s in shapes))
            schema = _object_schema({n: (sc, True) for n, _sh, sc in shapes})
        return Output("mapped", _not_null(schema), shape, fmt)  # type: ignore[arg-type]

    def shape(self, spec: dict[str, Any], path: JsonPath, text_only: bool, inputs: set[str],
              nested: bool = True) -> tuple[Any, dict[str, Any]] | None:
        """(runtime shape, JSON Schema) of one output or property; see `outputs.py`."""
        mapping, value = spec.get("mapping"), spec.get("value")
        if mapping is None and isinstance(value, str) and value.strip().startswith("$"):
            mapping, value = value, None  # `value: $.x` is the older spelling of a mapping
        declared = spec.get("type")
        if value is not None:
            if not isinstance(value, str):
                return ("const", value), {}
            parts: list[tuple[str, str | None]] = []
            for literal, name in _template_parts(value):
                if name is not None and name not in inputs:
                    self.error(path + ("value",), "E151",
                               f"`{{{{{name}}}}}` in this output's value is not an input of the operation",
                               hint="declare it under inputParameters, or write the value literally")
                    return None
                parts.append((literal, name))
            if all(n is None for _l, n in parts):
                return ("const", value), {"type": "string"}
            return ("text", tuple(parts)), {"type": "string"}
        parsed = self.json_path(mapping, path + ("mapping",)) if mapping is not None else ()
        if parsed is None:
            return None
        properties, items = spec.get("properties"), spec.get("items")
        if declared == "object" or isinstance(properties, dict) and properties:
            if not isinstance(properties, dict) or not properties:
                if mapping is None:
                    self.error(path, "E152", "an object output with neither `mapping` nor `properties`",
                               hint="add `mapping: $.field` or the object's properties")
                    return None
                return ("value", parsed), {"type": ["object", "null"] if nested or parsed else "object"}
            built: list[tuple[str, Any]] = []
            schemas: dict[str, tuple[dict[str, Any], bool]] = {}
            for key, sub in properties.items():
                if not isinstance(sub, dict):
                    self.error(path + ("properties", key), "E152", f"property `{key}` is not a mapping")
                    return None
                one = self.shape(sub, path + ("properties", key), text_only, inputs)
                if one is None:
                    return None
                built.append((str(key), one[0]))
                schemas[str(key)] = (one[1], True)
            schema = _object_schema(schemas)
            if nested or parsed:
                schema["type"] = ["object", "null"]
            return ("object", parsed, tuple(built)), schema
        if declared == "array" or items is not None:
            item_shape: Any = None
            item_schema: dict[str, Any] = {}
            if isinstance(items, dict) and (items.get("properties") or items.get("mapping") or "value" in items):
                one = self.shape(items, path + ("items",), text_only, inputs)
                if one is None:
                    return None
                item_shape, item_schema = one
                if item_shape[0] == "value" and item_shape[1] == ():
                    item_shape = None  # `mapping: $.` on items: each element unchanged
            elif isinstance(items, dict):
                item_schema = {k: v for k, v in scalar_schema(items.get("type"), text_only).items()}
            schema = {"type": ["array", "null"] if nested or parsed else "array", "items": item_schema}
            return ("array", parsed, item_shape, text_only), schema
        if mapping is None:
            self.error(path, "E152", "an output with neither `mapping` nor `value`",
                       hint="add `mapping: $.field` (a JSONPath into the upstream answer) or a `value`")
            return None
        return ("value", parsed), scalar_schema(declared, text_only)

    def json_path(self, text: Any, path: JsonPath) -> tuple[Any, ...] | None:
        try:
            return parse_path(str(text))
        except PathError as exc:
            self.error(path, "E150", f"JSONPath {exc}",
                       hint="naftiko-gen reads `$`, `.name`, `['name']`, `[n]` and `[*]`")
            return None

    def call(self, op: dict[str, Any], path: JsonPath,
             namespaces: set[str]) -> tuple[ConsumedOperation, list[tuple[Parameter, str | None, Any]]] | None:
        """Resolve `call` and `with`: for each argument of the consumed operation, the exposed
        input that supplies it (or a literal)."""
        if "call" not in op:
            self.unsupported(path, "an exposed operation without `call` (mock outputs, steps or `ref`)")
            return None
        target = self.operations.get(str(op["call"]))
        if target is None:
            return None  # reported by validation, or by an unsupported consumes block
        mapping = op.get("with") or {}
        pairs: list[tuple[Parameter, str | None, Any]] = []
        for param in target.arguments:
            if param.name in mapping:
                value = mapping[param.name]
                ref = _input_reference(value, namespaces)
                if ref is not None:
                    pairs.append((param, ref, None))
                else:
                    pairs.append((param, None, value))
            else:
                pairs.append((param, param.name, None))
        return target, pairs

    def resolve_ref(self, op: dict[str, Any], path: JsonPath,
                    namespaces: set[str]) -> tuple[dict[str, Any], JsonPath, set[str]] | None:
        """An operation or tool with `ref` runs its aggregate function: (what to run, where the
        running parts are written, the namespaces `with` may name). Name, description and
        inputs are the operation's, else the function's; MCP hints derive from the function's
        `semantics` (safe: read-only and not destructive; idempotent), each overridden by the
        tool's own."""
        if "ref" not in op:
            return op, path, namespaces
        ref = str(op["ref"])
        found = self.functions.get(ref)
        if found is None:
            self.error(path + ("ref",), "E155", f"`ref: {ref}` names no aggregate function",
                       hint="write `<aggregate namespace>.<function name>`")
            return None
        function, fpath, namespace = found
        call = function.get("call")
        if isinstance(call, str) and call not in self.operations:
            self.error(fpath + ("call",), "E155", f"function `{ref}` calls `{call}`, which names no consumed operation",
                       hint="write `<consumes namespace>.<operation name>`")
            return None
        merged = {k: v for k, v in function.items() if k in ("call", "with", "steps", "mappings", "outputParameters")}
        for key in ("name", "description", "inputParameters"):
            if op.get(key) or function.get(key):
                merged[key] = op.get(key) or function.get(key)
        for key in ("method", "label"):
            if key in op:
                merged[key] = op[key]
        semantics = function.get("semantics") or {}
        hints: dict[str, Any] = {}
        if isinstance(semantics.get("safe"), bool):
            hints["readOnly"] = semantics["safe"]
            if semantics["safe"]:
                hints["destructive"] = False
        if isinstance(semantics.get("idempotent"), bool):
            hints["idempotent"] = semantics["idempotent"]
        merged["hints"] = {**hints, **(op.get("hints") or {})}
        return merged, fpath, namespaces | {namespace}

    def plan(self, op: dict[str, Any], path: JsonPath, namespaces: set[str], inputs: set[str],
             fill: Any) -> tuple[Call | None, Steps | None, Output] | None:
        """How an exposed operation or tool answers: one `call`, orchestration `steps`, or a
        mock (outputs with values, nothing upstream). `fill(param, ref, literal, where)` turns a
        consumed parameter and what `with` says into an Argument (adapter-specific)."""
        outputs = op.get("outputParameters")
        opath = path + ("outputParameters",)
        if "call" in op:
            resolved = self.call(op, path, namespaces)
            output = self.output(outputs, opath, self.formats.get(str(op["call"]), "json"), inputs)
            if resolved is None or output is None:
                return None
            target, pairs = resolved
            arguments = [fill(param, ref, literal, path) for param, ref, literal in pairs]
            return Call(target, tuple(a for a in arguments if a is not None)), None, output
        if "steps" in op:
            steps = self.steps(op, path, namespaces, inputs, fill)
            if steps is None:
                return None
            if not steps.mappings:
                return None, steps, Output("passthrough", {})
            return None, steps, Output("mapped", self.mappings_schema(steps.mappings, outputs))
        if "ref" in op:
            self.unsupported(path + ("ref",), "`ref` to an aggregate function")
            return None
        if not outputs:
            self.unsupported(path, "an exposed operation without `call`, `steps` or outputs")
            return None
        output = self.output(outputs, opath, "json", inputs, mock=True)
        return (None, None, output) if output is not None else None

    def steps(self, op: dict[str, Any], path: JsonPath, namespaces: set[str], inputs: set[str],
              fill: Any) -> Steps | None:
        built: list[Step] = []
        names: set[str] = set()
        ok = True
        for si, step in enumerate(op.get("steps") or []):
            spath = path + ("steps", si)
            kind = str(step.get("type", "call"))
            name = str(step.get("name", "") or f"step{si + 1}")
            if kind not in ("call", "lookup"):
                self.unsupported(spath + ("type",), f"`{kind}` steps",
                                 "only `call` and `lookup` steps are generated; scripts would run spec code")
                ok = False
                continue
            if name in names:
                self.error(spath + ("name",), "E153", f"step `{name}` is declared twice in this orchestration",
                           hint="give each step its own name: later steps and mappings refer to it")
                ok = False
                continue
            if kind == "lookup":
                index = str(step.get("index", ""))
                if index not in names:
                    self.error(spath + ("index",), "E153", f"lookup `index: {index}` names no earlier step",
                               hint="name a `call` step that runs before this lookup")
                    ok = False
                    continue
                value = step.get("lookupValue")
                ref = _input_reference(value, namespaces)
                parsed: Any = None
                if ref is not None and ref in inputs:
                    parsed = ("input", ref)  # the caller's input of that name
                elif ref is not None and ref.split(".")[0] not in names:
                    # an input nobody declared: read as a consumed value would be (REST: query)
                    wanted = Parameter(ref, "", "query", {"type": "string"}, True, "")
                    one = fill(wanted, ref, None, spath)
                    parsed = ("input", one.input_name) if one is not None else None
                elif isinstance(value, str) and value.strip().startswith("$"):
                    path_ = self.json_path(value, spath + ("lookupValue",))
                    parsed = ("path", path_) if path_ is not None else None
                else:
                    self.error(spath + ("lookupValue",), "E153",
                               "a lookupValue must be a JSONPath into earlier steps (`$.step.field`) "
                               "or an input (`{{name}}`)",
                               hint="write `$.<step name>.<field>`, or declare the input")
                    ok = False
                    continue
                fields = [str(f.get("name") if isinstance(f, dict) else f) for f in step.get("outputParameters") or []]
                if parsed is None:
                    ok = False
                    continue
                built.append(Step("lookup", name, index=index, match=str(step.get("match", "")),
                                  value=parsed, fields=tuple(fields)))
                names.add(name)
                continue
            names.add(name)  # even when the step is refused below: no second error for its users
            target = self.operations.get(str(step.get("call", "")))
            if target is None:
                self.error(spath + ("call",), "E153", f"step `call: {step.get('call')}` names no consumed operation",
                           hint="write `<consumes namespace>.<operation name>`")
                ok = False
                continue
            fmt = self.formats.get(str(step["call"]), "json")
            if fmt not in ("json", "xml", "csv"):
                self.error(spath + ("call",), "E154", f"a step cannot read an answer in `outputRawFormat: {fmt}`",
                           hint="orchestration reads json, xml or csv answers")
                ok = False
                continue
            mapping = step.get("with") or {}
            arguments: list[Argument] = []
            for param in target.arguments:
                if param.name not in mapping:
                    if param.name in inputs or param.required:
                        one = fill(param, param.name, None, spath)
                        if one is not None:
                            arguments.append(one)
                    continue  # optional and nobody supplies it: the client's default
                value = mapping[param.name]
                text = value.strip() if isinstance(value, str) else ""
                ref = _input_reference(value, namespaces)
                if text.startswith("$."):
                    parsed = self.json_path(text, spath + ("with", param.name))
                    if parsed is None:
                        ok = False
                        continue
                    arguments.append(Argument(param, "step", literal=parsed))
                elif ref is not None and ref.split(".")[0] in names and ref not in inputs:
                    arguments.append(Argument(param, "step", literal=tuple(ref.split("."))))
                else:
                    one = fill(param, ref, None if ref is not None else value, spath)
                    if one is not None:
                        arguments.append(one)
            projections = self.step_projections(str(step["call"]))
            if projections is None:
                ok = False
                continue
            built.append(Step("call", name, call=Call(target, tuple(arguments)),
                              source=fmt, projections=projections))  # type: ignore[arg-type]
        mappings: list[tuple[tuple[str, ...], tuple[Any, ...]]] = []
        for mi, entry in enumerate(op.get("mappings") or []):
            mpath = path + ("mappings", mi)
            target_name = str(entry.get("targetName", ""))
            value = entry.get("value")
            if not (isinstance(value, str) and value.strip().startswith("$")):
                self.error(mpath + ("value",), "E153", "a mapping's value must be a JSONPath into the steps' results",
                           hint="write `$.<step name>.<field>`")
                ok = False
                continue
            parsed = self.json_path(value, mpath + ("value",))
            if parsed is None:
                ok = False
                continue
            mappings.append((tuple(target_name.split(".")), parsed))
        if not built and ok:
            self.error(path + ("steps",), "E153", "an orchestration without steps", hint="add a `call` step")
            return None
        return Steps(tuple(built), tuple(mappings)) if ok else None

    def step_projections(self, call: str) -> tuple[tuple[str, tuple[Any, ...]], ...] | None:
        """The consumed operation's named outputs (`{name, mapping}`), which a step adds to each
        object of its answer so later steps can use them (`{{step.name}}`)."""
        outputs, opath = self.projections.get(call, ([], ()))
        found: list[tuple[str, tuple[Any, ...]]] = []
        for i, out in enumerate(outputs):
            if not isinstance(out, dict) or not isinstance(out.get("name"), str):
                continue
            mapping = out.get("mapping", out.get("value"))
            if not isinstance(mapping, str) or mapping.strip() in ("$", "$."):
                continue  # the whole answer: it is there already
            if not mapping.strip().startswith("$"):
                continue
            parsed = self.json_path(mapping, opath + (i, "mapping" if "mapping" in out else "value"))
            if parsed is None:
                return None
            found.append((out["name"], parsed))
        return tuple(found)

    def mappings_schema(self, mappings: tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...],
                        outputs: Any) -> dict[str, Any]:
        """The schema of an orchestration's result: the mappings' targets (dots nest objects),
        typed by the outputs of the same name when declared, null when the steps lack them."""
        declared = {str(o.get("name")): o for o in outputs or [] if isinstance(o, dict)}
        tree: dict[str, Any] = {}
        for target, _path in mappings:
            node = tree
            for part in target[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    break
            else:
                node[target[-1]] = None

        def schema_of(name: str, node: Any, top: bool) -> dict[str, Any]:
            if isinstance(node, dict):  # built from the mappings below it, always an object
                return _object_schema({k: (schema_of(k, v, False), True) for k, v in node.items()})
            out = declared.get(name) if top else None
            kind = out.get("type") if out else None
            if kind == "array":
                return {"type": ["array", "null"]}
            return scalar_schema(kind, False)

        return {**_object_schema({k: (schema_of(k, v, True), True) for k, v in tree.items()})}

    def rest(self) -> RestAdapter | None:
        adapters = [(i, a) for i, a in enumerate(self.data.get("capability", {}).get("exposes", []) or [])
                    if a.get("type") == "rest"]
        if not adapters:
            return None
        for i, _extra in adapters[1:]:
            self.unsupported(("capability", "exposes", i), "a second REST adapter in one capability")
        ai, spec = adapters[0]
        base: JsonPath = ("capability", "exposes", ai)
        namespaces = {"rest", str(spec.get("namespace", ""))}
        routes: list[RestRoute] = []
        handlers: list[str] = []
        for ri, resource in enumerate(spec.get("resources", []) or []):
            rbase = base + ("resources", ri)
            raw_path = str(resource["path"])
            if "forward" in resource:
                self.unsupported(rbase + ("forward",), "`forward` proxying")
            path_vars = _PLACEHOLDER.findall(raw_path)
            for oi, written in enumerate(resource.get("operations", []) or []):
                obase = rbase + ("operations", oi)
                referred = self.resolve_ref(written, obase, namespaces)
                if referred is None:
                    continue
                op, xbase, op_namespaces = referred
                method = str(op["method"]).upper()
                declared: dict[str, dict[str, Any]] = {
                    str(p["name"]): p for p in op.get("inputParameters") or [] if isinstance(p, dict)
                }
                for p in resource.get("inputParameters") or []:
                    declared.setdefault(str(p["name"]), p)
                inputs: dict[str, RestInput] = {}
                for name, p in declared.items():
                    location = str(p.get("in", "query"))
                    if location not in ("path", "query", "header", "body"):
                        self.unsupported(obase + ("inputParameters",), f"`in: {location}` on an exposed REST input")
                        continue
                    inputs[name] = RestInput(name, location, self.parameter_schema(p, location),  # type: ignore[arg-type]
                                             bool(p.get("required", True)) or location == "path",
                                             str(p.get("description", "") or ""))
                for var in path_vars:
                    if var not in inputs:
                        inputs[var] = RestInput(var, "path", {"type": "string"}, True, "")

                def fill(param: Parameter, ref: str | None, literal: Any, where: JsonPath,
                         inputs: dict[str, RestInput] = inputs, op: dict[str, Any] = op) -> Argument | None:
                    if ref is None:
                        return Argument(param, "literal", literal=literal)
                    if ref not in inputs:
                        # an exposed path variable spelt `x-id` fills a consumed `x_id` (and back)
                        alike = [n for n, i in inputs.items() if i.location == "path" and _same_name(n, ref)]
                        if alike:
                            ref = alike[0]
                        elif param.location == "body":
                            if any(i.location == "body" for i in inputs.values()):
                                self.unsupported(where + ("with",), "two consumed body parameters filled from one REST body")
                                return None
                            inputs[ref] = RestInput(ref, "body", param.schema, param.required, param.description)
                        elif param.location == "header":
                            inputs[ref] = RestInput(ref, "header", param.schema, param.required, param.description)
                        else:
                            # a value the route's path does not carry comes from the query string
                            inputs[ref] = RestInput(ref, "query", param.schema, param.required, param.description)
                            if param.name in (op.get("with") or {}):
                                self.diagnostics.append(self.doc.diagnostic(
                                    where + ("with", param.name), "W212",
                                    f"`{ref}` is neither a path variable nor a declared input of this route; "
                                    "it is read from the query string",
                                    hint=f"declare it under inputParameters (or add {{{ref}}} to the path) to be explicit",
                                    severity=Severity.WARNING))
                    return Argument(param, "input", input_name=ref)

                planned = self.plan(op, xbase, op_namespaces, set(inputs), fill)
                if planned is None:
                    continue
                call, steps, output = planned
                handlers.append(python_identifier(str(op.get("name") or f"{method}_{raw_path}"), fallback="handler"))
                normalised = _normalise_route(raw_path)
                route_path = _route_path(raw_path)
                aliases = (normalised,) if normalised != route_path else ()
                ordered = tuple(sorted(inputs.values(), key=lambda i: ("path", "query", "header", "body").index(i.location)))
                routes.append(
                    RestRoute(
                        path=route_path,
                        aliases=aliases,
                        http_method=method,
                        handler="",
                        operation_id=str(op.get("name") or ""),
                        summary=str(op.get("description", "") or (call.operation.description if call else "")
                                    or op.get("name", "")).split("\n")[0],
                        description=str(op.get("description", "") or ""),
                        inputs=ordered,
                        input_schema=_object_schema({i.name: (i.schema, i.required) for i in ordered}),
                        call=call,
                        output=output,
                        steps=steps,
                    )
                )
        names = dedupe(handlers)
        routes = [RestRoute(**{**r.__dict__, "handler": h, "operation_id": r.operation_id or h})
                  for r, h in zip(routes, names, strict=True)]
        return RestAdapter(
            namespace=str(spec.get("namespace", "")),
            port=int(spec.get("port", 8080)),
            address=str(spec.get("address", _DEFAULT_HOST)),
            description=str(spec.get("description", "") or ""),
            routes=tuple(routes),
        )

    def mcp(self) -> McpAdapter | None:
        adapters = [(i, a) for i, a in enumerate(self.data.get("capability", {}).get("exposes", []) or [])
                    if a.get("type") == "mcp"]
        if not adapters:
            return None
        for i, _extra in adapters[1:]:
            self.unsupported(("capability", "exposes", i), "a second MCP adapter in one capability")
        ai, spec = adapters[0]
        base: JsonPath = ("capability", "exposes", ai)
        namespaces = {"tools", str(spec.get("namespace", ""))}
        for key in ("resources", "prompts"):
            if spec.get(key):
                self.unsupported(base + (key,), f"MCP `{key}`")
        tools: list[McpTool] = []
        handlers: list[str] = []
        for ti, written in enumerate(spec.get("tools", []) or []):
            tbase = base + ("tools", ti)
            referred = self.resolve_ref(written, tbase, namespaces)
            if referred is None:
                continue
            tool, xbase, tool_namespaces = referred
            if "name" not in tool:
                self.error(tbase, "E155", "a tool needs a `name`, of its own or of the function it refers to")
                continue
            name = str(tool["name"])
            if not mcp_tool_name_ok(name):
                self.error(tbase + ("name",), "E108",
                           f"MCP tool name `{name}` breaks the protocol's rule (1-64 characters of A-Z a-z 0-9 _ - .)",
                           "MCP clients refuse longer names and other characters; rename the tool")
                continue
            declared = {str(p["name"]): p for p in tool.get("inputParameters") or [] if isinstance(p, dict)}
            properties: dict[str, tuple[dict[str, Any], bool]] = {
                n: (self.parameter_schema(p, "body"), bool(p.get("required", True))) for n, p in declared.items()
            }

            def fill(param: Parameter, ref: str | None, literal: Any, where: JsonPath, name: str = name,
                     declared: dict[str, Any] = declared, tool: dict[str, Any] = tool,
                     properties: dict[str, tuple[dict[str, Any], bool]] = properties) -> Argument | None:
                if ref is None:
                    return Argument(param, "literal", literal=literal)
                if ref not in properties:
                    if declared and not param.required and param.name not in (tool.get("with") or {}):
                        return None  # optional, and neither `with` nor the tool supplies it: not sent
                    if declared:
                        self.error(where + ("with",), "E107",
                                   f"`{param.name}` is taken from `{ref}`, which tool `{name}` does not declare",
                                   hint=f"add `{ref}` to the tool's inputParameters")
                        return None
                    # no declared inputs: the tool's arguments are the consumed parameters it fills
                    properties[ref] = (param.schema, param.required)
                return Argument(param, "input", input_name=ref)

            planned = self.plan(tool, xbase, tool_namespaces, set(properties), fill)
            if planned is None:
                continue
            call, steps, output = planned
            if call is not None and self.formats.get(f"{call.operation.consumer}.{call.operation.name}") == "binary":
                self.unsupported(xbase + ("call",), "an MCP tool returning a `binary` answer",
                                 "MCP results carry text; expose the download over REST")
                continue
            hints = tool.get("hints") or {}
            annotations = {
                "read_only_hint": bool(hints.get("readOnly", False)),
                "destructive_hint": bool(hints.get("destructive", True)),
                "idempotent_hint": bool(hints.get("idempotent", False)),
                # every tool that calls upstream reaches an external API; a mock does not
                "open_world_hint": bool(hints.get("openWorld", call is not None or steps is not None)),
            }
            description = str(tool.get("description") or "") or (
                (call.operation.description or f"Calls {call.operation.http_method} {call.operation.path} "
                 f"on {call.operation.consumer}.") if call else f"Tool {name}."
            )
            handlers.append(python_identifier(name, fallback="tool"))
            tools.append(
                McpTool(
                    name=name,
                    handler="",
                    title=str(tool.get("label", "") or ""),
                    description=description,
                    input_schema={**_object_schema(properties), "additionalProperties": False},
                    output_schema=output.schema if output.schema.get("type") == "object" else {},
                    annotations=annotations,
                    call=call,
                    output=output,
                    steps=steps,
                )
            )
        names = dedupe(handlers)
        tools = [McpTool(**{**t.__dict__, "handler": h}) for t, h in zip(tools, names, strict=True)]
        transport = str(spec.get("transport", "http"))
        return McpAdapter(
            namespace=str(spec.get("namespace", "")),
            port=int(spec.get("port", 9090)),
            address=str(spec.get("address", _DEFAULT_HOST)),
            transport="stdio" if transport == "stdio" else "http",
            description=str(spec.get("description", "") or ""),
            tools=tuple(tools),
        )

    def other_exposes(self) -> None:
        for i, adapter in enumerate(self.data.get("capability", {}).get("exposes", []) or []):
            if adapter.get("type") not in ("rest", "mcp"):
                self.unsupported(("capability", "exposes", i, "type"), f"the `{adapter.get('type')}` adapter")
            elif adapter.get("authentication"):
                self.unsupported(("capability", "exposes", i, "authentication"),
                                 "authentication on an exposed adapter")

    def build(self) -> Capability:
        consumers = self.consumers()
        rest = self.rest()
        mcp = self.mcp()
        self.other_exposes()
        if has_errors(self.diagnostics):
            raise Diagnosed(sorted(set(self.diagnostics)))
        info = self.data.get("info") or {}
        required: set[str] = set()
        for consumer in consumers:
            templates = [consumer.auth.username, consumer.auth.password, consumer.auth.token,
                         consumer.auth.value] if consumer.auth else []
            templates += [p.fixed for op in consumer.operations for p in op.parameters]
            for t in templates:
                if t is not None:
                    required.update(t.env_vars)
        return Capability(
            package=self.package,
            env_prefix=env_prefix(self.package),
            version=str(info.get("version", "0.1.0")),
            title=str(info.get("label", "") or self.package),
            description=str(info.get("description", "") or ""),
            source=self.source,
            source_sha256=self.doc.sha256,
            consumers=tuple(consumers),
            rest=rest,
            mcp=mcp,
            generator_version=__version__,
            required_env=tuple(sorted(required)),
        )


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})  # RFC 9110 section 9.2.2


def retryable(method: str, tool_hints: list[bool]) -> bool:
    """May the client resend this consumed operation after a failure that may have reached the
    server? Yes when HTTP makes the method idempotent, or when at least one MCP tool calls it and
    every tool that does says `hints.idempotent: true`. Otherwise a retry could do the work twice."""
    return method.upper() in IDEMPOTENT_METHODS or (bool(tool_hints) and all(tool_hints))


def _idempotent_hints(data: dict[str, Any]) -> dict[str, list[bool]]:
    """`call` target ("namespace.operation") -> the `hints.idempotent` of each MCP tool calling it."""
    hints: dict[str, list[bool]] = {}
    for adapter in data.get("capability", {}).get("exposes", []) or []:
        if not isinstance(adapter, dict) or adapter.get("type") != "mcp":
            continue
        for tool in adapter.get("tools", []) or []:
            if isinstance(tool, dict) and "call" in tool:
                idempotent = (tool.get("hints") or {}).get("idempotent", False)
                hints.setdefault(str(tool["call"]), []).append(idempotent is True)
    return hints


def _input_reference(value: Any, namespaces: set[str]) -> str | None:
    """`rest.x`, `tools.x`, `<namespace>.x` or `{{x}}` -> `x`; anything else is a literal."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = re.fullmatch(r"\{\{\s*([A-Za-z0-9_.\-\[\]]+)\s*\}\}", text)
    if match:
        inner = match.group(1)
        prefix, _, rest = inner.partition(".")
        return rest if rest and prefix in namespaces else inner
    prefix, dot, rest = text.partition(".")
    if dot and prefix in namespaces and rest:
        return rest
    return None


def _template_parts(text: str) -> list[tuple[str, str | None]]:
    """`Hello, {{name}}!` -> [("Hello, ", None), ("", "name"), ("!", None)]."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    for match in re.finditer(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}", text):
        if match.start() > position:
            parts.append((text[position:match.start()], None))
        parts.append(("", match.group(1)))
        position = match.end()
    if position < len(text) or not parts:
        parts.append((text[position:], None))
    return parts


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The result itself is never null: a missing top-level value is the upstream's fault."""
    kind = schema.get("type")
    if isinstance(kind, list):
        rest = [k for k in kind if k != "null"]
        return {**schema, "type": rest[0] if len(rest) == 1 else rest}
    return schema


def _same_name(a: str, b: str) -> bool:
    return a.replace("-", "_").lower() == b.replace("-", "_").lower()


def _route_path(path: str) -> str:
    """The exposed path as written, with `{{x}}` and `{x-y}` placeholders in the `{x_y}` form
    Starlette routes need."""
    return _PLACEHOLDER.sub(lambda m: "{" + route_variable(m.group(1)) + "}", path)


def _normalise_route(path: str) -> str:
    """`/v1//v2/batch/` -> `/v1/v2/batch`: how clients and proxies often rewrite a path."""
    collapsed = "/" + "/".join(seg for seg in _route_path(path).split("/") if seg)
    return str(PurePosixPath(collapsed)) if collapsed != "/" else "/"


def _object_schema(properties: dict[str, tuple[dict[str, Any], bool]]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {k: v for k, (v, _r) in properties.items()}}
    required = [k for k, (_v, r) in properties.items() if r]
    if required:
        schema["required"] = required
    return schema


def build(doc: Document, source: str | None = None, warnings: list[Diagnostic] | None = None) -> Capability:
    """Build the model for a validated document, or raise Diagnosed. `source` is how generated
    files name the spec (default: as in diagnostics); the decisions worth a warning are added
    to `warnings`."""
    stem = PurePosixPath(doc.path).stem
    builder = _Builder(doc, package_name(stem), source if source is not None else doc.path)
    try:
        return builder.build()
    finally:
        if warnings is not None:
            warnings.extend(d for d in builder.diagnostics if not d.is_error)

