"""Traffic log v1 ingest: validate, normalise, quarantine, and write the requests table.

Two entry points:

* :func:`iter_batches` streams ``REQUESTS_SCHEMA`` record batches from logs without writing
  anything — what ``scan`` and ``replay`` read through.
* :func:`ingest` writes them to ``DIR/requests/part-*.parquet`` (zstd), the bad records to
  ``DIR/quarantine.jsonl`` and the counts to ``DIR/summary.json``.

What counts as a bad record is documented in :mod:`distillwatch.ingest.validate`, how nested
fields become columns in :mod:`distillwatch.ingest.normalize`, which files a directory
argument contributes in :mod:`distillwatch.ingest.sources`, and duplicate request ids (kept,
counted) in :mod:`distillwatch.ingest.summary`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import pyarrow as pa

from distillwatch.ingest.errors import IngestError
from distillwatch.ingest.formats import Dialect
from distillwatch.ingest.normalize import check_record, flatten
from distillwatch.ingest.quarantine import Quarantined, QuarantineFile
from distillwatch.ingest.stream import ProgressCallback, QuarantineSink, RequestStream
from distillwatch.ingest.summary import IngestSummary
from distillwatch.ingest.validate import InvalidRecord, Reason
from distillwatch.ingest.writer import PartWriter

__all__ = [
    "Dialect",
    "IngestError",
    "IngestSummary",
    "InvalidRecord",
    "Quarantined",
    "Reason",
    "RequestStream",
    "check_record",
    "flatten",
    "ingest",
    "iter_batches",
]

PathArg = str | os.PathLike[str]


def iter_batches(
    paths: Iterable[PathArg],
    *,
    strict: bool = False,
    quarantine: QuarantineSink | None = None,
    workers: int | None = None,
    dialect: Dialect | None = None,
    query: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream the valid records of ``paths`` as ``REQUESTS_SCHEMA`` batches, in input order.

    Paths are checked now (a missing one raises :class:`IngestError` before anything is read).
    Each bad record is passed to ``quarantine`` if given and otherwise dropped; with ``strict``
    the first one raises :class:`IngestError`. Use :class:`RequestStream` directly to also get
    the summary counts. ``dialect`` (None: detected per file) and ``query`` are as for
    :class:`RequestStream`.
    """
    return iter(
        RequestStream(
            paths,
            strict=strict,
            quarantine=quarantine,
            workers=workers,
            dialect=dialect,
            query=query,
        )
    )


def ingest(
    paths: Iterable[PathArg],
    out_dir: PathArg,
    *,
    strict: bool = False,
    on_progress: ProgressCallback | None = None,
    workers: int | None = None,
    dialect: Dialect | None = None,
    query: str | None = None,
) -> IngestSummary:
    """Ingest traffic logs into ``out_dir`` and return what was seen.

    Writes ``requests/part-NNNNN.parquet``, ``quarantine.jsonl`` and ``summary.json``, each
    replacing the one of a previous run only when this run succeeds. Quarantined records do not
    make the run fail; a missing/unreadable path, a damaged compressed stream, or (with
    ``strict``) the first bad record raises :class:`IngestError` and leaves ``out_dir`` as it was.
    ``out_dir`` itself is never read as input, even inside a directory argument.
    """
    out = Path(out_dir)
    qfile_path = out / ".quarantine.jsonl.partial"
    stream_ = RequestStream(
        paths,
        strict=strict,
        on_progress=on_progress,
        workers=workers,
        exclude=[out],
        dialect=dialect,
        query=query,
    )
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    quarantine = QuarantineFile(qfile_path)
    stream_.quarantine = quarantine.write
    writer = PartWriter(out)
    try:
        for batch in stream_:
            writer.write(batch)
        parts = writer.commit()
    except BaseException:
        writer.abort()
        quarantine.close()
        qfile_path.unlink(missing_ok=True)
        raise
    quarantine.close()
    qfile_path.replace(out / "quarantine.jsonl")
    summary = stream_.summary()
    summary.seconds = time.perf_counter() - started
    summary.out_dir = str(out)
    summary.parts = [str(part) for part in parts]
    (out / "summary.json").write_bytes(
        orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    )
    return summary
