"""Memory of the online engine's state per account, up to a million accounts.

    .venv/bin/python benchmarks/bench_online_memory.py [--accounts 1000000] [--requests 4]
        [--enriched PATH] [--checkpoints 10000,100000,300000,1000000] [--breakdown] [--write]

The engine keeps, per account, bounded running aggregates (:class:`ProfileState`: counters,
fixed-size sketches, capped tables), its judgement, and its entries in the link tables
(strong-key clusters, weak-key holders and partners). This bench feeds it real enriched
requests of a simulated population (seed 61, the online bench's; or ``--enriched``) and
grows the population by *replicas*: replica ``k`` is the same accounts under new ids, with
their cards, organisations and /24 prefixes made their own (``~k``; the prefix moved by
``k`` in its second and third octets), their prompts, clients and mail domains kept (what
independent tenants share), and their times moved past the previous replica's. Each account
gets its first ``--requests`` requests in time order (``0``: all of them).

At each checkpoint (a number of accounts seen) it collects garbage and reads the resident
memory of the process (``/proc/self/statm``): **bytes per account** is the growth since
the engine was empty divided by the accounts, and the marginal figure is between two
checkpoints. CPU seconds of the feeding are printed beside them. Only the engine's own
code runs; nothing of it is changed (``OnlineEngine.observe``, learned model on).
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import os
import resource
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "online-memory.md"
PAGE = os.sysconf("SC_PAGE_SIZE")


def resident() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


def population(
    enriched: Path | None, work: Path, accounts: int, days: float, limit: int
) -> list[list[dict]]:
    """Each account's first ``limit`` enriched rows (0: all) in time order, accounts in order
    of first request; only those rows are read (the rest would sit in the process's memory,
    and its reuse would hide the engine's growth)."""
    import duckdb
    import pyarrow as pa

    from distillwatch.online.replay import _COLUMNS

    if enriched is None:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_online import prepare

        enriched = prepare(work, accounts, days)
    first = (
        f"QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY ts, request_id) <= {limit}"
        if limit
        else ""
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    table = con.sql(
        f"SELECT {_COLUMNS} FROM read_parquet('{enriched}') {first} ORDER BY ts, request_id"
    ).to_arrow_table()
    con.close()
    by_account: dict[str, list[dict]] = defaultdict(list)
    for batch in table.to_batches(8192):
        for row in pa.Table.from_batches([batch]).to_pylist():
            by_account[str(row["account_id"])].append(row)
    return list(by_account.values())


def _moved_ip(ip: str, k: int) -> str:
    """The same host in another /24 for replica ``k`` (IPv6: in another /48)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if addr.version == 4:
        a, b, c, d = (int(x) for x in ip.split("."))
        return f"{a}.{(b + k) % 256}.{(c + k // 256) % 256}.{d}"
    return str(ipaddress.IPv6Address(int(addr) ^ ((k & 0xFFFF) << 80)))


def replica(rows: list[dict], k: int, shift_s: float, limit: int) -> list[dict]:
    """One account's first ``limit`` rows (0: all) as replica ``k``."""
    out = []
    for row in rows[:limit] if limit else rows:
        new: dict[str, Any] = dict(row)
        if k:
            new["account_id"] = f"{row['account_id']}~{k}"
            new["request_id"] = f"{row['request_id']}~{k}"
            for field in ("payment_fingerprint", "org_id"):
                if row.get(field):
                    new[field] = f"{row[field]}~{k}"
            if row.get("ip"):
                new["ip"] = _moved_ip(str(row["ip"]), k)
            new["ts"] = row["ts"].timestamp() + k * shift_s
        out.append(new)
    return out


def measure(
    accounts: list[list[dict]], target: int, limit: int, checkpoints: list[int]
) -> list[dict[str, float]]:
    """Feed replicas until ``target`` accounts; a figure per checkpoint."""
    from distillwatch.online import OnlineEngine

    first = min(r[0]["ts"].timestamp() for r in accounts)
    last = max(r[-1]["ts"].timestamp() for r in accounts)
    shift = last - first + 86400.0
    engine = OnlineEngine()
    gc.collect()
    base, cpu0 = resident(), time.process_time()
    seen, requests = 0, 0
    out: list[dict[str, float]] = []
    todo = sorted(c for c in checkpoints if c <= target) or [target]
    k = 0
    while seen < target:
        batch = [replica(rows, k, shift, limit) for rows in accounts[: target - seen]]
        merged = sorted((row for rows in batch for row in rows), key=_order)
        del batch
        counted: set[str] = set()
        for row in merged:
            engine.observe(row)
            requests += 1
            if row["account_id"] not in counted:
                counted.add(row["account_id"])
                seen += 1
                if todo and seen == todo[0]:
                    out.append(_figure(seen, requests, base, cpu0, out))
                    todo.pop(0)
        k += 1
    return out


def _order(row: dict) -> tuple[float, str]:
    ts = row["ts"]
    return (ts if isinstance(ts, float) else ts.timestamp(), str(row["request_id"]))


def _figure(
    seen: int, requests: int, base: int, cpu0: float, before: list[dict[str, float]]
) -> dict[str, float]:
    gc.collect()
    now = resident()
    figure = {
        "accounts": seen,
        "requests": requests,
        "grown_mb": (now - base) / 1e6,
        "per_account": (now - base) / seen,
        "cpu_s": time.process_time() - cpu0,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
    }
    if before:
        prev = before[-1]
        figure["marginal"] = (now - base - prev["grown_mb"] * 1e6) / (seen - prev["accounts"])
    print(figure, flush=True)
    return figure


def breakdown(accounts: list[list[dict]], limit: int, top: int = 8) -> str:
    """Bytes per account allocated by each source file of the engine (``tracemalloc``, one
    replica: slow, so not at scale)."""
    import tracemalloc

    from distillwatch.online import OnlineEngine

    rows = sorted((r for rows in accounts for r in replica(rows, 0, 0.0, limit)), key=_order)
    engine = OnlineEngine()
    engine.observe(rows[0])  # imports and first-use caches are not state
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for row in rows[1:]:
        engine.observe(row)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = after.compare_to(before, "filename")
    n = len(accounts)
    lines = [
        f"Allocated per account by file ({n:,} accounts, {len(rows):,} requests; "
        f"`<string>` is the dataclasses' generated `__init__`, i.e. the empty tables each new "
        f"state makes): {sum(s.size_diff for s in stats) / n:,.0f} bytes in all",
        "",
        "| file | bytes per account |",
        "|---|---:|",
    ]
    for stat in stats[:top]:
        name = stat.traceback[0].filename.split("src/")[-1]
        lines.append(f"| `{name}` | {stat.size_diff / n:,.0f} |")
    return "\n".join(lines)


def table(figures: list[dict[str, float]]) -> str:
    lines = [
        "| accounts | requests fed | state grown (MB) | bytes per account | marginal bytes "
        "per account | CPU s (feeding) | peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        marginal = f"{f['marginal']:,.0f}" if "marginal" in f else "-"
        lines.append(
            f"| {f['accounts']:,} | {f['requests']:,} | {f['grown_mb']:,.0f} "
            f"| {f['per_account']:,.0f} | {marginal} | {f['cpu_s']:,.0f} | {f['peak_mb']:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=4, help="per account; 0: all")
    parser.add_argument("--enriched", type=Path, help="an enriched Parquet file to replicate")
    parser.add_argument("--population", type=int, default=1000, help="simulated accounts")
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--checkpoints", default="10000,30000,100000,300000,1000000")
    parser.add_argument("--work", type=Path, default=Path("/tmp/distillwatch-online-bench"))
    parser.add_argument("--write", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument(
        "--breakdown", action="store_true", help="also bytes per account by file (tracemalloc)"
    )
    args = parser.parse_args()
    accounts = population(args.enriched, args.work, args.population, args.days, args.requests)
    checkpoints = [int(c) for c in args.checkpoints.split(",") if c]
    figures = measure(accounts, args.accounts, args.requests, checkpoints)
    text = table(figures)
    if args.breakdown:
        text += "\n\n" + breakdown(accounts, args.requests)
    print(text)
    if args.write:
        command = (
            f".venv/bin/python benchmarks/bench_online_memory.py --accounts {args.accounts} "
            f"--requests {args.requests}"
        )
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Online memory\n"
        RESULTS.write_text(
            f"{old.rstrip()}\n\n## {stamp}\n\n```\n{command}\n```\n\n{text}\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
