"""The content cache: a hit is byte-identical to computing, and it can be turned off."""

from __future__ import annotations

from pathlib import Path

import pytest

from naftiko_codegen import cache, emit


def test_hit_returns_what_computing_returns(cache_dir: Path):
    calls = []

    def compute(text: str) -> str:
        calls.append(text)
        return text.upper()

    assert cache.cached_text("t", "abc", compute) == "ABC"
    assert cache.cached_text("t", "abc", compute) == "ABC"
    assert calls == ["abc"]
    assert cache.cached_text("t", "abd", compute) == "ABD"
    assert len(list((cache_dir / "t").rglob("*"))) >= 2


def test_formatting_through_the_cache_is_byte_identical(cache_dir: Path):
    source = "x = {  'a':1,\n'b' : [1,2,]}\n"
    first = emit.format_python("m.py", source)
    second = emit.format_python("m.py", source)
    assert first == second == emit._format_with_black(source)


def test_off_disables_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NAFTIKO_GEN_CACHE", "off")
    cache.folder.cache_clear()
    try:
        assert cache.folder() is None
        assert cache.cached_text("t", "x", str.upper) == "X"
    finally:
        cache.folder.cache_clear()


def test_invalid_python_is_a_format_error_not_a_cached_result(cache_dir: Path):
    with pytest.raises(emit.FormatError):
        emit.format_python("bad.py", "def (:\n")
    assert not list((cache_dir).rglob("*")) or all(p.is_dir() for p in cache_dir.rglob("*"))
