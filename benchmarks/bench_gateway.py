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
import asyncio
import gc
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_signals import update_section  # the same results-file sections

RESULTS = Path(__file__).resolve().parent / "results" / "gateway.md"
#: A p99 above this for the stub alone (a few lines of code) means the machine stalled.
STALL_MS = 3.0
BODY = json.dumps(
    {"model": "stub-model", "messages": [{"role": "user", "content": "Name three primes."}]}
).encode()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------------------- decide


def bench_decide(requests: int) -> str:
    from distillwatch.enforce import Enforcer, MemoryStore, decide, load_policy
    from distillwatch.enforce.policy import ClusterLimit
    from distillwatch.enforce.rate_assessor import RateAssessor

    base = load_policy()
    policy = type(base)(
        rules=base.rules,
        cluster_limit=ClusterLimit(rate=50.0, burst=200.0),
        throttle_retry_after=base.throttle_retry_after,
    )
    rng = random.Random(7)
    # background: 10,000 accounts; a hydra cluster of 200 accounts sending 100/s in all (twice
    # its budget); 10 harvesters at 10/s each (600/min: the rate assessor scores them ~0.83)
    hydra = [f"hydra_{i}" for i in range(200)]
    clusters = {a: "C-hydra" for a in hydra}
    clusters.update({f"acct_{i}": f"C-{i % 50}" for i in range(0, 10_000, 20)})
    assessor = RateAssessor(clusters=clusters)
    store = MemoryStore()
    enforcer = Enforcer(policy, assessor, store)  # for its assess(); the loop below is its check
    t0 = 1_780_000_000.0

    def records():
        for i in range(requests):
            pick = rng.random()
            if pick < 0.2:
                account = rng.choice(hydra)
            elif pick < 0.4:
                account = f"harvester_{rng.randrange(10)}"
            else:
                account = f"acct_{rng.randrange(10_000)}"
            yield {"ts": t0 + i * 0.002, "account_id": account, "request_id": f"r{i}"}

    gc.collect()
    gc.freeze()  # what a long-running gateway would do after start-up: old objects stay put
    decide_ns: list[int] = []
    step_ns: list[int] = []
    actions: dict[str, int] = {}
    clock = time.perf_counter_ns
    for record in records():
        now = record["ts"]
        begin = clock()
        assessment = enforcer.assess(record)
        state = store.load_now(
            assessment.account_id, assessment.cluster_id, now, policy.cluster_limit
        )
        mid = clock()
        decision = decide(policy, assessment, state, now, record["request_id"])
        end = clock()
        if decision.changed or decision.sticky_until is not None:
            store.save_now(decision, now, None)
        done = clock()
        decide_ns.append(end - mid)
        step_ns.append(done - begin)
        actions[decision.action.value] = actions.get(decision.action.value, 0) + 1
    lines = [
        f"{requests:,} requests at 500/s: 60% from 10,000 ordinary accounts (500 of them in 50 "
        "clusters), 20% from a 200-account hydra cluster, 20% from 10 fast harvesters; the "
        "default policy plus a cluster limit of 50/s (burst 200); one core, GC on (frozen "
        "after set-up); "
        f"actions: {', '.join(f'{k} {v:,}' for k, v in sorted(actions.items()))}.",
        "",
        "| step | p50 µs | p99 µs | p99.9 µs | mean µs |",
        "|---|---|---|---|---|",
    ]
    for name, values in (
        ("`decide` (pure)", decide_ns),
        ("assess + load state (bucket) + decide + remember", step_ns),
    ):
        us = [v / 1000 for v in values]
        lines.append(
            f"| {name} | {pct(us, 0.5):.1f} | {pct(us, 0.99):.1f} | {pct(us, 0.999):.1f} "
            f"| {statistics.fmean(us):.1f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- load


async def _one(pool: asyncio.Queue, host: str, port: int, request: bytes) -> tuple[float, int]:
    try:
        reader, writer = pool.get_nowait()
    except asyncio.QueueEmpty:
        reader, writer = await asyncio.open_connection(host, port)
        writer.transport.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
    start = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    await reader.readexactly(length)
    elapsed = time.perf_counter() - start
    pool.put_nowait((reader, writer))
    return elapsed, status


async def _drive_one(url: str, rate: float, seconds: float, warmup: float) -> dict[str, float]:
    """Open-loop load on one URL: request ``i`` starts at ``t0 + i / rate``, however long the
    earlier ones take (so a slow server meets a queue, as it would in production)."""
    host, port = url.split("//")[1].split(":")
    # 2,000 keys (each its own account): ordinary traffic the policy lets through, so the
    # whole forwarding path is measured, not the cheap refusals of one key sending 500/s
    requests = [
        (
            f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\n"
            f"authorization: Bearer bench-key-{k}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(BODY)}\r\n\r\n"
        ).encode()
        + BODY
        for k in range(2000)
    ]
    pool: asyncio.Queue = asyncio.Queue()
    results: list[tuple[float, int]] = []
    tasks = []
    total = int((seconds + warmup) * rate)
    t0 = time.perf_counter() + 0.1

    async def fire(i: int) -> None:
        elapsed, status = await _one(pool, host, int(port), requests[i % len(requests)])
        if i >= warmup * rate:
            results.append((elapsed, status))

    for i in range(total):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(i)))
    await asyncio.gather(*tasks)
    latencies = [r[0] * 1000 for r in results]
    return {
        "n": len(results),
        "errors": sum(1 for r in results if r[1] != 200),
        "p50": pct(latencies, 0.5),
        "p90": pct(latencies, 0.9),
        "p99": pct(latencies, 0.99),
        "p999": pct(latencies, 0.999),
        "achieved": len(results) / seconds,
    }


async def _load(targets: list[tuple[str, float]], seconds: float, warmup: float) -> list[dict]:
    """Drive every (url, rate) target at once, so all see the same moment of the machine."""
    return list(await asyncio.gather(*(_drive_one(u, r, seconds, warmup) for u, r in targets)))


def load_main(targets: list[str], seconds: float, warmup: float) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    gc.disable()  # the generator's own pauses would show up as latency
    parsed = [(t.rsplit("@", 1)[0], float(t.rsplit("@", 1)[1])) for t in targets]
    print(json.dumps(asyncio.run(_load(parsed, seconds, warmup))))


# ---------------------------------------------------------------------------- proxy


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
        [sys.executable, __file__, "load", *args, "--seconds", str(seconds),
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
