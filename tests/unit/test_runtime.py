"""The helpers every generated package ships in `_runtime.py` (tested on the committed output)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from jsonschema import Draft202012Validator
from track_batch import _runtime
from track_batch._runtime import (
    ConfigurationError,
    add_query,
    basic_credentials,
    coerce_text,
    dump_json,
    expand_path,
    input_errors,
    join_url,
    remove_dot_segments,
    require_env,
    scalar_text,
)

# --- join_url -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        (
            "https://track.customer.io/api/v1",
            "../v2/batch",
            "https://track.customer.io/api/v2/batch",
        ),
        (
            "https://track.customer.io/api/v1/",
            "../v2/batch",
            "https://track.customer.io/api/v2/batch",
        ),
        ("https://h/api/v1", "v2/batch", "https://h/api/v1/v2/batch"),
        ("https://h/api/v1", "/v2/batch", "https://h/api/v1/v2/batch"),
        ("https://h/api/v1/", "/v2/batch", "https://h/api/v1/v2/batch"),
        ("https://h/api/v1", "./x", "https://h/api/v1/x"),
        ("https://h/api/v1", "a/./b/../c", "https://h/api/v1/a/c"),
        ("https://h/a", "../../../x", "https://h/x"),
        ("https://h/a", "../../..", "https://h/"),
        ("https://h", "x", "https://h/x"),
        ("https://h", "/x", "https://h/x"),
        ("http://h:8080", "../x", "http://h:8080/x"),
        ("https://h/a", "x/..", "https://h/a/"),
        ("https://h/a?q=1#frag", "b", "https://h/a/b"),
    ],
)
def test_join_url(base: str, path: str, expected: str):
    assert join_url(base, path) == expected


@pytest.mark.parametrize("base", ["ftp://h/x", "/relative", "h/x", "https://", ""])
def test_join_url_refuses_a_base_that_is_not_an_absolute_http_url(base: str):
    with pytest.raises(ConfigurationError, match="not an absolute http"):
        join_url(base, "x")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # RFC 3986 section 5.4 examples, applied to the path of http://a/b/c/d;p?q merged with them
        ("/b/c/g", "/b/c/g"),
        ("/b/c/./g", "/b/c/g"),
        ("/b/c/g/", "/b/c/g/"),
        ("/b/c/.", "/b/c/"),
        ("/b/c/./", "/b/c/"),
        ("/b/c/..", "/b/"),
        ("/b/c/../", "/b/"),
        ("/b/c/../g", "/b/g"),
        ("/b/c/../..", "/"),
        ("/b/c/../../g", "/g"),
        ("/b/c/../../../g", "/g"),
        ("/b/c/../../../../g", "/g"),
        ("/b/c/g.", "/b/c/g."),
        ("/b/c/..g", "/b/c/..g"),
        ("/b/c/./../g", "/b/g"),
        ("/b/c/g/../h", "/b/c/h"),
    ],
)
def test_remove_dot_segments(path: str, expected: str):
    assert remove_dot_segments(path) == expected


# --- expand_path ----------------------------------------------------------------------------

TEMPLATE = "https://h/api/items/{id}/notes"


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("abc", "abc"),
        ("a/b", "a%2Fb"),
        ("a b", "a%20b"),
        ("名前", "%E5%90%8D%E5%89%8D"),
        ("?#&=", "%3F%23%26%3D"),
        ("%2F", "%252F"),
        (".", "%2E"),
        ("..", "%2E%2E"),
        ("../..", "..%2F.."),
        ("...", "..."),
        (5, "5"),
        (True, "true"),
    ],
)
def test_expand_path_encodes_one_segment(value, segment: str):
    url = expand_path(TEMPLATE, {"id": value})
    assert url == f"https://h/api/items/{segment}/notes"


@pytest.mark.parametrize("value", [".", "..", "../..", "a/../../b", "/", "//", "..%2F", "\\.."])
def test_expand_path_value_never_adds_or_climbs_a_segment(value: str):
    url = expand_path(TEMPLATE, {"id": value})
    # as an HTTP client sends it: the same segments as the template, in the same places
    path = httpx.URL(url).raw_path.decode("ascii")
    segments = path.split("/")
    assert len(segments) == len(["", "api", "items", "x", "notes"])
    assert segments[:3] == ["", "api", "items"] and segments[-1] == "notes"
    assert segments[3] not in (".", "..")


def test_expand_path_fills_every_placeholder():
    url = expand_path("https://h/{a}/{b_2}/{a}", {"a": "x", "b_2": "y/z"})
    assert url == "https://h/x/y%2Fz/x"


# --- coerce_text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "schema", "expected"),
    [
        ("5", {"type": "integer"}, 5),
        ("-3", {"type": "integer"}, -3),
        ("1.5", {"type": "number"}, 1.5),
        ("2", {"type": "number"}, 2.0),
        ("true", {"type": "boolean"}, True),
        ("FALSE", {"type": "boolean"}, False),
        ('{"a": [1]}', {"type": "object"}, {"a": [1]}),
        ("[1, 2]", {"type": "array"}, [1, 2]),
        ("5", {"type": "string"}, "5"),
        ("5", {}, "5"),
    ],
)
def test_coerce_text_types_what_parses(text: str, schema: dict, expected):
    value = coerce_text(text, schema)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "schema"),
    [
        ("x", {"type": "integer"}),
        ("1.5", {"type": "integer"}),
        ("", {"type": "integer"}),
        ("x", {"type": "number"}),
        ("yes", {"type": "boolean"}),
        ("1", {"type": "boolean"}),
        ("{", {"type": "object"}),
        ("[1,", {"type": "array"}),
    ],
)
def test_coerce_text_leaves_what_does_not_parse_as_text(text: str, schema: dict):
    assert coerce_text(text, schema) == text


@pytest.mark.parametrize("text", ["1_000", " 5 ", "\u0663"])
def test_coerce_text_integer_accepts_only_plain_digits(text: str):
    assert coerce_text(text, {"type": "integer"}) == text


def test_coerced_values_are_checked_against_the_schema():
    validator = Draft202012Validator({"type": "object", "properties": {"n": {"type": "integer"}}})
    assert input_errors(validator, {"n": coerce_text("12", {"type": "integer"})}) == []
    assert [
        e["field"] for e in input_errors(validator, {"n": coerce_text("x", {"type": "integer"})})
    ] == ["n"]


# --- input_errors ---------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "body": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        "limit": {"type": "integer"},
        "name": {"type": "string"},
    },
    "required": ["body", "name"],
}


def test_input_errors_name_the_missing_and_mistyped_fields():
    errors = input_errors(Draft202012Validator(SCHEMA), {"limit": "ten"})
    assert [e["field"] for e in errors] == ["body", "limit", "name"]
    by_field = {e["field"]: e["message"] for e in errors}
    assert "required" in by_field["body"]
    assert "integer" in by_field["limit"]


def test_input_errors_name_nested_fields():
    errors = input_errors(Draft202012Validator(SCHEMA), {"body": {"id": 3}, "name": "x"})
    assert errors == [{"field": "body.id", "message": "3 is not of type 'string'"}]
    errors = input_errors(Draft202012Validator(SCHEMA), {"body": {}, "name": "x"})
    assert [e["field"] for e in errors] == ["body.id"]


def test_input_errors_empty_when_valid():
    assert input_errors(Draft202012Validator(SCHEMA), {"body": {"id": "a"}, "name": "x"}) == []


# --- require_env ----------------------------------------------------------------------------


def test_require_env_returns_the_values():
    assert require_env(["A", "B"], {"A": "1", "B": "two", "C": "3"}) == {"A": "1", "B": "two"}


def test_require_env_names_every_missing_variable_in_one_error():
    with pytest.raises(ConfigurationError) as info:
        require_env(["USER", "PASS", "TOKEN"], {"USER": "u", "PASS": ""})
    assert info.value.missing == ("PASS", "TOKEN")
    assert "PASS" in str(info.value) and "TOKEN" in str(info.value)
    assert "variables" in str(info.value)


def test_require_env_treats_empty_as_missing():
    with pytest.raises(ConfigurationError) as info:
        require_env(["ONLY"], {"ONLY": ""})
    assert info.value.missing == ("ONLY",)
    assert "missing environment variable: ONLY" in str(info.value)


def test_require_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NAFTIKO_TEST_VALUE", "x")
    monkeypatch.delenv("NAFTIKO_TEST_ABSENT", raising=False)
    assert require_env(["NAFTIKO_TEST_VALUE"]) == {"NAFTIKO_TEST_VALUE": "x"}
    with pytest.raises(ConfigurationError):
        require_env(["NAFTIKO_TEST_VALUE", "NAFTIKO_TEST_ABSENT"])


def test_env_float(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NAFTIKO_TEST_TIMEOUT", raising=False)
    assert _runtime.env_float("NAFTIKO_TEST_TIMEOUT", 7.5) == 7.5
    monkeypatch.setenv("NAFTIKO_TEST_TIMEOUT", "2")
    assert _runtime.env_float("NAFTIKO_TEST_TIMEOUT", 7.5) == 2.0
    for bad in ("soon", "0", "-1"):
        monkeypatch.setenv("NAFTIKO_TEST_TIMEOUT", bad)
        with pytest.raises(ConfigurationError, match="NAFTIKO_TEST_TIMEOUT"):
            _runtime.env_float("NAFTIKO_TEST_TIMEOUT", 7.5)


# --- encoding helpers -----------------------------------------------------------------------


def test_dump_json_is_compact_utf8():
    raw = dump_json({"name": "café", "ids": [1, 2], "nested": {"ok": True, "none": None}})
    assert raw == '{"name":"café","ids":[1,2],"nested":{"ok":true,"none":null}}'.encode()
    assert json.loads(raw) == {"name": "café", "ids": [1, 2], "nested": {"ok": True, "none": None}}


def test_dump_json_refuses_non_finite_numbers():
    with pytest.raises(ValueError):
        dump_json({"x": float("nan")})


def test_scalar_text_and_add_query():
    assert scalar_text(True) == "true" and scalar_text(False) == "false"
    assert scalar_text({"a": 1}) == '{"a":1}'
    assert scalar_text(1.5) == "1.5"
    params: list = []
    add_query(params, "id", [1, 2])
    add_query(params, "flag", False)
    assert params == [("id", "1"), ("id", "2"), ("flag", "false")]


def test_basic_credentials():
    header = basic_credentials("user", "pa:ss é")
    assert header.startswith("Basic ")
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == "user:pa:ss é"


def test_env_prefix_constant():
    assert _runtime.ENV_PREFIX == "TRACK_BATCH"


# --- retries ---------------------------------------------------------------------------------


def _answer(status: int, **headers: str) -> _runtime.ApiResponse:
    return _runtime.ApiResponse(status, httpx.Headers(headers), b"", "POST", "https://h/x")


def _error(cls: type[_runtime.ApiError]) -> _runtime.ApiError:
    return cls("failed", method="POST", url="https://h/x")


def test_parse_retry_after_seconds_and_dates():
    now = 1_000_000_000.0  # 2001-09-09T01:46:40Z
    assert _runtime.parse_retry_after("120", now) == 120.0
    assert _runtime.parse_retry_after(" 0 ", now) == 0.0
    assert _runtime.parse_retry_after("Sun, 09 Sep 2001 01:47:10 GMT", now) == 30.0
    assert _runtime.parse_retry_after("Sun, 09 Sep 2001 01:00:00 GMT", now) == 0.0  # past
    for bad in (None, "", "soon", "-5", "1.5"):
        assert _runtime.parse_retry_after(bad, now) is None


def test_backoff_is_jittered_exponential_and_capped():
    policy = _runtime.RetryPolicy(backoff=0.2, backoff_max=1.0)
    for retry, ceiling in [(0, 0.2), (1, 0.4), (2, 0.8), (3, 1.0), (10, 1.0)]:
        delays = {policy.backoff_delay(retry) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (retry, delays)
        assert len(delays) > 1  # jittered


@pytest.mark.parametrize(
    "outcome",
    [
        _answer(429),
        _answer(408),
        _answer(500),
        _answer(502),
        _answer(503),
        _answer(504),
        _error(_runtime.UpstreamConnectError),
        _error(_runtime.UpstreamTimeoutError),
    ],
    ids=["429", "408", "500", "502", "503", "504", "connect", "timeout"],
)
def test_transient_failures_are_retried_only_when_the_operation_allows(outcome):
    policy = _runtime.RetryPolicy(max_retries=2, backoff=0.01, backoff_max=0.01)
    retryable = _runtime.Attempts(policy, retryable=True, timeout=1.0)
    assert retryable.delay_after(outcome) is not None
    assert retryable.delay_after(outcome) is not None
    assert retryable.delay_after(outcome) is None  # max_retries reached
    assert _runtime.Attempts(policy, retryable=False, timeout=1.0).delay_after(outcome) is None


@pytest.mark.parametrize("status", [200, 207, 400, 401, 403, 404, 413, 422])
def test_answers_that_are_final_are_never_retried(status: int):
    attempts = _runtime.Attempts(_runtime.RetryPolicy(), retryable=True, timeout=1.0)
    assert attempts.delay_after(_answer(status)) is None
    too_large = _error(_runtime.UpstreamResponseTooLarge)
    assert _runtime.Attempts(_runtime.RetryPolicy(), True, 1.0).delay_after(too_large) is None


def test_retry_after_is_honoured_up_to_the_cap_and_the_deadline():
    policy = _runtime.RetryPolicy(deadline=10.0, retry_after_max=5.0)
    assert (
        _runtime.Attempts(policy, True, 1.0).delay_after(_answer(429, **{"retry-after": "3"}))
        == 3.0
    )
    assert (
        _runtime.Attempts(policy, True, 1.0).delay_after(_answer(503, **{"retry-after": "6"}))
        is None
    )
    short = _runtime.RetryPolicy(deadline=2.0, retry_after_max=60.0)
    assert (
        _runtime.Attempts(short, True, 1.0).delay_after(_answer(429, **{"retry-after": "3"}))
        is None
    )


def test_a_retry_gets_what_is_left_of_the_deadline():
    attempts = _runtime.Attempts(_runtime.RetryPolicy(deadline=0.5), retryable=True, timeout=10.0)
    assert attempts.budget() == 10.0  # the first attempt has the whole timeout
    attempts.count = 1
    assert attempts.budget() <= 0.5


def test_retries_off():
    assert _runtime.NO_RETRIES.max_retries == 0
    attempts = _runtime.Attempts(_runtime.NO_RETRIES, retryable=True, timeout=1.0)
    assert attempts.delay_after(_answer(503)) is None
    with pytest.raises(ValueError):
        _runtime.RetryPolicy(max_retries=-1)


# --- settings, secrets, request ids, logs ----------------------------------------------------


def test_settings_defaults_and_overrides():
    defaults = _runtime.Settings.from_env({})
    assert (defaults.timeout, defaults.connect_timeout) == (10.0, 10.0)
    assert defaults.retry == _runtime.RetryPolicy()
    assert defaults.max_body_bytes == 1024 * 1024
    env = {
        "TRACK_BATCH_TIMEOUT": "4",
        "TRACK_BATCH_CONNECT_TIMEOUT": "9",  # at most the timeout
        "TRACK_BATCH_RETRIES": "0",
        "TRACK_BATCH_MAX_BODY_BYTES": "100",
    }
    settings = _runtime.Settings.from_env(env)
    assert (settings.timeout, settings.connect_timeout) == (4.0, 4.0)
    assert settings.retry.max_retries == 0
    assert settings.max_body_bytes == 100


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRACK_BATCH_RETRIES", "-1"),
        ("TRACK_BATCH_RETRIES", "two"),
        ("TRACK_BATCH_MAX_BODY_BYTES", "0"),
        ("TRACK_BATCH_RETRY_DEADLINE", "nan"),
        ("TRACK_BATCH_TIMEOUT", "inf"),
    ],
)
def test_settings_refuse_what_does_not_parse(name: str, value: str):
    with pytest.raises(ConfigurationError, match=name):
        _runtime.Settings.from_env({name: value})


def test_redactor_hides_every_form_of_a_secret():
    redact = _runtime.Redactor(["p@ss word"], ["Basic dXNlcjpwQHNzIHdvcmQ="])
    text = "a p@ss word, p%40ss%20word, p%40ss+word, Basic dXNlcjpwQHNzIHdvcmQ= end"
    assert redact(text) == "a ***, ***, ***, *** end"
    assert "p@ss" not in repr(redact)


@pytest.mark.parametrize(
    ("offered", "kept"),
    [
        ("abc-123", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("a b", False),
        ("é", False),
        ("", False),
        (None, False),
        ("tab\there", False),
    ],
)
def test_request_id_from(offered, kept: bool):
    made = _runtime.request_id_from(offered)
    assert (made == offered) is kept
    if not kept:
        assert len(made) == 32


def test_json_formatter_writes_one_line_with_fields():
    import logging

    record = logging.LogRecord("track_batch.access", logging.INFO, __file__, 1, "request", (), None)
    record.fields = {"status": 200, "path": "/x\ny"}
    line = _runtime.JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["message"], entry["status"], entry["path"], entry["level"]) == (
        "request",
        200,
        "/x\ny",
        "info",
    )
