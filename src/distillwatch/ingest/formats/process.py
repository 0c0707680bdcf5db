"""Map, validate and flatten one chunk of foreign records — the worker step of a dialect.

Like :func:`distillwatch.ingest.batches.process_chunk` it is a pure function of a picklable
chunk. Every foreign record read ends in exactly one of three counts: a row of the batch, a
quarantined record (naming the foreign field and the line/row, and for a record nested in a
line — an OTLP span — where in the line), or ``passed_over`` with the reason. ``inputs`` counts
the foreign records, so a summary can show that nothing was lost.

A mapper that fails in a way it did not foresee (a bug, or input stranger than its checks)
quarantines that one record with the exception named, rather than stopping the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from distillwatch.ingest.batches import ChunkResult, JsonlChunk, ParquetChunk, rows_to_batch
from distillwatch.ingest.formats import Dialect, Mapped, PassedOver, mapper_for
from distillwatch.ingest.formats.base import translate
from distillwatch.ingest.normalize import Row, flatten
from distillwatch.ingest.quarantine import Quarantined, quarantined
from distillwatch.ingest.validate import InvalidRecord, Reason

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class RowsChunk:
    """Records already parsed (database rows, elements of a JSON array)."""

    source: str
    first_line: int
    rows: list[Any]


@dataclass(frozen=True, slots=True)
class MappedChunk:
    """A chunk of input in a foreign dialect (or v1 rows that need no JSON parsing)."""

    inner: JsonlChunk | ParquetChunk | RowsChunk
    dialect: Dialect


def _records(inner: JsonlChunk | ParquetChunk | RowsChunk) -> Iterator[tuple[int, Any, Any]]:
    """(line or row number, raw form for quarantine, parsed record or an error)."""
    if isinstance(inner, JsonlChunk):
        data = inner.data
        if inner.first_line == 1 and data.startswith(_BOM):
            data = data[len(_BOM) :]
        lines = data.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        for line_no, raw in enumerate(lines, start=inner.first_line):
            if not raw or raw.isspace():
                continue
            try:
                yield line_no, raw, orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                yield line_no, raw, InvalidRecord(Reason.INVALID_JSON, None, f"invalid JSON: {exc}")
        return
    rows = inner.batch.to_pylist() if isinstance(inner, ParquetChunk) else inner.rows
    for line_no, row in enumerate(rows, start=inner.first_line):
        yield line_no, row, row


def _located(problem: InvalidRecord, where: str | None) -> InvalidRecord:
    if where is None:
        return problem
    field = f"{where}.{problem.field}" if problem.field else where
    return InvalidRecord(problem.reason, field, f"{where}: {problem.detail}")


def process_mapped(chunk: MappedChunk) -> ChunkResult:
    """Map every record of the chunk with its dialect, then validate and flatten each."""
    inner = chunk.inner
    source = inner.source
    mapper = mapper_for(chunk.dialect)
    rows: list[Row] = []
    line_numbers: list[int] = []
    problems: list[Quarantined] = []
    passed: Counter[str] = Counter()
    inputs = 0

    def reject(line_no: int, raw: Any, problem: InvalidRecord) -> None:
        problems.append(quarantined(source, line_no, raw, problem))

    for line_no, raw, parsed in _records(inner):
        if isinstance(parsed, InvalidRecord):
            inputs += 1
            reject(line_no, raw, parsed)
            continue
        try:
            items = list(mapper(parsed))
        except InvalidRecord as problem:
            items = []
            inputs += 1
            reject(line_no, raw, problem)
        except Exception as exc:
            items = []
            inputs += 1
            detail = f"cannot map {chunk.dialect.name} record: {type(exc).__name__}: {exc}"
            reject(line_no, raw, InvalidRecord(Reason.BAD_VALUE, None, detail[:500]))
        for item in items:
            inputs += 1
            if isinstance(item, PassedOver):
                passed[item.why] += 1
            elif isinstance(item, Mapped):
                try:
                    rows.append(flatten(item.record))
                except InvalidRecord as problem:
                    located = _located(translate(problem, item.origin), item.where)
                    reject(line_no, raw if item.where is None else item.raw, located)
                    continue
                line_numbers.append(line_no)
            else:
                reject(line_no, raw if item.where is None else item.raw,
                       _located(item.problem, item.where))  # fmt: skip
    lines = inputs
    if isinstance(inner, JsonlChunk):  # as the v1 reader counts them: blank lines too
        lines = inner.data.count(b"\n") + (not inner.data.endswith(b"\n") and bool(inner.data))
    return ChunkResult(
        source,
        rows_to_batch(rows, line_numbers, source),
        problems,
        lines,
        passed_over=tuple(passed.items()),
        inputs=inputs,
    )
