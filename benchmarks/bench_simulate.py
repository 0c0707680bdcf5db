"""Simulator throughput: seconds and requests/s for a ~1M-request log.

Usage: ``.venv/bin/python benchmarks/bench_simulate.py [--accounts 5000] [--days 7]
[--corpora DIR] [--out DIR]``. 5000 accounts x 7 days of the default scenario is about one
million requests. Prints a Markdown row to paste into ``benchmarks/results/simulate.md``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from distillwatch.simulate import load_scenario, simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=5000)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpora", default="")
    ap.add_argument("--format", default="jsonl.zst")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-sim-"))
    sc = load_scenario(
        accounts=args.accounts,
        days=args.days,
        seed=args.seed,
        corpora=args.corpora or None,
        format=args.format,
    )
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    summary = simulate(sc, out)
    secs = time.perf_counter() - t0
    cpu = sum(
        getattr(resource.getrusage(who), f)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )
    rate = summary.requests / secs
    size = summary.sizes["traffic"] / 1e6
    print(
        f"requests={summary.requests} accounts={summary.accounts} seconds={secs:.1f} "
        f"requests_per_s={rate:,.0f} seconds_per_1M={1e6 / rate:.1f} "
        f"file_MB={size:.1f} cpu_seconds={cpu:.1f} load_before={load0:.2f} "
        f"cpus={os.cpu_count()}"
    )
    print(
        f"| {args.accounts} | {args.days:g} | {summary.requests:,} | {secs:.1f} | "
        f"{rate:,.0f} | {1e6 / rate:.1f} | {cpu:.1f} | {size:.0f} | {load0:.1f} |"
    )


if __name__ == "__main__":
    main()
