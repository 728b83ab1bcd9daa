"""Diagnostics: what every stage reports instead of raising on bad input, and their renderers
(text with the source line and a caret, JSON, GitHub Actions annotations)."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"

    def __lt__(self, other: Severity) -> bool:  # diagnostics sort by position, then severity
        return self.value < other.value


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in one spec, located as precisely as the stage that found it can."""

    path: str
    line: int  # 1-based; 0 when the problem is the file itself
    column: int  # 1-based; 0 when unknown
    severity: Severity
    code: str
    message: str
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def render(self) -> str:
        text = f"{self.path}:{self.line}:{self.column}: {self.severity.value}[{self.code}]: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def as_error(self) -> Diagnostic:
        return Diagnostic(self.path, self.line, self.column, Severity.ERROR, self.code, self.message, self.hint)


class Diagnosed(Exception):
    """Raised by a stage that cannot go on; carries the diagnostics gathered so far."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("; ".join(d.render() for d in diagnostics))
        self.diagnostics = diagnostics


def has_errors(diagnostics: Sequence[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


class ExitCode(enum.IntEnum):
    OK = 0
    DIFFERENCE = 1  # --check found generated output out of date
    INVALID_SPEC = 2
    USAGE_OR_IO = 3
    INTERNAL = 70  # sysexits.h EX_SOFTWARE: a bug in naftiko-gen, never the user's input


def _sorted(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    return sorted(set(diagnostics), key=lambda d: (d.path, d.line, d.column, d.code, d.message))


def _printable(line: str) -> str:
    return "".join(ch if ch.isprintable() or ch == "\t" else "\ufffd" for ch in line)


def render_text(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str]) -> str:
    """Compiler-style: the location line, the offending source line with a caret, the hint."""
    out = []
    for d in _sorted(diagnostics):
        out.append(f"{d.path}:{d.line}:{d.column}: {d.severity.value}[{d.code}]: {d.message}")
        lines = sources.get(d.path, "").splitlines()
        if 1 <= d.line <= len(lines):
            source = _printable(lines[d.line - 1].expandtabs(1))
            gutter = f"{d.line:>5} | "
            out.append(gutter + source)
            if d.column >= 1:
                out.append(" " * (len(gutter) - 2) + "| " + " " * min(d.column - 1, len(source)) + "^")
        if d.hint:
            out.append(f"  hint: {d.hint}")
    return "\n".join(out) + ("\n" if out else "")


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    items = [
        {
            "path": d.path,
            "line": d.line,
            "column": d.column,
            "severity": d.severity.value,
            "code": d.code,
            "message": d.message,
            "hint": d.hint,
        }
        for d in _sorted(diagnostics)
    ]
    return json.dumps({"diagnostics": items}, indent=2, ensure_ascii=False) + "\n"


def _github_escape(text: str, *, prop: bool = False) -> str:
    # The workflow-command escaping GitHub documents for messages and properties.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions annotations: `::error file=...,line=...,col=...,title=...::message`."""
    out = []
    for d in _sorted(diagnostics):
        message = d.message + (f" (hint: {d.hint})" if d.hint else "")
        props = [f"file={_github_escape(d.path, prop=True)}"]
        if d.line:
            props.append(f"line={d.line}")
        if d.column:
            props.append(f"col={d.column}")
        props.append(f"title={_github_escape('naftiko-gen ' + d.code, prop=True)}")
        out.append(f"::{d.severity.value} {','.join(props)}::{_github_escape(message)}")
    return "\n".join(out) + ("\n" if out else "")
