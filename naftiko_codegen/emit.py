"""Stage 5: the model -> generated files in memory ({relative path: text}), formatted.

Like sqlc's Generate, nothing here touches the disk: writing or diffing is output.py's job.
"""

from __future__ import annotations

import functools
import hashlib
import re
from types import SimpleNamespace

from .model import Capability
from .openapi import render as render_openapi
from .render import environment, py_literal

# (template, output file) for every file of a package; adapters the spec lacks are skipped.
_FILES = (
    ("__init__.py.j2", "__init__.py"),
    ("__main__.py.j2", "__main__.py"),
    ("_runtime.py.j2", "_runtime.py"),
    ("_telemetry.py.j2", "_telemetry.py"),
    ("_transport.py.j2", "_transport.py"),
    ("client.py.j2", "client.py"),
    ("rest.py.j2", "rest.py"),
    ("mcp_server.py.j2", "mcp_server.py"),
    ("control.py.j2", "control.py"),
    ("skill.py.j2", "skill.py"),
    ("requirements.txt.j2", "requirements.txt"),
    ("README.md.j2", "README.md"),
)

# Fixed, so the bytes do not depend on any configuration file found near the output.
BLACK_LINE_LENGTH = 100
BLACK_TARGET = "py311"


def _format_with_black(source: str) -> str:
    import black  # imported on a cache miss only: it is the slowest import of a run

    mode = black.Mode(target_versions={black.TargetVersion[BLACK_TARGET.upper()]},
                      line_length=BLACK_LINE_LENGTH)
    return black.format_str(source, mode=mode)


class FormatError(Exception):
    """A template produced Python that does not parse: a generator bug, never a spec error."""


@functools.cache
def _env():
    return environment()


def format_python(path: str, source: str, header: str = "", standin: str = "",
                  sha256: str = "") -> str:
    """black, in-process, with fixed settings (no configuration file is consulted), through the
    content cache: the same source always gives the same bytes.

    `header` (the comment lines the text starts with) and `sha256` (the spec's, which also
    appears in string literals) are the per-spec values every file carries. The cache is looked
    up with them replaced by `standin` (the same header for a fixed source name and
    `SHA256_STANDIN`), and the real values are put back into black's output, so that a spec
    edit only re-formats the files whose code changed. See `_neutral` for why this is exact."""
    neutral = _neutral(source, header, standin, sha256)
    if neutral is not None:
        formatted = _black_cached(path, neutral)
        restored = _restore(formatted, neutral, header, standin, sha256)
        if restored is not None:
            return restored
        # black changed a stand-in after all (not expected): no shortcut
    return _black_cached(path, source)


def _black_cached(path: str, source: str) -> str:
    from .cache import cached_text

    try:
        return cached_text(f"black-{BLACK_TARGET}-{BLACK_LINE_LENGTH}", source, _format_with_black)
    except Exception as exc:  # black.InvalidInput, without importing black up front
        if type(exc).__name__ != "InvalidInput":
            raise
        raise FormatError(f"generated {path} is not valid Python: {exc}") from None


# The stand-in for a spec's sha256: same length, same alphabet (so a string literal holding it
# has the same width and needs no escaping), and nothing a spec hashes to in practice.
SHA256_STANDIN = hashlib.sha256(b"naftiko-gen: stand-in for the spec's sha256").hexdigest()
_STANDIN_HEAD = SHA256_STANDIN[:60]
# the two literals as black leaves them: quotes normalised, maybe a line break between them
_STANDIN_SPLIT = re.compile(re.escape(_STANDIN_HEAD) + r"(['\"]\s*['\"])" + SHA256_STANDIN[60:])
STANDIN_SOURCE = "SOURCE"
# A header line black leaves exactly as it is, and whose text cannot change how black formats
# anything else: `# ` then printable ASCII, no trailing blank, and none of the comment
# directives black obeys (`fmt: off/on/skip`, `yapf: disable/enable`) or the type comments it
# treats apart.
_INERT_LINE = re.compile(r"# [ -~]*[!-~]")
_DIRECTIVE = re.compile(r"fmt|yapf|type\s*:", re.IGNORECASE)


