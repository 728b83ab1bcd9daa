"""Build decisions for MCP resources, prompts and tool input schemas (explicit `inputSchema`,
or derived from `inputParameters`, else from the consumed parameters `with` fills)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.specs import built_valid

from naftiko_codegen.build import build
from naftiko_codegen.diagnostics import Diagnosed, Diagnostic
from naftiko_codegen.load import load_file
from naftiko_codegen.model import Capability
from naftiko_codegen.validate import validate

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "data" / "mcp" / "resources-prompts.yaml"
TEXT = SPEC.read_text(encoding="utf-8")
MCP_RESOURCES = "      resources:\n        - name: eu-status\n"


def variant(*replacements: tuple[str, str], text: str = TEXT) -> str:
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def diagnostics_of(tmp_path: Path, text: str) -> list[Diagnostic]:
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    doc = load_file(path)
    found = validate(doc)
    if any(d.is_error for d in found):
        return found
    try:
        build(doc, warnings=found)
    except Diagnosed as exc:
        return found + exc.diagnostics
    return found


def built(tmp_path: Path, text: str = TEXT) -> Capability:
    return built_valid(tmp_path, text)


def errors(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in diagnostics_of(tmp_path, text) if d.is_error]


# --- resources ------------------------------------------------------------------------------


def test_concrete_and_templated_resources(tmp_path: Path):
    mcp = built(tmp_path).mcp
    assert mcp is not None
    assert [r.name for r in mcp.concrete_resources] == ["eu-status"]
    assert [r.name for r in mcp.resource_templates] == ["user-profile"]
    status, profile = mcp.resources
    assert status.variables == () and status.mime_type == "application/json"  # the default
    assert [(a.param.name, a.source, a.literal) for a in status.call.arguments] == [("region", "literal", "eu")]
    assert profile.variables == ("userId",)
    assert profile.mime_type == "application/json"
    assert profile.call.operation.name == "get-profile"
    assert [(a.param.name, a.source, a.input_name, a.literal) for a in profile.call.arguments] == [
        ("id", "input", "userId", None), ("fields", "literal", "", "name,email")]
    # the variable is typed as the parameter it fills, and required
    assert profile.input_schema["properties"] == {"userId": {"type": "integer"}}
    assert profile.input_schema["required"] == ["userId"]
    assert profile.handler == "read_user_profile"


def test_uri_pattern_matches_one_segment_per_variable(tmp_path: Path):
    mcp = built(tmp_path).mcp
    assert mcp is not None
    status, profile = mcp.resources
    pattern = re.compile(profile.pattern)
    assert pattern.fullmatch("data://users/42/profile").groups() == ("42",)  # type: ignore[union-attr]
    for other in ("data://users/4/2/profile", "data://users//profile", "xdata://users/1/profile",
                  "data://users/1/profile/x"):
        assert pattern.fullmatch(other) is None, other
    # characters that mean something in a regex are literal in the URI
    odd = variant(('uri: "status://regions/eu"', 'uri: "status://regions/eu.(a|b)+"'))
    status = built(tmp_path, odd).mcp.resources[0]  # type: ignore[union-attr]
    assert re.fullmatch(status.pattern, "status://regions/eu.(a|b)+")
    assert re.fullmatch(status.pattern, "status://regions/euxaa") is None


def test_resource_with_an_input_that_is_not_a_uri_variable(tmp_path: Path):
    text = variant(('id: "{{userId}}"', 'id: "{{user}}"'))
    assert [c for c, _m in errors(tmp_path, text)] == ["E192"]


def test_resource_leaving_a_required_parameter_unset(tmp_path: Path):
    text = variant(("          with:\n            region: eu\n", ""))
    (error,) = errors(tmp_path, text)
    assert error[0] == "E192" and "`region`" in error[1]


def test_resource_leaving_an_optional_parameter_unset_does_not_send_it(tmp_path: Path):
    text = variant(("            fields: name,email\n", ""))
    profile = built(tmp_path, text).mcp.resources[1]  # type: ignore[union-attr]
    assert [a.param.name for a in profile.call.arguments] == ["id"]


def test_duplicate_resource_uri_and_unknown_call(tmp_path: Path):
    text = variant(('uri: "status://regions/eu"', 'uri: "data://users/{userId}/profile"'))
    assert [c for c, _m in errors(tmp_path, text)] == ["E193"]
    text = variant(("          call: directory.get-status\n          with:\n            region: eu\n",
                    "          call: directory.get-stat\n"))
    assert [c for c, _m in errors(tmp_path, text)] == ["E101"]


def test_files_served_from_a_directory(tmp_path: Path):
    mcp = built(tmp_path).mcp
    assert mcp is not None
    (guides,) = mcp.file_resources
    assert (guides.name, guides.title, guides.uri, guides.mime_type) == ("guides", "Guides", "docs://guides", "")
    assert guides.directory == "/srv/directory-mcp/guides"
    assert guides.directory_env == "DEMO_GUIDES_DIR"  # package `demo`
    assert [r.name for r in mcp.resources] == ["eu-status", "user-profile"]  # the called ones
    assert mcp.serves_resources


@pytest.mark.parametrize(("old", "new"), [
    ('uri: "docs://guides"', 'uri: "docs://guides/"'),
    ('uri: "docs://guides"', 'uri: "docs://{topic}"'),
])
def test_files_need_a_local_directory_and_a_plain_uri_prefix(tmp_path: Path, old: str, new: str):
    assert [c for c, _m in errors(tmp_path, variant((old, new)))] == ["E195"]


def test_files_and_a_called_resource_may_not_share_a_uri(tmp_path: Path):
    text = variant(('uri: "docs://guides"', 'uri: "status://regions/eu"'))
    assert [c for c, _m in errors(tmp_path, text)] == ["E193"]


@pytest.mark.parametrize(("old", "new", "what"), [
    ("          call: directory.get-status\n          with:\n            region: eu\n",
     "          steps:\n            - type: call\n              name: s\n              call: directory.get-status\n",
     "`steps`"),
    ('uri: "data://users/{userId}/profile"', 'uri: "data://users/{+userId}/profile"', "URI template"),
])
def test_resources_not_yet_generated_are_refused(tmp_path: Path, old: str, new: str, what: str):
    (error,) = errors(tmp_path, variant((old, new)))
    assert error[0] == "E300" and what in error[1]


# --- prompts --------------------------------------------------------------------------------


def test_prompt_messages_are_split_at_declared_arguments(tmp_path: Path):
    prompt, _review = built(tmp_path).mcp.prompts  # type: ignore[union-attr]
    assert prompt.file == "" and prompt.name == "outreach" and prompt.title == "Outreach"
    assert [(a.name, a.title, a.required) for a in prompt.arguments] == [("who", "", True), ("tone", "Tone", False)]
    first, second = prompt.messages
    assert first.role == "user" and second.role == "assistant"
    assert first.parts == (("text", "Write to "), ("argument", "who"), ("text", " in a "), ("argument", "tone"),
                           ("text", ' tone about """ '), ("argument", "who"), ("text", "'s account."))
    assert second.parts == (("text", "I will keep it short."),)


