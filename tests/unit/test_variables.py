"""`{{x}}` as a whole `with` value or consumed parameter `value`: the caller's input or the
environment (docs/semantics.md, "More variations as written")."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_build import built, diagnostics_of, only_error, variant

QUERY_Q = "        - name: id\n          in: path\n"


def _with_q(value: str, rest_inputs: str = "", tool_inputs: str = "") -> str:
    """BASE, whose consumed `get-item` also takes `q: {value: <value>}` in the query."""
    return variant(
        (QUERY_Q, QUERY_Q + f"        - name: q\n          in: query\n          value: '{value}'\n"),
        ("        name: get-item\n        call: api.get-item\n",
         "        name: get-item\n        call: api.get-item\n" + rest_inputs),
        ("      description: Get one item\n      call: api.get-item\n",
         "      description: Get one item\n      call: api.get-item\n" + tool_inputs),
    )


REST_USER_ID = "        inputParameters:\n        - name: userId\n          in: query\n"


def test_bare_value_naming_a_caller_input_is_that_input(tmp_path: Path):
    cap = built(tmp_path, _with_q("{{userId}}", rest_inputs=REST_USER_ID))
    (op,) = cap.operations
    q = next(p for p in op.parameters if p.name == "q")
    assert q.fixed is None and q.input == "userId"
    assert cap.required_env == ()  # nothing read from the environment
    route = cap.rest.routes[0]
    argument = next(a for a in route.call.arguments if a.param.name == "q")
    assert (argument.source, argument.input_name) == ("input", "userId")
    warnings = {d.code for d in diagnostics_of(tmp_path, _with_q("{{userId}}", rest_inputs=REST_USER_ID))}
    assert "W201" not in warnings


def test_bare_value_filled_by_a_with_key(tmp_path: Path):
    tool_with = "      with:\n        userId: tools.who\n"
    cap = built(tmp_path, _with_q("{{userId}}", rest_inputs=REST_USER_ID, tool_inputs=tool_with))
    tool = cap.mcp.tools[0]
    argument = next(a for a in tool.call.arguments if a.param.name == "q")
    assert (argument.source, argument.input_name) == ("input", "who")
    assert "who" in tool.input_schema["properties"]


def test_bare_value_no_caller_has_stays_the_environment(tmp_path: Path):
    text = _with_q("{{userId}}")
    cap = built(tmp_path, text)
    (op,) = cap.operations
    q = next(p for p in op.parameters if p.name == "q")
    assert q.fixed is not None and q.fixed.env_vars == ("userId",)
    assert cap.required_env == ("userId",)
    assert "W201" in {d.code for d in diagnostics_of(tmp_path, text)}


def test_bare_value_a_bind_declares_is_the_environment_even_when_an_input_has_the_name(tmp_path: Path):
    text = _with_q("{{userId}}", rest_inputs=REST_USER_ID).replace(
        "capability:\n", "binds:\n- namespace: env\n  keys:\n    userId: USER_ID_VAR\ncapability:\n", 1)
    cap = built(tmp_path, text)
    q = next(p for p in cap.operations[0].parameters if p.name == "q")
    assert q.fixed is not None and q.fixed.env_vars == ("USER_ID_VAR",)


def test_value_naming_another_caller_input_fills_the_parameter(tmp_path: Path):
    # `value: '{{tools.other}}'` on `q`: the input `other` fills `q` (was refused with E300)
    cap = built(tmp_path, _with_q("{{tools.other}}"))
    tool = cap.mcp.tools[0]
    argument = next(a for a in tool.call.arguments if a.param.name == "q")
    assert argument.input_name == "other"


HEADER = "        - name: X-Api-Key\n          in: header\n          required: true\n"
BINDS = "binds:\n- namespace: env\n  keys:\n    DEMO_KEY: DEMO_KEY\n"


def _with_header(rest_value: str, tool_value: str, binds: str = BINDS) -> str:
    text = variant(
        (QUERY_Q, QUERY_Q + HEADER),
        ("        name: get-item\n        call: api.get-item\n",
         f"        name: get-item\n        call: api.get-item\n        with:\n          X-Api-Key: '{rest_value}'\n"),
        ("      description: Get one item\n      call: api.get-item\n",
         f"      description: Get one item\n      call: api.get-item\n      with:\n        X-Api-Key: '{tool_value}'\n"),
    )
    return text.replace("capability:\n", binds + "capability:\n", 1)


def test_with_value_naming_a_bind_key_is_sent_from_the_environment(tmp_path: Path):
    cap = built(tmp_path, _with_header("{{DEMO_KEY}}", "{{DEMO_KEY}}"))
    (op,) = cap.operations
    header = next(p for p in op.parameters if p.name == "X-Api-Key")
    assert header.fixed is not None and header.fixed.env_vars == ("DEMO_KEY",)
    assert [p.name for p in op.arguments] == ["id"]
    assert "X-Api-Key" not in cap.mcp.tools[0].input_schema["properties"]
    assert cap.required_env == ("DEMO_KEY",)
    codes = {d.code for d in diagnostics_of(tmp_path, _with_header("{{DEMO_KEY}}", "{{DEMO_KEY}}"))}
    assert not codes & {"W201", "W202", "E107"}  # the bind key is used, and declared


def test_with_value_from_env_namespace_or_credential_like_name(tmp_path: Path):
    text = _with_header("{{env.OTHER_KEY}}", "{{env.OTHER_KEY}}")
    cap = built(tmp_path, text)
    header = next(p for p in cap.operations[0].parameters if p.name == "X-Api-Key")
    assert header.fixed is not None and header.fixed.env_vars == ("OTHER_KEY",)
    found = [d for d in diagnostics_of(tmp_path, text) if d.code == "W201"]
    assert len(found) == 2  # each `with` that reads an undeclared variable says so
    text = _with_header("{{my_api_token}}", "{{my_api_token}}", binds="")
    header = next(p for p in built(tmp_path, text).operations[0].parameters if p.name == "X-Api-Key")
    assert header.fixed is not None and header.fixed.env_vars == ("my_api_token",)


def test_with_value_naming_an_ordinary_undeclared_name_stays_the_callers_input(tmp_path: Path):
    text = _with_header("{{owner}}", "{{owner}}", binds="")
    cap = built(tmp_path, text)
    header = next(p for p in cap.operations[0].parameters if p.name == "X-Api-Key")
    assert header.fixed is None
    assert cap.mcp.tools[0].input_schema["properties"].keys() >= {"owner"}


def test_with_values_that_disagree_are_refused(tmp_path: Path):
    error = only_error(tmp_path, _with_header("{{DEMO_KEY}}", "tools.key"), "E300")
    assert "X-Api-Key" in error.message and "DEMO_KEY" in error.message
