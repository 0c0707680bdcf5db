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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import zstandard

from distillwatch._native import load
from distillwatch.ingest.batches import Chunk, JsonlChunk, ParquetChunk
from distillwatch.ingest.errors import IngestError
from distillwatch.ingest.formats.process import MappedChunk
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


def _blocks_by_read(stream: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    """The stream in blocks of whole lines (the last one may lack its newline), ``read``
    ``chunk_bytes`` at a time: the definition of :func:`_blocks`."""
    carry = b""  # the start of a line the next block ends (never holds a newline)
    while True:
        block = stream.read(chunk_bytes)
        if not block:
            break
        cut = block.rfind(b"\n")
        if cut < 0:  # one line longer than a block: keep reading until it ends
            carry += block
            continue
        whole = _whole_lines(carry, block, cut + 1)
        carry = block[cut + 1 :]
        yield whole
    if carry:
        yield carry


def _blocks(stream: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    """:func:`_blocks_by_read`, each block read in place into the ``bytes`` it is handed on
    as (``_native/blocks``: no join, one buffer per block) when the stream has ``readinto``
    and the module is built (and not turned off with ``DISTILLWATCH_NATIVE=0``)."""
    readinto = getattr(stream, "readinto", None)
    if _BLOCKS is None or readinto is None or os.environ.get("DISTILLWATCH_NATIVE", "1") == "0":
        yield from _blocks_by_read(stream, chunk_bytes)
        return
    carry = b""
    ended = False
    while not ended:
        lines, carry, ended = _BLOCKS.next_block(readinto, carry, chunk_bytes)
        if lines is not None:
            yield lines
    if carry:
        yield carry


def _jsonl_chunks(source: Source, chunk_bytes: int) -> Iterator[Positioned]:
    name = source.name
    line = 1
    with open_jsonl(source) as (stream, raw):
        for block in _blocks(stream, chunk_bytes):
            yield Positioned(JsonlChunk(name, line, block), raw.tell())
            line += count_newlines(block)


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
    source: Source, *, chunk_bytes: int = CHUNK_BYTES, parquet_rows: int = PARQUET_BATCH_ROWS
) -> Iterator[Positioned]:
    """The chunks of one source, in file order; a damaged file is an :class:`IngestError`."""
    if source.format == "postgres":
        from distillwatch.ingest.remote.postgres import row_chunks

        yield from row_chunks(source, parquet_rows)
        return
    try:
        if source.format == "json":
            from distillwatch.ingest.documents import document_chunks

            yield from document_chunks(source, parquet_rows)
        elif source.dialect.native:
            yield from _plain_chunks(source, chunk_bytes, parquet_rows)
        else:
            for positioned in _plain_chunks(source, chunk_bytes, parquet_rows):
                chunk = MappedChunk(positioned.chunk, source.dialect)  # type: ignore[arg-type]
                yield Positioned(chunk, positioned.bytes_done)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile, zstandard.ZstdError) as exc:
        raise IngestError(f"{source.name}: cannot read: {exc}", file=source.name) from exc
    except Exception as exc:
        if (error := parquet_error(exc, source)) is exc:
            raise
        raise error from exc


def _plain_chunks(source: Source, chunk_bytes: int, parquet_rows: int) -> Iterator[Positioned]:
    if source.format == "parquet":
        return _parquet_chunks(source, parquet_rows)
    return _jsonl_chunks(source, chunk_bytes)
