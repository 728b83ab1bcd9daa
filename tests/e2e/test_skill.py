"""The skill catalogue end to end: a package generated from tests/data/skill/catalogue.yaml,
served by `python -m order_skills skill` (real uvicorn on loopback), read over HTTP.

Expected documents are computed here from the spec's YAML, not from the generator's model. The
skill's directory is replaced through the variable the package README documents, and holds
files that must not be served (a hidden one, a link leading out, a linked folder)."""

from __future__ import annotations

import http.client
import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from support.processes import RunningProcess, run_package
from support.servers import free_port

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

SPEC = Path(__file__).resolve().parents[1] / "data" / "skill" / "catalogue.yaml"
PACKAGE = "catalogue"
EXPOSES = yaml.safe_load(SPEC.read_text())["capability"]["exposes"]
SKILL = next(a for a in EXPOSES if a["type"] == "skill")
SECRET = "the content of a file outside the skill"
FILES = {
    "order-guide.md": b"# Orders\n\nList them with `list-orders`.\n",
    "examples/usage.md": b"Ask for the orders of today.\n",
    "data/table.csv": b"id,total\n1,20\n",
    "logo.bin": bytes(range(256)),
}


def _mode(namespace: str) -> str:
    return next(a["type"] for a in EXPOSES if a.get("namespace") == namespace)


def expected_detail(skill: dict[str, Any]) -> dict[str, Any]:
    """`GET /skills/{name}` as the reference engine's SkillDetailResource writes it."""
    detail = {k: skill[k] for k in ("name", "description")}
    for key in ("license", "compatibility", "argument-hint", "allowed-tools", "user-invocable",
                "disable-model-invocation", "metadata"):
        if key in skill:
            detail[key] = skill[key]
    tools = []
    for tool in skill.get("tools", []):
        entry = {"name": tool["name"], "description": tool["description"]}
        if "from" in tool:
            source = tool["from"]
            entry |= {"type": "derived", "invocationRef": {
                "targetNamespace": source["sourceNamespace"], "action": source["action"],
                "mode": _mode(source["sourceNamespace"])}}
        else:
            entry |= {"type": "instruction", "instruction": tool["instruction"]}
        tools.append(entry)
    detail["tools"] = tools
    return detail


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = generate(SPEC, SPEC.parent)
    assert result.ok, [str(d) for d in result.diagnostics]
    folder = tmp_path_factory.mktemp("skill")
    output.write(folder, {result.package: result.files})
    assert result.package == PACKAGE
    return folder


@pytest.fixture(scope="module")
def skill_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("order-management")
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text(SECRET)
    (root / ".env").write_text("TOKEN=hidden")
    (root / "bad name.txt").write_text("a name with a space is not served")
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "alias.md").symlink_to(root / "order-guide.md")  # a link inside is served
    return root


@pytest.fixture(scope="module")
def service(package: Path, skill_dir: Path) -> Iterator[RunningProcess]:
    port = free_port()
    # no SHOP_TOKEN: the catalogue calls no API and must start without its credential
    env = {"CATALOGUE_ORDER_MANAGEMENT_SKILL_DIR": str(skill_dir)}
    with run_package(["skill", "--host", "127.0.0.1", "--port", str(port)], env=env,
                     host="127.0.0.1", port=port, cwd=package, pythonpath=package,
                     package=PACKAGE) as proc:
        yield proc


def get(service: RunningProcess, path: str) -> httpx.Response:
    return httpx.get(service.base_url + path, timeout=10)


def raw_get(service: RunningProcess, path: str) -> int:
    """The status of a GET sent with `path` exactly as written (httpx would remove `..`)."""
    assert service.port is not None
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_catalogue_lists_every_skill_in_order(service: RunningProcess) -> None:
    answer = get(service, "/skills")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "count": len(SKILL["skills"]),
        "skills": [
            {"name": s["name"], "description": s["description"],
             **({"license": s["license"]} if "license" in s else {}),
             "tools": [t["name"] for t in s.get("tools", [])]}
            for s in SKILL["skills"]
        ],
    }
    assert answer.headers["x-request-id"]


