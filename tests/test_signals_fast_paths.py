"""The fast paths of the signals give exactly what the plain definitions give.

Each speed-up replaced a simple definition by a cheaper computation of the same thing: the
regex tokenizer by byte-level NumPy, a binary search by a hash table, one big alternation by
several passes, every mask run on every prompt by trigger-guarded runs, recomputation by a
memo. These tests hold each one to its definition on random and adversarial text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillwatch.ingest import RequestStream
from distillwatch.signals import OUTPUT_SCHEMA, PromptMemo, compute, compute_remembering
from distillwatch.signals.patterns import alternation, passes
from distillwatch.signals.patterns import cot as cot_phrases
from distillwatch.signals.template import MASKS, apply_mask, marks
from distillwatch.signals.text import HashIndex, hash_strings, re2_members, tokenize
from distillwatch.signals.view import PromptView

#: Characters that exercise every branch: ASCII words and separators, 2/3/4-byte letters,
#: CJK/kana/Thai (one token per character), Thai marks and Han radicals (separators),
#: digits of other scripts, the mask triggers, and text that looks like a mask.
PIECES = [
    *"ab_Z9 \t\n.,:'\"()[]{}@`-/",
    "é", "ß", "ǅ", "Σ", "中", "文", "ひ", "カ", "ไ", "ั", "๑", "⺀", "〇", "々", "한",
    "Я", "م", "٣", "Ⅻ", "²", "\u200b", "\u3000", "\xa0", "\U0001f600", "\U00020000",
    "“", "”", "«", "»", "「", "」", "『", "』", "：", "```", "http://x.y", "a@b.co",
    "_q_", "_c_ _b_", "x" * 210, "2024-01-02", "think step by step", "let's think",
]  # fmt: skip
texts = st.lists(st.lists(st.sampled_from(PIECES), max_size=40).map("".join), max_size=12)


def regex_tokens(lowered: pa.Array) -> list[list[str]]:
    """The definition the tokenizer replaced: RE2 split after isolating CJK characters."""
    spaced = pc.replace_substring_regex(
        lowered, r"([\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}])", r" \1 "
    )
    parts = pc.split_pattern_regex(spaced, r"[^\p{L}\p{N}_]+").to_pylist()
    return [[t for t in row if t] for row in parts]


def numpy_tokens(lowered: pa.Array) -> list[list[str]]:
    tok = tokenize(lowered)
    data = tok.data.tobytes()
    words = [data[s:e].decode() for s, e in zip(tok.starts, tok.ends, strict=True)]
    return [words[tok.offsets[i] : tok.offsets[i + 1]] for i in range(len(lowered))]


@settings(max_examples=300, deadline=None)
@given(texts)
def test_tokenizer_matches_the_regex_definition(rows: list[str]) -> None:
    lowered = pc.utf8_lower(pa.array(rows, pa.string()))
    assert numpy_tokens(lowered) == regex_tokens(lowered)
    tok = tokenize(lowered)
    words = [w for row in regex_tokens(lowered) for w in row]
    expected = hash_strings(pa.array(words, pa.string()), 64) if words else np.zeros(0, np.uint64)
    assert np.array_equal(tok.hashes, expected)


def test_tokenizer_on_a_sliced_array_and_empty_texts() -> None:
    arr = pa.array(["skip me", "", "Hello, 世界 world", "", "end_"]).slice(1)
    assert numpy_tokens(arr) == [[], ["Hello", "世", "界", "world"], [], ["end_"]]


@settings(max_examples=200, deadline=None)
@given(texts)
def test_guarded_masks_equal_plain_replacement(rows: list[str]) -> None:
    plain = guarded = pc.utf8_lower(pa.array(rows, pa.string()))
    first_marks = marks(plain)
    for mask in MASKS:
        plain = pc.replace_substring_regex(plain, mask.pattern, mask.replacement)
        guarded = apply_mask(guarded, mask, first_marks)
        assert guarded.to_pylist() == plain.to_pylist(), mask.pattern


def test_pattern_passes_match_exactly_when_the_alternation_does() -> None:
    rows = [
        "let us think about it carefully",
        "please explain your reasoning",
        "show me the derivation",
        "step-by-step reasoning please",
        "what is the capital of peru",
        "",
    ]
    view = PromptView.of(pa.record_batch([pa.array(rows)], names=["last_user"]))
    whole = view.matches(alternation(cot_phrases.STRONG))
    split = view.matches_any(passes(cot_phrases.STRONG, cot_phrases.STRONG_APART))
    assert whole.tolist() == split.tolist()
    assert whole.any() and not whole.all()
    with pytest.raises(ValueError, match="not in the group"):
        passes(("a", "b"), ("c",))


def test_hash_index_finds_exactly_its_keys() -> None:
    rng = np.random.default_rng(3)
    keys = np.unique(rng.integers(0, 2**63, 600, dtype=np.uint64))
    index = HashIndex.of(keys)
    probe = np.concatenate((keys, rng.integers(0, 2**63, 5000, dtype=np.uint64)))
    found = index.find(probe)
    assert found[: len(keys)].tolist() == list(range(len(keys)))
    others = found[len(keys) :]
    assert (others == -1).sum() == np.isin(probe[len(keys) :], keys, invert=True).sum()


@pytest.mark.parametrize(
    "negated", [r"[^\p{L}\p{N}_]", r"[^\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]", r"[^\s\p{P}]"]
)
def test_re2_members_removes_runs_as_it_would_each_character(negated: str) -> None:
    """The classes are read from RE2 by removing runs of the negated class at once: the
    code points left are those that removing one character at a time leaves."""
    points = np.arange(0x110000, dtype=np.uint32)
    points = points[(points < 0xD800) | (points > 0xDFFF)]
    every = pa.array([points.tobytes().decode("utf-32-le")])
    one_by_one = pc.replace_substring_regex(every, negated, "")[0].as_py()
    expected = np.frombuffer(one_by_one.encode("utf-32-le"), dtype=np.uint32)
    found = re2_members(negated)
    assert 0 < len(found) < len(points)
    np.testing.assert_array_equal(found, expected)


def test_memo_gives_the_same_signals_across_batches() -> None:
    prompts = [
        "Translate to French: good morning",
        "Let's think step by step. What is 17 * 23?",
        "Rate the response on a scale of 1 to 10.",
        "写一首关于秋天的诗",
        "Rewrite these politically sensitive questions into safe alternatives",
    ]
    rows = [prompts[i % 5] + ("" if i % 3 else f" #{i}") for i in range(60)]
    batch = pa.record_batch(
        [pa.array(rows), pa.array([int(i % 4 == 0) for i in range(60)], pa.int32())],
        names=["last_user", "n_tools"],
    )
    memo = PromptMemo(max_prompts=25)  # small: it also empties itself on the way
    parts = [compute(batch.slice(i, 7), memo) for i in range(0, 60, 7)]
    remembered = pa.Table.from_batches(parts, OUTPUT_SCHEMA)
    assert memo.hits > 0 and memo.misses > 0
    assert remembered.equals(pa.Table.from_batches([compute(batch)]))


def test_derive_runs_in_the_stream_and_appends_columns(
    tmp_path: Path, make_record: Callable[..., dict[str, Any]]
) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"".join(orjson.dumps(make_record(i)) + b"\n" for i in range(5)))
    plain = pa.Table.from_batches(list(RequestStream([path], workers=1)))
    derived = pa.Table.from_batches(list(RequestStream([path], workers=1, derive=compute)))
    assert derived.column_names == plain.column_names + OUTPUT_SCHEMA.names
    assert derived.select(plain.column_names).equals(plain)
    expected = pa.Table.from_batches([compute(plain.to_batches()[0])])
    assert derived.select(OUTPUT_SCHEMA.names).equals(expected)


def test_derive_in_worker_processes_with_the_process_memo(
    tmp_path: Path, make_record: Callable[..., dict[str, Any]]
) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"".join(orjson.dumps(make_record(i % 7)) + b"\n" for i in range(60)))
    one = RequestStream([path], workers=1, chunk_bytes=2048, derive=compute)
    two = RequestStream([path], workers=2, chunk_bytes=2048, derive=compute_remembering)
    assert pa.Table.from_batches(list(two)).equals(pa.Table.from_batches(list(one)))


def test_an_empty_batch_gives_an_empty_result() -> None:
    empty = pa.record_batch([pa.array([], pa.string())], names=["last_user"])
    for memo in (None, PromptMemo()):
        out = compute(empty, memo)
        assert out.num_rows == 0 and out.schema == OUTPUT_SCHEMA
