"""Sharing speed: publish-to-block propagation, pull rate into the store, matcher throughput.

    .venv/bin/python benchmarks/bench_share.py [--accounts 600] [--days 3] [--objects 50000]

1. The loopback drill (``distillwatch.share.drill``): hub and members B, C as separate
   processes with separate SQLite stores, default polling (``--interval 2``); prints seconds
   from A's publish to B's first blocked request and to C's refreshed block list, and how many
   of B's campaign accounts are blocked on their first request.
2. Pull rate: ``--objects`` indicators stored at a hub (a ``share serve`` process), pulled
   by ``distillwatch.share.client.pull`` into an empty SQLite import store; objects/s.
3. Matcher: requests/s of ``Matcher.match`` over B's request stream (one core).
Results are recorded by hand in ``benchmarks/results/share.md``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

from distillwatch.share import drill
from distillwatch.share.client import Source, pull
from distillwatch.share.keyed import GroupKey
from distillwatch.share.match import Matcher
from distillwatch.share.server.store import Store


def bench_drill(tmp: Path, accounts: int, days: float, interval: float) -> None:
    r = drill.run_drill(tmp / "drill", accounts=accounts, days=days, interval=interval)
    print(f"drill: {accounts} accounts x {days} days per member, polling every {interval} s")
    print(f"  A publish -> B first blocked request: {r.propagation_s:.2f} s")
    print(f"  A publish -> C block list refreshed:  {r.c_pulled_s:.2f} s")
    print(f"  exported objects: {r.exported_objects}; B stream: {r.stream_requests} requests")
    print(
        f"  B campaign accounts blocked on first request: {r.b_blocked_first}/"
        f"{r.b_campaign_accounts} (on any request: {r.b_blocked_ever}; of those in campaigns A "
        f"shared: {r.b_shared_blocked_first}/{r.b_shared_accounts}); "
        f"B benign accounts blocked: {r.b_benign_blocked}/{r.b_benign_accounts}"
    )
    print(f"  setup: {', '.join(f'{k} {v:.1f}' for k, v in r.timings.items())}")
    matcher = Matcher.from_file(tmp / "drill" / "b" / "blocklist.json", GroupKey(drill.KEY))
    stream = drill._b_stream(
        tmp / "drill" / "b" / "sim" / "traffic.jsonl",
        drill._campaign_at_b(tmp / "drill" / "a" / "sim"),
        tmp / "drill" / "b",
    )
    started = time.perf_counter()
    for record in stream:
        matcher.match(record)
    seconds = time.perf_counter() - started
    print(
        f"matcher: {len(stream) / seconds:,.0f} requests/s ({seconds / len(stream) * 1e6:.1f} us "
        f"per request, {matcher.size} entries)"
    )


def bench_pull(tmp: Path, objects: int) -> None:
    from distillwatch.share.stixbase import member_identity

    hub_dir = tmp / "hub"
    hub_dir.mkdir()
    config = drill._hub_config(hub_dir / "hub.toml")
    hub_store = Store(f"sqlite:///{hub_dir / 'hub.sqlite'}")
    author = member_identity("member-a")["id"]
    batch = []
    for n in range(objects):
        batch.append(
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--{uuid.uuid4()}",
                "created": "2026-11-01T00:00:00.000Z",
                "modified": "2026-11-01T00:00:00.000Z",
                "created_by_ref": author,
                "name": f"proxy prefix {n}",
                "indicator_types": ["malicious-activity"],
                "pattern": f"[ipv4-addr:value ISSUBSET '100.64.{n % 256}.0/24']",
                "pattern_type": "stix",
                "valid_from": "2026-11-01T00:00:00.000Z",
                "confidence": 60,
            }
        )
    hub_store.add(drill.COLLECTION, batch, "member-a", "amber")
    hub_store.engine.dispose()
    port = drill._free_port()
    env = {**os.environ, "DISTILLWATCH_NO_PROGRESS": "1"}
    args = drill._cli("share", "serve", "--config", str(config), "--port", str(port))
    url = f"http://127.0.0.1:{port}/isac/collections/{drill.COLLECTION}/"
    with drill._process(args, hub_dir, env, port):
        for page in (1000,):
            store = Store(f"sqlite:///{tmp / f'imports-{page}.sqlite'}")
            result = pull(Source(url, "member-b", drill.PASSWORD), store, page_size=page)
            print(
                f"pull: {result.new:,} objects in {result.seconds:.2f} s = "
                f"{result.new / result.seconds:,.0f} objects/s into SQLite "
                f"({result.pages} pages of {page}, over HTTP from a share serve process)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=600)
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--objects", type=int, default=50_000)
    parser.add_argument("--interval", type=float, default=2.0, help="polling (the default)")
    parser.add_argument("--only", choices=("pull", "drill"), help="run one part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "drill":
            bench_pull(Path(tmp), args.objects)
        if args.only != "pull":
            bench_drill(Path(tmp), args.accounts, args.days, args.interval)


if __name__ == "__main__":
    main()
