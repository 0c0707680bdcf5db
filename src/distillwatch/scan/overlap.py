"""Warn when a log just read shares request ids with another log of the state.

The likely cause is a corrected day re-exported under a new name (``scan/replaces.py``):
both versions are now counted. The run says so — both names, how many ids they share, and
the ``--replaces`` command that counts the day once — and changes nothing: request ids may
come from clients (a gateway's or a reseller's logs), so a repeated id never removes,
merges or hides a request; only the operator's ``--replaces`` does.

Cost: only the days a new log shares with others are compared (a daily log covering a new
day compares nothing), as 64-bit hashes of ``request_id`` in a DuckDB semi-join with the
scan's memory limit and spilling, so a day of millions of requests needs ~8 bytes per id of
the new log's days, not the strings. Two different ids colliding is about one chance in 10^7
at a billion ids: a warning figure, never a decision.
"""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from distillwatch.scan.state import Input, Manifest

#: DuckDB's memory for the comparison (it spills beyond it).
OVERLAP_SQL_MEMORY = "256MB"


@dataclass
class Overlap:
    """A log read by this run whose request ids another log of the window holds too."""

    input: str
    held: str
    shared_request_ids: int
    input_requests: int
    held_requests: int
    replaces: str
    command: str

    def warning(self) -> str:
        return (
            f"{self.input} shares {self.shared_request_ids:,} request ids with {self.held} "
            f"({self.input_requests:,} and {self.held_requests:,} requests in the window): "
            "both are counted. If it is a corrected re-export of that log, count the day once "
            f"with: {self.command} — nothing was dropped (request ids come from clients, so "
            "they never decide what is counted)"
        )


def find_overlaps(
    state_dir: Path, manifest: Manifest, fresh: list[str], out_dir: Path
) -> list[Overlap]:
    """Every pair (log read by this run, other log of the window) sharing request ids on the
    days both cover; a pair of two new logs once, the later one as the input."""
    from distillwatch.scan import connect

    order = {name: n for n, name in enumerate(fresh)}
    found: list[Overlap] = []
    spill = out_dir / "_work" / "overlap-spill"
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
            con = con or connect(OVERLAP_SQL_MEMORY, spill)
            shared_days = {part.day for _, part in others}
            mine = [state_dir / p.file for p in entry.parts if p.day in shared_days]
            counts = _shared(con, mine, [(o.name, state_dir / p.file) for o, p in others])
            by_name = {o.name: o for o, _ in others}
            for name, shared in counts.items():
                found.append(_overlap(entry, by_name[name], shared, state_dir, out_dir))
    finally:
        if con is not None:
            con.close()
        shutil.rmtree(spill, ignore_errors=True)
    return found


def _shared(
    con: duckdb.DuckDBPyConnection, mine: list[Path], others: list[tuple[str, Path]]
) -> dict[str, int]:
    """Distinct request ids of ``mine`` found in each other input's files, by input."""
    owner = {str(path): name for name, path in others}
    rows = con.execute(
        "SELECT o.filename, count(DISTINCT o.h) FROM ("
        "  SELECT hash(request_id) AS h, filename FROM read_parquet($others, filename = true)"
        ") o SEMI JOIN (SELECT hash(request_id) AS h FROM read_parquet($mine)) m USING (h) "
        "GROUP BY o.filename",
        {"others": [str(p) for _, p in others], "mine": [str(p) for p in mine]},
    ).fetchall()
    counts: dict[str, int] = {}
    for filename, shared in rows:
        name = owner[filename]
        counts[name] = counts.get(name, 0) + int(shared)
    return counts


def _overlap(entry: Input, held: Input, shared: int, state_dir: Path, out_dir: Path) -> Overlap:
    replaces = f"{held.name}={entry.name}"
    argv = ["distillwatch", "scan", entry.name, "--out", str(out_dir)]
    command = shlex.join([*argv, "--state-dir", str(state_dir), "--replaces", replaces])
    return Overlap(
        input=entry.name,
        held=held.name,
        shared_request_ids=shared,
        input_requests=sum(p.rows for p in entry.parts),
        held_requests=sum(p.rows for p in held.parts),
        replaces=replaces,
        command=command,
    )
