"""Stage 3: a validated document -> the typed model. Every decision about the generated code is
made here (URL joining, `with` resolution, names, schemas); templates only lay it out.

Constructs the generator cannot yet turn into correct code are refused with a diagnostic that
names the construct and where it is, never dropped in silence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from . import __version__
from .diagnostics import Diagnosed, Diagnostic, Severity, has_errors
from .load import Document, JsonPath
from .model import (
    Argument,
    Auth,
    BodyNode,
    BodyPart,
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
    Template,
    route_variable,
)
from .names import dedupe, env_prefix, mcp_tool_name_ok, package_name, python_identifier
from .templating import (
    ANY_VARIABLE,
    SERVER_VARIABLE,
    Binds,
    Reference,
    body_data,
    body_placeholders,
    caller_input,
    caller_namespaces,
    parse,
)
from .templating import PATH_PLACEHOLDER as _PLACEHOLDER

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
        self.callers = caller_namespaces(self.data)
        self.operations: dict[str, ConsumedOperation] = {}  # "ns.name" -> model

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

    def parameters(self, specs: list[Any], base: JsonPath, path_vars: list[str],
                   variables: tuple[str, ...] = ()) -> list[Parameter]:
        """The operation's parameters: declared ones, undeclared path placeholders, then the
        `variables` of its body template that no parameter declares."""
        params: list[Parameter] = []
        names: list[str] = []
        for i, spec in enumerate(specs):
            location = spec.get("in", "query")
            if location == "environment":
                # names a process environment variable that templates read as `{{name}}`
                # (they already do): nothing is sent, nothing is asked of the caller
                continue
            name = str(spec["name"])
            fixed = None
            for key in ("value", "const"):
                if key in spec and spec[key] is not None:
                    value = spec[key]
                    whole = ANY_VARIABLE.fullmatch(value.strip()) if isinstance(value, str) else None
                    ref = caller_input(whole.group(1), self.callers) if whole else None
                    if ref is not None:
                        # `value: '{{tools.x}}'` is the caller's input, not a fixed value
                        if ref != name:
                            self.unsupported(base + (i, key), f"a parameter `{name}` whose value is another input (`{ref}`)",
                                             f"name the parameter `{ref}`, or use `with: {{{name}: tools.{ref}}}`")
                        continue
                    fixed = self.template(value if not isinstance(value, bool) else str(value).lower())
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
                names.append(var)
        for var in variables:  # any JSON value; whether it is required is the template's to say
            if var not in names:
                params.append(Parameter(var, "", "variable", {}, False, ""))
                names.append(var)
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
                    if "steps" in op:
                        self.unsupported(obase + ("steps",), "orchestration `steps` on a consumed operation")
                    fmt = str(op.get("outputRawFormat", "json"))
                    if fmt != "json":
                        self.unsupported(obase + ("outputRawFormat",), f"`outputRawFormat: {fmt}`")
                    declared_specs = list(shared) + list(op.get("inputParameters") or [])
                    body = self.body_spec(op, obase, {str(p.get("name")) for p in declared_specs})
                    params = self.parameters(declared_specs, obase + ("inputParameters",), op_vars,
                                             body.variables if body else ())
                    params = self.without_credentials(params, auth, obase, base, len(shared))
                    template: BodyNode | None = None
                    if body is not None and body.kind == "json":
                        params, template = self.body_template(body, params, obase, op)
                    elif body is not None and body.kind == "whole" and not any(p.location == "body" for p in params):
                        # `body: {type: json}` without data: the caller supplies the whole JSON body
                        arg = dedupe([p.arg for p in params] + ["body"])[-1]
                        params.append(Parameter("body", arg, "body", {}, True, "The JSON request body, sent as is."))
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
                        body="template" if template is not None else (
                            "none" if not bodies else ("value" if len(bodies) == 1 else "object")),
                        body_template=template,
                        consumer=namespace,
                        retryable=retryable(str(op["method"]),
                                            tool_hints.get(f"{namespace}.{op.get('name') or op.get('id')}", [])),
                    )
                    raw_ops.append((len(out), op, model))
                    method_names.append(python_identifier(model.name, fallback="operation"))
                    ops.append(model)
            base_uri = str(spec["baseUri"])
            out.append(
                Consumer(
                    namespace=namespace,
                    attr=python_identifier(namespace, fallback="consumer"),
                    base_uri=base_uri,
                    base_uri_env=env_prefix(namespace) + "_BASE_URI",
                    auth=auth,
                    operations=(),
                    # `{{X}}` parts come from the environment; `{x}` server variables from nowhere
                    base_uri_template=self.template(base_uri),
                    unbound=tuple(dict.fromkeys(SERVER_VARIABLE.findall(base_uri))),
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
            Consumer(c.namespace, c.attr, c.base_uri, c.base_uri_env, c.auth, tuple(grouped.get(i, [])),
                     c.base_uri_template, c.unbound)
            for i, c in enumerate(out)
        ]

    def body_spec(self, op: dict[str, Any], obase: JsonPath, declared: set[str]) -> _Body | None:
        """Read a consumed operation's `body`: its kind, and what each placeholder stands for."""
        if "body" not in op:
            return None
        path = obase + ("body",)
        kind, data = body_data(op["body"])
        if kind == "type":
            self.unsupported(path + ("type",), f"a request body of `type: {data}`",
                             "only JSON bodies (`type: json`) are generated")
            return None
        if kind == "text":
            self.unsupported(path, "a `body` string that is not JSON",
                             "write the body as `{type: json, data: ...}` with placeholders inside strings")
            return None
        resolved: dict[str, tuple[str, str]] = {}
        for text in body_placeholders(data) if kind == "json" else []:
            if text in resolved:
                continue
            found = self.body_variable(text, declared)
            if found is None:
                where = _find_string(data, text)
                at = path + ("data", *where) if isinstance(op["body"], dict) and where is not None else path
                self.error(at, "E140", f"body placeholder `{{{{{text}}}}}` names neither an input nor a variable",
                           "write `{{tools.x}}` (or `{{rest.x}}`, `{{x}}`) for the caller's input x, "
                           "`{{env.X}}` for an environment variable")
                continue
            resolved[text] = found
        variables = tuple(dict.fromkeys(name for where, name in resolved.values() if where == "arg"))
        return _Body(kind, data, resolved, variables)

    def body_variable(self, text: str, declared: set[str]) -> tuple[str, str] | None:
        """("arg", input name) or ("env", environment variable) for a placeholder's text."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-\[\]]*", text):
            return None
        key = caller_input(text, self.callers)
        if key is not None:
            return "arg", key
        namespace, _, name = text.rpartition(".")
        if namespace == "env" or namespace in self.binds.by_namespace:
            return "env", self.binds.resolve(Reference(text, namespace, name))[0]
        if namespace:
            return None
        if text in declared:
            return "arg", text
        env, bound = self.binds.resolve(Reference(text, "", text))
        return ("env", env) if bound else ("arg", text)

    def body_template(self, body: _Body, params: list[Parameter], obase: JsonPath,
                      op: dict[str, Any]) -> tuple[list[Parameter], BodyNode]:
        """The body template as a tree over the operation's arguments. A string that is exactly
        one placeholder keeps the value's JSON type; an object member or array item of that
        form is optional (left out when not given) unless its parameter is required. Text
        around a placeholder makes a string, and makes its input required."""
        by_name = {p.name: p for p in params}
        required: set[str] = set()

        def node(value: Any, top: bool) -> BodyNode:
            if isinstance(value, dict):
                return BodyNode("object", members=tuple((str(k), node(v, False)) for k, v in value.items()))
            if isinstance(value, list):
                return BodyNode("array", items=tuple(node(v, False) for v in value))
            if not isinstance(value, str) or "{{" not in value:
                return BodyNode("literal", literal=value)
            whole = ANY_VARIABLE.fullmatch(value)
            if whole and whole.group(1) in body.resolved:
                where, name = body.resolved[whole.group(1)]
                param = by_name.get(name)
                if where == "arg" and param is not None and param.fixed is None:
                    if top:
                        required.add(name)
                    return BodyNode("argument", arg=param.arg, optional=not top)
            parts: list[BodyPart] = []
            last = 0
            for match in ANY_VARIABLE.finditer(value):
                if match.start() > last:
                    parts.append(BodyPart(literal=value[last:match.start()]))
                last = match.end()
                where, name = body.resolved.get(match.group(1), ("literal", match.group(0)))
                if where == "env":
                    parts.append(BodyPart(env=name))
                elif where == "arg" and name in by_name and by_name[name].fixed is not None:
                    fixed = by_name[name].fixed
                    assert fixed is not None
                    parts += [BodyPart(literal=p.literal, env=p.env) for p in fixed.parts]
                elif where == "arg" and name in by_name:
                    required.add(name)
                    parts.append(BodyPart(arg=by_name[name].arg))
                else:
                    parts.append(BodyPart(literal=name))
            if last < len(value):
                parts.append(BodyPart(literal=value[last:]))
            return BodyNode("text", parts=tuple(parts))

        tree = node(body.data, True)
        used = set(body.variables)
        out: list[Parameter] = []
        for p in params:
            if p.location == "body" and p.name not in used and p.fixed is None:
                index = next((i for i, q in enumerate(op.get("inputParameters") or [])
                              if isinstance(q, dict) and str(q.get("name")) == p.name), None)
                self.diagnostics.append(self.doc.diagnostic(
                    obase + ("inputParameters", index, "name") if index is not None else obase + ("body",), "W214",
                    f"body parameter `{p.name}` is not used by the operation's `body` template and is not sent",
                    hint=f"write `{{{{{p.name}}}}}` where it belongs in the template, or remove the parameter",
                    severity=Severity.WARNING))
                continue
            if p.name in used:
                # the template decides the body: a body parameter is one of its values
                location = "variable" if p.location == "body" else p.location
                p = Parameter(p.name, p.arg, location, p.schema, p.required or p.name in required,  # type: ignore[arg-type]
                              p.description, p.fixed)
            out.append(p)
        # an optional argument node of a parameter the caller must give is simply that value
        final = {p.arg: p.required for p in out}

        def settle(n: BodyNode) -> BodyNode:
            if n.kind == "object":
                return BodyNode("object", members=tuple((k, settle(v)) for k, v in n.members))
            if n.kind == "array":
                return BodyNode("array", items=tuple(settle(v) for v in n.items))
            if n.kind == "argument":
                return BodyNode("argument", arg=n.arg, optional=not final.get(n.arg, False))
            return n

        return out, settle(tree)

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

    def output(self, specs: Any, path: JsonPath) -> Output | None:
        specs = specs or []
        if not specs:
            return Output("passthrough", FREE_OBJECT)
        if len(specs) == 1:
            only = specs[0]
            mapping = only.get("mapping", only.get("value"))
            if mapping in ("$", "$.") and not only.get("properties") and not only.get("items"):
                kind = only.get("type", "object")
                return Output("passthrough", FREE_OBJECT if kind == "object" else {})
        self.unsupported(path, "output mappings other than the whole document (`mapping: $.`)")
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
            for oi, op in enumerate(resource.get("operations", []) or []):
                obase = rbase + ("operations", oi)
                method = str(op["method"]).upper()
                declared: dict[str, dict[str, Any]] = {
                    str(p["name"]): p for p in op.get("inputParameters") or [] if isinstance(p, dict)
                }
                for p in resource.get("inputParameters") or []:
                    declared.setdefault(str(p["name"]), p)
                resolved = self.call(op, obase, namespaces)
                output = self.output(op.get("outputParameters"), obase + ("outputParameters",))
                if resolved is None or output is None:
                    continue
                target, pairs = resolved
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
                arguments: list[Argument] = []
                for param, ref, literal in pairs:
                    if ref is None:
                        arguments.append(Argument(param, "literal", literal=literal))
                        continue
                    if ref not in inputs:
                        # an exposed path variable spelt `x-id` fills a consumed `x_id` (and back)
                        alike = [n for n, i in inputs.items() if i.location == "path" and _same_name(n, ref)]
                        if alike:
                            ref = alike[0]
                        elif param.location == "body":
                            if any(i.location == "body" for i in inputs.values()):
                                self.unsupported(obase + ("with",), "two consumed body parameters filled from one REST body")
                                continue
                            inputs[ref] = RestInput(ref, "body", param.schema, param.required, param.description)
                        elif param.location == "header":
                            inputs[ref] = RestInput(ref, "header", param.schema, param.required, param.description)
                        else:
                            # a value the route's path does not carry comes from the query string
                            inputs[ref] = RestInput(ref, "query", param.schema, param.required, param.description)
                            if param.name in (op.get("with") or {}):
                                self.diagnostics.append(self.doc.diagnostic(
                                    obase + ("with", param.name), "W212",
                                    f"`{ref}` is neither a path variable nor a declared input of this route; "
                                    "it is read from the query string",
                                    hint=f"declare it under inputParameters (or add {{{ref}}} to the path) to be explicit",
                                    severity=Severity.WARNING))
                    arguments.append(Argument(param, "input", input_name=ref))
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
                        summary=str(op.get("description", "") or target.description or op.get("name", "")).split("\n")[0],
                        description=str(op.get("description", "") or ""),
                        inputs=ordered,
                        input_schema=_object_schema({i.name: (i.schema, i.required) for i in ordered}),
                        call=Call(target, tuple(arguments)),
                        output=output,
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
        for ti, tool in enumerate(spec.get("tools", []) or []):
            tbase = base + ("tools", ti)
            if "name" not in tool:
                self.unsupported(tbase, "an MCP tool defined by `ref` (aggregates)")
                continue
            name = str(tool["name"])
            if not mcp_tool_name_ok(name):
                self.error(tbase + ("name",), "E108",
                           f"MCP tool name `{name}` breaks the protocol's rule (1-64 characters of A-Z a-z 0-9 _ - .)",
                           "MCP clients refuse longer names and other characters; rename the tool")
                continue
            resolved = self.call(tool, tbase, namespaces)
            output = self.output(tool.get("outputParameters"), tbase + ("outputParameters",))
            if resolved is None or output is None:
                continue
            target, pairs = resolved
            declared = {str(p["name"]): p for p in tool.get("inputParameters") or [] if isinstance(p, dict)}
            properties: dict[str, tuple[dict[str, Any], bool]] = {
                n: (self.parameter_schema(p, "body"), bool(p.get("required", True))) for n, p in declared.items()
            }
            arguments: list[Argument] = []
            for param, ref, literal in pairs:
                if ref is None:
                    arguments.append(Argument(param, "literal", literal=literal))
                    continue
                if ref not in properties:
                    if declared:
                        self.error(tbase + ("with",), "E107",
                                   f"`{param.name}` is taken from `{ref}`, which tool `{name}` does not declare",
                                   hint=f"add `{ref}` to the tool's inputParameters")
                        continue
                    # no declared inputs: the tool's arguments are the consumed parameters it fills
                    properties[ref] = (param.schema, param.required)
                arguments.append(Argument(param, "input", input_name=ref))
            hints = tool.get("hints") or {}
            annotations = {
                "read_only_hint": bool(hints.get("readOnly", False)),
                "destructive_hint": bool(hints.get("destructive", True)),
                "idempotent_hint": bool(hints.get("idempotent", False)),
                # every generated tool calls an external API
                "open_world_hint": bool(hints.get("openWorld", True)),
            }
            description = str(tool.get("description") or "") or (
                target.description or f"Calls {target.http_method} {target.path} on {target.consumer}."
            )
            handlers.append(python_identifier(name, fallback="tool"))
            tools.append(
                McpTool(
                    name=name,
                    handler="",
                    title=str(tool.get("label", "") or ""),
                    description=description,
                    input_schema={**_object_schema(properties), "additionalProperties": False},
                    output_schema=output.schema,
                    annotations=annotations,
                    call=Call(target, tuple(arguments)),
                    output=output,
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

    def file_binds(self) -> None:
        """A bind with `location` takes its values from a file (JSON or YAML, read by the engine
        at start-up). Generated packages read no such file, and reading those keys from the
        environment instead would be a silent change of meaning: refused when a key is used."""
        text = json.dumps(self.data.get("capability"))
        for i, bind in enumerate(self.data.get("binds") or []):
            if not isinstance(bind, dict) or not bind.get("location"):
                continue
            namespace = re.escape(str(bind.get("namespace", "")))
            keys = bind.get("keys") if isinstance(bind.get("keys"), dict) else {}
            if any(re.search(r"\{\{\s*(?:" + namespace + r"\.)?" + re.escape(str(k)) + r"\s*\}\}", text) for k in keys):
                self.unsupported(("binds", i, "location"), "a bind whose values come from a file (`location`)",
                                 "remove `location` and provide each value as the environment variable its key names")

    def other_exposes(self) -> None:
        for i, adapter in enumerate(self.data.get("capability", {}).get("exposes", []) or []):
            if adapter.get("type") not in ("rest", "mcp"):
                self.unsupported(("capability", "exposes", i, "type"), f"the `{adapter.get('type')}` adapter")
            elif adapter.get("authentication"):
                self.unsupported(("capability", "exposes", i, "authentication"),
                                 "authentication on an exposed adapter")
        if self.data.get("capability", {}).get("aggregates"):
            self.unsupported(("capability", "aggregates"), "`aggregates`")

    def build(self) -> Capability:
        consumers = self.consumers()
        rest = self.rest()
        mcp = self.mcp()
        self.other_exposes()
        self.file_binds()
        if has_errors(self.diagnostics):
            raise Diagnosed(sorted(set(self.diagnostics)))
        info = self.data.get("info") or {}
        required: set[str] = set()
        for consumer in consumers:
            templates = [consumer.auth.username, consumer.auth.password, consumer.auth.token,
                         consumer.auth.value] if consumer.auth else []
            templates += [p.fixed for op in consumer.operations for p in op.parameters]
            if not consumer.unbound:
                templates.append(consumer.base_uri_template)
            for t in templates:
                if t is not None:
                    required.update(t.env_vars)
            for op in consumer.operations:
                if op.body_template is not None:
                    required.update(op.body_template.env_vars)
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


@dataclass(frozen=True)
class _Body:
    """A consumed operation's `body`, read: `json` (a template over `data`) or `whole` (the
    caller sends the whole JSON body); `resolved` maps each placeholder's text to
    ("arg", input name) or ("env", environment variable)."""

    kind: str
    data: Any
    resolved: dict[str, tuple[str, str]]
    variables: tuple[str, ...]  # input names, in order of first use


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


def _find_string(data: Any, text: str) -> tuple[str | int, ...] | None:
    """Where in a body template the first string holding `{{text}}` is (for diagnostics)."""
    if isinstance(data, dict):
        items: list[tuple[str | int, Any]] = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, list):
        items = list(enumerate(data))
    else:
        found = isinstance(data, str) and any(m.group(1) == text for m in ANY_VARIABLE.finditer(data))
        return () if found else None
    for key, value in items:
        below = _find_string(value, text)
        if below is not None:
            return (key, *below)
    return None


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

