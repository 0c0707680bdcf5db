"""The ingest summary's distinct counts (``summary.distinct``) against ``np.unique``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from distillwatch.ingest.summary import Tally, distinct
from distillwatch.schema import REQUESTS_SCHEMA


@given(st.lists(st.integers(0, 2**64 - 1) | st.sampled_from([0, 1, 2**64 - 1]), max_size=300))
def test_distinct_is_np_unique(values: list[int]) -> None:
    array = np.array(values, dtype=np.uint64)
    got = distinct(array)
    assert got.dtype == np.uint64
    assert np.array_equal(got, np.unique(array))


def test_the_summary_counts_accounts_and_repeated_request_ids() -> None:
    rows = [("a", "r1"), ("b", "r2"), ("a", "r1"), ("c", "r3"), ("a", "r4")]
    columns = {
        "ts": pa.array([1_000_000 * i for i in range(len(rows))], pa.int64()),
        "account_id": pa.array([a for a, _ in rows]),
        "request_id": pa.array([r for _, r in rows]),
    }
    batch = pa.RecordBatch.from_pylist(
        [{name: columns[name][i].as_py() for name in columns} for i in range(len(rows))],
        schema=REQUESTS_SCHEMA,
    )
    tally = Tally()
    tally.add("log.jsonl", batch.slice(0, 3), [], 3)
    tally.add("log.jsonl", batch.slice(3), [], 2)
    tally.add("log.jsonl", batch.slice(0, 0), [], 0)
    summary = tally.summary()
    assert summary.accounts == 3
    assert summary.duplicate_request_ids == 1
    assert summary.records == 5
    assert Tally().summary().accounts == 0
