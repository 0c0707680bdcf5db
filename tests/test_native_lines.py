"""``_native/lines.count_newlines`` counts what ``bytes.count(b"\\n")`` counts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from distillwatch._native import load
from distillwatch.ingest import readers

lines = load("lines")
pytestmark = pytest.mark.skipif(lines is None, reason="distillwatch._native is not built")


@given(st.binary(max_size=5000))
def test_counts_equal_bytes_count(data: bytes) -> None:
    assert lines is not None
    assert lines.count_newlines(data) == data.count(b"\n")


@pytest.mark.parametrize(
    "data",
    [b"", b"\n", b"\n\n\n", b"a", b"a\nb", b"a\nb\n", b"\n" * 100_001, b"x" * 70_000 + b"\n"],
)
def test_edges_and_the_reader_with_and_without_it(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert readers.count_newlines(data) == data.count(b"\n")
    monkeypatch.setenv("DISTILLWATCH_NATIVE", "0")
    assert readers.count_newlines(data) == data.count(b"\n")
