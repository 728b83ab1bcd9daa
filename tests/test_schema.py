"""Tests of the capability JSON Schema, naftiko_codegen/schema/capability.schema.json.

The schema must accept the Naftiko dialect as real capabilities write it (the user's first capability, a sample of
real capabilities and reference-engine fixtures, and every relaxation documented in docs/schema.md) and reject real
mistakes with an error located at the offending field.
"""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "naftiko_codegen" / "schema" / "capability.schema.json"
TRACK_BATCH = ROOT / "specs" / "track-batch.yaml"
SAMPLE_DIR = Path(__file__).resolve().parent / "data" / "corpus-sample"
REJECTED_DIR = SAMPLE_DIR / "rejected"

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors_of(document: Any) -> list[ValidationError]:
    return list(VALIDATOR.iter_errors(document))


def pointer(error: ValidationError) -> str:
    return "/" + "/".join(str(part) for part in error.absolute_path)


def explain(errors: list[ValidationError]) -> str:
    return "\n".join(f"{pointer(e)}: {e.message[:200]}" for e in errors)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------------------------------
# The schema itself


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_every_definition_is_described() -> None:
    undocumented = [
        name for name, definition in SCHEMA["$defs"].items() if not definition.get("description")
    ]
    assert undocumented == []


def test_every_reference_resolves_to_a_definition() -> None:
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/$defs/')[1:]}
    assert refs, "the schema is expected to use $defs"
    assert refs - set(SCHEMA["$defs"]) == set()


# --------------------------------------------------------------------------------------------------------------------
# The user's capability


def test_track_batch_capability_validates() -> None:
    errors = errors_of(load_yaml(TRACK_BATCH))
    assert errors == [], explain(errors)


# --------------------------------------------------------------------------------------------------------------------
# Vendored real capabilities


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLE_DIR.iterdir() if p.suffix in {".yaml", ".yml"})


def test_sample_is_not_empty_and_matches_its_manifest() -> None:
    files = sample_files()
    rejected = sorted(p for p in REJECTED_DIR.iterdir() if p.suffix in {".yaml", ".yml"})
    assert len(files) >= 40
    assert len(rejected) >= 5
    with (SAMPLE_DIR / "SOURCES.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert list(rows[0]) == [
        "file",
        "repo",
        "commit",
        "path",
        "naftiko_version",
        "exposes_types",
        "auth_type",
        "param_locations",
    ]
    listed = {row["file"] for row in rows}
    present = {p.name for p in files} | {f"rejected/{p.name}" for p in rejected}
    assert listed == present
    for row in rows:
        document = load_yaml(SAMPLE_DIR / row["file"])
        assert str(document["naftiko"]) == row["naftiko_version"], row["file"]


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_sample_capability_validates(path: Path) -> None:
    errors = errors_of(load_yaml(path))
    assert errors == [], explain(errors)


REJECTED_SAMPLES = [
    # REST operation calls the MCP tool by name: not '<namespace>.<operation>'.
    (
        "stripe__stripe-slack.yaml",
        "/capability/exposes/1/resources/0/operations/0/call",
        "does not match",
    ),
    # Foreign 'imports' list (and an 'http' adapter with an OpenAPI-like paths map).
    ("waxell__agent-governance.yaml", "/capability", "'imports' was unexpected"),
    # Bindings written as {name, env} instead of {namespace, keys}.
    ("apinizer__gateway.yaml", "/binds/0", "'namespace' is a required property"),
    # Skill adapter with 'groups' instead of 'skills'.
    (
        "naftiko-microsoft-outlook-sandbox__microsoft-outlook-sandbox.naftiko.yaml",
        "/capability/exposes/2",
        "'groups' was unexpected",
    ),
    # Skeleton: adapters with only a type and a port, an API without resources.
    (
        "amazon-finspace__finspace.yaml",
        "/capability/exposes/0",
        "'namespace' is a required property",
    ),
]


@pytest.mark.parametrize(
    ("name", "where", "fragment"), REJECTED_SAMPLES, ids=[r[0] for r in REJECTED_SAMPLES]
)
def test_foreign_real_capability_is_rejected_at_the_right_place(
    name: str, where: str, fragment: str
) -> None:
    errors = errors_of(load_yaml(REJECTED_DIR / name))
    assert errors, f"{name} should be rejected"
    assert any(pointer(e) == where and fragment in e.message for e in errors), explain(errors)


