"""The escaping filters: the only ways a spec string may enter generated code or Markdown."""

from __future__ import annotations

import ast
import math
import re

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from naftiko_codegen import render
from naftiko_codegen.render import comment, docstring, markdown, py_literal

# Pieces that break naive quoting: quotes of every kind, escapes, line breaks Python and other
# tools recognise, template syntax, NUL and a lone surrogate.
AWKWARD = [
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "\\n",
    "\n",
    "\r",
    "\r\n",
    "\t",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x85",
    "\u2028",
    "\u2029",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "\x00",
    "\x7f",
    "\ud800",
    "\udfff",
    " ",
    "a",
    "é",
    "名",
    "#",
    "`",
    "*",
    "<b>",
    "|",
    "[x](y)",
    "\ufeff",
]

# Any code point, surrogates included, mixed with the awkward pieces above.
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=())),
    st.lists(st.sampled_from(AWKWARD), max_size=20).map("".join),
    st.lists(
        st.one_of(
            st.sampled_from(AWKWARD), st.text(st.characters(exclude_categories=()), max_size=3)
        ),
        max_size=10,
    ).map("".join),
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON_LIKE = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(TEXT, children, max_size=4),
    ),
    max_leaves=12,
)


# --- py_literal -----------------------------------------------------------------------------


@given(TEXT)
def test_py_literal_of_text_evaluates_back(text: str):
    literal = py_literal(text)
    assert eval(literal, {"__builtins__": {}}) == text
    assert ast.literal_eval(literal) == text


@given(TEXT)
def test_py_literal_of_text_stays_on_one_line(text: str):
    assert len(py_literal(text).splitlines()) == 1


@given(TEXT)
def test_py_literal_in_an_assignment_compiles(text: str):
    tree = ast.parse("VALUE = " + py_literal(text) + "\n")
    assert len(tree.body) == 1
    assert tree.body[0].value.value == text


@given(JSON_LIKE)
def test_py_literal_of_json_like_data_evaluates_back(value):
    assert ast.literal_eval(py_literal(value)) == value


@pytest.mark.parametrize("value", [True, False, None, 0, -1, 10**30, 1.5, -0.0, 1e300, [], {}, ""])
def test_py_literal_keeps_type(value):
    back = ast.literal_eval(py_literal(value))
    assert back == value
    assert type(back) is type(value)


def test_py_literal_of_non_finite_floats_is_an_expression():
    assert eval(py_literal(math.inf)) == math.inf
    assert eval(py_literal(-math.inf)) == -math.inf
    assert math.isnan(eval(py_literal(math.nan)))


def test_py_literal_of_tuples():
    assert eval(py_literal(("a",))) == ("a",)
    assert eval(py_literal(())) == ()
    assert eval(py_literal((1, "x", None))) == (1, "x", None)


@pytest.mark.parametrize("value", [{1, 2}, object(), b"bytes"])
def test_py_literal_refuses_other_types(value):
    with pytest.raises(TypeError):
        py_literal(value)


# --- docstring ------------------------------------------------------------------------------
# docstring() promises: the text cannot end the docstring or hide code; words and paragraphs
# (separated by blank lines) are kept, other line breaks and runs of whitespace are not; lines
# are wrapped at `width` unless a single word is longer.


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.split()]


def _read_back(text: str, width: int = 88) -> str:
    tree = ast.parse('"""' + docstring(text, width) + '"""\n')
    assert len(tree.body) == 1
    value = tree.body[0].value
    assert isinstance(value, ast.Constant) and isinstance(value.value, str)
    return value.value


@given(TEXT)
def test_docstring_keeps_words_and_paragraphs(text: str):
    back = _read_back(text)
    assert back.split() == text.split()
    assert _paragraphs(back) == _paragraphs(text)
    assert back == back.strip()


@given(TEXT, st.integers(min_value=10, max_value=100))
def test_docstring_wraps_at_width(text: str, width: int):
    for line in _read_back(text, width).splitlines():
        assert len(line) <= width or len(line.split()) == 1


@given(TEXT)
def test_docstring_inside_a_function_cannot_hide_code(text: str):
    source = "def f():\n    " + '"""' + docstring(text) + '"""\n    return 1\n'
    function = ast.parse(source).body[0]
    assert len(function.body) == 2
    assert ast.get_docstring(function, clean=False).split() == text.split()


@pytest.mark.parametrize("text", ['"', 'ends with a quote"', '"""', "ends with \\", "\\", "a\x00b"])
def test_docstring_edges(text: str):
    assert _read_back(text) == text


def test_docstring_example():
    text = "  First paragraph,\nstill the first.\n\n\n  Second\tone.  "
    assert _read_back(text) == "First paragraph, still the first.\n\nSecond one."


# --- comment and markdown -------------------------------------------------------------------


@given(TEXT)
def test_comment_is_one_line(text: str):
    out = comment(text)
    assert len(out.splitlines()) <= 1
    assert out == out.strip()


@given(TEXT)
def test_comment_cannot_end_the_comment(text: str):
    tree = ast.parse("x = 1  # " + comment(text) + "\ny = 2\n")
    assert len(tree.body) == 2


def test_comment_collapses_whitespace():
    assert comment("  one\n two\r\n\tthree\u2028four  ") == "one two three four"


@given(TEXT)
def test_markdown_is_one_line(text: str):
    assert len(markdown(text).splitlines()) <= 1


@given(TEXT)
def test_markdown_escapes_every_markup_character(text: str):
    unescaped = re.sub(r"\\[\\`*_\[\]<>|#]", "", markdown(text))
    assert not re.search(r"[\\`*_\[\]<>|#]", unescaped)


def test_markdown_example():
    assert markdown("a *b* <i>\n`c`") == r"a \*b\* \<i\> \`c\`"


# --- environment ----------------------------------------------------------------------------


def test_environment_refuses_undefined_variables():
    template = render.environment().from_string("value = {{ missing }}\n")
    with pytest.raises(jinja2.UndefinedError):
        template.render()


def test_environment_refuses_undefined_attributes():
    template = render.environment().from_string("value = {{ cap.missing }}\n")
    with pytest.raises(jinja2.UndefinedError):
        template.render(cap=object())


def test_environment_filters():
    env = render.environment()
    text = env.from_string("X = {{ s|py }}  # {{ s|comment }}\n").render(s='a"\nb')
    assert text == "X = 'a\"\\nb'  # a\" b\n"
    assert env.from_string("{{ name|ident }}").render(name="class") == "class_"


def test_environment_does_not_html_escape():
    assert render.environment().from_string("{{ s }}").render(s="<a & b>") == "<a & b>"
