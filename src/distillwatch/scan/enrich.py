"""Read logs once and keep each request with its signals, as one Parquet file.

This is the only pass over the raw logs in a scan: ingest validates and flattens, the signals
are computed batch by batch, and the result is written for the SQL engine to aggregate.
Memory stays bounded by the batch size, whatever the size of the logs.

Both stages run in the ingest worker processes (``RequestStream(derive=...)``), so every
core parses *and* computes signals while this process only reads, writes and counts; each
worker keeps a memo of per-prompt signal values (:func:`signals.compute_remembering`), since
traffic repeats prompts across the whole log, and hands the values it computed to the other
workers (:mod:`signals.memoshare`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from distillwatch import signals
from distillwatch.ingest import Dialect, IngestSummary, RequestStream
from distillwatch.ingest.quarantine import QuarantineFile
from distillwatch.ingest.stream import ProgressCallback
from distillwatch.schema import REQUESTS_SCHEMA

#: JSON Lines bytes per unit of work: larger than ingest's, as the signals of a chunk
#: have a fixed cost per call (pattern set, lookup tables) that a larger batch spreads; and
#: below glibc's largest mmap threshold (32 MB), so that a chunk's buffer (its carried line
#: included) comes from the heap and is reused by the next chunk instead of being mapped
#: afresh, page faults and zeroing included, in the reading process and in the workers
#: (32 -> 24 MB: enrich 12.0 -> 11.4 CPU s on make demo's log, most of it system time).
CHUNK_BYTES = 24 << 20

ENRICHED_SCHEMA = pa.unify_schemas([REQUESTS_SCHEMA, signals.OUTPUT_SCHEMA])


def enrich(
    paths: Iterable[str | os.PathLike[str]],
    out_file: Path,
    quarantine_file: Path,
    *,
    exclude: Path,
    strict: bool = False,
    on_progress: ProgressCallback | None = None,
    workers: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    dialect: Dialect | None = None,
    query: str | None = None,
) -> IngestSummary:
    """Write every valid request plus its signal columns to ``out_file``.

    ``dialect`` and ``query`` say how to read the logs (``distillwatch.ingest.formats``:
    None detects each file's format)."""
    quarantine = QuarantineFile(quarantine_file)
    stream = enriching_stream(
        paths,
        quarantine,
        exclude=(exclude,),
        strict=strict,
        on_progress=on_progress,
        workers=workers,
        chunk_bytes=chunk_bytes,
        dialect=dialect,
        query=query,
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with pq.ParquetWriter(out_file, ENRICHED_SCHEMA, compression="zstd") as writer:
            for batch in stream:
                writer.write_batch(as_enriched(batch))
    finally:
        quarantine.close()
    return stream.summary()


def enriching_stream(
    paths: Iterable[str | os.PathLike[str]],
    quarantine: QuarantineFile,
    *,
    exclude: Iterable[Path],
    strict: bool = False,
    on_progress: ProgressCallback | None = None,
    workers: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    dialect: Dialect | None = None,
    query: str | None = None,
) -> RequestStream:
    """The requests of ``paths`` with their signal columns appended in the ingest workers
    (pass each batch through :func:`as_enriched`); shared by :func:`enrich` and the
    incremental scan, which writes the same rows split by day (``scan/state.py``)."""
    return RequestStream(
        paths,
        strict=strict,
        quarantine=quarantine.write,
        on_progress=on_progress,
        exclude=exclude,
        workers=workers,
        chunk_bytes=chunk_bytes,
        derive=signals.compute_remembering,
        dialect=dialect,
        query=query,
        warm=("distillwatch.ingest.warm",),
    )


def as_enriched(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch of the stream as a row of :data:`ENRICHED_SCHEMA` (names and metadata)."""
    return pa.RecordBatch.from_arrays(batch.columns, schema=ENRICHED_SCHEMA)


def enrich_into(
    paths: list[str | os.PathLike[str]],
    out_dir: Path,
    *,
    strict: bool = False,
    on_progress: ProgressCallback | None = None,
    dialect: Dialect | None = None,
    query: str | None = None,
) -> tuple[Path, IngestSummary]:
    """The first step of ``scan`` and ``replay``: ``out_dir/_work/enriched.parquet`` and the
    quarantine file in ``out_dir`` (the logs are read once, whatever runs after)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    enriched = out_dir / "_work" / "enriched.parquet"
    summary = enrich(
        paths,
        enriched,
        out_dir / "quarantine.jsonl",
        strict=strict,
        on_progress=on_progress,
        exclude=out_dir,
        dialect=dialect,
        query=query,
    )
    return enriched, summary
