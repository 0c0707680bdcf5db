"""Benchmark the whole ``distillwatch scan`` (ingest + signals + aggregate + score + outputs).

    .venv/bin/python benchmarks/bench_scan.py [--records 1000000] [--accounts N] [--log PATH]
        [--runs floor,ingest,scan[,stages]] [--max-rss-gb G] [--duckdb-memory SIZE]
        [--keep] [--write]

Generates a simulated traffic log of about ``--records`` requests from ``--accounts``
accounts with the product's own simulator (benign tenants, hydra clusters, resellers,
campaigns: ``distillwatch simulate``; the number of days is chosen to give the requests)
unless ``--log`` names one, then runs, each in a fresh child process:

* ``floor``: decompress and ``orjson.loads`` every line, nothing else;
* ``ingest``: ingest alone (validate + flatten to Arrow, default workers, nothing written);
* ``scan``: ``distillwatch.scan.run_scan`` on the log, timed per stage (enrich = ingest +
  signals + Parquet write; prepare events, account features, link keys, linking, cluster
  features, scoring, outputs);
* ``stages`` (optional): every stage alone in one process (``scan_stages.py``), for CPU
  per request per stage without worker processes.

For each run it reports wall seconds, requests per second, CPU seconds summed over the
process and all its descendants (worker processes included, read from ``/proc``), the ratio
of that CPU to the floor's, and the peak resident memory of the whole process tree, sampled
every 50 ms (per stage: the peak within the stage's wall-clock window). CPU seconds do not
depend on what else the machine runs, so ``requests per CPU-second`` is the figure to
compare across runs on a shared machine; ``uptime`` is printed beside the table. With
``--max-rss-gb`` a run whose tree passes that much memory is stopped, and the table says
in which stage (the machine is shared: a run must not take all of it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proc_tree import TreeSampler, tree

#: The sampler under its former name (``bench_scan_incremental.py`` imports it from here).
TreeMonitor = TreeSampler

RESULTS = Path(__file__).resolve().parent / "results" / "scan.md"
#: Requests per account per day of the default scenario (seed 3, 5,071 accounts, 7 days:
#: 1,457,390 requests).
REQUESTS_PER_ACCOUNT_DAY = 41.0
#: Carries ``--duckdb-memory`` to the scan child.
DUCKDB_MEMORY_ENV = "DISTILLWATCH_BENCH_DUCKDB_MEMORY"


def simulate(out: Path, records: int, accounts: int | None = None, seed: int = 3) -> Path:
    """A simulated log of about ``records`` requests from ``accounts`` accounts (default:
    as many as a week of the default scenario needs)."""
    accounts = accounts or max(round(records / (REQUESTS_PER_ACCOUNT_DAY * 7)), 50)
    days = max(records / (REQUESTS_PER_ACCOUNT_DAY * accounts), 0.05)
    command = [
        sys.executable, "-m", "distillwatch.cli", "simulate", "--out", str(out),
        "--accounts", str(accounts), "--days", f"{days:.3f}", "--seed", str(seed),
    ]  # fmt: skip
    env = {**os.environ, "DISTILLWATCH_NO_PROGRESS": "1"}
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    (log,) = out.glob("traffic.*")
    return log


def _child_floor(log: str) -> dict[str, Any]:
    import orjson

    from distillwatch.ingest.batches import JsonlChunk
    from distillwatch.ingest.readers import read_chunks
    from distillwatch.ingest.sources import discover

    count = 0
    loads = orjson.loads
    for source in discover([log])[0]:
        for positioned in read_chunks(source):
            if not isinstance(positioned.chunk, JsonlChunk):
                return {"records": 0}  # Parquet: no JSON to parse
            for line in positioned.chunk.data.splitlines():
                if line.strip():
                    loads(line)
                    count += 1
    return {"records": count}


def _child_ingest(log: str) -> dict[str, Any]:
    from distillwatch.ingest import RequestStream

    stream = RequestStream([log])
    rows = sum(batch.num_rows for batch in stream)
    return {"records": rows, "workers": stream.workers}


def _timed(stages: dict[str, list[float]], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` recording [wall s, CPU s of the tree, start, end] under ``name`` (a second call
    gets ``name #2``); the stage is printed to stderr as it starts, for ``--max-rss-gb``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = name if name not in stages else f"{name} #2"
        print(f"stage: {key}", file=sys.stderr, flush=True)
        wall, cpu, began = time.perf_counter(), tree(os.getpid())[0], time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds, used = time.perf_counter() - wall, tree(os.getpid())[0] - cpu
            stages[key] = [seconds, used, began, time.time()]
            print(f"done: {json.dumps([key, stages[key]])}", file=sys.stderr, flush=True)

    return wrapper


#: The steps of ``scan.run_scan`` timed one by one (module attribute -> stage name).
SCAN_STAGES = {
    "enrich_into": "enrich: ingest + signals + Parquet write",
    "prepare_events": "prepare events (DuckDB)",
    "group_features": "features per account (DuckDB)",
    "link_keys": "link keys (DuckDB)",  # before link_key_ids (older checkouts)
    "link_key_ids": "link keys (DuckDB)",
    "with_newcomer_agents": "newcomer agents (detect.newcomers)",
    "link_accounts": "linking (detect.link)",
    "cluster_features": "features per cluster (DuckDB)",
    "score": "scoring",
    "write_outputs": "outputs (files + report)",
}


def _child_scan(log: str) -> dict[str, Any]:
    import distillwatch.scan as scan

    limit = os.environ.get(DUCKDB_MEMORY_ENV)
    if limit:  # the scan's DuckDB connection with another memory limit (--duckdb-memory)
        connect = scan.connect
        scan.connect = lambda memory_limit="", spill_dir=None: connect(limit, spill_dir)
    stages: dict[str, list[float]] = {}
    for attribute, name in SCAN_STAGES.items():
        if hasattr(scan, attribute):  # older checkouts (PYTHONPATH=...) lack some steps
            setattr(scan, attribute, _timed(stages, name, getattr(scan, attribute)))
    with tempfile.TemporaryDirectory() as out:
        result = scan.run_scan([log], Path(out) / "scan")
    # the second group_features call is the one inside cluster_features
    stages.pop(f"{SCAN_STAGES['group_features']} #2", None)
    return {
        "records": result.ingest.records,
        "quarantined": result.ingest.quarantined_total,
        "accounts": len(result.verdicts),
        "flagged": result.flagged,
        "stages": stages,
    }


def _child_stages(log: str) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scan_stages import profile, table

    figures = profile(log)
    return {"records": figures["records"], "table": table(figures)}


CHILDREN: dict[str, Callable[[str], dict[str, Any]]] = {
    "floor": _child_floor,
    "ingest": _child_ingest,
    "scan": _child_scan,
    "stages": _child_stages,
}


def measure(mode: str, log: Path, max_rss_gb: float | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh child process, monitoring its whole process tree
    (stopped, and marked so, if the tree passes ``max_rss_gb``)."""
    env = {**os.environ, "DISTILLWATCH_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, __file__, "--child", mode, "--log", str(log)]
    started = time.perf_counter()
    cap = None if max_rss_gb is None else int(max_rss_gb * 1e9)
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            command, stdout=stdout, stderr=stderr, env=env, start_new_session=True
        )
        with TreeMonitor(proc.pid, cap=cap) as monitor:
            _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        said = stderr.read().decode(errors="replace").splitlines()
        if monitor.stopped:  # the stages that finished, and the one that did not
            stage = next((line[7:] for line in reversed(said) if line.startswith("stage: ")), "-")
            done = dict(json.loads(line[6:]) for line in said if line.startswith("done: "))
            for figures_ in done.values():
                figures_.append(monitor.peak_between(figures_[2], figures_[3]) / 1e6)
            return {"stopped": stage, "seconds": time.perf_counter() - started,
                    "peak_rss_mb": monitor.peak_rss / 1e6, "stages": done}  # fmt: skip
        if code:
            raise SystemExit(f"{mode} run failed with exit code {code}:\n" + "\n".join(said[-20:]))
        stdout.seek(0)
        figures: dict[str, Any] = json.loads(stdout.read().decode().strip().splitlines()[-1])
    figures["seconds"] = time.perf_counter() - started
    figures["cpu_seconds"] = max(monitor.cpu_seconds, usage.ru_utime + usage.ru_stime)
    figures["peak_rss_mb"] = monitor.peak_rss / 1e6
    for stage in figures.get("stages", {}).values():
        stage.append(monitor.peak_between(stage[2], stage[3]) / 1e6)
    return figures


