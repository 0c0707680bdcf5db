"""The one-call template skeleton and frame hash (``_native/masks.skeleton``, ``_native/tokens
.frame_parts``, ``tokens.tokenize_hashed``) equal the definitions, bit for bit.

The definitions: RE2's ``replace_substring_regex`` of every pattern in ``template.MASKS``, in
order (``template.skeleton_by_mask`` with no compiled module), the NumPy tokenizer and span
hash (``text.tokenize_numpy``), and ``template._frame_parts``. The texts are hostile on
purpose: every character a mask turns on, runs of mask placeholders with the punctuation and
spaces between them that the collapse mask eats (ASCII and not), control characters, very
long lines, empty texts, arbitrary Unicode. Then every signal column of ``signals.compute``
with all compiled modules against none, on such texts and on lines decoded by ingest with
lone surrogate escapes. The modules must be built (``pip install -e .``): these tests fail,
not skip, without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from distillwatch import signals
from distillwatch.ingest.batches import JsonlChunk, process_chunk
from distillwatch.signals import template, text
from distillwatch.signals.template import MASKS, collapse_classes, skeleton, skeleton_by_mask
from distillwatch.signals.text import string_offsets, tokenize_numpy

MASKS_NATIVE = template._NATIVE
TOKENS_NATIVE = text._NATIVE

#: Pieces that turn every mask on and off, and the collapse mask's runs of placeholders.
PIECES = [
    *"ab1 2.,:/-_\"“”«»「」『』()[]{}`\n\t\r\x0b\x0c\x00\x1fé日：'٣½@…—、。!?;·",
    "```", "x" * 29, "y" * 119, "z" * 201, "_q_", "_n_", "_b_", "_v_", "_x_", "__", " _", "_ ",
    "a_b_", "_9_", "_Q_", "http://", "www.", "a@b.c", "\u00a0", "\u3000", "\u2028", "\U0001f600",
]  # fmt: skip
texts = st.lists(
    st.lists(st.sampled_from(PIECES), max_size=60).map("".join), min_size=1, max_size=8
)
any_texts = st.lists(st.text(max_size=300), min_size=1, max_size=8)

EDGES = [
    "",
    "_q_",
    "_q_ _n_",
    "_q_ _n_ _b_",
    "_q_ _n_ _b_ _v_.",
    "_q_,_n_",
    "_q__n_",
    "x_q_ _n_",
    "_q_ _n_x",
    "_q_\u3001_n_\u2014 _b_",
    "_q_ \x0b _n_",
    "_q_ … _n_ «_b_»",
    "say _q_ then _n_ and _b_ _v_",
    "_q_ " * 500,
    "“quoted” (aside) [x] {y} 'single' key: value 12.5/3 ```code``` http://u.rl a@b.cd",
    "k" * 30 + ": v\n" + "w " * 150 + "\n12:30 «a» 「b」『c』“d”",
    "\x00\x01\x02 _q_ \x7f _n_ \x1b",
    "é" * 5000 + "\n" + "日本" * 3000,
]


@contextmanager
def no_native() -> Iterator[None]:
    """Every signal on its definition (no compiled module)."""
    saved = text._NATIVE, template._NATIVE
    text._NATIVE = template._NATIVE = None
    try:
        yield
    finally:
        text._NATIVE, template._NATIVE = saved


def lowered(values: list[str]) -> pa.Array:
    return pc.utf8_lower(pa.array(values, pa.string()))


def assert_skeletons_equal(arr: pa.Array) -> None:
    assert MASKS_NATIVE is not None, "distillwatch._native.masks is not built"
    for long_lines in (True, False):
        got = skeleton(arr, long_lines)
        got.validate(full=True)
        with no_native():
            want = skeleton_by_mask(arr, long_lines)
        assert got.equals(want), (long_lines, got.to_pylist(), want.to_pylist())
        assert got.equals(skeleton_by_mask(arr, long_lines))


def test_the_compiled_skeleton_is_built_and_used() -> None:
    assert MASKS_NATIVE is not None and hasattr(MASKS_NATIVE, "skeleton")
    assert TOKENS_NATIVE is not None and hasattr(TOKENS_NATIVE, "frame_parts")


def test_skeleton_on_edges() -> None:
    assert_skeletons_equal(lowered(EDGES))
    sliced = pa.array([None, *EDGES, None], pa.string()).slice(1, len(EDGES))
    assert_skeletons_equal(pc.utf8_lower(sliced))
    assert_skeletons_equal(pa.array([], pa.string()))


@settings(max_examples=300, deadline=None)
@given(texts=texts)
def test_skeleton_on_generated_texts(texts: list[str]) -> None:
    assert_skeletons_equal(lowered(texts))


@settings(max_examples=150, deadline=None)
@given(texts=any_texts)
def test_skeleton_on_arbitrary_unicode(texts: list[str]) -> None:
    assert_skeletons_equal(lowered(texts))


@settings(max_examples=400, deadline=None)
@given(texts=texts)
def test_collapse_alone_equals_re2(texts: list[str]) -> None:
    assert MASKS_NATIVE is not None
    arr = pa.array(texts + EDGES, pa.string())
    offsets, data = string_offsets(arr)
    got = MASKS_NATIVE.collapse(offsets, data, collapse_classes())
    want = pc.replace_substring_regex(arr, MASKS[8].pattern, MASKS[8].replacement)
    assert got.equals(want), (got.to_pylist(), want.to_pylist())


def test_collapse_classes_are_re2s() -> None:
    table = collapse_classes()
    members = {chr(c) for c in np.flatnonzero(table)}
    assert {" ", "\t", "\n", "\r", "\x0c", "_", ".", "…", "、", "«"} <= members
    assert not {"\x0b", "a", "1", "$", "+", "\u00a0"} & members  # no \v, symbols, nbsp


def assert_frames_equal(arr: pa.Array) -> None:
    got = template.frame_hash(arr)
    with no_native():
        want = template.frame_hash(arr)
        tokens = tokenize_numpy(*string_offsets(arr))
    assert got.dtype == want.dtype and np.array_equal(got, want)
    native = text.tokenize(arr)
    assert np.array_equal(native.hashes, tokens.hashes_of(slice(None)))
    for name in ("offsets", "starts", "ends"):
        assert np.array_equal(getattr(native, name), getattr(tokens, name)), name


def test_frame_hash_on_edges() -> None:
    assert_frames_equal(lowered(EDGES))
    assert_frames_equal(pa.array([], pa.string()))


@settings(max_examples=200, deadline=None)
@given(texts=texts)
def test_frame_hash_on_generated_texts(texts: list[str]) -> None:
    assert_frames_equal(lowered(texts))


@settings(max_examples=150, deadline=None)
@given(texts=any_texts)
def test_frame_hash_on_arbitrary_unicode(texts: list[str]) -> None:
    assert_frames_equal(lowered(texts))


def assert_signals_equal(prompts: list[str | None]) -> None:
    n = len(prompts)
    batch = pa.RecordBatch.from_pydict(
        {
            "last_user": pa.array(prompts, pa.string()),
            "n_tools": pa.array([int(i % 3 == 0) for i in range(n)], pa.int32()),
            "n_tool_results": pa.array([0] * n, pa.int32()),
        }
    )
    got = signals.compute(batch)
    memo = signals.PromptMemo()
    remembered = [signals.compute(batch, memo) for _ in range(2)]
    with no_native():
        want = signals.compute(batch)
    assert got.schema == want.schema
    for name in want.schema.names:
        assert got.column(name).equals(want.column(name)), name
    assert all(r.equals(want) for r in remembered)


def test_every_signal_on_hostile_prompts() -> None:
    assert_signals_equal([*EDGES, None, "A" * 100_000, "\x00" * 10, "Ünïcödé ÀÉÎ " * 40])


@settings(max_examples=60, deadline=None)
@given(texts=texts, other=any_texts)
def test_every_signal_on_generated_prompts(texts: list[str], other: list[str]) -> None:
    assert_signals_equal([*texts, *other, *texts])


def test_every_signal_on_lines_with_lone_surrogates() -> None:
    lines = [
        b'{"v":1,"request_id":"r%d","ts":"2026-01-01T00:00:00Z","account_id":"a",'
        b'"messages":[{"role":"user","content":"%s"}]}' % (i, content)
        for i, content in enumerate(
            [b"ok \\ud800 lone", b"\\udfff\\ud800", b"pair \\ud83d\\ude00 fine", b"plain _q_ x"]
        )
    ]
    chunk = JsonlChunk("mem", 1, b"\n".join(lines) + b"\n")
    result = process_chunk(chunk)
    prompts = result.batch.column("last_user").to_pylist()
    assert prompts, "no line was read"
    assert_signals_equal(prompts)


def test_hash_index_and_minhash_equal_their_numpy_passes() -> None:
    from distillwatch.signals.sketch import minhash
    from distillwatch.signals.text import HashIndex

    rng = np.random.default_rng(11)
    keys = np.unique(rng.integers(0, 2**63, 300, dtype=np.uint64))
    index = HashIndex.of(keys)
    probes = np.concatenate((keys, rng.integers(0, 2**63, 5000, dtype=np.uint64), keys[::-3]))
    got = index.find(probes)
    values = rng.integers(0, 2**63, 4000, dtype=np.uint64) * np.uint64(3)
    cuts = np.sort(rng.integers(0, len(values), 700))
    offsets = np.concatenate(([0], cuts, [len(values)])).astype(np.int64)  # empty rows too
    sig = minhash(values, offsets)
    with no_native():
        assert got.dtype == index.find(probes).dtype
        assert np.array_equal(got, index.find(probes))
        assert np.array_equal(sig, minhash(values, offsets))
    assert np.array_equal(got[: len(keys)], np.arange(len(keys)))
    assert (sig[np.diff(offsets) == 0] == 0).all() and (sig[np.diff(offsets) > 0] != 0).any()


SCRIPT_PIECES = [*"aé日カ한жعकก😀 \n", "x" * 97, "ü" * 61]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(SCRIPT_PIECES), max_size=30).map("".join),
        max_size=8,
    ),
    st.integers(0, 2),
)
def test_script_counts_cut_in_the_pass_equal_first_chars(texts: list[str], skip: int) -> None:
    from distillwatch.signals.language import script_counts

    arr = pa.array(["", *texts, ""], pa.string()).slice(skip)
    got = script_counts(arr)
    with no_native():
        assert np.array_equal(got, script_counts(arr))
