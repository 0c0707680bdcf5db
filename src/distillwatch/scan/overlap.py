"""Warn when a log just read shares request ids with another log of the state.

The likely cause is a corrected day re-exported under a new name (``scan/replaces.py``):
both versions are now counted. The run says so — both names, how many ids they share, and
the ``--replaces`` command that counts the day once — and changes nothing: request ids may
come from clients (a gateway's or a reseller's logs), so a repeated id never removes,
merges or hides a request; only the operator's ``--replaces`` does. Even the advice is
guarded: ``--replaces`` is suggested only when the new log repeats nearly all of the other
log's requests with the same id *and* time (:data:`REEXPORT_SHARE`), so a client that
reuses request ids (a constant id, yesterday's ids) gets a warning that says it is not a
re-export, never a command that would take a real log's traffic out.

Cost: only the days a new log shares with others are compared (a daily log covering a new
day compares nothing), as 64-bit hashes of ``request_id`` (and of it with ``ts``) in DuckDB
semi-joins within :data:`OVERLAP_SQL_MEMORY`, spilling beyond it, so a day of millions of
requests needs the hashes, not the strings, and never more than that memory. Two different
ids colliding is about one chance in 10^7 at a billion ids: a warning figure, never a
decision (``benchmarks/bench_overlap.py``).
"""

from __future__ import annotations

import shlex
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from distillwatch.scan.state import Input, Manifest, Overlap

#: DuckDB's memory for the comparison (it spills beyond it).
OVERLAP_SQL_MEMORY = "256MB"
#: Share of the other log's requests the new log must repeat (same id and time) for the
#: warning to suggest ``--replaces``: replacing takes out whatever the new log lacks.
REEXPORT_SHARE = 0.9
#: What makes two rows the same request (64-bit hashes): its id, or its id and its time.
BY_ID = "hash(request_id)"
BY_ID_AND_TIME = "hash(request_id, ts)"


def report(overlap: Overlap, state_dir: Path, out_dir: Path) -> tuple[dict[str, Any], str]:
    """The overlap as ``summary.json`` lists it, with the ``--replaces`` commands that would
    count it once, and the warning that says it.

    A command takes out a log the other repeats nearly all of (:data:`REEXPORT_SHARE`); the
    held log is taken out for the one read after it, but of two logs read by one run either
    may be the corrected one, so each direction that qualifies is offered."""
    directions = []
    if overlap.same_requests >= REEXPORT_SHARE * overlap.held_requests:
        directions.append((overlap.held, overlap.input))
    if overlap.both_new and overlap.input_repeated >= REEXPORT_SHARE * overlap.input_requests:
        directions.append((overlap.input, overlap.held))
    where = ["--out", str(out_dir), "--state-dir", str(state_dir)]
    commands = [
        shlex.join(["distillwatch", "scan", new, *where, "--replaces", f"{old}={new}"])
        for old, new in directions
    ]
    both = (
        f"{overlap.input} has the request ids of {overlap.shared_requests:,} of the "
        f"{overlap.held_requests:,} requests of {overlap.held}, {overlap.same_requests:,} "
        f"with the same time too ({overlap.input_requests:,} requests in {overlap.input}; "
        f"found {overlap.found_at}): both are counted"
    )
    never = "nothing was dropped (request ids come from clients, so they never decide what is "
    if len(commands) == 2:
        said = (
            f"{both}. If one is a corrected re-export of the other, count the day once: if "
            f"{overlap.input} is the corrected one, {commands[0]}; if {overlap.held} is, "
            f"{commands[1]} — {never}counted)"
        )
    elif commands:
        said = (
            f"{both}. If {directions[0][1]} is a corrected re-export of {directions[0][0]}, "
            f"count the day once with: {commands[0]} — {never}counted)"
        )
    else:
        said = (
            f"{both}; neither is a re-export of the other (most requests are not repeated), "
            f"so there is nothing to replace: retries logged twice, or clients reusing ids; "
            f"{never}counted)"
        )
    return {**asdict(overlap), "reexport": bool(commands), "commands": commands}, said


def kept(manifest: Manifest, fresh: list[str], found: list[Overlap]) -> list[Overlap]:
    """The window's overlaps: those found before between logs still held and not read again
    by this run (whose pairs were just counted again), then ``found``."""
    held = {i.name for i in manifest.inputs}
    again = set(fresh)
    before = [
        o for o in manifest.overlaps if {o.input, o.held} <= held and not {o.input, o.held} & again
    ]
    return before + found


