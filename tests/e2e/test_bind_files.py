"""Binds read from a file (`location`): a variant of track-batch whose Basic credentials come
from a YAML file relative to the working directory. The generated client reads the file when it
is created, the environment variable named like a key wins over the file, the file can be moved
with `<PACKAGE>_<NAMESPACE>_BINDS_FILE`, and a missing file or key stops the service at start-up
naming them, never a value."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from support.processes import run_to_exit
from support.servers import free_port

from .conftest import Upstream, generate_variant

PACKAGE = "track_batch_filebinds"
FILE_ENV = "TRACK_BATCH_FILEBINDS_CUSTOMERIO_BINDS_FILE"
BODY = {"batch": [{"type": "person", "action": "identify", "identifiers": {"id": "u1"}}]}
BINDS = (
    "binds:\n- namespace: customerio\n  location: file:///./conf/secrets.yaml\n  keys:\n"
    "    CUSTOMER_IO_USER: site-id\n    CUSTOMER_IO_PASS: api-key\n"
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_variant(
        tmp_path_factory.mktemp("filebinds"),
        "track-batch-filebinds",
        ("binds:\n- namespace: env\n  keys:\n    CUSTOMER_IO_API_KEY: CUSTOMER_IO_API_KEY\n", BINDS),
        # both spellings: the bare key and the key under its namespace
        ("'{{env.CUSTOMER_IO_USER}}'", "'{{CUSTOMER_IO_USER}}'"),
        ("'{{env.CUSTOMER_IO_PASS}}'", "'{{customerio.CUSTOMER_IO_PASS}}'"),
    )


@pytest.fixture
def client_module(generated: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    for name in ("CUSTOMER_IO_USER", "CUSTOMER_IO_PASS", FILE_ENV):
        monkeypatch.delenv(name, raising=False)
    sys.path.insert(0, str(generated))
    try:
        yield importlib.import_module(f"{PACKAGE}.client")
    finally:
        sys.path.remove(str(generated))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _write(folder: Path, user: str, password: str) -> Path:
    (folder / "conf").mkdir(parents=True, exist_ok=True)
    path = folder / "conf" / "secrets.yaml"
    # the shapes real files have: a comment, quoted and plain values, unrelated keys
    path.write_text(
        f"# Customer.io credentials\nsite-id: \"{user}\"\napi-key: '{password}'\nother: plain text\n",
        "utf-8",
    )
    return path


def test_the_client_reads_the_file_relative_to_the_working_directory(
    client_module: ModuleType, upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, password = upstream.credentials
    _write(tmp_path, user, password)
    monkeypatch.chdir(tmp_path)
    with client_module.Client(base_uri=upstream.base_uri) as client:
        assert client.trackbatch(body=BODY).status_code == 200
    upstream.assert_forwarded(BODY, (user, password))


def test_the_environment_wins_over_the_file_and_the_file_can_be_moved(
    client_module: ModuleType, upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, password = upstream.credentials
    moved = _write(tmp_path / "elsewhere", user, "not-the-key")
    monkeypatch.chdir(tmp_path)  # no conf/ here: only the moved file exists
    monkeypatch.setenv(FILE_ENV, str(moved))
    monkeypatch.setenv("CUSTOMER_IO_PASS", password)
    with client_module.Client(base_uri=upstream.base_uri) as client:
        assert client.trackbatch(body=BODY).status_code == 200
    upstream.assert_forwarded(BODY, (user, password))


def test_a_missing_key_or_file_stops_the_client_naming_it(
    client_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "secrets.yaml").write_text("site-id: site-VALUE-1\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(client_module.ConfigurationError) as info:
        client_module.Client(base_uri="http://127.0.0.1:9")
    message = str(info.value)
    assert "./conf/secrets.yaml" in message and "'api-key' is missing" in message
    assert "CUSTOMER_IO_PASS" in message and "site-VALUE-1" not in message
    assert info.value.missing == ("CUSTOMER_IO_PASS",)
    (tmp_path / "conf" / "secrets.yaml").unlink()
    with pytest.raises(client_module.ConfigurationError, match=r"cannot read the bind file ./conf"):
        client_module.Client(base_uri="http://127.0.0.1:9")


def test_the_service_refuses_to_start_without_its_bind_file(generated: Path, tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "secrets.yaml").write_text("site-id: site-VALUE-2\napi-key:\n", "utf-8")
    result = run_to_exit(["rest", "--port", str(free_port())], env={}, cwd=tmp_path,
                         pythonpath=generated, package=PACKAGE, timeout=30.0)
    assert result.returncode == 78, result
    assert "'api-key' is empty" in result.stderr and "Traceback" not in result.stderr
    assert "site-VALUE-2" not in result.stderr + result.stdout