@pytest.mark.parametrize("skill", SKILL["skills"], ids=lambda s: s["name"])
def test_detail_says_where_each_tool_comes_from(service: RunningProcess, skill: dict[str, Any]) -> None:
    answer = get(service, f"/skills/{skill['name']}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected_detail(skill)


def test_unknown_skill_and_skill_without_files_are_404(service: RunningProcess) -> None:
    for path in ("/skills/unknown-skill", "/skills/unknown-skill/contents",
                 "/skills/unknown-skill/download", "/skills/onboarding-guide/contents",
                 "/skills/onboarding-guide/contents/x.md", "/skills/onboarding-guide/download"):
        answer = get(service, path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 404


def _served(root: Path) -> dict[str, bytes]:
    """What may be served: plain, visible, regular files whose real path is under `root`."""
    return {**FILES, "alias.md": FILES["order-guide.md"]}


def test_contents_lists_only_files_inside_the_directory(service: RunningProcess, skill_dir: Path) -> None:
    answer = get(service, "/skills/order-management/contents")
    assert answer.status_code == 200, answer.text
    files = answer.json()["files"]
    assert answer.json()["name"] == "order-management"
    served = _served(skill_dir)
    assert [f["path"] for f in files] == sorted(served)
    types = {".md": "text/markdown", ".csv": "text/csv", ".bin": "application/octet-stream"}
    for f in files:
        assert f["name"] == f["path"].rsplit("/", 1)[-1]
        assert f["size"] == len(served[f["path"]])
        assert f["type"] == types[Path(f["path"]).suffix]


def test_a_file_is_served_as_it_is(service: RunningProcess) -> None:
    for name, data in FILES.items():
        answer = get(service, f"/skills/order-management/contents/{name}")
        assert answer.status_code == 200, name
        assert answer.content == data
    guide = get(service, "/skills/order-management/contents/order-guide.md")
    assert guide.headers["content-type"].startswith("text/markdown")


@pytest.mark.parametrize("path", [
    "/skills/order-management/contents/../../../../etc/passwd",
    "/skills/order-management/contents/%2e%2e/%2e%2e/etc/passwd",
    "/skills/order-management/contents/examples/../order-guide.md",
    "/skills/order-management/contents/.env",
    "/skills/order-management/contents/bad%20name.txt",
])
def test_paths_that_are_not_plain_are_400(service: RunningProcess, path: str) -> None:
    assert raw_get(service, path) == 400


@pytest.mark.parametrize("name", ["leak.txt", "linked/secret.txt", "missing.md", "examples"])
def test_links_out_and_missing_files_are_404(service: RunningProcess, name: str) -> None:
    answer = get(service, f"/skills/order-management/contents/{name}")
    assert answer.status_code == 404, answer.text
    assert SECRET not in answer.text


def test_download_is_a_deterministic_zip_of_the_same_files(service: RunningProcess, skill_dir: Path) -> None:
    first = get(service, "/skills/order-management/download")
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/zip"
    assert first.headers["content-disposition"] == 'attachment; filename="order-management.zip"'
    archive = zipfile.ZipFile(io.BytesIO(first.content))
    assert archive.namelist() == sorted(_served(skill_dir))
    assert {n: archive.read(n) for n in archive.namelist()} == _served(skill_dir)
    assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    # touching the files changes no byte of the archive
    for name in FILES:
        os.utime(skill_dir / name, (1_900_000_000, 1_900_000_000))
    again = get(service, "/skills/order-management/download")
    assert again.content == first.content


def test_only_get(service: RunningProcess) -> None:
    answer = httpx.post(service.base_url + "/skills", timeout=10)
    assert answer.status_code == 405
    assert answer.headers["content-type"] == "application/problem+json"
    assert get(service, "/healthz").json() == {"status": "ok"}
    assert get(service, "/readyz").json() == {"status": "ready"}
