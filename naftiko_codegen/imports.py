"""Between loading and validation: replace each `consumes` import
(`{import: ns, location: ./file.yaml, as: alias}`) with the consumed API it names.

The imported file must lie in the spec's folder or below (a spec cannot make the generator read
arbitrary files), be a loadable YAML document with a root `consumes` list, and contain the
namespace. Positions inside the spliced entry point at the import, where the user can act.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .diagnostics import Diagnosed, Diagnostic, Severity
from .load import Document, JsonPath, load_file


def _relocate(doc: Document, base: JsonPath, value: Any, where: JsonPath) -> None:
    position = doc.position(where)
    doc.values[base] = position
    if isinstance(value, dict):
        for key, item in value.items():
            doc.keys[base + (key,)] = position
            _relocate(doc, base + (key,), item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _relocate(doc, base + (i,), item, where)


def _listed_imports(doc: Document, spec: Path) -> list[Diagnostic]:
    """`imports: [./shared/api.yaml]` at the top level or under `capability` (a placement
    some generated files use): every consumed API of each listed file becomes a `consumes`
    import entry, then the list is removed."""
    out: list[Diagnostic] = []
    if not isinstance(doc.data, dict):
        return out
    capability = doc.data.get("capability")
    for holder, base in ((doc.data, ()), (capability, ("capability",))):
        listed = holder.get("imports") if isinstance(holder, dict) else None
        if not isinstance(listed, list) or not isinstance(capability, dict):
            continue
        locations = [item.get("location") if isinstance(item, dict) and set(item) == {"location"} else item
                     for item in listed]
        if not all(isinstance(location, str) for location in locations):
            continue  # some other shape: the schema reports the key
        consumes = capability.setdefault("consumes", [])
        if not isinstance(consumes, list):
            continue
        where: JsonPath = base + ("imports",)
        for li, location in enumerate(locations):
            folder = spec.resolve().parent
            target = (folder / str(location).removeprefix("file://")).resolve()
            try:
                imported = load_file(target) if folder in target.parents else None
            except Diagnosed:
                imported = None
            data = imported.data if imported is not None and isinstance(imported.data, dict) else {}
            entries = data.get("consumes")
            if entries is None and isinstance(data.get("capability"), dict):
                entries = data["capability"].get("consumes")
            namespaces = [e["namespace"] for e in entries or [] if isinstance(e, dict) and isinstance(e.get("namespace"), str)]
            for namespace in namespaces or [None]:
                # no namespace known (unreadable file): an entry that makes the import report why
                entry = {"import": namespace or "", "location": location}
                path = ("capability", "consumes", len(consumes))
                consumes.append(entry)
                _relocate(doc, path, entry, where + (li,))
        del holder["imports"]  # type: ignore[union-attr]  # a dict: `listed` came from it
        out.append(doc.diagnostic(where, "W249",
                                  f"`{'.'.join(map(str, where))}` lists files to import; each of their consumed "
                                  "APIs is imported as a `consumes` entry",
                                  hint="write `consumes: [{import: <namespace>, location: <file>}]`",
                                  severity=Severity.WARNING, key=True))
    return out


def _named_imports(doc: Document) -> list[Diagnostic]:
    """`import: [{name: apinizer, location: shared/gateway.yaml}]` at the top level or under
    `capability` (alpha1 files): each item is the `consumes` import entry `{import: apinizer,
    location: shared/gateway.yaml}` (`namespace` for `name`, and `as`, are read too); then the
    list is removed (W351). Any other shape stays for the schema to report."""
    out: list[Diagnostic] = []
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("capability"), dict):
        return out
    capability = doc.data["capability"]
    for holder, base in ((doc.data, ()), (capability, ("capability",))):
        listed = holder.get("import")
        if not isinstance(listed, list) or not listed or not all(
                isinstance(item, dict) and isinstance(item.get("location"), str)
                and isinstance(item.get("name", item.get("namespace")), str)
                and set(item) <= {"name", "namespace", "location", "as"} and not {"name", "namespace"} <= set(item)
                for item in listed):
            continue
        consumes = capability.setdefault("consumes", [])
        if not isinstance(consumes, list):
            continue
        where: JsonPath = base + ("import",)
        for li, item in enumerate(listed):
            entry = {"import": item.get("name", item.get("namespace")), "location": item["location"]}
            if isinstance(item.get("as"), str):
                entry["as"] = item["as"]
            path = ("capability", "consumes", len(consumes))
            consumes.append(entry)
            _relocate(doc, path, entry, where + (li,))
        del holder["import"]
        out.append(doc.diagnostic(where, "W351",
                                  f"`{'.'.join(map(str, where))}` lists consumed APIs to import by `name` and "
                                  "`location`; each is imported as a `consumes` entry "
                                  "`{import: <name>, location: <file>}`",
                                  hint="write `consumes: [{import: <namespace>, location: <file>}]`",
                                  severity=Severity.WARNING, key=True))
    return out


def resolve_imports(doc: Document, spec: Path) -> list[Diagnostic]:
    """Splice imported consumes entries into `doc.data` in place; diagnostics for the rest."""
    out: list[Diagnostic] = _listed_imports(doc, spec) + _named_imports(doc)
    capability = doc.data.get("capability") if isinstance(doc.data, dict) else None
    consumes = capability.get("consumes") if isinstance(capability, dict) else None
    if not isinstance(consumes, list):
        return out
    folder = spec.resolve().parent
    for i, entry in enumerate(consumes):
        if not (isinstance(entry, dict) and "import" in entry and "location" in entry):
            continue
        where: JsonPath = ("capability", "consumes", i)
        location = str(entry["location"]).removeprefix("file://")
        target = (folder / location).resolve()
        if folder not in target.parents:
            out.append(doc.diagnostic(where + ("location",), "E130",
                                      f"import location `{entry['location']}` is outside the spec's folder",
                                      hint="keep imported files next to the spec, or in a folder below it"))
            continue
        try:
            imported = load_file(target)
        except Diagnosed as exc:
            first = exc.diagnostics[0]
            out.append(doc.diagnostic(where + ("location",), "E130",
                                      f"cannot import `{entry['location']}`: {first.path}:{first.line}: {first.message}",
                                      hint=first.hint or "check the path, relative to the spec's folder"))
            continue
        entries = imported.data.get("consumes") if isinstance(imported.data, dict) else None
        if entries is None and isinstance(imported.data, dict):
            # A whole capability (how alpha1 projects share consumed APIs): its own consumes
            # list holds the namespace, and nothing else of that file applies to this spec.
            inner = imported.data.get("capability")
            entries = inner.get("consumes") if isinstance(inner, dict) else None
            whole = isinstance(entries, list)
        else:
            whole = False
        found = [e for e in entries or [] if isinstance(e, dict) and e.get("namespace") == entry["import"]]
        if not found:
            names = sorted(str(e.get("namespace")) for e in entries or [] if isinstance(e, dict))
            out.append(doc.diagnostic(where + ("import",), "E131",
                                      f"`{entry['location']}` has no consumed API `{entry['import']}`",
                                      hint="it has: " + ", ".join(names) if names else "it has no root `consumes` list"))
            continue
        doc.imported.append(target)  # the output depends on it: see reuse.py
        if whole:
            out.append(doc.diagnostic(where + ("location",), "W240",
                                      f"`{entry['location']}` is a whole capability; its `capability.consumes` "
                                      f"entry `{entry['import']}` is imported",
                                      hint="shared files usually hold only a root `consumes` list",
                                      severity=Severity.WARNING))
        spliced = copy.deepcopy(found[0])
        if entry.get("as"):
            spliced["namespace"] = entry["as"]
        consumes[i] = spliced
        _relocate(doc, where, spliced, where)
    return out
