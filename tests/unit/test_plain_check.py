"""The generated runtime's quick input check (`plain_check`): it may only pass what the JSON
Schema validator passes, since a pass skips jsonschema; whatever it cannot decide goes to
jsonschema, so the answers (and their error messages) stay jsonschema's."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from track_batch._runtime import input_errors, plain_check
from track_batch.rest import TRACKBATCH_INPUT

TYPES = ["object", "array", "string", "boolean", "integer", "number", "null"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, width=16),
    st.sampled_from([0.0, 1.0, -2.0]), st.text(max_size=3),
)
instances = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    ),
    max_leaves=8,
)


def _schemas(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    objects = st.fixed_dictionaries(
        {"type": st.just("object")},
        optional={
            "properties": st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
            "required": st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=3),
            "additionalProperties": st.booleans(),
            "description": st.text(max_size=3),
        },
    )
    arrays = st.fixed_dictionaries({"type": st.just("array")}, optional={"items": inner})
    return st.one_of(objects, arrays)


schemas = st.recursive(
    st.one_of(
        st.builds(lambda t: {"type": t}, st.sampled_from(TYPES)),
        st.just({}),
        st.just({"description": "anything"}),
        # words the quick check does not know: jsonschema must decide
        st.builds(lambda t: {"type": t, "minimum": 1}, st.sampled_from(TYPES)),
        st.just({"type": ["string", "null"]}),
        st.just({"enum": [1, True]}),
    ),
    _schemas,
    max_leaves=6,
)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(schemas, instances)
def test_a_pass_is_a_pass_of_jsonschema(schema: dict[str, Any], instance: Any) -> None:
    check = plain_check(schema)
    if check is not None and check(instance):
        assert Draft202012Validator(schema).is_valid(instance), (schema, instance)


@pytest.mark.parametrize(
    ("schema", "instance", "expected"),
    [
        ({"type": "integer"}, 3, True),
        ({"type": "integer"}, True, False),  # a boolean is not an integer to JSON Schema
        ({"type": "integer"}, 1.0, False),  # an integer to JSON Schema: jsonschema decides
        ({"type": "number"}, False, False),
        ({"type": "number"}, 2.5, True),
        ({"type": "object", "required": ["a"]}, {}, False),
        ({"type": "object", "additionalProperties": False, "properties": {"a": {}}}, {"b": 1}, False),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, {"a": 1}, False),
        ({"type": "array", "items": {"type": "string"}}, ["x", 1], False),
        ({"type": "array", "items": {"type": "string"}}, ["x", "y"], True),
    ],
)
def test_plain_schemas_are_checked(schema: dict[str, Any], instance: Any, expected: bool) -> None:
    check = plain_check(schema)
    assert check is not None and check(instance) is expected


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "minLength": 1},
        {"type": ["string", "null"]},
        {"enum": ["a"]},
        {"type": "object", "properties": {"a": {"pattern": "x"}}},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "string", "properties": {}},  # `properties` of a string: left to jsonschema
        {"$ref": "#/$defs/a"},
    ],
)
def test_other_schemas_are_left_to_jsonschema(schema: dict[str, Any]) -> None:
    assert plain_check(schema) is None


def test_input_errors_are_jsonschemas_either_way() -> None:
    valid = {"body": {"batch": []}}
    assert input_errors(TRACKBATCH_INPUT, valid) == []
    assert input_errors(TRACKBATCH_INPUT, {}) == [
        {"field": "body", "message": "'body' is a required property"}
    ]
    assert input_errors(TRACKBATCH_INPUT, {"body": []}) == [
        {"field": "body", "message": "[] is not of type 'object'"}
    ]
