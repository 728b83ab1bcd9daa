"""The dialect step (naftiko_codegen/dialect.py): variations of real capabilities resolved with a
warning where the intent is unambiguous, refused where it is not. Each test builds the result,
so a rewrite that validates but generates the wrong request fails here."""

from __future__ import annotations

from pathlib import Path

from support.specs import run

from naftiko_codegen.diagnostics import Diagnostic
from naftiko_codegen.names import python_identifier

HEAD = """\
naftiko: 1.0.0-alpha2
info:
  label: Demo
  description: A small capability.
capability:
  consumes:
"""

API = """\
  - type: http
    namespace: api
    baseUri: https://api.example.com/v1
    resources:
"""


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics if d.code != "W204"]


def test_path_parameter_without_placeholder_is_appended(tmp_path: Path):
    text = HEAD + API + """\
    - name: gems
      path: /gems
      operations:
      - name: list-gems
        method: GET
      - name: get-gem
        method: GET
        inputParameters:
        - name: gemName
          in: path
        - name: version
          in: path
"""
    cap, found = run(tmp_path, text)
    assert cap is not None, [d.render() for d in found]
    ops = {op.name: op for op in cap.operations}
    assert ops["list-gems"].path == "/gems"
    assert ops["get-gem"].path == "/gems/{gem_name}/{version}"
    assert codes(found) == ["W241", "W241"]
    assert [d.line for d in found if d.code == "W241"] == [19, 21]  # each parameter's name


def test_placeholder_in_the_operation_path_counts(tmp_path: Path):
    text = HEAD + API + """\
    - name: root
      path: /2
      operations:
      - name: get-tweet
        method: GET
        path: /tweets/{id}
        inputParameters:
        - name: id
          in: path
"""
    cap, found = run(tmp_path, text)
    assert cap is not None and codes(found) == []
    assert cap.operations[0].path == "/2/tweets/{id_}"


def test_identical_repeats_of_an_operation_are_dropped(tmp_path: Path):
    op = "      - name: list\n        method: GET\n"
    text = HEAD + API + "    - name: items\n      path: /items\n      operations:\n" + op + op
    cap, found = run(tmp_path, text)
    assert cap is not None
    assert [o.name for o in cap.operations] == ["list"]
    assert codes(found) == ["W242"]
    assert "repeats the one on line 14 exactly" in found[0].message


def _dropbox_like(first_description: str = "Delete contacts") -> str:
    return HEAD + API + f"""\
    - name: contacts-delete
      path: /2/contacts/delete
      operations:
      - name: post
        method: POST
        description: {first_description}
    - name: contacts-delete_batch
      path: /2/contacts/delete_batch
      operations:
      - name: post
        method: POST
        description: Delete contacts in a batch
        inputParameters:
        - name: body
          in: body
  exposes:
  - type: rest
    namespace: rest-api
    resources:
    - path: /v1/2/contacts/delete-batch
      name: contacts-delete-batch
      operations:
      - method: POST
        name: post
        call: api.post
        with:
          body: rest.body
  - type: mcp
    namespace: mcp-api
    tools:
    - name: delete-contacts
      description: Delete contacts
      call: api.post
"""


def test_operations_named_alike_are_renamed_and_calls_follow_their_match(tmp_path: Path):
    cap, found = run(tmp_path, _dropbox_like())
    assert cap is not None, [d.render() for d in found]
    assert [o.name for o in cap.operations] == ["post", "post-2"]
    assert [o.method_name for o in cap.operations] == ["post", "post_2"]
    assert cap.rest is not None and cap.mcp is not None
    # the REST route matches the second resource by name; the tool the first by description
    assert cap.rest.routes[0].call.operation.path == "/2/contacts/delete_batch"
    assert cap.mcp.tools[0].call.operation.path == "/2/contacts/delete"
    assert codes(found) == ["W242", "W244"]


def test_a_call_matching_several_renamed_operations_calls_the_first(tmp_path: Path):
    text = _dropbox_like("Delete contacts").replace(
        "        description: Delete contacts in a batch\n", "        description: Delete contacts\n")
    text = text.replace("      name: contacts-delete-batch\n", "      name: other\n").replace(
        "/v1/2/contacts/delete-batch", "/v1/other").replace("        with:\n          body: rest.body\n", "")
    cap, found = run(tmp_path, text)
    assert cap is not None and cap.rest is not None and cap.mcp is not None, [d.render() for d in found]
    # the engine's first match by name: the operation declared first (docs/semantics.md)
    assert cap.rest.routes[0].call.operation.path == "/2/contacts/delete"
    assert cap.mcp.tools[0].call.operation.path == "/2/contacts/delete"
    assert codes(found) == ["W242", "W312", "W312"]
    warning = next(d for d in found if d.code == "W312")
    assert "`api.post` (line 14), `api.post-2` (line 20); it calls the first" in warning.message


def test_consumed_api_listed_twice_is_merged(tmp_path: Path):
    entry = API + "    - name: {0}\n      path: /{0}\n      operations:\n      - name: list-{0}\n        method: GET\n"
    text = HEAD + entry.format("items") + entry.format("items") + entry.format("orders")
    cap, found = run(tmp_path, text)
    assert cap is not None, [d.render() for d in found]
    (consumer,) = cap.consumers
    assert [o.name for o in consumer.operations] == ["list-items", "list-orders"]
    assert codes(found) == ["W243", "W243"]
    assert [d.line for d in found if d.code == "W243"] == [17, 26]  # the repeats' namespaces


