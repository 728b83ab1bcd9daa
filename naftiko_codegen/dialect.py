"""Between imports and validation: the dialect as people actually write it.

Real capabilities repeat things (a consumed API listed twice, every operation of a namespace
named `post`), lose a path placeholder when a path parameter is declared, or leak YAML into a
name. Where the intent is unambiguous, this step rewrites the document in place into the form
the rest of the pipeline knows, and says so with a warning (W240-W259, W310-W315). Where it is
not, it leaves the document alone and the validator refuses it. Collisions the engine resolves
by declaration order (a route or an operation name declared twice) resolve here the same way.

Every rewrite keeps diagnostics pointing at the user's lines: renamed values keep their path,
removed list items shift the positions of the items after them, and new nodes take the position
of the node they were made from. docs/semantics.md ("The dialect as written") lists the rules.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from .diagnostics import Diagnostic, Severity
from .load import Document, JsonPath
from .names import words
from .templating import PATH_PLACEHOLDER

WARN = Severity.WARNING


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _delete(doc: Document, list_path: JsonPath, index: int) -> None:
    """Remove item `index` of the list at `list_path`, and move the positions of later items."""
    container: Any = doc.data
    for part in list_path:
        container = container[part]
    del container[index]
    depth = len(list_path)
    for table in (doc.values, doc.keys):
        moved: dict[JsonPath, Any] = {}
        for path, pos in table.items():
            if len(path) > depth and path[:depth] == list_path and isinstance(path[depth], int):
                item = path[depth]
                if item == index:
                    continue
                if isinstance(item, int) and item > index:
                    path = path[:depth] + (item - 1,) + path[depth + 1:]
            moved[path] = pos
        table.clear()
        table.update(moved)


def _insert(doc: Document, list_path: JsonPath, index: int, value: Any) -> None:
    """Insert `value` at `index` of the list at `list_path`, and move the positions of the items
    from there on (the new item's own positions are for the caller to place)."""
    container: Any = doc.data
    for part in list_path:
        container = container[part]
    container.insert(index, value)
    depth = len(list_path)
    for table in (doc.values, doc.keys):
        moved: dict[JsonPath, Any] = {}
        for path, pos in table.items():
            item = path[depth] if len(path) > depth and path[:depth] == list_path else None
            if isinstance(item, int) and item >= index:
                path = path[:depth] + (item + 1,) + path[depth + 1:]
            moved[path] = pos
        table.clear()
        table.update(moved)


def _place(doc: Document, path: JsonPath, value: Any, source: JsonPath) -> None:
    """Give a new node (and everything in it) the position of the node it was made from."""
    position = doc.position(source)
    doc.values[path] = position
    if isinstance(value, dict):
        for key, item in value.items():
            doc.keys[path + (key,)] = position
            _place(doc, path + (key,), item, source)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _place(doc, path + (i,), item, source)


def _comparable(value: Any) -> Any:
    return repr(value)


class _Dialect:
    def __init__(self, doc: Document):
        self.doc = doc
        self.out: list[Diagnostic] = []
        capability = _dict(_dict(doc.data).get("capability"))
        self.capability = capability

    def warn(self, path: JsonPath, code: str, message: str, hint: str = "", key: bool = False) -> None:
        self.out.append(self.doc.diagnostic(path, code, message, hint=hint, severity=WARN, key=key))

    def run(self) -> list[Diagnostic]:
        if not isinstance(self.doc.data, dict):
            return self.out
        self.bind_shapes()
        self.this_references()
        self.query_in_paths()
        self.older_spellings()
        self.info_texts()
        self.names_with_whitespace()
        self.keys_with_whitespace()
        self.repeated_consumers()
        self.repeated_parameters()
        self.repeated_operations()
        self.lost_placeholders()
        self.misaddressed_calls()
        self.self_addressed_calls()
        self.operation_paths()
        self.repeated_routes()
        self.skill_groups()
        return self.out

    # --- more variations as written (W350-W359) -------------------------------------------

    def bind_shapes(self) -> None:
        """`binds: [GOOGLE_ANALYTICS_ACCESS_TOKEN]` and `binds: [{name: X, env: Y}]`: a variable
        named without `namespace`/`keys`. One reading: the key X, read from the environment
        variable Y (X itself for a bare name), as `{namespace: env, keys: {X: Y}}` says."""
        binds = _dict(self.doc.data).get("binds")
        if not isinstance(binds, list):
            return
        located = {str(_dict(b).get("namespace")) for b in binds if _dict(b).get("location")}
        namespace = "env" if "env" not in located else "environment"
        for i, bind in enumerate(binds):
            if isinstance(bind, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", bind):
                key, variable = bind, bind
            elif (isinstance(bind, dict) and {"name", "env"} <= set(bind) <= {"name", "env", "description"}
                  and all(isinstance(bind[k], str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", bind[k])
                          for k in ("name", "env"))):
                key, variable = bind["name"], bind["env"]
            else:
                continue
            new = {"namespace": namespace, "keys": {key: variable}}
            binds[i] = new
            _place(self.doc, ("binds", i), new, ("binds", i))
            self.warn(("binds", i), "W350",
                      f"bind {json.dumps(bind)} names a variable without `namespace` and `keys`; it is read as "
                      f"`{{namespace: {namespace}, keys: {{{key}: {variable}}}}}`: `{{{{{key}}}}}` is the "
                      f"environment variable {variable}",
                      f"write `- namespace: {namespace}` with `keys: {{{key}: {variable}}}`")

    def this_references(self) -> None:
        """`with: {id: $this.hints-mcp.record-id}`: the official schema's spelling of an input
        of the exposed namespace (`$this.<namespace>.<input>`), also seen with the input in
        braces (`$this.sample.{{user_name}}`). It is the `<namespace>.<input>` reference."""
        exposed = {str(_dict(a).get("namespace")) for a in _list(self.capability.get("exposes"))}
        for path, caller, _resource in _callers(self.capability):
            places = [(path, caller)] + [(path + ("steps", si), s) for si, s in enumerate(_list(caller.get("steps")))
                                         if isinstance(s, dict)]
            for where, holder in places:
                mapping = _dict(holder.get("with"))
                for key, value in list(mapping.items()):
                    match = re.fullmatch(r"\s*\$this\.([A-Za-z0-9_-]+)\.(?:\{\{\s*([A-Za-z0-9_-]+)\s*\}\}|([A-Za-z0-9_-]+))\s*",
                                         value) if isinstance(value, str) else None
                    if match is None or match.group(1) not in exposed:
                        continue
                    written = f"{match.group(1)}.{match.group(2) or match.group(3)}"
                    mapping[key] = written
                    self.warn(where + ("with", key), "W353",
                              f"`{value.strip()}` is the input `{match.group(2) or match.group(3)}` of the exposed "
                              f"namespace `{match.group(1)}`; it is read as `{written}`",
                              f"write `{written}`")

    def query_in_paths(self) -> None:
        """`path: /users/{userId}/lifecycle/expire_password?tempPassword=false`: a fixed query
        string in a consumed resource path. Each `name=value` pair becomes a fixed query
        parameter of every operation of the resource (sent on every call), and the path loses
        its query. A pair with a placeholder, a name declared otherwise, or a fragment stays an
        error (E104)."""
        for ci, consumer in enumerate(_list(self.capability.get("consumes"))):
            for ri, resource in enumerate(_list(_dict(consumer).get("resources"))):
                raw = _dict(resource).get("path")
                if not isinstance(raw, str) or "?" not in raw:
                    continue
                route, _, query = raw.partition("?")
                if "#" in query or "{" in query or "}" in query or not query:
                    continue
                pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
                if not pairs or "&".join(f"{k}={v}" for k, v in pairs) != unquote_plus(query) or any(not k for k, _ in pairs):
                    continue
                ops = [op for op in _list(resource.get("operations")) if isinstance(op, dict)]
                taken = {str(_dict(p).get("name")) for op in ops for p in _list(op.get("inputParameters"))}
                if not ops or any(k in taken for k, _ in pairs):
                    continue
                base: JsonPath = ("capability", "consumes", ci, "resources", ri)
                resource["path"] = route
                for oi, op in enumerate(_list(resource.get("operations"))):
                    if not isinstance(op, dict):
                        continue
                    params = op.setdefault("inputParameters", [])
                    if not isinstance(params, list):
                        continue
                    for name, value in pairs:
                        new = {"name": name, "in": "query", "value": value}
                        _place(self.doc, base + ("operations", oi, "inputParameters", len(params)), new, base + ("path",))
                        params.append(new)
                listed = ", ".join(f"`{k}={v}`" for k, v in pairs)
                self.warn(base + ("path",), "W352",
                          f"the resource path `{raw}` carries a fixed query string; {listed} "
                          f"{'is sent as a fixed query parameter' if len(pairs) == 1 else 'are sent as fixed query parameters'} of its "
                          f"operations, and the path is `{route}`",
                          "declare them: inputParameters: ["
                          + ", ".join(f"{{name: {k}, in: query, value: {json.dumps(v)}}}" for k, v in pairs) + "]")

    def info_texts(self) -> None:
        """`info` without `label` or without `description`: both only title and describe the
        generated package, so either one stands in for the other."""
        info = _dict(self.doc.data).get("info")
        if not isinstance(info, dict):
            return
        label, description = info.get("label"), info.get("description")
        if isinstance(description, str) and description.strip() and "label" not in info:
            info["label"] = " ".join(description.split())[:80].rstrip()
            self.warn(("info",), "W248", "`info` has no `label`; its `description` titles the package",
                      "add `label:`", key=True)
        elif isinstance(label, str) and label.strip() and "description" not in info:
            info["description"] = label
            self.warn(("info",), "W248", "`info` has no `description`; its `label` describes the package",
                      "add `description:`", key=True)

    def older_spellings(self) -> None:
        """`id:` for a consumed operation's `name:` (alpha1 and generated files): the schema
        accepts it (never both); calls address the operation by it, so it becomes the name."""
        for ci, consumer in enumerate(_list(self.capability.get("consumes"))):
            for ri, resource in enumerate(_list(_dict(consumer).get("resources"))):
                for oi, op in enumerate(_list(_dict(resource).get("operations"))):
                    if isinstance(op, dict) and "name" not in op and isinstance(op.get("id"), str):
                        base: JsonPath = ("capability", "consumes", ci, "resources", ri, "operations", oi)
                        op["name"] = op.pop("id")
                        for table in (self.doc.values, self.doc.keys):
                            if base + ("id",) in table:
                                table[base + ("name",)] = table.pop(base + ("id",))

    # --- names --------------------------------------------------------------------------

    def names_with_whitespace(self) -> None:
        """`name: "inventory_item_id\\n    required"`: a flow scalar that swallowed the next
        line. The first word is the name; the rest never was part of it."""
        for ci, consumer in enumerate(_list(self.capability.get("consumes"))):
            for ri, resource in enumerate(_list(_dict(consumer).get("resources"))):
                for oi, op in enumerate(_list(_dict(resource).get("operations"))):
                    for pi, param in enumerate(_list(_dict(op).get("inputParameters"))):
                        name = _dict(param).get("name")
                        if isinstance(name, str) and name.strip() and re.search(r"\s", name.strip()):
                            first = name.split()[0]
                            if "\n" not in name:
                                continue  # `first name`: a real name with a space, kept (the schema decides)
                            param["name"] = first
                            self.warn(("capability", "consumes", ci, "resources", ri, "operations", oi,
                                       "inputParameters", pi, "name"), "W245",
                                      f"parameter name {name!r} runs over a line break; its first word "
                                      f"`{first}` is the name", "put the name on one line")

    def keys_with_whitespace(self) -> None:
        """The same swallowed line break in the keys of a `with` mapping."""
        for path, caller, _resource in _callers(self.capability):
            mapping = caller.get("with")
            if not isinstance(mapping, dict):
                continue
            for key in [k for k in mapping if isinstance(k, str) and "\n" in k.strip() and k.split()]:
                first = key.split()[0]
                if first in mapping:
                    continue
                value = mapping.pop(key)
                if isinstance(value, str) and "\n" in value.strip() and value.split():
                    value = value.split()[0]  # the value swallowed the same line
                mapping[first] = value
                for table in (self.doc.values, self.doc.keys):
                    if path + ("with", key) in table:
                        table[path + ("with", first)] = table.pop(path + ("with", key))
                self.warn(path + ("with", first), "W245",
                          f"`with` key {key!r} runs over a line break; its first word `{first}` is the key",
                          "put the key on one line", key=True)

    # --- consumes entries listed more than once ------------------------------------------

    def repeated_consumers(self) -> None:
        """The same namespace twice under `consumes`. An identical repeat is dropped; entries
        that differ only in their resources (same type, baseUri, authentication and shared
        parameters) are merged. Anything else stays for the validator to refuse (E120)."""
        consumes = self.capability.get("consumes")
        if not isinstance(consumes, list):
            return
        i = 0
        first_of: dict[str, int] = {}
        while i < len(consumes):
            entry = consumes[i]
            namespace = _dict(entry).get("namespace")
            if not isinstance(namespace, str) or "import" in _dict(entry):
                i += 1
                continue
            if namespace not in first_of:
                first_of[namespace] = i
                i += 1
                continue
            fi = first_of[namespace]
            first = consumes[fi]
            line = self.doc.position(("capability", "consumes", fi)).line
            here: JsonPath = ("capability", "consumes", i)
            if _comparable(entry) == _comparable(first):
                self.warn(here + ("namespace",), "W243",
                          f"consumed API `{namespace}` repeats the one on line {line} exactly; the repeat is ignored",
                          "remove the repeated entry")
                _delete(self.doc, ("capability", "consumes"), i)
                continue
            same = all(_comparable(_dict(entry).get(k)) == _comparable(_dict(first).get(k))
                       for k in set(_dict(entry)) | set(_dict(first)) if k not in ("resources", "description"))
            if same and isinstance(first.get("resources"), list) and isinstance(entry.get("resources"), list):
                self.warn(here + ("namespace",), "W243",
                          f"consumed API `{namespace}` is declared again (first on line {line}) with the same "
                          "base URI and authentication; its resources are merged into the first",
                          "list all resources of the API under one entry")
                resources = first["resources"]
                for ri, resource in enumerate(entry["resources"]):
                    target = ("capability", "consumes", fi, "resources", len(resources))
                    resources.append(resource)
                    _place_from(self.doc, target, here + ("resources", ri))
                _delete(self.doc, ("capability", "consumes"), i)
                continue
            i += 1

    # --- a consumed parameter declared twice ----------------------------------------------

    def repeated_parameters(self) -> None:
        """An input parameter of a consumed API or operation repeating an earlier one exactly
        (amplitude's `param` three times in the query): one parameter, declared again. The
        repeat is dropped (W314), rather than sending the same value once per declaration."""
        for ci, consumer in enumerate(_list(self.capability.get("consumes"))):
            lists: list[JsonPath] = [("capability", "consumes", ci, "inputParameters")]
            for ri, resource in enumerate(_list(_dict(consumer).get("resources"))):
                for oi, _op in enumerate(_list(_dict(resource).get("operations"))):
                    lists.append(("capability", "consumes", ci, "resources", ri, "operations", oi, "inputParameters"))
            for where in lists:
                owner: Any = self.doc.data
                for part in where[:-1]:
                    owner = owner[part]
                params = _list(_dict(owner).get("inputParameters"))
                pi = 0
                while pi < len(params):
                    earlier = next((i for i in range(pi) if _comparable(params[i]) == _comparable(params[pi])), None)
                    if earlier is None or not isinstance(params[pi], dict):
                        pi += 1
                        continue
                    line = self.doc.position(where + (earlier,)).line
                    name, location = params[pi].get("name"), params[pi].get("in")
                    self.warn(where + (pi, "name"), "W314",
                              f"parameter `{name}` (`in: {location}`) repeats the one on line {line} exactly; "
                              "the repeat is ignored", "remove the repeated parameter")
                    _delete(self.doc, where, pi)

    # --- operations named alike in one namespace -----------------------------------------

    def repeated_operations(self) -> None:
        """Operation names repeated within one consumed namespace (`post` for every endpoint of
        a generated file). Identical repeats are dropped. Distinct ones keep the first name and
        the others get `-2`, `-3`… in order; then each `call` of the shared name is pointed at
        the one operation that matches its caller (see _pick), or, when several match, at the
        first of them (W312)."""
        renamed: dict[str, list[tuple[str, dict[str, Any], dict[str, Any], int]]] = {}
        for ci, consumer in enumerate(_list(self.capability.get("consumes"))):
            namespace = _dict(consumer).get("namespace")
            if not isinstance(namespace, str):
                continue
            seen: dict[str, list[tuple[int, int]]] = {}
            for ri, resource in enumerate(_list(_dict(consumer).get("resources"))):
                for oi, op in enumerate(_list(_dict(resource).get("operations"))):
                    name = _dict(op).get("name")
                    if isinstance(name, str):
                        seen.setdefault(name, []).append((ri, oi))
            taken = set(seen)
            removals: list[tuple[int, int]] = []
            for name, places in seen.items():
                if len(places) < 2:
                    continue
                resources = consumer["resources"]

                def op_at(place: tuple[int, int], resources: list[Any] = resources) -> dict[str, Any]:
                    return resources[place[0]]["operations"][place[1]]  # type: ignore[no-any-return]

                def address(place: tuple[int, int], ci: int = ci) -> JsonPath:
                    return ("capability", "consumes", ci, "resources", place[0], "operations", place[1])

                first_line = self.doc.position(address(places[0])).line
                kept: list[tuple[int, int]] = [places[0]]
                for place in places[1:]:
                    twin = next((k for k in kept if _comparable(op_at(k)) == _comparable(op_at(place))
                                 and _comparable(_strip_ops(resources[k[0]])) == _comparable(_strip_ops(resources[place[0]]))), None)
                    if twin is not None:
                        self.warn(address(place) + ("name",), "W242",
                                  f"operation `{namespace}.{name}` repeats the one on line {first_line} exactly; "
                                  "the repeat is ignored", "remove the repeated operation")
                        removals.append(place)
                    else:
                        kept.append(place)
                if len(kept) < 2:
                    continue
                candidates = [(name, resources[kept[0][0]], op_at(kept[0]), first_line)]
                n = 2
                for place in kept[1:]:
                    while f"{name}-{n}" in taken:
                        n += 1
                    new = f"{name}-{n}"
                    taken.add(new)
                    op_at(place)["name"] = new
                    self.warn(address(place) + ("name",), "W242",
                              f"operation name `{namespace}.{name}` is used again (first on line {first_line}); "
                              f"this one is renamed `{new}`",
                              "give each consumed operation of a namespace its own name")
                    candidates.append((new, resources[place[0]], op_at(place), self.doc.position(address(place)).line))
                renamed[f"{namespace}.{name}"] = candidates
            for ri, oi in sorted(removals, reverse=True):
                _delete(self.doc, ("capability", "consumes", ci, "resources", ri, "operations"), oi)
        if renamed:
            self.point_calls(renamed)

    def point_calls(self, renamed: dict[str, list[tuple[str, dict[str, Any], dict[str, Any], int]]]) -> None:
        for path, caller, resource in _callers(self.capability):
            call = caller.get("call")
            if not isinstance(call, str) or call not in renamed:
                continue
            namespace = call.partition(".")[0]
            candidates = renamed[call]
            left = _pick(caller, resource, [c[:3] for c in candidates])
            chosen = left[0][0]
            if len(left) > 1:
                # the engine finds an operation by name, first match wins (naftiko-spec.md 4.1):
                # of the operations that match the caller alike, the first declared is called
                lines = {c[0]: c[3] for c in candidates}
                listed = ", ".join(f"`{namespace}.{c[0]}` (line {lines[c[0]]})" for c in left)
                self.warn(path + ("call",), "W312",
                          f"`call: {call}` matches {len(left)} operations of `{namespace}` named "
                          f"`{call.partition('.')[2]}`: {listed}; it calls the first, `{namespace}.{chosen}` "
                          f"(line {lines[chosen]})",
                          f"to call another, write its new name (`call: {namespace}.{left[1][0]}`), "
                          "or rename the consumed operations")
            if chosen != call.partition(".")[2]:
                caller["call"] = f"{namespace}.{chosen}"
                self.warn(path + ("call",), "W244",
                          f"`call: {call}` is taken to mean `{namespace}.{chosen}`, the operation it matches "
                          "by resource, description and parameters", f"write `call: {namespace}.{chosen}`")

    # --- path parameters without a placeholder -------------------------------------------

    def lost_placeholders(self) -> None:
        """`in: path` parameters whose `{name}` is in neither the resource nor the operation
        path. Generated specs do this when several operations share a collection's resource
        (`/gems` for `get-gem-info` with `gemName`): the parameter names the item, so the
        operation's path gets `/{name}` appended, in declaration order."""
        for ci, consumer in enumerate(_list(self.capability.get("consumes"))):
            shared = [p for p in _list(_dict(consumer).get("inputParameters")) if isinstance(p, dict)]
            for ri, resource in enumerate(_list(_dict(consumer).get("resources"))):
                raw = _dict(resource).get("path")
                if not isinstance(raw, str):
                    continue
                for oi, op in enumerate(_list(_dict(resource).get("operations"))):
                    if not isinstance(op, dict):
                        continue
                    own_path = op.get("path")
                    own = own_path if isinstance(own_path, str) else ""
                    present = set(PATH_PLACEHOLDER.findall(raw + "/" + own))
                    missing: list[tuple[int, str]] = []
                    for pi, p in enumerate(shared + _list(op.get("inputParameters"))):
                        name = _dict(p).get("name")
                        if (_dict(p).get("in") == "path" and isinstance(name, str) and name not in present
                                and re.fullmatch(r"[A-Za-z0-9_.~-]+", name) and name not in [m[1] for m in missing]):
                            missing.append((pi - len(shared), name))
                    if not missing:
                        continue
                    added = "".join("/{" + name + "}" for _, name in missing)
                    obase: JsonPath = ("capability", "consumes", ci, "resources", ri, "operations", oi)
                    new_path = (own.rstrip("/") + added) if own else added
                    op["path"] = new_path
                    _place(self.doc, obase + ("path",), new_path, obase)
                    joined = raw.rstrip("/") + "/" + new_path.lstrip("/")
                    for pi, name in missing:
                        where = obase + (("inputParameters", pi, "name") if pi >= 0 else ())
                        self.warn(where, "W241",
                                  f"path parameter `{name}` has no `{{{name}}}` placeholder in `{raw}`; "
                                  f"`{op.get('name')}` calls `{joined}`",
                                  f"write the placeholder in the path, e.g. `path: {raw.rstrip('/')}/{{{name}}}`, "
                                  "or declare the parameter `in: query`")

    # --- calls whose namespace is misspelt -----------------------------------------------

    def misaddressed_calls(self) -> None:
        """`call: youtube-data.list-comments` when the consumed namespace is `youtube-data-api`:
        the operation name exists in exactly one namespace, and one namespace name begins with
        the other. Any other unknown call stays for the validator (E101)."""
        names = _consumed_names(self.capability)
        namespaces = {ns for found in names.values() for ns in found}
        for path, caller, _resource in _callers(self.capability):
            call = caller.get("call")
            if not isinstance(call, str) or "." not in call:
                continue
            namespace, _, name = call.partition(".")
            if namespace in names.get(name, []) or namespace in namespaces:
                continue
            owners = names.get(name, [])
            if len(owners) != 1:
                continue
            owner = owners[0]
            if not (owner.startswith(namespace) or namespace.startswith(owner)):
                continue
            caller["call"] = f"{owner}.{name}"
            self.warn(path + ("call",), "W247",
                      f"`call: {call}` names no consumed namespace `{namespace}`; `{owner}` is the only one "
                      f"with an operation `{name}`, so the call goes to `{owner}.{name}`",
                      f"write `call: {owner}.{name}`")

    def self_addressed_calls(self) -> None:
        """`call: x-content-api.createPosts` inside the adapter whose namespace is
        `x-content-api`: an exposed namespace names no consumed API, and the operation name
        names exactly one consumed operation (as written, else once its case and separators are
        ignored), so the call goes there (W310). Anything else stays for the validator (E101)."""
        names = _consumed_names(self.capability)
        namespaces = {ns for found in names.values() for ns in found}
        exposed = {str(_dict(a).get("namespace")) for a in _list(self.capability.get("exposes"))}
        for path, caller, _resource in _callers(self.capability):
            call = caller.get("call")
            if not isinstance(call, str) or "." not in call:
                continue
            namespace, _, name = call.partition(".")
            if namespace in namespaces or namespace not in exposed:
                continue
            owners = [(ns, name) for ns in names.get(name, [])]
            if not owners:
                owners = [(ns, other) for other, found in names.items() if _loose(other) == _loose(name) for ns in found]
            if len(owners) != 1:
                continue
            owner, target = owners[0]
            caller["call"] = f"{owner}.{target}"
            self.warn(path + ("call",), "W310",
                      f"`call: {call}` names the exposed adapter `{namespace}`, not a consumed API; "
                      f"`{owner}.{target}` is the only consumed operation named so, and the call goes there",
                      f"write `call: {owner}.{target}`")

    # --- skill catalogues written as groups ---------------------------------------------

    def skill_groups(self) -> None:
        """`groups: [{name, description, skills: [{name, call}]}]` on a skill adapter, instead
        of `skills: [{name, description, tools: [{name, description, from}]}]`: a group is a
        skill, and each entry of it a tool derived from the one MCP tool (else the one named
        REST operation) of this capability that makes the same `call`. Rewritten so (W330) when
        every entry finds exactly one; left alone otherwise (the validator then asks for
        `skills`)."""
        for ei, adapter in enumerate(_list(self.capability.get("exposes"))):
            if (not isinstance(adapter, dict) or adapter.get("type") != "skill" or "skills" in adapter
                    or not _list(adapter.get("groups"))):
                continue
            base: JsonPath = ("capability", "exposes", ei)
            skills: list[dict[str, Any]] = []
            sources: list[tuple[JsonPath, list[JsonPath]]] = []
            for gi, group in enumerate(adapter["groups"]):
                items = _list(_dict(group).get("skills"))
                if not isinstance(group, dict) or set(group) - {"name", "description", "skills"}:
                    return
                tools = []
                for item in items:
                    found = self._derived_from(_dict(item).get("call"))
                    if found is None or set(_dict(item)) - {"name", "description", "call"}:
                        return
                    namespace, action, description = found
                    tools.append({"name": str(item.get("name", action)),
                                  "description": str(item.get("description") or description),
                                  "from": {"sourceNamespace": namespace, "action": action}})
                skill: dict[str, Any] = {"name": group.get("name"), "description": str(group.get("description", ""))}
                if tools:
                    skill["tools"] = tools
                skills.append(skill)
                sources.append((base + ("groups", gi), [base + ("groups", gi, "skills", i) for i in range(len(tools))]))
            adapter["skills"] = skills
            del adapter["groups"]
            for si, (group_path, item_paths) in enumerate(sources):
                _place(self.doc, base + ("skills", si), skills[si], group_path)
                for ti, item_path in enumerate(item_paths):
                    _place(self.doc, base + ("skills", si, "tools", ti), skills[si]["tools"][ti], item_path)
            self.doc.keys[base + ("skills",)] = self.doc.position(base + ("groups",))
            self.warn(base + ("groups",), "W330",
                      "`groups` of skills that `call` consumed operations is read as `skills` whose tools "
                      "are derived (`from`) from the MCP tools or REST operations making those calls",
                      "write `skills: [{name, description, tools: [{name, description, from: "
                      "{sourceNamespace, action}}]}]`", key=True)

    def _derived_from(self, call: Any) -> tuple[str, str, str] | None:
        """(adapter namespace, tool or operation name, its description) of the one MCP tool,
        else the one named REST operation, of this capability whose `call` is `call`."""
        if not isinstance(call, str):
            return None
        tools, operations = [], []
        for adapter in _list(self.capability.get("exposes")):
            adapter = _dict(adapter)
            namespace = str(adapter.get("namespace", ""))
            if adapter.get("type") == "mcp":
                tools += [(namespace, str(t["name"]), str(t.get("description", "")))
                          for t in _list(adapter.get("tools")) if _dict(t).get("call") == call and "name" in t]
            elif adapter.get("type") == "rest":
                operations += [(namespace, str(op["name"]), str(op.get("description", "")))
                               for r in _list(adapter.get("resources")) for op in _list(_dict(r).get("operations"))
                               if _dict(op).get("call") == call and "name" in op]
        for found in (tools, operations):
            if len(found) == 1:
                return found[0]
            if found:
                return None
        return None

    # --- exposed operations with a path of their own ---------------------------------------

    def operation_paths(self) -> None:
        """`path: /enrich` on an exposed REST operation of `/v1/contacts` (zoominfo's search and
        enrich): the operation is served at `/v1/contacts/enrich` (W315), in a resource of its
        own placed right after its resource, so declaration order (which decides between routes
        declared twice, W311) is kept."""
        for ei, adapter in enumerate(_list(self.capability.get("exposes"))):
            if _dict(adapter).get("type") != "rest":
                continue
            base: JsonPath = ("capability", "exposes", ei, "resources")
            resources = _list(adapter.get("resources"))
            for ri in reversed(range(len(resources))):  # later indices first: earlier ones stay put
                resource = _dict(resources[ri])
                raw = resource.get("path")
                ops = _list(resource.get("operations"))
                moving = [oi for oi, op in enumerate(ops)
                          if isinstance(op, dict) and isinstance(op.get("path"), str) and op["path"].strip("/")]
                if not isinstance(raw, str) or not moving:
                    continue
                for oi in moving:
                    op = ops[oi]
                    joined = raw.rstrip("/") + "/" + op["path"].strip().lstrip("/")
                    self.warn(base + (ri, "operations", oi, "path"), "W315",
                              f"exposed operation `{op.get('name')}` has `path: {op['path']}`; it is served at "
                              f"{str(op.get('method', '')).upper()} {joined}",
                              f"declare it in a resource with `path: {joined}` (the official schema has no "
                              "`path` on an exposed operation)")
                if len(moving) == len(ops) == 1 and "forward" not in resource:
                    resource["path"] = raw.rstrip("/") + "/" + ops[0].pop("path").strip().lstrip("/")
                    continue
                for k, oi in enumerate(moving):
                    op = ops[oi]
                    clone = {key: v for key, v in resource.items() if key not in ("operations", "forward")}
                    clone["path"] = raw.rstrip("/") + "/" + str(op.pop("path")).strip().lstrip("/")
                    if isinstance(clone.get("name"), str) and words(clone["path"][len(raw):]):
                        clone["name"] = clone["name"] + "-" + "-".join(words(clone["path"][len(raw):]))
                    clone["operations"] = [op]
                    _insert(self.doc, base, ri + 1 + k, clone)
                    _place(self.doc, base + (ri + 1 + k,), {key: v for key, v in clone.items() if key != "operations"},
                           base + (ri, "path"))
                    _place_from(self.doc, base + (ri + 1 + k, "operations", 0), base + (ri, "operations", oi))
                for oi in reversed(moving):
                    _delete(self.doc, base + (ri, "operations"), oi)
                if not ops and "forward" not in resource:
                    _delete(self.doc, base, ri)

    # --- REST routes declared twice --------------------------------------------------------

    def repeated_routes(self) -> None:
        """The same method and path twice in one REST adapter. A repeat identical to the first
        is dropped. A distinct one whose called operation takes path parameters the route lacks
        (`GET /v1/cohorts` calling `getCohort(cohort_id)`) gets `/{cohort_id}` appended, as the
        operation's item route, unless the adapter declares that route too. Any other repeat is
        shadowed: the first declaration answers the route (naftiko-spec.md 6.1: routes are
        attached in order and the first operation of the method handles the request), and the
        repeat is removed from the REST adapter (W311)."""
        consumed = _consumed_ops(self.capability)
        for ei, adapter in enumerate(_list(self.capability.get("exposes"))):
            if _dict(adapter).get("type") != "rest":
                continue
            base: JsonPath = ("capability", "exposes", ei)
            resources = _list(adapter.get("resources"))
            seen: dict[tuple[str, str], tuple[int, int]] = {}
            ri = 0
            while ri < len(resources):
                resource = _dict(resources[ri])
                raw = resource.get("path")
                ops = _list(resource.get("operations"))
                if not isinstance(raw, str) or not ops:
                    ri += 1
                    continue
                oi = 0
                while oi < len(ops):
                    op = _dict(ops[oi])
                    route = (str(op.get("method", "")).upper(), _route_key(raw))
                    if route not in seen:
                        seen[route] = (ri, oi)
                        oi += 1
                        continue
                    fr, fo = seen[route]
                    first = _dict(_dict(resources[fr]).get("operations", [])[fo])
                    opath = base + ("resources", ri, "operations", oi)
                    line = self.doc.position(base + ("resources", fr, "operations", fo)).line
                    if _comparable(first) == _comparable(op):
                        self.warn(opath + ("method",), "W246",
                                  f"route {route[0]} {raw} repeats the one on line {line} exactly; the repeat is ignored",
                                  "remove the repeated operation")
                        _delete(self.doc, base + ("resources", ri, "operations"), oi)
                        continue
                    target = consumed.get(str(op.get("call")))
                    present = set(PATH_PLACEHOLDER.findall(raw))
                    # a path parameter the call fills with a literal stays so; one `with` fills from a
                    # caller input the route lacks (`rcn: rest.rcn`) gets that input's placeholder
                    callers = {"rest", str(_dict(adapter).get("namespace"))}
                    extra: list[str] = []
                    for n in _path_params(target) if target else []:
                        if n not in _dict(op.get("with")):
                            extra.append(n)
                            continue
                        ref = _caller_ref(_dict(op.get("with"))[n], callers)
                        declared = {str(_dict(p).get("name")) for p in _list(op.get("inputParameters"))}
                        if ref is not None and ref not in present and ref not in declared:
                            extra.append(ref)
                    extra = [n for n in dict.fromkeys(extra) if n not in present]
                    new_path = raw.rstrip("/") + "".join("/{" + n + "}" for n in extra)
                    new_route = (route[0], _route_key(new_path))
                    if not extra or new_route in _declared_routes(resources):
                        self.shadowed_route(base, resources, (fr, fo), (ri, oi), route[0], raw,
                                            new_path if extra else None)
                        _delete(self.doc, base + ("resources", ri, "operations"), oi)
                        if not ops and "forward" not in resource:
                            # nothing left to serve here (no `seen` entry points into it)
                            _delete(self.doc, base + ("resources",), ri)
                            break
                        continue
                    self.warn(opath + ("method",), "W246",
                              f"route {route[0]} {raw} is declared twice (first on line {line}); this one calls "
                              f"`{op.get('call')}`, which takes {', '.join(f'`{n}`' for n in extra)} in its path, "
                              f"so it is served at {new_path}", f"declare it at `path: {new_path}`")
                    if len(ops) == 1:
                        resource["path"] = new_path
                        seen[new_route] = (ri, oi)
                        oi += 1
                        continue
                    # the item route gets a resource of its own, after the others
                    clone = {k: v for k, v in resource.items() if k != "operations"}
                    clone["path"] = new_path
                    if isinstance(clone.get("name"), str) and words("-".join(extra)):
                        clone["name"] = clone["name"] + "-" + "-".join(words("-".join(extra)))
                    clone["operations"] = [op]
                    new_ri = len(resources)
                    resources.append(clone)
                    _place(self.doc, base + ("resources", new_ri), {k: v for k, v in clone.items() if k != "operations"},
                           base + ("resources", ri, "path"))
                    _place_from(self.doc, base + ("resources", new_ri, "operations", 0), opath)
                    _delete(self.doc, base + ("resources", ri, "operations"), oi)
                else:
                    ri += 1

    def shadowed_route(self, base: JsonPath, resources: list[Any], first: tuple[int, int],
                       repeat: tuple[int, int], method: str, raw: str, taken: str | None) -> None:
        """W311 for a route declared again for another operation, which is not served."""
        ops = [_dict(_dict(resources[r]).get("operations", [])[o]) for r, o in (first, repeat)]
        lines = [self.doc.position(base + ("resources", r, "operations", o)).line for r, o in (first, repeat)]

        def named(op: dict[str, Any]) -> str:
            name, call = op.get("name"), op.get("call")
            return (f"`{name}`" if isinstance(name, str) else "the operation") + (
                f" (`call: {call}`)" if isinstance(call, str) else "")

        call = ops[1].get("call")
        tools = [str(t.get("name")) for a in _list(self.capability.get("exposes")) if _dict(a).get("type") == "mcp"
                 for t in _list(_dict(a).get("tools")) if isinstance(t, dict) and t.get("call") == call]
        reach = (f"; the MCP tool `{tools[0]}` still calls `{call}`" if tools and isinstance(call, str) else
                 f"; `{call}` stays a method of the client" if isinstance(call, str) else "")
        self.warn(base + ("resources", repeat[0], "operations", repeat[1], "method"), "W311",
                  f"route {method} {raw} is declared again (first on line {lines[0]}, {named(ops[0])}); the first "
                  f"declaration answers it, so {named(ops[1])} on line {lines[1]} is not served over REST"
                  + (f" (its item route {method} {taken} is declared too)" if taken else "") + reach,
                  "give the operation a path of its own, or remove it")


def _caller_ref(value: Any, callers: set[str]) -> str | None:
    """`rest.x`, `<namespace>.x` or `{{rest.x}}` -> `x`, a caller's input; else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    prefix, dot, key = text.partition(".")
    return key if dot and prefix in callers and re.fullmatch(r"[A-Za-z0-9_-]+", key) else None


def _loose(name: str) -> str:
    """A name without case or separators: `list-observed-apis` and `listObservedApis` agree."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _consumed_names(capability: dict[str, Any]) -> dict[str, list[str]]:
    """Operation name -> the namespaces that have an operation of that name."""
    out: dict[str, list[str]] = {}
    for consumer in _list(capability.get("consumes")):
        namespace = _dict(consumer).get("namespace")
        for resource in _list(_dict(consumer).get("resources")):
            for op in _list(_dict(resource).get("operations")):
                name = _dict(op).get("name")
                if isinstance(namespace, str) and isinstance(name, str):
                    out.setdefault(name, []).append(namespace)
    return out


def _consumed_ops(capability: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`namespace.name` -> the first consumed operation of that address, with its resource's
    path and the consumer's shared parameters folded in (for _path_params)."""
    out: dict[str, dict[str, Any]] = {}
    for consumer in _list(capability.get("consumes")):
        namespace = _dict(consumer).get("namespace")
        shared = _list(_dict(consumer).get("inputParameters"))
        for resource in _list(_dict(consumer).get("resources")):
            for op in _list(_dict(resource).get("operations")):
                name = _dict(op).get("name")
                if isinstance(namespace, str) and isinstance(name, str):
                    out.setdefault(f"{namespace}.{name}", {
                        "path": str(_dict(resource).get("path", "")) + "/" + str(_dict(op).get("path", "") or ""),
                        "inputParameters": shared + _list(_dict(op).get("inputParameters")),
                    })
    return out


def _path_params(target: dict[str, Any]) -> list[str]:
    """The path placeholders of a consumed operation that are filled from its caller's path."""
    names = [str(_dict(p).get("name")) for p in target["inputParameters"]
             if _dict(p).get("in") == "path" and "value" not in _dict(p) and "const" not in _dict(p)]
    names += [n for n in PATH_PLACEHOLDER.findall(target["path"]) if n not in names]
    declared_elsewhere = {str(_dict(p).get("name")) for p in target["inputParameters"] if _dict(p).get("in") not in (None, "path")}
    return [n for n in names if n not in declared_elsewhere and re.fullmatch(r"[A-Za-z0-9_-]+", n)]


def _route_key(path: str) -> str:
    return "/" + "/".join(seg for seg in PATH_PLACEHOLDER.sub("{}", path).split("/") if seg)


def _declared_routes(resources: list[Any]) -> set[tuple[str, str]]:
    """(METHOD, route key) of every operation of a REST adapter's resources."""
    return {(str(_dict(op).get("method", "")).upper(), _route_key(_dict(r)["path"]))
            for r in resources if isinstance(_dict(r).get("path"), str)
            for op in _list(_dict(r).get("operations"))}


def _strip_ops(resource: Any) -> Any:
    return {k: v for k, v in _dict(resource).items() if k != "operations"}


def _place_from(doc: Document, target: JsonPath, source: JsonPath) -> None:
    """Copy the positions of the subtree at `source` to the same subtree moved to `target`."""
    depth = len(source)
    for table in (doc.values, doc.keys):
        for path, pos in list(table.items()):
            if path[:depth] == source:
                table[target + path[depth:]] = pos


def _callers(capability: dict[str, Any]) -> list[tuple[JsonPath, dict[str, Any], dict[str, Any]]]:
    """(path, exposed operation or tool, its REST resource or {}) for everything with a `call`."""
    out: list[tuple[JsonPath, dict[str, Any], dict[str, Any]]] = []
    for ei, adapter in enumerate(_list(capability.get("exposes"))):
        base: JsonPath = ("capability", "exposes", ei)
        for ri, resource in enumerate(_list(_dict(adapter).get("resources"))):
            for oi, op in enumerate(_list(_dict(resource).get("operations"))):
                if isinstance(op, dict):
                    out.append((base + ("resources", ri, "operations", oi), op, _dict(resource)))
        for ti, tool in enumerate(_list(_dict(adapter).get("tools"))):
            if isinstance(tool, dict):
                out.append((base + ("tools", ti), tool, {}))
    return out


def _pick(caller: dict[str, Any], resource: dict[str, Any],
          candidates: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """The candidate operations a caller of a shared name matches, in declaration order (never
    empty): one is the operation it means; several, the caller cannot tell them apart.

    Filters, each applied only when it keeps at least one candidate: the HTTP method of a REST
    caller; the consumed resource whose name (as words) or path ends the caller's resource path;
    an equal description; parameters that cover every `with` key."""
    left = list(candidates)

    def narrow(keep: Any) -> None:
        nonlocal left
        kept = [c for c in left if keep(c)]
        if kept:
            left = kept

    method = str(caller.get("method", "")).upper()
    if method:
        narrow(lambda c: str(c[2].get("method", "")).upper() == method)
    if resource:
        exposed_path = words(str(resource.get("path", "")))
        exposed_name = words(str(resource.get("name", "")))

        def same_resource(c: tuple[str, dict[str, Any], dict[str, Any]]) -> bool:
            consumed = words(str(c[1].get("path", "")) + "/" + str(c[2].get("path", "") or ""))
            return (bool(exposed_name) and words(str(c[1].get("name", ""))) == exposed_name) or (
                bool(consumed) and exposed_path[-len(consumed):] == consumed)

        narrow(same_resource)
    description = caller.get("description")
    if isinstance(description, str) and description:
        narrow(lambda c: c[2].get("description") == description)
    wanted = set(_dict(caller.get("with")))
    if wanted:
        narrow(lambda c: wanted <= {str(_dict(p).get("name")) for p in _list(c[2].get("inputParameters"))})
    return left


def normalise(doc: Document) -> list[Diagnostic]:
    """Rewrite `doc.data` in place (see the module docstring); the warnings and errors found."""
    return sorted(set(_Dialect(doc).run()))

