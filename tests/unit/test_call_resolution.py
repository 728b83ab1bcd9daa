"""Calls and routes the dialect step resolves beyond names as written: a call naming the exposed
adapter's own namespace (W310), E101 hints, and a repeated route whose call renames the path
parameter it lacks (W246). Each test builds the result, so a wrong rewrite fails here."""

from __future__ import annotations

from pathlib import Path

from support.specs import run as run_spec

from naftiko_codegen.diagnostics import Diagnostic
from naftiko_codegen.model import Capability

SPEC = """\
naftiko: 1.0.0-alpha2
info:
  label: Demo
  description: A small capability.
capability:
  consumes:
  - type: http
    namespace: posts
    baseUri: https://api.example.com/v1
    resources:
    - name: posts
      path: /posts
      operations:
      - name: createPosts
        method: POST
      - name: list-posts
        method: GET
      - name: get-post
        method: GET
        inputParameters:
        - {name: post_id, in: path}
  - type: http
    namespace: users
    baseUri: https://api.example.com/v1
    resources:
    - name: users
      path: /users
      operations:
      - name: list-posts
        method: GET
  exposes:
  - type: rest
    namespace: content-api
    port: 8080
    resources:
    - path: /v1/posts
      operations:
      - method: POST
        name: create
        call: CALL
      - method: GET
        name: list
        call: posts.list-posts
      - method: GET
        name: get
        call: posts.get-post
        with:
          post_id: rest.id
"""


def run(tmp_path: Path, call: str) -> tuple[Capability | None, list[Diagnostic]]:
    return run_spec(tmp_path, SPEC.replace("CALL", call))


def test_call_naming_the_own_adapter_goes_to_the_one_operation_of_that_name(tmp_path: Path) -> None:
    for call in ("content-api.createPosts", "content-api.create-posts"):
        cap, found = run(tmp_path, call)
        assert cap is not None and cap.rest is not None, [d.render() for d in found]
        (w310,) = [d for d in found if d.code == "W310"]
        assert "`posts.createPosts`" in w310.message
        route = next(r for r in cap.rest.routes if r.http_method == "POST")
        assert route.call is not None and route.call.operation.name == "createPosts"


def test_call_naming_the_own_adapter_with_two_owners_stays_an_error(tmp_path: Path) -> None:
    cap, found = run(tmp_path, "content-api.list-posts")  # in `posts` and in `users`
    assert cap is None
    (error,) = [d for d in found if d.is_error]
    assert error.code == "E101" and not [d for d in found if d.code == "W310"]
    assert "`posts.list-posts`" in error.hint and "`users.list-posts`" in error.hint


def test_call_naming_an_exposed_operation_says_so(tmp_path: Path) -> None:
    cap, found = run(tmp_path, "list")
    assert cap is None
    (error,) = [d for d in found if d.code == "E101"]
    assert "`list` is an exposed tool or operation of this capability" in error.hint


def test_repeated_route_gets_the_placeholder_of_the_input_with_names(tmp_path: Path) -> None:
    cap, found = run(tmp_path, "posts.createPosts")
    assert cap is not None and cap.rest is not None, [d.render() for d in found]
    (w246,) = [d for d in found if d.code == "W246"]
    assert "/v1/posts/{id}" in w246.message
    route = next(r for r in cap.rest.routes if r.operation_id == "get")
    assert route.path == "/v1/posts/{id}"
    assert route.call is not None
    (argument,) = route.call.arguments
    assert (argument.param.name, argument.input_name) == ("post_id", "id")
