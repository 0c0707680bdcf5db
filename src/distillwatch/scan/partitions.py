"""Enrich one input into day partitions of the state directory (``scan/state.py``).

The rows are those of a full scan's enrich stage (the same stream, ``scan/enrich.py``),
split by the UTC day of ``ts`` as they stream by, so each day of the input gets its own
Parquet file and a day can later leave the window on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from distillwatch.ingest import Dialect
from distillwatch.ingest.quarantine import QuarantineFile
from distillwatch.ingest.sources import Source
from distillwatch.ingest.stream import ProgressCallback
from distillwatch.scan.enrich import ENRICHED_SCHEMA, as_enriched, enriching_stream
from distillwatch.scan.state import DAY_MICROS, DAYS, QUARANTINE, Input, Part, day_of

#: Bytes hashed at a time when fingerprinting an input.
HASH_BLOCK = 1 << 20


def fingerprint(source: Source) -> str:
    """SHA-256 of the input's bytes as stored (compressed bytes for a compressed file): the
    same file offered twice, under any name, is enriched once."""
    from distillwatch.ingest.sources import open_raw

    digest = hashlib.sha256()
    with open_raw(source) as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def part_key(name: str, sha256: str, identity: str) -> str:
    """File name stem of an input's partitions: new bytes, code or settings give new files,
    so a run never overwrites a file the committed manifest still names."""
    return hashlib.sha256(f"{name}\0{sha256}\0{identity}".encode()).hexdigest()[:24]


@dataclass
class _Day:
    writer: pq.ParquetWriter
    part: Part


class DayWriters:
    """One Parquet writer per UTC day seen in an input, under ``root/days/<day>/``."""

    def __init__(self, root: Path, key: str) -> None:
        self.root = root
        self.key = key
        self.days: dict[str, _Day] = {}

    def write(self, batch: pa.RecordBatch) -> None:
        """Append the batch's rows to the file of their day."""
        micros = batch.column("ts").cast(pa.int64()).to_numpy()
        numbers = np.floor_divide(micros, DAY_MICROS)
        distinct = np.unique(numbers)
        for number in distinct:
            if len(distinct) == 1:
                rows, values = batch, micros
            else:
                mask = numbers == number
                rows, values = batch.filter(pa.array(mask)), micros[mask]
            entry = self._open(day_of(int(number) * DAY_MICROS))
            entry.writer.write_batch(rows)
            part = entry.part
            part.rows += rows.num_rows
            part.ts_min_us = min(part.ts_min_us, int(values.min()))
            part.ts_max_us = max(part.ts_max_us, int(values.max()))

    def _open(self, day: str) -> _Day:
        if day not in self.days:
            rel = f"{DAYS}/{day}/{self.key}.parquet"
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(path, ENRICHED_SCHEMA, compression="zstd")
            self.days[day] = _Day(writer, Part(day, rel, 0, 2**63 - 1, -(2**63)))
        return self.days[day]

    def close(self) -> list[Part]:
        """Close every file; the parts, by day."""
        for entry in self.days.values():
            entry.writer.close()
        return [self.days[day].part for day in sorted(self.days)]


def enrich_input(
    source: Source,
    sha256: str,
    staging: Path,
    key: str,
    read_at: str,
    *,
    exclude: Iterable[Path],
    strict: bool,
    dialect: Dialect | None,
    query: str | None,
    on_progress: ProgressCallback | None = None,
) -> Input:
    """Enrich ``source`` into ``staging`` (days and quarantine, relative paths as in the
    state) and return its manifest entry with the ingest counts of this input."""
    quarantine_rel = f"{QUARANTINE}/{key}.jsonl"
    quarantine = QuarantineFile(staging / quarantine_rel)
    stream = enriching_stream(
        [source.url or str(source.path)],
        quarantine,
        exclude=exclude,
        strict=strict,
        on_progress=on_progress,
        dialect=dialect,
        query=query,
    )
    writers = DayWriters(staging, key)
    try:
        for batch in stream:
            writers.write(as_enriched(batch))
    finally:
        parts = writers.close()
        quarantine.close()
    summary = stream.summary()
    counts = next(iter(summary.files.values()), {})
    if not summary.quarantined:
        (staging / quarantine_rel).unlink()
    return Input(
        name=source.name,
        sha256=sha256,
        size=source.size,
        read_at=read_at,
        lines=counts.get("lines", 0),
        records=summary.records,
        quarantined=summary.quarantined,
        quarantined_fields=summary.quarantined_fields,
        passed_over=summary.passed_over,
        quarantine=quarantine_rel if summary.quarantined else None,
        parts=parts,
    )


def offset_progress(
    on_progress: ProgressCallback | None, before: int, total: int
) -> ProgressCallback | None:
    """Progress of one input as progress over all inputs of the run."""
    if on_progress is None:
        return None
    report: Callable[[int, int], None] = on_progress
    return lambda done, _total: report(before + done, total)
