"""Turn one chunk of input (lines of JSON, or a Parquet record batch) into one Arrow batch.

This is the hot loop of ingest and the unit of parallel work: :func:`process_chunk` is a pure
function of its argument, holds no state between calls, and its argument and result pickle
cheaply (bytes in, an Arrow batch and a short list of problems out), so the same code runs in
the calling process or in a worker process.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import orjson
import pyarrow as pa

from distillwatch.ingest import fast
from distillwatch.ingest.limits import cut_texts
from distillwatch.ingest.normalize import Row, flatten
from distillwatch.ingest.quarantine import Quarantined, quarantined
from distillwatch.ingest.validate import InvalidRecord, Reason, country_code, timestamp_us
from distillwatch.schema import REQUESTS_SCHEMA

if TYPE_CHECKING:
    from distillwatch.ingest.formats.process import MappedChunk

_ROW_TYPES = [field.type for field in REQUESTS_SCHEMA][:-2]
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class JsonlChunk:
    """Whole lines of a JSON Lines file; ``first_line`` is the 1-based number of the first."""

    source: str
    first_line: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ParquetChunk:
    """One record batch of a Parquet file; ``first_line`` is the 1-based row number."""

    source: str
    first_line: int
    batch: pa.RecordBatch


@dataclass(frozen=True, slots=True)
class LongLine:
    """A JSON Lines line the reader skipped for being over ``limits.LINE_MAX_BYTES`` (or the
    reader's ``max_line_bytes``): where it was, its length in bytes (newline not counted),
    the limit, and its first bytes -- all that is kept of it (``readers._bounded``)."""

    source: str
    line: int
    length: int
    limit: int
    head: bytes


Chunk: TypeAlias = "JsonlChunk | ParquetChunk | MappedChunk | LongLine"


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """The valid rows of a chunk as one ``REQUESTS_SCHEMA`` batch, plus the rejected records."""

    source: str
    batch: pa.RecordBatch
    problems: list[Quarantined]
    lines: int
    #: Foreign records deliberately not read as requests, by reason (``formats.process``).
    passed_over: tuple[tuple[str, int], ...] = ()
    #: Foreign records read (an OTLP line holds many spans); None for v1 input.
    inputs: int | None = None


def rows_to_batch(rows: list[Row], line_numbers: list[int], source: str) -> pa.RecordBatch:
    """Transpose flattened rows into a ``REQUESTS_SCHEMA`` record batch."""
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in _ROW_TYPES]
    arrays = [pa.array(column, type=kind) for column, kind in zip(columns, _ROW_TYPES, strict=True)]
    arrays.append(pa.array([source] * len(rows), type=pa.string()))
    arrays.append(pa.array(line_numbers, type=pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, schema=REQUESTS_SCHEMA)


def _parse_jsonl(chunk: JsonlChunk) -> ChunkResult:
    source = chunk.source
    rows: list[Row] = []
    line_numbers: list[int] = []
    problems: list[Quarantined] = []
    loads = orjson.loads
    data = chunk.data
    if chunk.first_line == 1 and data.startswith(_BOM):
        data = data[len(_BOM) :]
    suspects = fast.suspect_lines(data) if fast.usable() else None
    native = fast.native_columns()
    if native is not None:
        return _parse_jsonl_native(native, chunk, data, suspects)
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()  # the newline ending the last line does not start another
    fast_decode = None if suspects is None else fast.decode
    line_no = chunk.first_line - 1
    for index, raw in enumerate(lines):
        line_no += 1
        if not raw or raw.isspace():
            continue
        if fast_decode is not None and index not in suspects:  # type: ignore[operator]
            try:
                rows.append(fast_decode(raw))
                line_numbers.append(line_no)
                continue
            except Exception:  # any doubt: the per-line path decides
                pass
        try:
            rows.append(flatten(loads(raw)))
        except orjson.JSONDecodeError as exc:
            problem = InvalidRecord(Reason.INVALID_JSON, None, f"invalid JSON: {exc}")
            problems.append(quarantined(source, line_no, raw, problem))
            continue
        except InvalidRecord as problem:
            problems.append(quarantined(source, line_no, raw, problem))
            continue
        line_numbers.append(line_no)
    return ChunkResult(source, rows_to_batch(rows, line_numbers, source), problems, len(lines))


def _parse_jsonl_native(
    native: Any, chunk: JsonlChunk, data: bytes, suspects: set[int] | None
) -> ChunkResult:
    """:func:`_parse_jsonl` with the rows written straight into Arrow columns by the compiled
    ``_native.columns`` (same rows, same quarantine; the per-line path is the same code)."""
    source = chunk.source
    problems: list[Quarantined] = []
    loads = orjson.loads

    def per_line(raw: bytes, line_no: int) -> Row | None:
        try:
            return flatten(loads(raw))
        except orjson.JSONDecodeError as exc:
            problem = InvalidRecord(Reason.INVALID_JSON, None, f"invalid JSON: {exc}")
            problems.append(quarantined(source, line_no, raw, problem))
        except InvalidRecord as problem:
            problems.append(quarantined(source, line_no, raw, problem))
        return None

    rows = native.Rows(_ROW_TYPES, timestamp_us, country_code)
    lines = native.decode_lines(
        rows, data, suspects, chunk.first_line, fast.DECODER.decode, per_line
    )
    arrays = rows.columns()
    line_numbers = arrays.pop()
    arrays += [pa.repeat(pa.scalar(source, pa.string()), len(line_numbers)), line_numbers]
    batch = pa.RecordBatch.from_arrays(arrays, schema=REQUESTS_SCHEMA)
    return ChunkResult(source, batch, problems, lines)


def _long_line(chunk: LongLine) -> ChunkResult:
    detail = (
        f"line {chunk.line} of {chunk.source} is {chunk.length:,} bytes long, over the limit"
        f" of {chunk.limit:,}: skipped unread (raw is its start)"
    )
    problem = InvalidRecord(Reason.LINE_TOO_LONG, None, detail)
    problems = [quarantined(chunk.source, chunk.line, chunk.head, problem)]
    return ChunkResult(chunk.source, rows_to_batch([], [], chunk.source), problems, 1)


def _parse_parquet(chunk: ParquetChunk) -> ChunkResult:
    source = chunk.source
    rows: list[Row] = []
    line_numbers: list[int] = []
    problems: list[Quarantined] = []
    for line_no, record in enumerate(chunk.batch.to_pylist(), start=chunk.first_line):
        try:
            rows.append(flatten(record))
        except InvalidRecord as problem:
            problems.append(quarantined(source, line_no, record, problem))
            continue
        line_numbers.append(line_no)
    return ChunkResult(
        source, rows_to_batch(rows, line_numbers, source), problems, chunk.batch.num_rows
    )


#: A per-batch computation run in the worker right after parsing (e.g. the signals): it
#: returns a row-aligned batch whose columns are appended to the parsed batch.
Derive = Callable[[pa.RecordBatch], pa.RecordBatch]


def with_derived(batch: pa.RecordBatch, derive: Derive) -> pa.RecordBatch:
    """``batch`` with the columns of ``derive(batch)`` appended (schemas unified)."""
    extra = derive(batch)
    schema = pa.unify_schemas([batch.schema, extra.schema])
    return pa.RecordBatch.from_arrays(batch.columns + extra.columns, schema=schema)


def process_chunk(chunk: Chunk, derive: Derive | None = None) -> ChunkResult:
    """Parse, check and flatten every record of a chunk, then run ``derive`` on the rows
    and cut prompt texts over ``limits.TEXT_MAX`` characters (after ``derive``: the signals
    see them whole).

    The cyclic garbage collector is paused while parsing: it allocates hundreds of thousands
    of dicts and lists, none of them in cycles, and each allocation burst would otherwise
    trigger full collections that walk every live record (a third of the parse time,
    measured). ``derive`` runs here, in the worker, so that both stages use every core.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        if isinstance(chunk, JsonlChunk):
            result = _parse_jsonl(chunk)
        elif isinstance(chunk, ParquetChunk):
            result = _parse_parquet(chunk)
        elif isinstance(chunk, LongLine):
            result = _long_line(chunk)
        else:  # a foreign log format: mapped to v1 first
            from distillwatch.ingest.formats.process import process_mapped

            result = process_mapped(chunk)
    finally:
        if was_enabled:
            gc.enable()
    # the signals read whole prompts; what is kept of them after is bounded (ingest/limits.py)
    batch = cut_texts(result.batch if derive is None else with_derived(result.batch, derive))
    if batch is result.batch:
        return result
    return ChunkResult(
        result.source,
        batch,
        result.problems,
        result.lines,
        result.passed_over,
        result.inputs,
    )
