"""Aggregates (`aggregates` functions used through `ref`): AggregateIntegrationTest,
AggregateSharedMockIntegrationTest, AggregateStepNamespaceIntegrationTest."""

from __future__ import annotations

import httpx
from support.recording_upstream import RecordingUpstream

from .conftest import TESTS, Conformance, serve_mcp, serve_rest
from .test_mcp import DEFAULT_HINTS, call, effective_hints, list_tools, text_json

AGG = f"{TESTS}/aggregates"


def test_basic_tools(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{AGG}/aggregate-basic.yaml")
    with serve_mcp(gen) as url:
        tools = list_tools(url)
    assert list(tools) == ["get-forecast", "get-forecast-inherited"]
    assert tools["get-forecast"].description == "Get the weather forecast."
    # Name given, description inherited from the function.
    assert tools["get-forecast-inherited"].description == (
        "Fetch current weather forecast for a location."
    )
    for tool in tools.values():
        # Input parameters come from the function.
        assert tool.input_schema["properties"]["location"]["type"] == "string"
        # safe + idempotent semantics: read-only, not destructive, idempotent; open-world is
        # never derived (protocol default).
        assert effective_hints(tool) == {
            **DEFAULT_HINTS,
            "read_only_hint": True,
            "destructive_hint": False,
            "idempotent_hint": True,
        }


def test_basic_call(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{AGG}/aggregate-basic.yaml")
    upstream.respond("GET", "/v1/forecast", json_body={"forecast": "sunny"})
    with serve_mcp(gen) as url:
        result = call(url, "get-forecast", {"location": "Paris"})
    with serve_rest(gen) as url:
        resp = httpx.get(f"{url}/forecast/Paris", timeout=10)
    assert result.is_error is False, result
    assert text_json(result) == "sunny"
    assert resp.status_code == 200, resp.text
    assert resp.json() == "sunny"
    assert [(r.method, r.path) for r in upstream.requests] == [
        ("GET", "/v1/forecast"),
        ("GET", "/v1/forecast"),
    ]


def test_hints_override(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{AGG}/aggregate-hints-override.yaml")
    with serve_mcp(gen) as url:
        tools = list_tools(url)
    derived_safe = {
        **DEFAULT_HINTS,
        "read_only_hint": True,
        "destructive_hint": False,
        "idempotent_hint": True,
    }
    assert effective_hints(tools["read-items"]) == derived_safe
    assert effective_hints(tools["read-items-open"]) == {
        **derived_safe,
        "open_world_hint": True,
    }
    # Explicit hints override the derived ones field by field; idempotent stays derived.
    assert effective_hints(tools["delete-item"]) == {
        "read_only_hint": False,
        "destructive_hint": True,
        "idempotent_hint": True,
        "open_world_hint": False,
    }
    # No ref, no hints: protocol defaults.
    assert effective_hints(tools["plain-tool"]) == DEFAULT_HINTS


def test_invalid_ref(conformance: Conformance) -> None:
    # Engine: construction fails with "Unknown aggregate function ref". Intended: an error that
    # names the ref, not a refusal of the construct.
    gen = conformance.generate(f"{AGG}/aggregate-invalid-ref.yaml")
    assert gen.returncode == 2
    assert "E300" not in gen.codes()
    assert any("unknown.nonexistent" in d["message"] for d in gen.errors()), gen.diagnostics


def test_shared_mock(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{AGG}/aggregate-shared-mock.yaml")
    expected = {"message": "Hello, Nina!", "source": "aggregate-mock"}
    with serve_mcp(gen) as url:
        result = call(url, "hello", {"name": "Nina"})
    with serve_rest(gen) as url:
        resp = httpx.get(f"{url}/hello", params={"name": "Nina"}, timeout=10)
    assert result.is_error is False, result
    assert text_json(result) == expected
    assert resp.status_code == 200, resp.text
    assert resp.json() == expected
    # Mock mode: nothing goes upstream.
    assert upstream.requests == []


def test_step_with_namespace(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{AGG}/aggregate-step-with-namespace.yaml")
    upstream.respond("GET", "/voyages/VOY-2026-042", json_body={"voyageId": "VOY-2026-042"})
    with serve_mcp(gen) as url:
        result = call(url, "get-voyage-manifest", {"voyage-id": "VOY-2026-042"})
    assert result.is_error is False, result
    assert text_json(result) == {"voyage-id": "VOY-2026-042"}
    # The caller's value, not the literal `shipyard.voyage-id`.
    assert [(r.method, r.path) for r in upstream.requests] == [("GET", "/voyages/VOY-2026-042")]
