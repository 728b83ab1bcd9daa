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
    """How requests to a consumed API carry its credentials (docs/semantics.md,
    "Authentication and forwarding")."""

    kind: Literal["basic", "bearer", "apikey", "digest", "oauth2", "oauth1"]
    username: Template | None = None  # basic, digest
    password: Template | None = None  # basic, digest
    token: Template | None = None  # bearer
    key: str = ""  # apikey: header or query parameter name
    value: Template | None = None  # apikey
    placement: Literal["header", "query"] = "header"
    # apikey spread over several headers (name, value), sent together on every request
    headers: tuple[tuple[str, Template], ...] = ()
    token_url: str = ""  # oauth2 client credentials: the token endpoint
    token_url_env: str = ""  # oauth2: environment variable that overrides the token endpoint
    client_id: Template | None = None  # oauth2
    client_secret: Template | None = None  # oauth2
    scopes: tuple[str, ...] = ()  # oauth2: requested scopes (none: the server's default)
    consumer_key: Template | None = None  # oauth1
    signing_key: Template | None = None  # oauth1: an RSA private key, PEM text or a PEM file's path

    @property
    def header_pairs(self) -> tuple[tuple[str, Template], ...]:
        """The fixed credential headers an API key sets."""
        if self.kind != "apikey" or self.placement != "header":
            return ()
        if self.headers:
            return self.headers
        return ((self.key, self.value),) if self.value is not None else ()

    @property
    def templates(self) -> tuple[Template, ...]:
        found = [self.username, self.password, self.token, self.value, self.client_id, self.client_secret,
                 self.consumer_key, self.signing_key]
        found += [value for _name, value in self.headers]
        return tuple(t for t in found if t is not None)

    @property
    def sets_authorization(self) -> bool:
        """Whether the credential travels in the `Authorization` header."""
        return self.kind in ("basic", "bearer", "digest", "oauth2", "oauth1")

    @property
    def per_request(self) -> bool:
        """Whether httpx computes the credential for each request (a challenge, a token or a
        signature)."""
        return self.kind in ("digest", "oauth2", "oauth1")


@dataclass(frozen=True)
class ExposedAuth:
    """The credential an exposed adapter requires of its callers, compared in constant time."""

    kind: Literal["bearer", "apikey", "basic"]
    secret: Template  # bearer token, API key value or basic password
    username: Template | None = None  # basic
    key: str = ""  # apikey: header or query parameter name
    placement: Literal["header", "query"] = "header"
    realm: str = ""  # named in the WWW-Authenticate challenge

    @property
    def env_vars(self) -> tuple[str, ...]:
        names = list(self.secret.env_vars) + list(self.username.env_vars if self.username else ())
        return tuple(sorted(set(names)))


@dataclass(frozen=True)
class Forward:
    """An exposed REST path prefix whose requests go on to a consumed API unchanged."""

    prefix: str  # route path up to the placeholder, ending in `/`
    route: str  # Starlette route: `<prefix>{rest:path}`
    handler: str  # Python function name
    consumer: str  # namespace
    consumer_attr: str  # Python identifier of the consumer
    trusted_headers: tuple[str, ...]  # lower case
    description: str


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
    # the caller's input that fills it when `with` does not name it ("": the one named `name`);
    # `value: '{{userId}}'` on `q` makes it `userId`
    input: str = ""

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
    # for `forward` only: the API-wide fixed header and query parameters, sent with each request
    forward_headers: tuple[tuple[str, Template], ...] = ()
    forward_query: tuple[tuple[str, Template], ...] = ()
    forwarded: bool = False  # some exposed `forward` targets it


@dataclass(frozen=True)
class Argument:
    """How one argument of a consumed operation is filled by an exposed operation or tool."""

    param: Parameter
    source: Literal["input", "literal", "step"]
    input_name: str = ""  # the exposed input that supplies it
    literal: Any = None  # the value; for `step`, the parsed JSONPath into earlier steps' results


