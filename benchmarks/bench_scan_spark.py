"""Benchmark ``scan --engine spark`` (local mode, 1 and 2 executor cores) beside DuckDB.

    .venv/bin/python benchmarks/bench_scan_spark.py [--records 1000000] [--accounts N]
        [--log PATH] [--runs duckdb,local[1],local[2]] [--driver-memory 1g]
        [--java-options "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"] [--keep] [--write]

Makes the log as ``bench_scan.py`` does (the product's simulator; ``--log`` names an existing
one) and decompresses it to one plain JSON Lines file, so that Spark can cut it into splits
(a compressed stream is one task) and both engines read the same bytes. Each run is a fresh
child process whose whole tree -- the Python driver, Spark's JVM and its Python workers, or
DuckDB's worker processes -- is sampled from ``/proc`` every 100 ms (``proc_tree.py``, each
process's CPU remembered after it exits: Spark's workers are reaped by a daemon): wall
seconds, CPU seconds of the tree, peak resident memory of the tree, per stage too.
CPU seconds barely depend on what else runs on the (shared) machine; wall seconds do.

After the runs the Spark results are compared with DuckDB's: flagged accounts, campaigns
(as sets of accounts) and the largest score difference, the parity the tests require.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import SCAN_STAGES, _timed, simulate
from proc_tree import TreeSampler

RESULTS = Path(__file__).resolve().parent / "results" / "scan-spark.md"
#: Stages of the Spark scan timed apart (module, attribute, name).
SPARK_STAGES = (
    ("distillwatch.scan.spark.session", "spark_session", "start Spark (JVM)"),
    ("distillwatch.scan.spark.run", "enrich_spark", "enrich: ingest + signals in tasks"),
)


def _child(engine: str, log: str, out: str, driver_memory: str, java: str) -> dict[str, Any]:
    import importlib

    import distillwatch.scan as scan

    stages: dict[str, list[float]] = {}
    for attribute, name in SCAN_STAGES.items():
        if attribute != "enrich_into" and hasattr(scan, attribute):  # names change over time
            setattr(
                scan,
                attribute,
                _timed(stages, name.replace(" (DuckDB)", ""), getattr(scan, attribute)),
            )
    if engine == "duckdb":
        scan.enrich_into = _timed(stages, SCAN_STAGES["enrich_into"], scan.enrich_into)
        result = scan.run_scan([log], Path(out))
    else:
        for module, attribute, name in SPARK_STAGES:
            target = importlib.import_module(module)
            setattr(target, attribute, _timed(stages, name, getattr(target, attribute)))
        from distillwatch.scan.spark import run_spark_scan

        session = None
        if java:  # started here (through the timed attribute) to pass the JVM options
            start = importlib.import_module("distillwatch.scan.spark.session").spark_session
            session = start(engine, driver_memory, java_options=java)
        result = run_spark_scan(
            [log], Path(out), master=engine, driver_memory=driver_memory, spark=session
        )
    stages.pop("features per account #2", None)  # the call inside cluster_features
    return {
        "records": result.ingest.records,
        "accounts": len(result.verdicts),
        "flagged": result.flagged,
        "campaigns": len(result.campaigns),
        "stages": stages,
    }


def measure(engine: str, log: Path, out: Path, driver_memory: str, java: str) -> dict[str, Any]:
    """One engine in a fresh child process, its whole process tree sampled."""
    env = {**os.environ, "DISTILLWATCH_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    command = [sys.executable, __file__, "--child", engine, "--log", str(log), "--out", str(out)]
    command += ["--driver-memory", driver_memory, "--java-options", java]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            command, stdout=stdout, stderr=stderr, env=env, start_new_session=True
        )
        with TreeSampler(proc.pid, interval=0.1, remember=True) as monitor:
            _pid, status, _usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            stderr.seek(0)
            raise SystemExit(f"{engine} failed:\n{stderr.read().decode(errors='replace')[-4000:]}")
        stdout.seek(0)
        figures: dict[str, Any] = json.loads(stdout.read().decode().strip().splitlines()[-1])
    figures["seconds"] = time.perf_counter() - started
    figures["cpu_seconds"] = monitor.samples[-1][1] if monitor.samples else 0.0
    figures["peak_rss_mb"] = max((rss for *_, rss in monitor.samples), default=0) / 1e6
    for stage in figures["stages"].values():  # [wall, CPU (child's view), start, end]
        cpu, peak = monitor.between(stage[2], stage[3])
        stage[1] = cpu
        stage.append(peak / 1e6)
    return figures


def _accounts(out: Path) -> dict[str, dict[str, Any]]:
    import orjson

    lines = (out / "accounts.jsonl").read_bytes().splitlines()
    return {row["account_id"]: row for row in map(orjson.loads, lines)}


def _campaigns(out: Path) -> set[frozenset[str]]:
    import orjson

    lines = (out / "campaigns.jsonl").read_bytes().splitlines()
    return {frozenset(orjson.loads(line)["accounts"]) for line in lines}


def parity(duck: Path, spark: Path) -> str:
    """Flagged sets, campaigns, reasons and scores of two scans, compared (the tests' parity,
    ``tests/test_scan_spark.py``, on a log too large for a test)."""
    a, b = _accounts(duck), _accounts(spark)
    flagged_a = {k for k, v in a.items() if v["flagged"]}
    flagged_b = {k for k, v in b.items() if v["flagged"]}
    both = a.keys() & b.keys()
    gap = max((abs(a[k]["score"] - b[k]["score"]) for k in both), default=0.0)
    reasons = sum(a[k]["reasons"] != b[k]["reasons"] for k in both)
    campaign_ids = sum(a[k]["campaign_id"] != b[k]["campaign_id"] for k in both)
    same = a.keys() == b.keys() and flagged_a == flagged_b and _campaigns(duck) == _campaigns(spark)
    return (
        f"{'identical' if same else 'DIFFERENT'} accounts, flagged sets and campaigns "
        f"({len(b):,} accounts, {len(flagged_b):,} flagged, {len(_campaigns(spark))} campaigns); "
        f"accounts with other reasons {reasons}, with another campaign id {campaign_ids}; "
        f"largest score difference {gap:.2g}"
    )


def table(log: Path, runs: dict[str, dict[str, Any]]) -> str:
    """Markdown: one block of rows per engine, stages indented."""
    first = next(iter(runs.values()))
    n = first["records"]
    lines = [
        f"Input: `{log.name}`, {n:,} requests, {first['accounts']:,} accounts, "
        f"{log.stat().st_size / 1e6:,.0f} MB of JSON Lines; {os.cpu_count()} CPUs.",
        "",
        "| engine / stage | wall s | CPU s (whole tree) | µs CPU per request "
        "| requests per CPU-s | peak RSS, tree (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for engine, run in runs.items():
        name = "DuckDB (`run_scan`)" if engine == "duckdb" else f"Spark `{engine}`"
        lines.append(
            f"| **{name}**, end to end | {run['seconds']:.1f} | {run['cpu_seconds']:.1f} "
            f"| {run['cpu_seconds'] / n * 1e6:.1f} "
            f"| {n / max(run['cpu_seconds'], 1e-9):,.0f} | {run['peak_rss_mb']:,.0f} |"
        )
        for stage, (wall, cpu, *_, rss) in run["stages"].items():
            lines.append(
                f"| · {stage} | {wall:.1f} | {cpu:.1f} | {cpu / n * 1e6:.1f} | | {rss:,.0f} |"
            )
    return "\n".join(lines)


def checkout() -> str:
    """The commit of the code measured (this file's checkout), marked if ``src`` differs."""
    here = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "src")
    return commit + (" + uncommitted changes in src/" if dirty else "")


