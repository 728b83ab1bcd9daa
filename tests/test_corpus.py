"""Real capabilities (the vendored sample of tests/data/corpus-sample): each one either
generates a package that works (imports, lint clean, every route and tool present, every
operation reaching a local upstream as the spec implies) or is refused with a located
diagnostic. Never a crash, never a broken package. The whole shared corpus runs through the
same checks with `python tests/corpus_report.py ../shared/corpus --report docs/corpus.md`."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_report import run

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "corpus-sample"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory):
    specs = sorted(p for p in SAMPLE.glob("*") if p.suffix in (".yaml", ".yml"))
    return run(specs, tmp_path_factory.mktemp("corpus"))


def test_no_generated_package_is_broken(outcomes):
    broken = [f"{o.spec}: {o.detail}" for o in outcomes if o.status == "broken"]
    assert not broken, "\n".join(broken)


def test_every_refusal_names_a_line_and_a_code(outcomes):
    for o in outcomes:
        if o.status == "refused":
            line, _, rest = o.detail.partition(" ")
            assert line.split(":")[0].isdigit() and int(line.split(":")[0]) >= 1, o
            assert rest[:1] in "EW" and rest[1:4].isdigit(), o
            assert "E900" not in rest, f"internal error on {o.spec}: {o.detail}"


def _expected() -> dict[str, tuple[str, str]]:
    """spec -> (status, first error code or "") as tests/data/corpus-sample/expected.tsv records."""
    rows = (SAMPLE / "expected.tsv").read_text("utf-8").splitlines()[1:]
    return {spec: (status, code) for spec, status, code in (row.split("\t") for row in rows)}


def test_every_sample_spec_has_the_outcome_recorded_for_it(outcomes):
    # Exact, not a floor: a spec that stops generating, or is refused for another reason, is a
    # regression; one that starts generating is progress to record (update expected.tsv).
    got = {o.spec: (o.status, o.detail.split(" ")[1] if o.status == "refused" else "") for o in outcomes}
    assert got == _expected()


def test_a_flattened_corpus_is_laid_out_in_its_original_tree(tmp_path: Path):
    from corpus_report import lay_out

    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "SOURCES.tsv").write_text(
        "file\trepo\tcommit\tpath\n"
        "acme__app.yaml\tacme/apis\tabc\tcapabilities/app.yaml\n"
        "acme__api.yaml\tacme/apis\tabc\tcapabilities/shared/api.yaml\n")
    (flat / "acme__app.yaml").write_text("import: ./shared/api.yaml\n")
    (flat / "acme__api.yaml").write_text("consumes: []\n")
    (flat / "loose.yaml").write_text("x: 1\n")
    placed = lay_out(flat, tmp_path / "tree")
    by_name = {name: path.relative_to(tmp_path / "tree").as_posix() for path, name in placed.items()}
    assert by_name == {
        "acme__app.yaml": "acme/apis/capabilities/app.yaml",
        "acme__api.yaml": "acme/apis/capabilities/shared/api.yaml",
        "loose.yaml": "_flat/loose.yaml",
    }
    app = next(path for path, name in placed.items() if name == "acme__app.yaml")
    assert (app.parent / "shared" / "api.yaml").read_text() == "consumes: []\n"
