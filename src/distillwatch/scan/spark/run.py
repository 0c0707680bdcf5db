"""``scan --engine spark``: the scan of :func:`distillwatch.scan.run_scan`, on Spark.

Left to right as in ``DESIGN.md``, each stage where it scales:

1. **ingest + signals** in Spark tasks, one per split of the input (:mod:`.enrich`), with the
   project's own decoding and signal functions (``mapInArrow``); the result is Parquet
   under ``DIR/_work``;
2. **per-account aggregates and link keys** in Spark SQL: the DuckDB queries of
   :mod:`distillwatch.features`, turned into Spark SQL by SQLGlot (:mod:`.dialect`);
3. **linking and scoring** on the driver, on what step 2 reduced the requests to (a row
   per account, the keys shared by two accounts or more): :func:`detect.link.link_accounts`
   and :func:`detect.score.score`, the same calls as the DuckDB engine
   (:func:`distillwatch.scan.detect_with`);
4. **outputs**: :func:`distillwatch.scan.outputs.write_outputs`, its queries run by Spark.

The files written are those of ``docs/scan-output.md``; ``docs/spark.md`` says how the two
engines' results compare and what to expect on a cluster.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from distillwatch.detect.score import DEFAULT_THRESHOLD
from distillwatch.ingest import Dialect
from distillwatch.scan import ScanResult, detect_with
from distillwatch.scan.spark.connection import SparkConnection
from distillwatch.scan.spark.enrich import enrich_spark
from distillwatch.scan.spark.progress import ProgressCallback
from distillwatch.scan.spark.session import DEFAULT_DRIVER_MEMORY, DEFAULT_MASTER, scan_session
from distillwatch.scan.spark.splits import SPLIT_BYTES

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def run_spark_scan(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: Path,
    *,
    strict: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    on_progress: ProgressCallback | None = None,
    keep_work: bool = False,
    learned: bool = True,
    dialect: Dialect | None = None,
    query: str | None = None,
    master: str = DEFAULT_MASTER,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
    spark: SparkSession | None = None,
    split_bytes: int = SPLIT_BYTES,
) -> ScanResult:
    """Scan ``paths`` on Spark; write the scan output v1 files to ``out_dir``.

    ``spark``: the session to run in; otherwise the one already running in this process,
    or a new one on ``master`` with ``driver_memory``, stopped at the end. ``split_bytes``:
    the largest piece of an uncompressed JSON Lines file one task reads. The other arguments
    are those of :func:`distillwatch.scan.run_scan`.
    """
    started = time.perf_counter()
    paths = list(paths)
    with ExitStack() as stack:
        session = spark or stack.enter_context(scan_session(master, driver_memory))
        out_dir.mkdir(parents=True, exist_ok=True)
        work = out_dir / "_work"
        con = SparkConnection(session, work)
        try:
            enriched, summary = enrich_spark(
                session,
                paths,
                out_dir,
                work,
                strict=strict,
                on_progress=on_progress,
                dialect=dialect,
                query=query,
                split_bytes=split_bytes,
            )
            enriched.createOrReplaceTempView("enriched")
            verdicts, campaigns = detect_with(
                con.as_duckdb(), out_dir, paths, summary, threshold, started, learned
            )
        finally:
            con.close()
            if not keep_work:
                shutil.rmtree(work, ignore_errors=True)
    return ScanResult(out_dir, summary, verdicts, campaigns, time.perf_counter() - started)


__all__ = ["run_spark_scan"]