def plain_log(work: Path, records: int, accounts: int | None, given: Path | None) -> Path:
    """One uncompressed JSON Lines file of the log (made once, kept in ``work``)."""
    plain = work / "traffic.jsonl"
    if plain.exists():
        return plain
    source = given or simulate(work / "sim", records, accounts)
    if source.suffix == ".zst":
        subprocess.run(["zstd", "-q", "-d", "-f", str(source), "-o", str(plain)], check=True)
    else:
        shutil.copyfile(source, plain)
    return plain


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, help="accounts of the generated log")
    parser.add_argument("--log", type=Path, help="an existing traffic log")
    parser.add_argument("--runs", default="duckdb,local[1],local[2]")
    parser.add_argument("--driver-memory", default="1g", help="Spark driver (JVM) heap")
    parser.add_argument("--java-options", default="", help="more options for Spark's JVM")
    parser.add_argument("--keep", action="store_true", help="keep the log and the scans")
    parser.add_argument("--write", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        figures = _child(
            args.child, str(args.log), str(args.out), args.driver_memory, args.java_options
        )
        print(json.dumps(figures))
        return
    name = f"distillwatch-spark-bench-{args.records}-{args.accounts or 'default'}"
    if args.log:  # one work directory per given log (its plain copy is kept there)
        name = f"distillwatch-spark-bench-{args.log.resolve().parent.name}-{args.log.stem}"
    work = Path(tempfile.gettempdir()) / name
    work.mkdir(parents=True, exist_ok=True)
    log = plain_log(work, args.records, args.accounts, args.log)
    load = os.getloadavg()[0]
    runs: dict[str, dict[str, Any]] = {}
    for engine in args.runs.split(","):
        out = work / f"scan-{engine}"
        shutil.rmtree(out, ignore_errors=True)
        runs[engine] = measure(engine, log, out, args.driver_memory, args.java_options)
        print(
            f"{engine}: {runs[engine]['seconds']:.1f} s, {runs[engine]['cpu_seconds']:.1f} CPU s",
            file=sys.stderr,
        )
    text = table(log, runs)
    if "duckdb" in runs:
        for engine in runs.keys() - {"duckdb"}:
            text += f"\n\nParity, `{engine}` against DuckDB: " + parity(
                work / "scan-duckdb", work / f"scan-{engine}"
            )
    after = os.getloadavg()[0]
    text += f"\n\nLoad average (1 min) {load:.1f} before, {after:.1f} after (shared machine)."
    text += f" Code: `{checkout()}`."
    print(text)
    if args.write:
        command = "DISTILLWATCH_NO_PROGRESS=1 .venv/bin/python benchmarks/bench_scan_spark.py"
        command += f" --log {args.log}" if args.log else f" --records {args.records}"
        command += f" --accounts {args.accounts}" if args.accounts and not args.log else ""
        command += f" --runs {args.runs}" if args.runs != parser.get_default("runs") else ""
        command += f" --java-options '{args.java_options}'" if args.java_options else ""
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        old = (
            RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Spark scan benchmark\n"
        )
        RESULTS.write_text(
            f"{old.rstrip()}\n\n## {stamp}\n\n```\n{command}\n```\n\n{text}\n", encoding="utf-8"
        )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
