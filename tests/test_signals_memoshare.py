"""Per-prompt values passed between workers (``signals.memoshare``) change no signal value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from distillwatch.signals import OUTPUT_SCHEMA, PromptMemo, compute
from distillwatch.signals.memoshare import KEEP_FILES, MemoExchange

PROMPTS = [
    "Translate to French: good morning",
    "Let's think step by step. What is 17 * 23?",
    "Rate the response on a scale of 1 to 10.",
    "写一首关于秋天的诗",
    "Rewrite these politically sensitive questions into safe alternatives",
    "",
]


def _batch(rows: list[str]) -> pa.RecordBatch:
    tools = pa.array([int(i % 4 == 0) for i in range(len(rows))], pa.int32())
    return pa.record_batch([pa.array(rows), tools], names=["last_user", "n_tools"])


def _exchange(directory: Path, pid: int) -> MemoExchange:
    """An exchange that names its files as process ``pid`` would (two in one test)."""
    exchange = MemoExchange(directory)
    exchange.own = f"memo-{pid}-"
    return exchange


def test_a_memo_takes_what_another_computed_and_gives_the_same_signals(tmp_path: Path) -> None:
    rows = [PROMPTS[i % len(PROMPTS)] + ("" if i % 3 else f" #{i}") for i in range(40)]
    first, second = PromptMemo(), PromptMemo()
    first.keep_fresh = second.keep_fresh = True
    mine, theirs = _exchange(tmp_path, 1), _exchange(tmp_path, 2)
    expected = compute(_batch(rows))

    assert mine.gather(first) == 0
    compute(_batch(rows), first)
    mine.publish(first)
    computed = first.misses
    assert computed > 0 and first.take_fresh() == []
    assert mine.gather(first) == 0  # its own file is not read back

    assert theirs.gather(second) == computed
    assert theirs.gather(second) == 0  # each file is read once
    got = compute(_batch(rows), second)
    assert second.misses == 0 and second.hits == computed
    assert pa.Table.from_batches([got], OUTPUT_SCHEMA).equals(pa.Table.from_batches([expected]))
    theirs.publish(second)  # nothing computed: no file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memo-1-0.arrow"]


def test_values_of_other_columns_or_broken_files_are_not_taken(tmp_path: Path) -> None:
    memo = PromptMemo()
    compute(_batch(PROMPTS), memo)
    held = len(memo)
    other = pa.table({"x": pa.array([1, 2], pa.int64())})
    assert memo.merge(np.array([7, 8], np.uint64), other) == 0
    (tmp_path / "memo-9-0.arrow").write_bytes(b"not an arrow file")
    (tmp_path / "memo-9-1.arrow.part").write_bytes(b"half written")
    assert _exchange(tmp_path, 1).gather(memo) == 0
    assert len(memo) == held
    # keys already held are not taken again
    keys = np.array([1, 2], np.uint64)
    values = memo.take(np.array([0, 1]))
    assert memo.merge(keys, values) == 2
    assert memo.merge(keys, values) == 0
    assert len(memo) == held + 2


def test_values_from_others_never_empty_a_full_memo() -> None:
    memo = PromptMemo(max_prompts=4)
    compute(_batch(["one", "two", "three"]), memo)
    assert len(memo) == 3
    values = memo.take(np.array([0, 1, 2]))
    assert memo.merge(np.array([11, 12, 13], np.uint64), values) == 1  # room for one
    assert len(memo) == 4
    assert memo.merge(np.array([14], np.uint64), values.slice(0, 1)) == 0
    assert len(memo) == 4
    compute(_batch(["one", "two", "three"]), memo)  # its own prompts are still held
    assert memo.misses == 3


def test_a_worker_keeps_only_its_latest_files(tmp_path: Path) -> None:
    memo = PromptMemo()
    memo.keep_fresh = True
    exchange = _exchange(tmp_path, 1)
    for i in range(KEEP_FILES + 3):
        compute(_batch([f"prompt number {i}"]), memo)
        exchange.publish(memo)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"memo-1-{i}.arrow" for i in range(3, KEEP_FILES + 3)]
