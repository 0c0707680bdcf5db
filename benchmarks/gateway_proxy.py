"""The gateway's overhead as a proxy: the stub and the gateway as processes, driven by load.

Part of ``bench_gateway.py proxy``: start the stub upstream and ``distillwatch gateway``
(traffic log on), then alternate open-loop load straight at the stub and through the
gateway (``gateway_load.py``, in a third process); the overhead is the difference of the
two latency distributions at each percentile, and the gateway's CPU per request.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The script whose ``load`` subcommand runs the load generator in a process of its own.
BENCH = Path(__file__).resolve().with_name("bench_gateway.py")
#: A p99 above this for the stub alone (a few lines of code) means the machine stalled.
STALL_MS = 3.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(url.split("//")[1].split(":"), timeout=0.5):  # type: ignore[arg-type]
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not start") from None
            time.sleep(0.1)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and every process below it (the online engine's signal
    worker is a child of the gateway: its CPU is part of what a request costs)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        ticks = int(fields[11]) + int(fields[12])
        stats[int(entry.name)] = (int(fields[1]), ticks / os.sysconf("SC_CLK_TCK"))
    tree, total = {pid}, 0.0
    for _ in range(4):  # a few levels: gateway -> worker pool -> workers
        tree |= {p for p, (parent, _) in stats.items() if parent in tree}
    for p in tree:
        total += stats.get(p, (0, 0.0))[1]
    return total


def _priority(nice: int):  # type: ignore[no-untyped-def]
    """A ``preexec_fn`` giving a child process the scheduling priority ``nice``."""
    return (lambda: os.setpriority(os.PRIO_PROCESS, 0, nice)) if nice else None


def _drive(targets: list[tuple[str, float]], seconds: float, warmup: float, nice: int) -> list:
    args = [f"--target={url}@{rate:g}" for url, rate in targets]
    out = subprocess.run(
        [sys.executable, str(BENCH), "load", *args, "--seconds", str(seconds),
         "--warmup", str(warmup)],
        capture_output=True, text=True, preexec_fn=_priority(nice),
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed against {targets}:\n{out.stderr[-2000:]}")
    return list(json.loads(out.stdout))


def _rows(runs: list[tuple[str, dict, dict]]) -> list[str]:
    lines = [
        "| run | target | requests | errors | achieved/s | p50 ms | p90 ms | p99 ms | p99.9 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run, direct, proxied in runs:
        for name, r in (("stub directly", direct), ("through the gateway", proxied)):
            lines.append(
                f"| {run} | {name} | {r['n']:,} | {r['errors']} | {r['achieved']:.0f} "
                f"| {r['p50']:.2f} | {r['p90']:.2f} | {r['p99']:.2f} | {r['p999']:.2f} |"
            )
        lines.append(
            f"| {run} | **overhead** | | | | {proxied['p50'] - direct['p50']:.2f} "
            f"| {proxied['p90'] - direct['p90']:.2f} | **{proxied['p99'] - direct['p99']:.2f}** "
            f"| {proxied['p999'] - direct['p999']:.2f} |"
        )
    return lines


def bench_proxy(
    rate: float,
    seconds: float,
    warmup: float,
    nice: int = 0,
    rounds: int = 5,
    assessor: str = "default",
) -> tuple[str, dict[str, float]]:
    """The section's text and its summary: ``cpu_us`` per request, median ``p99`` and
    ``p50`` overheads over the sequential rounds."""
    python = sys.executable
    stub_url = f"http://127.0.0.1:{_free_port()}"
    gw_url = f"http://127.0.0.1:{_free_port()}"
    logs = tempfile.mkdtemp(prefix="dw-bench-")
    quiet = {
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "preexec_fn": _priority(nice),
    }
    stub = subprocess.Popen(
        [python, "-m", "distillwatch.gateway.stub", "--port", stub_url.rsplit(":", 1)[1]], **quiet
    )
    gateway = subprocess.Popen(
        [python, "-m", "distillwatch.cli", "gateway", "--upstream", stub_url,
         "--port", gw_url.rsplit(":", 1)[1], "--log-dir", logs, "--assessor", assessor],
        **quiet,
    )  # fmt: skip
    runs: list[tuple[str, dict, dict]] = []
    try:
        _wait(stub_url, stub)
        _wait(gw_url, gateway)
        loads = [os.getloadavg()[0]]
        cpu = 0.0
        for i in range(rounds):  # alternate, so both sides sample the same stretches of time
            (direct,) = _drive([(stub_url, rate)], seconds, warmup, nice)
            cpu0 = _cpu_seconds(gateway.pid)
            (proxied,) = _drive([(gw_url, rate)], seconds, warmup, nice)
            cpu += _cpu_seconds(gateway.pid) - cpu0
            runs.append((f"sequential {i + 1}", direct, proxied))
        cpu_us = cpu / (rounds * (seconds + warmup) * rate) * 1e6
        loads.append(os.getloadavg()[0])
        both = _drive([(stub_url, rate / 5), (gw_url, rate)], seconds, warmup, nice)
        runs.append(("concurrent", both[0], both[1]))
        loads.append(os.getloadavg()[0])
    finally:
        for proc in (gateway, stub):
            proc.terminate()
            proc.wait(timeout=10)
    sequential = runs[:rounds]
    overheads = sorted(p["p99"] - d["p99"] for _, d, p in sequential)
    stalled = sum(1 for _, d, _ in sequential if d["p99"] > STALL_MS)
    lines = [
        f"Open-loop load at {rate:g} requests/s, {rounds} rounds of {seconds:g} s (after "
        f"{warmup:g} s warm-up) at the stub directly then through the gateway, small "
        "non-streamed chat completions from 2,000 API keys, keep-alive HTTP/1.1 from a "
        "separate process; gateway with the default policy, in-memory state and its traffic "
        f"log on. 1-minute load average {' / '.join(f'{x:.1f}' for x in loads)} (start / "
        f"after the rounds / end) on {os.cpu_count()} cores"
        + (f"; the three benchmark processes at nice {nice}." if nice else ".")
        + f" *concurrent*: the gateway at {rate:g}/s while the stub is sampled directly at "
        f"{rate / 5:g}/s in the same moments.",
        "",
        *_rows(runs),
        "",
        f"**p99 overhead over the {rounds} sequential rounds: median "
        f"{statistics.median(overheads):.2f} ms** (best {overheads[0]:.2f}, worst "
        f"{overheads[-1]:.2f}); in {stalled} of {rounds} rounds the stub *alone* had a p99 "
        f"over {STALL_MS:g} ms, i.e. the machine stalled under both.",
        "",
        f"Gateway CPU per request: {cpu_us:.0f} µs (user + system of the gateway and its "
        "worker processes; sequential rounds).",
    ]
    summary = {
        "cpu_us": cpu_us,
        "p99": statistics.median(overheads),
        "p50": statistics.median(p["p50"] - d["p50"] for _, d, p in sequential),
        "stalled": stalled,
    }
    return "\n".join(lines), summary


def bench_both(rate: float, seconds: float, warmup: float, rounds: int) -> str:
    """Both assessors at the same rate, one after the other: CPU per request and p99."""
    parts, rows = [], []
    for assessor in ("rate", "default"):
        text, summary = bench_proxy(rate, seconds, warmup, 0, rounds, assessor)
        parts.append(f"### `--assessor {assessor}`\n\n{text}")
        rows.append(
            f"| `{assessor}` | {summary['cpu_us']:.0f} | {summary['p50']:.2f} "
            f"| {summary['p99']:.2f} | {summary['stalled']:.0f} of {rounds} |"
        )
    table = [
        "| assessor | gateway CPU per request µs | p50 overhead ms (median) "
        "| p99 overhead ms (median) | rounds the stub alone stalled |",
        "|---|---|---|---|---|",
        *rows,
    ]
    return "\n".join([*table, "", *parts])
