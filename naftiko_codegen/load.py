"""Stage 1: read a spec file into plain data, remembering where every node came from.

Only PyYAML's safe machinery is used (no Python tags). The node graph is walked by hand so
that duplicate keys, alias bombs and runaway nesting are refused with a position instead of
being silently accepted or eating the machine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Diagnosed, Diagnostic, Severity

MAX_SPEC_BYTES = 4 * 1024 * 1024  # far above any real capability (largest in the wild: ~60 KB)
MAX_NODES = 200_000  # counts nodes after alias expansion: stops "billion laughs"
MAX_DEPTH = 64

JsonPath = tuple[str | int, ...]
_CORE_TAGS = frozenset(
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge")
)


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Document:
    """A loaded spec: the data, its source, and the position of every value and mapping key."""

    path: str  # as shown in diagnostics and in generated headers
    text: bytes
    data: Any
    values: dict[JsonPath, Position] = field(default_factory=dict)
    keys: dict[JsonPath, Position] = field(default_factory=dict)
    imported: list[Path] = field(default_factory=list)  # files spliced in by imports.py

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text).hexdigest()

    def position(self, path: JsonPath, *, key: bool = False) -> Position:
        """The position of `path`, or of its nearest located ancestor."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Position(1, 1))

    def diagnostic(
        self,
        path: JsonPath,
        code: str,
        message: str,
        *,
        hint: str = "",
        severity: Severity = Severity.ERROR,
        key: bool = False,
    ) -> Diagnostic:
        pos = self.position(path, key=key)
        return Diagnostic(self.path, pos.line, pos.column, severity, code, message, hint)


def _pos(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


class _Builder:
    """Turns a composed YAML node graph into JSON-like data with positions."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.nodes = 0
        self.constructor = yaml.constructor.SafeConstructor()

    def fail(self, mark: yaml.Mark, code: str, message: str, hint: str = "") -> Diagnosed:
        pos = _pos(mark)
        return Diagnosed(
            [Diagnostic(self.doc.path, pos.line, pos.column, Severity.ERROR, code, message, hint)]
        )

    def build(self, node: yaml.Node, path: JsonPath, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(
                node.start_mark,
                "E004",
                f"the document expands to more than {MAX_NODES} nodes (YAML aliases multiply them)",
                "remove the anchors and aliases that repeat large structures",
            )
        if depth > MAX_DEPTH:
            raise self.fail(
                node.start_mark,
                "E005",
                f"the document is nested more than {MAX_DEPTH} levels deep",
                "a capability never needs this depth; check the indentation",
            )
        self.doc.values[path] = _pos(node.start_mark)
        if node.tag not in _CORE_TAGS:
            # `!!python/...` and custom tags: refused, never constructed
            raise self.fail(node.start_mark, "E006", f"YAML tag `{node.tag.replace('tag:yaml.org,2002:', '!!')}` is not allowed in a capability",
                            "remove the tag; capabilities use plain YAML values")
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self.fail(
                        key_node.start_mark,
                        "E006",
                        "YAML merge keys (`<<`) are not supported",
                        "write the keys out in full",
                    )
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node.start_mark, "E006", "mapping keys must be plain strings")
                key = str(key_node.value)
                if key in result:
                    first = self.doc.keys[path + (key,)]
                    raise self.fail(
                        key_node.start_mark,
                        "E003",
                        f"duplicate key `{key}` (first defined on line {first.line})",
                        "YAML keeps only the last value; remove one of them",
                    )
                self.doc.keys[path + (key,)] = _pos(key_node.start_mark)
                result[key] = self.build(value_node, path + (key,), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # keep dates as written; the schema types them as strings
        if node.tag == "tag:yaml.org,2002:binary":
            raise self.fail(node.start_mark, "E006", "binary YAML values are not supported")
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise self.fail(node.start_mark, "E006", f"cannot read this value: {exc}") from None


def _decode(path: str, raw: bytes) -> str:
    if b"\x00" in raw:
        raise Diagnosed(
            [
                Diagnostic(
                    path, 1, 1, Severity.ERROR, "E001",
                    "this is a binary file, not a YAML capability",
                    "pass the capability's .yaml file",
                )
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise Diagnosed(
            [
                Diagnostic(
                    path, line, column, Severity.ERROR, "E001",
                    f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                    "save the file as UTF-8",
                )
            ]
        ) from None
    return text.removeprefix("\ufeff")


def load_bytes(path: str, raw: bytes) -> Document:
    """Parse `raw` (the content of `path`) into a Document, or raise Diagnosed."""
    doc = Document(path=path, text=raw, data=None)
    if len(raw) > MAX_SPEC_BYTES:
        raise Diagnosed(
            [
                Diagnostic(
                    path, 1, 1, Severity.ERROR, "E002",
                    f"the file is {len(raw)} bytes; the limit is {MAX_SPEC_BYTES} bytes",
                    "split the capability, or check that this is the right file",
                )
            ]
        )
    text = _decode(path, raw)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(filter(None, [exc.context, exc.problem]))
        raise Diagnosed(
            [
                Diagnostic(
                    path, line, column, Severity.ERROR, "E000",
                    f"YAML syntax error: {problem}",
                    "check the indentation and quoting around this line",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise Diagnosed(
            [Diagnostic(path, 1, 1, Severity.ERROR, "E000", f"YAML error: {exc}")]
        ) from None
    nodes = [n for n in nodes if n is not None]
    if len(nodes) != 1:
        raise Diagnosed(
            [
                Diagnostic(
                    path, 1, 1, Severity.ERROR, "E007",
                    "the file is empty" if not nodes else "the file holds several YAML documents",
                    "a capability file holds exactly one YAML document",
                )
            ]
        )
    builder = _Builder(doc)
    doc.data = builder.build(nodes[0], (), 0)
    return doc


def display_path(path: Path) -> str:
    """How a spec is named in diagnostics and headers: relative to the working directory when
    below it (stable across machines), else as given."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_spec(path: Path, shown: str) -> bytes:
    """The bytes of a spec file, refusing what cannot be a spec before reading it whole."""
    try:
        if path.is_dir():
            raise Diagnosed([Diagnostic(shown, 0, 0, Severity.ERROR, "E008", "this is a directory, not a spec file")])
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise Diagnosed(
                [
                    Diagnostic(
                        shown, 0, 0, Severity.ERROR, "E002",
                        f"the file is {size} bytes; the limit is {MAX_SPEC_BYTES} bytes",
                        "split the capability, or check that this is the right file",
                    )
                ]
            )
        with path.open("rb") as handle:
            return handle.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise Diagnosed(
            [
                Diagnostic(
                    shown, 0, 0, Severity.ERROR, "E008",
                    f"cannot read the file: {exc.strerror or exc}",
                    "check the path and its permissions",
                )
            ]
        ) from None


def load_file(path: Path) -> Document:
    shown = display_path(path)
    return load_bytes(shown, read_spec(path, shown))
