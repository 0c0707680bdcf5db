"""The compiled tokenizer and span hash (``_native/tokens.pyx``) equal their NumPy definitions.

``text.tokenize_numpy`` and ``text.hash_spans_numpy`` are the definitions; every test runs
both on the same texts, in one process, and requires identical arrays, and then every signal
column identical with and without the compiled module. The module must be built (``pip
install -e .``): these tests fail, not skip, without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillwatch import signals
from distillwatch.signals import text
from distillwatch.signals.sketch import shingles, shingles_numpy
from distillwatch.signals.text import char_classes, string_offsets, tokenize_numpy

NATIVE = text._NATIVE

TEXTS = [
    "",
    "hello world",
    "  leading and trailing  ",
    "snake_case_words and x2 numbers 3.14",
    "日本語のテキストです。カタカナも",
    "中文句子，没有空格",
    "ภาษาไทยไม่มีช่องว่าง",
    "mixed日本english中文x",
    "한국어 문장입니다",
    "émoji 😀 and zero\u200bwidth, café naïve",
    "Ελληνικά κείμενα και русский текст",
    "combining e\u0301 marks and ﬁ ligature",
    "tab\tnew\nline\r\nend",
    "𠀀𠀁 supplementary Han and 𝔘𝔫𝔦 math letters",
    "x" * 200 + " " + "y" * 70,
    "a_b_c 1_2_3 _q_ _x_ __ ___",
    "what are the",  # only stopword pairs
    "of the cat and the hat",
    "one",
]


@contextmanager
def numpy_only() -> Iterator[None]:
    saved = text._NATIVE
    text._NATIVE = None
    try:
        yield
    finally:
        text._NATIVE = saved


def assert_tokens_equal(texts: pa.Array) -> None:
    assert NATIVE is not None, "distillwatch._native.tokens is not built (pip install -e .)"
    lowered = pc.utf8_lower(pc.fill_null(texts, ""))
    offsets, data = string_offsets(lowered)
    want = tokenize_numpy(offsets, data)
    got = text.tokenize(lowered)
    for name in ("offsets", "starts", "ends"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
        assert getattr(got, name).dtype == getattr(want, name).dtype, name
    assert np.array_equal(got.hashes, want.hashes)
    for native, numpy in zip(shingles(got), shingles_numpy(want), strict=True):
        assert native.dtype == numpy.dtype and np.array_equal(native, numpy)
    with numpy_only():
        assert np.array_equal(text.hash_strings(texts), _native_hash_strings(texts))


def _native_hash_strings(texts: pa.Array) -> np.ndarray:
    saved, text._NATIVE = text._NATIVE, NATIVE
    try:
        return text.hash_strings(texts)
    finally:
        text._NATIVE = saved


def test_the_compiled_module_is_built_and_used() -> None:
    assert NATIVE is not None


def test_tokens_of_many_scripts_and_shapes() -> None:
    assert_tokens_equal(pa.array(TEXTS))
    assert_tokens_equal(pa.array(TEXTS).slice(3, 7))  # an array with an offset
    assert_tokens_equal(pa.array([None, "a b", None, ""], pa.string()))
    assert_tokens_equal(pa.array([], pa.string()))
    assert_tokens_equal(pa.array(["word " * 200_000 + "日本" * 50_000]))  # one huge text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=12))
def test_tokens_of_generated_texts(texts: list[str]) -> None:
    assert_tokens_equal(pa.array(texts, pa.string()))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("ab _.日本ไทย😀é1"), max_size=30), min_size=1, max_size=8
    )
)
def test_tokens_of_dense_mixed_scripts(texts: list[str]) -> None:
    assert_tokens_equal(pa.array(texts, pa.string()))


def test_span_hashes_of_random_spans() -> None:
    assert NATIVE is not None
    rng = np.random.default_rng(5)
    data = rng.integers(0, 256, 100_000, dtype=np.uint8)
    starts = np.sort(rng.integers(0, 99_000, 5_000)).astype(np.int64)
    ends = starts + rng.integers(0, 1_000, 5_000)
    assert np.array_equal(
        NATIVE.hash_spans(data, starts, ends), text.hash_spans_numpy(data, starts, ends)
    )
    with pytest.raises(IndexError):
        NATIVE.hash_spans(data, np.array([5], np.int64), np.array([100_001], np.int64))


def test_every_signal_column_is_identical_with_and_without_the_module() -> None:
    classes = char_classes()
    assert classes[ord("a")] == 1 and classes[ord("日")] == 2
    prompts = (
        TEXTS
        + [
            'Translate to French: "the cat" (quickly)',
            "Q: 12 + 7 = ?\nA: Let's think step by step.",
            "Grade the following answers from 1 to 10: [a] ... [b] ...",
            "Review: great phone.\nSentiment: positive\nWhat is the sentiment?",
        ]
        * 3
    )
    batch = pa.RecordBatch.from_pydict(
        {
            "last_user": pa.array([*prompts, None], pa.string()),
            "n_tools": pa.array([0] * len(prompts) + [1], pa.int32()),
            "n_tool_results": pa.array([0] * (len(prompts) + 1), pa.int32()),
        }
    )
    native = signals.compute(batch)
    with numpy_only():
        reference = signals.compute(batch)
    assert native.equals(reference)


def test_script_counts_of_many_scripts() -> None:
    from distillwatch.signals.language import script_counts

    for texts in (pa.array(TEXTS), pa.array(TEXTS).slice(2, 9), pa.array(["x" * 900, "é" * 500])):
        native = script_counts(texts)
        with numpy_only():
            assert np.array_equal(native, script_counts(texts))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=10), st.data())
def test_capability_logits_and_languages_of_generated_texts(
    texts: list[str], data: st.DataObject
) -> None:
    from distillwatch.signals.capability import features, load_model, view_logits
    from distillwatch.signals.language import detect

    model = load_model()
    assert model is not None
    words = ["explain", "code", "translate", "the", "step", "python", "def", "und", "der"]
    texts += [" ".join(data.draw(st.lists(st.sampled_from(words), max_size=12)))]
    view = signals.PromptView.of(pa.RecordBatch.from_pydict({"last_user": texts}))
    got = view_logits(model, view)
    assert got.dtype == np.float32
    assert np.array_equal(got, model.logits(features(view)))
    languages = detect(view)
    with numpy_only():
        view = signals.PromptView.of(pa.RecordBatch.from_pydict({"last_user": texts}))
        assert np.array_equal(got, view_logits(model, view))
        assert list(languages) == list(detect(view))
