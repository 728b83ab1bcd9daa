"""Stage 1: reading a spec into data with positions, and refusing hostile or broken files."""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path

import pytest
import yaml

from naftiko_codegen import load
from naftiko_codegen.diagnostics import Diagnosed, Severity
from naftiko_codegen.load import Position, load_bytes, load_file


def _load(text: str | bytes):
    raw = text if isinstance(text, bytes) else textwrap.dedent(text).encode("utf-8")
    return load_bytes("spec.yaml", raw)


def _refused(text: str | bytes):
    """The single diagnostic a refused document produces."""
    with pytest.raises(Diagnosed) as info:
        _load(text)
    diagnostics = info.value.diagnostics
    assert len(diagnostics) == 1, diagnostics
    diagnostic = diagnostics[0]
    assert diagnostic.severity is Severity.ERROR
    assert diagnostic.path == "spec.yaml"
    return diagnostic


SMALL = """\
naftiko: 1.0.0-alpha2
info:
  label: Hello
  tags:
    - first
    - second
"""


# --- positions ------------------------------------------------------------------------------


def test_data_is_plain_json_like():
    doc = _load(SMALL)
    assert doc.data == {
        "naftiko": "1.0.0-alpha2",
        "info": {"label": "Hello", "tags": ["first", "second"]},
    }


def test_value_positions_are_one_based_line_and_column():
    doc = _load(SMALL)
    assert doc.values[()] == Position(1, 1)
    assert doc.values[("naftiko",)] == Position(1, 10)
    assert doc.values[("info", "label")] == Position(3, 10)
    assert doc.values[("info", "tags", 0)] == Position(5, 7)
    assert doc.values[("info", "tags", 1)] == Position(6, 7)


def test_key_positions_point_at_the_key_not_the_value():
    doc = _load(SMALL)
    assert doc.keys[("naftiko",)] == Position(1, 1)
    assert doc.keys[("info", "label")] == Position(3, 3)
    assert doc.keys[("info", "tags")] == Position(4, 3)
    assert doc.position(("info", "tags"), key=True) == Position(4, 3)
    assert doc.position(("info", "tags")) == Position(5, 5)


def test_position_of_a_missing_path_falls_back_to_the_nearest_ancestor():
    doc = _load(SMALL)
    assert doc.position(("info", "label", "nothing", 3)) == Position(3, 10)
    assert doc.position(("nowhere",)) == Position(1, 1)


def test_diagnostic_carries_the_position():
    doc = _load(SMALL)
    diagnostic = doc.diagnostic(("info", "label"), "E999", "message", key=True)
    assert (diagnostic.path, diagnostic.line, diagnostic.column) == ("spec.yaml", 3, 3)
    assert diagnostic.code == "E999"


def test_byte_order_mark_is_ignored_and_hash_covers_the_raw_bytes():
    raw = "\ufeffa: 1\n".encode()
    doc = load_bytes("spec.yaml", raw)
    assert doc.data == {"a": 1}
    assert doc.text == raw
    assert len(doc.sha256) == 64


def test_dates_stay_strings_as_written():
    doc = _load(
        """\
        created: 2026-05-19
        stamp: 2001-12-14t21:59:43.10-05:00
        quoted: '2026-05-19'
        """
    )
    assert doc.data == {
        "created": "2026-05-19",
        "stamp": "2001-12-14t21:59:43.10-05:00",
        "quoted": "2026-05-19",
    }


def test_load_file_reads_from_disk(tmp_path: Path):
    spec = tmp_path / "x.yaml"
    spec.write_text(SMALL, encoding="utf-8")
    assert load_file(spec).data["info"]["label"] == "Hello"


def test_load_file_on_a_directory_is_diagnosed(tmp_path: Path):
    with pytest.raises(Diagnosed) as info:
        load_file(tmp_path)
    assert info.value.diagnostics[0].code == "E008"


# --- refusals -------------------------------------------------------------------------------


def test_duplicate_key_names_both_lines():
    diagnostic = _refused(
        """\
        naftiko: 1.0.0-alpha2
        info:
          label: one
          description: text
          label: two
        """
    )
    assert diagnostic.code == "E003"
    assert (diagnostic.line, diagnostic.column) == (5, 3)
    assert "`label`" in diagnostic.message
    assert "line 3" in diagnostic.message


