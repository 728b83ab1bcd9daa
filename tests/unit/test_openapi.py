"""The OpenAPI document of a generated REST service, built from the model (no FastAPI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from naftiko_codegen.build import build
from naftiko_codegen.load import load_file
from naftiko_codegen.model import Capability
from naftiko_codegen.openapi import document, render
from naftiko_codegen.validate import validate

ROOT = Path(__file__).resolve().parents[2]

SPEC = """\
naftiko: 1.0.0-alpha2
info:
  label: Items
  description: A small capability.
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: https://api.example.com/v1
    resources:
    - name: items
      path: /items/{item-id}
      operations:
      - name: get-item
        method: GET
        description: Read one item
        inputParameters:
        - name: item-id
          in: path
        - name: limit
          in: query
          type: integer
          required: false
          description: At most this many
  exposes:
  - type: rest
    namespace: items-rest
    port: 8080
    resources:
    - path: /items/{item-id}
      operations:
      - method: GET
        name: get-item
        call: api.get-item
    - path: /healthz
      operations:
      - method: GET
        name: own-health
        call: api.get-item
        with:
          item-id: health
"""


def built(tmp_path: Path, text: str) -> Capability:
    path = tmp_path / "items.yaml"
    path.write_text(text, encoding="utf-8")
    doc = load_file(path)
    errors = [d for d in validate(doc) if d.is_error]
    assert not errors, errors
    return build(doc)


@pytest.fixture(scope="module")
def track_batch() -> Capability:
    return build(load_file(ROOT / "specs" / "track-batch.yaml"))


def test_every_operation_with_its_body(track_batch: Capability) -> None:
    doc = document(track_batch)
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "Customer.io Track API — Batch"
    assert sorted(doc["paths"]) == ["/healthz", "/readyz", "/v1//v2/batch"]
    post = doc["paths"]["/v1//v2/batch"]["post"]
    assert post["operationId"] == "trackbatch"
    assert post["requestBody"]["required"] is True
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["type"] == "object"
    assert post["parameters"] == [{"$ref": "#/components/parameters/RequestId"}]
    assert sorted(post["responses"]) == ["200", "400", "413", "422", "502", "504", "default"]
    problem = post["responses"]["422"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    assert "Retry-After" in post["responses"]["default"]["headers"]
    assert doc["paths"]["/readyz"]["get"]["responses"]["503"]


def test_parameters_carry_their_schemas(tmp_path: Path) -> None:
    doc = document(built(tmp_path, SPEC))
    get = doc["paths"]["/items/{item_id}"]["get"]
    assert get["parameters"][1:] == [
        {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}},
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer"},
            "description": "At most this many",
        },
    ]
    assert "requestBody" not in get
    assert set(get["responses"]) == {"200", "422", "502", "504", "default"}


def test_a_spec_route_takes_precedence_over_a_probe(tmp_path: Path) -> None:
    cap = built(tmp_path, SPEC)
    assert cap.rest is not None and cap.rest.health_paths == ("/readyz",)
    doc = document(cap)
    assert doc["paths"]["/healthz"]["get"]["operationId"] == "own-health"
    assert doc["paths"]["/readyz"]["get"]["operationId"] == "readyz"


def test_render_is_sorted_indented_and_ends_with_a_newline(track_batch: Capability) -> None:
    text = render(track_batch)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert "DO NOT EDIT" in json.loads(text)["x-generated-by"]


def test_the_generator_does_not_import_fastapi() -> None:
    code = (
        "import sys, naftiko_codegen.emit, naftiko_codegen.openapi;"
        "sys.exit('fastapi' in sys.modules or 'starlette' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60, check=False).returncode == 0
