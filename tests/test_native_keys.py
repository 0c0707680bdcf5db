"""The memo's compiled key index (``_native/keys.pyx``) gives the rows its dict definition
(``memo.DictIndex``) gives, and the memo the same signals with either.

Keys are drawn from a small pool so that batches repeat keys, add keys already held (which
take their new row, as ``dict.update`` gives them) and carry the same key twice in one add;
some keys are chosen to share their probe slot. The module must be built (``pip install
-e .``): these tests fail, not skip, without it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillwatch import signals
from distillwatch.signals import memo

NATIVE = memo._NATIVE
#: Keys equal in their low bits (one probe slot) and the extremes of the range.
POOL = [0, 1, 2**64 - 1, 2**63, 16, 32, 48, 2**40, 2**40 + 16, *range(100, 140)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.lists(st.sampled_from(POOL), max_size=30).map(lambda k: ("add", k)),
            st.lists(st.sampled_from(POOL), max_size=30).map(lambda k: ("find", k)),
            st.just(("clear", [])),
        ),
        max_size=25,
    )
)
def test_the_key_index_gives_the_dicts_rows(steps: list[tuple[str, list[int]]]) -> None:
    assert NATIVE is not None, "distillwatch._native.keys is not built (pip install -e .)"
    native, reference = NATIVE.KeyIndex(len(POOL)), memo.DictIndex()
    start = 0
    for op, values in steps:
        keys = np.array(values, dtype=np.uint64)
        if op == "add":
            native.add(keys, start)
            reference.add(keys, start)
            start += len(keys)
        elif op == "find":
            got = native.find(keys)
            assert got.dtype == np.int64 and np.array_equal(got, reference.find(keys))
        else:
            native.clear()
            reference.clear()
        assert len(native) == len(reference)
    every = np.array(POOL, dtype=np.uint64)
    assert np.array_equal(native.find(every), reference.find(every))


def test_the_key_index_refuses_more_keys_than_its_capacity() -> None:
    assert NATIVE is not None
    index = NATIVE.KeyIndex(3)
    index.add(np.array([5, 6, 7, 5], np.uint64), 0)
    assert list(index.find(np.array([5, 6, 7, 8], np.uint64))) == [3, 1, 2, -1]
    with pytest.raises(OverflowError):
        index.add(np.array([8], np.uint64), 4)
    with pytest.raises(ValueError):
        NATIVE.KeyIndex(-1)


def test_the_memo_gives_the_same_signals_with_either_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prompts = [f"prompt {i % 37} about {i % 11}" for i in range(400)] + ["", "x"]
    batch = pa.RecordBatch.from_pydict({"last_user": prompts})
    parts = [batch.slice(i, 90) for i in range(0, batch.num_rows, 90)]
    fresh = [signals.compute(part) for part in parts]
    native_memo = signals.PromptMemo(max_prompts=50)  # fills and is emptied on the way
    assert not isinstance(native_memo._position, memo.DictIndex)
    with_native = [signals.compute(part, native_memo) for part in parts * 2]
    monkeypatch.setattr(memo, "_NATIVE", None)
    dict_memo = signals.PromptMemo(max_prompts=50)
    assert isinstance(dict_memo._position, memo.DictIndex)
    with_dict = [signals.compute(part, dict_memo) for part in parts * 2]
    for got, want, plain in zip(with_native, with_dict, fresh * 2, strict=True):
        assert got.equals(want) and got.equals(plain)
    assert (native_memo.hits, native_memo.misses) == (dict_memo.hits, dict_memo.misses)
