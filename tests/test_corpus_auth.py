"""Authentication and forwarding through the corpus harness (tests/corpus_report.py): a
capability using every authentication naftiko-gen sends upstream, exposed authentication and
`forward` generates a package whose calls the harness checks against what it computes from the
spec alone."""

from __future__ import annotations

from pathlib import Path

from corpus_report import run

SPEC = Path(__file__).resolve().parent / "data" / "auth" / "harness-auth.yaml"


def test_every_authentication_reaches_the_upstream_as_the_spec_says(tmp_path: Path) -> None:
    (outcome,) = run([SPEC], tmp_path)
    assert outcome.status == "generated", outcome
