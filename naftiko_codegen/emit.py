"""Stage 5: the model -> generated files in memory ({relative path: text}), formatted.

Like sqlc's Generate, nothing here touches the disk: writing or diffing is output.py's job.
"""

from __future__ import annotations

import functools

import black

from .model import Capability
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
BLACK_MODE = black.Mode(
    target_versions={black.TargetVersion.PY311},
    line_length=100,
)


class FormatError(Exception):
    """A template produced Python that does not parse: a generator bug, never a spec error."""


@functools.cache
def _env():
    return environment()


def format_python(path: str, source: str) -> str:
    try:
        return black.format_str(source, mode=BLACK_MODE)
    except black.InvalidInput as exc:
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
    return dict(sorted(files.items()))
