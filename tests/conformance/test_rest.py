"""REST behaviour of the reference fixtures, end to end: the generated service under uvicorn,
a recording upstream, and what went over the wire both ways."""

from __future__ import annotations

import httpx
import pytest
from support.recording_upstream import RecordingUpstream

from .conftest import (
    INLINE,
    TESTS,
    Conformance,
    serve_rest,
)

IMO = "IMO-9321483"
SHIP = {
    "imo_number": IMO,
    "vessel_name": "Northern Star",
    "operational_status": "active",
}


# inline/rest-path-param-with.yaml (RestPathParamWithResolutionTest): the exposed `{{imo}}`
# reaches the consumed `/ships/{{imo_number}}` through `with: {imo_number: "{{imo}}"}`.
def test_path_param_with(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{INLINE}/rest-path-param-with.yaml")
    upstream.respond("GET", f"/ships/{IMO}", json_body=SHIP)
    with serve_rest(gen) as url:
        resp = httpx.get(f"{url}/ships/{IMO}", timeout=10)
    assert resp.status_code == 200, resp.text
    # The upstream JSON unchanged (no output parameters).
    assert resp.json() == SHIP
    assert resp.headers["content-type"].startswith("application/json")
    assert [(r.method, r.path, r.query) for r in upstream.requests] == [
        ("GET", f"/ships/{IMO}", "")
    ]
    assert upstream.requests[0].body == b""


def test_path_param_with_is_one_encoded_segment(
    conformance: Conformance, upstream: RecordingUpstream
) -> None:
    # The engine pastes the value unencoded (naftiko-spec.md §11 item 6, not copied): a value
    # is one path segment, percent-encoded.
    gen = conformance.generate(f"{INLINE}/rest-path-param-with.yaml")
    upstream.respond("GET", "/ships/IMO%20X%3F1", json_body=SHIP)
    with serve_rest(gen) as url:
        resp = httpx.get(f"{url}/ships/IMO%20X%3F1", timeout=10)
    assert resp.status_code == 200, resp.text
    assert [(r.method, r.path, r.query) for r in upstream.requests] == [
        ("GET", "/ships/IMO%20X%3F1", "")
    ]


def test_path_param_with_upstream_status_passes_through(
    conformance: Conformance, upstream: RecordingUpstream
) -> None:
    gen = conformance.generate(f"{INLINE}/rest-path-param-with.yaml")
    upstream.respond("GET", "/ships/IMO-0", status=404, json_body={"error": "not found"})
    with serve_rest(gen) as url:
        resp = httpx.get(f"{url}/ships/IMO-0", timeout=10)
    assert resp.status_code == 404
    assert resp.json() == {"error": "not found"}


# http/http-header-query-capability.yaml (HeaderQueryIntegrationTest): the exposed body field
# `userId` is read with `value: $.user.id`, then templated into the consumed query `q`; the
# consumes-level static header `X-API-Key` goes on the request.
# `{{userId}}` (bare, declared by no bind) in `q`'s `value` names the calling route's input
# `userId`, as the engine renders it from the request's parameters (naftiko-spec.md §4.3) and
# as a body template reads the same spelling (docs/semantics.md, "More variations as written").
def test_header_query(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{TESTS}/http/http-header-query-capability.yaml")
    upstream.respond("POST", "/items", json_body={"items": []})
    with serve_rest(gen) as url:
        resp = httpx.post(f"{url}/search", json={"user": {"id": "999"}}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"items": []}
    (req,) = upstream.requests
    assert (req.method, req.path) == ("POST", "/items")
    # q=999, not the JSON text q=%22999%22.
    assert req.query_pairs == [("q", "999")]
    assert req.headers["x-api-key"] == "ABC123"


def test_header_query_reads_the_input_not_the_environment(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An environment variable named like the input changes nothing: `q` is the caller's value,
    # and the service needs no `userId` variable to start (the test above sets none).
    monkeypatch.setenv("userId", "from-the-environment")
    gen = conformance.generate(f"{TESTS}/http/http-header-query-capability.yaml")
    assert "W201" not in gen.codes("warning")  # nothing is read from the environment
    upstream.respond("POST", "/items", json_body={"items": []})
    with serve_rest(gen) as url:
        resp = httpx.post(f"{url}/search", json={"user": {"id": "42"}}, timeout=10)
        missing = httpx.post(f"{url}/search", json={"user": {}}, timeout=10)
    assert resp.status_code == 200, resp.text
    # an exposed input is required unless it says otherwise: without it, 422 and nothing upstream
    assert missing.status_code == 422, missing.text
    (req,) = upstream.requests
    assert req.query_pairs == [("q", "42")]
    assert req.headers["x-api-key"] == "ABC123"


# http/http-body-capability.yaml (HttpBodyIntegrationTest): body fields extracted by JSONPath
# and rendered into the consumed raw body template {"id":"{{userId}}","name":"{{userName}}"}.
def test_body_template(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{TESTS}/http/http-body-capability.yaml")
    upstream.respond("POST", "/create", status=201, json_body={"created": True})
    with serve_rest(gen) as url:
        resp = httpx.post(f"{url}/users", json={"user": {"id": "123", "name": "Alice"}}, timeout=10)
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"created": True}
    (req,) = upstream.requests
    assert (req.method, req.path) == ("POST", "/create")
    assert req.json() == {"id": "123", "name": "Alice"}


def test_body_field_missing_is_refused(
    conformance: Conformance, upstream: RecordingUpstream
) -> None:
    # An input read at `$.user.id` that the body does not have is missing: 422 with the field,
    # nothing upstream (the engine sends `""`); the whole body is never taken in its place.
    gen = conformance.generate(f"{TESTS}/http/http-body-capability.yaml")
    with serve_rest(gen) as url:
        resp = httpx.post(f"{url}/users", json={"user": {"name": "Alice"}}, timeout=10)
        wrong = httpx.post(f"{url}/users", json={"user": {"id": 7, "name": "Alice"}}, timeout=10)
    assert resp.status_code == 422, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["userId"]
    assert wrong.status_code == 422, wrong.text
    assert upstream.requests == []


# inline/rest-namespace-ref-body.yaml (RestNamespaceRefWithResolutionTest): `with: {shipImo:
# shipyard-api.shipImo}` reads the caller's body field, rendered into the body template.
# A declared `in: body` input is the body's member of its name (docs/semantics.md, "REST
# request bodies with several fields"), as the engine reads it (naftiko-spec.md §6.2).
def test_namespace_ref_body(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{INLINE}/rest-namespace-ref-body.yaml")
    upstream.respond("POST", "/voyages", status=201, json_body={"voyageId": "VOY-1"})
    with serve_rest(gen) as url:
        resp = httpx.post(f"{url}/voyages", json={"shipImo": IMO}, timeout=10)
    # Upstream 201 is the REST status.
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"voyageId": "VOY-1"}
    (req,) = upstream.requests
    assert (req.method, req.path) == ("POST", "/voyages")
    # The engine sends the template rendered as text (block scalar: trailing newline kept);
    # naftiko-gen sends a JSON body template as compact JSON with its values' JSON types
    # (docs/semantics.md, Request bodies), so the JSON document is compared, not the bytes.
    assert req.headers["content-type"] == "application/json"
    assert req.json() == {"shipImo": IMO}


# inline/rest-forward-trusted-headers.yaml (ResourceRestletTest): forward proxy; only the
# trusted header X-Trace is copied upstream; status and body come back verbatim.
def test_forward_trusted_headers(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{INLINE}/rest-forward-trusted-headers.yaml")
    upstream.respond("GET", "/echo", status=202, text="accepted", content_type="text/plain")
    with serve_rest(gen) as url:
        resp = httpx.get(
            f"{url}/proxy/echo",
            headers={
                "X-Trace": "trace-1",
                "X-Secret": "do-not-forward",
                "Cookie": "a=b",
            },
            timeout=10,
        )
    assert resp.status_code == 202
    assert resp.text == "accepted"
    (req,) = upstream.requests
    assert (req.method, req.path) == ("GET", "/echo")
    assert req.headers["x-trace"] == "trace-1"
    assert "x-secret" not in req.headers
    assert "cookie" not in req.headers


# http/http-forward-value-capability.yaml (ForwardValueFieldTest): forward to `external`; the
# consumes-level header values go on the forwarded request.
def test_forward_value_headers(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{TESTS}/http/http-forward-value-capability.yaml")
    upstream.respond("GET", "/v1/things", json_body={"ok": True})
    with serve_rest(gen) as url:
        resp = httpx.get(f"{url}/forward/things", timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"ok": True}
    (req,) = upstream.requests
    assert (req.method, req.path) == ("GET", "/v1/things")
    assert req.headers["x-api-version"] == "2026-03-03"
    assert req.headers["x-api-key"] == "secret-key-123"


# inline/rest-auth-bearer-mock.yaml, rest-auth-apikey-mock.yaml (AuthenticationIntegrationTest):
# 401 without credentials, 200 with them; the mock output is the string "ok".
@pytest.mark.parametrize(
    ("fixture", "good", "bad"),
    [
        (
            "rest-auth-bearer-mock.yaml",
            {"Authorization": "Bearer token-123"},
            {"Authorization": "Bearer wrong"},
        ),
        ("rest-auth-apikey-mock.yaml", {"X-API-Key": "abc123"}, {"X-API-Key": "wrong"}),
    ],
    ids=["bearer", "apikey"],
)
def test_exposed_auth(
    conformance: Conformance,
    upstream: RecordingUpstream,
    fixture: str,
    good: dict[str, str],
    bad: dict[str, str],
) -> None:
    # The fixture's mock output has no `name` (the engine names it `value`); naftiko-gen
    # requires one (E152, docs/semantics.md "Output mapping": a mock's result is keyed by its
    # outputs' names; asserted in test_refusals.py). Authentication, under test here, does
    # not depend on it, so the output is named as the engine names it.
    gen = conformance.variant(
        f"{INLINE}/{fixture}",
        "named-output",
        (
            '                  value: "ok"\n',
            '                  value: "ok"\n                  name: "value"\n',
        ),
    )
    with serve_rest(gen) as url:
        missing = httpx.get(f"{url}/hello", timeout=10)
        wrong = httpx.get(f"{url}/hello", headers=bad, timeout=10)
        ok = httpx.get(f"{url}/hello", headers=good, timeout=10)
    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert ok.status_code == 200
    assert ok.json() == {"value": "ok"}
    assert upstream.requests == []


# inline/rest-xml-output.yaml (RestXmlOutputFormatIntegrationTest): XML upstream, mapped to a
# JSON array by `$.vessel` and per-item mappings.
LEGACY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<vessels>
  <vessel><vesselCode>LEG-1</vesselCode><vesselName>Old Faithful</vesselName></vessel>
  <vessel><vesselCode>LEG-2</vesselCode><vesselName>Sea Dog</vesselName></vessel>
</vessels>
"""


def test_xml_output(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(f"{INLINE}/rest-xml-output.yaml")
    upstream.respond("GET", "/vessels", text=LEGACY_XML, content_type="application/xml")
    with serve_rest(gen) as url:
        resp = httpx.get(f"{url}/legacy/vessels", timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json() == [
        {"code": "LEG-1", "name": "Old Faithful"},
        {"code": "LEG-2", "name": "Sea Dog"},
    ]
    assert [(r.method, r.path) for r in upstream.requests] == [("GET", "/vessels")]


# inline/steps-lookup-chain.yaml (OperationStepExecutorIntegrationTest): call -> lookup ->
# call -> call using the previous step's output; the last request ends /echo/eu.
def test_steps_lookup_chain(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The Java test runs the steps with the base parameters {targetEmail, requestingUserId}:
    # both are the caller's inputs (docs/semantics.md, Steps: a `lookupValue` of `{{x}}` is the
    # input `x`), so both go on the query string; neither is read from the environment.
    monkeypatch.delenv("targetEmail", raising=False)
    gen = conformance.generate(f"{INLINE}/steps-lookup-chain.yaml")
    upstream.respond(
        "GET",
        "/v1/users",
        json_body=[
            {"id": "u1", "email": "a@example.com"},
            {"id": "u2", "email": "b@example.com"},
        ],
    )
    upstream.respond("GET", "/v1/profiles/u7", json_body={"profile": {"region": "eu"}})
    upstream.respond("GET", "/v1/echo/eu", json_body={"echo": "eu"})
    with serve_rest(gen) as url:
        resp = httpx.get(
            f"{url}/workflow",
            params={"targetEmail": "b@example.com", "requestingUserId": "u7"},
            timeout=10,
        )
    assert resp.status_code == 200, resp.text
    assert [(r.method, r.path) for r in upstream.requests] == [
        ("GET", "/v1/users"),
        ("GET", "/v1/profiles/u7"),
        ("GET", "/v1/echo/eu"),
    ]
