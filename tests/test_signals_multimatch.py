"""One Hyperscan pass (``signals/multimatch.py``) answers exactly what each RE2 pass answers.

RE2, one pattern at a time (``signals.rematch``), is the definition of every flag and cue
pattern. These tests hold the one-pass answers to it pattern by pattern on adversarial
text built from the patterns' own words and the characters where PCRE and RE2 differ, and
compare whole signal outputs with and without the one pass on real corpus prompts and on
the simulator's prompts.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillwatch.ingest import RequestStream
from distillwatch.signals import SIGNALS, compute, pattern_set, rematch
from distillwatch.signals.multimatch import PatternSet, portable
from distillwatch.signals.view import PromptView

ALL_PATTERNS = tuple(dict.fromkeys(p for sig in SIGNALS for p in sig.match_patterns()))

#: Words of the patterns, and characters on which PCRE and RE2 could part: vertical tab
#: and other spaces (``\\s``), a final newline (``$``), letters of other scripts beside
#: ``\\b``/``\\w`` (ASCII in both), digits of other scripts (``\\d``), combining marks.
PIECES = [
    *"ab_Z9 \t\n\r\x0b\x0c.,:;'\"?!()[]{}<>-+*/=^×÷#",
    "é", "ß", "Σ", "中", "文", "ひ", "カ", "ไ", "한", "Я", "م", "٣", "²", "\u0301",
    "\u200b", "\u3000", "\xa0", "\U0001f600", "\u2028", "İ",
    "step", "by", "step-by-step", "think", "let's", "let us", "reasoning", "explain",
    "your", "the", "show", "work", "grade", "score", "rate", "from 1 to 10", "answer",
    "assistant a", "response b", "rewrite", "politically", "sensitive", "tiananmen",
    "censorship-compliant", "how do i", "guide", "translate", "into french", "def f(",
    "```", "poem", "summarize", "tl;dr", "hello", "what is", "kill", "api", "json",
    "if", "then", "12", "3 + 4", "一步一步", "思考过程", "ステップバイステップ", "шаг за шагом",
    "étape par étape", "paso a paso", "<think>", "chain-of-thought", "one step at a time",
]  # fmt: skip
texts = st.lists(st.lists(st.sampled_from(PIECES), max_size=30).map("".join), max_size=10)


def re2_table(lowered: pa.Array, patterns: tuple[str, ...]) -> np.ndarray:
    """The definition: one RE2 pass per pattern (both of rematch's ways of running it)."""
    columns = []
    for pattern in patterns:
        arrow = rematch.match(lowered, pattern) if len(lowered) >= rematch.SMALL else None
        search = rematch._compiled(pattern).search
        one_by_one = np.array([search(t) is not None for t in lowered.to_pylist()], bool)
        if arrow is not None:
            assert np.array_equal(arrow, one_by_one)
        columns.append(one_by_one)
    return np.stack(columns, axis=1) if columns else np.zeros((len(lowered), 0), bool)


def test_every_pattern_of_the_signals_is_in_the_one_pass() -> None:
    assert ALL_PATTERNS
    assert pattern_set().patterns == ALL_PATTERNS


@settings(max_examples=300, deadline=None)
@given(rows=texts)
def test_the_one_pass_equals_re2_pattern_by_pattern(rows: list[str]) -> None:
    lowered = pa.array(rows, pa.string())
    got = pattern_set().scan(lowered)
    assert np.array_equal(got.table, re2_table(lowered, ALL_PATTERNS))


@settings(max_examples=100, deadline=None)
@given(rows=texts)
def test_lowered_views_give_the_same_signals_either_way(rows: list[str]) -> None:
    batch = pa.record_batch([pa.array(rows, pa.string())], names=["last_user"])
    assert compute(batch, one_pass=True).equals(compute(batch, one_pass=False))


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"a\sb", "a\x0bb"),  # PCRE's \s has the vertical tab, RE2's does not
        (r"ab$", "ab\n"),  # PCRE's $ also matches before a final newline
        (r"\p{Greek}", "Ϳ"),  # Unicode tables of two versions
        (r"(?i)AB", "ab"),
        (r"\x41", "A"),
        (r"[[:alpha:]]", "a"),
        (r"a{,2}", "a{,2}"),
    ],
)
def test_non_portable_patterns_are_left_to_re2(pattern: str, text: str) -> None:
    assert not portable(pattern)
    patterns = PatternSet([pattern, r"\bab"])
    assert pattern not in patterns and r"\bab" in patterns
    lowered = pa.array([text, "ab"], pa.string())
    batch = pa.record_batch([lowered], names=["last_user"])
    view = PromptView.of(batch).use_patterns(patterns)
    expected = rematch.match(view.lowered, pattern)
    assert np.array_equal(view.matches(pattern), expected)
    either = expected | rematch.match(view.lowered, r"\bab")
    assert np.array_equal(view.matches_any((pattern, r"\bab")), either)