@dataclass(frozen=True)
class Output:
    """What an exposed operation returns. `passthrough`: the upstream JSON unchanged; `raw`: the
    upstream bytes unchanged, whatever they are (`outputRawFormat: text|binary`); `mapped`: a
    result built by `shape` (see `outputs.py`) from the upstream document, or from the inputs
    alone for a mock."""

    kind: Literal["passthrough", "raw", "mapped"]
    schema: dict[str, Any]  # JSON Schema of the result (MCP output schema when an object)
    shape: Any = None  # mapped: the nested tuple the runtime evaluates
    source: Literal["json", "xml", "csv", "yaml", "html", "markdown"] = "json"  # how the upstream body is read
    # html: the parsed `outputSchema` CSS selector; markdown: its heading prefix (see `reader`)
    option: Any = None

    @property
    def reader(self) -> Any:
        """How the runtime's `read_answer` is told the format: its name, or (name, option)."""
        return self.source if self.option is None else (self.source, self.option)


@dataclass(frozen=True)
class Step:
    """One orchestration step. `call`: a consumed operation whose JSON answer is kept under
    `name`; `lookup`: the objects of step `index` whose `match` field equals the value at
    `value`, reduced to `fields`."""

    kind: Literal["call", "lookup"]
    name: str
    call: Call | None = None
    source: Literal["json", "xml", "csv", "yaml", "html", "markdown"] = "json"
    option: Any = None  # as on `Output`
    index: str = ""
    match: str = ""
    value: tuple[Any, ...] = ()  # ("path", parsed JSONPath into the steps' results) | ("input", name)
    fields: tuple[str, ...] = ()
    # call: the consumed operation's named outputs, (name, parsed JSONPath), added to its answer
    projections: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def runtime(self) -> tuple[Any, ...]:
        """The step as the data `_runtime.run_steps` reads."""
        if self.kind == "lookup":
            return ("lookup", self.name, self.index, self.match, self.value, self.fields)
        assert self.call is not None
        arguments = tuple(
            (a.param.arg, a.source, a.input_name if a.source == "input" else a.literal)
            for a in self.call.arguments
        )
        reader = self.source if self.option is None else (self.source, self.option)
        return ("call", self.name, self.call.operation.method_name, arguments, reader, self.projections)


@dataclass(frozen=True)
class Steps:
    """An orchestration: steps in order, then `mappings` ((target path, JSONPath) pairs) building
    the result; without mappings the last call's answer is the result."""

    steps: tuple[Step, ...]
    mappings: tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...]

    @property
    def runtime(self) -> tuple[Any, ...]:
        return tuple(step.runtime for step in self.steps)


@dataclass(frozen=True)
class Call:
    operation: ConsumedOperation
    arguments: tuple[Argument, ...]


@dataclass(frozen=True)
class RestInput:
    name: str
    # body: the whole JSON request body; field: a member of the JSON request body object
    location: Literal["path", "query", "header", "body", "field"]
    schema: dict[str, Any]
    required: bool
    description: str
    field: tuple[str, ...] = ()  # field: where the value is in the body object (names)

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
    call: Call | None  # None: orchestrated (`steps`) or a mock
    output: Output
    steps: Steps | None = None
    # the JSON Schema of the request body object when inputs are its fields (location "field")
    body_schema: dict[str, Any] | None = None

    @property
    def calls(self) -> str:
        """What the route does upstream, for documentation."""
        return _calls(self.call, self.steps)

    @property
    def answer(self) -> str:
        """How the route answers: passthrough, raw, mapped (one call), steps, mock or empty."""
        return "empty" if self.empty else _answer(self.call, self.steps, self.output)

    @property
    def empty(self) -> bool:
        """A mock without outputs: nothing is called and nothing answered (204)."""
        return self.call is None and self.steps is None and self.output.shape == ("object", (), ())

    @property
    def body_input(self) -> RestInput | None:
        return next((i for i in self.inputs if i.location == "body"), None)

    @property
    def body_fields(self) -> tuple[RestInput, ...]:
        return tuple(i for i in self.inputs if i.location == "field")

    @property
    def body_verbatim(self) -> bool:
        """The JSON request body is, unchanged, the consumed operation's whole body: the service
        checks it, then sends the caller's bytes instead of re-serialising the parsed value."""
        body = self.body_input
        if body is None or self.call is None or self.call.operation.body != "value":
            return False
        return any(a.source == "input" and a.input_name == body.name and a.param.location == "body"
                   and a.param.fixed is None for a in self.call.arguments)