def table(log: Path, runs: dict[str, dict[str, Any]]) -> str:
    """The Markdown figures of one benchmark run."""
    scan = runs.get("scan", {})
    n = scan.get("records") or next(r["records"] for r in runs.values() if "records" in r)
    size = log.stat().st_size / 1e6
    found = (
        f", {scan['accounts']:,} accounts ({scan['flagged']:,} flagged)"
        if "accounts" in scan
        else ""
    )
    quarantined = f" ({scan['quarantined']} quarantined)" if "quarantined" in scan else ""
    floor_cpu = runs["floor"]["cpu_seconds"] if "cpu_seconds" in runs.get("floor", {}) else None
    lines = [
        f"Input: `{log.name}`, {n:,} valid requests{quarantined}{found}, {size:,.0f} MB on "
        f"disk; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}.",
        "",
        "| run | wall s | requests/s | CPU s (all processes) | requests per CPU-s "
        "| CPU × floor | peak RSS, whole tree (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def row(name: str, seconds: float, cpu: float, rss: float) -> None:
        ratio = f"{cpu / floor_cpu:.2f}" if floor_cpu else "-"
        peak = f"{rss:,.0f}" if rss else "-"  # a stage shorter than one sample: none taken
        lines.append(
            f"| {name} | {seconds:.1f} | {n / seconds:,.0f} | {cpu:.1f} "
            f"| {n / max(cpu, 1e-9):,.0f} | {ratio} | {peak} |"
        )

    names = {"floor": "orjson.loads per line (floor, 1 process)", "scan": "**scan, end to end**"}
    for mode, run in runs.items():
        if mode == "stages":
            continue
        name = names.get(mode, f"ingest alone ({run.get('workers')} workers, nothing written)")
        if "stopped" in run:
            lines.append(
                f"| {name} | stopped by the bench in stage *{run['stopped']}* after "
                f"{run['seconds']:.0f} s, past the memory cap | | | | | {run['peak_rss_mb']:,.0f} |"
            )
        else:
            row(name, run["seconds"], run["cpu_seconds"], run["peak_rss_mb"])
        for stage, (wall, cpu, *_, rss) in run.get("stages", {}).items():
            row(f"· {stage}", wall, cpu, rss)
    if "stages" in runs:
        lines += ["", "Every stage alone, in one process:", "", runs["stages"]["table"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, help="accounts of the generated log")
    parser.add_argument("--log", type=Path, help="an existing traffic log (any ingest format)")
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument("--write", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument(
        "--runs",
        default="floor,ingest,scan",
        help="which runs, comma-separated: floor, ingest, scan, stages (one process per stage)",
    )
    parser.add_argument("--max-rss-gb", type=float, help="stop a run whose tree passes this")
    parser.add_argument(
        "--duckdb-memory",
        help="memory_limit of the scan's DuckDB connection (e.g. 2GB; default: the scan's own, "
        "scan.SQL_MEMORY)",
    )
    parser.add_argument("--child", choices=tuple(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](str(args.log))))
        return

    work = Path(tempfile.gettempdir()) / f"distillwatch-scan-bench-{args.records}"
    if args.accounts:
        work = work.with_name(f"{work.name}-{args.accounts}")
    log = args.log
    if log is None:
        existing = sorted(work.glob("traffic.*"))
        if existing:
            log = existing[0]
        else:
            started = time.perf_counter()
            log = simulate(work, args.records, args.accounts)
            print(f"generated {log} in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    if args.duckdb_memory:
        os.environ[DUCKDB_MEMORY_ENV] = args.duckdb_memory
    load_before = os.getloadavg()
    runs = {mode: measure(mode, log, args.max_rss_gb) for mode in args.runs.split(",")}
    load_after = os.getloadavg()
    text = table(log, runs)
    load = (
        f"Load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        f"(`uptime`; the machine is shared)."
    )
    print(f"{text}\n\n{load}")
    if args.write:
        command = "DISTILLWATCH_NO_PROGRESS=1 .venv/bin/python benchmarks/bench_scan.py"
        if args.log is None:
            command += f" --records {args.records}"
            command += f" --accounts {args.accounts}" if args.accounts else ""
        if args.runs != parser.get_default("runs"):
            command += f" --runs {args.runs}"
        if args.max_rss_gb:
            command += f" --max-rss-gb {args.max_rss_gb:g}"
        if args.duckdb_memory:
            command += f" --duckdb-memory {args.duckdb_memory}"
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Scan benchmark\n"
        RESULTS.write_text(
            f"{old.rstrip()}\n\n## {stamp}\n\n```\n{command}\n```\n\n{text}\n\n{load}\n",
            encoding="utf-8",
        )
    if args.log is None and not args.keep:
        for path in work.iterdir():
            path.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