# --------------------------------------------------------------------------------------------------------------------
# Small documents: a valid base capability, then one change per case.

BASE_YAML = """
naftiko: 1.0.0-alpha2
info:
  label: Example
  description: Example capability used by the schema tests.
binds:
  - namespace: env
    keys:
      EXAMPLE_TOKEN: EXAMPLE_TOKEN
capability:
  consumes:
    - type: http
      namespace: example
      baseUri: https://api.example.com/v1
      authentication:
        type: bearer
        token: "{{env.EXAMPLE_TOKEN}}"
      resources:
        - name: items
          path: /items/{id}
          operations:
            - name: get-item
              method: GET
              inputParameters:
                - name: id
                  in: path
                  type: string
                  required: true
                - name: fields
                  in: query
            - name: update-item
              method: PUT
              inputParameters:
                - name: body
                  in: body
                  type: object
  exposes:
    - type: rest
      namespace: example-rest
      port: 8080
      resources:
        - path: /items/{id}
          name: items
          operations:
            - method: GET
              name: get-item
              call: example.get-item
              with:
                id: rest.id
              outputParameters:
                - type: object
                  mapping: $.
    - type: mcp
      namespace: example-mcp
      port: 9090
      transport: http
      tools:
        - name: get-item
          description: Fetch one item.
          hints:
            readOnly: true
          call: example.get-item
          with:
            id: tools.id
          outputParameters:
            - type: object
              mapping: $.
"""

BASE = yaml.safe_load(BASE_YAML)


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()


class Rename:
    """Renames the key at the pointer (to simulate a typo)."""

    def __init__(self, new_name: str) -> None:
        self.new_name = new_name

    def __repr__(self) -> str:
        return f"Rename({self.new_name!r})"


def changed(*edits: tuple[str, Any]) -> Any:
    """Copy of BASE with edits applied; a str value is parsed as YAML, DELETE removes, Rename renames."""
    document = copy.deepcopy(BASE)
    for where, value in edits:
        parts: list[Any] = [int(p) if p.isdigit() else p for p in where.strip("/").split("/")]
        parent = document
        for part in parts[:-1]:
            parent = parent[part]
        last = parts[-1]
        if value is DELETE:
            del parent[last]
        elif isinstance(value, Rename):
            parent[value.new_name] = parent.pop(last)
        else:
            new = yaml.safe_load(value) if isinstance(value, str) else value
            if isinstance(parent, list) and last == len(parent):
                parent.append(new)
            else:
                parent[last] = new
    return document


def test_base_document_validates() -> None:
    errors = errors_of(BASE)
    assert errors == [], explain(errors)


CONSUMES = "/capability/consumes/0"
RESOURCE = CONSUMES + "/resources/0"
GET_OP = RESOURCE + "/operations/0"
PUT_OP = RESOURCE + "/operations/1"
PARAM = GET_OP + "/inputParameters/0"
AUTH = CONSUMES + "/authentication"
REST = "/capability/exposes/0"
REST_RESOURCE = REST + "/resources/0"
REST_OP = REST_RESOURCE + "/operations/0"
MCP = "/capability/exposes/1"
TOOL = MCP + "/tools/0"

