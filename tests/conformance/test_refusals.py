"""What naftiko-gen says today about each reference fixture it does not generate.

Each row is one construct the generator refuses with E300 (or one other error), checked by
code and by the construct named in the message, so that when a construct is implemented its
rows here fail and are removed together with the strict ``xfail`` marks of the behaviour
tests it unblocks (see docs/conformance.md).
"""

from __future__ import annotations

import pytest

from .conftest import DATA_DIR, INLINE, TESTS, TUTORIAL, Conformance

BODY = "a request `body` template on a consumed operation"
NO_CALL = "an exposed operation without `call` (mock outputs, steps or `ref`)"
MAPPING = "output mappings other than the whole document (`mapping: $.`)"
EXPOSED_AUTH = "authentication on an exposed adapter"
FORWARD = "`forward` proxying"
AGGREGATES = "`aggregates`"


def _fmt(name: str) -> str:
    return f"`outputRawFormat: {name}`"


# (fixture, code, fragment of the message naming the construct)
REFUSED: list[tuple[str, str, str]] = [
    (f"{INLINE}/bootstrap-runtime-binds.yaml", "E300", NO_CALL),
    (f"{INLINE}/consumes-structured-bodies.yaml", "E300", NO_CALL),
    (f"{INLINE}/consumes-structured-bodies.yaml", "E300", BODY),
    (f"{INLINE}/consumes-unresolved-templates.yaml", "E300", NO_CALL),
    (f"{INLINE}/consumes-unresolved-templates.yaml", "E300", BODY),
    (f"{INLINE}/mcp-auth-bearer-mock.yaml", "E300", EXPOSED_AUTH),
    (f"{INLINE}/mcp-auth-bearer-mock.yaml", "E300", NO_CALL),
    (f"{INLINE}/rest-auth-apikey-mock.yaml", "E300", EXPOSED_AUTH),
    (f"{INLINE}/rest-auth-apikey-mock.yaml", "E300", NO_CALL),
    (f"{INLINE}/rest-auth-bearer-mock.yaml", "E300", EXPOSED_AUTH),
    (f"{INLINE}/rest-auth-bearer-mock.yaml", "E300", NO_CALL),
    (f"{INLINE}/rest-forward-trusted-headers.yaml", "E300", FORWARD),
    (f"{INLINE}/rest-namespace-ref-body.yaml", "E300", BODY),
    # The body template's variable is not yet an input of the consumed operation.
    (f"{INLINE}/rest-namespace-ref-body.yaml", "E103", "`with: shipImo` sets no input parameter"),
    (f"{INLINE}/rest-xml-output.yaml", "E300", MAPPING),
    (f"{INLINE}/rest-xml-output.yaml", "E300", _fmt("xml")),
    (f"{INLINE}/steps-lookup-chain.yaml", "E300", NO_CALL),
    (f"{TESTS}/nested-object-output-capability.yaml", "E300", MAPPING),
    (f"{TESTS}/http/http-body-capability.yaml", "E300", BODY),
    (f"{TESTS}/http/http-forward-value-capability.yaml", "E300", FORWARD),
    (f"{TESTS}/baseuri-trailing-slash-capability.yaml", "E300", FORWARD),
    (f"{TESTS}/register.capability.yml", "E300", FORWARD),
    (f"{TESTS}/mcp/mcp-capability.yaml", "E300", BODY),
    (f"{TESTS}/mcp/mcp-capability.yaml", "E300", MAPPING),
    (f"{TESTS}/mcp/mcp-capability.yaml", "E103", "`with: datasource_id` sets no input"),
    (f"{TESTS}/mcp/mcp-stdio-capability.yaml", "E300", BODY),
    (f"{TESTS}/mcp/mcp-stdio-capability.yaml", "E300", MAPPING),
    (f"{TESTS}/mcp/mcp-stdio-capability.yaml", "E103", "`with: datasource_id` sets no input"),
    (f"{TESTS}/mcp/mcp-hints-capability.yaml", "E300", MAPPING),
    # `with: id` names a parameter `delete-record` does not have: a spec error (see
    # docs/conformance.md); the behaviour test uses the fixture without that line.
    (f"{TESTS}/mcp/mcp-hints-capability.yaml", "E103", "`with: id` sets no input parameter"),
    (f"{TESTS}/mcp/mcp-resources-prompts-capability.yaml", "E300", "MCP `resources`"),
    (f"{TESTS}/mcp/mcp-resources-prompts-capability.yaml", "E300", "MCP `prompts`"),
    (f"{TESTS}/mcp/mcp-resources-prompts-capability.yaml", "E300", BODY),
    (f"{TESTS}/mcp/mcp-resources-prompts-capability.yaml", "E300", MAPPING),
    (f"{TESTS}/mcp/mcp-step-with-namespace-capability.yaml", "E300", NO_CALL),
    (f"{TESTS}/mcp/mcp-step-with-namespace-capability.yaml", "E300", MAPPING),
    (f"{TESTS}/formats/xml-capability.yaml", "E300", _fmt("xml")),
    (f"{TESTS}/formats/csv-capability.yaml", "E300", _fmt("csv")),
    (f"{TESTS}/formats/yaml-capability.yaml", "E300", _fmt("yaml")),
    (f"{TESTS}/formats/html-capability.yaml", "E300", _fmt("html")),
    (f"{TESTS}/formats/markdown-capability.yaml", "E300", _fmt("markdown")),
    (f"{TESTS}/formats/avro-capability.yaml", "E300", _fmt("avro")),
    (f"{TESTS}/formats/proto-capability.yaml", "E300", _fmt("protobuf")),
    *[
        (f"{TESTS}/formats/{name}-capability.yaml", "E300", MAPPING)
        for name in ("xml", "csv", "yaml", "html", "markdown", "avro", "proto")
    ],
    *[
        (f"{TESTS}/aggregates/aggregate-{name}.yaml", "E300", construct)
        for name in ("basic", "hints-override", "invalid-ref", "shared-mock", "step-with-namespace")
        for construct in (AGGREGATES, NO_CALL)
    ],
    *[
        (f"{TESTS}/rules/spectral-semantics-{name}.yaml", "E300", construct)
        for name in ("consistent", "inconsistent")
        for construct in (AGGREGATES, "an MCP tool defined by `ref` (aggregates)")
    ],
    (f"{TESTS}/control/control-capability.yaml", "E300", "the `control` adapter"),
    (f"{TESTS}/control/control-observability-disabled.yaml", "E300", "the `control` adapter"),
    (f"{TESTS}/control/control-scripting-capability.yaml", "E300", "the `control` adapter"),
    (f"{TESTS}/observability/observability-capability.yaml", "E300", "the `control` adapter"),
    (f"{TESTS}/observability/observability-disabled.yaml", "E300", "the `control` adapter"),
    (f"{TESTS}/skill-capability.yaml", "E300", "the `skill` adapter"),
    (f"{TUTORIAL}/step-1-shipyard-mock.yml", "E300", NO_CALL),
    (f"{TUTORIAL}/step-1-shipyard-mock.yml", "E300", MAPPING),
    (f"{TUTORIAL}/step-2-shipyard-wiring.yml", "E300", MAPPING),
    (f"{TUTORIAL}/step-3-shipyard-auth.yml", "E300", EXPOSED_AUTH),
    (f"{TUTORIAL}/step-3-shipyard-auth.yml", "E300", MAPPING),
    (f"{TUTORIAL}/step-4-shipyard-output-shaping.yml", "E300", EXPOSED_AUTH),
    (f"{TUTORIAL}/step-4-shipyard-output-shaping.yml", "E300", MAPPING),
    (f"{TUTORIAL}/step-5-shipyard-multi-source.yml", "E300", _fmt("xml")),
    (f"{TUTORIAL}/step-5-shipyard-multi-source.yml", "E300", EXPOSED_AUTH),
    (f"{TUTORIAL}/step-5-shipyard-multi-source.yml", "E300", MAPPING),
    (f"{TUTORIAL}/step-6-shipyard-write-operations.yml", "E300", BODY),
    (f"{TUTORIAL}/step-6-shipyard-write-operations.yml", "E300", _fmt("xml")),
    (f"{TUTORIAL}/step-6-shipyard-write-operations.yml", "E300", EXPOSED_AUTH),
    (f"{TUTORIAL}/step-6-shipyard-write-operations.yml", "E300", MAPPING),
    *[
        (f"{TUTORIAL}/step-{step}.yml", "E300", BODY)
        for step in (
            "7-shipyard-orchestrated-lookup",
            "8-shipyard-skill-groups",
            "9-shipyard-aggregates",
            "10-shipyard-rest-adapter",
            "11-shipyard-fleet-manifest",
        )
    ],
    *[
        (f"{TUTORIAL}/step-{step}.yml", "E103", "`with: shipImo` sets no input parameter")
        for step in (
            "7-shipyard-orchestrated-lookup",
            "8-shipyard-skill-groups",
            "9-shipyard-aggregates",
            "10-shipyard-rest-adapter",
            "11-shipyard-fleet-manifest",
        )
    ],
]

