"""Identifiers: every name that reaches generated Python passes through here."""

from __future__ import annotations

import builtins
import hashlib
import keyword
import re
import unicodedata

# Names the generated modules define or import themselves; a spec name must never shadow them.
_RESERVED = frozenset(
    set(keyword.kwlist)
    | set(keyword.softkwlist)
    | set(dir(builtins))
    | {
        "self", "cls", "client", "request", "response", "app", "server", "json", "os", "sys",
        "httpx", "types", "typing", "any", "timeout", "headers", "params", "body_bytes",
        # locals of the client's request builders, which take the operation's arguments
        "url", "content", "payload", "config", "secrets", "cookies",
    }
)

_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def words(text: str) -> list[str]:
    """Split any spec name into lower-case ASCII words: `track-batch`, `trackBatch`, `page[limit]`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    out: list[str] = []
    for chunk in _WORD.findall(ascii_text):
        out.extend(part.lower() for part in _CAMEL.split(chunk) if part)
    return out


def snake(text: str) -> str:
    """`track-batch` -> `track_batch`; may be empty."""
    return "_".join(words(text))


IDENTIFIER_MAX = 64  # `self.<name>_url = join_url(` must fit in 100 columns at two indents
CONSUMER_ATTR_MAX = 40  # consumer attributes are nested deeper, with longer suffixes


def python_identifier(text: str, *, fallback: str = "value", limit: int = IDENTIFIER_MAX) -> str:
    """A valid, non-reserved snake_case identifier for `text`, at most `limit` characters.

    Deterministic: the same input always gives the same output. Names that lose everything in
    sanitising (`..`, `名前`) get the fallback plus a short hash of the original, so two such
    names still differ; so do names cut to the limit (`deprecated202001createfulfillment…`).
    """
    name = snake(text)
    if not name:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        name = f"{fallback}_{digest}"
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if len(name) > limit:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]
        name = name[: limit - 7].rstrip("_") + "_" + digest
    if name in _RESERVED:
        name = f"{name}_"
    return name


def env_prefix(text: str) -> str:
    """The environment-variable prefix for a namespace: upper-case, other characters to `_`."""
    return re.sub(r"[^A-Z0-9]", "_", text.upper())


# Folder names Windows refuses whatever the extension: a package must be vendorable anywhere.
_DEVICE_NAMES = frozenset({"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)})


PACKAGE_NAME_MAX = 48  # keeps `python -m <package> ...` lines of generated docs within 100 columns


def package_name(stem: str) -> str:
    """The generated package's import name (and folder name) for a spec file stem. A stem longer
    than PACKAGE_NAME_MAX is cut and given a short hash of the whole stem, so it stays unique."""
    name = python_identifier(stem, fallback="capability")
    if len(name) > PACKAGE_NAME_MAX:
        digest = hashlib.sha256(stem.encode("utf-8")).hexdigest()[:6]
        name = name[: PACKAGE_NAME_MAX - 7].rstrip("_") + "_" + digest
    return f"{name}_" if name in _DEVICE_NAMES else name


def dedupe(names: list[str]) -> list[str]:
    """Resolve collisions deterministically by suffixing `_2`, `_3`… in order of appearance."""
    seen: dict[str, int] = {}
    taken = set(names)
    out = []
    for name in names:
        if name not in seen:
            seen[name] = 1
            out.append(name)
            continue
        n = seen[name]
        candidate = f"{name}_{n + 1}"
        while candidate in taken:
            n += 1
            candidate = f"{name}_{n + 1}"
        seen[name] = n + 1
        taken.add(candidate)
        out.append(candidate)
    return out


MCP_TOOL_NAME_MAX = 64
_MCP_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def mcp_tool_name_ok(name: str) -> bool:
    """The MCP tool-name rule clients enforce: 1-64 of [A-Za-z0-9_.-]."""
    return bool(_MCP_TOOL_NAME.fullmatch(name))
