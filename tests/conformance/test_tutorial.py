"""The "Shipyard" tutorial (src/main/resources/tutorial), as its integration tests drive it:
MCP `initialize` / `tools/list` / `tools/call` (and REST for step 10) against a registry mock.

Like the reference harness, the tests remove the MCP server's own `authentication` block
(exposed authentication is covered by the inline auth fixtures); the bound secrets come from
`shared/secrets.yaml`, which the binds' `location` names relative to the working directory
(docs/semantics.md, "Binds from files and other answer formats"). The registry and legacy base URIs
point at the recording upstream, their paths kept.
"""

from __future__ import annotations

from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import Client
from support.recording_upstream import RecordingUpstream

from .conftest import (
    TUTORIAL,
    Conformance,
    Generation,
    run,
    serve_mcp,
    serve_rest,
)
from .test_mcp import call, effective_hints, list_tools, text_json

REG = "/rest/naftiko-shipyard-maritime-registry-api/1.0.0-alpha2"
LEGACY = "/rest/naftiko-shipyard-legacy-dockyard-api/1.0.0-alpha2"
IMO = "IMO-9321483"
MCP_AUTH = '      authentication:\n        type: bearer\n        token: "{{MCP_SERVER_TOKEN}}"\n'



def _ship(imo: str, name: str, status: str, year: int, tonnage: int, length: int) -> dict[str, Any]:
    return {
        "imo_number": imo,
        "vessel_name": name,
        "vessel_type": "cargo",
        "flag_code": "NO",
        "operational_status": status,
        "year_built": year,
        "gross_tonnage": tonnage,
        "dimensions": {"length_overall": length},
        "assignedCrew": ["CREW-001", "CREW-002"],
    }


SHIPS = [
    _ship(IMO, "Northern Star", "active", 2015, 42000, 229),
    _ship("IMO-9405722", "Old Salt", "laid_up", 1998, 12000, 140),
]
ACTIVE = [SHIPS[0]]


def _flat(ship: dict[str, Any]) -> dict[str, Any]:
    return {
        "imo": ship["imo_number"],
        "name": ship["vessel_name"],
        "type": ship["vessel_type"],
        "flag": ship["flag_code"],
        "status": ship["operational_status"],
    }


def _shaped(ship: dict[str, Any]) -> dict[str, Any]:
    return {
        **_flat(ship),
        "specs": {
            "yearBuilt": ship["year_built"],
            "tonnage": ship["gross_tonnage"],
            "length": ship["dimensions"]["length_overall"],
        },
    }


def tutorial(conformance: Conformance, step: str, monkeypatch: pytest.MonkeyPatch) -> Generation:
    # the binds read `file:///./shared/secrets.yaml`: relative to the working directory, which
    # for the tutorial is its own folder
    monkeypatch.chdir(conformance.work / TUTORIAL)
    rel = f"{TUTORIAL}/{step}"
    if MCP_AUTH in (conformance.work / rel).read_text("utf-8"):
        return conformance.variant(rel, "without-mcp-auth", (MCP_AUTH, ""))
    return conformance.generate(rel)


def _registry(upstream: RecordingUpstream) -> None:
    upstream.respond("GET", f"{REG}/ships", json_body=SHIPS)
    upstream.respond("GET", f"{REG}/ships/{IMO}", json_body=SHIPS[0])


def _list_ships_checks(url: str, upstream: RecordingUpstream, shaped: bool = False) -> None:
    # `status` is forwarded as a query parameter only when given.
    all_ships = call(url, "list-ships", {})
    assert all_ships.is_error is False, all_ships
    assert text_json(all_ships) == [_flat(s) for s in SHIPS]
    upstream.respond("GET", f"{REG}/ships", json_body=ACTIVE)
    active = call(url, "list-ships", {"status": "active"})
    assert [s["status"] for s in text_json(active)] == ["active"]
    ship = call(url, "get-ship", {"imo": IMO})
    assert ship.is_error is False, ship
    assert text_json(ship) == (_shaped(SHIPS[0]) if shaped else _flat(SHIPS[0]))
    assert [(r.method, r.path, r.query) for r in upstream.requests] == [
        ("GET", f"{REG}/ships", ""),
        ("GET", f"{REG}/ships", "status=active"),
        ("GET", f"{REG}/ships/{IMO}", ""),
    ]


