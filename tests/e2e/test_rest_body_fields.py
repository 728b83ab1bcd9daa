"""REST request bodies with several fields (docs/semantics.md), end to end: the generated
package of tests/data/restbody/analytics-admin.yaml served by uvicorn against a recording
upstream on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.processes import run_package
from support.servers import free_port, serve_asgi

from .test_request_bodies import Recorder

SPEC = Path(__file__).resolve().parents[1] / "data" / "restbody" / "analytics-admin.yaml"
PACKAGE = "analytics_admin"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("restbody") / "generated"
    result = subprocess.run([sys.executable, "-m", "naftiko_codegen", str(SPEC), "--out", str(out)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def service(generated: Path) -> Iterator[tuple[str, Recorder]]:
    upstream = Recorder()
    with serve_asgi(upstream) as url:
        port = free_port()
        env = {"GA_TOKEN": "tok-1", "GA_ADMIN_BASE_URI": url + "/v1beta"}
        with run_package(["rest", "--host", "127.0.0.1", "--port", str(port)], env=env, host="127.0.0.1",
                         port=port, cwd=generated, pythonpath=generated, package=PACKAGE) as proc:
            yield proc.base_url, upstream


def _post(base: str, upstream: Recorder, path: str, **kwargs: object) -> tuple[httpx.Response, list[dict]]:
    before = len(upstream.requests)
    answer = httpx.post(base + path, timeout=10, **kwargs)  # type: ignore[arg-type]
    return answer, upstream.requests[before:]


def test_several_body_parameters_are_fields(service: tuple[str, Recorder]) -> None:
    base, upstream = service
    answer, sent = _post(base, upstream, "/v1/access-reports/properties-7",
                         json={"ranges": [{"startDate": "2026-01-01"}], "limit": 5, "unknown": 1})
    assert answer.status_code == 200, answer.text
    (got,) = sent
    assert (got["method"], got["path"]) == ("POST", "/v1beta/properties-7:runAccessReport")
    assert got["headers"]["authorization"] == "Bearer tok-1"
    # `with: {dateRanges: rest.ranges}` names the member; an optional member left out is not sent
    assert json.loads(got["body"]) == {"dateRanges": [{"startDate": "2026-01-01"}], "limit": 5}


def test_missing_required_field_is_422_and_nothing_goes_upstream(service: tuple[str, Recorder]) -> None:
    base, upstream = service
    answer, sent = _post(base, upstream, "/v1/access-reports/p", json={"limit": 5})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == ["ranges"]
    wrong, sent_wrong = _post(base, upstream, "/v1/access-reports/p", json={"ranges": [], "limit": "five"})
    assert wrong.status_code == 422 and [e["field"] for e in wrong.json()["errors"]] == ["limit"]
    not_object, sent_array = _post(base, upstream, "/v1/access-reports/p", json=[1, 2])
    assert not_object.status_code == 422 and not_object.json()["errors"][0]["field"] == "body"
    not_json, sent_text = _post(base, upstream, "/v1/access-reports/p", content=b"{nope",
                                headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    assert sent == sent_wrong == sent_array == sent_text == []


def test_object_value_of_a_body_parameter_is_a_template(service: tuple[str, Recorder]) -> None:
    base, upstream = service
    answer, sent = _post(base, upstream, "/v1/account-tickets",
                         json={"displayName": "Acme \"EU\"", "regionCode": "DE", "redirectUri": "https://x/cb"})
    assert answer.status_code == 200, answer.text
    (got,) = sent
    assert json.loads(got["body"]) == {"account": {"displayName": 'Acme "EU"', "regionCode": "DE"},
                                       "redirectUri": "https://x/cb"}
    # values keep their JSON type where a placeholder is the whole string
    answer, sent = _post(base, upstream, "/v1/account-tickets", json={"displayName": {"n": 1}})
    assert answer.status_code == 200, answer.text
    assert json.loads(sent[0]["body"]) == {"account": {"displayName": {"n": 1}}}


def test_template_inputs_are_fields_and_a_jsonpath_value_reads_deeper(service: tuple[str, Recorder]) -> None:
    base, upstream = service
    answer, sent = _post(base, upstream, "/v1/user-deletion-requests",
                         json={"user": {"id": "u-1"}, "id_type": "USER_ID", "property_id": 42})
    assert answer.status_code == 200, answer.text
    (got,) = sent
    assert json.loads(got["body"]) == {"id": {"type": "USER_ID", "userId": "u-1"}, "propertyId": 42,
                                       "note": "requested for u-1"}
    missing, none_sent = _post(base, upstream, "/v1/user-deletion-requests", json={"user_id": "u-1"})
    assert missing.status_code == 422 and none_sent == []


def test_openapi_describes_the_body_object(service: tuple[str, Recorder]) -> None:
    base, _ = service
    paths = httpx.get(base + "/openapi.json", timeout=10).json()["paths"]
    report = paths["/v1/access-reports/{entity}"]["post"]["requestBody"]
    assert report["required"] is True
    schema = report["content"]["application/json"]["schema"]
    assert schema["required"] == ["ranges"]
    assert schema["properties"] == {"ranges": {"type": "array"}, "limit": {"type": "integer"},
                                    "returnEntityQuota": {"type": "boolean"}}
    deletion = paths["/v1/user-deletion-requests"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert deletion["properties"]["user"] == {"type": "object", "properties": {"id": {"type": "string"}},
                                              "required": ["id"]}
    assert deletion["required"] == ["user"]
    assert paths["/v1/account-tickets"]["post"]["requestBody"]["required"] is False


def test_generated_package_type_checks_strictly(generated: Path, tmp_path: Path) -> None:
    # the body-field code paths are not in the committed packages that test_generated_quality checks
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
                             "-p", PACKAGE], cwd=generated, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