def find_overlaps(
    state_dir: Path, manifest: Manifest, fresh: list[str], spill: Path, found_at: str
) -> list[Overlap]:
    """Every pair (log read by this run, other log of the window) sharing request ids on the
    days both cover; a pair of two new logs once, the later one as the input."""
    order = {name: n for n, name in enumerate(fresh)}
    found: list[Overlap] = []
    con = None
    try:
        for entry in manifest.inputs:
            if entry.name not in order:
                continue
            days = {p.day for p in entry.parts}
            others = [
                (other, part)
                for other in manifest.inputs
                if other.name != entry.name and order.get(other.name, -1) < order[entry.name]
                for part in other.parts
                if part.day in days
            ]
            if not others:
                continue
            con = con or _connect(spill)
            shared_days = {part.day for _, part in others}
            mine = [state_dir / p.file for p in entry.parts if p.day in shared_days]
            files = [(o.name, state_dir / p.file) for o, p in others]
            shared = repeated(con, mine, files, BY_ID)
            files = [(name, path) for name, path in files if shared[name]]
            same = repeated(con, mine, files, BY_ID_AND_TIME)
            by_name = {o.name: o for o, _ in others}
            for name in same:
                theirs = [path for other, path in files if other == name]
                back = repeated(con, theirs, [(entry.name, p) for p in mine], BY_ID_AND_TIME)
                counts = (shared[name], same[name], back[entry.name])
                found.append(_overlap(entry, by_name[name], counts, name in order, found_at))
    finally:
        if con is not None:
            con.close()
        shutil.rmtree(spill, ignore_errors=True)
    return found


def repeated(
    con: duckdb.DuckDBPyConnection, mine: list[Path], others: list[tuple[str, Path]], key: str
) -> dict[str, int]:
    """For each other input (name, file): its rows whose ``key`` (:data:`BY_ID`,
    :data:`BY_ID_AND_TIME`) ``mine`` has too. A semi-join on 64-bit hashes, which DuckDB
    spills to disk beyond its memory limit (an IN filter and a distinct count beside it ran
    out of memory at 10M ids)."""
    counts = {name: 0 for name, _ in others}
    if not mine or not others:
        return counts
    owner = {str(path): name for name, path in others}
    rows = con.execute(
        f"SELECT filename, count(*) FROM ("
        f"  SELECT filename, {key} AS x FROM read_parquet($others, filename = true)"
        f") o SEMI JOIN (SELECT DISTINCT {key} AS x FROM read_parquet($mine)) m USING (x) "
        "GROUP BY filename",
        {"others": [str(p) for _, p in others], "mine": [str(p) for p in mine]},
    ).fetchall()
    for filename, n in rows:
        counts[owner[filename]] += int(n)
    return counts


def _overlap(
    entry: Input, held: Input, counts: tuple[int, int, int], both_new: bool, found_at: str
) -> Overlap:
    shared, same, back = counts
    return Overlap(
        input=entry.name,
        held=held.name,
        shared_requests=shared,
        same_requests=same,
        input_requests=sum(p.rows for p in entry.parts),
        held_requests=sum(p.rows for p in held.parts),
        input_repeated=back,
        both_new=both_new,
        found_at=found_at,
    )


def not_repeated(old: list[Path], new: list[Path], spill: Path) -> int:
    """Rows of ``old`` that ``new`` does not repeat with the same request id and time: what a
    ``--replaces`` takes out of the state for good."""
    rows = sum(pq.ParquetFile(path).metadata.num_rows for path in old)
    if not rows or not new:
        return rows
    con = _connect(spill)
    try:
        same = repeated(con, new, [("old", path) for path in old], BY_ID_AND_TIME)["old"]
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    return rows - same


def _connect(spill: Path) -> duckdb.DuckDBPyConnection:
    """The scan's bounded connection, quiet: no progress bar in the middle of a run's output."""
    from distillwatch.scan import connect

    spill.mkdir(parents=True, exist_ok=True)
    con = connect(OVERLAP_SQL_MEMORY, spill)
    con.execute("SET enable_progress_bar = false")
    return con
