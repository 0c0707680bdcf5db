"""Benchmark the whole ``distillwatch scan`` (ingest + signals + aggregate + score + outputs).

    .venv/bin/python benchmarks/bench_scan.py [--records 1000000] [--log PATH] [--keep] [--write]

Generates a simulated traffic log of about ``--records`` requests with the product's own
simulator (benign tenants, hydra clusters, resellers, campaigns: ``distillwatch simulate``,
7 days, about 200 requests per account) unless ``--log`` names one, then runs, each in a
fresh child process:

* the floor: decompress and ``orjson.loads`` every line, nothing else;
* ingest alone (validate + flatten to Arrow, default workers, nothing written);
* ``distillwatch.scan.run_scan`` on the log, timed per stage (enrich = ingest + signals +
  Parquet write, aggregate + score, outputs).

For each run it reports wall seconds, requests per second, CPU seconds summed over the
process and all its descendants (worker processes included, read from ``/proc``), and the
peak resident memory of the whole process tree, sampled every 50 ms. CPU seconds do not
depend on what else the machine runs, so ``requests per CPU-second`` is the figure to
compare across runs on a shared machine; ``uptime`` is printed beside the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "scan.md"
REQUESTS_PER_ACCOUNT = 185  # what the default scenario gives over 7 days (measured: 184-203)
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_table() -> dict[int, tuple[int, float, int]]:
    """pid -> (parent pid, CPU seconds, resident bytes) of every process, from ``/proc``.

    CPU seconds include the reaped children of the process (``cutime``/``cstime``), so a
    tree's sum counts worker processes that have already exited, once.
    """
    table: dict[int, tuple[int, float, int]] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        table[int(entry)] = (int(fields[1]), ticks / _TICKS, int(fields[21]) * page)
    return table


def tree(root: int) -> tuple[float, int]:
    """(CPU seconds, resident bytes) summed over ``root`` and its descendants."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    cpu, rss, todo = 0.0, 0, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            cpu += table[pid][1]
            rss += table[pid][2]
        todo.extend(children.get(pid, ()))
    return cpu, rss