def test_prompt_placeholder_naming_no_argument_is_kept_as_text(tmp_path: Path):
    text = variant(("in a {{tone}} tone", "in a {{mood}} tone"))
    found = diagnostics_of(tmp_path, text)
    assert [d.code for d in found] == ["W270"]
    first = built(tmp_path, text).mcp.prompts[0].messages[0]  # type: ignore[union-attr]
    assert ("text", " in a {{mood}} tone about \"\"\" ") in first.parts


def test_prompt_placeholders_are_not_environment_variables(tmp_path: Path):
    assert [d.code for d in diagnostics_of(tmp_path, TEXT)] == []  # no W201 for {{who}}


def test_duplicate_prompt_and_file_prompt(tmp_path: Path):
    again = ("      prompts:\n        - name: outreach\n          label: Again\n"
             "          description: Again\n          template:\n            - role: user\n"
             "              content: hi\n")
    extra = ("      prompts:\n", again)
    assert [c for c, _m in errors(tmp_path, variant(extra))] == ["E194"]
    folder = ("location: file:///srv/directory-mcp/prompts/review.md", "location: file:///srv/prompts/")
    assert [c for c, _m in errors(tmp_path, variant(folder))] == ["E195"]


def test_prompt_read_from_a_file(tmp_path: Path):
    _outreach, review = built(tmp_path).mcp.prompts  # type: ignore[union-attr]
    assert (review.file, review.file_env) == ("/srv/directory-mcp/prompts/review.md", "DEMO_REVIEW_PROMPT_FILE")
    assert review.messages == ()
    assert [a.name for a in review.arguments] == ["who"]


# --- tool input schemas ---------------------------------------------------------------------


def test_explicit_input_schema_is_the_tool_schema(tmp_path: Path):
    (tool,) = built(tmp_path).mcp.tools  # type: ignore[union-attr]
    assert tool.input_schema == {
        "type": "object",
        "properties": {"region": {"type": "string", "enum": ["eu", "us"], "description": 'Region """ end'}},
        "required": ["region"],
        "additionalProperties": False,
    }
    assert tool.title == "Get status"
    assert tool.annotations["read_only_hint"] is True and tool.annotations["destructive_hint"] is False
    assert [(a.param.name, a.input_name) for a in tool.call.arguments] == [("region", "region")]