# (id, edits, JSON path of the expected error, fragment of its message or of the failing subschema's description)
BAD_CASES: list[tuple[str, list[tuple[str, Any]], str, str]] = [
    ("version-unknown", [("/naftiko", '"0.5"')], "/naftiko", "is not one of"),
    ("version-missing", [("/naftiko", DELETE)], "/", "'naftiko' is a required property"),
    ("capability-missing", [("/capability", DELETE)], "/", "'capability' is a required property"),
    (
        "root-key-typo",
        [("/capability", Rename("capabilities"))],
        "/",
        "'capabilities' was unexpected",
    ),
    (
        "capability-key-unknown",
        [("/capability/serves", "{rest: {port: 8080}}")],
        "/capability",
        "'serves' was unexpected",
    ),
    (
        "bind-keys-not-a-map",
        [("/binds/0/keys", "[EXAMPLE_TOKEN]")],
        "/binds/0/keys",
        "is not of type 'object'",
    ),
    (
        "bind-without-namespace",
        [("/binds/0/namespace", DELETE)],
        "/binds/0",
        "'namespace' is a required property",
    ),
    (
        "consumes-entry-not-an-object",
        [(CONSUMES, '"example"')],
        CONSUMES,
        "is not of type 'object'",
    ),
    (
        "consumes-without-namespace",
        [(CONSUMES + "/namespace", DELETE)],
        CONSUMES,
        "'namespace' is a required",
    ),
    (
        "consumes-without-baseUri",
        [(CONSUMES + "/baseUri", DELETE)],
        CONSUMES,
        "'baseUri' is a required property",
    ),
    (
        "consumes-without-resources",
        [(CONSUMES + "/resources", DELETE)],
        CONSUMES,
        "'resources' is a required",
    ),
    (
        "consumes-without-type",
        [(CONSUMES + "/type", DELETE)],
        CONSUMES,
        "'type' is a required property",
    ),
    (
        "consumes-type-not-http",
        [(CONSUMES + "/type", "grpc")],
        CONSUMES + "/type",
        "'http' was expected",
    ),
    (
        "baseUri-without-scheme",
        [(CONSUMES + "/baseUri", "api.example.com/v1")],
        CONSUMES + "/baseUri",
        "does not match",
    ),
    (
        "import-without-location",
        [("/capability/consumes/1", "{import: shared-api}")],
        "/capability/consumes/1",
        "'location' is a required property",
    ),
    (
        "import-with-inline-keys",
        [
            (
                "/capability/consumes/1",
                "{location: ./shared.yaml, import: shared-api, baseUri: 'https://x.io'}",
            )
        ],
        "/capability/consumes/1",
        "'baseUri' was unexpected",
    ),
    (
        "operations-not-a-list",
        [(RESOURCE + "/operations", "{}")],
        RESOURCE + "/operations",
        "is not of type 'array'",
    ),
    (
        "operations-typo",
        [(RESOURCE + "/operations", Rename("opertions"))],
        RESOURCE,
        "'opertions' was unexpected",
    ),
    ("resource-name-blank", [(RESOURCE + "/name", "''")], RESOURCE + "/name", "does not match"),
    (
        "operation-without-method",
        [(GET_OP + "/method", DELETE)],
        GET_OP,
        "'method' is a required property",
    ),
    (
        "operation-without-name",
        [(GET_OP + "/name", DELETE)],
        GET_OP,
        "'name' is a required property",
    ),
    ("method-not-http", [(GET_OP + "/method", "FETCH")], GET_OP + "/method", "is not one of"),
    ("method-lower-case", [(GET_OP + "/method", "get")], GET_OP + "/method", "is not one of"),
    (
        "output-format-unknown",
        [(GET_OP + "/outputRawFormat", "pdf")],
        GET_OP + "/outputRawFormat",
        "is not one of",
    ),
    (
        "body-type-unknown",
        [(PUT_OP + "/body", "{type: yaml, data: x}")],
        PUT_OP + "/body/type",
        "is not one of",
    ),
    ("parameter-location-unknown", [(PARAM + "/in", "form")], PARAM + "/in", "is not one of"),
    ("parameter-without-location", [(PARAM + "/in", DELETE)], PARAM, "'in' is a required property"),
    ("parameter-type-unknown", [(PARAM + "/type", "map")], PARAM + "/type", "is not one of"),
    (
        "parameter-required-not-boolean",
        [(PARAM + "/required", "'yes'")],
        PARAM + "/required",
        "is not of type 'boolean'",
    ),
    (
        "parameter-key-typo",
        [(PARAM + "/required", Rename("reqired"))],
        PARAM,
        "'reqired' was unexpected",
    ),
    (
        "parameter-name-with-space",
        [(PARAM + "/name", "item id")],
        PARAM + "/name",
        "does not match",
    ),
    (
        "parameter-name-with-newline",
        [(PARAM + "/name", '"id\\n  required"')],
        PARAM + "/name",
        "does not match",
    ),
    ("auth-type-unknown", [(AUTH + "/type", "kerberos")], AUTH + "/type", "is not one of"),
    (
        "auth-field-of-another-type",
        [(AUTH + "/username", "alice")],
        AUTH,
        "'username' was unexpected",
    ),
    (
        "apikey-placement-unknown",
        [(AUTH, "{type: apikey, key: X-Key, value: secret, placement: body}")],
        AUTH + "/placement",
        "is not one of",
    ),
    (
        "auth-and-authentication",
        [(CONSUMES + "/auth", "{type: bearer, token: x}")],
        AUTH,
        "not both",
    ),
    ("expose-type-unknown", [(REST + "/type", "grpc")], REST + "/type", "is not one of"),
    ("expose-without-type", [(REST + "/type", DELETE)], REST, "'type' is a required property"),
    (
        "exposes-empty",
        [("/capability/exposes", "[]")],
        "/capability/exposes",
        "should be non-empty",
    ),
    ("port-not-an-integer", [(REST + "/port", "abc")], REST + "/port", "is not of type 'integer'"),
    (
        "port-out-of-range",
        [(REST + "/port", "70000")],
        REST + "/port",
        "is greater than the maximum",
    ),
    (
        "rest-without-namespace",
        [(REST + "/namespace", DELETE)],
        REST,
        "'namespace' is a required property",
    ),
    (
        "rest-without-resources",
        [(REST + "/resources", DELETE)],
        REST,
        "'resources' is a required property",
    ),
    (
        "rest-resource-without-path",
        [(REST_RESOURCE + "/path", DELETE)],
        REST_RESOURCE,
        "'path' is a required",
    ),
    (
        "rest-resource-without-operations",
        [(REST_RESOURCE + "/operations", DELETE)],
        REST_RESOURCE,
        "'operations' is a required property",
    ),
    (
        "rest-operation-key-typo",
        [(REST_OP + "/call", Rename("cal"))],
        REST_OP,
        "'cal' was unexpected",
    ),
    (
        "call-not-a-reference",
        [(REST_OP + "/call", "get-item")],
        REST_OP + "/call",
        "does not match",
    ),
    (
        "with-structured-value",
        [(REST_OP + "/with/id", "{a: 1}")],
        REST_OP + "/with/id",
        "is not of type",
    ),
    (
        "output-type-unknown",
        [(REST_OP + "/outputParameters/0/type", "dict")],
        REST_OP + "/outputParameters/0/type",
        "is not one of",
    ),
    (
        "output-key-typo",
        [(REST_OP + "/outputParameters/0/mapping", Rename("maping"))],
        REST_OP + "/outputParameters/0",
        "'maping' was unexpected",
    ),
    (
        "forward-without-target",
        [(REST_RESOURCE + "/forward", "{trustedHeaders: [X-Trace]}")],
        REST_RESOURCE + "/forward",
        "'targetNamespace' is a required property",
    ),
    ("mcp-without-tools", [(MCP + "/tools", DELETE)], MCP, "'tools' is a required property"),
    (
        "tools-not-a-list",
        [(MCP + "/tools", "{name: get-item}")],
        MCP + "/tools",
        "is not of type 'array'",
    ),
    ("transport-unknown", [(MCP + "/transport", "sse")], MCP + "/transport", "is not one of"),
    ("stdio-with-port", [(MCP + "/transport", "stdio")], MCP + "/port", "has no port"),
    ("tool-without-name", [(TOOL + "/name", DELETE)], TOOL, "'name' is a required property"),
    ("tool-name-with-space", [(TOOL + "/name", "get item")], TOOL + "/name", "does not match"),
    (
        "tool-argument-key-unknown",
        [(TOOL + "/inputParameters", "[{name: id, type: string, enum: [a, b]}]")],
        TOOL + "/inputParameters/0",
        "'enum' was unexpected",
    ),
    (
        "exposed-parameter-location-environment",
        [(REST_OP + "/inputParameters", "[{name: HOME, in: environment}]")],
        REST_OP + "/inputParameters/0/in",
        "is not one of",
    ),
    (
        "hint-typo",
        [(TOOL + "/hints/readOnly", Rename("readonly"))],
        TOOL + "/hints",
        "'readonly' was unexpected",
    ),
    (
        "hint-not-boolean",
        [(TOOL + "/hints/readOnly", "'yes'")],
        TOOL + "/hints/readOnly",
        "is not of type 'boolean'",
    ),
    (
        "step-type-unknown",
        [(TOOL + "/steps", "[{type: loop, name: s1}]")],
        TOOL + "/steps/0/type",
        "is not one of",
    ),
    (
        "call-step-without-call",
        [(TOOL + "/steps", "[{type: call, name: s1}]")],
        TOOL + "/steps/0",
        "'call' is a required property",
    ),
]