class TreeMonitor:
    """Samples a process tree every ``interval`` seconds: peak total RSS and CPU seconds."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        self.root, self.interval = root, interval
        self.peak_rss = 0
        self.cpu_seconds = 0.0
        self.samples: list[tuple[float, int]] = []  # (time.time(), tree RSS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            cpu, rss = tree(self.root)
            self.cpu_seconds = max(self.cpu_seconds, cpu)
            self.peak_rss = max(self.peak_rss, rss)
            self.samples.append((time.time(), rss))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> int:
        """Peak tree RSS sampled within the wall-clock window ``[start, end]``."""
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)


def simulate(out: Path, records: int, seed: int = 3) -> Path:
    """A simulated log of about ``records`` requests (``distillwatch simulate``)."""
    accounts = max(records // REQUESTS_PER_ACCOUNT, 50)
    command = [
        sys.executable, "-m", "distillwatch.cli", "simulate", "--out", str(out),
        "--accounts", str(accounts), "--days", "7", "--seed", str(seed),
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
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu, began = time.perf_counter(), tree(os.getpid())[0], time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds, used = time.perf_counter() - wall, tree(os.getpid())[0] - cpu
            stages[name] = [seconds, used, began, time.time()]

    return wrapper


def _child_scan(log: str) -> dict[str, Any]:
    import distillwatch.scan as scan

    stages: dict[str, list[float]] = {}
    scan.enrich_into = _timed(stages, "enrich", scan.enrich_into)
    scan.write_outputs = _timed(stages, "outputs", scan.write_outputs)
    with tempfile.TemporaryDirectory() as out:
        result = scan.run_scan([log], Path(out) / "scan")
    return {
        "records": result.ingest.records,
        "quarantined": result.ingest.quarantined_total,
        "accounts": len(result.verdicts),
        "flagged": result.flagged,
        "stages": stages,
    }


CHILDREN: dict[str, Callable[[str], dict[str, Any]]] = {
    "floor": _child_floor,
    "ingest": _child_ingest,
    "scan": _child_scan,
}


def measure(mode: str, log: Path) -> dict[str, Any]:
    """Run one measurement in a fresh child process, monitoring its whole process tree."""
    env = {**os.environ, "DISTILLWATCH_NO_PROGRESS": "1"}
    command = [sys.executable, __file__, "--child", mode, "--log", str(log)]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout:
        proc = subprocess.Popen(command, stdout=stdout, env=env)
        with TreeMonitor(proc.pid) as monitor:
            _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code:
            raise SystemExit(f"{mode} run failed with exit code {code}")
        stdout.seek(0)
        figures: dict[str, Any] = json.loads(stdout.read().decode().strip().splitlines()[-1])
    figures["seconds"] = time.perf_counter() - started
    figures["cpu_seconds"] = max(monitor.cpu_seconds, usage.ru_utime + usage.ru_stime)
    figures["peak_rss_mb"] = monitor.peak_rss / 1e6
    for stage in figures.get("stages", {}).values():
        stage.append(monitor.peak_between(stage[2], stage[3]) / 1e6)
    if "stages" in figures:  # aggregate + score: between the end of enrich and outputs
        enrich, outputs = figures["stages"]["enrich"], figures["stages"].get("outputs")
        end = outputs[2] if outputs else time.time()
        figures["aggregate_peak_rss_mb"] = monitor.peak_between(enrich[3], end) / 1e6
    return figures


def table(log: Path, runs: dict[str, dict[str, Any]]) -> str:
    """The Markdown figures of one benchmark run."""
    scan = runs["scan"]
    n = scan["records"]
    size = log.stat().st_size / 1e6
    lines = [
        f"Input: `{log.name}`, {n:,} valid requests ({scan['quarantined']} quarantined), "
        f"{scan['accounts']:,} accounts ({scan['flagged']:,} flagged), {size:,.0f} MB on disk; "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}.",
        "",
        "| run | wall s | requests/s | CPU s (all processes) | requests per CPU-s "
        "| peak RSS, whole tree (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def row(name: str, seconds: float, cpu: float, rss: float | None = None) -> None:
        peak = f"{rss:,.0f}" if rss is not None else "-"
        lines.append(
            f"| {name} | {seconds:.1f} | {n / seconds:,.0f} | {cpu:.1f} | {n / cpu:,.0f} | {peak} |"
        )

    if "floor" in runs:
        floor = runs["floor"]
        row("orjson.loads per line (floor, 1 process)", floor["seconds"], floor["cpu_seconds"],
            floor["peak_rss_mb"])  # fmt: skip
    if "ingest" in runs:
        ingest = runs["ingest"]
        row(f"ingest alone ({ingest['workers']} workers, nothing written)", ingest["seconds"],
            ingest["cpu_seconds"], ingest["peak_rss_mb"])  # fmt: skip
    row("**scan, end to end**", scan["seconds"], scan["cpu_seconds"], scan["peak_rss_mb"])
    stages = scan["stages"]
    enrich_wall, enrich_cpu, *_, enrich_rss = stages["enrich"]
    out_wall, out_cpu, *_, out_rss = stages.get("outputs", [0.0, 0.0, 0.0, 0.0, 0.0])
    row("· enrich: ingest + signals + Parquet write", enrich_wall, enrich_cpu, enrich_rss)
    row(
        "· aggregate + score (DuckDB, linking)",
        scan["seconds"] - enrich_wall - out_wall,
        scan["cpu_seconds"] - enrich_cpu - out_cpu,
        scan["aggregate_peak_rss_mb"],
    )
    row("· outputs (files + report)", out_wall, out_cpu, out_rss)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--log", type=Path, help="an existing traffic log (any ingest format)")
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument("--write", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument(
        "--runs",
        default="floor,ingest,scan",
        help="which runs, comma-separated (the scan alone for a quick 10M memory check)",
    )
    parser.add_argument("--child", choices=tuple(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](str(args.log))))
        return

    work = Path(tempfile.gettempdir()) / f"distillwatch-scan-bench-{args.records}"
    log = args.log
    if log is None:
        existing = sorted(work.glob("traffic.*"))
        if existing:
            log = existing[0]
        else:
            started = time.perf_counter()
            log = simulate(work, args.records)
            print(f"generated {log} in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    load_before = os.getloadavg()
    runs = {mode: measure(mode, log) for mode in args.runs.split(",")}
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
        if args.runs != parser.get_default("runs"):
            command += f" --runs {args.runs}"
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
