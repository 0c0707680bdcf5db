"""The ingest summary of a Spark scan: the DuckDB engine's counts, from Spark's rows.

The DuckDB engine counts while it streams (:class:`ingest.summary.Tally`); here the same
:class:`Tally` is filled from what the tasks reported -- their ``LINES`` notes (lines,
foreign records passed over), the quarantined records, and two aggregates over the valid
requests -- so ``summary.json`` means the same whichever engine wrote it. Distinct accounts
and duplicate request ids are exact here (the streaming tally counts 64-bit hashes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from distillwatch.ingest.quarantine import Quarantined
from distillwatch.ingest.sources import Skipped, Source
from distillwatch.ingest.summary import IngestSummary, Tally

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def file_tally(sources: list[Source], notes: list[tuple[str, dict[str, Any]]]) -> Tally:
    """A tally with every file (empty ones too) and the lines each split reported."""
    tally = Tally()
    for source in sources:
        tally.start_file(source.name)
    for name, note in notes:
        counts = tally.files[name]
        counts["lines"] += note["lines"]
        if note["inputs"] is not None:
            counts["inputs"] = counts.get("inputs", 0) + note["inputs"]
            counts["passed_over"] = counts.get("passed_over", 0)
        for why, count in note["passed_over"].items():
            tally.passed_over[why] += count
            counts["passed_over"] = counts.get("passed_over", 0) + count
    return tally


def count_problem(tally: Tally, problem: Quarantined) -> None:
    """One quarantined record, counted as ``Tally.add`` counts it."""
    tally.files[problem.file]["quarantined"] += 1
    tally.reasons[problem.reason] += 1
    tally.fields[f"{problem.reason}:{problem.field or '-'}"] += 1


def finish(
    tally: Tally, enriched: DataFrame, sources: list[Source], skipped: list[Skipped]
) -> IngestSummary:
    """Add the valid requests' counts to ``tally`` and make the summary."""
    from pyspark.sql import functions as F

    per_file = enriched.groupBy("source_file").agg(
        F.count(F.lit(1)).alias("records"),
        F.min(F.unix_micros("ts")).alias("low"),
        F.max(F.unix_micros("ts")).alias("high"),
    )
    for name, records, low, high in per_file.collect():
        tally.files[name]["records"] += records
        tally.records += records
        tally.ts_min = low if tally.ts_min is None else min(tally.ts_min, low)
        tally.ts_max = high if tally.ts_max is None else max(tally.ts_max, high)
    distinct = enriched.agg(
        F.count_distinct("account_id").alias("accounts"),
        F.count_distinct("request_id").alias("requests"),
    ).first()
    summary = tally.summary()
    if distinct is not None:
        summary.accounts = distinct["accounts"]
        summary.duplicate_request_ids = tally.records - distinct["requests"]
    summary.skipped = {str(item.path): item.why for item in skipped}
    summary.bytes_read = sum(source.size for source in sources)
    summary.warn_about_files(bool(sources))
    return summary


def note_payload(raw: bytes) -> dict[str, Any]:
    """A task's JSON note."""
    payload: dict[str, Any] = orjson.loads(raw)
    return payload


__all__ = ["count_problem", "file_tally", "finish", "note_payload"]
