"""Consumes imports: spliced before validation, confined to the spec's folder."""

from __future__ import annotations

from pathlib import Path

from naftiko_codegen.pipeline import check

SPEC = """\
naftiko: 1.0.0-alpha2
info:
  label: Imports
  description: Imports a consumed API.
capability:
  consumes:
  - import: shared-api
    location: {location}
{alias}  exposes:
  - type: mcp
    namespace: tools
    port: 9090
    description: Tools.
    tools:
    - name: list
      description: List things.
      call: {call}
"""

SHARED = """\
naftiko: 1.0.0-alpha2
consumes:
- namespace: shared-api
  type: http
  baseUri: https://api.example.com
  resources:
  - name: things
    path: /things
    operations:
    - name: list
      method: GET
      description: List things.
"""


def _spec(tmp_path: Path, location: str, call: str = "shared-api.list", alias: str = "") -> Path:
    (tmp_path / "shared").mkdir(exist_ok=True)
    (tmp_path / "shared" / "api.yaml").write_text(SHARED)
    spec = tmp_path / "cap.yaml"
    spec.write_text(SPEC.format(location=location, call=call, alias=alias))
    return spec


def test_imported_api_is_spliced_and_calls_resolve(tmp_path: Path):
    doc, result = check(_spec(tmp_path, "./shared/api.yaml"))
    assert result.ok, [d.render() for d in result.diagnostics]
    assert doc is not None
    assert doc.data["capability"]["consumes"][0]["baseUri"] == "https://api.example.com"


def test_import_can_rename_the_namespace(tmp_path: Path):
    _doc, result = check(_spec(tmp_path, "./shared/api.yaml", call="renamed.list", alias="    as: renamed\n"))
    assert result.ok, [d.render() for d in result.diagnostics]


def test_import_outside_the_spec_folder_is_refused(tmp_path: Path):
    inner = tmp_path / "inner"
    inner.mkdir()
    (tmp_path / "secret.yaml").write_text(SHARED)
    _doc, result = check(_spec(inner, "../secret.yaml"))
    codes = [d.code for d in result.diagnostics if d.is_error]
    assert "E130" in codes
    error = next(d for d in result.diagnostics if d.code == "E130")
    assert (error.line, "outside the spec's folder" in error.message) == (8, True)


def test_missing_file_and_missing_namespace(tmp_path: Path):
    _doc, result = check(_spec(tmp_path, "./shared/none.yaml"))
    assert any(d.code == "E130" and "cannot import" in d.message for d in result.diagnostics)
    spec = _spec(tmp_path, "./shared/api.yaml")
    spec.write_text(spec.read_text().replace("import: shared-api", "import: other-api"))
    _doc, result = check(spec)
    error = next(d for d in result.diagnostics if d.code == "E131")
    assert "it has: shared-api" in error.hint


def test_import_of_a_whole_capability_takes_its_consumes_entry(tmp_path: Path):
    # alpha1 projects share consumed APIs as complete capabilities under ./shared/
    spec = _spec(tmp_path, "./shared/api.yaml")
    whole = "naftiko: 1.0.0-alpha1\ninfo:\n  label: Shared\n  description: Shared.\ncapability:\n" + "\n".join(
        "  " + line if line else line for line in SHARED.split("\n", 1)[1].splitlines()) + "\n"
    (tmp_path / "shared" / "api.yaml").write_text(whole)
    doc, result = check(spec)
    assert result.ok, [d.render() for d in result.diagnostics]
    assert doc is not None
    assert doc.data["capability"]["consumes"][0]["baseUri"] == "https://api.example.com"
    (warning,) = [d for d in result.diagnostics if d.code == "W240"]
    assert warning.line == 8  # the import's location
    (tmp_path / "shared" / "api.yaml").write_text(whole.replace("namespace: shared-api", "namespace: other"))
    _doc, result = check(spec)
    assert "E131" in [d.code for d in result.diagnostics if d.is_error]
    assert not any(d.code == "W240" for d in result.diagnostics)


def test_an_imports_list_imports_every_consumed_api_of_each_file(tmp_path: Path):
    spec = _spec(tmp_path, "./shared/api.yaml")
    text = spec.read_text()
    head, _, rest = text.partition("capability:\n")
    exposes = rest[rest.index("  exposes:"):]
    for placement in ("top", "capability"):
        if placement == "top":
            spec.write_text(head + "imports:\n- ./shared/api.yaml\ncapability:\n" + exposes)
        else:
            spec.write_text(head + "capability:\n  imports:\n  - location: ./shared/api.yaml\n" + exposes)
        doc, result = check(spec)
        assert result.ok, [d.render() for d in result.diagnostics]
        assert doc is not None and "imports" not in doc.data and "imports" not in doc.data["capability"]
        assert [c["namespace"] for c in doc.data["capability"]["consumes"]] == ["shared-api"]
        (warning,) = [d for d in result.diagnostics if d.code == "W249"]
        assert warning.line == (5 if placement == "top" else 6)
    spec.write_text(head + "imports:\n- ./shared/none.yaml\ncapability:\n" + exposes)
    _doc, result = check(spec)
    assert "E130" in [d.code for d in result.diagnostics if d.is_error]
