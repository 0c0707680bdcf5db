"""Decision latency of the online engine + policy, in process, over a simulated week.

    .venv/bin/python benchmarks/bench_online.py --accounts 1000 --days 7 --write

Simulates (seed 61), enriches the log once (signals are per request and computed before the
timed loop: the gateway computes them for one request in its own step), then times each
request's assessment (engine) and decision (engine + policy + in-memory enforcement state)
both in CPU time of the thread (``thread_time_ns``: what the code costs, immune to other
processes pre-empting this one on a busy machine) and in wall time (``perf_counter_ns``).
Prints percentiles; ``--write`` rewrites ``benchmarks/results/online.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from distillwatch.detect.learned import ONLINE_MODEL_FILE, load_model
from distillwatch.enforce.enforcer import Enforcer
from distillwatch.enforce.policy import load_policy
from distillwatch.enforce.store import MemoryStore
from distillwatch.online import OnlineEngine
from distillwatch.online.deferred import DeferredAssessor
from distillwatch.online.replay import ordered_rows
from distillwatch.scan.enrich import enrich
from distillwatch.simulate import load_scenario, simulate

RESULTS = Path(__file__).resolve().parent / "results" / "online.md"


def prepare(work: Path, accounts: int, days: float) -> Path:
    sim, enriched = work / "sim", work / "enriched.parquet"
    if not (sim / "labels.jsonl").exists():
        simulate(load_scenario(seed=61, accounts=accounts, days=days), sim)
    if not enriched.exists():
        enrich([sim], enriched, work / "quarantine.jsonl", exclude=work)
    return enriched


async def _time_checks(
    rows: list[dict], assessor: Any, clock_ns: Any, after: Any = None
) -> np.ndarray:
    """Nanoseconds of ``Enforcer.check`` per row (with the record's time as the clock);
    ``after(row)``, untimed, runs between requests."""
    clock = [0.0]
    enforcer = Enforcer(load_policy(None), assessor, MemoryStore(), clock=lambda: clock[0])
    out = np.empty(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        clock[0] = row["ts"].timestamp()
        t0 = clock_ns()
        await enforcer.check(row)
        out[i] = clock_ns() - t0
        if after is not None:
            after(row)
    return out


async def timed(rows: list[dict], learned: bool, clock_ns: Any) -> tuple[np.ndarray, np.ndarray]:
    decide = await _time_checks(rows, OnlineEngine(learned=learned), clock_ns)
    # the engine alone, on a fresh engine, for the share of the time it takes
    engine = OnlineEngine(learned=learned)
    assess = np.empty(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        t0 = clock_ns()
        engine.observe(row)
        assess[i] = clock_ns() - t0
    return assess, decide


async def timed_gateway(rows: list[dict], clock_ns: Any) -> np.ndarray:
    """The gateway's request path with the online engine (``DeferredAssessor``): answer from
    the last judgement + policy + state. Learning the request (the engine's update and
    re-judgement) happens in the gateway's background thread; here it runs after the timed
    part, so each decision sees exactly the requests before it."""
    engine = OnlineEngine(learned=True)
    assessor = DeferredAssessor(engine, start=False)

    def learn(row: dict) -> None:
        assessor._queue.clear()  # the row is enriched already: learn it directly
        engine.observe(row)

    return await _time_checks(rows, assessor, clock_ns, learn)


def line(name: str, ns: np.ndarray) -> str:
    q = np.percentile(ns, [50, 90, 99, 99.9]) / 1000.0
    return (
        f"| {name} | {q[0]:.1f} | {q[1]:.1f} | {q[2]:.1f} | {q[3]:.1f} | "
        f"{ns.max() / 1000.0:.0f} | {ns.mean() / 1000.0:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/distillwatch-online-bench"))
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows = list(ordered_rows(prepare(args.work, args.accounts, args.days)))
    load_model(ONLINE_MODEL_FILE)  # load the model before timing
    body = [
        f"{len(rows):,} requests ({args.accounts:,} accounts, {args.days:g} days, seed 61), "
        f"one process, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.",
        "",
        "| step (µs per request) | p50 | p90 | p99 | p99.9 | max | mean |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for clock_name, clock_ns in (("CPU", time.thread_time_ns), ("wall", time.perf_counter_ns)):
        for learned in (True, False):
            assess, decide = asyncio.run(timed(rows, learned, clock_ns))
            tag = f"{'rules + model' if learned else 'rules only'}, {clock_name}"
            body += [
                line(f"engine ({tag})", assess),
                line(f"engine + policy + state ({tag})", decide),
            ]
        gateway = asyncio.run(timed_gateway(rows, clock_ns))
        body.append(line(f"gateway path: last judgement + policy + state ({clock_name})", gateway))
    text = "\n".join(body)
    print(text)
    if args.write:
        head = RESULTS.read_text().split("<!-- figures -->")[0] if RESULTS.exists() else ""
        RESULTS.write_text((head or "# Online engine\n\n") + "<!-- figures -->\n" + text + "\n")


if __name__ == "__main__":
    main()
