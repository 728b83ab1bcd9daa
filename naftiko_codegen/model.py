"""The typed model: every decision about the generated package, made once, before rendering.

Templates read these objects and nothing else. Strings that came from the spec are kept as
plain `str` and reach code only through the escaping filters in `render.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

# "variable": a value only templates use (a body template's `{{x}}`); it is not sent by itself.
Location = Literal["path", "query", "header", "cookie", "body", "variable"]

# Liveness and readiness probes every generated REST service answers.
HEALTH_PATHS = ("/healthz", "/readyz")

_PY_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "object": "dict[str, Any]",
    "array": "list[Any]",
    "null": "None",
}


@dataclass(frozen=True)
class TemplatePart:
    """A piece of a `{{...}}` template: literal text, or the value of an environment variable."""

    literal: str = ""
    env: str = ""  # environment variable name when this part is a variable


@dataclass(frozen=True)
class Template:
    parts: tuple[TemplatePart, ...]

    @property
    def env_vars(self) -> tuple[str, ...]:
        return tuple(p.env for p in self.parts if p.env)

    @property
    def is_literal(self) -> bool:
        return not self.env_vars

    @property
    def literal(self) -> str:
        return "".join(p.literal for p in self.parts)


@dataclass(frozen=True)
class Auth:
    kind: Literal["basic", "bearer", "apikey"]
    username: Template | None = None  # basic
    password: Template | None = None  # basic
    token: Template | None = None  # bearer
    key: str = ""  # apikey: header or query parameter name
    value: Template | None = None  # apikey
    placement: Literal["header", "query"] = "header"


@dataclass(frozen=True)
class Parameter:
    """A consumed operation's input: what the caller supplies, where it goes upstream."""

    name: str  # as on the wire
    arg: str  # Python keyword argument
    location: Location
    schema: dict[str, Any]
    required: bool
    description: str
    fixed: Template | None = None  # `value`/`const`: not an argument, always sent

    @property
    def py_type(self) -> str:
        """The Python annotation of the argument."""
        kind = self.schema.get("type")
        base = _PY_TYPES.get(kind, "Any") if isinstance(kind, str) else "Any"
        return base if self.required else f"{base} | None"


@dataclass(frozen=True)
class BodyPart:
    """A piece of a string in a body template: literal text, an argument or an environment
    variable, joined as text."""

    literal: str = ""
    arg: str = ""  # Python argument whose value is written as text
    env: str = ""  # environment variable


@dataclass(frozen=True)
class BodyNode:
    """A node of a JSON body template (docs/semantics.md, "Request bodies and parameters").

    `argument`: a string that is exactly one `{{x}}`, replaced by the value with its JSON type;
    when `optional` and the caller gives none, the object member or array item is left out.
    `text`: a string with placeholders inside longer text, always a string.
    """

    kind: Literal["object", "array", "literal", "argument", "text"]
    members: tuple[tuple[str, BodyNode], ...] = ()  # object
    items: tuple[BodyNode, ...] = ()  # array
    literal: Any = None  # a JSON scalar, sent as written
    arg: str = ""  # argument
    optional: bool = False  # argument
    parts: tuple[BodyPart, ...] = ()  # text

    def walk(self) -> tuple[BodyNode, ...]:
        nodes: list[BodyNode] = [self]
        for child in (*(n for _, n in self.members), *self.items):
            nodes.extend(child.walk())
        return tuple(nodes)

    @property
    def env_vars(self) -> tuple[str, ...]:
        return tuple(p.env for n in self.walk() for p in n.parts if p.env)

    @property
    def omits(self) -> bool:
        """Whether some member or item may be left out."""
        return any(n.kind == "argument" and n.optional for n in self.walk())


@dataclass(frozen=True)
class ConsumedOperation:
    name: str
    method_name: str  # Python method on the client
    http_method: str
    path: str  # relative to the base URI, as `{name}` placeholders
    description: str
    parameters: tuple[Parameter, ...]
    # "value": one body parameter sent as is; "object": several, as an object; "template": the
    # operation's `body` template, filled from the arguments (`body_template`)
    body: Literal["none", "value", "object", "template"]
    consumer: str  # namespace
    # Whether the client may resend it after a failure that may have reached the server: see
    # `build.retryable` and docs/semantics.md ("Retries").
    retryable: bool = False
    body_template: BodyNode | None = None

    @property
    def arguments(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.fixed is None)

    def by_location(self, location: Location) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == location)

    @property
    def uses_secrets(self) -> bool:
        return any(p.fixed is not None and p.fixed.env_vars for p in self.parameters) or bool(
            self.body_template and self.body_template.env_vars
        )


