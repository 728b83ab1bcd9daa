"""Stage 5: the model -> generated files in memory ({relative path: text}), formatted.

Like sqlc's Generate, nothing here touches the disk: writing or diffing is output.py's job.
"""

from __future__ import annotations

import functools

from .model import Capability
from .openapi import render as render_openapi
from .render import environment

# (template, output file) for every file of a package; adapters the spec lacks are skipped.
_FILES = (
    ("__init__.py.j2", "__init__.py"),
    ("__main__.py.j2", "__main__.py"),
    ("_runtime.py.j2", "_runtime.py"),
    ("client.py.j2", "client.py"),
    ("rest.py.j2", "rest.py"),
    ("mcp_server.py.j2", "mcp_server.py"),
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


def format_python(path: str, source: str) -> str:
    """black, in-process, with fixed settings (no configuration file is consulted), through the
    content cache: the same source always gives the same bytes."""
    from .cache import cached_text

    try:
        return cached_text(f"black-{BLACK_TARGET}-{BLACK_LINE_LENGTH}", source, _format_with_black)
    except Exception as exc:  # black.InvalidInput, without importing black up front
        if type(exc).__name__ != "InvalidInput":
            raise
        raise FormatError(f"generated {path} is not valid Python: {exc}") from None


def emit(cap: Capability) -> dict[str, str]:
    """Every file of the package for `cap`, keyed by path relative to the output folder."""
    env = _env()
    files: dict[str, str] = {}
    for template, name in _FILES:
        if name == "rest.py" and cap.rest is None:
            continue
        if name == "mcp_server.py" and cap.mcp is None:
            continue
        text = env.get_template(template).render(cap=cap, rest=cap.rest, mcp=cap.mcp)
        path = f"{cap.package}/{name}"
        if name.endswith(".py"):
            text = format_python(path, text)
        else:
            text = text.rstrip("\n") + "\n"
        files[path] = text
    if cap.rest is not None:
        # what the REST service serves at /openapi.json, read by rest.py at import
        files[f"{cap.package}/openapi.json"] = render_openapi(cap)
    return dict(sorted(files.items()))