def _inert(header: str) -> bool:
    return bool(header) and all(
        _INERT_LINE.fullmatch(line) and not _DIRECTIVE.search(line) for line in header.split("\n")
    )


def _neutral(source: str, header: str, standin: str, sha256: str) -> str | None:
    """`source` with its header replaced by `standin` and the sha256 by its stand-in, or None
    when that would not be exact (then the real text is formatted).

    Why black's output for this text, with the real values put back, is black's output for the
    real text: both headers are blocks of the same number of standalone comment lines before
    the first statement. black copies such a comment unchanged when it starts with `# ` and has
    no trailing blank (those are the only two things it normalises in a comment), never reflows
    or joins comments, does not measure a standalone comment against the line length, and lets
    a comment's text change nothing else unless it is a directive or a type comment (both
    excluded by `_inert`). The sha256 is 64 hex digits either way, in comments or in string
    literals (whole, or split in two adjacent literals by the `py` filter), so every width black
    measures is the same and no escaping differs; the real one cannot occur in the text by
    accident, and the stand-in must not occur at all, or putting the real one back would change
    text that was there. tests/unit/test_format_standin.py checks
    this against formatting the real text, for many specs and hostile source names."""
    if not (header and standin and source.startswith(header + "\n")):
        return None
    if not (_inert(header) and _inert(standin)) or header.count("\n") != standin.count("\n"):
        return None
    if len(sha256) != 64 or _STANDIN_HEAD in source:
        return None
    body = source[len(header):].replace(sha256, SHA256_STANDIN)
    # the `py` filter writes it as two adjacent literals, 60 digits then 4
    body = body.replace(py_literal(sha256), py_literal(SHA256_STANDIN))
    return standin + body


def _restore(formatted: str, neutral: str, header: str, standin: str, sha256: str) -> str | None:
    """black's output for the stand-in text, with the real header and sha256 put back."""
    if not formatted.startswith(standin + "\n"):
        return None
    if formatted.count(_STANDIN_HEAD) != neutral.count(_STANDIN_HEAD):
        return None  # black neither splits nor joins string literals; never happens
    body = _STANDIN_SPLIT.sub(lambda m: sha256[:60] + m.group(1) + sha256[60:],
                              formatted[len(standin):])
    body = body.replace(SHA256_STANDIN, sha256)
    if _STANDIN_HEAD in body:
        return None  # a form of the stand-in this function does not know
    return header + body


@functools.cache
def _header_macro():
    return _env().get_template("_header.j2").module.header


def headers(cap: Capability) -> tuple[str, str]:
    """The header `_header.j2` writes for `cap`, and the stand-in header."""
    macro = _header_macro()
    standin = SimpleNamespace(generator_version=cap.generator_version, source=STANDIN_SOURCE,
                              source_sha256=SHA256_STANDIN)
    return str(macro(cap)), str(macro(standin))


def templates_for(cap: Capability) -> list[tuple[str, str]]:
    """(template, file) for each file of `cap`'s package: adapters the spec lacks are skipped."""
    absent = {
        "rest.py": cap.rest is None,
        "mcp_server.py": cap.mcp is None,
        "control.py": cap.control is None,
        "skill.py": cap.skill is None,
        "_telemetry.py": not cap.telemetry,
    }
    return [(template, name) for template, name in _FILES if not absent.get(name, False)]


def emit(cap: Capability) -> dict[str, str]:
    """Every file of the package for `cap`, keyed by path relative to the output folder."""
    env = _env()
    header, standin = headers(cap)
    files: dict[str, str] = {}
    for template, name in templates_for(cap):
        text = env.get_template(template).render(cap=cap, rest=cap.rest, mcp=cap.mcp, control=cap.control)
        path = f"{cap.package}/{name}"
        if name.endswith(".py"):
            text = format_python(path, text, header, standin, cap.source_sha256)
        else:
            text = text.rstrip("\n") + "\n"
        files[path] = text
    if cap.rest is not None:
        # what the REST service serves at /openapi.json, read by rest.py at import
        files[f"{cap.package}/openapi.json"] = render_openapi(cap)
    return dict(sorted(files.items()))