@dataclass(frozen=True)
class RestAdapter:
    namespace: str
    port: int
    address: str
    description: str
    routes: tuple[RestRoute, ...]
    auth: ExposedAuth | None = None
    forwards: tuple[Forward, ...] = ()

    @property
    def answers(self) -> frozenset[str]:
        """How its routes answer; `mappings` too when an orchestration maps its result."""
        mapped = {"mappings"} if any(r.steps and r.steps.mappings for r in self.routes) else set()
        return frozenset({r.answer for r in self.routes} | mapped)

    @property
    def calls_upstream(self) -> bool:
        return any(r.answer not in ("mock", "empty") for r in self.routes)

    @property
    def verbatim_bodies(self) -> bool:
        return any(r.body_verbatim for r in self.routes)

    @property
    def needs_coercion(self) -> bool:
        return any(i.location not in ("body", "field") for r in self.routes for i in r.inputs)

    @property
    def reads_fields(self) -> bool:
        """Some route reads its inputs from the members of a JSON request body object."""
        return any(r.body_fields for r in self.routes)

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
    call: Call | None  # None: orchestrated (`steps`) or a mock
    output: Output
    steps: Steps | None = None

    @property
    def calls(self) -> str:
        """What the tool does upstream, for documentation."""
        return _calls(self.call, self.steps)

    @property
    def answer(self) -> str:
        """How the tool answers: passthrough, raw, mapped (one call), steps or mock."""
        return _answer(self.call, self.steps, self.output)

    @property
    def header_checked(self) -> bool:
        """Whether its input schema holds an `x-mcp-header` annotation anywhere: only then does
        the MCP SDK have `Mcp-Param-*` headers of a call to check against the arguments."""
        return _has_key(self.input_schema, MCP_HEADER_KEYWORD)


MCP_HEADER_KEYWORD = "x-mcp-header"


def _has_key(value: Any, key: str) -> bool:
    """Whether `key` is a key of any mapping inside the JSON-like `value`."""
    if isinstance(value, dict):
        return key in value or any(_has_key(v, key) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_key(v, key) for v in value)
    return False


def _answer(call: Call | None, steps: Steps | None, output: Output) -> str:
    if steps is not None:
        return "steps"
    if call is None:
        return "mock"
    return output.kind


def _calls(call: Call | None, steps: Steps | None) -> str:
    if call is not None:
        return call.operation.method_name
    if steps is not None:
        return ", ".join(s.call.operation.method_name if s.call else f"lookup {s.name}" for s in steps.steps)
    return "nothing (mock)"


@dataclass(frozen=True)
class McpResource:
    """An MCP resource whose content is the answer of one consumed operation.

    A `uri` without `{var}` is concrete (resources/list); with variables it is a template
    (resources/templates/list) and `pattern` matches the URIs it stands for, one path segment
    per variable."""

    name: str
    handler: str  # Python function that reads it
    title: str
    uri: str
    description: str
    mime_type: str
    variables: tuple[str, ...]  # template variables, in order of appearance; empty: concrete
    pattern: str  # full-match regex over a requested URI, one group per variable, in order
    input_schema: dict[str, Any]  # JSON Schema over {variable: value}, typed as what it fills
    call: Call  # arguments of source "input" name a variable
    output: Output


