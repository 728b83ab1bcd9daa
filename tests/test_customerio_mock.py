"""The Customer.io Track mock and the loopback server helper, driven over real HTTP.

Everything goes through ``serve_asgi`` (uvicorn on 127.0.0.1) and httpx, so these tests
also pin down what a client of the mock actually sees on the wire.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.customerio_mock import (
    BATCH_PATH,
    ENTITY_PATH,
    REGION_PATH,
    CustomerioMock,
    MockConfig,
    RecordedRequest,
)
from support.servers import free_port, serve_asgi, wait_for_port

DATA_DIR = Path(__file__).resolve().parent / "data" / "customerio"
CREDENTIALS = ("site-123", "key-456")
JSON_CT = "application/json; charset=utf-8"
UNAUTHORIZED = {"meta": {"error": "Unauthorized request"}}
ULID_A = "01KJ3ZQ7N2V8B6X4C9D1E5F0GH"
ULID_B = "01KJ3ZR0A1B2C3D4E5F6G7H8JK"


def _index() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((DATA_DIR / "index.json").read_text())
    return entries


INDEX = _index()
EXAMPLES = {entry["example"][:2]: entry for entry in INDEX}


def _request_bytes(number: str) -> bytes:
    name: str = EXAMPLES[number]["request"]
    return (DATA_DIR / name).read_bytes()


def _request_json(number: str) -> Any:
    return json.loads(_request_bytes(number))


def _response(number: str) -> dict[str, Any]:
    name: str = EXAMPLES[number]["response"]
    response: dict[str, Any] = json.loads((DATA_DIR / name).read_text())
    return response


def _person(action: str, **extra: Any) -> dict[str, Any]:
    return {"type": "person", "identifiers": {"id": "u1"}, "action": action, **extra}


def _who(identifiers: dict[str, Any], action: str, **extra: Any) -> dict[str, Any]:
    return {"type": "person", "identifiers": identifiers, "action": action, **extra}


def _merge(primary: Any, secondary: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"type": "person", "action": "merge", "primary": primary}
    if secondary is not None:
        op["secondary"] = secondary
    return op


def _object(action: str, identifiers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "identifiers": identifiers, "action": action, **extra}


def _rel(**identifiers: Any) -> dict[str, Any]:
    return {"identifiers": identifiers}


def _delivery(**overrides: Any) -> dict[str, Any]:
    """A valid delivery metric; an override of None removes that key."""
    op: dict[str, Any] = {
        "type": "delivery",
        "identifiers": {"id": "RPIyMTM6OjEyMzQ="},
        "action": "event",
        "name": "opened",
        "attributes": {"device_token": "tok"},
    }
    op.update(overrides)
    return {k: v for k, v in op.items() if v is not None}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[CustomerioMock, str]]:
    mock = CustomerioMock()
    with serve_asgi(mock.app) as url:
        yield mock, url


@pytest.fixture
def mock(server: tuple[CustomerioMock, str]) -> CustomerioMock:
    server[0].reset()
    return server[0]


@pytest.fixture(scope="module")
def http(server: tuple[CustomerioMock, str]) -> Iterator[httpx.Client]:
    # One client for the module: building an httpx.Client (its TLS context) costs ~50 ms.
    with httpx.Client(base_url=server[1], timeout=5.0) as client:
        yield client


def post_batch(
    http: httpx.Client, body: Any, *, auth: Any = CREDENTIALS, **kwargs: Any
) -> httpx.Response:
    if isinstance(body, bytes):
        kwargs.setdefault("headers", {"content-type": "application/json"})
        return http.post(BATCH_PATH, content=body, auth=auth, **kwargs)
    return http.post(BATCH_PATH, json=body, auth=auth, **kwargs)


def error_indexes(resp: httpx.Response) -> set[int]:
    return {e["batch_index"] for e in resp.json()["errors"]}


# -- the ten examples --------------------------------------------------------------------


def test_example_data_is_complete() -> None:
    assert sorted(EXAMPLES) == [f"{n:02d}" for n in range(1, 11)]
    for entry in INDEX:
        body = _request_bytes(entry["example"][:2])
        compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
        assert len(compact) == entry["compact_body_bytes"], entry["example"]


@pytest.mark.parametrize("number", sorted(EXAMPLES))
def test_example_gives_expected_status_and_shape(
    number: str, mock: CustomerioMock, http: httpx.Client
) -> None:
    entry, expected = EXAMPLES[number], _response(number)
    raw = _request_bytes(number)
    auth: tuple[str, str] = CREDENTIALS
    if expected["status"] == 401:
        auth = (CREDENTIALS[0], "wrong-key")
    if expected["status"] == 429:
        mock.queue_fault({"status": 429, "retry_after": 2})

    resp = post_batch(http, raw, auth=auth)

    assert resp.status_code == entry["expected_status"] == expected["status"], resp.text
    if resp.content:
        assert resp.headers["content-type"] == JSON_CT
    status = resp.status_code
    accepted = {(o["request_no"], o["batch_index"]) for o in mock.ops}
    if status == 200:
        assert resp.content == b"{}"
        assert accepted == {(1, i) for i in range(entry["ops"])}
    elif status == 207:
        expected_errors = expected["body"]["errors"]
        assert error_indexes(resp) == {e["batch_index"] for e in expected_errors}
        for got, want in zip(resp.json()["errors"], expected_errors, strict=True):
            assert set(got) == {"batch_index", "reason", "field", "message"}
            assert (got["batch_index"], got["reason"], got["field"]) == (
                want["batch_index"],
                want["reason"],
                want["field"],
            )
        failed = error_indexes(resp)
        assert accepted == {(1, i) for i in range(entry["ops"]) if i not in failed}
    elif status in (400, 413):
        errors = resp.json()["errors"]
        assert errors and all("batch_index" not in e for e in errors)
        assert [(e["reason"], e["field"]) for e in errors] == [
            (e["reason"], e["field"]) for e in expected["body"]["errors"]
        ]
        assert accepted == set()
    elif status == 401:
        assert resp.json() == UNAUTHORIZED
        assert accepted == set()
    elif status == 429:
        assert resp.headers["retry-after"] == "2"
        assert resp.content == b""
        assert accepted == set()
    assert "x-request-id" not in resp.headers

    (record,) = mock.requests
    assert (record.method, record.path, record.raw_path, record.status) == (
        "POST",
        BATCH_PATH,
        BATCH_PATH,
        status,
    )
    assert record.body == raw
    assert record.basic_auth == auth


def test_example_04_indexes_exactly(mock: CustomerioMock, http: httpx.Client) -> None:
    resp = post_batch(http, _request_json("04"))
    assert resp.status_code == 207
    assert error_indexes(resp) == {1, 2, 3, 5, 6}
    assert [o["batch_index"] for o in mock.ops] == [0, 4]


def test_example_07_reports_only_the_large_op(mock: CustomerioMock, http: httpx.Client) -> None:
    resp = post_batch(http, _request_json("07"))
    assert resp.status_code == 207
    assert resp.json()["errors"][0]["batch_index"] == 1
    assert error_indexes(resp) == {1}
    assert [o["batch_index"] for o in mock.ops] == [0]


# -- recorded requests -------------------------------------------------------------------


def test_recorded_request_fields(mock: CustomerioMock, http: httpx.Client) -> None:
    body = b'{"batch":[{"type":"person","identifiers":{"id":"u1"},"action":"delete"}]}'
    resp = http.post(
        BATCH_PATH + "?trace=1",
        content=body,
        auth=CREDENTIALS,
        headers={"Content-Type": "text/plain", "X-Custom": "Keep Case"},
    )
    assert resp.status_code == 200  # the request content type is not enforced
    http.get(REGION_PATH, auth=CREDENTIALS)
    http.get("/nowhere")
    http.get("/__mock/requests")  # control calls are not recorded

    assert [(r.method, r.path, r.status) for r in mock.requests] == [
        ("POST", BATCH_PATH, 200),
        ("GET", REGION_PATH, 200),
        ("GET", "/nowhere", 404),
    ]
    record = mock.requests[0]
    assert isinstance(record, RecordedRequest)
    assert record.query == "trace=1"
    assert record.raw_path == BATCH_PATH
    assert record.body == body
    assert record.json() == json.loads(body)
    assert record.headers["content-type"] == "text/plain"
    assert record.content_type == "text/plain"
    assert record.headers["x-custom"] == "Keep Case"
    expected_auth = "Basic " + base64.b64encode(b"site-123:key-456").decode()
    assert record.headers["authorization"] == expected_auth
    assert record.basic_auth == CREDENTIALS
    assert all(name == name.lower() for name in record.headers)
    assert [r.request_no for r in mock.requests] == [1, 2, 3]
    assert mock.batch_requests() == [record]


def test_auth_variants(mock: CustomerioMock, http: httpx.Client) -> None:
    body = _request_json("01")
    mock.queue_fault({"status": 503})
    for headers in (
        {},
        {"authorization": "Bearer key-456"},
        {"authorization": "Basic !!!not-base64!!!"},
        {"authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ):
        resp = http.post(BATCH_PATH, json=body, headers=headers)
        assert resp.status_code == 401, headers
        assert resp.json() == UNAUTHORIZED
        assert resp.headers["content-type"] == JSON_CT
    assert mock.pending_faults() == [{"status": 503}]  # a 401 never consumes a fault
    assert [r.basic_auth for r in mock.requests] == [None, None, None, None]

    resp = post_batch(http, body, auth=("site-123", "other"))
    assert resp.status_code == 401
    assert mock.requests[-1].basic_auth == ("site-123", "other")
    assert mock.ops == []

    # go-customerio encodes with the URL-safe alphabet; "?>" makes the two alphabets differ.
    mock.update_config(api_key="k?>")
    token = base64.urlsafe_b64encode(b"site-123:k?>").decode()
    assert token != base64.b64encode(b"site-123:k?>").decode()
    assert (
        http.post(BATCH_PATH, json=body, headers={"authorization": f"Basic {token}"}).status_code
        == 503
    )
    assert post_batch(http, body, auth=("site-123", "k?>")).status_code == 200


# -- whole-request failures --------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "parse_error"),
        (b"", "parse_error"),
        (b'{"batch": [NaN]}', "parse_error"),
        (b'{"batch": "\xff"}', "parse_error"),
        (b"[1, 2]", "invalid"),
        (b'{"batch": {"type": "person"}}', "invalid"),
        (b'{"batch": null}', "required"),
    ],
)
def test_malformed_requests_are_400(
    content: bytes, reason: str, mock: CustomerioMock, http: httpx.Client
) -> None:
    resp = post_batch(http, content)
    assert resp.status_code == 400
    (error,) = resp.json()["errors"]
    assert error["reason"] == reason
    assert "batch_index" not in error
    assert mock.ops == []


def test_size_is_checked_before_parsing(mock: CustomerioMock, http: httpx.Client) -> None:
    mock.update_config(max_batch_bytes=100, oversize_status=400)
    resp = post_batch(http, b"x" * 101)  # not JSON either: size wins
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == "batch"
    assert post_batch(http, b"x" * 100).json()["errors"][0]["reason"] == "parse_error"


def test_configurable_statuses(mock: CustomerioMock, http: httpx.Client) -> None:
    mock.update_config(op_too_large_mode="batch")
    resp = post_batch(http, _request_json("07"))
    assert resp.status_code == 400
    assert "batch_index" not in resp.json()["errors"][0]
    assert mock.ops == []

    mock.update_config(empty_batch_status=200)
    assert post_batch(http, {"batch": []}).status_code == 200

    mock.update_config(max_ops=2)
    assert post_batch(http, {"batch": [_person("delete")] * 3}).status_code == 400
    assert post_batch(http, {"batch": [_person("delete")] * 2}).status_code == 200

    bad = {"batch": [_person("event"), _person("track")]}
    assert post_batch(http, bad).status_code == 207  # default: 207 even when all fail
    mock.update_config(all_invalid_status=400)
    resp = post_batch(http, bad)
    assert resp.status_code == 400
    assert error_indexes(resp) == {0, 1}


def test_rate_limiter(mock: CustomerioMock, http: httpx.Client) -> None:
    mock.update_config(rate_limit_rps=2.0, retry_after=3)
    body = {"batch": [_person("delete")]}
    statuses = [post_batch(http, body).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = post_batch(http, body)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert limited.content == b""
    # Buckets are per credential: another site id has its own.
    assert post_batch(http, body, auth=("other-site", "x")).status_code == 401
    time.sleep(0.6)  # > 1 token at 2/s
    assert post_batch(http, body).status_code == 200
    assert len(mock.ops) == 3

    mock.update_config(retry_after=None)  # also refills the buckets
    last = [post_batch(http, body) for _ in range(3)][-1]
    assert last.status_code == 429
    assert "retry-after" not in last.headers


# -- per-operation validation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "reason", "field"),
    [
        ("not-an-object", "invalid", ""),
        ({"identifiers": {"id": "u1"}, "action": "identify"}, "required", "type"),
        ({**_person("identify"), "type": "company"}, "invalid", "type"),
        ({"type": "person", "identifiers": {"id": "u1"}}, "required", "action"),
        (_object("event", {"cio_object_id": "o"}), "invalid", "action"),
        ({"type": "person", "action": "identify"}, "required", "identifiers"),
        (_who({}, "identify"), "required", "identifiers"),
        (_who({"id": ""}, "identify"), "invalid", "identifiers.id"),
        (_who({"id": True}, "identify"), "invalid", "identifiers.id"),
        (_who({"phone": "+15551234567"}, "identify"), "invalid", "identifiers"),
        (_who({"anonymous_id": "a"}, "event", name="x"), "invalid", "identifiers"),
        (_person("event", name="x", id="not-a-ulid"), "invalid", "id"),
        (_person("event", name="x", timestamp=1772013600000.5), "invalid", "timestamp"),
        (_person("event", name="x", timestamp="2026-01-01"), "invalid", "timestamp"),
        (_person("page"), "required", "name"),
        (_person("screen", name=7), "invalid", "name"),
        (_person("identify", attributes=["a"]), "invalid", "attributes"),
        (_person("add_device"), "required", "device"),
        (
            _person("add_device", device={"token": "t", "platform": "windows"}),
            "invalid",
            "device.platform",
        ),
        (_person("delete_device", device={}), "required", "device.token"),
        (_person("add_relationships"), "required", "cio_relationships"),
        (_person("delete_relationships", cio_relationships=[]), "required", "cio_relationships"),
        (
            _person(
                "add_relationships", cio_relationships=[_rel(object_type_id="0", object_id="a")]
            ),
            "invalid",
            "cio_relationships[0].identifiers.object_type_id",
        ),
        (_merge({"id": "a"}, None), "required", "secondary"),
        (_merge({"id": "a", "email": "b@x"}, {"id": "c"}), "invalid", "primary"),
        (_object("identify", {"object_type_id": "1"}), "required", "identifiers.object_id"),
        (
            _object("delete", {"object_type_id": "x", "object_id": "a"}),
            "invalid",
            "identifiers.object_type_id",
        ),
        (_object("delete", {"cio_object_id": "o", "object_id": "a"}), "invalid", "identifiers"),
        (_object("identify_anonymous", {"cio_object_id": "o"}), "required", "anonymous_id"),
        (
            _object(
                "add_relationships",
                {"cio_object_id": "o"},
                cio_relationships=[_rel(id="1", cio_id="2")],
            ),
            "invalid",
            "cio_relationships[0].identifiers",
        ),
        (_delivery(identifiers={}), "required", "identifiers.id"),
        (_delivery(name=None), "required", "name"),
        (_delivery(name="clicked"), "invalid", "name"),
        (_delivery(attributes=None), "required", "attributes.device_token"),
    ],
)
def test_invalid_op_is_reported_at_its_index(
    op: Any, reason: str, field: str, mock: CustomerioMock, http: httpx.Client
) -> None:
    resp = post_batch(http, {"batch": [_person("suppress"), op]})
    assert resp.status_code == 207, resp.text
    (error,) = resp.json()["errors"]
    assert (error["batch_index"], error["reason"], error["field"]) == (1, reason, field)
    assert isinstance(error["message"], str) and error["message"]
    assert [o["batch_index"] for o in mock.ops] == [0]


@pytest.mark.parametrize(
    "op",
    [
        _who({"id": 42}, "identify"),  # numeric ids are tolerated
        _who({"email": "a@example.com"}, "unsuppress"),
        _who({"cio_id": "c1"}, "event", name="x", id=None),  # null optional fields are ignored
        _person("event", name="n", id=ULID_A, timestamp=1772013600, attributes={"k": "v"}),
        _person("identify", cio_relationships=[_rel(cio_object_id="o1")]),
        _merge({"cio_id": "a"}, {"email": "b@x"}),
        _object("delete", {"object_type_id": 3, "object_id": "x"}),
        _object(
            "identify_anonymous",
            {"object_type_id": "1", "object_id": "x"},
            cio_relationships=[_rel(anonymous_id="an")],
        ),
        _delivery(name="delivered"),
    ],
)
def test_valid_op_variants(op: dict[str, Any], mock: CustomerioMock, http: httpx.Client) -> None:
    resp = post_batch(http, {"batch": [op]})
    assert (resp.status_code, resp.json()) == (200, {})
    assert [o["op"] for o in mock.ops] == [op]


def test_identifier_switches(mock: CustomerioMock, http: httpx.Client) -> None:
    phone = {"type": "person", "identifiers": {"phone": "+15551234567"}, "action": "identify"}
    email = {"type": "person", "identifiers": {"email": "a@example.com"}, "action": "identify"}
    anonymous = {
        "type": "person",
        "identifiers": {"anonymous_id": "an-1"},
        "action": "page",
        "name": "/",
    }
    assert error_indexes(post_batch(http, {"batch": [phone, email, anonymous]})) == {0, 2}

    mock.update_config(
        allow_phone_identifiers=True, allow_email_identifiers=False, allow_person_anonymous_id=True
    )
    assert error_indexes(post_batch(http, {"batch": [phone, email, anonymous]})) == {1}
    bad_phone = {**phone, "identifiers": {"phone": "5551234567"}}
    resp = post_batch(http, {"batch": [bad_phone]})
    assert resp.json()["errors"][0]["field"] == "identifiers.phone"


def test_strict_content_limits(mock: CustomerioMock, http: httpx.Client) -> None:
    long_id = {"type": "person", "identifiers": {"id": "i" * 151}, "action": "delete"}
    long_name = _person("event", name="n" * 101)
    long_value = _person("identify", attributes={"a": "v" * 1001})
    many = _person("identify", attributes={f"a{i}": i for i in range(301)})
    batch = {"batch": [long_id, long_name, long_value, many, _person("delete")]}
    assert post_batch(http, batch).status_code == 200  # off by default

    mock.update_config(strict_content_limits=True)
    resp = post_batch(http, batch)
    assert resp.status_code == 207
    assert [(e["batch_index"], e["field"]) for e in resp.json()["errors"]] == [
        (0, "identifiers.id"),
        (1, "name"),
        (2, "attributes.a"),
        (3, "attributes"),
    ]


def test_op_size_limit_is_configurable(mock: CustomerioMock, http: httpx.Client) -> None:
    small, big = _person("delete"), _person("identify", attributes={"a": "x" * 200})
    mock.update_config(max_op_bytes=len(json.dumps(small, separators=(",", ":"))))
    resp = post_batch(http, {"batch": [small, big]})
    assert resp.status_code == 207
    assert resp.json()["errors"] == [
        {
            "batch_index": 1,
            "reason": "invalid",
            "field": "",
            "message": resp.json()["errors"][0]["message"],
        }
    ]


# -- faults ------------------------------------------------------------------------------


def test_status_fault_with_json_body(mock: CustomerioMock, http: httpx.Client) -> None:
    mock.queue_fault({"status": 500, "body": {"meta": {"error": "internal error"}}})
    resp = post_batch(http, _request_json("01"))
    assert resp.status_code == 500
    assert resp.json() == {"meta": {"error": "internal error"}}
    assert resp.headers["content-type"] == JSON_CT
    assert mock.ops == []
    assert mock.requests[0].status == 500
    assert post_batch(http, _request_json("01")).status_code == 200  # one-shot


def test_html_fault(mock: CustomerioMock, http: httpx.Client) -> None:
    html = "<html><body>502 Server Error</body></html>"
    mock.queue_fault({"status": 502, "body_text": html, "content_type": "text/html"})
    resp = post_batch(http, _request_json("01"))
    assert (resp.status_code, resp.text, resp.headers["content-type"]) == (502, html, "text/html")


def test_retry_after_forms(mock: CustomerioMock, http: httpx.Client) -> None:
    date = formatdate(time.time() + 5, usegmt=True)
    mock.queue_fault({"status": 429, "retry_after": 2})
    mock.queue_fault({"status": 429, "retry_after": date})
    mock.queue_fault({"status": 429})
    first, second, third = (post_batch(http, _request_json("10")) for _ in range(3))
    assert [r.status_code for r in (first, second, third)] == [429, 429, 429]
    assert first.headers["retry-after"] == "2"
    assert second.headers["retry-after"] == date
    assert "retry-after" not in third.headers
    assert mock.ops == []
    assert post_batch(http, _request_json("10")).status_code == 200


def test_faults_are_fifo_and_only_for_batch_calls(mock: CustomerioMock, http: httpx.Client) -> None:
    mock.queue_fault({"status": 503})
    mock.queue_fault({"status": 504})
    assert http.get(REGION_PATH, auth=CREDENTIALS).status_code == 200
    assert http.post(ENTITY_PATH, json=_person("delete"), auth=CREDENTIALS).status_code == 200
    assert [post_batch(http, _request_json("01")).status_code for _ in range(3)] == [503, 504, 200]


def test_delay_fault_accepts_even_when_client_gives_up(
    mock: CustomerioMock, http: httpx.Client
) -> None:
    body = _request_json("02")
    mock.queue_fault({"delay_s": 3.0})
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        post_batch(http, body, timeout=0.3)
    assert time.monotonic() - started < 2.0
    assert len(mock.ops) == 13 and not any(o["deduped"] for o in mock.ops)
    assert mock.requests[0].status == 200

    # The retry carries the same ULID, so the event is not counted twice.
    assert post_batch(http, body).status_code == 200
    deduped = [o for o in mock.ops if o["deduped"]]
    assert [(o["request_no"], o["op"]["id"]) for o in deduped] == [(2, ULID_A)]
    assert sum(1 for op in mock.accepted_ops() if op.get("id") == ULID_A) == 1


def test_delay_fault_answers_late(mock: CustomerioMock, http: httpx.Client) -> None:
    mock.queue_fault({"delay_s": 0.3})
    started = time.monotonic()
    resp = post_batch(http, _request_json("01"))
    assert resp.status_code == 200
    assert time.monotonic() - started >= 0.3
    mock.queue_fault({"delay_s": 0.2, "status": 503})
    started = time.monotonic()
    assert post_batch(http, _request_json("01")).status_code == 503
    assert time.monotonic() - started >= 0.2
    assert len(mock.ops) == 3


def test_accept_then_status(mock: CustomerioMock, http: httpx.Client) -> None:
    body = _request_json("02")
    mock.queue_fault({"accept_then_status": 500})
    resp = post_batch(http, body)
    assert resp.status_code == 500
    assert len(mock.ops) == 13
    assert post_batch(http, body).status_code == 200
    assert [o["op"]["id"] for o in mock.ops if o["deduped"]] == [ULID_A]
    assert len(mock.accepted_ops()) == 25


@pytest.mark.parametrize(
    ("mode", "error"), [(True, httpx.RemoteProtocolError), ("reset", httpx.ReadError)]
)
def test_drop_connection(
    mode: Any, error: type[Exception], mock: CustomerioMock, http: httpx.Client
) -> None:
    mock.queue_fault({"drop_connection": mode})
    with pytest.raises(error):
        post_batch(http, _request_json("01"))
    assert mock.ops == []
    assert mock.requests[0].status == 0
    # Not a 500: no response at all; and the server keeps serving, on the same client too.
    assert post_batch(http, _request_json("01")).status_code == 200

    mock.queue_fault({"drop_connection": mode, "accept": True})
    with pytest.raises(httpx.TransportError):
        post_batch(http, _request_json("01"))
    assert len(mock.ops) == 6


def test_redirect_fault(mock: CustomerioMock, http: httpx.Client) -> None:
    location = "https://track-eu.customer.io/api/v2/batch"
    mock.queue_fault({"redirect": 307, "location": location})
    resp = post_batch(http, _request_json("01"))
    assert (resp.status_code, resp.headers["location"]) == (307, location)
    assert mock.ops == []

    body = {"errors": [{"detail": "wrong datacenter", "status": "301"}]}
    mock.queue_fault({"status": 301, "body": body})
    resp = post_batch(http, _request_json("01"))
    assert (resp.status_code, resp.json()) == (301, body)


def test_non_json_success(mock: CustomerioMock, http: httpx.Client) -> None:
    mock.queue_fault({"status": 200, "body_text": "<<not-json>>"})
    resp = post_batch(http, _request_json("01"))
    assert (resp.status_code, resp.content) == (200, b"<<not-json>>")
    with pytest.raises(ValueError):
        resp.json()


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "bdy": {}},
        {"redirect": 307},
        {"status": 500, "drop_connection": True},
        {"status": 99},
        {"body": {}},
        {"delay_s": -1},
        {"drop_connection": "maybe"},
        {"status": 429, "body": {}, "body_text": ""},
    ],
)
def test_bad_faults_are_refused(fault: dict[str, Any], mock: CustomerioMock) -> None:
    with pytest.raises(ValueError):
        mock.queue_fault(fault)
    assert mock.pending_faults() == []


# -- dedupe and reset --------------------------------------------------------------------


def test_dedupe_events_pages_screens_by_ulid(mock: CustomerioMock, http: httpx.Client) -> None:
    batch = [
        _person("event", name="a", id=ULID_A),
        _person("page", name="/", id=ULID_A),  # same id, same batch: still a duplicate
        _person("screen", name="s", id=ULID_B),
        _person("event", name="no-id"),
        _person("event", name="no-id"),
    ]
    assert post_batch(http, {"batch": batch}).status_code == 200
    assert post_batch(http, {"batch": batch[2:3]}).status_code == 200
    assert [o["deduped"] for o in mock.ops] == [False, True, False, False, False, True]
    assert len(mock.accepted_ops()) == 4


def test_reset(mock: CustomerioMock, http: httpx.Client) -> None:
    requests_ref, ops_ref = mock.requests, mock.ops
    post_batch(http, {"batch": [_person("event", name="a", id=ULID_A)]})
    mock.queue_fault({"status": 503})
    mock.update_config(max_ops=1, region="eu")
    mock.reset()
    assert mock.requests == [] and mock.ops == [] and mock.pending_faults() == []
    assert mock.requests is requests_ref and mock.ops is ops_ref
    assert mock.config == MockConfig()
    assert (
        post_batch(http, {"batch": [_person("event", name="a", id=ULID_A)] * 2}).status_code == 200
    )
    assert [o["deduped"] for o in mock.ops] == [False, True]  # the dedupe memory was cleared
    assert mock.requests[0].request_no == 1


# -- other routes ------------------------------------------------------------------------


def test_entity_route(mock: CustomerioMock, http: httpx.Client) -> None:
    op = _person("event", name="e", id=ULID_B)
    resp = http.post(ENTITY_PATH, json=op, auth=CREDENTIALS)
    assert (resp.status_code, resp.json()) == (200, {})
    assert mock.ops[0]["batch_index"] is None and mock.ops[0]["op"] == op
    resp = http.post(ENTITY_PATH, json=_person("event"), auth=CREDENTIALS)
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        {"reason": "required", "field": "name", "message": "name is required for action event"}
    ]
    assert http.post(ENTITY_PATH, json=op, auth=("a", "b")).json() == UNAUTHORIZED
    big = _person("identify", attributes={"a": "x" * 33_000})
    assert http.post(ENTITY_PATH, json=big, auth=CREDENTIALS).status_code == 413
    assert mock.batch_requests() == []


def test_region_route(mock: CustomerioMock, http: httpx.Client) -> None:
    resp = http.get(REGION_PATH, auth=CREDENTIALS)
    assert resp.json() == {
        "url": "https://track.customer.io",
        "region": "us",
        "environment_id": 123456,
    }
    mock.update_config(region="eu", environment_id=7)
    assert http.get(REGION_PATH, auth=CREDENTIALS).json() == {
        "url": "https://track-eu.customer.io",
        "region": "eu",
        "environment_id": 7,
    }
    resp = http.get(REGION_PATH, auth=("x", "y"))
    assert (resp.status_code, resp.json()) == (401, UNAUTHORIZED)


def test_unknown_routes_are_404(mock: CustomerioMock, http: httpx.Client) -> None:
    assert http.get(BATCH_PATH, auth=CREDENTIALS).status_code == 404
    assert http.post("/api/v1/batch", json={}, auth=CREDENTIALS).status_code == 404
    assert http.post(BATCH_PATH + "/", json={}, auth=CREDENTIALS).status_code == 404
    assert [r.status for r in mock.requests] == [404, 404, 404]


def test_unnormalized_path_is_404(mock: CustomerioMock, server: tuple[CustomerioMock, str]) -> None:
    # httpx removes dot segments itself, so speak HTTP over a raw socket.
    host, port = server[1].removeprefix("http://").split(":")
    body = json.dumps(_request_json("01")).encode()
    auth = base64.b64encode(b"site-123:key-456").decode()
    head = [
        "POST /api/v1/../v2/batch HTTP/1.1",
        f"Host: {host}",
        f"Authorization: Basic {auth}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        reply = b""
        for _ in range(1000):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 404 ")
    (record,) = mock.requests
    assert record.raw_path == "/api/v1/../v2/batch"
    assert mock.ops == []


def test_control_routes(mock: CustomerioMock, http: httpx.Client) -> None:
    assert http.post("/__mock/faults", json={"status": 503}).json() == {"queued": 1, "pending": 1}
    resp = http.post("/__mock/faults", json=[{"status": 429, "retry_after": 1}, {"delay_s": 0}])
    assert resp.json() == {"queued": 2, "pending": 3}
    assert http.post("/__mock/faults", json={"sttus": 1}).status_code == 400
    assert http.get("/__mock/faults").json() == [
        {"status": 503},
        {"status": 429, "retry_after": 1},
        {"delay_s": 0},
    ]
    assert post_batch(http, _request_json("01")).status_code == 503

    config = http.post("/__mock/config", json={"max_ops": 5}).json()
    assert config["max_ops"] == 5 and mock.config.max_ops == 5
    assert http.get("/__mock/config").json() == config
    assert http.post("/__mock/config", json={"no_such_setting": 1}).status_code == 400
    assert http.post("/__mock/config", json={"region": "mars"}).status_code == 400

    requests = http.get("/__mock/requests").json()
    assert [(r["method"], r["path"], r["status"], r["basic_auth"]) for r in requests] == [
        ("POST", BATCH_PATH, 503, list(CREDENTIALS))
    ]
    assert json.loads(requests[0]["body"]) == _request_json("01")
    assert http.get("/__mock/ops").json() == []
    assert post_batch(http, _request_json("01")).status_code == 429
    assert post_batch(http, _request_json("01")).status_code == 200
    ops = http.get("/__mock/ops").json()
    assert [(o["request_no"], o["batch_index"], o["deduped"]) for o in ops] == [
        (3, 0, False),
        (3, 1, False),
        (3, 2, False),
    ]

    assert http.post("/__mock/reset").json() == {}
    assert mock.requests == [] and mock.config.max_ops is None
    assert http.get("/__mock/reset").status_code == 405
    assert http.get("/__mock/nothing").status_code == 404
    assert mock.requests == []


# -- the server helper -------------------------------------------------------------------


def test_serve_asgi_runs_lifespan_and_fixed_port() -> None:
    events: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    port = free_port()
    with serve_asgi(app, port=port) as url:
        assert url == f"http://127.0.0.1:{port}"
        wait_for_port("127.0.0.1", port, timeout=2.0)
        assert httpx.get(url + "/x", timeout=5.0).status_code == 204
    assert events == ["lifespan.startup", "lifespan.shutdown"]
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", port, timeout=0.3)


def test_serve_asgi_refuses_non_loopback() -> None:
    with pytest.raises(ValueError), serve_asgi(CustomerioMock().app, host="0.0.0.0"):
        pass


def test_serve_asgi_answers_without_delayed_ack_stall(http: httpx.Client) -> None:
    # Without TCP_NODELAY on accepted sockets each answer waits ~40 ms for a delayed ACK.
    http.get("/warm-up")
    started = time.monotonic()
    for _ in range(20):
        http.get("/nowhere")
    assert time.monotonic() - started < 0.5
