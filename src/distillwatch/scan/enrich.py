"""Read logs once and keep each request with its signals, as one Parquet file.

This is the only pass over the raw logs in a scan: ingest validates and flattens, the signals
are computed batch by batch, and the result is written for the SQL engine to aggregate.
Memory stays bounded by the batch size, whatever the size of the logs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from distillwatch import signals
from distillwatch.ingest import IngestSummary, RequestStream
from distillwatch.ingest.quarantine import QuarantineFile
from distillwatch.ingest.stream import ProgressCallback
from distillwatch.schema import REQUESTS_SCHEMA

ENRICHED_SCHEMA = pa.unify_schemas([REQUESTS_SCHEMA, signals.OUTPUT_SCHEMA])


def enrich(
    paths: Iterable[str | os.PathLike[str]],
    out_file: Path,
    quarantine_file: Path,
    *,
    exclude: Path,
    strict: bool = False,
    on_progress: ProgressCallback | None = None,
) -> IngestSummary:
    """Write every valid request plus its signal columns to ``out_file``."""
    quarantine = QuarantineFile(quarantine_file)
    stream = RequestStream(
        paths,
        strict=strict,
        quarantine=quarantine.write,
        on_progress=on_progress,
        exclude=(exclude,),
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with pq.ParquetWriter(out_file, ENRICHED_SCHEMA, compression="zstd") as writer:
            for batch in stream:
                extra = signals.compute(batch)
                arrays = batch.columns + extra.columns
                writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=ENRICHED_SCHEMA))
    finally:
        quarantine.close()
    return stream.summary()