@pytest.mark.parametrize(
    ("edits", "where", "fragment"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_mistake_is_reported_at_the_offending_field(
    edits: list[tuple[str, Any]], where: str, fragment: str
) -> None:
    errors = errors_of(changed(*edits))
    assert errors, "the document should be rejected"
    # Every error points at the offending field: no noise elsewhere in the document.
    assert {pointer(e) for e in errors} == {where}, explain(errors)
    assert pointer(best_match(errors)) == where
    texts = [
        f"{e.message} {e.schema.get('description', '') if isinstance(e.schema, dict) else ''}"
        for e in errors
    ]
    assert any(fragment in text for text in texts), explain(errors)


# Relaxations of the official alpha2 schema that real capabilities need (docs/schema.md): each must stay accepted.
GOOD_CASES: list[tuple[str, list[tuple[str, Any]]]] = [
    ("version-alpha1", [("/naftiko", "1.0.0-alpha1")]),
    ("version-alpha3", [("/naftiko", "1.0.0-alpha3")]),
    (
        "resource-name-with-dots",
        [(RESOURCE + "/name", "..-v2-batch"), (RESOURCE + "/path", "../v2/batch")],
    ),
    (
        "consumed-parameter-schema-keywords",
        [
            (
                PARAM,
                """
                {name: status, in: query, type: string, required: false, description: Status filter,
                 enum: [open, closed], default: open, format: token, const: open, example: open}
                """,
            ),
            (PUT_OP + "/inputParameters/0/properties", "{name: {type: string}}"),
            (PUT_OP + "/inputParameters/0/items", "{type: string}"),
        ],
    ),
    ("consumed-parameter-type-json", [(PARAM + "/type", "json")]),
    ("consumed-parameter-structured-value", [(PARAM + "/value", "{a: 1, b: [x]}")]),
    (
        "parameter-names-from-upstream",
        [(PARAM + "/name", "tweet.fields"), (GET_OP + "/inputParameters/1/name", "page[limit]")],
    ),
    (
        "header-parameter-with-template",
        [(GET_OP + "/inputParameters/2", "{name: X-Api-Version, in: header, value: '{{env.V}}'}")],
    ),
    (
        "array-output-with-mapping-only",
        [(REST_OP + "/outputParameters/0", "{type: array, mapping: $.items}")],
    ),
    ("tool-without-description", [(TOOL + "/description", DELETE)]),
    ("tool-name-snake-case", [(TOOL + "/name", "get_item")]),
    (
        "tool-with-ref-and-no-name",
        [(TOOL + "/name", DELETE), (TOOL + "/call", DELETE), (TOOL + "/ref", "catalog.get-item")],
    ),
    (
        "tool-arguments-without-description",
        [(TOOL + "/inputParameters", "[{name: id, type: string, required: true}]")],
    ),
    (
        "adapter-descriptions",
        [(REST + "/description", "REST adapter."), (MCP + "/description", "MCP adapter.")],
    ),
    (
        "exposed-parameter-not-required",
        [(REST_OP + "/inputParameters", "[{name: id, in: path, type: string, required: false}]")],
    ),
    ("adapters-without-port", [(REST + "/port", DELETE), (MCP + "/port", DELETE)]),
    ("stdio-without-port", [(MCP + "/transport", "stdio"), (MCP + "/port", DELETE)]),
    ("port-zero", [(REST + "/port", "0")]),
    ("baseUri-env-template", [(CONSUMES + "/baseUri", "'{{env.EXAMPLE_BASE_URI}}'")]),
    (
        "baseUri-host-template",
        [(CONSUMES + "/baseUri", "'https://{{env.TENANT}}.example.com/api'")],
    ),
    ("baseUri-server-variable", [(CONSUMES + "/baseUri", "'https://{subdomain}.example.com'")]),
    ("baseUri-empty", [(CONSUMES + "/baseUri", "''")]),
    ("baseUri-trailing-slash", [(CONSUMES + "/baseUri", "https://api.example.com/v1/")]),
    ("bind-from-file", [("/binds/0/location", "file:///./shared/secrets.yaml")]),
    ("bind-key-lower-case", [("/binds/0/keys", "{env_path: PATH}")]),
    (
        "info-extra-keys",
        [("/info/personas", "[developer]"), ("/info/related", "['https://example.com']")],
    ),
    ("auth-basic", [(AUTH, "{type: basic, username: '{{env.USER}}', password: '{{env.PASS}}'}")]),
    ("auth-digest", [(AUTH, "{type: digest, username: u, password: p}")]),
    ("auth-apikey", [(AUTH, "{type: apikey, key: X-Key, value: '{{env.K}}', placement: query}")]),
    (
        "auth-apikey-openapi-naming",
        [(AUTH, "{type: apikey, name: X-Key, in: header, value: '{{K}}'}")],
    ),
    (
        "auth-apikey-headers",
        [(AUTH, "{type: apikey, headers: {DD-API-KEY: '{{A}}', DD-APPLICATION-KEY: '{{B}}'}}")],
    ),
    ("auth-apiKey-capitalised", [(AUTH, "{type: apiKey, header: X-Key, token: '{{K}}'}")]),
    ("auth-oauth1", [(AUTH, "{type: oauth1, consumerKey: '{{C}}', signingKey: '{{S}}'}")]),
    ("auth-hmac", [(AUTH, "{type: hmac, apiId: '{{I}}', apiKey: '{{K}}'}")]),
    ("auth-header", [(AUTH, "{type: header, header: X-Auth-Token, value: '{{T}}'}")]),
    ("auth-query", [(AUTH, "{type: query, parameters: [{name: client_id, value: '{{I}}'}]}")]),
    ("auth-alias", [(AUTH, Rename("auth"))]),
    (
        "exposed-oauth2",
        [
            (
                MCP + "/authentication",
                "{type: oauth2, authorizationServerUri: 'https://auth.example.com', resource: 'https://mcp.example.com'}",
            )
        ],
    ),
    ("operation-id-alias", [(GET_OP + "/name", Rename("id"))]),
    ("consumed-operation-sub-path", [(GET_OP + "/path", "/details")]),
    ("exposed-operation-sub-path", [(REST_OP + "/path", "/enrich")]),
    ("method-head", [(GET_OP + "/method", "HEAD")]),
    (
        "output-format-text-and-binary",
        [(GET_OP + "/outputRawFormat", "text"), (PUT_OP + "/outputRawFormat", "binary")],
    ),
    ("output-type-binary", [(REST_OP + "/outputParameters/0/type", "binary")]),
    ("body-type-without-data", [(PUT_OP + "/body", "{type: json}")]),
    ("body-template-string", [(PUT_OP + "/body", '\'{"id": "{{id}}"}\'')]),
    (
        "consumes-empty",
        [("/capability/consumes", "[]"), (REST_OP + "/call", DELETE), (TOOL + "/call", DELETE)],
    ),
    (
        "consumes-import",
        [
            (
                "/capability/consumes/1",
                "{location: ./shared/api.yaml, import: shared-api, as: shared}",
            )
        ],
    ),
    (
        "forward-target-without-resources",
        [
            (RESOURCE.rsplit("/", 1)[0], DELETE),
            (REST_RESOURCE + "/forward", "{targetNamespace: example}"),
        ],
    ),
    (
        "exposes-http-paths",
        [("/capability/exposes/2", "{type: http, namespace: x, paths: {/a: {get: {}}}}")],
    ),
    (
        "exposes-agent-skill",
        [
            (
                "/capability/exposes/2",
                "{type: agent-skill, namespace: x, skill: {name: s, file: s.md}}",
            )
        ],
    ),
    ("consumes-only-capability", [("/capability/exposes", DELETE)]),
]


@pytest.mark.parametrize("edits", [c[1] for c in GOOD_CASES], ids=[c[0] for c in GOOD_CASES])
def test_dialect_as_written_in_the_wild_is_accepted(edits: list[tuple[str, Any]]) -> None:
    errors = errors_of(changed(*edits))
    assert errors == [], explain(errors)


def test_shared_consumes_file_validates() -> None:
    document = {
        "naftiko": "1.0.0-alpha2",
        "consumes": copy.deepcopy(BASE["capability"]["consumes"]),
    }
    assert errors_of(document) == []


def test_resources_are_required_when_nothing_forwards() -> None:
    forwarded = changed(
        (RESOURCE.rsplit("/", 1)[0], DELETE),
        (REST_RESOURCE + "/forward", "{targetNamespace: example}"),
    )
    assert errors_of(forwarded) == []
    not_forwarded = changed((RESOURCE.rsplit("/", 1)[0], DELETE))
    assert {pointer(e) for e in errors_of(not_forwarded)} == {CONSUMES}
