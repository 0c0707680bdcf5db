"""``scan``: a batch of logs in, accounts, campaigns and a report out.

The flow is the one of ``DESIGN.md``, left to right: :mod:`.enrich` reads the logs once
(ingest + signals), :mod:`distillwatch.features` aggregates per account with SQL,
:mod:`distillwatch.detect` links and scores, and :mod:`.outputs` writes the contract files.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from distillwatch.detect.link import LinkConfig, Links, link_accounts
from distillwatch.detect.newcomers import with_newcomer_agents
from distillwatch.detect.score import (
    DEFAULT_THRESHOLD,
    Campaign,
    Verdict,
    score,
    with_component_size,
)
from distillwatch.detect.voters import voting_members
from distillwatch.features import group_features, prepare_events
from distillwatch.features.keys import link_key_ids
from distillwatch.features.sql import ACCOUNT_NO, ACCOUNT_NUMBERS, WINDOWS
from distillwatch.ingest import Dialect, IngestSummary
from distillwatch.ingest.stream import ProgressCallback
from distillwatch.scan.enrich import enrich_into
from distillwatch.scan.outputs import write_outputs

__all__ = ["ScanResult", "run_scan"]


@dataclass(frozen=True)
class ScanResult:
    out_dir: Path
    ingest: IngestSummary
    verdicts: list[Verdict]
    campaigns: list[Campaign]
    seconds: float

    @property
    def flagged(self) -> int:
        return sum(v.flagged for v in self.verdicts)


#: DuckDB's share of a scan's memory: the SQL stages (the events table, the aggregates, the
#: link keys) work within it and spill the rest to the work directory. Beside it: the
#: interpreter with its libraries (~0.25 GB) and what linking, scoring and the outputs hold
#: in Python, so that 10M requests from 100k accounts scan in under 2 GB in all
#: (``benchmarks/results/scan.md``).
SQL_MEMORY = "1GB"
#: What DuckDB keeps while linking and scoring run in Python (:func:`sql_memory_lent`).
IDLE_SQL_MEMORY = "128MB"
#: Memory is lent only when that gives Python at least this much (bytes): what DuckDB holds
#: beyond the lent limit. Lending writes the blocks above the limit to the spill directory
#: and the next SQL stage reads them back (0.13-0.17 CPU s per lend plus ~0.25 read back, on
#: make demo's log, whose events table is 270 MB): for a gain of a few hundred MB beside a
#: scan whose enrich peaks near 1 GB anyway, that is CPU spent for nothing. A large scan's
#: DuckDB holds its whole 1 GB share, and lends it as before.
LEND_MIN_BYTES = 256 << 20
#: DuckDB's share while the outputs are written: their queries read only the campaigns'
#: events and group by campaign, so they need little of the cache, while Python holds every
#: account's features and verdicts and the link graph beside them (the stage was the scan's
#: peak at 10M requests / 80k accounts with the full share). 64 MB runs out of memory in the
#: sample query's window at 1M requests.
OUTPUT_SQL_MEMORY = "512MB"


def connect(
    memory_limit: str = SQL_MEMORY, spill_dir: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection bounded in memory, spilling to ``spill_dir`` when it must."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    if spill_dir is not None:
        con.execute(f"SET temp_directory = '{spill_dir}'")
    return con


def run_scan(
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
) -> ScanResult:
    """Scan ``paths``; write the scan output v1 files (``docs/scan-output.md``) to ``out_dir``.

    ``dialect``/``query``: how to read foreign logs (``docs/readers.md``; None detects)."""
    started = time.perf_counter()
    paths = list(paths)
    enriched, summary = enrich_into(
        paths, out_dir, strict=strict, on_progress=on_progress, dialect=dialect, query=query
    )
    work = enriched.parent
    try:
        verdicts, campaigns = detect_enriched(
            enriched,
            out_dir,
            paths,
            summary,
            threshold=threshold,
            started=started,
            learned=learned,
        )
    finally:
        if not keep_work:
            shutil.rmtree(work, ignore_errors=True)
    return ScanResult(out_dir, summary, verdicts, campaigns, time.perf_counter() - started)


#: DuckDB's size units (``SET memory_limit``): powers of 1000, and of 1024 with an ``i``.
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}


def _size_bytes(size: str) -> int:
    """``"128MB"`` (a DuckDB memory size) in bytes; 0 for what is not one (then all that
    DuckDB holds counts as freed by the lend)."""
    text = size.strip().upper().replace(" ", "")
    unit = text.lstrip("0123456789.")
    number = text[: len(text) - len(unit)]
    try:
        return int(float(number) * _UNITS[unit or "B"])
    except (KeyError, ValueError):
        return 0


@contextmanager
def sql_memory_lent(
    con: object, limit: str = IDLE_SQL_MEMORY, least: int = LEND_MIN_BYTES
) -> Iterator[None]:
    """DuckDB's memory lent to Python for a stage that runs no SQL, or only light queries (the
    outputs): the engine's cached blocks (mostly the events table) are written to its spill
    directory until the stage is over, so the stage's own memory adds to ``limit`` rather
    than to the whole SQL budget -- when that frees ``least`` bytes or more (DuckDB holding
    less, it keeps what it holds: :data:`LEND_MIN_BYTES`). Any other connection (the Spark
    back end's) is left as it is, as is a DuckDB that cannot let go."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        yield
        return
    ((held,),) = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()
    if (held or 0) - _size_bytes(limit) < least:
        yield
        return
    (before,) = con.execute("SELECT current_setting('memory_limit')").fetchone() or ("",)
    try:
        con.execute(f"SET memory_limit = '{limit}'")
    except duckdb.Error:
        before = ""
    try:
        yield
    finally:
        if before:
            con.execute(f"SET memory_limit = '{before}'")


def cluster_features(
    con: duckdb.DuckDBPyConnection, links: Links, accounts: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The pooled features of every linked component of two or more accounts: of the members
    it is judged on, when ``accounts`` (their features) is given (:mod:`detect.voters`)."""
    membership = (
        pl.DataFrame(
            {"account_id": links.accounts, "component": links.component.astype("int64")},
            schema={"account_id": pl.String, "component": pl.Int64},
        )
        if accounts is None
        else voting_members(accounts, links)
    )
    con.register("membership", membership.to_arrow())
    # the members of groups of two or more, by their numbers: each query below joins every
    # event to them, on a 4-byte number rather than an id string
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE members AS SELECT n.{ACCOUNT_NO}, m.component "
        f"FROM membership m JOIN {ACCOUNT_NUMBERS} n USING (account_id) WHERE m.component IN "
        "(SELECT component FROM membership GROUP BY component HAVING count(*) >= 2)"
    )
    for table, view in (("events", "events_c"), (WINDOWS, f"{WINDOWS}_c")):
        con.execute(
            f"CREATE TEMP VIEW {view} AS SELECT e.*, m.component FROM {table} e "
            f"JOIN members m ON e.{ACCOUNT_NO} = m.{ACCOUNT_NO}"
        )
    return group_features(con, group="component", source="events_c", windows=f"{WINDOWS}_c")


def detect_enriched(
    enriched: Path | list[Path],
    out_dir: Path,
    paths: list[str | os.PathLike[str]],
    summary: IngestSummary,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    started: float | None = None,
    learned: bool = True,
    spill_dir: Path | None = None,
) -> tuple[list[Verdict], list[Campaign]]:
    """Aggregate, link, score and write outputs from an enriched file (or several: the
    day partitions of an incremental scan's window, ``scan/incremental.py``).

    Split from :func:`run_scan` so the detection stages can be re-run on the same enriched
    requests (tuning thresholds, trying a new check) without reading the logs again.
    """
    started = time.perf_counter() if started is None else started
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [enriched] if isinstance(enriched, Path) else list(enriched)
    con = connect(spill_dir=spill_dir or files[0].parent / "spill")
    try:
        listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        con.execute(f"CREATE VIEW enriched AS SELECT * FROM read_parquet([{listed}])")
        return detect_with(con, out_dir, paths, summary, threshold, started, learned)
    finally:
        con.close()


def detect_with(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    paths: list[str | os.PathLike[str]],
    summary: IngestSummary,
    threshold: float,
    started: float,
    learned: bool,
) -> tuple[list[Verdict], list[Campaign]]:
    """Aggregate, link, score and write outputs over the view ``enriched`` of ``con``.

    The stages after enrichment, whatever engine runs the SQL: the Spark back end passes
    its own connection (``scan/spark/connection.py``)."""
    prepare_events(con)
    accounts = group_features(con)
    config = LinkConfig()
    keys = link_key_ids(con)
    with sql_memory_lent(con):
        keys = with_newcomer_agents(keys, accounts, config.cap(accounts.height))
        links = link_accounts(accounts["account_id"].to_list(), keys, config)
    del keys
    accounts = with_component_size(accounts, links)
    pooled = cluster_features(con, links, accounts)
    with sql_memory_lent(con):
        verdicts, campaigns = score(accounts, links, pooled, threshold, learned=learned)
    del pooled
    seconds = time.perf_counter() - started
    with sql_memory_lent(con, OUTPUT_SQL_MEMORY):
        write_outputs(
            con, out_dir, paths, summary, accounts, verdicts, campaigns, threshold, seconds,
            links=links,
        )  # fmt: skip
    return verdicts, campaigns
