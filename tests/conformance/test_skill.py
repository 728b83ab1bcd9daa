"""The skill catalogues of the reference fixtures, as the engine's SkillIntegrationTest and the
tutorial's step tests read them (README.md beside the fixtures): `GET /skills`, `/skills/{name}`
and the contents endpoints of the generated `skill.py`, served on loopback.

`skill-capability.yaml` places its files at `file:///tmp/naftiko-test-skills/order-management`;
the test gives that skill a directory of its own through `<PACKAGE>_<SKILL>_SKILL_DIR`."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import pytest

from .conftest import TESTS, Conformance, Generation, serve_skill
from .test_tutorial import tutorial


def _get(url: str, path: str) -> httpx.Response:
    return httpx.get(url + path, timeout=10)


@pytest.fixture
def orders(conformance: Conformance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Generation:
    gen = conformance.generate(f"{TESTS}/skill-capability.yaml")
    (tmp_path / "order-guide.md").write_text("# Working with orders\n", "utf-8")
    monkeypatch.setenv("SKILL_CAPABILITY_ORDER_MANAGEMENT_SKILL_DIR", str(tmp_path))
    return gen


def test_skill_capability_catalogue(orders: Generation) -> None:
    with serve_skill(orders) as url:
        catalogue = _get(url, "/skills")
        detail = _get(url, "/skills/order-management")
        descriptive = _get(url, "/skills/onboarding-guide")
        unknown = _get(url, "/skills/unknown-skill")
        unknown_contents = _get(url, "/skills/unknown-skill/contents")
    assert catalogue.status_code == 200
    body = catalogue.json()
    assert body["count"] == 2
    assert [s["name"] for s in body["skills"]] == ["order-management", "onboarding-guide"]
    assert detail.status_code == 200
    skill = detail.json()
    assert skill["name"] == "order-management"
    assert skill["description"] == "Tools for managing orders"
    assert skill["allowed-tools"] == "list-orders"
    assert skill["argument-hint"] == "Use for order operations"
    derived, instruction = skill["tools"]
    assert derived["name"] == "list-orders"
    assert derived["type"] == "derived"
    assert derived["invocationRef"] == {
        "targetNamespace": "orders-rest",
        "action": "list-orders",
        "mode": "rest",
    }
    assert instruction == {
        "name": "order-guide",
        "description": "Guide for working with orders",
        "type": "instruction",
        "instruction": "order-guide.md",
    }
    assert descriptive.status_code == 200
    assert descriptive.json()["name"] == "onboarding-guide"
    assert descriptive.json()["tools"] == []
    assert unknown.status_code == 404
    assert unknown_contents.status_code == 404


def test_skill_capability_contents(orders: Generation) -> None:
    # The engine's tests accept 200 or 404 here, depending on the files present; with the
    # instruction file in place, each endpoint answers 200 with it.
    with serve_skill(orders) as url:
        contents = _get(url, "/skills/order-management/contents")
        guide = _get(url, "/skills/order-management/contents/order-guide.md")
        missing = _get(url, "/skills/order-management/contents/overview")
        download = _get(url, "/skills/order-management/download")
    assert contents.status_code == 200
    (entry,) = contents.json()["files"]
    assert (entry["name"], entry["path"]) == ("order-guide.md", "order-guide.md")
    assert guide.status_code == 200
    assert guide.text == "# Working with orders\n"
    assert guide.headers["content-type"]
    assert missing.status_code == 404
    assert download.status_code == 200
    assert download.content[:2] == b"PK"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert archive.read("order-guide.md") == b"# Working with orders\n"


FLEET_OPS = ["list-ships", "get-ship", "list-legacy-vessels", "get-ship-with-crew"]


@pytest.mark.parametrize(
    ("step", "voyage_ops"),
    [
        ("step-7-shipyard-orchestrated-lookup.yml", ["create-voyage"]),
        ("step-8-shipyard-skill-groups.yml", ["create-voyage"]),
        ("step-9-shipyard-aggregates.yml", ["create-voyage"]),
        ("step-10-shipyard-rest-adapter.yml", ["create-voyage"]),
        ("step-11-shipyard-fleet-manifest.yml", ["create-voyage", "get-voyage-manifest"]),
    ],
)
def test_tutorial_skill_groups(
    conformance: Conformance,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    voyage_ops: list[str],
) -> None:
    gen = tutorial(conformance, step, monkeypatch)
    with serve_skill(gen) as url:
        catalogue = _get(url, "/skills").json()
        fleet = _get(url, "/skills/fleet-ops").json()
        voyage = _get(url, "/skills/voyage-ops").json()
    assert catalogue["count"] == 2
    assert [s["name"] for s in catalogue["skills"]] == ["fleet-ops", "voyage-ops"]
    assert [t["name"] for t in fleet["tools"]] == FLEET_OPS
    assert [t["name"] for t in voyage["tools"]] == voyage_ops
    for tool in fleet["tools"] + voyage["tools"]:
        assert tool["type"] == "derived"
        assert tool["invocationRef"] == {
            "targetNamespace": "shipyard-tools",
            "mode": "mcp",
            "action": tool["name"],
        }