def test_same_key_in_different_mappings_is_not_a_duplicate():
    doc = _load("a:\n  name: x\nb:\n  name: y\n")
    assert doc.data == {"a": {"name": "x"}, "b": {"name": "y"}}


def _billion_laughs(levels: int = 9, width: int = 10) -> str:
    """`width ** levels` leaves once aliases are expanded, in a few hundred bytes."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused():
    text = _billion_laughs()
    assert len(text) < 1000
    # expanded, the document would hold a billion scalars: far beyond the limit
    assert 10**9 > 1000 * load.MAX_NODES
    diagnostic = _refused(text)
    assert diagnostic.code == "E004"
    assert diagnostic.line >= 1


def test_small_aliases_are_expanded():
    doc = _load("base: &b {x: 1}\ncopy: *b\n")
    assert doc.data == {"base": {"x": 1}, "copy": {"x": 1}}


def test_merge_keys_are_refused():
    diagnostic = _refused("base: &b {x: 1}\ncopy:\n  <<: *b\n")
    assert diagnostic.code == "E006"
    assert diagnostic.line == 3


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth + "\n"


def test_nesting_up_to_the_limit_is_accepted():
    doc = _load(_nested(load.MAX_DEPTH + 1))  # the root is level 0
    assert isinstance(doc.data, list)


def test_nesting_over_the_limit_is_refused():
    diagnostic = _refused(_nested(load.MAX_DEPTH + 2))
    assert diagnostic.code == "E005"
    assert diagnostic.line == 1


PYTHON_TAGS = {
    "mapping": "a: !!python/object:os.system {x: 1}\n",
    "sequence": 'a: !!python/object/apply:os.system ["echo hi"]\n',
    "scalar": 'a: !!python/name:os.system ""\n',
}


def test_python_tags_are_never_executed(tmp_path: Path):
    target = tmp_path / "created"
    text = f"a: !!python/object/apply:os.mkdir [{str(target)!r}]\n"
    # refusing the document, in any form, is fine here; running it is not
    with contextlib.suppress(Diagnosed, yaml.YAMLError):
        _load(text)
    assert not target.exists()


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(
            "mapping"
        ),
        pytest.param(
            "sequence"
        ),
        pytest.param(
            "scalar"
        ),
    ],
)
def test_python_tags_are_refused_with_a_diagnostic(form: str):
    diagnostic = _refused(PYTHON_TAGS[form])
    assert diagnostic.code in ("E000", "E006")
    assert (diagnostic.line, diagnostic.column) == (1, 4)


def test_binary_values_are_refused():
    diagnostic = _refused("a: 1\nb: !!binary aGVsbG8=\n")
    assert diagnostic.code == "E006"
    assert diagnostic.line == 2


def test_invalid_utf8_is_located_at_the_bad_byte():
    diagnostic = _refused(b"naftiko: 1.0.0-alpha2\ninfo:\n  label: caf\xe9\n")
    assert diagnostic.code == "E001"
    assert (diagnostic.line, diagnostic.column) == (3, 13)
    assert "0xe9" in diagnostic.message


def test_invalid_utf8_on_the_first_line():
    diagnostic = _refused(b"\xffa: 1\n")
    assert diagnostic.code == "E001"
    assert (diagnostic.line, diagnostic.column) == (1, 1)


def test_nul_byte_marks_a_binary_file():
    diagnostic = _refused(b"a: 1\nb: \x00\n")
    assert diagnostic.code == "E001"


def test_oversized_file_is_refused_before_parsing():
    raw = b"#" * (load.MAX_SPEC_BYTES + 1)
    diagnostic = _refused(raw)
    assert diagnostic.code == "E002"
    assert str(load.MAX_SPEC_BYTES) in diagnostic.message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file_is_refused(text: str):
    diagnostic = _refused(text.encode())
    assert diagnostic.code == "E007"
    assert "empty" in diagnostic.message


def test_several_documents_are_refused():
    diagnostic = _refused("a: 1\n---\nb: 2\n")
    assert diagnostic.code == "E007"
    assert "several" in diagnostic.message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", 3),
        ("a: 1\nb:\n  c: 1\n d: 2\n", 4),
        ("a: 1\n\tb: 2\n", 2),
        ("key: value\nother: [a, b]]\n", 2),
    ],
)
def test_syntax_error_is_located(text: str, line: int):
    diagnostic = _refused(text.encode())
    assert diagnostic.code == "E000"
    assert diagnostic.line == line
    assert diagnostic.message.startswith("YAML syntax error")
