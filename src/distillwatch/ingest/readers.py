"""Cut each source into chunks of whole records, reading a bounded amount at a time.

JSON Lines are read as raw bytes in blocks of ``chunk_bytes`` and cut at the last newline, so a
chunk is whole lines and the cost per chunk is a few C-level calls (``read``, ``rfind``,
``count``) — no per-line Python work happens here, it all happens in ``batches`` where it can
run in parallel. Parquet is read one record batch at a time. Either way memory is bounded by the
chunk size, never by the file size.

A source in a foreign dialect (``--from litellm|otel|openai-log``) yields the same chunks
wrapped in a :class:`~distillwatch.ingest.formats.process.MappedChunk`, so the worker maps
them to v1 before validating; JSON documents and database rows come from their own modules
(:mod:`distillwatch.ingest.documents`, :mod:`distillwatch.ingest.remote.postgres`).
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import zstandard

from distillwatch._native import load
from distillwatch.ingest.batches import Chunk, JsonlChunk, LongLine, ParquetChunk
from distillwatch.ingest.errors import IngestError
from distillwatch.ingest.formats.process import MappedChunk
from distillwatch.ingest.limits import LINE_HEAD_BYTES, LINE_MAX_BYTES
from distillwatch.ingest.sources import Source, open_jsonl, open_raw, parquet_error

_LINES = load("lines")
_BLOCKS = load("blocks")


def count_newlines(data: bytes) -> int:
    """``data.count(b"\\n")``, with ``memchr`` when ``_native/lines`` is built (and not
    turned off with ``DISTILLWATCH_NATIVE=0``): a tenth of the CPU on 1.4 kB lines."""
    if _LINES is None or os.environ.get("DISTILLWATCH_NATIVE", "1") == "0":
        return data.count(b"\n")
    count: int = _LINES.count_newlines(data)
    return count


#: Bytes of decompressed JSON Lines per chunk.
CHUNK_BYTES = 8 << 20
#: Rows per chunk for Parquet input.
PARQUET_BATCH_ROWS = 16_384


@dataclass(frozen=True, slots=True)
class Positioned:
    """A chunk and how far into its file (in bytes on disk) reading has got."""

    chunk: Chunk
    bytes_done: int


def _whole_lines(carry: bytes, block: bytes, end: int) -> bytes:
    """``carry + block[:end]`` with one copy at most (none when it is all of ``block``).

    A chunk is tens of MB: the concatenation and the slice that the plain expression makes
    each cost a fresh buffer, its page faults and a copy -- together more CPU than the
    decompression of the block (measured on the simulator's logs)."""
    if not carry:
        return block if end == len(block) else block[:end]
    return b"".join((carry, memoryview(block)[:end]))


#: One read of a stream: ``step(carry)`` is ``(lines, carry, ended)`` as ``next_block`` of
#: ``_native/blocks`` defines it.
_Step = Callable[[bytes], tuple["bytes | None", bytes, bool]]


@dataclass(frozen=True, slots=True)
class _Skipped:
    """A line over the limit, read past: its length in bytes and its first bytes."""

    length: int
    head: bytes


def _read_step(stream: BinaryIO, chunk_bytes: int) -> _Step:
    """``next_block`` with ``read``: the definition of the native step."""

    def step(carry: bytes) -> tuple[bytes | None, bytes, bool]:
        block = stream.read(chunk_bytes)
        if not block:
            return None, carry, True
        cut = block.rfind(b"\n")
        if cut < 0:  # one line longer than a block: keep reading until it ends
            return None, carry + block, False
        return _whole_lines(carry, block, cut + 1), block[cut + 1 :], False

    return step


def _skip_line(stream: BinaryIO, carry: bytes, chunk_bytes: int) -> tuple[_Skipped, bytes]:
    """Read past the line ``carry`` starts (no newline in it): the line's length and head,
    and what follows its newline. Only one block is held at a time, whatever its length."""
    head, length = carry[:LINE_HEAD_BYTES], len(carry)
    while block := stream.read(chunk_bytes):
        cut = block.find(b"\n")
        if cut >= 0:
            return _Skipped(length + cut, head), block[cut + 1 :]
        length += len(block)
    return _Skipped(length, head), b""


def _bounded(
    step: _Step, stream: BinaryIO, chunk_bytes: int, max_line_bytes: int | None
) -> Iterator[bytes | _Skipped]:
    """The blocks of whole lines ``step`` reads (the last one may lack its newline), each
    line over ``max_line_bytes`` read past and handed on as a :class:`_Skipped` instead.

    A line is only held while it is at most ``max_line_bytes`` long; ``chunk_bytes`` is at
    most that, so a line over it is either the carry (caught as it grows past the limit) or
    the first line of a block (its carry and the start of the block)."""
    carry = b""  # the start of a line the next block ends (never holds a newline)
    ended = False
    while not ended:
        before = len(carry)
        lines, carry, ended = step(carry)
        if lines is not None:
            if max_line_bytes is not None and before + chunk_bytes > max_line_bytes:
                first = lines.find(b"\n")
                if first > max_line_bytes:
                    yield _Skipped(first, lines[:LINE_HEAD_BYTES])
                    lines = lines[first + 1 :]
            if lines:
                yield lines
        elif max_line_bytes is not None and len(carry) > max_line_bytes:
            skipped, rest = _skip_line(stream, carry, chunk_bytes)
            yield skipped
            cut = rest.rfind(b"\n") + 1
            if cut:
                yield rest[:cut]
            carry = rest[cut:]
    if carry:
        yield carry


def _blocks_by_read(stream: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    """The stream in blocks of whole lines (the last one may lack its newline), ``read``
    ``chunk_bytes`` at a time: the definition of :func:`_blocks`."""
    for block in _bounded(_read_step(stream, chunk_bytes), stream, chunk_bytes, None):
        assert isinstance(block, bytes)
        yield block


def _blocks(
    stream: BinaryIO, chunk_bytes: int, max_line_bytes: int | None = None
) -> Iterator[bytes | _Skipped]:
    """:func:`_blocks_by_read`, each block read in place into the ``bytes`` it is handed on
    as (``_native/blocks``: no join, one buffer per block) when the stream has ``readinto``
    and the module is built (and not turned off with ``DISTILLWATCH_NATIVE=0``); lines
    over ``max_line_bytes`` skipped (:func:`_bounded`)."""
    readinto = getattr(stream, "readinto", None)
    if _BLOCKS is None or readinto is None or os.environ.get("DISTILLWATCH_NATIVE", "1") == "0":
        step = _read_step(stream, chunk_bytes)
    else:
        native = _BLOCKS

        def step(carry: bytes) -> tuple[bytes | None, bytes, bool]:
            result: tuple[bytes | None, bytes, bool] = native.next_block(
                readinto, carry, chunk_bytes
            )
            return result

    yield from _bounded(step, stream, chunk_bytes, max_line_bytes)


def line_chunks(
    stream: BinaryIO, name: str, first_line: int, chunk_bytes: int, max_line_bytes: int
) -> Iterator[JsonlChunk | LongLine]:
    """The chunks of JSON Lines ``stream`` (its first line numbered ``first_line``): blocks
    of whole lines, and each line over ``max_line_bytes`` as a :class:`LongLine`."""
    line = first_line
    chunk_bytes = min(chunk_bytes, max_line_bytes)
    for block in _blocks(stream, chunk_bytes, max_line_bytes):
        if isinstance(block, _Skipped):
            yield LongLine(name, line, block.length, max_line_bytes, block.head)
            line += 1
        else:
            yield JsonlChunk(name, line, block)
            line += count_newlines(block)


def _jsonl_chunks(source: Source, chunk_bytes: int, max_line_bytes: int) -> Iterator[Positioned]:
    with open_jsonl(source) as (stream, raw):
        for chunk in line_chunks(stream, source.name, 1, chunk_bytes, max_line_bytes):
            yield Positioned(chunk, raw.tell())


def _parquet_chunks(source: Source, batch_rows: int) -> Iterator[Positioned]:
    import pyarrow.parquet as pq

    name = source.name
    parquet = pq.ParquetFile(source.path if source.url is None else open_raw(source))
    row = 1
    total_rows = max(parquet.metadata.num_rows, 1)
    for batch in parquet.iter_batches(batch_size=batch_rows):
        # Parquet has no byte offset per batch; rows read is the honest proxy.
        done = source.size * min(row - 1 + batch.num_rows, total_rows) // total_rows
        yield Positioned(ParquetChunk(name, row, batch), done)
        row += batch.num_rows


def read_chunks(
    source: Source,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    parquet_rows: int = PARQUET_BATCH_ROWS,
    max_line_bytes: int = LINE_MAX_BYTES,
) -> Iterator[Positioned]:
    """The chunks of one source, in file order; a damaged file is an :class:`IngestError`.

    A JSON Lines line over ``max_line_bytes`` is read past, never held whole, and handed on
    as a :class:`~distillwatch.ingest.batches.LongLine` (quarantined by the worker)."""
    if source.format == "postgres":
        from distillwatch.ingest.remote.postgres import row_chunks

        yield from row_chunks(source, parquet_rows)
        return
    try:
        if source.format == "json":
            from distillwatch.ingest.documents import document_chunks

            yield from document_chunks(source, parquet_rows)
        elif source.dialect.native:
            yield from _plain_chunks(source, chunk_bytes, parquet_rows, max_line_bytes)
        else:
            for positioned in _plain_chunks(source, chunk_bytes, parquet_rows, max_line_bytes):
                if isinstance(positioned.chunk, LongLine):  # quarantined before any mapping
                    yield positioned
                    continue
                chunk = MappedChunk(positioned.chunk, source.dialect)  # type: ignore[arg-type]
                yield Positioned(chunk, positioned.bytes_done)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile, zstandard.ZstdError) as exc:
        raise IngestError(f"{source.name}: cannot read: {exc}", file=source.name) from exc
    except Exception as exc:
        if (error := parquet_error(exc, source)) is exc:
            raise
        raise error from exc


def _plain_chunks(
    source: Source, chunk_bytes: int, parquet_rows: int, max_line_bytes: int
) -> Iterator[Positioned]:
    if source.format == "parquet":
        return _parquet_chunks(source, parquet_rows)
    return _jsonl_chunks(source, chunk_bytes, max_line_bytes)
