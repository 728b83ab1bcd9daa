"""OAuth 1.0a request signing, end to end: a package generated from tests/data/auth/oauth1-demo.yaml
(the authentication block of Mastercard's capabilities) sends its requests to a local upstream
that records them as received. The test generates its own RSA key, rebuilds each request's
signature base string from what the upstream received (RFC 5849 section 3.4.1, written here
without the generated code's help) and verifies the signature with the public key; the body hash
is recomputed from the body received."""

from __future__ import annotations

import base64
import hashlib
import importlib
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from support.servers import answer_lifespan, read_body, serve_asgi

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

SPEC = Path(__file__).resolve().parents[1] / "data" / "auth" / "oauth1-demo.yaml"
PACKAGE = "oauth1_demo"
CONSUMER_KEY = "consumer-key-SECRET1!abc"
UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
OAUTH_PARAMS = {"oauth_body_hash", "oauth_consumer_key", "oauth_nonce", "oauth_signature",
                "oauth_signature_method", "oauth_timestamp", "oauth_version"}


class Upstream:
    """Records every request as received; answers `statuses` in turn, then 200."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.statuses: list[int] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        body = await read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.seen.append({
            "method": scope["method"],
            "host": headers.get("host", ""),
            "path": scope["raw_path"].decode("ascii").partition("?")[0],
            "query": scope["query_string"].decode("ascii"),
            "authorization": headers.get("authorization", ""),
            "body": body,
        })
        status = self.statuses.pop(0) if self.statuses else 200
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})


def encode(text: str) -> str:
    """RFC 5849 section 3.6."""
    return "".join(chr(b) if chr(b) in UNRESERVED else f"%{b:02X}" for b in text.encode())


def base_string(seen: dict[str, Any], oauth: dict[str, str]) -> str:
    params = parse_qsl(seen["query"], keep_blank_values=True)
    params += [(k, v) for k, v in oauth.items() if k != "oauth_signature"]
    normalised = "&".join(f"{k}={v}" for k, v in sorted((encode(k), encode(v)) for k, v in params))
    uri = f"http://{seen['host'].lower()}{seen['path']}"
    return "&".join((seen["method"], encode(uri), encode(normalised)))


def verified(seen: dict[str, Any], public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """The OAuth parameters of a request whose signature verifies (else an exception)."""
    header = seen["authorization"]
    assert header.startswith("OAuth "), header
    pairs = re.findall(r'([^=,\s]+)="([^"]*)"', header[len("OAuth "):])
    oauth = {unquote(k): unquote(v) for k, v in pairs}
    assert set(oauth) == OAUTH_PARAMS, header
    assert oauth["oauth_consumer_key"] == CONSUMER_KEY
    assert (oauth["oauth_signature_method"], oauth["oauth_version"]) == ("RSA-SHA256", "1.0")
    assert oauth["oauth_body_hash"] == base64.b64encode(hashlib.sha256(seen["body"]).digest()).decode()
    assert oauth["oauth_nonce"] and oauth["oauth_timestamp"].isdigit()
    public_key.verify(base64.b64decode(oauth["oauth_signature"]), base_string(seen, oauth).encode(),
                      padding.PKCS1v15(), hashes.SHA256())
    return oauth


def pem(key: Any, password: bytes | None = None) -> str:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption).decode()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, Upstream]]:
    state = Upstream()
    with serve_asgi(state) as url:
        yield url, state


@pytest.fixture(scope="module")
def package(upstream: tuple[str, Upstream], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    url, _state = upstream
    root = tmp_path_factory.mktemp("oauth1")
    spec = root / "oauth1-demo.yaml"
    spec.write_text(SPEC.read_text("utf-8").replace("UPSTREAM", url), "utf-8")
    result = generate(spec, root)
    assert result.ok, [str(d) for d in result.diagnostics]
    assert "cryptography" in result.files["requirements.txt"]
    output.write(root / "out", {result.package: result.files})
    sys.path.insert(0, str(root / "out"))
    try:
        module = importlib.import_module(f"{PACKAGE}.client")
        module.__dict__["_generated_into"] = root / "out"
        yield module
    finally:
        sys.path.remove(str(root / "out"))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture
def env(key: rsa.RSAPrivateKey) -> dict[str, str]:
    return {"MASTERCARD_CONSUMER_KEY": CONSUMER_KEY, "MASTERCARD_SIGNING_KEY": pem(key)}


def test_each_request_is_signed_over_its_query_and_body(
    package: ModuleType, upstream: tuple[str, Upstream], key: rsa.RSAPrivateKey, env: dict[str, str]
) -> None:
    _url, state = upstream
    del state.seen[:]
    with package.Client(environ=env) as client:
        # values that need encoding, a repeated name (sorted by value) and a path variable
        client.get_rate(kind="spot rate", fx_date="2026-11-27", trans_curr="EUR/€ + & ~=x", tags=["b", "a"])
        client.post_rate(kind="spot", payload_={"rate": 1.5, "note": "ü"})
    get, post = state.seen
    assert get["query"].count("tags=") == 2 and get["path"].endswith("/spot%20rate")
    nonces = {verified(get, key.public_key())["oauth_nonce"], verified(post, key.public_key())["oauth_nonce"]}
    assert len(nonces) == 2
    assert get["body"] == b"" and post["body"]  # the body hash covers the JSON body as sent


def test_a_wrong_base_string_does_not_verify(
    package: ModuleType, upstream: tuple[str, Upstream], key: rsa.RSAPrivateKey, env: dict[str, str]
) -> None:
    """The checks above can fail: the same request with another query, path or body is refused."""
    _url, state = upstream
    del state.seen[:]
    with package.Client(environ=env) as client:
        client.get_rate(kind="spot", fx_date="2026-11-27", trans_curr="EUR", tags=["a"])
    seen = state.seen[-1]
    verified(seen, key.public_key())
    for change in ({"query": seen["query"].replace("EUR", "USD")}, {"path": seen["path"] + "x"},
                   {"method": "POST"}):
        with pytest.raises(InvalidSignature):
            verified({**seen, **change}, key.public_key())
    with pytest.raises(AssertionError):
        verified({**seen, "body": b"{}"}, key.public_key())


def test_the_async_client_and_a_retry_sign_each_request_afresh(
    package: ModuleType, upstream: tuple[str, Upstream], key: rsa.RSAPrivateKey, env: dict[str, str]
) -> None:
    _url, state = upstream
    del state.seen[:]
    state.statuses = [503]

    async def call() -> None:
        async with package.AsyncClient(environ=env, retries=1) as client:
            await client.get_rate(kind="spot", fx_date="2026-11-27", trans_curr="EUR")

    anyio.run(call)
    assert len(state.seen) == 2  # the 503, then the retry
    first, second = (verified(seen, key.public_key()) for seen in state.seen)
    assert first["oauth_nonce"] != second["oauth_nonce"]


def test_the_key_may_be_a_file_or_written_on_one_line(
    package: ModuleType, upstream: tuple[str, Upstream], key: rsa.RSAPrivateKey, env: dict[str, str],
    tmp_path: Path,
) -> None:
    _url, state = upstream
    key_file = tmp_path / "signing.pem"
    # the traditional `BEGIN RSA PRIVATE KEY` form, as openssl writes it from a PKCS#12 file
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    one_line = env["MASTERCARD_SIGNING_KEY"].replace("\n", "\\n")
    for value in (str(key_file), one_line):
        del state.seen[:]
        with package.Client(environ={**env, "MASTERCARD_SIGNING_KEY": value}) as client:
            client.post_rate(kind="spot", payload_={"n": 1})
        verified(state.seen[-1], key.public_key())


@pytest.mark.parametrize("what", ["garbage", "missing-file", "not-pem-file", "encrypted", "ec"])
def test_a_bad_key_fails_the_client_before_any_call_without_showing_it(
    package: ModuleType, upstream: tuple[str, Upstream], env: dict[str, str], tmp_path: Path, what: str
) -> None:
    _url, state = upstream
    del state.seen[:]
    secret = "SECRETKEYMATERIAL"
    (tmp_path / "key.p12").write_bytes(b"\x30\x82" + secret.encode())
    value = {
        "garbage": f"-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n",
        "missing-file": str(tmp_path / secret),
        "not-pem-file": str(tmp_path / "key.p12"),
        "encrypted": pem(rsa.generate_private_key(public_exponent=65537, key_size=1024), b"pw"),
        "ec": pem(ec.generate_private_key(ec.SECP256R1())),
    }[what]
    runtime = importlib.import_module(f"{PACKAGE}._runtime")
    with pytest.raises(runtime.ConfigurationError) as caught:
        package.Client(environ={**env, "MASTERCARD_SIGNING_KEY": value})
    message = str(caught.value)
    assert "MASTERCARD_SIGNING_KEY" in message and "OAuth 1.0a signing key" in message
    assert secret not in message and "PRIVATE KEY" not in message
    assert not state.seen


def test_a_refused_signature_names_no_credential(
    package: ModuleType, upstream: tuple[str, Upstream], env: dict[str, str]
) -> None:
    _url, state = upstream
    state.statuses = [401]
    with package.Client(environ=env) as client:
        with pytest.raises(package.ApiStatusError) as caught:
            client.post_rate(kind="spot", payload_={})
        assert "<hidden>" in repr(client._config.rates_auth)
    assert CONSUMER_KEY not in str(caught.value) and "PRIVATE" not in repr(caught.value)


def test_a_forwarded_request_is_signed_over_the_body_it_carries(
    package: ModuleType, upstream: tuple[str, Upstream], key: rsa.RSAPrivateKey, env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _url, state = upstream
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    rest = importlib.import_module(f"{PACKAGE}.rest")
    del state.seen[:]
    with serve_asgi(rest.app) as url, httpx.Client(base_url=url, timeout=10) as http:
        answer = http.post("/raw/rates/x?b=2&a=1&a=0", content=b"raw body \x00\xff",
                           headers={"Content-Type": "application/octet-stream"})
        assert answer.status_code == 200
        assert http.get("/rates/spot", params={"fxDate": "2026-11-27", "transCurr": "EUR"}).status_code == 200
    forwarded, operation = state.seen
    assert forwarded["body"] == b"raw body \x00\xff" and forwarded["query"] == "b=2&a=1&a=0"
    verified(forwarded, key.public_key())
    verified(operation, key.public_key())


def test_generated_code_is_lint_and_type_clean(package: ModuleType, tmp_path: Path) -> None:
    """The signing branch (and its `cryptography` imports) is held to the committed packages' bar,
    like every other branch."""
    out = package.__dict__["_generated_into"]
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "E,F,W,I,B,UP,PYI",
         "--line-length", "100", str(out / PACKAGE)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "-p", PACKAGE],
        cwd=out, capture_output=True, text=True, timeout=300, check=False,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
