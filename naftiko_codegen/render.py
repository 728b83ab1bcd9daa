"""Stage 4: the Jinja environment, and the only ways a spec string may enter generated code.

Every filter here produces text that, placed where the templates place it, evaluates back to
exactly the spec's value (or, for comments and Markdown, cannot end the context it is in).
Templates never print a spec string without one of them.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from importlib import resources
from typing import Any

import jinja2

from .names import python_identifier


def py_literal(value: Any) -> str:
    """A Python expression that evaluates to `value` (JSON-like data only)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f'float("{value}")'
        return repr(value)
    if isinstance(value, str):
        return _py_str(value)
    if isinstance(value, tuple):
        items = [py_literal(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py_str(str(k))}: {py_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not JSON-like data: {type(value).__name__}")


_CHUNK = 60  # long strings become implicit concatenations, so generated lines stay short


def _py_str(text: str) -> str:
    if len(text) <= _CHUNK:
        return _py_str_one(text)
    # a chunk ends after a space where it can; a long run of spaces is cut like any other text
    chunks = re.findall(rf".{{1,{_CHUNK}}}(?:\s{{1,8}}|$)|.{{1,{_CHUNK}}}", text, flags=re.DOTALL)
    assert "".join(chunks) == text
    # adjacent literals are one expression anywhere; black adds parentheses where it splits them
    return " ".join(_py_str_one(c) for c in chunks)


def _py_str_one(text: str) -> str:
    # repr() always yields a valid literal for the same string; escape the few characters it
    # keeps raw that some tools treat as line breaks, so the literal stays on one line.
    return re.sub(
        "[\u2028\u2029\x85\x0b\x0c\x1c-\x1e]",
        lambda m: f"\\u{ord(m.group()):04x}" if ord(m.group()) > 0xFF else f"\\x{ord(m.group()):02x}",
        repr(text),
    )


def docstring(text: str, width: int = 88) -> str:
    """Text for the inside of a `\"\"\"...\"\"\"` docstring: escaped so it cannot end the docstring
    or hide code, and wrapped at `width` (paragraphs and words are kept, line breaks are not)."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip())]
    wrapped = "\n\n".join(textwrap.fill(p, width, break_long_words=False, break_on_hyphens=False)
                          for p in paragraphs if p)
    out = []
    for ch in wrapped:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n" or ch == "\t":
            out.append(ch)
        elif code < 0x20 or code == 0x7F or ch in "\u2028\u2029\x85":
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def comment(text: str) -> str:
    """One line of text safe after `# `: no line breaks of any kind."""
    return re.sub(r"\s+", " ", "".join(ch if ch.isprintable() else " " for ch in text)).strip()


def markdown(text: str) -> str:
    """Inline Markdown: one line, with the characters that start markup or HTML escaped."""
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", comment(text))


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False)


def environment() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(resources.files("naftiko_codegen.templates")))
    from .cache import bytecode_folder

    compiled = bytecode_folder()
    env = jinja2.Environment(
        loader=loader,
        # compiling the templates dominates a cold run; their compiled form is kept on disk
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(compiled)) if compiled else None,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # the filters below escape per context; HTML escaping would corrupt Python
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        py=py_literal,
        docstring=docstring,
        comment=comment,
        md=markdown,
        json=json_text,
        ident=python_identifier,
    )
    return env
