"""The ingest summary of a Spark scan: the DuckDB engine's counts, from Spark's rows.

The DuckDB engine counts while it streams (:class:`ingest.summary.Tally`); here the same
:class:`Tally` is filled from what the tasks reported -- their ``LINES`` notes (lines,
records, time span, foreign records passed over), the quarantined records, and one
aggregate over the valid requests -- so ``summary.json`` means the same whichever engine
wrote it. Distinct accounts and duplicate request ids are exact here (the streaming tally
counts 64-bit hashes).
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
    """A tally with every file (empty ones too) and what each split's note reported; the
    quarantined records are counted apart (:func:`count_problem`), with their reasons."""
    tally = Tally()
    for source in sources:
        tally.start_file(source.name)
    for name, note in notes:
        counts = tally.files[name]
        counts["lines"] += note["lines"]
        counts["records"] += note["records"]
        tally.records += note["records"]
        if note["inputs"] is not None:
            counts["inputs"] = counts.get("inputs", 0) + note["inputs"]
            counts["passed_over"] = counts.get("passed_over", 0)
        for why, count in note["passed_over"].items():
            tally.passed_over[why] += count
            counts["passed_over"] = counts.get("passed_over", 0) + count
        for bound, pick in (("ts_min", min), ("ts_max", max)):
            if (value := note[bound]) is not None:
                old = getattr(tally, bound)
                setattr(tally, bound, value if old is None else pick(old, value))
    return tally


def count_problem(tally: Tally, problem: Quarantined) -> None:
    """One quarantined record, counted as ``Tally.add`` counts it."""
    tally.files[problem.file]["quarantined"] += 1
    tally.reasons[problem.reason] += 1
    tally.fields[f"{problem.reason}:{problem.field or '-'}"] += 1


def finish(
    tally: Tally, enriched: DataFrame, sources: list[Source], skipped: list[Skipped]
) -> IngestSummary:
    """The summary: ``tally`` plus the distinct accounts and request ids (one Spark job)."""
    from pyspark.sql import functions as F

    summary = tally.summary()
    if tally.records:
        distinct = enriched.agg(
            F.count_distinct("account_id").alias("accounts"),
            F.count_distinct("request_id").alias("requests"),
        ).first()
        assert distinct is not None
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
