"""The skill adapter (`type: skill`): a validated document -> `SkillAdapter`.

A skill catalogue describes; it calls nothing. What it says about each skill (names,
descriptions, the tools and where they come from) is decided here, at generation time; the
files under a skill's `location` are read by the generated service when asked for, as MCP file
resources are. docs/semantics.md ("The skill adapter") gives the rules.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from . import __version__
from .diagnostics import Diagnostic
from .load import Document, JsonPath
from .model import Skill, SkillAdapter
from .names import env_prefix

_DEFAULT_HOST = "127.0.0.1"
_DEFAULT_PORT = 9092
# A file the catalogue may name or serve: plain segments, none of them hidden or climbing.
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
# Skill fields the engine copies into `GET /skills/{name}` when set, in its order.
_DETAIL_FIELDS = ("license", "compatibility", "argument-hint", "allowed-tools", "user-invocable",
                  "disable-model-invocation")


def plain_file(relative: str) -> bool:
    """`guide.md`, `examples/usage.md`: a relative path that stays in its folder."""
    return all(_SEGMENT.fullmatch(s) for s in relative.split("/"))


def location_directory(location: str) -> str:
    """The directory a skill's `location` names: `file:///srv/skills/x` is `/srv/skills/x`;
    `file:///./skills/x` is `./skills/x`, relative to the working directory (as bind files
    are). Empty: not a local directory of its own (another scheme or host, `/`, the working
    directory or one of its parents)."""
    parts = urlsplit(location)
    path = unquote(parts.path)
    if parts.scheme != "file" or parts.netloc or not path.startswith("/") or "\x00" in path:
        return ""
    relative = path[1:].split("/", 1)[0] in (".", "..")
    directory = posixpath.normpath(path[1:] if relative else path)
    if directory in ("/", ".") or directory.strip("./") == "":
        return ""  # the whole disk, or the working directory with the service's own files
    return directory if not relative or directory.startswith("../") else "./" + directory


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class _Skills:
    def __init__(self, doc: Document, package: str, out: list[Diagnostic]):
        self.doc = doc
        self.package = package
        self.out = out
        self.capability = _dict(_dict(doc.data).get("capability"))

    def error(self, path: JsonPath, code: str, message: str, hint: str = "") -> None:
        self.out.append(self.doc.diagnostic(path, code, message, hint=hint))

    def unsupported(self, path: JsonPath, what: str, hint: str = "") -> None:
        self.out.append(self.doc.diagnostic(
            path, "E300", f"{what} is not supported by naftiko-gen {__version__}", hint=hint))

    def siblings(self) -> dict[str, tuple[str, list[str]]]:
        """Namespace -> (mode, the actions a tool may name) of each REST and MCP adapter: the
        names of a REST adapter's operations, the names of an MCP adapter's tools."""
        # an operation or tool with `ref` and no `name` of its own is named by its function
        functions = {f"{_dict(a).get('namespace')}.{_dict(f).get('name')}": str(_dict(f).get("name"))
                     for a in _list(self.capability.get("aggregates")) for f in _list(_dict(a).get("functions"))
                     if _dict(f).get("name")}

        def named(items: list[Any]) -> list[str]:
            return [str(x["name"]) if "name" in x else functions[str(x.get("ref"))] for x in items
                    if isinstance(x, dict) and ("name" in x or str(x.get("ref")) in functions)]

        found: dict[str, tuple[str, list[str]]] = {}
        for adapter in _list(self.capability.get("exposes")):
            adapter = _dict(adapter)
            namespace = str(adapter.get("namespace", ""))
            if adapter.get("type") == "rest":
                found.setdefault(namespace, ("rest", named(
                    [op for r in _list(adapter.get("resources")) for op in _list(_dict(r).get("operations"))])))
            elif adapter.get("type") == "mcp":
                found.setdefault(namespace, ("mcp", named(_list(adapter.get("tools")))))
        return found

    def build(self) -> SkillAdapter | None:
        adapters = [(i, _dict(a)) for i, a in enumerate(_list(self.capability.get("exposes")))
                    if _dict(a).get("type") == "skill"]
        if not adapters:
            return None
        for i, _extra in adapters[1:]:
            self.unsupported(("capability", "exposes", i), "a second skill adapter in one capability")
        ai, spec = adapters[0]
        base: JsonPath = ("capability", "exposes", ai)
        if "authentication" in spec:
            self.unsupported(base + ("authentication",), "`authentication` on a skill adapter",
                             "the catalogue is read-only: serve it where its readers may reach it, "
                             "or behind a proxy that authenticates them")
        siblings = self.siblings()
        skills: list[Skill] = []
        seen: dict[str, JsonPath] = {}
        for si, written in enumerate(_list(spec.get("skills"))):
            sbase = base + ("skills", si)
            if not isinstance(written, dict):
                continue
            name = str(written.get("name", ""))
            if name in seen:
                self.error(sbase + ("name",), "E246", f"skill `{name}` is declared twice in the catalogue "
                           f"(first on line {self.doc.position(seen[name]).line})",
                           "`GET /skills/{name}` names one skill: rename or merge one of them")
                continue
            seen[name] = sbase + ("name",)
            skill = self.skill(written, sbase, siblings)
            if skill is not None:
                skills.append(skill)
        return SkillAdapter(
            namespace=str(spec.get("namespace", "")),
            port=int(spec.get("port", _DEFAULT_PORT)),
            address=str(spec.get("address", _DEFAULT_HOST)),
            description=str(spec.get("description", "") or ""),
            skills=tuple(skills),
        )

    def skill(self, spec: dict[str, Any], sbase: JsonPath,
              siblings: dict[str, tuple[str, list[str]]]) -> Skill | None:
        name = str(spec.get("name", ""))
        directory = ""
        failed = False
        if "location" in spec:
            directory = location_directory(str(spec["location"]))
            if not directory:
                self.error(sbase + ("location",), "E244",
                           f"`location: {spec['location']}` of skill `{name}` is not a directory of its own",
                           f"write `file:///srv/skills/{name}`, or `file:///./skills/{name}` "
                           "(relative to the working directory)")
                failed = True
        tools: list[dict[str, Any]] = []
        for ti, tool in enumerate(_list(spec.get("tools"))):
            tbase = sbase + ("tools", ti)
            if not isinstance(tool, dict):
                continue
            entry = self.tool(tool, tbase, name, "location" in spec, siblings)
            if entry is None:
                failed = True
            else:
                tools.append(entry)
        if failed:
            return None
        summary: dict[str, Any] = {"name": name, "description": str(spec.get("description", ""))}
        if "license" in spec:
            summary["license"] = str(spec["license"])
        summary["tools"] = [t["name"] for t in tools]
        detail: dict[str, Any] = {"name": name, "description": summary["description"]}
        for key in _DETAIL_FIELDS:
            if key in spec:
                value = spec[key]
                detail[key] = value if isinstance(value, bool) else str(value)
        metadata = _dict(spec.get("metadata"))
        if metadata:
            detail["metadata"] = {str(k): str(v) for k, v in metadata.items()}
        detail["tools"] = tools
        return Skill(
            name=name,
            summary=summary,
            detail=detail,
            directory=directory,
            directory_env=f"{env_prefix(self.package)}_{env_prefix(name)}_SKILL_DIR" if directory else "",
        )

    def tool(self, tool: dict[str, Any], tbase: JsonPath, skill: str, located: bool,
             siblings: dict[str, tuple[str, list[str]]]) -> dict[str, Any] | None:
        name = str(tool.get("name", ""))
        entry: dict[str, Any] = {"name": name, "description": str(tool.get("description", ""))}
        if ("from" in tool) == ("instruction" in tool):
            both = "from" in tool
            self.error(tbase + ("instruction",) if both else tbase, "E240",
                       f"tool `{name}` of skill `{skill}` gives "
                       + ("both `from` and `instruction`" if both else "neither `from` nor `instruction`"),
                       "a skill tool is either derived from an operation of another adapter "
                       "(`from: {sourceNamespace, action}`) or an instruction file (`instruction: guide.md`)")
            return None
        if "instruction" in tool:
            file = str(tool["instruction"])
            if not located:
                self.error(tbase + ("instruction",), "E243",
                           f"tool `{name}` of skill `{skill}` is the instruction file `{file}`, "
                           "but the skill has no `location` to find it in",
                           "add `location: file:///<directory>` to the skill")
                return None
            if not plain_file(file):
                self.error(tbase + ("instruction",), "E245",
                           f"instruction file `{file}` of tool `{name}` is not a plain path inside "
                           f"the skill's `location`",
                           "write a relative path of letters, digits, `.`, `_` and `-` "
                           "(`guide.md`, `examples/usage.md`): no `..`, no hidden or absolute path")
                return None
            return {**entry, "type": "instruction", "instruction": file}
        source = _dict(tool.get("from"))
        namespace, action = str(source.get("sourceNamespace", "")), str(source.get("action", ""))
        if namespace not in siblings:
            known = ", ".join(f"`{n}`" for n in sorted(siblings)) or "none"
            consumed = {str(_dict(c).get("namespace")) for c in _list(self.capability.get("consumes"))}
            hint = (f"`{namespace}` is a consumed API: name the REST or MCP adapter that exposes the "
                    f"operation instead (known adapters: {known})" if namespace in consumed else
                    f"a skill tool derives from a REST or MCP adapter of this capability (known: {known})")
            self.error(tbase + ("from", "sourceNamespace"), "E241",
                       f"`sourceNamespace: {namespace}` of tool `{name}` names no REST or MCP adapter",
                       hint)
            return None
        mode, actions = siblings[namespace]
        if action not in actions:
            what = "operation" if mode == "rest" else "tool"
            close = difflib.get_close_matches(action, actions, n=1)
            hint = (f"did you mean `{close[0]}`?" if close else
                    f"{what}s of `{namespace}`: " + (", ".join(f"`{a}`" for a in actions) or "none named"))
            self.error(tbase + ("from", "action"), "E242",
                       f"`action: {action}` of tool `{name}` names no {what} of the {mode.upper()} adapter "
                       f"`{namespace}`", hint)
            return None
        return {**entry, "type": "derived",
                "invocationRef": {"targetNamespace": namespace, "action": action, "mode": mode}}


def skill_adapter(doc: Document, package: str, out: list[Diagnostic]) -> SkillAdapter | None:
    """The capability's skill catalogue (None: it has none); problems are added to `out`."""
    return _Skills(doc, package, out).build()
