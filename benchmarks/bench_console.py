"""Benchmark the analyst console's pages with a large store.

    .venv/bin/python benchmarks/bench_console.py [--accounts 100000] [--campaigns 1000]
        [--db postgresql://postgres@127.0.0.1:5432/test] [--rounds 30] [--write]

Writes a synthetic scan directory (``--accounts`` accounts, ``--campaigns`` flagged campaigns
of 20 accounts each with a link graph of all their 190 pairs, one more campaign of 400
accounts with the largest graph a scan lists -- 300 links, 400 accounts drawn --, 2,000
flagged accounts outside them, 8 samples per campaign, a 7-day hourly timeline per campaign),
imports it with ``distillwatch.review.importer.import_scan``
(timed), then requests each page through the full ASGI app (security headers, session
check, queries, template) in process: the overview, random campaign pages, random account
pages, the case list and the audit log, ``--rounds`` times each. Reports p50 / p95 / max
milliseconds per page, wall and CPU; the target is p95 under 300 ms. ``--db`` benchmarks a
PostgreSQL store (in a fresh schema, dropped afterwards) instead of a SQLite file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import sqlalchemy as sa
from starlette.testclient import TestClient

from distillwatch.report.scandir import TIMELINE_SCHEMA
from distillwatch.review.app import create_app
from distillwatch.review.auth import add_user
from distillwatch.review.importer import import_scan
from distillwatch.review.store import Store, database_url

RESULTS = Path(__file__).resolve().parent / "results" / "console.md"
START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
MEMBERS = 20
LOOSE = 2000
BIG, BIG_ID, BIG_LINKS = 400, "C-0000b16b", 300
KINDS = ["payment_fingerprint", "template", "ip_prefix", "user_agent", "email_domain"]


def _iso(hours: float) -> str:
    return (START + dt.timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def write_scan(out: Path, accounts: int, campaigns: int, rng: random.Random) -> None:
    out.mkdir(parents=True, exist_ok=True)
    kinds = ["shared_payment", "cot_share", "proxy_rotation", "disposable_email", "grading_share"]
    rows: list[dict[str, Any]] = []
    members: dict[str, list[str]] = {}
    for i in range(accounts):
        cid = f"C-{i // MEMBERS:08x}" if i < campaigns * MEMBERS else None
        cid = BIG_ID if i >= accounts - BIG else cid
        flagged = cid is not None or i < campaigns * MEMBERS + LOOSE
        score = rng.uniform(0.85, 1.0) if flagged else rng.uniform(0.0, 0.6)
        picked = rng.sample(kinds, 2) if flagged else []
        rows.append(
            {
                "account_id": f"acct_{i:07d}",
                "score": round(score, 4),
                "flagged": flagged,
                "distinctive": flagged,
                "campaign_id": cid,
                "reasons": [f"{k} evidence" for k in picked],
                "requests": rng.randint(5, 500),
                "first_seen": _iso(rng.uniform(0, 80)),
                "last_seen": _iso(rng.uniform(90, 167)),
                "findings": [
                    {
                        "kind": k,
                        "severity": "high",
                        "text": f"{k} seen",
                        "tactic": None,
                        "basis": "fraud",
                    }
                    for k in picked
                ],
            }
        )
        if cid:
            members.setdefault(cid, []).append(rows[-1]["account_id"])
    (out / "accounts.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    camps, samples, graphs = [], [], []
    timeline: list[tuple[dt.datetime, str | None, bool, int]] = []
    for cid, accs in members.items():
        if cid == BIG_ID:  # a random tree over 301 of its accounts
            pairs = [(accs[k], accs[rng.randrange(k)]) for k in range(1, BIG_LINKS + 1)]
        else:
            pairs = [(a, b) for i, a in enumerate(accs) for b in accs[i + 1 :]]
        edges = [
            {"a": a, "b": b, "kinds": rng.sample(KINDS, 2), "confidence": rng.uniform(0.6, 1)}
            for a, b in pairs
        ]
        graphs.append({"campaign_id": cid, "edges": edges, "dropped": 0})
        camps.append(
            {
                "campaign_id": cid,
                "accounts": accs,
                "score": 0.95,
                "first_seen": _iso(0),
                "last_seen": _iso(167),
                "requests": 5000,
                "tactics": ["hydra_cluster"],
                "capabilities": {"reasoning": 0.6, "coding": 0.4},
                "indicators": {"ip_prefixes": ["203.0.113.0/24"], "asns": [64500]},
                "links": {"payment_fingerprint": MEMBERS - 1},
                "reasons": ["shares a card"],
            }
        )
        samples += [
            {
                "campaign_id": cid,
                "account_id": accs[k],
                "ts": _iso(k),
                "capability": "coding",
                "cot_elicit": True,
                "grading_request": False,
                "language": "en",
                "prompt": "Explain step by step " * 10,
            }
            for k in range(8)
        ]
        timeline += [(START + dt.timedelta(hours=h), cid, True, 30) for h in range(168)]
    timeline += [(START + dt.timedelta(hours=h), None, False, 5000) for h in range(168)]
    (out / "campaigns.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in camps))
    (out / "samples.jsonl").write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in samples))
    (out / "link_graph.jsonl").write_bytes(b"".join(orjson.dumps(g) + b"\n" for g in graphs))
    pl.DataFrame(
        timeline,
        schema=TIMELINE_SCHEMA,
        orient="row",
    ).write_parquet(out / "timeline.parquet")
    summary = {"scan_version": "1", "threshold": 0.5, "time_span": [_iso(0), _iso(167)]}
    (out / "summary.json").write_bytes(orjson.dumps(summary))


def _login(client: TestClient) -> None:
    import re

    page = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    form = {"csrf": token.group(1), "name": "bench", "password": "benchmark password"}
    assert client.post("/login", data=form).status_code == 303


Times = tuple[list[float], list[float]]


def measure(client: TestClient, paths: list[str]) -> Times:
    """Wall and CPU milliseconds per request. The app runs in this process (the test client's
    thread), so the process's CPU time over one request is that request's work, whatever else
    the machine is doing; wall time also counts waits for a core."""
    times, cpu = [], []
    for path in paths:
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return times, cpu


def run(args: argparse.Namespace) -> tuple[list[tuple[str, Times]], dict[str, Any]]:
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    scan = tmp / "scan"
    write_scan(scan, args.accounts, args.campaigns, rng)
    schema = None
    if args.db:
        schema = f"console_bench_{uuid.uuid4().hex[:8]}"
        with sa.create_engine(database_url(args.db)).begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    store = Store(args.db or str(tmp / "console.db"), schema=schema)
    try:
        t0 = time.perf_counter()
        imported = import_scan(store, scan, "bench")
        import_s = time.perf_counter() - t0
        with store.begin() as conn:
            add_user(conn, store.t, "bench", "bench", "analyst", "benchmark password")
        client = TestClient(create_app(store), follow_redirects=False)
        _login(client)
        n = args.rounds
        cids = [f"C-{rng.randrange(args.campaigns):08x}" for _ in range(n)]
        accts = [f"acct_{rng.randrange(args.accounts):07d}" for _ in range(n)]
        measure(client, ["/", f"/campaigns/{imported.scan_id}/{cids[0]}", f"/accounts/{accts[0]}"])
        pages = [
            ("overview", measure(client, ["/"] * n)),
            ("overview, page 10 of flagged", measure(client, ["/?page=10"] * n)),
            ("campaign", measure(client, [f"/campaigns/{imported.scan_id}/{c}" for c in cids])),
            (
                f"campaign of {BIG} accounts, {BIG_LINKS}-link graph",
                measure(client, [f"/campaigns/{imported.scan_id}/{BIG_ID}"] * n),
            ),
            ("account", measure(client, [f"/accounts/{a}" for a in accts])),
            ("cases", measure(client, ["/cases"] * n)),
            ("audit log", measure(client, ["/audit"] * n)),
        ]
        facts = {"import_s": import_s, "cases": imported.cases_opened, "flagged": imported.flagged}
    finally:
        store.close()
        if schema:
            with sa.create_engine(database_url(args.db)).begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    return pages, facts


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def report(args: argparse.Namespace, pages: list, facts: dict[str, Any]) -> str:
    store = "PostgreSQL 127.0.0.1" if args.db else "SQLite file"
    lines = [
        f"{args.accounts:,} accounts, {args.campaigns:,} campaigns, {facts['flagged']:,} flagged,"
        f" {facts['cases']:,} cases opened; store: {store}; import {facts['import_s']:.1f} s",
        "",
        "| page | p50 ms | p95 ms | max ms | CPU p50 ms | CPU p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, (times, cpu) in pages:
        lines.append(
            f"| {name} | {statistics.median(times):.1f} | {p95(times):.1f} | {max(times):.1f} "
            f"| {statistics.median(cpu):.1f} | {p95(cpu):.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--campaigns", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--db", help="a postgresql:// URL (default: a SQLite file)")
    ap.add_argument("--write", action="store_true", help=f"append the table to {RESULTS}")
    args = ap.parse_args()
    pages, facts = run(args)
    table = report(args, pages, facts)
    print(table)
    if args.write:
        command = "python benchmarks/bench_console.py " + " ".join(sys.argv[1:])
        with RESULTS.open("a") as fh:
            fh.write(f"\n## `{command.replace(' --write', '')}`\n\n{table}\n")


if __name__ == "__main__":
    main()
