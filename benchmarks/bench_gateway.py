"""Gateway speed: decision time in process, and proxy overhead under load on loopback.

    .venv/bin/python benchmarks/bench_gateway.py decide [--requests 200000]
    .venv/bin/python benchmarks/bench_gateway.py proxy [--rate 500] [--seconds 20]
    .venv/bin/python benchmarks/bench_gateway.py proxy --rate 200 --assessor both --write
    .venv/bin/python benchmarks/bench_gateway.py all --write   # both; record the figures

``decide`` times, per request, the pure ``decide`` and the whole in-process step (assess with
the rate assessor, load from the in-memory store with the cluster's token bucket, decide,
remember) over a stream of requests from 10,000 accounts, 5% of them in 50 clusters.

``proxy`` starts the stub upstream and ``distillwatch gateway`` (with its traffic log on) as
separate processes, then drives each from a third process with an open-loop load generator
(requests start on a fixed schedule at ``--rate`` per second whatever the latency, over
keep-alive HTTP/1.1 connections) — first straight at the stub, then through the gateway. The
overhead is the difference of the two latency distributions at each percentile.
``--write`` records the figures in ``benchmarks/results/gateway.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench_signals import update_section  # the same results-file sections
from gateway_decide import bench_decide
from gateway_load import load_main
from gateway_proxy import bench_both, bench_proxy

RESULTS = Path(__file__).resolve().parent / "results" / "gateway.md"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", choices=["decide", "proxy", "all", "load"])
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--target", action="append", default=[], help="load: URL@RATE (repeat)")
    ap.add_argument(
        "--nice", type=int, default=0, help="scheduling priority of the proxy benchmark's processes"
    )
    ap.add_argument("--rounds", type=int, default=5, help="proxy: stub/gateway rounds")
    ap.add_argument(
        "--assessor",
        default="default",
        help="proxy: the gateway's --assessor (default, rate...), or both: one after the other",
    )
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if args.what == "load":
        load_main(args.target, args.seconds, args.warmup)
        return
    if args.what in ("decide", "all"):
        text = bench_decide(args.requests)
        command = (
            f"`.venv/bin/python benchmarks/bench_gateway.py decide --requests {args.requests}`"
        )
        body = f"## Decision time in process\n\n{text}\n\nCommand: {command}"
        print(body, "\n")
        if args.write:
            update_section(RESULTS, "decide", body)
    if args.what == "proxy" and args.assessor == "both":
        text = bench_both(args.rate, args.seconds, args.warmup, args.rounds)
        command = (
            f"`.venv/bin/python benchmarks/bench_gateway.py proxy --rate {args.rate:g} "
            f"--seconds {args.seconds:g} --rounds {args.rounds} --assessor both`"
        )
        body = f"## Both assessors at {args.rate:g} requests/s\n\n{text}\n\nCommand: {command}"
        print(body)
        if args.write:
            update_section(RESULTS, f"proxy-{args.rate:g}-both", body)
        return
    if args.what in ("proxy", "all"):
        text, _ = bench_proxy(
            args.rate, args.seconds, args.warmup, args.nice, args.rounds, args.assessor
        )
        nice = f" --nice {args.nice}" if args.nice else ""
        command = (
            f"`.venv/bin/python benchmarks/bench_gateway.py proxy --rate {args.rate:g} "
            f"--seconds {args.seconds:g} --rounds {args.rounds} --assessor {args.assessor}{nice}`"
        )
        title = f"{args.rate:g} requests/s, `--assessor {args.assessor}`" + (
            f", nice {args.nice}" if args.nice else ""
        )
        body = f"## Proxy overhead at {title}\n\n{text}\n\nCommand: {command}"
        print(body)
        if args.write:
            section = "proxy" if args.rate == 500 else f"proxy-{args.rate:g}"
            section += "" if args.assessor == "default" else f"-{args.assessor}"
            update_section(RESULTS, section + ("-nice" if args.nice else ""), body)


if __name__ == "__main__":
    main()
