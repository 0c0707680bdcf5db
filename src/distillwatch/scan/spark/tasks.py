"""What one Spark task does with its split: ingest's own parse and the signals, as Arrow.

This runs in Spark's Python workers (``mapInArrow``), on the same functions the DuckDB engine
runs in its worker processes: :func:`ingest.batches.process_chunk` (typed decoding, the
per-line path for refused lines, quarantine reasons) with :func:`signals.compute_remembering`
as its ``derive``. A task yields one stream of Arrow batches in :data:`OUT_SCHEMA`, whose
``_kind`` column says what a row is:

* :data:`REQUEST` -- a valid request with its signal columns (``source_line`` counted from
  the split's start, see :mod:`.splits`);
* :data:`PROBLEM` -- a quarantined record: ``_payload`` is its ``quarantine.jsonl`` line;
* :data:`LINES` -- one per split, at its end: ``_payload`` is JSON ``{"lines", "records",
  "quarantined", "ts_min", "ts_max", "passed_over", "inputs"}``, what the ingest summary
  counts per file (so no job over the requests is needed for it);
* :data:`FATAL` -- the split could not be read (a damaged file): ``_payload`` is JSON
  ``{"message"}``, the :class:`IngestError` the DuckDB engine would raise.

One stream rather than several jobs keeps the logs read once. Spark has no unsigned 64-bit
type, so ``template_id`` and ``lsh_*`` leave as ``int64`` with the same bits
(:data:`~distillwatch.scan.spark.dialect.UNSIGNED_COLUMNS`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch import signals
from distillwatch.ingest.batches import JsonlChunk, LongLine, process_chunk
from distillwatch.ingest.errors import IngestError
from distillwatch.ingest.limits import LINE_MAX_BYTES
from distillwatch.ingest.quarantine import Quarantined
from distillwatch.ingest.readers import line_chunks, read_chunks
from distillwatch.ingest.sources import open_raw
from distillwatch.scan.enrich import CHUNK_BYTES, ENRICHED_SCHEMA
from distillwatch.scan.spark.splits import Split

REQUEST, PROBLEM, LINES, FATAL = 0, 1, 2, 3

_EXTRA = [
    pa.field("_kind", pa.int8()),
    pa.field("_split", pa.int32()),
    pa.field("_line", pa.int64()),
    pa.field("_payload", pa.binary()),
]
#: The enriched requests as Spark holds them (nullable; unsigned as signed) plus the four
#: columns above.
OUT_SCHEMA = pa.schema(
    [
        pa.field(f.name, pa.int64() if f.type == pa.uint64() else f.type, nullable=True)
        for f in ENRICHED_SCHEMA
    ]
    + _EXTRA
)
ENRICHED_COLUMNS = tuple(ENRICHED_SCHEMA.names)


class _Range:
    """``read`` of ``handle`` that ends after ``remaining`` bytes (a split's end)."""

    def __init__(self, handle: BinaryIO, remaining: int) -> None:
        self.handle, self.remaining = handle, remaining

    def read(self, size: int) -> bytes:
        block = self.handle.read(min(size, self.remaining)) if self.remaining > 0 else b""
        self.remaining -= len(block)
        return block


def _ranged_chunks(
    split: Split, chunk_bytes: int, max_line_bytes: int
) -> Iterator[JsonlChunk | LongLine]:
    """The whole lines of bytes ``[split.start, split.end)``, ``chunk_bytes`` at a time, a
    line over ``limits.LINE_MAX_BYTES`` read past (as ingest's reader does)."""
    assert split.end is not None
    with open_raw(split.source) as handle:
        handle.seek(split.start)
        window = _Range(handle, split.end - split.start)
        stream = cast(BinaryIO, window)
        name, first = split.source.name, split.first_line
        yield from line_chunks(stream, name, first, chunk_bytes, max_line_bytes)


def split_chunks(
    split: Split, chunk_bytes: int = CHUNK_BYTES, max_line_bytes: int = LINE_MAX_BYTES
) -> Iterator[Any]:
    """The chunks of one split, as ingest's reader cuts them."""
    if split.end is None:
        chunks = read_chunks(split.source, chunk_bytes=chunk_bytes, max_line_bytes=max_line_bytes)
        for positioned in chunks:
            yield positioned.chunk
    else:
        yield from _ranged_chunks(split, chunk_bytes, max_line_bytes)


def _rows(
    n: int, kind: int, split: int, columns: dict[str, pa.Array] | None = None
) -> pa.RecordBatch:
    """``n`` rows of :data:`OUT_SCHEMA`: ``columns`` given, every other one null."""
    given = columns or {}
    given.setdefault("_kind", pa.array([kind] * n, pa.int8()))
    given.setdefault("_split", pa.array([split] * n, pa.int32()))
    arrays = [
        given[f.name].cast(f.type, safe=False) if f.name in given else pa.nulls(n, f.type)
        for f in OUT_SCHEMA
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=OUT_SCHEMA)


def _requests(batch: pa.RecordBatch, split: int) -> pa.RecordBatch:
    columns = dict(zip(batch.schema.names, batch.columns, strict=True))
    return _rows(batch.num_rows, REQUEST, split, columns)


def _problems(problems: list[Quarantined], split: int) -> pa.RecordBatch:
    columns = {
        "source_file": pa.array([p.file for p in problems], pa.string()),
        "_line": pa.array([p.line for p in problems], pa.int64()),
        "_payload": pa.array([p.to_json() for p in problems], pa.binary()),
    }
    return _rows(len(problems), PROBLEM, split, columns)


def _note(kind: int, split: Split, payload: dict[str, Any]) -> pa.RecordBatch:
    columns = {
        "source_file": pa.array([split.source.name], pa.string()),
        "_payload": pa.array([orjson.dumps(payload)], pa.binary()),
    }
    return _rows(1, kind, split.index, columns)


def split_batches(split: Split, chunk_bytes: int = CHUNK_BYTES) -> Iterator[pa.RecordBatch]:
    """Every output row of one split (requests, problems, then its note)."""
    note: dict[str, Any] = {"lines": 0, "records": 0, "quarantined": 0, "inputs": None}
    passed_over: Counter[str] = Counter()
    span: list[int] = []
    try:
        for chunk in split_chunks(split, chunk_bytes):
            result = process_chunk(chunk, derive=signals.compute_remembering)
            note["lines"] += result.lines
            note["records"] += result.batch.num_rows
            note["quarantined"] += len(result.problems)
            if result.inputs is not None:
                note["inputs"] = (note["inputs"] or 0) + result.inputs
            passed_over.update(dict(result.passed_over))
            if result.batch.num_rows:
                low_high = pc.min_max(result.batch.column("ts").cast(pa.int64()))
                span += [low_high["min"].as_py(), low_high["max"].as_py()]
                yield _requests(result.batch, split.index)
            if result.problems:
                yield _problems(result.problems, split.index)
    except IngestError as exc:
        yield _note(FATAL, split, {"message": str(exc)})
        return
    note.update(passed_over=passed_over, ts_min=min(span, default=None))
    note["ts_max"] = max(span, default=None)
    yield _note(LINES, split, note)


def parse_splits(
    batches: Iterator[pa.RecordBatch], splits: list[Split], chunk_bytes: int = CHUNK_BYTES
) -> Iterator[pa.RecordBatch]:
    """The ``mapInArrow`` function: ``batches`` hold split indexes (column 0)."""
    for batch in batches:
        for index in batch.column(0).to_pylist():
            yield from split_batches(splits[index], chunk_bytes)


__all__ = [
    "ENRICHED_COLUMNS",
    "FATAL",
    "LINES",
    "OUT_SCHEMA",
    "PROBLEM",
    "REQUEST",
    "parse_splits",
    "split_batches",
    "split_chunks",
]
