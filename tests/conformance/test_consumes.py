"""Consume-side fixtures whose engine tests call the request builder directly
(OperationStepExecutorBranchTest, CapabilityBootstrapTest). The observable equivalent is the
generated client (`client.py`): one method per consumed operation, checked on the wire.
"""

from __future__ import annotations

import inspect
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl

import pytest
from support.recording_upstream import RecordingUpstream

from .conftest import INLINE, Conformance, refused_today

STRUCTURED = f"{INLINE}/consumes-structured-bodies.yaml"
UNRESOLVED = f"{INLINE}/consumes-unresolved-templates.yaml"
VALUE = "a&b <c> é"


def _content_type(upstream: RecordingUpstream) -> str:
    return upstream.requests[-1].headers["content-type"].split(";")[0].strip()


# The engine JSON-serialises structured bodies whatever their `type` (naftiko-spec.md §11
# item 8, not copied): the intended body is in the declared media type.
@refused_today(
    "request bodies of `type: xml`, `formUrlEncoded` and `sparql` (docs/semantics.md, Request "
    "bodies: only JSON is sent); an exposed operation without `call`, `steps` or outputs"
)
def test_structured_bodies(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(STRUCTURED)
    client_module = gen.module("client")
    upstream.respond("POST", "/items", json_body={})
    with client_module.Client(conformance.upstream_url) as client:
        client.xml_op(v=VALUE)
        assert _content_type(upstream) == "application/xml"
        root = ET.fromstring(upstream.requests[-1].body)
        assert [(e.tag, e.text) for e in root.iter("value")] == [("value", VALUE)]

        client.form_op(v=VALUE)
        assert _content_type(upstream) == "application/x-www-form-urlencoded"
        assert parse_qsl(upstream.requests[-1].body.decode("ascii")) == [("q", VALUE)]

        client.sparql_op(v="SELECT * WHERE { ?s ?p ?o }")
        assert _content_type(upstream) == "application/sparql-query"
        assert upstream.requests[-1].body == b"SELECT * WHERE { ?s ?p ?o }"
    assert [(r.method, r.path) for r in upstream.requests] == [("POST", "/items")] * 3


# The engine leaves templates untouched when the parameter map is empty and renders a missing
# placeholder as "" otherwise (naftiko-spec.md §11 item 4). Intended: one rule, every
# placeholder is a required argument, so nothing half-rendered is ever sent.
@refused_today(
    "a `body` string that is not JSON (docs/semantics.md, Request bodies); an exposed "
    "operation without `call`, `steps` or outputs"
)
def test_unresolved_templates(conformance: Conformance, upstream: RecordingUpstream) -> None:
    gen = conformance.generate(UNRESOLVED)
    client_module = gen.module("client")
    signature = inspect.signature(client_module.Client.create)
    required = {
        name
        for name, p in signature.parameters.items()
        if name != "self" and p.default is inspect.Parameter.empty
    }
    assert required == {"order_id", "missing_body"}
    upstream.respond("POST", "/orders/o-1", json_body={"ok": True})
    with client_module.Client(conformance.upstream_url) as client:
        with pytest.raises(TypeError):
            client.create(order_id="o-1")
        assert upstream.requests == []
        response = client.create(order_id="o-1", missing_body="payload")
    assert response.status_code == 200
    (req,) = upstream.requests
    assert (req.method, req.path) == ("POST", "/orders/o-1")
    assert req.body == b"payload"


def test_empty_exposes_is_refused(conformance: Conformance) -> None:
    # CapabilityBootstrapTest: "Capability must expose at least one endpoint." The fixture with
    # its `exposes` emptied, as the Java test does.
    text = (conformance.work / f"{INLINE}/bootstrap-runtime-binds.yaml").read_text("utf-8")
    start, end = text.index("  exposes:\n"), text.index("  consumes:")
    gen = conformance.variant(
        f"{INLINE}/bootstrap-runtime-binds.yaml",
        "no-exposes",
        (text[start:end], "  exposes: []\n"),
    )
    assert gen.returncode == 2
    (error,) = gen.errors()
    assert error["code"] == "E112"
    assert "`exposes` must not be empty" in error["message"]
    assert not gen.out.exists() or not any(gen.out.iterdir())
