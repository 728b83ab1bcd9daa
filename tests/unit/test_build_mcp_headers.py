"""Build decision: which MCP tools' input schemas annotate an argument with `x-mcp-header`, so
that the generated server gives the SDK their schemas for the `Mcp-Param-*` header check (and
the SDK need not list the tools on every call to find them)."""

from __future__ import annotations

from pathlib import Path

from support.specs import built_valid

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "data" / "mcp" / "param-headers.yaml"
TEXT = SPEC.read_text(encoding="utf-8")
PLAIN = """              region:
                type: string
            required: [region]
            additionalProperties: false
"""


def test_only_the_annotated_tool_is_checked(tmp_path: Path):
    mcp = built_valid(tmp_path, TEXT).mcp
    assert mcp is not None
    assert [(t.name, t.header_checked) for t in mcp.tools] == [
        ("region-status", True), ("plain-status", False)]
    assert mcp.header_checked_tools == ("region-status",)


def test_no_tool_of_track_batch_is_checked(tmp_path: Path):
    mcp = built_valid(tmp_path, (ROOT / "specs" / "track-batch.yaml").read_text("utf-8")).mcp
    assert mcp is not None and mcp.tools
    assert mcp.header_checked_tools == ()


def test_an_annotation_anywhere_in_the_schema_counts(tmp_path: Path):
    # the SDK decides which annotations are valid; any schema holding one is given to it
    assert TEXT.count(PLAIN) == 1
    nested = """              region:
                type: string
              where:
                type: object
                properties:
                  zone:
                    type: string
                    x-mcp-header: Zone
              tags:
                type: array
                items:
                  anyOf:
                    - {type: string, x-mcp-header: Tag}
            required: [region]
            additionalProperties: false
"""
    mcp = built_valid(tmp_path, TEXT.replace(PLAIN, nested)).mcp
    assert mcp is not None
    assert mcp.header_checked_tools == ("region-status", "plain-status")
