"""Identifiers: every spec name that reaches generated Python goes through these functions."""

from __future__ import annotations

import builtins
import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st

from naftiko_codegen.names import (
    MCP_TOOL_NAME_MAX,
    dedupe,
    env_prefix,
    mcp_tool_name_ok,
    package_name,
    python_identifier,
    snake,
    words,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("track-batch", "track_batch"),
        ("trackBatch", "track_batch"),
        ("HTTPServer", "http_server"),
        ("tweet.fields", "tweet_fields"),
        ("page[limit]", "page_limit"),
        ("..-v2-batch", "v2_batch"),
        ("a__b", "a_b"),
        ("Ünïcödé", "unicode"),
        ("...", ""),
        ("", ""),
    ],
)
def test_snake(text: str, expected: str):
    assert snake(text) == expected


def test_words_split_camel_case_and_symbols():
    assert words("getUserByID-v2") == ["get", "user", "by", "id", "v2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from", "from_"),
        ("type", "type_"),
        ("class", "class_"),
        ("match", "match_"),
        ("list", "list_"),
        ("print", "print_"),
        ("self", "self_"),
        ("client", "client_"),
        ("tweet.fields", "tweet_fields"),
        ("page[limit]", "page_limit"),
        ("batch-entity-operations", "batch_entity_operations"),
        ("2fa", "value_2fa"),
        ("None", "none"),
    ],
)
def test_python_identifier(text: str, expected: str):
    name = python_identifier(text)
    assert name == expected
    assert name.isidentifier() and not keyword.iskeyword(name)


@pytest.mark.parametrize("name", ["id", "len", "type", "object", "input", "format"])
def test_python_identifier_never_shadows_a_builtin(name: str):
    assert hasattr(builtins, name)
    assert python_identifier(name) != name


@pytest.mark.parametrize("text", ["", "...", "!!!", "[]", "名前", "名字", "--"])
def test_names_that_lose_everything_get_fallback_and_hash(text: str):
    name = python_identifier(text, fallback="param")
    assert name.startswith("param_")
    assert len(name) == len("param_") + 8
    assert python_identifier(text, fallback="param") == name  # deterministic


def test_fallback_names_differ_for_different_inputs():
    inputs = ["", "...", "!!!", "[]", "名前", "名字", "--", ".", ".."]
    names = [python_identifier(text) for text in inputs]
    assert len(set(names)) == len(inputs)


def test_leading_digit_gets_the_fallback_prefix():
    assert python_identifier("123", fallback="tool") == "tool_123"


def test_package_name():
    assert package_name("track-batch") == "track_batch"
    assert package_name("2024-api").startswith("capability_")


@given(st.text())
def test_python_identifier_is_always_a_valid_non_keyword_identifier(text: str):
    name = python_identifier(text)
    assert name.isidentifier()
    assert not keyword.iskeyword(name)
    assert not keyword.issoftkeyword(name)
    assert name.isascii()
    assert python_identifier(text) == name


def test_dedupe_keeps_first_occurrences_and_numbers_the_rest():
    assert dedupe(["x", "x", "x"]) == ["x", "x_2", "x_3"]
    assert dedupe(["a", "b"]) == ["a", "b"]


def test_dedupe_never_takes_a_name_that_appears_later():
    assert dedupe(["a", "a", "a_2", "b", "a"]) == ["a", "a_3", "a_2", "b", "a_4"]


@given(st.lists(st.sampled_from(["a", "a_2", "a_3", "b", "a_2_2"]), max_size=12))
def test_dedupe_gives_distinct_names_in_order(names: list[str]):
    out = dedupe(names)
    assert len(out) == len(names)
    assert len(set(out)) == len(out)
    firsts = {}
    for original, final in zip(names, out, strict=True):
        firsts.setdefault(original, final)
    assert all(original == final for original, final in firsts.items())
    assert dedupe(names) == out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("track-batch", "TRACK_BATCH"),
        ("track_batch", "TRACK_BATCH"),
        ("a.b c", "A_B_C"),
        ("v2", "V2"),
    ],
)
def test_env_prefix(text: str, expected: str):
    assert env_prefix(text) == expected


def test_mcp_tool_name_limits():
    assert MCP_TOOL_NAME_MAX == 64
    assert mcp_tool_name_ok("batch-entity-operations")
    assert mcp_tool_name_ok("a.b_c-D9")
    assert mcp_tool_name_ok("x" * 64)
    assert not mcp_tool_name_ok("x" * 65)
    assert not mcp_tool_name_ok("")


@pytest.mark.parametrize("name", ["has space", "a/b", "a:b", "naïve", "tool!", "a\tb"])
def test_mcp_tool_name_charset(name: str):
    assert not mcp_tool_name_ok(name)


@pytest.mark.parametrize("name", ["tool\n", "x" * 64 + "\n"])
def test_mcp_tool_name_with_trailing_newline_is_refused(name: str):
    assert not mcp_tool_name_ok(name)


@given(st.text(min_size=1), st.integers(min_value=16, max_value=80))
def test_python_identifier_stays_within_its_limit(text: str, limit: int):
    # long spec names would otherwise make generated lines longer than 100 columns
    name = python_identifier(text * 10, limit=limit)
    assert len(name) <= limit + 1  # `_` may follow a reserved word
    assert name.isidentifier() and not keyword.iskeyword(name)


def test_long_names_cut_alike_still_differ():
    stem = "get_" + "very_long_operation_name_" * 4
    assert python_identifier(stem + "a") != python_identifier(stem + "b")
    assert len(python_identifier(stem + "a")) == 64
