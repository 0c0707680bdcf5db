"""Benchmark the request-id overlap check of ``scan --state-dir`` (``scan/overlap.py``).

    .venv/bin/python benchmarks/bench_overlap.py [--rows 1500000 ...] [--write]

The worst case of a daily run: a new log re-exports a whole held day (every request id and
time repeated), so the check reads both days' ids. For each row count, two day files of a
state (request ids shaped like the simulator's, times one per 50 ms) are written, then a
fresh child process runs ``find_overlaps`` (the warning) and ``not_repeated`` (what a
``--replaces`` would take out) and reports its CPU seconds and peak RSS above the RSS it had
after its imports. A daily log of a new day shares no day with the state and compares
nothing, so its cost is none.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "scan-incremental.md"


def write_day(path: Path, rows: int, seed: int) -> None:
    """One day's enriched-like file: the two columns the check reads (it reads no other)."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect().execute(
        f"COPY (SELECT 'req_' || substr(md5(i::VARCHAR), 1, 20) AS request_id, "
        f"TIMESTAMPTZ '2026-03-08 00:00:00+00' + to_microseconds(i * 50000) AS ts, "
        f"'acct' || (hash(i, {seed}) % 50000) AS account_id FROM range({rows}) t(i)) "
        f"TO '{path}' (FORMAT parquet, COMPRESSION zstd)"
    )


def measure(state: Path, rows: int) -> dict[str, float]:
    """In this (child) process: the check's CPU seconds and peak RSS over the baseline."""
    from distillwatch.scan.overlap import find_overlaps, not_repeated
    from distillwatch.scan.state import Input, Manifest, Part

    def entry(name: str) -> Input:
        part = Part("2026-03-08", f"days/2026-03-08/{name}.parquet", rows, 0, 0)
        return Input(name, name, 0, "", records=rows, parts=[part])

    manifest = Manifest({}, {}, inputs=[entry("old"), entry("new")])
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu0 = time.process_time()
    [overlap] = find_overlaps(state, manifest, ["new"], state / "spill", "")
    cpu1 = time.process_time()
    files = [state / p.file for p in manifest.inputs[0].parts]
    lost = not_repeated(files, [state / p.file for p in manifest.inputs[1].parts], state / "s")
    cpu2 = time.process_time()
    assert overlap.same_requests == overlap.input_repeated == rows and lost == 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": rows,
        "warning_cpu_s": round(cpu1 - cpu0, 2),
        "replaces_cpu_s": round(cpu2 - cpu1, 2),
        "base_rss_mb": round(base_rss),
        "peak_rss_mb": round(peak),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_500_000, 10_000_000])
    parser.add_argument("--write", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), int(args.child[1]))))
        return
    results = []
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="bench-overlap-") as tmp:
            state = Path(tmp)
            for name in ("old", "new"):
                write_day(state / "days" / "2026-03-08" / f"{name}.parquet", rows, seed=0)
            child = [sys.executable, __file__, "--child", str(state), str(rows)]
            out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
            print(results[-1], flush=True)
    if args.write:
        write(results, " ".join(sys.argv[1:]))


def write(results: list[dict[str, float]], argv: str) -> None:
    load = os.getloadavg()[0]
    lines = [
        f"\n## Overlap check, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC\n",
        f"```\n.venv/bin/python benchmarks/bench_overlap.py {argv}\n```\n",
        "A new log re-exporting a whole held day (every id and time repeated: the worst "
        "case; a log of a new day compares nothing). One child process per row count; "
        "CPU seconds of that process (DuckDB's threads included), peak RSS against its RSS "
        "after imports.\n",
        "| requests per day file | warning (find_overlaps) CPU s | --replaces check "
        "(not_repeated) CPU s | RSS after imports MB | peak RSS MB |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['rows']:,} | {r['warning_cpu_s']} | {r['replaces_cpu_s']} | "
            f"{r['base_rss_mb']:,} | {r['peak_rss_mb']:,} |"
        )
    lines.append(f"\nLoad average (1 min) {load:.1f} (shared machine: compare CPU seconds).\n")
    with RESULTS.open("a") as out:
        out.write("\n".join(lines))


if __name__ == "__main__":
    main()
