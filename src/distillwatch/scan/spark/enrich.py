"""The Spark scan's one pass over the logs: every split parsed and enriched in a task.

Mirrors :mod:`distillwatch.scan.enrich`: the inputs are found by ingest's own
:func:`~distillwatch.ingest.sources.discover` (same files read, same files skipped and why),
cut into splits (:mod:`.splits`), and each split is parsed and given its signals by a Spark
task (:mod:`.tasks`, through ``mapInArrow``). Their output is written once as Parquet under
the work directory; from it come

* ``quarantine.jsonl``, in input order with the files' own line numbers (each line exactly
  what the DuckDB engine writes), and the counts of the ingest summary;
* the view ``enriched``: requests v1 plus the signal columns, what the SQL stages read.

With ``strict`` the first broken record (in input order) stops the scan with the DuckDB
engine's message; a file that cannot be read stops it whatever ``strict`` says.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from distillwatch.ingest import Dialect, IngestError, IngestSummary
from distillwatch.ingest.quarantine import Quarantined, QuarantineFile
from distillwatch.ingest.sources import discover
from distillwatch.scan.spark.connection import hadoop_path
from distillwatch.scan.spark.progress import ProgressCallback, job_progress
from distillwatch.scan.spark.splits import SPLIT_BYTES, Split, line_offsets, plan_splits
from distillwatch.scan.spark.summary import count_problem, file_tally, finish, note_payload
from distillwatch.scan.spark.tasks import (
    ENRICHED_COLUMNS,
    FATAL,
    LINES,
    OUT_SCHEMA,
    PROBLEM,
    REQUEST,
    parse_splits,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def parse(
    spark: SparkSession,
    splits: list[Split],
    parsed_dir: Path,
    on_progress: ProgressCallback | None,
    total_bytes: int,
) -> DataFrame:
    """Run every split through a task; their rows (all kinds) as written to ``parsed_dir``."""
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = from_arrow_schema(OUT_SCHEMA)
    if not splits:
        return spark.createDataFrame([], schema)
    ids = spark.range(len(splits), numPartitions=len(splits))  # one split per task
    rows = ids.mapInArrow(partial(parse_splits, splits=splits), schema)
    with job_progress(spark, "enrich", on_progress, total_bytes):
        rows.write.mode("overwrite").parquet(str(parsed_dir))
    return spark.read.schema(schema).parquet(hadoop_path(parsed_dir))


def _notes(rows: DataFrame) -> tuple[dict[int, int], list[tuple[str, dict[str, object]]]]:
    """Lines per split, and each split's note by file; raises a split's reading error."""
    from pyspark.sql import functions as F

    notes = (
        rows.filter(F.col("_kind").isin(LINES, FATAL))
        .select("_kind", "_split", "source_file", "_payload")
        .orderBy("_split")
        .collect()
    )
    for kind, _split, name, payload in notes:
        if kind == FATAL:
            raise IngestError(note_payload(payload)["message"], file=name)
    lines = {split: note_payload(payload)["lines"] for _kind, split, _name, payload in notes}
    return lines, [(name, note_payload(payload)) for _kind, _split, name, payload in notes]


def quarantine(
    rows: DataFrame,
    offsets: dict[int, int],
    path: Path,
    strict: bool,
    count: Callable[[Quarantined], None],
) -> None:
    """Write ``quarantine.jsonl`` in input order, counting each record with ``count``."""
    from pyspark.sql import functions as F

    problems = (
        rows.filter(F.col("_kind") == PROBLEM)
        .select("_split", "_line", "_payload")
        .orderBy("_split", "_line")
    )
    out = QuarantineFile(path)
    try:
        for split, _line, payload in problems.toLocalIterator():
            record = orjson.loads(payload)
            record["line"] += offsets[split]
            problem = Quarantined(**record)
            if strict:
                raise IngestError(
                    f"{problem.file}:{problem.line}: {problem.reason}: {problem.detail}",
                    file=problem.file,
                    line=problem.line,
                    reason=problem.reason,
                )
            out.write(problem)
            count(problem)
    finally:
        out.close()


def requests(spark: SparkSession, rows: DataFrame, offsets: dict[int, int]) -> DataFrame:
    """The valid requests with their signals, ``source_line`` the file's own line number."""
    from pyspark.sql import functions as F

    shift = spark.createDataFrame(list(offsets.items()), "_split int, _offset bigint")
    valid = rows.filter(F.col("_kind") == REQUEST).join(F.broadcast(shift), "_split")
    columns = [
        (F.col("source_line") + F.col("_offset")).alias(c) if c == "source_line" else F.col(c)
        for c in ENRICHED_COLUMNS
    ]
    return valid.select(*columns)


def enrich_spark(
    spark: SparkSession,
    paths: list[str | os.PathLike[str]],
    out_dir: Path,
    work: Path,
    *,
    strict: bool = False,
    on_progress: ProgressCallback | None = None,
    dialect: Dialect | None = None,
    query: str | None = None,
    split_bytes: int = SPLIT_BYTES,
) -> tuple[DataFrame, IngestSummary]:
    """Read ``paths`` once: the ``enriched`` requests, and ``out_dir/quarantine.jsonl``."""
    sources, skipped = discover(paths, exclude=(out_dir,), dialect=dialect, query=query)
    if any(source.format == "postgres" for source in sources):
        raise IngestError("--engine spark reads files and object-store URLs, not postgresql://")
    splits = plan_splits(sources, split_bytes)
    total = sum(source.size for source in sources)
    rows = parse(spark, splits, work / "parsed", on_progress, total)
    lines, notes = _notes(rows)
    offsets = line_offsets(splits, lines)
    tally = file_tally(sources, notes)
    path = out_dir / "quarantine.jsonl"
    if any(note["quarantined"] for _name, note in notes):  # no job for no problems
        quarantine(rows, offsets, path, strict, partial(count_problem, tally))
    else:
        QuarantineFile(path).close()
    enriched = requests(spark, rows, offsets)
    return enriched, finish(tally, enriched, sources, skipped)


__all__ = ["enrich_spark"]
