"""Golden diagnostics, one folder per case (sqlc's end-to-end layout): `spec.yaml`, optional
`args` (extra command-line arguments), and the expected `stderr.txt` and `exit_code` of
`naftiko-gen generate spec.yaml --out out`. Regenerate the expectations after a deliberate
change with `NAFTIKO_UPDATE_GOLDEN=1 python -m pytest tests/test_diagnostics_golden.py`, then
read the diff."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "data" / "diagnostics"
UPDATE = bool(os.environ.get("NAFTIKO_UPDATE_GOLDEN"))


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_case(case: str, tmp_path: Path):
    source = CASES / case
    work = tmp_path / case
    work.mkdir()
    shutil.copy(source / "spec.yaml", work / "spec.yaml")
    extra = (source / "args").read_text().split() if (source / "args").exists() else []
    result = subprocess.run(
        [sys.executable, "-m", "naftiko_codegen", "generate", "spec.yaml", "--out", "out", *extra],
        cwd=work, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if UPDATE:
        (source / "stderr.txt").write_text(result.stderr)
        (source / "exit_code").write_text(f"{result.returncode}\n")
    assert "Traceback" not in result.stderr
    assert result.stderr == (source / "stderr.txt").read_text()
    assert result.returncode == int((source / "exit_code").read_text())
    if result.returncode != 0:
        assert not (work / "out").exists(), "a failed run must write nothing"


def test_there_are_enough_cases():
    assert len([p for p in CASES.iterdir() if p.is_dir()]) >= 40


def test_every_code_the_generator_emits_is_documented():
    import re

    emitted = set()
    for source in (ROOT / "naftiko_codegen").glob("*.py"):
        emitted |= set(re.findall(r'"([EWS]\d{3})"', source.read_text()))
    documented = set(re.findall(r"^## ([EWS]\d{3}):", (ROOT / "docs" / "diagnostics.md").read_text(), re.MULTILINE))
    assert emitted <= documented, f"undocumented codes: {sorted(emitted - documented)}"
