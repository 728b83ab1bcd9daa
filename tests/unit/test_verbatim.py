"""When the REST service may send the caller's body bytes as they came (RestRoute.body_verbatim):
only when the JSON body is, unchanged, the consumed operation's whole body."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from naftiko_codegen.build import build
from naftiko_codegen.load import load_file
from naftiko_codegen.model import Argument, Capability, RestRoute

TRACK_BATCH = Path(__file__).resolve().parents[2] / "specs" / "track-batch.yaml"


@pytest.fixture(scope="module")
def route() -> RestRoute:
    cap: Capability = build(load_file(TRACK_BATCH))
    assert cap.rest is not None
    assert cap.rest.verbatim_bodies
    (route,) = cap.rest.routes
    return route


def _with_arguments(route: RestRoute, arguments: tuple[Argument, ...]) -> RestRoute:
    return dataclasses.replace(route, call=dataclasses.replace(route.call, arguments=arguments))


def test_the_whole_body_passed_to_the_whole_upstream_body_is_verbatim(route: RestRoute):
    assert route.body_verbatim


def test_an_upstream_body_built_from_several_fields_is_not(route: RestRoute):
    operation = dataclasses.replace(route.call.operation, body="object")
    assert not dataclasses.replace(route, call=dataclasses.replace(route.call, operation=operation)).body_verbatim


def test_a_literal_or_fixed_body_is_not(route: RestRoute):
    (argument,) = route.call.arguments
    assert not _with_arguments(route, (Argument(argument.param, "literal", literal={"a": 1}),)).body_verbatim
    fixed = dataclasses.replace(argument.param, fixed=argument.param.fixed or object())  # type: ignore[arg-type]
    assert not _with_arguments(route, (dataclasses.replace(argument, param=fixed),)).body_verbatim


def test_the_body_sent_as_a_header_or_query_value_is_not(route: RestRoute):
    (argument,) = route.call.arguments
    header = dataclasses.replace(argument.param, location="header")
    assert not _with_arguments(route, (dataclasses.replace(argument, param=header),)).body_verbatim


def test_a_route_without_a_body_is_not(route: RestRoute):
    assert not dataclasses.replace(route, inputs=()).body_verbatim