# The capability-writing guide's full example (no engine test).
EXAMPLE = ".agents/skills/naftiko-capability/assets/capability-example.yml"
REFUSED += [
    (EXAMPLE, "E300", BODY),
    (EXAMPLE, "E103", "`with: shipImo` sets no input parameter"),
]
# Generated today; their behaviour is tested in test_rest.py and test_mcp.py.
GENERATED_TODAY_LIST = [
    f"{INLINE}/rest-path-param-with.yaml",
    f"{TESTS}/http/http-header-query-capability.yaml",
    f"{TESTS}/mcp/mcp-tool-handler-with-mustache-capability.yaml",
]


@pytest.mark.parametrize(
    ("fixture", "code", "construct"),
    REFUSED,
    ids=[f"{f.rsplit('/', 1)[1]}-{c}-{m[:30]}" for f, c, m in REFUSED],
)
def test_refused_today(conformance: Conformance, fixture: str, code: str, construct: str) -> None:
    gen = conformance.generate(fixture)
    assert gen.returncode == 2, gen.stderr
    messages = [d["message"] for d in gen.errors() if d["code"] == code]
    assert any(construct in m for m in messages), messages
    # Nothing is half-written for a refused spec.
    assert not gen.out.exists() or not any(gen.out.iterdir())


@pytest.mark.parametrize("fixture", GENERATED_TODAY_LIST)
def test_generated_today(conformance: Conformance, fixture: str) -> None:
    gen = conformance.generate(fixture)
    assert gen.returncode == 0, gen.stderr
    assert gen.codes("error") == set()


