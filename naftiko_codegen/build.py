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
from urllib.parse import unquote, urlsplit

from . import __version__
from .diagnostics import Diagnosed, Diagnostic, Severity, has_errors
from .load import Document, JsonPath
from .model import (
    Argument,
    Auth,
    BindFile,
    BodyNode,
    BodyPart,
    Call,
    Capability,
    ConsumedOperation,
    Consumer,
    ControlAdapter,
    ExposedAdapter,
    ExposedAuth,
    Forward,
    McpAdapter,
    McpFileResource,
    McpPrompt,
    McpResource,
    McpTool,
    Output,
    Parameter,
    PromptArgument,
    PromptMessage,
    RestAdapter,
    RestInput,
    RestRoute,
    Step,
    Steps,
    Template,
    route_variable,
)
from .names import (
    CONSUMER_ATTR_MAX,
    dedupe,
    env_prefix,
    mcp_tool_name_ok,
    package_name,
    python_identifier,
)
from .outputs import PathError, parse_path, scalar_schema
from .selectors import SelectorError, parse_selector
from .skills import skill_adapter
from .templating import (
    ANY_VARIABLE,
    SERVER_VARIABLE,
    Binds,
    Reference,
    body_data,
    body_placeholders,
    call_sites,
    caller_input,
    caller_namespaces,
    environment_reference,
    parse,
    whole_variable,
)
from .templating import PATH_PLACEHOLDER as _PLACEHOLDER

_RAW_FORMATS = ("json", "xml", "csv", "yaml", "text", "binary", "html", "markdown", "avro", "protobuf")
# Answers passed through whole (bytes and Content-Type) when nothing is mapped from them, as the
# engine does for every format when no output is declared.
_WHOLE_FORMATS = ("text", "binary", "html", "markdown", "avro", "protobuf")
# Answers read into a JSON document, so outputs and steps can map them (docs/semantics.md).
_MAPPED_FORMATS = ("json", "xml", "csv", "yaml", "html", "markdown")
# Binary answers decoded by the engine with the schema file `outputSchema` names.
_SCHEMA_FORMATS = ("avro", "protobuf")
# Formats carrying only text: declared number/integer/boolean outputs are strings. Markdown is
# text but for its front matter (YAML) and section levels (numbers): "mixed" accepts both.
_TEXT_ONLY: dict[str, bool | str] = {"xml": True, "csv": True, "html": True, "markdown": "mixed"}
_SCALAR_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
_DEFAULT_HOST = "127.0.0.1"
FREE_OBJECT = {"type": "object", "additionalProperties": True}
_URI_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")  # RFC 6570 simple expansion
_PROMPT_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")


