"""The generated HTTP client against the Customer.io mock on loopback."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from track_batch.client import (
    ApiError,
    ApiStatusError,
    AsyncClient,
    Client,
    ConfigurationError,
    UpstreamConnectError,
    UpstreamTimeoutError,
)

from .conftest import EXAMPLE_NUMBERS, Example, Upstream

WRONG_PASSWORD = "not-the-key"


def _prepare(
    example: Example, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """Set up the mock and environment an example needs; return the credentials in use."""
    user, password = upstream.credentials
    if example.expected_status == 401:
        monkeypatch.setenv("CUSTOMER_IO_PASS", WRONG_PASSWORD)
        password = WRONG_PASSWORD
    if example.expected_status == 429:
        upstream.mock.queue_fault({"status": 429, "retry_after": 2})
    return user, password


def _check_outcome(example: Example, status: int, headers: Any, payload: Any) -> None:
    assert status == example.expected_status, (example.name, payload)
    if status == 200:
        assert payload == {}
    elif status == 207:
        assert {e["batch_index"] for e in payload["errors"]} == example.expected_batch_indexes
    elif status == 400:
        assert payload["errors"], payload
        assert all("batch_index" not in e for e in payload["errors"])
    elif status == 401:
        assert payload == {"meta": {"error": "Unauthorized request"}}
    elif status == 429:
        assert headers.get("retry-after") == "2"


def _payload(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


@pytest.mark.parametrize("number", EXAMPLE_NUMBERS)
def test_sync_client_examples(
    number: int,
    examples: dict[int, Example],
    client_env: Upstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = examples[number]
    credentials = _prepare(example, client_env, monkeypatch)
    with Client() as client:
        if example.expected_status >= 400:
            with pytest.raises(ApiStatusError) as info:
                client.trackbatch(body=example.body)
            err = info.value
            assert err.status_code == example.expected_status
            assert err.response.status_code == example.expected_status
            _check_outcome(
                example,
                err.response.status_code,
                err.response.headers,
                _payload(err.response.content),
            )
        else:
            resp = client.trackbatch(body=example.body)
            assert resp.status_code == example.expected_status
            assert resp.json() == json.loads(resp.content)
            _check_outcome(example, resp.status_code, resp.headers, resp.json())
    client_env.assert_forwarded(example.body, credentials)


@pytest.mark.parametrize("number", EXAMPLE_NUMBERS)
def test_async_client_examples(
    number: int,
    examples: dict[int, Example],
    client_env: Upstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = examples[number]
    credentials = _prepare(example, client_env, monkeypatch)

    async def call() -> tuple[int, Any, Any]:
        async with AsyncClient() as client:
            try:
                resp = await client.trackbatch(body=example.body)
            except ApiStatusError as err:
                assert err.status_code == err.response.status_code
                return err.status_code, err.response.headers, _payload(err.response.content)
            assert resp.status_code < 400
            return resp.status_code, resp.headers, resp.json()

    status, headers, payload = anyio.run(call)
    _check_outcome(example, status, headers, payload)
    client_env.assert_forwarded(example.body, credentials)


def test_explicit_base_uri_wins_over_env(
    client_env: Upstream,
    monkeypatch: pytest.MonkeyPatch,
    closed_base_uri: str,
    examples: dict[int, Example],
) -> None:
    monkeypatch.setenv("TRACK_BATCH_BASE_URI", closed_base_uri)
    client = Client(client_env.base_uri)
    try:
        assert client.trackbatch(body=examples[1].body).status_code == 200
    finally:
        client.close()
    client_env.assert_forwarded(examples[1].body, client_env.credentials)


def test_connect_error(
    client_env: Upstream, closed_base_uri: str, examples: dict[int, Example]
) -> None:
    with (
        Client(closed_base_uri, timeout=5.0) as client,
        pytest.raises(UpstreamConnectError) as info,
    ):
        client.trackbatch(body=examples[1].body)
    assert isinstance(info.value, ApiError)

    async def call() -> None:
        async with AsyncClient(closed_base_uri, timeout=5.0) as client:
            await client.trackbatch(body=examples[1].body)

    with pytest.raises(UpstreamConnectError):
        anyio.run(call)
    assert client_env.mock.requests == []


def test_timeout(client_env: Upstream, examples: dict[int, Example]) -> None:
    client_env.mock.queue_fault({"delay_s": 2.0})
    with Client(timeout=0.3) as client, pytest.raises(UpstreamTimeoutError) as info:
        client.trackbatch(body=examples[1].body)
    assert isinstance(info.value, ApiError)

    client_env.mock.queue_fault({"delay_s": 2.0})

    async def call() -> None:
        async with AsyncClient(timeout=0.3) as client:
            await client.trackbatch(body=examples[1].body)

    with pytest.raises(UpstreamTimeoutError):
        anyio.run(call)


def test_async_close(client_env: Upstream) -> None:
    async def open_and_close() -> None:
        client = AsyncClient()
        await client.aclose()

    anyio.run(open_and_close)


def test_missing_credentials_name_both(
    monkeypatch: pytest.MonkeyPatch, client_env: Upstream
) -> None:
    monkeypatch.delenv("CUSTOMER_IO_USER")
    monkeypatch.delenv("CUSTOMER_IO_PASS")
    for cls in (Client, AsyncClient):
        with pytest.raises(ConfigurationError) as info:
            cls()
        message = str(info.value)
        assert "CUSTOMER_IO_USER" in message and "CUSTOMER_IO_PASS" in message, message


def test_missing_one_credential_is_named(
    monkeypatch: pytest.MonkeyPatch, client_env: Upstream
) -> None:
    monkeypatch.delenv("CUSTOMER_IO_PASS")
    with pytest.raises(ConfigurationError) as info:
        Client()
    assert "CUSTOMER_IO_PASS" in str(info.value)