def test_trailing_slash_base_uri_is_reported(conformance: Conformance) -> None:
    # Engine: loading fails ("baseUri must not end with a trailing slash", issue #184).
    # naftiko-gen joins the base URI as a directory (RFC 3986), so the slash is harmless and
    # reported as warning W203 at the baseUri, not an error (docs/semantics.md, URL).
    gen = conformance.generate(f"{TESTS}/baseuri-trailing-slash-capability.yaml")
    w203 = [d for d in gen.diagnostics if d["code"] == "W203"]
    assert len(w203) == 1, gen.diagnostics
    assert w203[0]["severity"] == "warning"
    assert w203[0]["line"] == 26


# Files that are not capabilities of their own: sample payloads, and the tutorial's imported
# consumes and secrets.
NOT_CAPABILITIES = ("/schemas/", f"{TUTORIAL}/shared/")


def test_every_fixture_is_accounted_for() -> None:
    # Each reference capability is either generated today or has its refusal asserted above, so
    # a fixture added to tests/data/conformance cannot go unchecked.
    fixtures = {
        str(p.relative_to(DATA_DIR))
        for p in DATA_DIR.rglob("*")
        if p.suffix in (".yaml", ".yml")
        and not any(s in f"/{p.relative_to(DATA_DIR)}" for s in NOT_CAPABILITIES)
    }
    accounted = {f for f, _, _ in REFUSED} | set(GENERATED_TODAY_LIST) | {EXAMPLE}
    assert fixtures == accounted
