"""The CSS selectors an html answer's `outputSchema` may give (which tables the engine reads).

The generator parses the selector; the generated runtime only evaluates the parsed form, a
tuple of alternatives (`a, b`), each a tuple of (combinator, compound) steps from left to right.
A compound is (tag or None, id or None, classes); the combinator before it is " " (descendant)
or ">" (child), "" for the first. This is the subset of CSS that names tables by element, class
and id, which is what the engine's documentation and fixtures use; anything else (attribute
selectors, pseudo-classes, `+`, `~`) raises SelectorError and the spec is refused.
"""

from __future__ import annotations

import re
from typing import Any

_NAME = r"-?[A-Za-z_][A-Za-z0-9_-]*"
_COMPOUND = re.compile(rf"(?P<tag>{_NAME}|\*)?(?P<rest>(?:[.#]{_NAME})*)")
_PART = re.compile(rf"([.#])({_NAME})")


class SelectorError(ValueError):
    pass


def parse_selector(text: str) -> tuple[Any, ...]:
    """`table.products, div#main > table` -> the tuple the runtime's `select` evaluates."""
    groups: list[tuple[Any, ...]] = []
    for alternative in text.split(","):
        groups.append(_sequence(alternative.strip(), text))
    return tuple(groups)


def _sequence(text: str, whole: str) -> tuple[Any, ...]:
    if not text:
        raise SelectorError(f"`{whole}` has an empty alternative")
    steps: list[tuple[str, tuple[Any, ...]]] = []
    position, combinator = 0, ""
    while position < len(text):
        match = _COMPOUND.match(text, position)
        assert match is not None  # both parts are optional: it always matches
        if match.end() == position:
            raise SelectorError(f"`{whole}` uses `{text[position:]}`, beyond element, class and id selectors")
        tag = match.group("tag")
        ident: str | None = None
        classes: list[str] = []
        for kind, name in _PART.findall(match.group("rest")):
            if kind == "#":
                ident = name
            else:
                classes.append(name)
        steps.append((combinator, (None if tag in (None, "*") else tag.lower(), ident, tuple(classes))))
        position = match.end()
        gap = re.compile(r"\s*(>)\s*|\s+").match(text, position)
        if gap is None or gap.end() == position:
            if position < len(text):
                raise SelectorError(f"`{whole}` uses `{text[position:]}`, beyond element, class and id selectors")
            break
        combinator = ">" if gap.group(1) else " "
        position = gap.end()
        if position == len(text):
            raise SelectorError(f"`{whole}` ends with a combinator")
    return tuple(steps)
