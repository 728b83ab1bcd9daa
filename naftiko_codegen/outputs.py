"""Output mapping decisions: JSONPath parsing and the shapes that build an exposed result.

Everything here runs at generation time. A JSONPath is parsed once into a tuple of segments
(a member name, an array index, or `None` for the `[*]` wildcard); an output is turned into a
*shape*, a nested tuple the generated `_runtime.py` evaluates without parsing anything:

    ("value", path)                    the value at `path` (`None` when absent)
    ("object", path, ((name, shape), ...))   an object built from properties, each evaluated
                                       relative to the value at `path` (`()` = the document)
    ("array", path, shape | None, wrap)      the array at `path`, each element mapped by `shape`
                                       (copied when `None`); `wrap`: a lone value counts as a
                                       one-element array (XML, where one element is no list)
    ("const", value)                   a constant
    ("text", ((literal, input), ...))  a string rendered from the caller's inputs

Only the JSONPath forms real capabilities use are accepted; anything else is refused where it
is written, never evaluated approximately.
"""

from __future__ import annotations

import re
from typing import Any

Segment = str | int | None
Path = tuple[Segment, ...]

_NAME = re.compile(r"[^.\[\]\s'\"*]+")
_BRACKET = re.compile(r"\[(?:(-?[0-9]+)|\*|'([^'\\]*)'|\"([^\"\\]*)\")\]")


class PathError(ValueError):
    """A JSONPath outside the supported subset; the message says which part."""


def parse_path(text: str) -> Path:
    """`$.a.b[0]['c d'][*]` -> ("a", "b", 0, "c d", None). `$` and `$.` are the document."""
    source = text.strip()
    if not source.startswith("$"):
        raise PathError(f"`{text}` does not start with `$`")
    rest = source[1:]
    if rest in ("", "."):
        return ()
    segments: list[Segment] = []
    i = 0
    while i < len(rest):
        if rest.startswith("..", i):
            raise PathError(f"`{text}`: recursive descent (`..`) is not supported")
        if rest[i] == ".":
            if rest.startswith(".*", i):
                segments.append(None)
                i += 2
                continue
            match = _NAME.match(rest, i + 1)
            if match is None:
                raise PathError(f"`{text}`: expected a member name after `.` at character {i + 2}")
            segments.append(match.group(0))
            i = match.end()
        elif rest[i] == "[":
            match = _BRACKET.match(rest, i)
            if match is None:
                raise PathError(
                    f"`{text}`: only `[n]`, `[*]` and `['name']` are supported in brackets "
                    "(no filters, slices or unions)"
                )
            index, single, double = match.groups()
            if index is not None:
                segments.append(int(index))
            elif single is not None or double is not None:
                segments.append(single if single is not None else double)
            else:
                segments.append(None)
            i = match.end()
        else:
            raise PathError(f"`{text}`: unexpected `{rest[i]}` at character {i + 2}")
    return tuple(segments)


def evaluate(path: Path, document: Any) -> Any:
    """Reference evaluation of a parsed path (the generated runtime has the same code): the value,
    `None` when absent; after a wildcard, the list of the values found."""
    current = document
    for position, segment in enumerate(path):
        if segment is None:
            if isinstance(current, dict):
                elements = list(current.values())
            elif isinstance(current, list):
                elements = current
            else:
                return None
            found = [evaluate(path[position + 1 :], element) for element in elements]
            return [value for value in found if value is not None]
        if isinstance(segment, int):
            if not isinstance(current, list) or not -len(current) <= segment < len(current):
                return None
            current = current[segment]
        else:
            if not isinstance(current, dict) or segment not in current:
                return None
            current = current[segment]
    return current


_JSON_TYPES = {"string", "number", "integer", "boolean", "object", "array"}


def scalar_schema(declared: Any, text_only: bool | str) -> dict[str, Any]:
    """The schema of one mapped value: its declared type, or null when the document lacks it.
    Formats that carry only text (XML, CSV, HTML) give strings whatever the declared scalar
    type; markdown ("mixed") gives text in tables and typed values in its front matter."""
    if not isinstance(declared, str) or declared not in _JSON_TYPES:
        return {}
    if text_only == "mixed" and declared in ("number", "integer", "boolean"):
        return {"type": [declared, "string", "null"]}
    if text_only and declared in ("number", "integer", "boolean"):
        declared = "string"
    return {"type": [declared, "null"]}
