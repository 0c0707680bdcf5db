"""The reader's blocks read in place (``_native/blocks``) against its ``read`` loop (the
definition, ``readers._blocks_by_read``): the same blocks from every stream, whole lines
in every block but the last, nothing lost or added, whatever the stream does."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from distillwatch.ingest import readers
from distillwatch.ingest.batches import JsonlChunk
from distillwatch.ingest.sources import Source, discover

blocks_native = pytest.importorskip("distillwatch._native.blocks")

lines_strategy = st.lists(
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x")), max_size=30
).map(lambda parts: b"\n".join(parts))
ends = st.sampled_from([b"", b"\n", b"\n\n"])


def native_blocks(stream: Any, size: int) -> list[bytes]:
    assert readers._BLOCKS is not None
    return list(readers._blocks(stream, size))


class ShortReads(io.RawIOBase):
    """A stream whose ``readinto`` gives at most ``step`` bytes a call (as pipes do)."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.at = data, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(self.step, len(buffer), len(self.data) - self.at)
        buffer[:n] = self.data[self.at : self.at + n]
        self.at += n
        return n


class KeepsViews(ShortReads):
    """A stream that holds on to (a slice of) every buffer it was given."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__(data, step)
        self.kept: list[Any] = []
        self.firsts: list[bytes] = []

    def readinto(self, buffer: Any) -> int:
        self.kept.append(memoryview(buffer)[:1])
        self.firsts.append(self.data[self.at : self.at + 1])
        return super().readinto(buffer)


def assert_whole_lines(blocks: list[bytes], data: bytes) -> None:
    assert b"".join(blocks) == data
    assert all(block.endswith(b"\n") for block in blocks[:-1])
    assert all(block for block in blocks)


@settings(max_examples=300, deadline=None)
@given(text=lines_strategy, end=ends, size=st.integers(1, 64))
def test_same_blocks_as_the_read_loop(text: bytes, end: bytes, size: int) -> None:
    data = text + end
    expected = list(readers._blocks_by_read(io.BytesIO(data), size))
    assert native_blocks(io.BytesIO(data), size) == expected
    assert native_blocks(io.BufferedReader(io.BytesIO(data)), size) == expected
    assert_whole_lines(expected, data)


@settings(max_examples=200, deadline=None)
@given(text=lines_strategy, end=ends, size=st.integers(1, 64), step=st.integers(1, 9))
def test_short_reads_and_streams_that_keep_views_lose_nothing(
    text: bytes, end: bytes, size: int, step: int
) -> None:
    data = text + end
    expected = list(readers._blocks_by_read(io.BytesIO(data), size))
    # a block is filled whatever each call gives, so the blocks are the read loop's
    assert native_blocks(ShortReads(data, step), size) == expected
    keeper = KeepsViews(data, step)
    assert native_blocks(keeper, size) == expected
    # what each kept view saw is still there: the memory under it was neither freed nor cut
    written = [bytes(view) for view, first in zip(keeper.kept, keeper.firsts, strict=True) if first]
    assert written == [first for first in keeper.firsts if first]


def test_a_line_longer_than_many_blocks_and_no_final_newline() -> None:
    data = b"a" * 1000 + b"\n" + b"b" * 333 + b"\n" + b"c" * 77
    got = native_blocks(io.BytesIO(data), 10)
    assert got == list(readers._blocks_by_read(io.BytesIO(data), 10))
    assert got[-1] == b"c" * 77
    assert_whole_lines(got, data)


def test_empty_stream_gives_no_block() -> None:
    assert native_blocks(io.BytesIO(b""), 8) == []
    assert native_blocks(io.BytesIO(b"\n"), 8) == [b"\n"]


class Lies(io.RawIOBase):
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> Any:
        return self.answer


@pytest.mark.parametrize("answer", [-1, 10**6])
def test_a_stream_that_claims_impossible_counts_is_an_error(answer: int) -> None:
    with pytest.raises(OSError, match="readinto returned"):
        native_blocks(Lies(answer), 16)


def test_a_non_blocking_stream_is_an_error_not_a_short_file() -> None:
    with pytest.raises(OSError, match="non-blocking"):
        native_blocks(Lies(None), 16)


def test_a_block_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        blocks_native.next_block(io.BytesIO(b"x\n").readinto, b"", 0)


def chunks_of(source: Source) -> list[tuple[int, bytes]]:
    out = []
    for positioned in readers.read_chunks(source, chunk_bytes=4096):
        chunk = positioned.chunk
        assert isinstance(chunk, JsonlChunk)
        out.append((chunk.first_line, chunk.data))
    return out


def test_zstd_file_reads_to_the_same_chunks_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [b'{"n":%d,"pad":"%s"}' % (i, b"p" * (i % 97)) for i in range(5000)]
    data = b"\n".join(lines)  # no final newline
    log = tmp_path / "log.jsonl.zst"
    log.write_bytes(zstandard.ZstdCompressor().compress(data))
    source = discover([str(log)])[0][0]
    native = chunks_of(source)
    monkeypatch.setenv("DISTILLWATCH_NATIVE", "0")
    by_read = chunks_of(source)
    assert native == by_read
    assert b"".join(chunk for _, chunk in native) == data
    assert native[-1][0] + native[-1][1].count(b"\n") == 5000