def test_consumed_apis_with_different_base_uris_stay_an_error(tmp_path: Path):
    entry = API + "    - name: items\n      path: /items\n      operations:\n      - name: list-{0}\n        method: GET\n"
    text = HEAD + entry.format("a") + entry.format("b").replace("api.example.com", "other.example.com")
    cap, found = run(tmp_path, text)
    assert cap is None and [d.code for d in found if d.is_error] == ["E120"]


def test_misspelt_call_namespace_goes_to_the_only_match(tmp_path: Path):
    text = HEAD + API.replace("namespace: api", "namespace: api-v1") + """\
    - name: items
      path: /items
      operations:
      - name: list
        method: GET
  exposes:
  - type: mcp
    namespace: mcp-api
    tools:
    - name: list
      description: List
      call: api.list
"""
    cap, found = run(tmp_path, text)
    assert cap is not None and cap.mcp is not None
    assert cap.mcp.tools[0].call.operation.consumer == "api-v1"
    assert codes(found) == ["W247"]
    unrelated = text.replace("call: api.list", "call: other.list")
    cap, found = run(tmp_path, unrelated)
    assert cap is None and "E101" in [d.code for d in found if d.is_error]


def test_repeated_route_of_an_item_operation_gets_the_item_path(tmp_path: Path):
    text = HEAD + API + """\
    - name: cohorts
      path: /cohorts
      operations:
      - name: list-cohorts
        method: GET
      - name: get-cohort
        method: GET
        inputParameters:
        - name: cohort_id
          in: path
  exposes:
  - type: rest
    namespace: rest-api
    resources:
    - path: /v1/cohorts
      name: cohorts
      operations:
      - method: GET
        name: list-cohorts
        call: api.list-cohorts
      - method: GET
        name: get-cohort
        call: api.get-cohort
"""
    cap, found = run(tmp_path, text)
    assert cap is not None and cap.rest is not None, [d.render() for d in found]
    routes = {(r.http_method, r.path): r for r in cap.rest.routes}
    assert set(routes) == {("GET", "/v1/cohorts"), ("GET", "/v1/cohorts/{cohort_id}")}
    item = routes[("GET", "/v1/cohorts/{cohort_id}")]
    assert [(i.name, i.location) for i in item.inputs] == [("cohort_id", "path")]
    assert codes(found) == ["W241", "W246"]
    # two list routes cannot be told apart: the first declaration is served (W311)
    both_lists = text.replace("call: api.get-cohort", "call: api.list-cohorts")
    cap, found = run(tmp_path, both_lists)
    assert cap is not None and cap.rest is not None
    assert [(r.http_method, r.path, r.operation_id) for r in cap.rest.routes] == [("GET", "/v1/cohorts", "list-cohorts")]
    assert codes(found) == ["W241", "W311"]


def test_names_over_a_line_break_keep_their_first_word(tmp_path: Path):
    text = HEAD + API + """\
    - name: levels
      path: /levels
      operations:
      - name: adjust
        method: POST
        inputParameters:
        - name: "location_id\\n    required"
          in: query
  exposes:
  - type: mcp
    namespace: mcp-api
    tools:
    - name: adjust
      description: Adjust
      call: api.adjust
      with:
        ? "location_id\\n    required"
        : "tools.location_id\\n    required"
"""
    cap, found = run(tmp_path, text)
    assert cap is not None, [d.render() for d in found]
    assert [p.name for p in cap.operations[0].parameters] == ["location_id"]
    assert codes(found) == ["W245", "W245"]


def test_alpha1_id_spelling_is_the_operation_name(tmp_path: Path):
    text = HEAD.replace("alpha2", "alpha1") + API + """\
    - name: items
      path: /items
      operations:
      - id: list-items
        method: GET
  exposes:
  - type: mcp
    namespace: mcp-api
    tools:
    - name: list
      description: List
      call: api.list-items
"""
    cap, found = run(tmp_path, text)
    assert cap is not None, [d.render() for d in found]
    assert cap.operations[0].name == "list-items"


def test_long_names_are_cut_with_a_hash():
    long = "deprecated202001createfulfillmentordersparamfulfillmentorderidcancellationrequestaccept"
    name = python_identifier(long)
    assert len(name) == 64 and name.startswith("deprecated202001create")
    assert name != python_identifier(long.replace("accept", "reject"))
    assert python_identifier(long, limit=40) == python_identifier(long, limit=40)
    assert len(python_identifier("x" * 80, limit=40)) == 40


def test_info_label_or_description_stands_in_for_the_other(tmp_path: Path):
    body = API + "    - name: items\n      path: /items\n      operations:\n      - name: list\n        method: GET\n"
    cap, found = run(tmp_path, HEAD.replace("  label: Demo\n", "") + body)
    assert cap is not None and cap.title == "A small capability."
    assert codes(found) == ["W248"] and found[0].line == 2  # the `info` key
    cap, found = run(tmp_path, HEAD.replace("  description: A small capability.\n", "") + body)
    assert cap is not None and codes(found) == ["W248"]
    cap, found = run(tmp_path, HEAD.replace("  label: Demo\n  description: A small capability.\n", "  tags: [x]\n") + body)
    assert cap is None and "E110" in [d.code for d in found]
