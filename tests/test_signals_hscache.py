"""Compiled pattern sets kept on disk (``signals.hscache``): a loaded database answers
exactly as a compiled one, and a damaged, foreign or shared file is never loaded."""

from __future__ import annotations

from pathlib import Path

import hyperscan
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillwatch import signals
from distillwatch.signals import hscache, multimatch
from distillwatch.signals.multimatch import PatternSet

TEXTS = [
    "let's think step by step: why is the sky blue?",
    "grade these two answers and say which is better, score 1-10",
    "rewrite this so it is safe to ask about the government",
    "translate to french: hello world",
    "def f(x): return x * 2  # fix this python bug",
    "",
    "ümlaut 漢字 ไทย",
]


def patterns() -> list[str]:
    return [p for sig in signals.SIGNALS for p in sig.match_patterns()]


def stored(directory: Path) -> list[Path]:
    return [p for p in (directory / "hyperscan").glob("*") if not p.name.startswith(".tmp-")]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DISTILLWATCH_CACHE", str(tmp_path))
    return tmp_path


def test_a_loaded_pattern_set_answers_as_a_compiled_one(cache: Path) -> None:
    first = PatternSet(patterns())  # compiles and stores
    (file,) = stored(cache)
    second = PatternSet(patterns())  # loads
    assert stored(cache) == [file]
    texts = pa.array(TEXTS)
    assert (first.scan(texts).table == second.scan(texts).table).all()
    assert first.scan(texts).table.any()  # the texts do hit patterns


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[PatternSet, PatternSet]:
    """A pattern set compiled without the cache and one loaded from it."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DISTILLWATCH_CACHE", "0")
        compiled = PatternSet(patterns())
        env.setenv("DISTILLWATCH_CACHE", str(tmp_path_factory.mktemp("hs")))
        PatternSet(patterns())  # compiles and stores
        loaded = PatternSet(patterns())
    return compiled, loaded


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=200), min_size=1, max_size=20))
def test_loaded_and_compiled_agree_on_any_text(
    sets: tuple[PatternSet, PatternSet], texts: list[str]
) -> None:
    compiled, loaded = sets
    array = pa.array([t.lower() for t in texts])
    assert (compiled.scan(array).table == loaded.scan(array).table).all()


def _body(cache: Path) -> tuple[Path, bytes]:
    (file,) = stored(cache)
    return file, file.read_bytes()


def test_a_damaged_file_is_compiled_again_and_replaced(cache: Path) -> None:
    PatternSet(patterns())
    file, good = _body(cache)
    file.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    assert hscache.read(file.parent, file.name) is None
    again = PatternSet(patterns())
    assert file.read_bytes() == good
    assert again.scan(pa.array(TEXTS)).table.any()


def test_a_file_with_a_good_digest_that_hyperscan_refuses_is_compiled(cache: Path) -> None:
    PatternSet(patterns())
    file, good = _body(cache)
    assert hscache.write(file.parent, file.name, b"not a database")
    assert hscache.read(file.parent, file.name) == b"not a database"
    again = PatternSet(patterns())
    assert again.patterns and again.scan(pa.array(TEXTS)).table.any()
    assert file.read_bytes() == good


@pytest.mark.parametrize("what", ["file", "directory"])
def test_files_others_can_write_are_not_read(cache: Path, what: str) -> None:
    PatternSet(patterns())
    file, _ = _body(cache)
    target = file if what == "file" else file.parent
    target.chmod(target.stat().st_mode | 0o002)
    assert hscache.read(file.parent, file.name) is None


def test_a_link_is_not_followed(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    PatternSet(patterns())
    file, good = _body(cache)
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "db"
    elsewhere.write_bytes(good)
    elsewhere.chmod(0o600)
    file.unlink()
    file.symlink_to(elsewhere)
    assert hscache.read(file.parent, file.name) is None


def test_turned_off_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTILLWATCH_CACHE", "0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert hscache.cache_dir() is None
    assert PatternSet(patterns()).patterns
    assert not any(tmp_path.rglob("*"))


def test_the_name_changes_with_the_patterns_flags_mode_and_version() -> None:
    base = hscache.key([b"a", b"b"], [0, 0], [0, 1], 1, "0.9.1")
    assert base == hscache.key([b"a", b"b"], [0, 0], [0, 1], 1, "0.9.1")
    assert base != hscache.key([b"ab"], [0], [0], 1, "0.9.1")
    assert base != hscache.key([b"a", b"b"], [0, 8], [0, 1], 1, "0.9.1")
    assert base != hscache.key([b"a", b"b"], [0, 0], [1, 0], 1, "0.9.1")
    assert base != hscache.key([b"a", b"b"], [0, 0], [0, 1], 4, "0.9.1")
    assert base != hscache.key([b"a", b"b"], [0, 0], [0, 1], 1, "0.9.2")


def test_a_refused_pattern_still_refuses_with_the_cache(cache: Path) -> None:
    with pytest.raises(hyperscan.error):
        hscache.compiled(hyperscan, [b"(unclosed"], [0], hyperscan.HS_MODE_BLOCK, _refused)
    assert not stored(cache)


def _refused() -> object:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=[b"(unclosed"], ids=[0], elements=1, flags=[0])
    return database


def test_a_stored_database_is_loaded_not_compiled(cache: Path) -> None:
    wanted = PatternSet(patterns()).patterns  # compiles and stores
    expressions = [p.encode() for p in wanted]
    flags = [multimatch._FLAGS] * len(wanted)

    def must_not_compile() -> object:
        raise AssertionError("compiled although the cache holds the database")

    database = hscache.compiled(
        hyperscan, expressions, flags, hyperscan.HS_MODE_BLOCK, must_not_compile
    )
    hits: list[int] = []
    database.scan(b"let's think step by step", match_event_handler=lambda i, *_: hits.append(i))
    assert hits