@dataclass(frozen=True)
class Consumer:
    namespace: str
    attr: str  # Python identifier for this consumer
    base_uri: str  # as written in the spec
    base_uri_env: str  # environment variable that overrides the base URI
    auth: Auth | None
    operations: tuple[ConsumedOperation, ...]
    # The default base URI: `{{X}}` parts read from the environment. None when it has OpenAPI
    # server variables (`https://{store}.example.com`) that nothing binds: then the base URI
    # must be configured (`unbound` names them).
    base_uri_template: Template | None = None
    unbound: tuple[str, ...] = ()


@dataclass(frozen=True)
class Argument:
    """How one argument of a consumed operation is filled by an exposed operation or tool."""

    param: Parameter
    source: Literal["input", "literal"]
    input_name: str = ""  # the exposed input that supplies it
    literal: Any = None


@dataclass(frozen=True)
class Output:
    """What an exposed operation returns. `passthrough`: the upstream JSON unchanged."""

    kind: Literal["passthrough"]
    schema: dict[str, Any]  # JSON Schema of the result (MCP output schema)


@dataclass(frozen=True)
class Call:
    operation: ConsumedOperation
    arguments: tuple[Argument, ...]


@dataclass(frozen=True)
class RestInput:
    name: str
    location: Literal["path", "query", "header", "body"]  # body: the whole JSON request body
    schema: dict[str, Any]
    required: bool
    description: str

    @property
    def route_key(self) -> str:
        """The name of a path variable in the route (Starlette accepts identifiers only)."""
        return route_variable(self.name)


def route_variable(name: str) -> str:
    """`{x-id}` -> `x_id`: Starlette path variables must be identifiers (any, keywords too)."""
    text = re.sub(r"\W", "_", name, flags=re.ASCII)
    return text if text and not text[0].isdigit() else f"v_{text}"


@dataclass(frozen=True)
class RestRoute:
    path: str  # as written in the spec
    aliases: tuple[str, ...]  # extra paths served by the same handler (normalised forms)
    http_method: str
    handler: str  # Python function name
    operation_id: str
    summary: str
    description: str
    inputs: tuple[RestInput, ...]
    input_schema: dict[str, Any]  # JSON Schema over {input name: value}
    call: Call
    output: Output

    @property
    def body_input(self) -> RestInput | None:
        return next((i for i in self.inputs if i.location == "body"), None)


@dataclass(frozen=True)
class RestAdapter:
    namespace: str
    port: int
    address: str
    description: str
    routes: tuple[RestRoute, ...]

    @property
    def needs_coercion(self) -> bool:
        return any(i.location != "body" for r in self.routes for i in r.inputs)

    @property
    def health_paths(self) -> tuple[str, ...]:
        """The built-in probes this service answers: those the spec does not take for a GET."""
        taken = {p for r in self.routes if r.http_method == "GET" for p in (r.path, *r.aliases)}
        return tuple(p for p in HEALTH_PATHS if p not in taken)


@dataclass(frozen=True)
class McpTool:
    name: str
    handler: str
    title: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    annotations: dict[str, bool]  # snake_case ToolAnnotations fields
    call: Call
    output: Output


@dataclass(frozen=True)
class McpAdapter:
    namespace: str
    port: int
    address: str
    transport: Literal["http", "stdio"]
    description: str
    tools: tuple[McpTool, ...]


@dataclass(frozen=True)
class Capability:
    package: str
    env_prefix: str
    version: str
    title: str
    description: str
    source: str  # spec path as shown in headers
    source_sha256: str
    consumers: tuple[Consumer, ...]
    rest: RestAdapter | None
    mcp: McpAdapter | None
    generator_version: str
    required_env: tuple[str, ...] = field(default=())  # sorted, every variable a request needs

    @property
    def operations(self) -> tuple[ConsumedOperation, ...]:
        return tuple(op for c in self.consumers for op in c.operations)

    @property
    def client_helpers(self) -> tuple[str, ...]:
        """The `_runtime` helpers the client module uses, so it imports nothing unused."""
        used = {"require_env"} | ({"join_url"} if self.operations else set())
        for consumer in self.consumers:
            if consumer.auth and consumer.auth.kind == "basic":
                used.add("basic_credentials")
            for op in consumer.operations:
                if op.by_location("path"):
                    used.add("expand_path")
                if op.by_location("query"):
                    used.add("add_query")
                if any(p.fixed is None for p in op.by_location("header") + op.by_location("cookie")):
                    used.add("scalar_text")
                if op.body != "none":
                    used.update(("default_header", "dump_json"))
                if op.body_template is not None:
                    if op.body_template.omits:
                        used.update(("omitted", "without_omitted"))
                    if any(p.arg for n in op.body_template.walk() for p in n.parts):
                        used.add("scalar_text")
        return tuple(sorted(used))
