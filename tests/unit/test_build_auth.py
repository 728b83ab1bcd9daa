"""Stage 3 for authentication and forwarding: what the model records for consumed and exposed
authentication and for `forward`, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from naftiko_codegen.build import build
from naftiko_codegen.diagnostics import Diagnostic
from naftiko_codegen.load import load_file

from .test_build import BASE, built, line_of, only_error, variant, write

BASE_URI = "    baseUri: https://api.example.com/v1\n"
REST_NS = "    namespace: demo-rest\n"
MCP_NS = "    namespace: demo-mcp\n"


def with_auth(block: str, text: str = BASE) -> str:
    return variant((BASE_URI, BASE_URI + "    authentication:\n" + block), text=text)


def build_warnings(tmp_path: Path, text: str) -> list[str]:
    """The codes of the warnings the builder gives (validation's are not included)."""
    found: list[Diagnostic] = []
    build(load_file(write(tmp_path, text)), warnings=found)
    return sorted(d.code for d in found)


def test_digest(tmp_path: Path):
    cap = built(tmp_path, with_auth("      type: digest\n      username: '{{env.U}}'\n      password: '{{env.P}}'\n"))
    auth = cap.consumers[0].auth
    assert auth is not None and auth.kind == "digest" and auth.per_request and auth.sets_authorization
    assert cap.required_env == ("P", "U")
    assert cap.per_request_auth and not cap.uses_oauth2


@pytest.mark.parametrize("url_key", ["tokenUrl", "tokenEndpoint"])
def test_oauth2_client_credentials(tmp_path: Path, url_key: str):
    cap = built(tmp_path, with_auth(
        f"      type: oauth2\n      {url_key}: https://auth.example.com/token\n"
        "      clientId: '{{env.CID}}'\n      clientSecret: '{{env.CSECRET}}'\n      scope: read write\n"))
    auth = cap.consumers[0].auth
    assert auth is not None and auth.kind == "oauth2"
    assert auth.token_url == "https://auth.example.com/token"
    assert auth.token_url_env == "API_TOKEN_URL"
    assert auth.scopes == ("read", "write")
    assert cap.required_env == ("CID", "CSECRET")
    assert cap.uses_oauth2


def test_oauth2_other_grants_are_refused(tmp_path: Path):
    text = with_auth("      type: oauth2\n      grantType: password\n      tokenUrl: https://a.example.com/t\n"
                     "      clientId: a\n      clientSecret: b\n")
    error = only_error(tmp_path, text, "E300")
    assert "grant type `password`" in error.message


def test_oauth2_token_url_must_be_absolute(tmp_path: Path):
    text = with_auth("      type: oauth2\n      tokenUrl: /token\n      clientId: a\n      clientSecret: b\n")
    error = only_error(tmp_path, text, "E161")
    assert error.line == line_of(text, "tokenUrl: /token")


def test_api_key_over_several_headers(tmp_path: Path):
    text = with_auth("      type: apikey\n      headers:\n        DD-API-KEY: '{{env.A}}'\n"
                     "        DD-APPLICATION-KEY: 'app {{env.B}}'\n")
    text = variant(("        - name: id\n          in: path\n",
                    "        - name: id\n          in: path\n        - name: dd-application-key\n          in: header\n"),
                   text=text)
    assert "W213" in build_warnings(tmp_path, text)  # the parameter carrying a credential header is not an argument
    cap = built(tmp_path, text)
    auth = cap.consumers[0].auth
    assert auth is not None
    assert [(n, v.env_vars) for n, v in auth.header_pairs] == [("DD-API-KEY", ("A",)),
                                                               ("DD-APPLICATION-KEY", ("B",))]
    assert [p.name for p in cap.operations[0].parameters] == ["id"]
    assert cap.required_env == ("A", "B")


def test_hmac_signing_is_refused_by_name(tmp_path: Path):
    text = with_auth("      type: hmac\n      apiId: '{{env.ID}}'\n      apiKey: '{{env.KEY}}'\n")
    error = only_error(tmp_path, text, "E300")
    assert "HMAC request signing" in error.message and error.line == line_of(text, "type: hmac")


def test_unknown_schemes_are_refused_by_validation(tmp_path: Path):
    text = with_auth("      type: kerberos\n")
    error = only_error(tmp_path, text, "E112")
    assert "kerberos" in error.message and error.line == line_of(text, "type: kerberos")


def test_oauth1_signs_with_the_key_from_the_environment(tmp_path: Path):
    # the block Mastercard's capabilities carry
    text = with_auth("      type: oauth1\n      consumerKey: '{{env.CK}}'\n      signingKey: '{{env.SK}}'\n")
    text = variant(("        - name: id\n          in: path\n",
                    "        - name: id\n          in: path\n        - name: Authorization\n          in: header\n"),
                   text=text)
    assert "W213" in build_warnings(tmp_path, text)  # the signature is the Authorization header
    cap = built(tmp_path, text)
    auth = cap.consumers[0].auth
    assert auth is not None and auth.kind == "oauth1" and auth.per_request and auth.sets_authorization
    assert auth.consumer_key is not None and auth.consumer_key.env_vars == ("CK",)
    assert auth.signing_key is not None and auth.signing_key.env_vars == ("SK",)
    assert [p.name for p in cap.operations[0].parameters] == ["id"]
    assert cap.required_env == ("CK", "SK")
    assert cap.uses_oauth1 and cap.per_request_auth and not cap.uses_oauth2


def test_only_oauth1_packages_need_cryptography(tmp_path: Path):
    from naftiko_codegen.pipeline import generate

    signed = write(tmp_path, with_auth("      type: oauth1\n      consumerKey: '{{env.CK}}'\n"
                                       "      signingKey: '{{env.SK}}'\n"))
    result = generate(signed, tmp_path)
    assert result.ok
    assert "cryptography" in result.files["requirements.txt"]
    assert "from cryptography" in result.files["_runtime.py"]
    plain = tmp_path / "plain"
    plain.mkdir()
    result = generate(write(plain, with_auth("      type: bearer\n      token: '{{env.T}}'\n")), plain)
    assert result.ok
    assert "cryptography" not in result.files["requirements.txt"]
    assert "cryptography" not in result.files["_runtime.py"] and "OAuth1" not in result.files["client.py"]


@pytest.mark.parametrize(("block", "code", "where"), [
    ("      type: oauth1\n      consumerKey: '{{env.CK}}'\n", "E210", "type: oauth1"),
    ("      type: oauth1\n      signingKey: '{{env.SK}}'\n", "E210", "type: oauth1"),
    ("      type: oauth1\n      consumerKey: '{{env.CK}}'\n      signingKey: '-----BEGIN PRIVATE KEY-----'\n",
     "E211", "signingKey:"),
])
def test_oauth1_needs_both_keys_and_a_key_from_the_environment(tmp_path: Path, block: str, code: str, where: str):
    text = with_auth(block)
    error = only_error(tmp_path, text, code)
    assert error.line == line_of(text, where)


def test_exposed_authentication_on_rest_and_mcp(tmp_path: Path):
    text = variant(
        (REST_NS, REST_NS + "    authentication:\n      type: bearer\n      token: '{{env.SVC}}'\n"),
        (MCP_NS, MCP_NS + "    authentication:\n      type: basic\n      username: ops\n"
                          "      password: '{{env.PW}}'\n"),
    )
    cap = built(tmp_path, text)
    assert cap.rest is not None and cap.rest.auth is not None and cap.mcp is not None and cap.mcp.auth is not None
    assert (cap.rest.auth.kind, cap.rest.auth.secret.env_vars, cap.rest.auth.realm) == ("bearer", ("SVC",), "demo-rest")
    assert (cap.mcp.auth.kind, cap.mcp.auth.env_vars, cap.mcp.auth.username.literal) == ("basic", ("PW",), "ops")
    assert "W230" not in build_warnings(tmp_path, text)


def test_exposed_credential_written_in_the_spec_is_a_warning(tmp_path: Path):
    text = variant((REST_NS, REST_NS + "    authentication:\n      type: apikey\n      key: X-Key\n"
                                       "      value: abc123\n      placement: query\n"))
    assert "W230" in build_warnings(tmp_path, text)
    cap = built(tmp_path, text)
    assert cap.rest is not None and cap.rest.auth is not None
    assert (cap.rest.auth.key, cap.rest.auth.placement, cap.rest.auth.secret.literal) == ("X-Key", "query", "abc123")


@pytest.mark.parametrize("kind", ["digest", "oauth2"])
def test_exposed_challenge_schemes_are_refused(tmp_path: Path, kind: str):
    text = variant((MCP_NS, MCP_NS + f"    authentication:\n      type: {kind}\n"))
    error = only_error(tmp_path, text, "E300")
    assert "exposed adapter" in error.message


FORWARD = """\
    - path: /proxy/{{path}}
      forward:
        targetNamespace: api
        trustedHeaders: [X-Trace, Notion-Version]
"""


def test_forward(tmp_path: Path):
    text = variant(
        ("    resources:\n    - path: /items/{id}\n      operations:\n",
         "    resources:\n" + FORWARD + "    - path: /items/{id}\n      operations:\n"),
        ("    baseUri: https://api.example.com/v1\n",
         ("    baseUri: https://api.example.com/v1\n    inputParameters:\n"
          "    - {name: X-Version, in: header, value: '{{env.V}}'}\n")),
    )
    cap = built(tmp_path, text)
    assert cap.rest is not None
    (forward,) = cap.rest.forwards
    assert (forward.prefix, forward.route, forward.consumer) == ("/proxy/", "/proxy/{rest:path}", "api")
    assert forward.trusted_headers == ("x-trace", "notion-version")
    consumer = cap.consumers[0]
    assert consumer.forwarded
    assert [(n, t.env_vars) for n, t in consumer.forward_headers] == [("X-Version", ("V",))]
    assert "V" in cap.required_env


def test_forward_to_an_unknown_namespace(tmp_path: Path):
    text = variant(("    resources:\n    - path: /items/{id}\n      operations:\n",
                    "    resources:\n" + FORWARD.replace("targetNamespace: api", "targetNamespace: apx")
                    + "    - path: /items/{id}\n      operations:\n"))
    error = only_error(tmp_path, text, "E163")
    assert error.line == line_of(text, "targetNamespace: apx")


def test_forward_needs_a_trailing_placeholder(tmp_path: Path):
    text = variant(("    resources:\n    - path: /items/{id}\n      operations:\n",
                    "    resources:\n" + FORWARD.replace("/proxy/{{path}}", "/proxy/{{path}}/tail")
                    + "    - path: /items/{id}\n      operations:\n"))
    error = only_error(tmp_path, text, "E300")
    assert "`forward` on a path" in error.message