class _Builder:
    def __init__(self, doc: Document, package: str, source: str):
        self.doc = doc
        self.source = source
        self.data: dict[str, Any] = doc.data
        self.package = package
        self.diagnostics: list[Diagnostic] = []
        self.binds = Binds.from_data(self.data.get("binds"))
        self.callers = caller_namespaces(self.data)
        # who calls each consumed operation, and with what: a bare `{{x}}` in a parameter's
        # `value` is the caller's input when a caller has `x` (an input or a `with` key), and a
        # `with` value may read the environment (docs/semantics.md, "More variations as written")
        self.named_by_callers: dict[str, set[str]] = {}
        self.environment_with: dict[tuple[str, str], list[tuple[str | None, JsonPath]]] = {}
        sites = call_sites(self.data)
        for site in sites:
            self.named_by_callers.setdefault(site.address, set()).update(site.inputs | set(site.with_))
        for site in sites:
            for key in site.with_:
                text = environment_reference(site.with_[key], self.binds, site.inputs)
                self.environment_with.setdefault((site.address, str(key)), []).append(
                    (text, site.path + ("with", key)))
        self.callers_of: dict[str, list[JsonPath]] = {}
        for site in sites:
            self.callers_of.setdefault(site.address, []).append(site.path)
        self.reported_environment: set[tuple[str, str]] = set()
        self.operations: dict[str, ConsumedOperation] = {}  # "ns.name" -> model
        self.formats: dict[str, str] = {}  # "ns.name" -> outputRawFormat, when not json
        self.format_options: dict[str, Any] = {}  # "ns.name" -> parsed outputSchema (html, markdown)
        self.schema_files: dict[str, str] = {}  # "ns.name" -> outputSchema (avro, protobuf)
        self.projections: dict[str, tuple[list[Any], JsonPath]] = {}  # "ns.name" -> consumed outputs
        self.consumer_models: dict[str, Consumer] = {}
        # ids of the body parameters that are, alone, their operation's whole body (body "value")
        self.whole_values: set[int] = set()
        self.refused_namespaces: set[str] = set()  # consumed APIs refused: a `forward` to them is not reported twice
        self.file_resources: list[McpFileResource] = []
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

    def environment_value(self, address: str, name: str) -> Template | None:
        """A consumed parameter that every caller fills from one environment variable
        (`with: {x-xdr-api-key: '{{CORTEX_XDR_API_KEY}}'}` in each): that variable, sent as a
        fixed value, as if the parameter said `value: '{{CORTEX_XDR_API_KEY}}'`. None when no
        caller reads the environment for it; callers that disagree are refused (E300)."""
        found = self.environment_with.get((address, name))
        if not found or all(text is None for text, _ in found):
            return None
        texts = {text for text, _ in found}
        if len(texts) == 1 and len(found) == len(self.callers_of.get(address, [])):
            return self.template("{{" + str(next(iter(texts))) + "}}")
        if (address, name) not in self.reported_environment:
            self.reported_environment.add((address, name))
            text, where = next((t, w) for t, w in found if t is not None)
            self.unsupported(where, f"`{name}` of `{address}` read from the environment (`{{{{{text}}}}}`) by one "
                                    "caller and filled otherwise by another",
                             f"fill `{name}` the same way in every call of `{address}`, or give the consumed "
                             f"parameter `value: '{{{{{text}}}}}'`")
        return None

    def parameters(self, specs: list[Any], base: JsonPath, path_vars: list[str],
                   variables: tuple[str, ...] = (), address: str = "") -> list[Parameter]:
        """The operation's parameters: declared ones, undeclared path placeholders, then the
        `variables` of its body template that no parameter declares."""
        params: list[Parameter] = []
        names: list[str] = []
        named = self.named_by_callers.get(address, set())
        for i, spec in enumerate(specs):
            location = spec.get("in", "query")
            if location == "environment":
                # names a process environment variable that templates read as `{{name}}`
                # (they already do): nothing is sent, nothing is asked of the caller
                continue
            name = str(spec["name"])
            fixed = None
            source = ""
            for key in ("value", "const"):
                if key in spec and spec[key] is not None:
                    value = spec[key]
                    whole = ANY_VARIABLE.fullmatch(value.strip()) if isinstance(value, str) else None
                    ref = caller_input(whole.group(1), self.callers) if whole else None
                    bare = whole_variable(value)
                    if ref is None and bare is not None and "." not in bare and not self.binds.declares(bare) \
                            and bare in named:
                        ref = bare  # `value: '{{userId}}'` where a caller has the input `userId`
                    if ref is not None:
                        # `value: '{{tools.x}}'` is the caller's input, not a fixed value; named
                        # otherwise than the parameter, it fills it all the same
                        source = ref if ref != name else ""
                        continue
                    if isinstance(value, (dict, list)):  # text of a structured value is its JSON, never a repr
                        value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
                    fixed = self.template(value if not isinstance(value, bool) else str(value).lower())
            if fixed is None and not source:
                fixed = self.environment_value(address, name)
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
                    input=source,
                )
            )
            names.append(name)
        for var in path_vars:  # a placeholder nobody declared is still a required path parameter
            if var not in names:
                params.append(Parameter(var, "", "path", {"type": "string"}, True, "",
                                        self.environment_value(address, var)))
                names.append(var)
        for var in variables:  # any JSON value; whether it is required is the template's to say
            if var not in names:
                if self.environment_value(address, var) is not None:
                    self.unsupported(base[:-1] + ("body",), f"the body value `{{{{{var}}}}}` filled from the "
                                     "environment by `with`",
                                     "write the variable in the body template itself")
                params.append(Parameter(var, "", "variable", {}, False, ""))
                names.append(var)
        args = dedupe([python_identifier(p.name, fallback="param") for p in params])
        return [
            Parameter(p.name, arg, p.location, p.schema, p.required, p.description, p.fixed, p.input)
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
                self.refused_namespaces.add(str(spec.get("namespace")))
                continue
            namespace = str(spec["namespace"])
            auth = self.auth(spec.get("authentication"), base + ("authentication",))
            if auth is not None and auth.kind == "oauth2":
                auth = Auth(**{**auth.__dict__, "token_url_env": env_prefix(namespace) + "_TOKEN_URL"})
            shared = spec.get("inputParameters") or []
            ops: list[ConsumedOperation] = []
            for ri, resource in enumerate(spec.get("resources", []) or []):
                rbase = base + ("resources", ri)
                # parameters of the resource are every operation's, unless one declares its own
                # of that name (naftiko-spec.md §4.3: the engine ignores them, §11.13)
                common = [p for p in resource.get("inputParameters") or [] if isinstance(p, dict)]
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
                    fmt = str(op.get("outputRawFormat") or "json").lower()
                    key = f"{namespace}.{op.get('name') or op['id']}"
                    if fmt not in _RAW_FORMATS:
                        self.unsupported(obase + ("outputRawFormat",), f"`outputRawFormat: {fmt}`",
                                         "json, xml, csv, yaml, html, markdown, text and binary are read")
                    elif fmt != "json":
                        self.formats[key] = fmt
                        self.format_option(op, obase, fmt, key)
                    elif op.get("outputSchema") is not None:
                        self.format_option(op, obase, fmt, key)
                    if isinstance(op.get("outputParameters"), list):  # read by orchestration steps
                        self.projections[f"{namespace}.{op.get('name') or op['id']}"] = (
                            op["outputParameters"], obase + ("outputParameters",))
                    own = list(op.get("inputParameters") or [])
                    taken = {str(_p.get("name")) for _p in own if isinstance(_p, dict)}
                    declared_specs = list(shared) + own + [_p for _p in common if str(_p.get("name")) not in taken]
                    if "body" not in op and any(
                            isinstance(p, dict) and p.get("in") == "body"
                            and isinstance(p.get("value", p.get("const")), (dict, list)) for p in declared_specs):
                        op, declared_specs = self.parameters_body(op, declared_specs)
                    body = self.body_spec(op, obase, {str(p.get("name")) for p in declared_specs})
                    params = self.parameters(declared_specs, obase + ("inputParameters",), op_vars,
                                             body.variables if body else (),
                                             f"{namespace}.{op.get('name') or op['id']}")
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
                    attr=python_identifier(namespace, fallback="consumer", limit=CONSUMER_ATTR_MAX),
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
            if named.body == "value":
                self.whole_values.update(id(p) for p in named.by_location("body"))
        return [
            Consumer(c.namespace, c.attr, c.base_uri, c.base_uri_env, c.auth, tuple(grouped.get(i, [])),
                     c.base_uri_template, c.unbound)
            for i, c in enumerate(out)
        ]

    def parameters_body(self, op: dict[str, Any],
                        specs: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        """Body parameters of which one has an object or array `value` (`account: {displayName:
        '{{tools.displayName}}'}`): the body they make, as a body template (the object keyed by
        their names, or the one value), so that placeholders inside the value are filled as in
        any template; the parameters whose values are now in the template are no longer inputs."""
        data: dict[str, Any] = {}
        kept: list[Any] = []
        bodies = [p for p in specs if isinstance(p, dict) and p.get("in") == "body"]
        for spec in specs:
            if spec not in bodies:
                kept.append(spec)
                continue
            name = str(spec.get("name"))
            value = spec.get("value", spec.get("const"))
            whole = ANY_VARIABLE.fullmatch(value.strip()) if isinstance(value, str) else None
            if value is None or (whole and caller_input(whole.group(1), self.callers) == name):
                data[name] = "{{tools." + name + "}}"  # an argument: its declaration still applies
                kept.append(spec)
            else:
                data[name] = value
        template = data[str(bodies[0].get("name"))] if len(bodies) == 1 else data
        return {**op, "body": {"type": "json", "data": template}}, kept

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
                              p.description, p.fixed, p.input)
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
        taken = {("header", "authorization")} if auth.sets_authorization else {
            ("header", name.lower()) for name, _ in auth.header_pairs} | (
            {("query", auth.key.lower())} if auth.placement == "query" else set())
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
        if kind in ("basic", "digest"):
            return Auth(kind, username=self.template(spec.get("username", "")),  # type: ignore[arg-type]
                        password=self.template(spec.get("password", "")))
        if kind == "bearer":
            return Auth("bearer", token=self.template(spec.get("token", "")))
        if kind in ("apikey", "header", "query"):
            # Spellings found in real capabilities, one meaning: a secret in a header or the query.
            #   apikey {key, value, placement} (official) | apikey/apiKey {name, value, in}
            #   | apiKey {header, token} | header {header, value} | query {key|name, value}
            #   | apikey {headers: {name: value, ...}} (several headers, all sent)
            headers = spec.get("headers")
            if isinstance(headers, dict) and headers:
                pairs = tuple((str(name), self.template(value)) for name, value in headers.items())
                lowered = [name.lower() for name, _ in pairs]
                for i, name in enumerate(lowered):
                    if name in lowered[:i]:
                        self.error(path + ("headers", pairs[i][0]), "E160",
                                   f"API key header `{pairs[i][0]}` is named twice (header names ignore case)",
                                   "give each header once")
                        return None
                return Auth("apikey", key=pairs[0][0], value=pairs[0][1], placement="header", headers=pairs)
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
        if kind == "oauth2":
            return self.oauth2(spec, path)
        if kind == "oauth1":
            return self.oauth1(spec, path)
        if kind == "hmac":
            self.unsupported(path + ("type",), "HMAC request signing (`type: hmac`) on consumes",
                             "the block does not say which signing scheme the API expects (which headers, "
                             "what is signed), so no request could be signed faithfully")
            return None
        self.unsupported(path + ("type",), f"authentication type `{spec.get('type')}` on consumes")
        return None

    def oauth1(self, spec: dict[str, Any], path: JsonPath) -> Auth | None:
        """OAuth 1.0a request signing (RFC 5849) with RSA-SHA256 and a body hash, as Mastercard's
        APIs require: real capabilities give `consumerKey` and `signingKey` (an RSA private key)
        and nothing else (the schema refuses other keys), so no other signature method is asked for."""
        missing = [k for k in ("consumerKey", "signingKey") if not spec.get(k)]
        if missing:
            self.error(path, "E210", "OAuth 1.0a request signing on consumes needs "
                       + " and ".join(f"`{m}`" for m in missing),
                       "write `consumerKey: '{{CONSUMER_KEY}}'` and `signingKey: '{{SIGNING_KEY}}'` "
                       "(an RSA private key in PEM, or the path of a PEM file)")
            return None
        signing_key = self.template(spec["signingKey"])
        if signing_key.is_literal:
            # a private key written into the capability would be copied into the package
            self.error(path + ("signingKey",), "E211",
                       "the OAuth 1.0a `signingKey` is written in the capability instead of read from the environment",
                       "write `signingKey: '{{SIGNING_KEY}}'` and put the PEM key (or its file's path) there")
            return None
        return Auth("oauth1", consumer_key=self.template(spec["consumerKey"]), signing_key=signing_key)

    def oauth2(self, spec: dict[str, Any], path: JsonPath) -> Auth | None:
        """OAuth 2.0 client credentials (RFC 6749 §4.4): the client gets its own access token."""
        grant = str(spec.get("grantType", spec.get("grant_type", "client_credentials")))
        if grant != "client_credentials":
            self.unsupported(path + ("grantType",), f"OAuth 2.0 grant type `{grant}` on consumes",
                             "only `client_credentials` can run unattended")
            return None
        token_url = spec.get("tokenUrl") or spec.get("tokenEndpoint")
        missing = [k for k, v in (("tokenUrl", token_url), ("clientId", spec.get("clientId")),
                                  ("clientSecret", spec.get("clientSecret"))) if not v]
        if missing:
            resource_server = "authorizationServerUri" in spec or "resource" in spec
            self.error(path, "E161", "OAuth 2.0 client credentials on consumes need "
                       + ", ".join(f"`{m}`" for m in missing),
                       ("`authorizationServerUri` and `resource` describe how an exposed adapter checks tokens; "
                        if resource_server else "")
                       + "write `tokenUrl: https://...`, `clientId: '{{CLIENT_ID}}'` and "
                       "`clientSecret: '{{CLIENT_SECRET}}'`")
            return None
        if "{{" in str(token_url) or not re.match(r"https?://[^/\s]+", str(token_url)):
            self.error(path + ("tokenUrl" if "tokenUrl" in spec else "tokenEndpoint",), "E161",
                       f"the OAuth 2.0 token URL `{token_url}` is not an absolute http(s) URL",
                       "write the token endpoint's full URL")
            return None
        scopes = spec.get("scopes", spec.get("scope", []))
        if isinstance(scopes, str):
            scopes = scopes.split()
        return Auth("oauth2", token_url=str(token_url), client_id=self.template(spec["clientId"]),
                    client_secret=self.template(spec["clientSecret"]),
                    scopes=tuple(str(s) for s in scopes or ()))

    def exposed_auth(self, spec: Any, path: JsonPath, realm: str) -> ExposedAuth | None:
        """The credential callers of an exposed adapter must present."""
        if not spec:
            return None
        kind = str(spec.get("type", "")).lower()
        auth: ExposedAuth | None = None
        if kind in ("digest", "oauth2", "oauth1", "hmac"):
            what = {"digest": "HTTP Digest", "oauth2": "OAuth 2.0 (JWT validation against an authorization server)",
                    "oauth1": "OAuth 1.0a", "hmac": "HMAC signatures"}[kind]
            self.unsupported(path + ("type",), f"{what} authentication on an exposed adapter",
                             "use bearer, apikey or basic")
            return None
        if kind not in ("bearer", "basic", "apikey", "header", "query"):
            self.unsupported(path + ("type",), f"authentication type `{spec.get('type')}` on an exposed adapter")
            return None
        if kind == "bearer":
            if spec.get("token"):
                auth = ExposedAuth("bearer", self.template(spec["token"]), realm=realm)
        elif kind == "basic":
            if spec.get("username") and spec.get("password"):
                auth = ExposedAuth("basic", self.template(spec["password"]), username=self.template(spec["username"]),
                                   realm=realm)
        else:
            if spec.get("headers"):
                self.unsupported(path + ("headers",), "several API key headers on an exposed adapter")
                return None
            name = spec.get("key") or spec.get("name") or spec.get("header")
            value = spec.get("value", spec.get("token"))
            placement = str(spec.get("placement") or spec.get("in") or ("query" if kind == "query" else "header"))
            if placement not in ("header", "query"):
                self.error(path + ("placement",), "E105", f"apikey placement `{placement}` is neither header nor query",
                           "use `placement: header` or `placement: query`")
                return None
            if name and value:
                auth = ExposedAuth("apikey", self.template(value), key=str(name),
                                   placement=placement, realm=realm)  # type: ignore[arg-type]
        if auth is None:
            self.error(path, "E162", f"`{kind}` authentication on an exposed adapter needs its credential",
                       {"bearer": "write `token: '{{TOKEN}}'`", "basic": "write `username` and `password`"}.get(
                           kind, "write `key: <header name>` and `value: '{{SECRET}}'`"))
            return None
        if not auth.env_vars:
            self.diagnostics.append(self.doc.diagnostic(
                path, "W230", "the credential callers must present is written in the spec, not read from the environment",
                hint="write it as '{{SECRET}}' and set the environment variable: anyone who reads the spec could call",
                severity=Severity.WARNING))
        return auth

    def format_option(self, op: dict[str, Any], path: JsonPath, fmt: str, key: str) -> None:
        """Read `outputSchema` as the engine does for `fmt`: a CSS selector of the tables an html
        answer gives, a heading prefix for the sections of a markdown one, the schema file of an
        avro or protobuf one (see `readable`); any other format ignores it (W340)."""
        schema = op.get("outputSchema")
        if schema is None or not str(schema).strip():
            return
        where = path + ("outputSchema",)
        if fmt == "html":
            try:
                self.format_options[key] = parse_selector(str(schema))
            except SelectorError as exc:
                self.unsupported(where, f"the CSS selector {exc}",
                                 "select the tables by element, class and id (`table.products`, "
                                 "`div#prices table`), or leave `outputSchema` out to read every table")
        elif fmt == "markdown":
            self.format_options[key] = str(schema)
        elif fmt in _SCHEMA_FORMATS:
            self.schema_files[key] = str(schema)
        else:
            self.diagnostics.append(self.doc.diagnostic(
                where, "W340", f"`outputSchema` is not read for `outputRawFormat: {fmt}`",
                hint="it names the tables of html answers, the sections of markdown ones and the schema "
                     "file of avro and protobuf ones; remove it", severity=Severity.WARNING))

    def readable(self, key: str, fmt: str, path: JsonPath, what: str) -> bool:
        """Whether `what` (outputs, or a step) can read the answer of consumed operation `key`
        in its format; reports why not."""
        if fmt in _MAPPED_FORMATS:
            return True
        if fmt in _SCHEMA_FORMATS:
            if key not in self.schema_files:
                self.error(path, "E250",
                           f"{what} reads an answer in `outputRawFormat: {fmt}`, and `{key}` names no "
                           "`outputSchema`",
                           hint=f"the engine decodes {fmt} answers with the schema file `outputSchema` names, "
                                "and fails every call without one; name it, or return the answer whole "
                                "(`mapping: $.` or no outputs)")
            else:
                self.unsupported(path, f"{what} reading an answer in `outputRawFormat: {fmt}`",
                                 "the generated packages do not decode avro or protobuf answers; return the "
                                 "answer whole (`mapping: $.` or no outputs), or ask the API for JSON")
            return False
        return True  # text and binary: the caller reports E154

    # --- exposes ----------------------------------------------------------------------------

    def output(self, specs: Any, path: JsonPath, call: str = "", inputs: set[str] | None = None,
               mock: bool = False) -> Output | None:
        """What an exposed operation returns (see docs/semantics.md, "Output mapping and
        orchestration"). `call`: the called consumed operation ("ns.name"), whose
        `outputRawFormat` says how its answer is read; `inputs`: the names a `value` template
        may use; `mock`: no call, the result is built from values alone."""
        fmt = self.formats.get(call, "json")
        specs = specs or []
        if not specs:
            return Output("raw", {}) if fmt in _WHOLE_FORMATS else Output("passthrough", FREE_OBJECT)
        if len(specs) == 1 and not mock:
            only = specs[0]
            mapping = only.get("mapping", only.get("value"))
            if mapping in ("$", "$.") and not only.get("properties") and not only.get("items"):
                if fmt in _WHOLE_FORMATS:
                    return Output("raw", {})
                if fmt == "json":
                    kind = only.get("type", "object")
                    return Output("passthrough", FREE_OBJECT if kind == "object" else {})
        if fmt in ("text", "binary"):
            self.error(path, "E154", f"an answer in `outputRawFormat: {fmt}` cannot be mapped",
                       hint="return it whole with `mapping: $.`, or read it as json, xml, csv, yaml, html or markdown")
            return None
        if not self.readable(call, fmt, path, "this output mapping"):
            return None
        text_only = _TEXT_ONLY.get(fmt, False)
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
        return Output("mapped", _not_null(schema), shape, fmt, self.format_options.get(call))  # type: ignore[arg-type]

    def shape(self, spec: dict[str, Any], path: JsonPath, text_only: bool | str, inputs: set[str],
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
            # XML gives a lone repeated element as itself: an array output then wraps it
            return ("array", parsed, item_shape, text_only is True), schema
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
            key = param.name if param.name in mapping or not param.input else param.input
            if key in mapping:
                value = mapping[key]
                ref = _input_reference(value, namespaces)
                if ref is not None:
                    pairs.append((param, ref, None))
                else:
                    pairs.append((param, None, value))
            else:
                pairs.append((param, key, None))
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
            output = self.output(outputs, opath, str(op["call"]), inputs)
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
            # As in the engine, a mock whose result is empty: nothing is called, REST answers
            # 204 and an MCP tool `{}`. Often a `call` was forgotten, so it is flagged.
            name = str(op.get("name", ""))
            same = sorted(key for key in self.operations if key.rpartition(".")[2] == name) if name else []
            self.diagnostics.append(self.doc.diagnostic(
                path, "W290", "this operation has no `call`, `steps` or outputs: it calls no API and answers "
                              "nothing (REST 204, MCP `{}`)",
                hint=f"did you mean `call: {same[0]}`?" if len(same) == 1
                else "add `call: <consumes namespace>.<operation>`, or outputs with `value`s for a mock",
                severity=Severity.WARNING))
            return None, None, Output("mapped", {"type": "object", "properties": {}}, ("object", (), ()))
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
            if fmt in ("text", "binary"):
                self.error(spath + ("call",), "E154", f"a step cannot read an answer in `outputRawFormat: {fmt}`",
                           hint="orchestration reads json, xml, csv, yaml, html and markdown answers")
                ok = False
                continue
            if not self.readable(str(step["call"]), fmt, spath + ("call",), "a step"):
                ok = False
                continue
            mapping = step.get("with") or {}
            arguments: list[Argument] = []
            for param in target.arguments:
                key = param.name if param.name in mapping or not param.input else param.input
                if key not in mapping:
                    if key in inputs or param.required:
                        one = fill(param, key, None, spath)
                        if one is not None:
                            arguments.append(one)
                    continue  # optional and nobody supplies it: the client's default
                value = mapping[key]
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
                              source=fmt, option=self.format_options.get(str(step["call"])),  # type: ignore[arg-type]
                              projections=projections))
        mappings: list[tuple[tuple[str, ...], tuple[Any, ...]]] = []
        for mi, entry in enumerate(op.get("mappings") or []):
            mpath = path + ("mappings", mi)
            target_name = str(entry.get("targetName", ""))
            value = entry.get("value")
            if not (isinstance(value, str) and value.strip().startswith("$")) or "{{" in str(value):
                self.error(mpath + ("value",), "E153", "a mapping's value must be a JSONPath into the steps' results"
                           + (f", not `{value}`" if isinstance(value, (str, int, float, bool)) else ""),
                           hint=self.mapping_hint(value, op))
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

    def mapping_hint(self, value: Any, op: dict[str, Any]) -> str:
        """What to write for a mapping `value` that is no JSONPath: `$.{{dbName}}` names the
        output `dbName` of a step's operation (then `$.<step>.dbName`); a constant is no mapping."""
        text = str(value).strip()
        inner = re.fullmatch(r"\$\.?\{\{\s*([A-Za-z0-9_-]+)\s*\}\}", text)
        if inner:
            steps = [str(s.get("name")) for s in op.get("steps") or [] if isinstance(s, dict)
                     and any(isinstance(o, dict) and o.get("name") == inner.group(1)
                             for o in self.projections.get(str(s.get("call")), ([], ()))[0])]
            if len(steps) == 1:
                return (f"a JSONPath has no `{{{{...}}}}`: `{inner.group(1)}` is an output of step `{steps[0]}`, "
                        f"so write `$.{steps[0]}.{inner.group(1)}`")
            return "a JSONPath has no `{{...}}`: write `$.<step name>.<field>`"
        if not text.startswith("$"):
            return ("a mapping reads the steps' results (`$.<step name>.<field>`); a constant result is "
                    "not a mapping: set it in the upstream answer, or leave it out")
        return "write `$.<step name>.<field>`"

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
        forwards: list[Forward] = []
        for ri, resource in enumerate(spec.get("resources", []) or []):
            rbase = base + ("resources", ri)
            raw_path = str(resource["path"])
            if "forward" in resource:
                forward = self.forward(resource["forward"], rbase, raw_path)
                if forward is not None:
                    forwards.append(forward)
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
                    field: tuple[str, ...] = ()
                    if location == "body" and name != "body":
                        # a member of the JSON request body object: the one of its name, or the one
                        # its `value` names (`$.user.id`), as the reference engine reads it
                        location, field = "field", (name,)
                        where = p.get("value")
                        if isinstance(where, str) and where.strip().startswith("$"):
                            found = _member_path(where.strip())
                            if found is None:
                                self.unsupported(obase + ("inputParameters",), f"a body input read at `{where}`",
                                                 "write `$.name` or `$.name.name`: members of the JSON body object")
                                continue
                            field = found
                    inputs[name] = RestInput(name, location, self.parameter_schema(p, location),  # type: ignore[arg-type]
                                             bool(p.get("required", True)) or location == "path",
                                             str(p.get("description", "") or ""), field)
                for var in path_vars:
                    if var not in inputs:
                        inputs[var] = RestInput(var, "path", {"type": "string"}, True, "")

                def fill(param: Parameter, ref: str | None, literal: Any, where: JsonPath,
                         inputs: dict[str, RestInput] = inputs, op: dict[str, Any] = op,
                         method: str = method) -> Argument | None:
                    if ref is None:
                        return Argument(param, "literal", literal=literal)
                    if ref not in inputs:
                        # an exposed path variable spelt `x-id` fills a consumed `x_id` (and back)
                        alike = [n for n, i in inputs.items() if i.location == "path" and _same_name(n, ref)]
                        if alike:
                            ref = alike[0]
                        elif param.location == "body" and id(param) in self.whole_values:
                            # the consumed body is this one value: the whole JSON request body
                            if any(i.location in ("body", "field") for i in inputs.values()):
                                self.unsupported(where + ("with",), "two consumed bodies filled from one REST body"
                                                 if any(i.location == "body" for i in inputs.values())
                                                 else "a whole REST body beside body fields")
                                return None
                            inputs[ref] = RestInput(ref, "body", param.schema, param.required, param.description)
                        elif param.location == "body" or (param.location == "variable" and method not in ("GET", "HEAD")):
                            # several values make the consumed body (body parameters, the inputs
                            # of a body template): each is a member of the JSON request body object
                            if any(i.location == "body" for i in inputs.values()):
                                self.unsupported(where + ("with",), "body fields beside a whole REST body")
                                return None
                            inputs[ref] = RestInput(ref, "field", param.schema, param.required,
                                                    param.description, (ref,))
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
                ordered = tuple(sorted(inputs.values(),
                                       key=lambda i: ("path", "query", "header", "body", "field").index(i.location)))
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
                        body_schema=_fields_schema([i for i in ordered if i.location == "field"]),
                    )
                )
        names = dedupe(handlers + [f.handler for f in forwards])
        routes = [RestRoute(**{**r.__dict__, "handler": h, "operation_id": r.operation_id or h})
                  for r, h in zip(routes, names[:len(routes)], strict=True)]
        forwards = [Forward(**{**f.__dict__, "handler": h}) for f, h in zip(forwards, names[len(routes):], strict=True)]
        return RestAdapter(
            namespace=str(spec.get("namespace", "")),
            port=int(spec.get("port", 8080)),
            address=str(spec.get("address", _DEFAULT_HOST)),
            description=str(spec.get("description", "") or ""),
            routes=tuple(routes),
            auth=self.exposed_auth(spec.get("authentication"), base + ("authentication",),
                                   str(spec.get("namespace", "") or self.package)),
            forwards=tuple(forwards),
        )

    def forward(self, spec: dict[str, Any], path: JsonPath, raw_path: str) -> Forward | None:
        """`forward: {targetNamespace, trustedHeaders}` on `/prefix/{{rest}}`: every request under
        the prefix goes on to the consumed API, the rest of the path appended to its base URI."""
        target = str(spec.get("targetNamespace", ""))
        consumer = self.consumer_models.get(target)
        if consumer is None:
            if target not in self.refused_namespaces:
                self.error(path + ("forward", "targetNamespace"), "E163",
                           f"`forward` targets `{target}`, which no consumed API is named",
                           "name the `namespace` of an entry of `consumes`")
            return None
        match = re.fullmatch(r"(/(?:[^{}]*/)?)(?:\{\{\s*[A-Za-z0-9_.-]+\s*\}\}|\{[A-Za-z0-9_.-]+\})", raw_path)
        if match is None:
            self.unsupported(path + ("path",), "`forward` on a path that does not end in one `{{placeholder}}` segment",
                             f"`{raw_path}` has no placeholder to take the path forwarded, so what it would forward "
                             "is not said; write the forward on a resource of its own, `"
                             + raw_path.rstrip("/").rpartition("/")[0] + "/{{path}}`"
                             + (", and keep this resource's operations here" if spec_has_operations(path, self.data)
                                else ""))
            return None
        prefix = match.group(1)
        return Forward(
            prefix=prefix,
            route=prefix + "{rest:path}",
            handler=python_identifier("forward_" + (prefix.strip("/") or "root"), fallback="forward"),
            consumer=target,
            consumer_attr=consumer.attr,
            trusted_headers=tuple(dict.fromkeys(str(h).lower() for h in spec.get("trustedHeaders") or [])),
            description=raw_path,
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
            explicit = self.explicit_input_schema(tool, tbase)
            if explicit is False:
                continue
            declared = {str(p["name"]): p for p in tool.get("inputParameters") or [] if isinstance(p, dict)}
            properties: dict[str, tuple[dict[str, Any], bool]] = {
                n: (self.tool_parameter_schema(p), bool(p.get("required", True))) for n, p in declared.items()
            }
            if isinstance(explicit, dict):
                required = set(explicit.get("required") or [])
                properties = {str(n): (s, n in required) for n, s in (explicit.get("properties") or {}).items()}
            offered = "inputSchema" if isinstance(explicit, dict) else "inputParameters"

            def fill(param: Parameter, ref: str | None, literal: Any, where: JsonPath, name: str = name,
                     declared: dict[str, Any] = declared, tool: dict[str, Any] = tool,
                     properties: dict[str, tuple[dict[str, Any], bool]] = properties,
                     explicit: Any = explicit, offered: str = offered) -> Argument | None:
                if ref is None:
                    return Argument(param, "literal", literal=literal)
                if ref not in properties:
                    mapped = tool.get("with") or {}
                    if declared or explicit is not None:
                        if param.name not in mapped and not param.required:
                            return None  # an optional upstream parameter the tool does not offer: not sent
                        need = (f"`{param.name}` is a required {param.location} parameter of "
                                f"`{tool.get('call')}`: " if param.required and param.location != "variable" else "")
                        self.error(where + ("with",) if param.name in mapped else where, "E107",
                                   f"`{param.name}` is taken from `{ref}`, which tool `{name}` does not declare",
                                   hint=f"{need}add `{ref}` to the tool's {offered}")
                        return None
                    # no declared inputs: the tool's arguments are the consumed parameters it fills
                    properties[ref] = (param.schema, param.required)
                return Argument(param, "input", input_name=ref)

            planned = self.plan(tool, xbase, tool_namespaces, set(properties), fill)
            if planned is None:
                continue
            call, steps, output = planned
            fmt = self.formats.get(f"{call.operation.consumer}.{call.operation.name}", "json") if call else "json"
            if fmt in ("binary", *_SCHEMA_FORMATS) and output.kind == "raw":
                self.unsupported(xbase + ("call",), "an MCP tool returning a `binary` answer" if fmt == "binary"
                                 else f"an MCP tool returning an `outputRawFormat: {fmt}` answer whole (bytes)",
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
                    input_schema=explicit if isinstance(explicit, dict) else {
                        **_object_schema(properties), "additionalProperties": False},
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
        resources = self.mcp_resources(spec, base)
        readers = dedupe([t.handler for t in tools] + [
            "read_" + python_identifier(r.name, fallback="resource") for r in resources])[len(tools):]
        return McpAdapter(
            namespace=str(spec.get("namespace", "")),
            port=int(spec.get("port", 9090)),
            address=str(spec.get("address", _DEFAULT_HOST)),
            transport="stdio" if transport == "stdio" else "http",
            description=str(spec.get("description", "") or ""),
            tools=tuple(tools),
            auth=self.exposed_auth(spec.get("authentication"), base + ("authentication",),
                                   str(spec.get("namespace", "") or self.package)),
            resources=tuple(McpResource(**{**r.__dict__, "handler": h}) for r, h in zip(resources, readers, strict=True)),
            prompts=self.mcp_prompts(spec, base),
            file_resources=tuple(self.file_resources),
        )

    # --- MCP tool input schemas, resources and prompts ------------------------------------------

    def tool_parameter_schema(self, spec: dict[str, Any]) -> dict[str, Any]:
        """A tool's declared argument: its type defaults to string, as the engine's does."""
        schema = self.parameter_schema(spec, "body")
        return schema if "type" in schema else {"type": "string", **schema}

    def explicit_input_schema(self, tool: dict[str, Any], tbase: JsonPath) -> dict[str, Any] | None | bool:
        """A tool's own `inputSchema`: the schema itself, None when absent, False when refused.

        It replaces what `inputParameters` would declare, so giving both is ambiguous."""
        if "inputSchema" not in tool:
            return None
        from jsonschema import Draft202012Validator  # imported only when a spec gives a schema
        from jsonschema.exceptions import SchemaError

        schema = tool["inputSchema"]
        path = tbase + ("inputSchema",)
        if tool.get("inputParameters"):
            self.error(path, "E191", "a tool declares its arguments twice: `inputSchema` and `inputParameters`",
                       "keep one: `inputSchema` (a JSON Schema) or `inputParameters` (a list)")
            return False
        problem, where = "", path
        if not isinstance(schema, dict):
            problem = "it is not a mapping"
        elif schema.get("type") != "object":
            problem = "its `type` is not `object` (MCP tool arguments are an object)"
        elif not isinstance(schema.get("properties", {}), dict):
            problem = "its `properties` is not a mapping"
        elif not isinstance(schema.get("required", []), list) or not all(
                isinstance(r, str) for r in schema.get("required", [])):
            problem = "its `required` is not a list of names"
        else:
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                problem, where = exc.message, path + tuple(exc.path)
        if problem:
            self.error(where, "E190", f"`inputSchema` is not a JSON Schema for an object: {problem}",
                       "write `inputSchema: {type: object, properties: {...}, required: [...]}`")
            return False
        return schema

    def mcp_resources(self, spec: dict[str, Any], base: JsonPath) -> tuple[McpResource, ...]:
        out: list[McpResource] = []
        seen: dict[str, JsonPath] = {}
        for ri, res in enumerate(spec.get("resources") or []):
            rbase = base + ("resources", ri)
            if not isinstance(res, dict):
                continue
            name = str(res.get("name", ""))
            uri = str(res.get("uri", ""))
            if "location" in res:
                if uri in seen:
                    self.error(rbase + ("uri",), "E193",
                               f"MCP resource URI `{uri}` is declared twice (first on line "
                               f"{self.doc.position(seen[uri]).line})", "a URI names one resource: change one of them")
                    continue
                seen[uri] = rbase + ("uri",)
                self.file_resource(res, rbase)
                continue
            if "steps" in res or "call" not in res:
                self.unsupported(rbase, "an MCP resource without `call` (orchestration `steps`)")
                continue
            variables = _URI_VARIABLE.findall(uri)
            rest = _URI_VARIABLE.sub("", uri)
            if "{" in rest or "}" in rest:
                self.unsupported(rbase + ("uri",), f"the URI template `{uri}` (only `{{name}}` variables are)")
                continue
            if len(set(variables)) != len(variables):
                self.error(rbase + ("uri",), "E192", f"the URI template `{uri}` names a variable twice",
                           "give each variable its own name")
                continue
            if uri in seen:
                self.error(rbase + ("uri",), "E193",
                           f"MCP resource URI `{uri}` is declared twice (first on line "
                           f"{self.doc.position(seen[uri]).line})", "a URI names one resource: change one of them")
                continue
            seen[uri] = rbase + ("uri",)
            call = str(res["call"])
            if call not in self.operations:
                self.error(rbase + ("call",), "E101", f"`call: {call}` names no consumed operation",
                           "known operations: " + ", ".join(sorted(self.operations)))
                continue
            target = self.operations[call]
            accepted = {p.name for p in target.parameters} | {p.input for p in target.parameters if p.input}
            bad = [k for k in (res.get("with") or {}) if str(k) not in accepted]
            for key in bad:
                self.error(rbase + ("with", key), "E103", f"`with: {key}` sets no input parameter of `{call}`")
            resolved = self.call(res, rbase, {str(spec.get("namespace", ""))} | set(variables))
            output = self.output(res.get("outputParameters"), rbase + ("outputParameters",))
            if output is not None and output.kind != "passthrough":
                # the resource's content is the upstream body as received; nothing reshapes it yet
                self.unsupported(rbase + ("outputParameters",), "an output mapping on an MCP resource")
                output = None
            if bad or resolved is None or output is None:
                continue
            _target, pairs = resolved
            mapped = res.get("with") or {}
            arguments: list[Argument] = []
            failed = False
            for param, ref, literal in pairs:
                if ref is None:
                    arguments.append(Argument(param, "literal", literal=literal))
                elif ref in variables:
                    arguments.append(Argument(param, "input", input_name=ref))
                elif param.name in mapped:
                    self.error(rbase + ("with", param.name), "E192",
                               f"`{param.name}` is taken from `{ref}`, which is not a variable of the URI `{uri}`",
                               f"add `{{{ref}}}` to the URI, or give a fixed value")
                    failed = True
                elif param.required:
                    self.error(rbase, "E192",
                               f"resource `{name}` leaves the required parameter `{param.name}` of `{call}` unset",
                               f"add `{{{param.name}}}` to the URI, or `with: {{{param.name}: <value>}}`")
                    failed = True
            if failed:
                continue
            typed: dict[str, tuple[dict[str, Any], bool]] = {v: ({"type": "string"}, True) for v in variables}
            for a in reversed(arguments):  # the first parameter a variable fills gives its type
                if a.source == "input":
                    typed[a.input_name] = ({k: v for k, v in a.param.schema.items() if k != "description"}
                                           or {"type": "string"}, True)
            pattern = "".join(
                "([^/]+)" if i % 2 else re.escape(piece) for i, piece in enumerate(_URI_VARIABLE.split(uri)))
            out.append(McpResource(
                name=name,
                handler="",
                title=str(res.get("label", "") or ""),
                uri=uri,
                description=str(res.get("description", "") or ""),
                mime_type=str(res.get("mimeType", "") or "application/json"),
                variables=tuple(variables),
                pattern=pattern,
                input_schema={**_object_schema(typed), "additionalProperties": False},
                call=Call(target, tuple(arguments)),
                output=output,
            ))
        return tuple(out)

    def file_resource(self, res: dict[str, Any], rbase: JsonPath) -> None:
        """A directory of files served as resources; kept in `self.file_resources`."""
        uri = str(res.get("uri", ""))
        location = urlsplit(str(res["location"]))
        directory = unquote(location.path)
        if location.scheme != "file" or location.netloc or not directory.startswith("/"):
            self.error(rbase + ("location",), "E195", f"`location: {res['location']}` is not a `file:///` directory",
                       "write an absolute path: `location: file:///srv/docs`")
            return
        if "{" in uri or "}" in uri or not uri or uri.endswith("/"):
            self.error(rbase + ("uri",), "E195",
                       f"the URI `{uri}` of files served from a directory must be a plain prefix",
                       "files are served as `<uri>/<relative path>`: drop variables and the trailing `/`")
            return
        name = str(res.get("name", ""))
        self.file_resources.append(McpFileResource(
            name=name,
            title=str(res.get("label", "") or ""),
            uri=uri,
            description=str(res.get("description", "") or ""),
            mime_type=str(res.get("mimeType", "") or ""),
            directory=str(PurePosixPath(directory)),
            directory_env=f"{env_prefix(self.package)}_{env_prefix(name)}_DIR",
        ))

    def mcp_prompts(self, spec: dict[str, Any], base: JsonPath) -> tuple[McpPrompt, ...]:
        out: list[McpPrompt] = []
        seen: dict[str, JsonPath] = {}
        for pi, prompt in enumerate(spec.get("prompts") or []):
            pbase = base + ("prompts", pi)
            if not isinstance(prompt, dict):
                continue
            name = str(prompt.get("name", ""))
            if name in seen:
                self.error(pbase + ("name",), "E194", f"MCP prompt `{name}` is declared twice (first on line "
                           f"{self.doc.position(seen[name]).line})", "rename one of them")
                continue
            seen[name] = pbase + ("name",)
            file = ""
            if "location" in prompt:
                location = urlsplit(str(prompt["location"]))
                file = unquote(location.path)
                if location.scheme != "file" or location.netloc or not file.startswith("/") or file.endswith("/"):
                    self.error(pbase + ("location",), "E195", f"`location: {prompt['location']}` is not a `file:///` file",
                               "write an absolute path: `location: file:///srv/prompts/review.md`")
                    continue
            arguments = tuple(
                PromptArgument(str(a["name"]), str(a.get("label", "") or ""), str(a.get("description", "") or ""),
                               bool(a.get("required", True)))
                for a in prompt.get("arguments") or [] if isinstance(a, dict))
            known = {a.name for a in arguments}
            messages: list[PromptMessage] = []
            for mi, message in enumerate(prompt.get("template") or []):
                pieces = _PROMPT_PLACEHOLDER.split(str(message.get("content", "")))
                parts: list[tuple[str, str]] = []
                text = ""
                for i, piece in enumerate(pieces):
                    if i % 2 == 0:
                        text += piece
                    elif piece in known:
                        if text:
                            parts.append(("text", text))
                        parts.append(("argument", piece))
                        text = ""
                    else:  # not an argument: the text stays as written, as the reference engine does
                        text += "{{" + piece + "}}"
                        self.diagnostics.append(self.doc.diagnostic(
                            pbase + ("template", mi, "content"), "W270",
                            f"`{{{{{piece}}}}}` names no argument of prompt `{name}`; it is kept as text",
                            hint=f"declare `{piece}` under the prompt's arguments", severity=Severity.WARNING))
                if text:
                    parts.append(("text", text))
                messages.append(PromptMessage(str(message.get("role", "user")), tuple(parts)))  # type: ignore[arg-type]
            out.append(McpPrompt(
                name=name,
                title=str(prompt.get("label", "") or ""),
                description=str(prompt.get("description", "") or ""),
                arguments=arguments,
                messages=tuple(messages),
                file=str(PurePosixPath(file)) if file else "",
                file_env=f"{env_prefix(self.package)}_{env_prefix(name)}_PROMPT_FILE" if file else "",
            ))
        return tuple(out)

    def bind_files(self, used: set[str]) -> tuple[BindFile, ...]:
        """Binds read from a file (`location`, docs/semantics.md "Binds from files"): the
        file and the keys of it that some template uses (`used`: the variables the package
        reads). A file no template uses is never read (its keys get W202)."""
        out = []
        for i, bind in enumerate(self.data.get("binds") or []):
            if not isinstance(bind, dict) or not bind.get("location"):
                continue
            namespace = str(bind.get("namespace", ""))
            file = _bind_file(str(bind["location"]))
            if file is None:
                self.error(("binds", i, "location"), "E200",
                           f"`location: {bind['location']}` is not a local file URI",
                           "write `file:///./secrets.yaml` (relative to the working directory) "
                           "or `file:///etc/app/secrets.yaml`")
                continue
            keys: dict[Any, Any] = bind["keys"] if isinstance(bind.get("keys"), dict) else {}
            taken = tuple((str(k), str(v)) for k, v in keys.items() if str(k) in used)
            if taken:
                out.append(BindFile(namespace, file, f"{env_prefix(self.package)}_{env_prefix(namespace)}_BINDS_FILE",
                                    taken))
        return tuple(out)

    def other_exposes(self) -> None:
        for i, adapter in enumerate(self.data.get("capability", {}).get("exposes", []) or []):
            if adapter.get("type") not in ("rest", "mcp", "control", "skill"):
                self.unsupported(("capability", "exposes", i, "type"), f"the `{adapter.get('type')}` adapter")

    def control(self, rest: RestAdapter | None, mcp: McpAdapter | None) -> ControlAdapter | None:
        """The control port (docs/semantics.md, "The control adapter"): engine-defined endpoints
        whose switches the spec sets. What would run code or send data elsewhere is refused."""
        exposes = [a for a in self.data.get("capability", {}).get("exposes", []) or [] if isinstance(a, dict)]
        found = [(i, a) for i, a in enumerate(exposes) if a.get("type") == "control"]
        if not found:
            return None
        for i, _extra in found[1:]:
            self.error(("capability", "exposes", i, "type"), "E230",
                       "a capability has at most one control adapter",
                       "the control port reports on the whole capability; keep one `type: control` entry")
        ai, spec = found[0]
        base: JsonPath = ("capability", "exposes", ai)
        management = spec.get("management") or {}
        observability = spec.get("observability") or {}
        # as on REST and MCP adapters; every path of the port requires it, as in the engine
        auth = self.exposed_auth(spec.get("authentication"), base + ("authentication",), "control")
        if "scripting" in management:
            self.unsupported(base + ("management", "scripting"), "scripting governance (`management.scripting`)",
                             "`/scripting` governs script steps, which run code from files outside the spec; "
                             "naftiko-gen generates no script runtime")
        for key in ("reload", "validate", "logs"):
            if management.get(key):
                self.unsupported(base + ("management", key), f"the control port's `management.{key}` endpoints",
                                 "a generated package is changed by regenerating it, and logs go to stderr "
                                 "as JSON lines")
        exporters = observability.get("exporters") or {}
        for name in exporters:
            self.unsupported(base + ("observability", "exporters", name),
                             f"the `{name}` telemetry exporter",
                             "the generated package keeps its spans and metrics on the control port "
                             "(`/traces`, `/metrics`); scrape those, or remove the exporter")
        port = int(spec.get("port", 9099))
        address = str(spec.get("address", _DEFAULT_HOST))
        taken: list[tuple[int, str]] = [(rest.port, "REST")] if rest is not None else []
        if mcp is not None and mcp.transport == "http":  # a stdio server listens on no port
            taken.append((mcp.port, "MCP"))
        for other_port, kind in taken:
            if other_port == port:
                self.error(base + ("port",), "E231",
                           f"the control port {port} is the {kind} adapter's port too",
                           "`python -m <package> serve` runs every adapter in one process, each on its "
                           "own port; give the control adapter another one")
        if auth is None and "authentication" not in spec and address not in ("localhost", "127.0.0.1", "::1") \
                and not address.startswith("127."):
            self.diagnostics.append(self.doc.diagnostic(
                base + ("address",), "W320",
                f"the control port listens on `{address}`, beyond this machine, without authentication",
                hint="anyone who reaches it reads the health, metrics and recent traces of the capability; "
                "bind it to `localhost`, or add `authentication`",
                severity=Severity.WARNING))
        enabled = observability.get("enabled", True) is not False
        traces = observability.get("traces") or {}
        local_traces = traces.get("local") or {}
        local_metrics = (observability.get("metrics") or {}).get("local") or {}
        mcp_spec = next((a for a in exposes if a.get("type") == "mcp"), None)
        adapters = []
        for a in exposes:
            kind = str(a.get("type"))
            if kind == "rest" and a is next(x for x in exposes if x.get("type") == "rest"):
                adapters.append(ExposedAdapter("rest", str(a.get("namespace", "")), int(a.get("port", 8080))))
            elif kind == "mcp" and a is mcp_spec and mcp is not None and mcp.transport == "http":
                # a stdio server belongs to the client that starts it, not to `serve`
                adapters.append(ExposedAdapter("mcp", str(a.get("namespace", "")), int(a.get("port", 9090))))
            elif kind == "control" and a is spec:
                adapters.append(ExposedAdapter("control", "", port))
        return ControlAdapter(
            address=address,
            port=port,
            health=management.get("health", True) is not False,
            info=management.get("info", False) is True,
            telemetry=enabled,
            metrics=enabled and local_metrics.get("enabled", True) is not False,
            traces=enabled and local_traces.get("enabled", True) is not False,
            buffer_size=int(local_traces.get("buffer-size", 100)),
            sampling=float(traces.get("sampling", 1.0)),
            propagation="b3" if traces.get("propagation") == "b3" else "w3c",
            adapters=tuple(adapters),
            auth=auth,
        )

    def forwarded(self, consumers: list[Consumer]) -> list[Consumer]:
        """The consumed APIs a `forward` targets carry their API-wide fixed header and query
        parameters, which forwarded requests send as operations do."""
        targets = {str((r.get("forward") or {}).get("targetNamespace", ""))
                   for a in self.data.get("capability", {}).get("exposes", []) or [] if a.get("type") == "rest"
                   for r in a.get("resources", []) or [] if isinstance(r, dict)}
        out = []
        for ci, spec in enumerate(self.data.get("capability", {}).get("consumes", []) or []):
            match = [c for c in consumers if c.namespace == str(spec.get("namespace"))]
            if not match or match[0].namespace not in targets:
                continue
            headers: list[Any] = []
            query: list[Any] = []
            for pi, p in enumerate(spec.get("inputParameters") or []):
                fixed = p.get("value", p.get("const"))
                where = p.get("in", "query")
                if fixed is None or where not in ("header", "query"):
                    if where in ("header", "query", "path", "body", "cookie"):
                        self.unsupported(("capability", "consumes", ci, "inputParameters", pi),
                                         "an API-wide parameter without a fixed `value` on a `forward` target")
                    continue
                text = str(fixed).lower() if isinstance(fixed, bool) else str(fixed)
                (headers if where == "header" else query).append((str(p["name"]), self.template(text)))
            out.append(Consumer(**{**match[0].__dict__, "forward_headers": tuple(headers),
                                   "forward_query": tuple(query), "forwarded": True}))
        replaced = {c.namespace: c for c in out}
        return [replaced.get(c.namespace, c) for c in consumers]

    def build(self) -> Capability:
        consumers = self.consumers()
        consumers = self.forwarded(consumers)
        self.consumer_models = {c.namespace: c for c in consumers}
        rest = self.rest()
        mcp = self.mcp()
        skill = skill_adapter(self.doc, self.package, self.diagnostics)
        self.other_exposes()
        control = self.control(rest, mcp)
        if has_errors(self.diagnostics):
            raise Diagnosed(sorted(set(self.diagnostics)))
        info = self.data.get("info") or {}
        required: set[str] = set()
        for consumer in consumers:
            templates: list[Template | None] = list(consumer.auth.templates) if consumer.auth else []
            templates += [p.fixed for op in consumer.operations for p in op.parameters]
            if not consumer.unbound:
                templates.append(consumer.base_uri_template)
            templates += [t for _, t in consumer.forward_headers + consumer.forward_query]
            for t in templates:
                if t is not None:
                    required.update(t.env_vars)
            for op in consumer.operations:
                if op.body_template is not None:
                    required.update(op.body_template.env_vars)
        exposed = [a.auth for a in (rest, mcp, control) if a is not None and a.auth is not None]
        bind_files = self.bind_files(required | {v for auth in exposed for v in auth.env_vars})
        if has_errors(self.diagnostics):
            raise Diagnosed(sorted(set(self.diagnostics)))
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
            bind_files=bind_files,
            control=control,
            spec_version=str(self.data.get("naftiko", "")),
            skill=skill,
        )


def _bind_file(location: str) -> str | None:
    """The path a bind's `location` names: `file:///./x` and `file://./x` are `./x` (relative
    to the working directory, as in the engine), `file:///srv/x` is absolute; None for any
    other URI."""
    if not location.startswith("file://"):
        return None
    rest = unquote(location[len("file://"):])
    if rest.startswith(("/./", "/../")):
        rest = rest[1:]
    if not rest.startswith(("./", "../", "/")) or rest.endswith("/") or "\x00" in rest:
        return None
    return rest


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


def spec_has_operations(path: JsonPath, data: Any) -> bool:
    """Whether the exposed REST resource at `path` declares operations."""
    node = data
    for part in path:
        node = node[part]
    return bool(node.get("operations")) if isinstance(node, dict) else False


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


def _member_path(text: str) -> tuple[str, ...] | None:
    """`$.user.id` -> ("user", "id"); None for a JSONPath that is not a chain of member names."""
    try:
        parsed = parse_path(text)
    except PathError:
        return None
    if not parsed or not all(isinstance(step, str) for step in parsed):
        return None
    return tuple(str(step) for step in parsed)


def _fields_schema(fields: list[RestInput]) -> dict[str, Any] | None:
    """The request body object that carries `fields` (nested where a field is read deeper): each
    member required when its input is."""
    if not fields:
        return None
    root: dict[str, Any] = {"type": "object", "properties": {}}
    for f in fields:
        node = root
        for part in f.field[:-1]:
            child = node["properties"].setdefault(part, {"type": "object", "properties": {}})
            if f.required and part not in node.setdefault("required", []):
                node["required"].append(part)
            node = child
        node["properties"][f.field[-1]] = {**f.schema, **({"description": f.description} if f.description else {})}
        if f.required:
            node.setdefault("required", []).append(f.field[-1])
    return root


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

