"""Benchmark the daily incremental scan against a full rescan of the same week.

    DISTILLWATCH_NO_PROGRESS=1 .venv/bin/python benchmarks/bench_scan_incremental.py \
        [--accounts 5000] [--days 7] [--seed 3] [--window-days N] [--keep] [--write]

Simulates ``distillwatch simulate --accounts A --days D --seed S`` (kept in a work directory
and reused), splits the log into one ``.jsonl.zst`` file per UTC day as a provider would
deliver it, then runs, each in a fresh child process whose whole tree is measured (CPU
seconds from ``/proc``, peak RSS sampled every 50 ms; ``bench_scan.TreeMonitor``):

* ``state``: ``run_incremental_scan`` over days 1..D-1 into a new state directory;
* ``full``: ``run_scan`` over the D day files (the full rescan);
* ``daily``: ``run_incremental_scan`` over day D on that state (the daily run);
* ``again``: the same daily run once more: every input is held, so detection alone.

Each run is split into enrich (ingest + signals + Parquet) and the detection stages of
``scan.detect_enriched``. The daily run's ``accounts.jsonl`` and ``campaigns.jsonl`` are
compared with the full rescan's, and the state directory's size with the logs'.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import SCAN_STAGES, TreeMonitor, tree

RESULTS = Path(__file__).resolve().parent / "results" / "scan-incremental.md"
ENRICH = "enrich: ingest + signals + Parquet write"


def split_by_day(log: Path, out: Path) -> list[Path]:
    """One zstd JSON Lines file per UTC day of ``ts``, lines in their original order."""
    import orjson
    import zstandard

    out.mkdir(parents=True, exist_ok=True)
    by_day: dict[str, list[bytes]] = defaultdict(list)
    with log.open("rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        pending = b""
        while block := reader.read(1 << 24):
            lines = (pending + block).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if line.strip():
                    by_day[str(orjson.loads(line)["ts"])[:10]].append(line)
        if pending.strip():
            by_day[str(orjson.loads(pending)["ts"])[:10]].append(pending)
    paths = []
    for day, lines in sorted(by_day.items()):
        path = out / f"{day}.jsonl.zst"
        path.write_bytes(zstandard.ZstdCompressor(level=3).compress(b"\n".join(lines) + b"\n"))
        paths.append(path)
    return paths


def _instrument(stages: dict[str, list[float]]) -> None:
    """Time enrich and every detection stage, in the full and the incremental scan alike:
    [wall s, CPU s of the process tree], summed over calls; a stage called inside another
    (features per account, inside features per cluster) counts in the outer one only."""
    import distillwatch.scan as scan
    import distillwatch.scan.incremental as incremental

    depth = [0]

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return fn(*args, **kwargs)
            depth[0] += 1
            wall, cpu = time.perf_counter(), tree(os.getpid())[0]
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1
                total = stages.setdefault(name, [0.0, 0.0])
                total[0] += time.perf_counter() - wall
                total[1] += tree(os.getpid())[0] - cpu

        return wrapper

    for attribute, name in SCAN_STAGES.items():
        if hasattr(scan, attribute):
            setattr(scan, attribute, timed(name, getattr(scan, attribute)))
    incremental.enrich_input = timed(ENRICH, incremental.enrich_input)


def _child(mode: str, days: list[str], out: str, state: str, window: int | None) -> dict[str, Any]:
    from distillwatch.scan import run_scan
    from distillwatch.scan.incremental import run_incremental_scan

    stages: dict[str, list[float]] = {}
    _instrument(stages)
    if mode == "full":
        result = run_scan(days, Path(out))
        extra: dict[str, Any] = {}
    else:
        result, run = run_incremental_scan(days, Path(out), Path(state), window_days=window)
        extra = {"enriched": run.enriched_records, "held": len(run.known)}
    return {"records": result.ingest.records, "accounts": len(result.verdicts),
            "flagged": result.flagged, "campaigns": len(result.campaigns),
            "stages": stages, **extra}  # fmt: skip


def measure(mode: str, days: list[Path], out: Path, state: Path, window: int | None) -> dict:
    """One run in a fresh child process; CPU and peak RSS of its whole process tree."""
    env = {**os.environ, "DISTILLWATCH_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, __file__, "--child", mode, "--out", str(out),
               "--state", str(state), *(["--window-days", str(window)] if window else []),
               *map(str, days)]  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout:
        proc = subprocess.Popen(command, stdout=stdout, env=env, start_new_session=True)
        with TreeMonitor(proc.pid) as monitor:
            _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{mode} run failed")
        stdout.seek(0)
        figures: dict[str, Any] = json.loads(stdout.read().decode().strip().splitlines()[-1])
    figures["seconds"] = time.perf_counter() - started
    figures["cpu_seconds"] = max(monitor.cpu_seconds, usage.ru_utime + usage.ru_stime)
    figures["peak_rss_mb"] = monitor.peak_rss / 1e6
    return figures


def same_verdicts(a: Path, b: Path) -> bool:
    return all(
        (a / name).read_bytes() == (b / name).read_bytes()
        for name in ("accounts.jsonl", "campaigns.jsonl")
    )


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def report(runs: dict[str, dict], days: list[Path], state: Path, identical: bool) -> str:
    full = runs["full"]
    lines = [
        f"{len(days)} day files, {full['records']:,} requests, {full['accounts']:,} accounts "
        f"({full['flagged']:,} flagged, {full['campaigns']} campaigns); logs "
        f"{sum(p.stat().st_size for p in days) / 1e6:,.0f} MB (zstd JSON Lines), state "
        f"directory {size_mb(state):,.0f} MB (enriched Parquet, zstd). Daily run's "
        f"accounts.jsonl and campaigns.jsonl byte-identical to the full rescan's: "
        f"**{'yes' if identical else 'NO'}**.",
        "",
        "| run | requests enriched | wall s | CPU s (all processes) | CPU vs full rescan "
        "| enrich CPU s | detection CPU s | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {
        "full": f"full rescan of days 1-{len(days)}",
        "state": f"state built from days 1-{len(days) - 1}",
        "daily": f"**daily run: day {len(days)} into the state**",
        "again": f"day {len(days)} offered again (all held: detection only)",
    }
    for mode in names:
        run = runs[mode]
        enrich = run["stages"].get(ENRICH, [0.0, 0.0])[1]
        detect = sum(f[1] for key, f in run["stages"].items() if key != ENRICH)
        enriched = run.get("enriched", run["records"])
        lines.append(
            f"| {names[mode]} | {enriched:,} | {run['seconds']:.1f} | {run['cpu_seconds']:.1f} "
            f"| {run['cpu_seconds'] / full['cpu_seconds']:.2f} | {enrich:.1f} | {detect:.1f} "
            f"| {run['peak_rss_mb']:,.0f} |"
        )
    lines += ["", "Detection stages, CPU s (full rescan / daily run):", ""]
    lines += ["| stage | full | daily |", "|---|---:|---:|"]
    for key in SCAN_STAGES.values():
        if key in full["stages"] and key != ENRICH:
            daily = runs["daily"]["stages"].get(key, [0.0, 0.0])[1]
            lines.append(f"| {key} | {full['stages'][key][1]:.1f} | {daily:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--window-days", type=int)
    parser.add_argument("--keep", action="store_true", help="keep the log and the state")
    parser.add_argument("--write", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument("--child", choices=("full", "state", "daily", "again"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--state", type=Path)
    parser.add_argument("inputs", nargs="*")
    args = parser.parse_args()
    if args.child:
        figures = _child(args.child, args.inputs, str(args.out), str(args.state), args.window_days)
        print(json.dumps(figures))
        return

    work = Path(tempfile.gettempdir()) / (
        f"distillwatch-incremental-bench-{args.accounts}-{args.days}-{args.seed}"
    )
    sim = work / "sim"
    if not list(sim.glob("traffic.*")):
        subprocess.run(
            [sys.executable, "-m", "distillwatch.cli", "simulate", "--out", str(sim),
             "--accounts", str(args.accounts), "--days", str(args.days), "--seed",
             str(args.seed)],
            check=True, env={**os.environ, "DISTILLWATCH_NO_PROGRESS": "1"},
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
    days = sorted((work / "days").glob("*.jsonl.zst")) or split_by_day(
        next(sim.glob("traffic.*")), work / "days"
    )
    state = work / "state"
    for leftover in (state, work / "out-full", work / "out-state", work / "out-daily"):
        subprocess.run(["rm", "-rf", str(leftover)], check=True)
    load_before = os.getloadavg()
    # the full rescan right before the daily run: the two should run the same code
    plan = {"state": days[:-1], "full": days, "daily": days[-1:], "again": days[-1:]}
    runs = {
        mode: measure(mode, inputs, work / f"out-{mode}", state, args.window_days)
        for mode, inputs in plan.items()
    }
    load_after = os.getloadavg()
    identical = same_verdicts(work / "out-full", work / "out-daily")
    text = report(runs, days, state, identical)
    load = (
        f"Load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        "(the machine is shared: compare CPU seconds, not wall seconds)."
    )
    print(f"{text}\n\n{load}")
    if args.write:
        command = (
            "DISTILLWATCH_NO_PROGRESS=1 .venv/bin/python benchmarks/bench_scan_incremental.py "
            f"--accounts {args.accounts} --days {args.days} --seed {args.seed}"
            + (f" --window-days {args.window_days}" if args.window_days else "")
        )
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        old = (
            RESULTS.read_text(encoding="utf-8")
            if RESULTS.exists()
            else "# Incremental scan benchmark\n"
        )
        RESULTS.write_text(
            f"{old.rstrip()}\n\n## {stamp}\n\n```\n{command}\n```\n\n{text}\n\n{load}\n",
            encoding="utf-8",
        )
    if not args.keep:
        subprocess.run(["rm", "-rf", str(work)], check=True)


if __name__ == "__main__":
    main()