@dataclass(frozen=True)
class McpFileResource:
    """MCP resources served from the files under a directory (`location: file:///dir`): each
    regular file is the resource `<uri>/<relative path>`, read when asked for."""

    name: str
    title: str
    uri: str  # prefix of every file's URI, without a trailing `/`
    description: str
    mime_type: str  # empty: guessed from each file's name
    directory: str  # absolute path from the spec
    directory_env: str  # environment variable that overrides it


@dataclass(frozen=True)
class PromptArgument:
    name: str
    title: str
    description: str
    required: bool


@dataclass(frozen=True)
class PromptMessage:
    """A message of a prompt, split at its `{{argument}}` placeholders when the prompt is
    built: `parts` alternate literal text and argument names, so rendering is a join."""

    role: Literal["user", "assistant"]
    parts: tuple[tuple[Literal["text", "argument"], str], ...]


@dataclass(frozen=True)
class McpPrompt:
    name: str
    title: str
    description: str
    arguments: tuple[PromptArgument, ...]
    messages: tuple[PromptMessage, ...]  # empty for a prompt read from a file
    file: str = ""  # `location`: the file whose text is the one user message, read when asked
    file_env: str = ""  # environment variable that replaces `file`


@dataclass(frozen=True)
class McpAdapter:
    namespace: str
    port: int
    address: str
    transport: Literal["http", "stdio"]
    description: str
    tools: tuple[McpTool, ...]
    auth: ExposedAuth | None = None

    @property
    def answers(self) -> frozenset[str]:
        """How its tools answer; `mappings` too when an orchestration maps its result."""
        mapped = {"mappings"} if any(t.steps and t.steps.mappings for t in self.tools) else set()
        return frozenset({t.answer for t in self.tools} | mapped)

    resources: tuple[McpResource, ...] = ()
    prompts: tuple[McpPrompt, ...] = ()
    file_resources: tuple[McpFileResource, ...] = ()

    @property
    def file_prompts(self) -> tuple[McpPrompt, ...]:
        return tuple(p for p in self.prompts if p.file)

    @property
    def header_checked_tools(self) -> tuple[str, ...]:
        """The tools whose calls the SDK checks for `Mcp-Param-*` headers (`x-mcp-header`)."""
        return tuple(t.name for t in self.tools if t.header_checked)

    @property
    def serves_resources(self) -> bool:
        return bool(self.resources or self.file_resources)

    @property
    def concrete_resources(self) -> tuple[McpResource, ...]:
        return tuple(r for r in self.resources if not r.variables)

    @property
    def resource_templates(self) -> tuple[McpResource, ...]:
        return tuple(r for r in self.resources if r.variables)


@dataclass(frozen=True)
class BindFile:
    """A bind read from a file (`location`): each key's value is the file's top-level entry
    `file_key`, unless the environment variable named like the key is set."""

    namespace: str
    file: str  # as the spec gives it, relative to the working directory unless absolute
    file_env: str  # environment variable naming another file
    keys: tuple[tuple[str, str], ...]  # (variable, key in the file), only those templates use


@dataclass(frozen=True)
class ExposedAdapter:
    """An exposed adapter as the control port reports it (`/health/ready`, `/status`)."""

    type: str
    namespace: str  # "" for the control adapter, which has none
    port: int


@dataclass(frozen=True)
class ControlAdapter:
    """The `type: control` management port (docs/semantics.md, "The control adapter")."""

    address: str
    port: int
    health: bool  # /health/live and /health/ready
    info: bool  # /status
    telemetry: bool  # observability enabled: requests and upstream calls recorded, context propagated
    metrics: bool  # /metrics served
    traces: bool  # /traces and /traces/{id} served
    buffer_size: int  # traces kept in memory
    sampling: float  # share of new traces recorded (1.0: all)
    propagation: Literal["w3c", "b3"]
    adapters: tuple[ExposedAdapter, ...]  # every adapter of the capability, in spec order
    auth: ExposedAuth | None = None  # required on every path of the port


