"""OAuth 1.0a request signing through the corpus harness (tests/corpus_report.py): a package
generated from tests/data/auth/harness-oauth1.yaml signs every request so that the harness's
recorder, which rebuilds the base string from the request as received, verifies it; a package
whose signing is wrong in any part is reported broken, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from corpus_report import check_package, run, upstream

from naftiko_codegen import output
from naftiko_codegen.pipeline import generate

SPEC = Path(__file__).resolve().parent / "data" / "auth" / "harness-oauth1.yaml"
SAMPLE = Path(__file__).resolve().parent / "data" / "corpus-sample" / "mastercard__currency-conversion.yaml"


def test_signed_requests_verify(tmp_path: Path) -> None:
    outcomes = run([SPEC, SAMPLE], tmp_path)
    assert [o.status for o in outcomes] == ["generated", "generated"], outcomes


# each: a line of the generated _runtime.py, and a wrong version of it
WRONG = {
    "query left out": ('pairs = parse_qsl(url.query.decode("ascii"), keep_blank_values=True) + list(oauth.items())',
                       "pairs = list(oauth.items())"),
    "sorted as joined text": (
        'f"{k}={v}" for k, v in sorted((oauth_quote(k), oauth_quote(v)) for k, v in pairs)',
        'f"{k}={v}" for k, v in sorted(((oauth_quote(k), oauth_quote(v)) for k, v in pairs), key="=".join)'),
    "port dropped": ('authority = url.netloc.decode("ascii").lower()',
                     'authority = url.netloc.decode("ascii").lower().partition(":")[0]'),
    "body not hashed": ('hashlib.sha256(body).digest()', 'hashlib.sha256(b"").digest()'),
    "uri not encoded": ('oauth_quote(f"{scheme}://{authority}{path}")', 'f"{scheme}://{authority}{path}"'),
}


@pytest.mark.parametrize("mistake", sorted(WRONG))
def test_a_wrong_signature_is_reported_broken(tmp_path: Path, mistake: str) -> None:
    result = generate(SPEC, SPEC.parent)
    assert result.ok
    output.write(tmp_path, {result.package: result.files})
    runtime = tmp_path / result.package / "_runtime.py"
    right, wrong = WRONG[mistake]
    text = runtime.read_text("utf-8")
    assert right in text
    runtime.write_text(text.replace(right, wrong), "utf-8")
    spec_text = SPEC.read_text("utf-8")
    with upstream() as (url, recorder):
        problems = check_package(tmp_path, result.package, yaml.safe_load(spec_text), spec_text, url, recorder)
    assert any(p.startswith("OAuth 1.0a ") and ("does not verify" in p or "body_hash" in p) for p in problems), problems
