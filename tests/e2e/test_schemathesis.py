"""Schemathesis, a client nobody here wrote, fuzzes the REST service from the OpenAPI document
it serves, with the local upstream behind it: no server error of the service's own, and every
answer conforms to the document (status, content type, headers, schema)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.processes import RunningProcess, run_package
from support.servers import free_port

from .conftest import Upstream, access_log

EXAMPLES_PER_OPERATION = 25
RUN_TIMEOUT_S = 240

# Schemathesis also learns constraints from 4xx answers. Here those come from the upstream API
# (its validation is stricter than the capability's schema, which accepts any JSON object), so
# what it would learn is not this service's contract: it tests against the document alone.
CONFIG = """\
[phases.coverage]
extra-data-sources = { responses = false }

[phases.fuzzing]
extra-data-sources = { responses = false }
error-feedback = { enabled = false }
"""


def _cli() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which(
        "schemathesis"
    )
    if found is None:
        pytest.fail("schemathesis is not installed; install the project with its test extras")
    return found


@pytest.fixture(scope="module")
def rest_service(mock_server: Upstream) -> Iterator[RunningProcess]:
    port = free_port()
    with run_package(
        ["rest", "--host", "127.0.0.1", "--port", str(port)],
        env=mock_server.env(),
        host="127.0.0.1",
        port=port,
    ) as proc:
        yield proc


def test_schemathesis_finds_nothing(
    rest_service: RunningProcess, upstream: Upstream, tmp_path: Path
) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        _cli(),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{rest_service.base_url}/openapi.json",
        "--checks",
        "all",
        # The capability declares its body as any JSON object; the upstream refuses objects
        # without `batch` (400, passed through), so schema-valid data is not always accepted.
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "20261127",
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
    ]
    result = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    report = result.stdout[-8000:] + result.stderr[-4000:]
    assert result.returncode == 0, report
    assert "Operations:       3 selected / 3 total" in result.stdout, report
    # schema-valid requests went through to the upstream API, and nothing failed on the way
    assert upstream.mock.batch_requests(), report
    statuses = {e["status"] for e in access_log(rest_service.stderr_text())}
    assert statuses and max(statuses) < 500, statuses