def test_step1_mock(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gen = tutorial(conformance, "step-1-shipyard-mock.yml", monkeypatch)

    async def go() -> tuple[Any, Any, types.ListToolsResult, types.CallToolResult]:
        async with Client(url) as client:
            return (
                client.server_info,
                client.server_capabilities,
                await client.list_tools(),
                await client.call_tool("get-ship", {"imo_number": IMO}),
            )

    with serve_mcp(gen) as url:
        info, capabilities, tools, result = run(go)
    assert info.name == "shipyard-tools"
    assert capabilities.tools is not None
    assert [(t.name, t.description) for t in tools.tools] == [
        ("get-ship", "Retrieve a ship's details by IMO number")
    ]
    assert result.is_error is False, result
    assert text_json(result) == {
        "imo": IMO,
        "name": "Northern Star",
        "type": "cargo",
        "flag": "NO",
        "status": "active",
    }
    assert upstream.requests == []


def test_step2_wiring(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gen = tutorial(conformance, "step-2-shipyard-wiring.yml", monkeypatch)
    _registry(upstream)
    with serve_mcp(gen) as url:
        tools = list_tools(url)
        assert list(tools) == ["list-ships", "get-ship"]
        status = tools["list-ships"].input_schema
        assert status["properties"]["status"]["type"] == "string"
        assert "status" not in status.get("required", [])
        imo = tools["get-ship"].input_schema
        assert imo["properties"]["imo"]["type"] == "string"
        assert imo["required"] == ["imo"]
        _list_ships_checks(url, upstream)


def test_step3_auth(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gen = tutorial(conformance, "step-3-shipyard-auth.yml", monkeypatch)
    _registry(upstream)
    with serve_mcp(gen) as url:
        _list_ships_checks(url, upstream)
    # The engine never sends bound values (naftiko-spec.md §11 item 1, and §11 item 3 for the
    # consumes-level header): the intended behaviour is to send them on every request.
    for req in upstream.requests:
        assert req.headers["authorization"] == "Bearer dummy-token"
        assert req.headers["registry-version"] == "1.0.0-alpha2"


def test_step4_output_shaping(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gen = tutorial(conformance, "step-4-shipyard-output-shaping.yml", monkeypatch)
    _registry(upstream)
    with serve_mcp(gen) as url:
        _list_ships_checks(url, upstream, shaped=True)
    # Numbers stay numbers.
    shaped = _shaped(SHIPS[0])["specs"]
    assert all(isinstance(v, int) for v in shaped.values())


LEGACY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<vessels>
  <vessel>
    <vesselCode>DOCK-001</vesselCode><vesselName>Iron Maiden</vesselName>
    <category>tanker</category><flagState>PA</flagState>
    <operationalStatus>active</operationalStatus>
  </vessel>
  <vessel>
    <vesselCode>DOCK-002</vesselCode><vesselName>Rust Bucket</vesselName>
    <category>bulk</category><flagState>LR</flagState>
    <operationalStatus>laid_up</operationalStatus>
  </vessel>
</vessels>
"""
LEGACY_JSON = [
    {
        "vesselCode": "DOCK-001",
        "name": "Iron Maiden",
        "type": "tanker",
        "flag": "PA",
        "status": "active",
    },
    {
        "vesselCode": "DOCK-002",
        "name": "Rust Bucket",
        "type": "bulk",
        "flag": "LR",
        "status": "laid_up",
    },
]


def test_step5_multi_source(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gen = tutorial(conformance, "step-5-shipyard-multi-source.yml", monkeypatch)
    upstream.respond("GET", f"{LEGACY}/vessels", text=LEGACY_XML, content_type="application/xml")
    with serve_mcp(gen) as url:
        tools = list_tools(url)
        result = call(url, "list-legacy-vessels", {"status": "active"})
    assert list(tools) == ["list-ships", "get-ship", "list-legacy-vessels"]
    assert result.is_error is False, result
    assert text_json(result) == LEGACY_JSON
    (req,) = upstream.requests
    assert (req.method, req.path, req.query) == (
        "GET",
        f"{LEGACY}/vessels",
        "status=active",
    )
    # The imported legacy API's apikey authentication, value from the bound secret.
    assert req.headers["x-dock-key"] == "dummy-dockyard-key"


VOYAGE_ARGS = {
    "shipImo": IMO,
    "departurePort": "NOOSL",
    "arrivalPort": "NLRTM",
    "departureDate": "2026-06-01",
    "arrivalDate": "2026-06-05",
    "crewIds": ["CREW-001", "CREW-002"],
    "cargoIds": ["CARGO-9"],
}
VOYAGE_UPSTREAM = {**VOYAGE_ARGS, "voyageId": "VOY-2026-042", "status": "planned"}
VOYAGE_SHAPED = {
    "voyageId": "VOY-2026-042",
    "shipImo": IMO,
    "route": {"from": "NOOSL", "to": "NLRTM"},
    "dates": {"departure": "2026-06-01", "arrival": "2026-06-05"},
    "crewIds": ["CREW-001", "CREW-002"],
    "cargoIds": ["CARGO-9"],
    "status": "planned",
}


def test_step6_write_operations(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gen = tutorial(conformance, "step-6-shipyard-write-operations.yml", monkeypatch)
    upstream.respond("POST", f"{REG}/voyages", status=201, json_body=VOYAGE_UPSTREAM)
    with serve_mcp(gen) as url:
        tools = list_tools(url)
        result = call(url, "create-voyage", VOYAGE_ARGS)
    assert list(tools) == [
        "list-ships",
        "get-ship",
        "list-legacy-vessels",
        "create-voyage",
    ]
    create = tools["create-voyage"]
    assert create.input_schema["properties"]["crewIds"]["type"] == "array"
    assert create.input_schema["properties"]["cargoIds"]["type"] == "array"
    assert "cargoIds" not in create.input_schema["required"]
    assert effective_hints(create) == {
        "read_only_hint": False,
        "destructive_hint": False,
        "idempotent_hint": False,
        "open_world_hint": True,
    }
    assert result.is_error is False, result
    assert text_json(result) == VOYAGE_SHAPED
    (req,) = upstream.requests
    assert (req.method, req.path) == ("POST", f"{REG}/voyages")
    # The body template renders arrays as JSON arrays ({{crewIds}} is unquoted).
    assert req.json() == VOYAGE_ARGS


def test_step7_orchestrated_lookup(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gen = tutorial(conformance, "step-7-shipyard-orchestrated-lookup.yml", monkeypatch)
    _registry(upstream)
    upstream.respond(
        "GET",
        f"{REG}/crew",
        json_body=[
            {"crewId": "CREW-001", "fullName": "Ingrid Berg", "role": "captain"},
            {"crewId": "CREW-002", "fullName": "Lars Dahl", "role": "engineer"},
            {"crewId": "CREW-003", "fullName": "Not Aboard", "role": "cook"},
        ],
    )
    with serve_mcp(gen) as url:
        tools = list_tools(url)
        result = call(url, "get-ship-with-crew", {"imo": IMO})
    assert len(tools) == 5
    assert "get-ship-with-crew" in tools
    assert result.is_error is False, result
    assert text_json(result) == {
        "imo": IMO,
        "name": "Northern Star",
        "type": "cargo",
        "flag": "NO",
        "status": "active",
        "yearBuilt": 2015,
        "tonnage": 42000,
        "length": 229,
        "crew": [
            {"fullName": "Ingrid Berg", "role": "captain"},
            {"fullName": "Lars Dahl", "role": "engineer"},
        ],
    }
    assert [(r.method, r.path) for r in upstream.requests] == [
        ("GET", f"{REG}/ships/{IMO}"),
        ("GET", f"{REG}/crew"),
    ]


# A declared REST input is required unless it says `required: false`: that is the spec's default
# (InputParameterSpec, naftiko-spec.md §3), which the engine's own MCP input schemas apply too; the
# engine's REST side checks no input at all, so there `GET /ships` without `status` is answered.
# naftiko-gen answers 422 naming the input (docs/conformance.md, "Where naftiko-gen differs").
def test_step10_rest_adapter(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gen = tutorial(conformance, "step-10-shipyard-rest-adapter.yml", monkeypatch)
    _registry(upstream)
    # The upstream's 201 is passed through.
    upstream.respond("POST", f"{REG}/voyages", status=201, json_body=VOYAGE_UPSTREAM)
    with serve_rest(gen) as url:
        unfiltered = httpx.get(f"{url}/ships", timeout=10)
        ships = httpx.get(f"{url}/ships", params={"status": "active"}, timeout=10)
        voyage = httpx.post(f"{url}/voyages", json=VOYAGE_ARGS, timeout=10)
    assert unfiltered.status_code == 422, unfiltered.text
    assert "status" in unfiltered.text
    assert ships.status_code == 200, ships.text
    assert ships.json() == [_flat(s) for s in SHIPS]
    assert voyage.status_code == 201, voyage.text
    assert voyage.json() == VOYAGE_SHAPED
    assert [(r.method, r.path) for r in upstream.requests] == [
        ("GET", f"{REG}/ships"),
        ("POST", f"{REG}/voyages"),
    ]
    assert upstream.requests[1].json() == VOYAGE_ARGS


@pytest.mark.parametrize(
    ("step", "count", "tool"),
    [
        pytest.param(
            "step-8-shipyard-skill-groups.yml",
            5,
            "get-ship-with-crew"
        ),
        pytest.param(
            "step-9-shipyard-aggregates.yml",
            5,
            "get-ship-with-crew"
        ),
        pytest.param(
            "step-11-shipyard-fleet-manifest.yml",
            6,
            "get-voyage-manifest"
        ),
    ],
)
def test_later_steps_tools(
    conformance: Conformance,
    upstream: RecordingUpstream,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    count: int,
    tool: str,
) -> None:
    gen = tutorial(conformance, step, monkeypatch)
    with serve_mcp(gen) as url:
        tools = list_tools(url)
    assert len(tools) == count
    assert tool in tools
    if tool == "get-voyage-manifest":
        schema = tools[tool].input_schema
        assert schema["properties"]["voyageId"]["type"] == "string"
