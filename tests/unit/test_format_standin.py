"""Formatting with the header and the spec's sha256 replaced by stand-ins (emit.format_python),
then putting the real values back, gives exactly what black gives for the real text, and a
spec edit only re-formats the files whose code changed."""

from __future__ import annotations

from pathlib import Path

import black
import pytest

from naftiko_codegen import emit
from naftiko_codegen.build import build
from naftiko_codegen.pipeline import check

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "corpus-sample"
MODE = black.Mode(target_versions={black.TargetVersion.PY311}, line_length=100)

# Real specs with different shapes: REST only, MCP only, both, steps, XML, no adapters, large,
# a control port.
SPECS = [
    ROOT / "specs" / "track-batch.yaml",
    SAMPLE / "conformance__steps-lookup-chain.yaml",
    SAMPLE / "conformance__mcp-resources-prompts-capability.yaml",
    SAMPLE / "conformance__xml-capability.yaml",
    SAMPLE / "conformance__legacy-consumes.yaml",
    SAMPLE / "pagerduty__pagerduty-priorities.yaml",
    ROOT / "tests" / "data" / "control" / "observed.yaml",  # REST, MCP and a control port
]

# Source names as headers show them. The long ones add the E501 suppression comment to two
# header lines; the last three are not inert (a directive black obeys, non-ASCII, a type
# comment): those files are formatted from the real text, and must still come out right.
HOSTILE_SOURCES = [
    "specs/track-batch.yaml",
    "a/" + "very-long-directory-name/" * 8 + "spec.yaml",
    "x" * 300 + ".yaml",
    "specs/odd name with # hash; and 'quotes' \"too\" \\ back.yaml",
    "specs/fmt: off.yaml",
    "specs/caf\u00e9 \u2014 \U0001f600.yaml",
    "specs/type: ignore.yaml",
]


def _capability(spec: Path, source: str):
    doc, result = check(spec)
    assert doc is not None and result.ok, [d.render() for d in result.diagnostics]
    warnings: list = []
    return build(doc, source=source, warnings=warnings)


def _rendered(cap) -> dict[str, str]:
    env = emit._env()
    out = {}
    for template, name in emit.templates_for(cap):
        if name.endswith(".py"):
            out[name] = env.get_template(template).render(cap=cap, rest=cap.rest, mcp=cap.mcp,
                                                          control=cap.control)
    return out


def _expected(cap) -> dict[str, str]:
    """What black gives for the real text, with no cache and no stand-in."""
    return {f"{cap.package}/{name}": black.format_str(text, mode=MODE)
            for name, text in _rendered(cap).items()}


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_same_bytes_as_formatting_the_real_text(spec: Path, cache_dir: Path):
    cap = _capability(spec, f"specs/{spec.name}")
    header, standin = emit.headers(cap)
    for name, text in _rendered(cap).items():  # the shortcut is really taken
        assert emit._neutral(text, header, standin, cap.source_sha256) is not None, name
    expected = _expected(cap)
    produced = {k: v for k, v in emit.emit(cap).items() if k.endswith(".py")}
    assert produced == expected
    # and again from the cache, where every file is the stand-in's output with values put back
    assert {k: v for k, v in emit.emit(cap).items() if k.endswith(".py")} == expected


def test_hostile_source_names(cache_dir: Path):
    spec = ROOT / "specs" / "track-batch.yaml"
    inert = 0
    for source in HOSTILE_SOURCES:
        cap = _capability(spec, source)
        header, _ = emit.headers(cap)
        inert += emit._inert(header)
        produced = {k: v for k, v in emit.emit(cap).items() if k.endswith(".py")}
        assert produced == _expected(cap), source
    assert inert == 4  # the first four take the shortcut, through the cache the first one filled


def test_the_stand_in_text_in_the_spec_disables_the_shortcut():
    text = f"# a\n# b\nX = {emit.SHA256_STANDIN!r}\n"
    assert emit._neutral(text, "# a", "# c", "0" * 64) is None
    assert emit._neutral("# a\nx = 1\n", "# a", "# c", "0" * 64) == "# c\nx = 1\n"
    assert emit._neutral("# a\nx = 1\n", "# a", "# fmt: off", "0" * 64) is None
    assert emit._neutral("# a \nx = 1\n", "# a ", "# c", "0" * 64) is None  # trailing blank
    assert emit._neutral("# a\n# b\nx = 1\n", "# a\n# b", "# c", "0" * 64) is None  # line count


def test_a_spec_edit_reformats_only_the_files_whose_code_changed(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    spec = tmp_path / "track-batch.yaml"
    original = (ROOT / "specs" / "track-batch.yaml").read_text("utf-8")
    spec.write_text(original, "utf-8")
    before = emit.emit(_capability(spec, "specs/track-batch.yaml"))

    formatted: list[str] = []
    real = emit._format_with_black
    monkeypatch.setattr(emit, "_format_with_black",
                        lambda text: formatted.append(text) or real(text))
    # one line of the capability's description: it reaches only README.md, and every header
    edited = original.replace("business surface.", "business surface, edited.", 1)
    assert edited != original
    spec.write_text(edited, "utf-8")
    cap = _capability(spec, "specs/track-batch.yaml")
    after = emit.emit(cap)
    assert formatted == []
    assert after != before
    assert {k: v for k, v in after.items() if k.endswith(".py")} == _expected(cap)

    # an operation's description reaches the client, the REST service and the MCP server
    spec.write_text(original.replace("description: Batch entity operations",
                                     "description: Batch entity operations, edited", 1), "utf-8")
    cap = _capability(spec, "specs/track-batch.yaml")
    after = emit.emit(cap)
    assert 0 < len(formatted) < len([k for k in after if k.endswith(".py")])
    assert all(emit.SHA256_STANDIN in text for text in formatted)
    assert {k: v for k, v in after.items() if k.endswith(".py")} == _expected(cap)
