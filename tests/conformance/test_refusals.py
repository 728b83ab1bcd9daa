"""What naftiko-gen says today about each reference fixture it does not generate.

Each row is one construct the generator refuses with E300 (or one other error), checked by
code and by the construct named in the message, so that when a construct is implemented its
rows here fail and are removed together with the strict ``xfail`` marks of the behaviour
tests it unblocks (see docs/conformance.md).
"""

from __future__ import annotations

import pytest

from .conftest import DATA_DIR, INLINE, TESTS, TUTORIAL, Conformance

NO_CALL = "an exposed operation without `call`, `steps` or outputs"
NOT_JSON = "a `body` string that is not JSON"
SCRIPTING = "scripting governance (`management.scripting`)"
EXPORTER = "the `otlp` telemetry exporter"
# A mock's result is keyed by its outputs' names (docs/semantics.md, Output mapping); the
# engine names an unnamed one `value`. The behaviour tests name it so.
UNNAMED_MOCK = "an output among several (or of a mock) needs a `name`"


def _fmt(name: str) -> str:
    return f"`outputRawFormat: {name}`"


def _with(key: str, operation: str) -> str:
    return f"`with: {key}` sets no input parameter of `{operation}`"


# (fixture, code, fragment of the message naming the construct)
REFUSED: list[tuple[str, str, str]] = [
    *[
        (
            f"{INLINE}/consumes-structured-bodies.yaml",
            "E300",
            f"a request body of `type: {kind}`",
        )
        for kind in ("xml", "formUrlEncoded", "sparql")
    ],
    (f"{INLINE}/consumes-unresolved-templates.yaml", "E300", NOT_JSON),
    (f"{INLINE}/mcp-auth-bearer-mock.yaml", "E152", UNNAMED_MOCK),
    (f"{INLINE}/rest-auth-apikey-mock.yaml", "E152", UNNAMED_MOCK),
    (f"{INLINE}/rest-auth-bearer-mock.yaml", "E152", UNNAMED_MOCK),
    # `with: id` names a parameter `delete-record` does not have: a spec error (see
    # docs/conformance.md); the behaviour test uses the fixture without that line.
    (
        f"{TESTS}/mcp/mcp-hints-capability.yaml",
        "E103",
        _with("id", "mock-api.delete-record"),
    ),
    # Not a refusal: an error naming the ref (test_aggregates.py).
    (
        f"{TESTS}/aggregates/aggregate-invalid-ref.yaml",
        "E155",
        "`ref: unknown.nonexistent`",
    ),
    # These map fields of a binary answer and name no `outputSchema`: the engine decodes avro
    # and protobuf with that schema file and fails every such call without it.
    (f"{TESTS}/formats/avro-capability.yaml", "E250", _fmt("avro") + ", and `mock-avro.get-records`"),
    (f"{TESTS}/formats/proto-capability.yaml", "E250", _fmt("protobuf") + ", and `mock-proto.get-records`"),
    # the control port is generated (test_control.py); scripting and exporters are not
    (f"{TESTS}/control/control-scripting-capability.yaml", "E300", SCRIPTING),
    (f"{TESTS}/observability/observability-capability.yaml", "E300", EXPORTER),
]

# The capability-writing guide's full example (no engine test).
EXAMPLE = ".agents/skills/naftiko-capability/assets/capability-example.yml"
REFUSED += [
    (EXAMPLE, "E300", SCRIPTING),
    (EXAMPLE, "E300", EXPORTER),
]
# Generated today; their behaviour is tested in test_rest.py, test_mcp.py, test_formats.py,
# test_aggregates.py, test_control.py and test_tutorial.py (the rules fixtures are lint cases of the engine's
# Spectral ruleset, with no behaviour of their own to observe).
GENERATED_TODAY_LIST = [
    f"{INLINE}/rest-path-param-with.yaml",
    f"{INLINE}/rest-forward-trusted-headers.yaml",
    f"{INLINE}/rest-namespace-ref-body.yaml",
    f"{INLINE}/rest-xml-output.yaml",
    f"{INLINE}/steps-lookup-chain.yaml",
    f"{TESTS}/http/http-header-query-capability.yaml",
    f"{TESTS}/http/http-body-capability.yaml",
    f"{TESTS}/http/http-forward-value-capability.yaml",
    f"{TESTS}/nested-object-output-capability.yaml",
    f"{TESTS}/baseuri-trailing-slash-capability.yaml",
    f"{TESTS}/register.capability.yml",
    f"{TESTS}/mcp/mcp-tool-handler-with-mustache-capability.yaml",
    f"{TESTS}/mcp/mcp-capability.yaml",
    f"{TESTS}/mcp/mcp-stdio-capability.yaml",
    f"{TESTS}/mcp/mcp-resources-prompts-capability.yaml",
    f"{TESTS}/mcp/mcp-step-with-namespace-capability.yaml",
    f"{TESTS}/formats/xml-capability.yaml",
    f"{TESTS}/formats/csv-capability.yaml",
    f"{TESTS}/formats/yaml-capability.yaml",
    f"{TESTS}/formats/html-capability.yaml",
    f"{TESTS}/formats/markdown-capability.yaml",
    *[
        f"{TESTS}/aggregates/aggregate-{name}.yaml"
        for name in ("basic", "hints-override", "shared-mock", "step-with-namespace")
    ],
    *[f"{TESTS}/rules/spectral-semantics-{name}.yaml" for name in ("consistent", "inconsistent")],
    f"{TUTORIAL}/step-1-shipyard-mock.yml",
    f"{TUTORIAL}/step-2-shipyard-wiring.yml",
    f"{TUTORIAL}/step-3-shipyard-auth.yml",
    f"{TUTORIAL}/step-4-shipyard-output-shaping.yml",
    f"{TUTORIAL}/step-5-shipyard-multi-source.yml",
    f"{TUTORIAL}/step-6-shipyard-write-operations.yml",
    # the skill catalogue (test_skill.py), and MCP and REST beside it (test_tutorial.py)
    f"{TESTS}/skill-capability.yaml",
    *[
        f"{TUTORIAL}/step-{step}.yml"
        for step in (
            "7-shipyard-orchestrated-lookup",
            "8-shipyard-skill-groups",
            "9-shipyard-aggregates",
            "10-shipyard-rest-adapter",
            "11-shipyard-fleet-manifest",
        )
    ],
    f"{INLINE}/bootstrap-runtime-binds.yaml",
    f"{TESTS}/control/control-capability.yaml",
    f"{TESTS}/control/control-observability-disabled.yaml",
    f"{TESTS}/observability/observability-disabled.yaml",
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