def test_a_pattern_hyperscan_refuses_is_left_to_re2_and_the_rest_kept() -> None:
    refused = r"\b\B"  # RE2 takes it (it never matches); Hyperscan does not compile it
    patterns = PatternSet([refused, r"\bab", r"cd\b"])
    assert portable(refused) and patterns.patterns == (r"\bab", r"cd\b")
    batch = pa.record_batch([pa.array(["ab cd", "x"])], names=["last_user"])
    view = PromptView.of(batch).use_patterns(patterns)
    assert view.matches(refused).tolist() == [False, False]
    assert view.matches(r"cd\b").tolist() == [True, False]


def test_portable_accepts_the_shapes_the_phrase_lists_use() -> None:
    shapes = (r"\bstep[- ]by[- ]step\b", r"(?:\w+ ){0,4}x", r"^(?:hi|hey)\b", r"\d+ ?[-+*/] ?\d")
    for pattern in shapes:
        assert portable(pattern), pattern
    assert portable(r"a\++") and not portable(r"a\d++") and not portable("a++")


def test_matches_answers_are_copies_callers_may_change() -> None:
    batch = pa.record_batch([pa.array(["think step by step", "hi"])], names=["last_user"])
    view = PromptView.of(batch).use_patterns(pattern_set())
    pattern = ALL_PATTERNS[0]
    first = view.matches(pattern)
    first[:] = ~first
    assert not np.array_equal(view.matches(pattern), first)


def test_empty_and_tiny_batches() -> None:
    for rows in ([], [""], ["", "step by step"]):
        lowered = pa.array(rows, pa.string())
        assert np.array_equal(pattern_set().scan(lowered).table, re2_table(lowered, ALL_PATTERNS))


CORPORA = Path("/work/shared/corpora")


@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"prompt corpora not found at {CORPORA}")
def test_corpus_prompts_give_the_same_signals_either_way() -> None:
    rows: list[str] = []
    for path in sorted(CORPORA.glob("*.jsonl.gz")):
        with gzip.open(path, "rb") as handle:
            for _, line in zip(range(150), handle, strict=False):
                rows.append(orjson.loads(line)["text"])
    assert len(rows) > 2000
    batch = pa.record_batch([pa.array(rows, pa.string())], names=["last_user"])
    assert compute(batch, one_pass=True).equals(compute(batch, one_pass=False))


def test_simulated_prompts_give_the_same_signals_either_way(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "distillwatch.cli", "simulate", "--out", str(tmp_path)]
    command += ["--accounts", "120", "--days", "1", "--seed", "7"]
    subprocess.run(command, check=True, capture_output=True)
    (batch, *_) = RequestStream(list(tmp_path.glob("traffic.*")), workers=1)
    assert batch.num_rows > 500
    assert compute(batch, one_pass=True).equals(compute(batch, one_pass=False))