def test_explicit_input_schema_must_offer_what_the_call_needs(tmp_path: Path):
    text = variant(("              region:\n                type: string",
                    "              area:\n                type: string"), ("required: [region]", "required: [area]"))
    (error,) = errors(tmp_path, text)
    assert error[0] == "E107" and "inputSchema" not in error[1]


def test_input_schema_that_is_not_a_mapping_breaks_the_capability_schema(tmp_path: Path):
    start = TEXT.index("          inputSchema:\n")
    text = TEXT[:start] + "          inputSchema: []\n" + TEXT[TEXT.index(MCP_RESOURCES):]
    assert [c for c, _m in errors(tmp_path, text)] == ["E111"]


@pytest.mark.parametrize(("schema", "fragment"), [
    ("inputSchema: {type: string}", "`type` is not `object`"),
    ("inputSchema: {type: object, properties: [a]}", "`properties`"),
    ("inputSchema: {type: object, required: region}", "`required`"),
    ("inputSchema: {type: object, properties: {region: {type: text}}}", "is not valid"),
    ("inputSchema: {type: object, properties: {region: {minLength: -1}}}", "-1"),
])
def test_invalid_input_schema(tmp_path: Path, schema: str, fragment: str):
    start = TEXT.index("          inputSchema:\n")
    end = TEXT.index(MCP_RESOURCES)
    text = TEXT[:start] + "          " + schema + "\n" + TEXT[end:]
    (error,) = errors(tmp_path, text)
    assert error[0] == "E190" and fragment in error[1], error


def test_input_schema_and_input_parameters_together(tmp_path: Path):
    both = "          inputParameters:\n            - name: region\n          inputSchema:\n"
    text = variant(("          inputSchema:\n", both))
    assert [c for c, _m in errors(tmp_path, text)] == ["E191"]


def _plain_tool(tmp_path: Path, tool: str) -> Capability:
    start = TEXT.index("        - name: get-status\n")
    end = TEXT.index(MCP_RESOURCES)
    return built(tmp_path, TEXT[:start] + tool + TEXT[end:])


def test_schema_derived_from_the_consumed_parameters(tmp_path: Path):
    cap = _plain_tool(tmp_path, "        - name: get-profile\n          description: A profile\n"
                                "          call: directory.get-profile\n")
    (tool,) = cap.mcp.tools  # type: ignore[union-attr]
    assert tool.input_schema == {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "fields": {"type": "string"}},
        "required": ["id"],
        "additionalProperties": False,
    }
    assert tool.title == ""


def test_schema_from_input_parameters_skips_optional_parameters_it_does_not_offer(tmp_path: Path):
    cap = _plain_tool(tmp_path, "        - name: get-profile\n          description: A profile\n"
                                "          call: directory.get-profile\n          inputParameters:\n"
                                "            - name: id\n              type: integer\n"
                                "              description: The user\n")
    (tool,) = cap.mcp.tools  # type: ignore[union-attr]
    assert tool.input_schema["properties"] == {"id": {"type": "integer", "description": "The user"}}
    assert [a.param.name for a in tool.call.arguments] == ["id"]  # `fields` is not sent


def test_schema_from_input_parameters_must_supply_required_parameters(tmp_path: Path):
    start = TEXT.index("        - name: get-status\n")
    end = TEXT.index(MCP_RESOURCES)
    text = TEXT[:start] + ("        - name: get-profile\n          description: A profile\n"
                           "          call: directory.get-profile\n          inputParameters:\n"
                           "            - name: user\n              type: integer\n") + TEXT[end:]
    (error,) = errors(tmp_path, text)
    assert error[0] == "E107" and "`id`" in error[1]


def test_stdio_transport_is_the_default_of_the_command(tmp_path: Path):
    text = variant(("      port: 9091\n", "      transport: stdio\n"))
    assert built(tmp_path, text).mcp.transport == "stdio"  # type: ignore[union-attr]


def test_declared_argument_without_type_is_a_string(tmp_path: Path):
    cap = _plain_tool(tmp_path, "        - name: get-profile\n          description: A profile\n"
                                "          call: directory.get-profile\n          inputParameters:\n"
                                "            - name: id\n              type: integer\n"
                                "            - name: fields\n              required: false\n")
    (tool,) = cap.mcp.tools  # type: ignore[union-attr]
    assert tool.input_schema["properties"] == {"id": {"type": "integer"}, "fields": {"type": "string"}}
    assert tool.input_schema["required"] == ["id"]
    assert [a.param.name for a in tool.call.arguments] == ["id", "fields"]