@dataclass(frozen=True)
class Skill:
    """One skill of a skill catalogue (docs/semantics.md, "The skill adapter"). What the
    catalogue says is fixed here; the files under `directory` are read when asked for."""

    name: str
    summary: dict[str, Any]  # its entry in `GET /skills`
    detail: dict[str, Any]  # `GET /skills/{name}`
    directory: str  # absolute path of its `location`; empty: the skill has no files
    directory_env: str  # environment variable that replaces `directory`


@dataclass(frozen=True)
class SkillAdapter:
    """A read-only HTTP catalogue of agent skills (`type: skill`)."""

    namespace: str
    port: int
    address: str
    description: str
    skills: tuple[Skill, ...]

    @property
    def catalogue(self) -> dict[str, Any]:
        """`GET /skills`: every skill in the order written."""
        return {"count": len(self.skills), "skills": [s.summary for s in self.skills]}

    @property
    def located(self) -> tuple[Skill, ...]:
        """The skills with files."""
        return tuple(s for s in self.skills if s.directory)


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
    bind_files: tuple[BindFile, ...] = field(default=())
    control: ControlAdapter | None = None
    spec_version: str = ""  # `naftiko:` as written, reported by the control port's /status
    skill: SkillAdapter | None = None

    @property
    def telemetry(self) -> bool:
        """Whether the package records its requests and upstream calls (a control adapter with
        observability enabled)."""
        return self.control is not None and self.control.telemetry

    @property
    def file_keys(self) -> dict[str, tuple[BindFile, str]]:
        """Variable -> (its bind file, its key there), for the variables a file can give."""
        return {name: (b, key) for b in self.bind_files for name, key in b.keys}

    @property
    def operations(self) -> tuple[ConsumedOperation, ...]:
        return tuple(op for c in self.consumers for op in c.operations)

    @property
    def maps_outputs(self) -> bool:
        """Whether any result is built from a mapping, a mock or steps (the runtime then carries
        the JSONPath evaluator)."""
        return any(output.kind == "mapped" or steps is not None for output, steps in self._answers)

    @property
    def _answers(self) -> list[tuple[Output, Steps | None]]:
        routes = [(r.output, r.steps) for r in self.rest.routes] if self.rest else []
        return routes + ([(t.output, t.steps) for t in self.mcp.tools] if self.mcp else [])

    @property
    def reads_formats(self) -> frozenset[str]:
        """The upstream body formats other than JSON the runtime must read."""
        found: set[str] = set()
        for output, steps in self._answers:
            if output.kind == "mapped":
                found.add(output.source)
            for step in steps.steps if steps else ():
                found.add(step.source)
        return frozenset(found - {"json"})

    @property
    def reads_options(self) -> bool:
        """Whether some answer is read with an option (an html selector, a markdown heading
        prefix): `read_answer` then takes (format, option) pairs too."""
        found = [output.option for output, _steps in self._answers if output.kind == "mapped"]
        found += [step.option for _output, steps in self._answers for step in (steps.steps if steps else ())]
        return any(option is not None for option in found)

    @property
    def reads_yaml(self) -> bool:
        """Whether the runtime parses YAML: yaml answers, and markdown front matter."""
        return bool(self.reads_formats & {"yaml", "markdown"})

    @property
    def per_request_auth(self) -> bool:
        """Whether some consumed API's credential is computed by httpx for each request."""
        return any(c.auth is not None and c.auth.per_request for c in self.consumers)

    @property
    def uses_oauth2(self) -> bool:
        return any(c.auth is not None and c.auth.kind == "oauth2" for c in self.consumers)

    @property
    def uses_oauth1(self) -> bool:
        """Whether some consumed API's requests are signed (OAuth 1.0a, RSA-SHA256): only then do
        the package and its requirements carry `cryptography`."""
        return any(c.auth is not None and c.auth.kind == "oauth1" for c in self.consumers)

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
