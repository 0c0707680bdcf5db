"""What an ingest run saw: counts, span, duplicates, problems — kept small while streaming.

Distinct accounts and duplicate request ids are counted from 64-bit hashes of the id columns
(Polars' hash with fixed seeds), held in NumPy arrays: 8 bytes per request instead of a Python
string per request, so counting stays cheap for tens of millions of rows. Two different ids
colliding is about one chance in 10^7 at a billion rows — fine for a summary figure.

Duplicate ``request_id``: every row is kept (a retry logged twice and a replayed log line look
the same here, and dropping either silently would lose data); ``duplicate_request_ids`` counts
the rows whose id already appeared earlier in the input. Later stages that need one row per
request deduplicate in DuckDB/Polars on ``request_id``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.ingest.quarantine import Quarantined

#: Compact the account-hash buffer after this many pending arrays.
_COMPACT_EVERY = 64


def _hashes(column: pa.Array | pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.uint64]]:
    # imported here: the ingest workers import this module but never count (0.2 CPU s)
    import polars as pl

    series = pl.Series(values=column)
    return series.hash(seed=0).to_numpy()


def distinct(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``np.unique(values)``, by sorting: NumPy 2's ``unique`` hashes, which on the hashes
    of 592,446 request ids took 0.29 CPU s against 0.005 s for the sort."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def _iso(micros: int | None) -> str | None:
    if micros is None:
        return None
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class IngestSummary:
    """The result of one ingest run; ``summary.json`` is ``to_dict()`` of this."""

    records: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    quarantined_fields: dict[str, int] = field(default_factory=dict)
    #: Foreign records that are not requests (an HTTP span in an OTLP trace), by reason.
    passed_over: dict[str, int] = field(default_factory=dict)
    accounts: int = 0
    duplicate_request_ids: int = 0
    ts_min: str | None = None
    ts_max: str | None = None
    files: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    bytes_read: int = 0
    seconds: float = 0.0
    out_dir: str | None = None
    parts: list[str] = field(default_factory=list)

    @property
    def quarantined_total(self) -> int:
        """All rejected records."""
        return sum(self.quarantined.values())

    @property
    def records_per_second(self) -> float:
        """Valid plus rejected records per wall-clock second."""
        total = self.records + self.quarantined_total
        return total / self.seconds if self.seconds > 0 else 0.0

    def warn_about_files(self, any_sources: bool) -> None:
        """Add a warning for each file that gave no records, and for no files at all (one
        rule for every engine that fills a summary)."""
        for name, counts in self.files.items():
            if counts["lines"] == 0:
                self.warnings.append(f"{name}: empty file, no records")
            elif counts["records"] == 0 and counts["quarantined"] == 0:
                self.warnings.append(f"{name}: no requests in it (all passed over)")
            elif counts["records"] == 0:
                self.warnings.append(f"{name}: no valid records (all quarantined)")
        if not any_sources:
            self.warnings.append("no traffic log files found")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the derived rates included."""
        data = asdict(self)
        data["quarantined_total"] = self.quarantined_total
        data["records_per_second"] = round(self.records_per_second, 1)
        return data


class Tally:
    """Accumulates an :class:`IngestSummary` batch by batch, in bounded memory."""

    def __init__(self) -> None:
        self.records = 0
        self.reasons: Counter[str] = Counter()
        self.fields: Counter[str] = Counter()
        self.passed_over: Counter[str] = Counter()
        self.files: dict[str, dict[str, int]] = {}
        self.ts_min: int | None = None
        self.ts_max: int | None = None
        self._request_hashes: list[np.ndarray[Any, Any]] = []
        self._account_hashes: list[np.ndarray[Any, Any]] = []

    def start_file(self, name: str) -> None:
        """Register a file so that an empty one still shows up with zero counts."""
        self.files.setdefault(name, {"lines": 0, "records": 0, "quarantined": 0})

    def add(
        self,
        source: str,
        batch: pa.RecordBatch,
        problems: list[Quarantined],
        lines: int,
        passed_over: tuple[tuple[str, int], ...] = (),
        inputs: int | None = None,
    ) -> None:
        """Count one processed chunk.

        For a foreign format the file's counts also get ``inputs`` (foreign records read) and
        ``passed_over``, and ``inputs == records + quarantined + passed_over`` always holds.
        """
        counts = self.files.setdefault(source, {"lines": 0, "records": 0, "quarantined": 0})
        counts["lines"] += lines
        counts["records"] += batch.num_rows
        counts["quarantined"] += len(problems)
        if inputs is not None:
            counts["inputs"] = counts.get("inputs", 0) + inputs
            counts["passed_over"] = counts.get("passed_over", 0)
        for why, count in passed_over:
            self.passed_over[why] += count
            counts["passed_over"] = counts.get("passed_over", 0) + count
        for problem in problems:
            self.reasons[problem.reason] += 1
            self.fields[f"{problem.reason}:{problem.field or '-'}"] += 1
        if not batch.num_rows:
            return
        self.records += batch.num_rows
        span = pc.min_max(batch.column("ts").cast(pa.int64()))
        low, high = span["min"].as_py(), span["max"].as_py()
        self.ts_min = low if self.ts_min is None else min(self.ts_min, low)
        self.ts_max = high if self.ts_max is None else max(self.ts_max, high)
        self._request_hashes.append(_hashes(batch.column("request_id")))
        self._account_hashes.append(distinct(_hashes(batch.column("account_id"))))
        if len(self._account_hashes) >= _COMPACT_EVERY:
            self._account_hashes = [distinct(np.concatenate(self._account_hashes))]

    def summary(self) -> IngestSummary:
        """The counts so far as a summary (times, files skipped and output filled in by caller)."""
        requests = np.concatenate(self._request_hashes) if self._request_hashes else np.empty(0)
        accounts = np.concatenate(self._account_hashes) if self._account_hashes else np.empty(0)
        return IngestSummary(
            records=self.records,
            quarantined=dict(self.reasons.most_common()),
            quarantined_fields=dict(self.fields.most_common()),
            passed_over=dict(self.passed_over.most_common()),
            accounts=len(distinct(accounts)),
            duplicate_request_ids=len(requests) - len(distinct(requests)),
            ts_min=_iso(self.ts_min),
            ts_max=_iso(self.ts_max),
            files=self.files,
        )
