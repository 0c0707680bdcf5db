"""What the ``newcomer_agent`` link adds: the scan of scenario draws with and without it.

    .venv/bin/python benchmarks/bench_newcomer_link.py --heldout 45-47
    .venv/bin/python benchmarks/bench_newcomer_link.py --family train --draws 0-2

Each draw is simulated and enriched once (``evaluate.draws.make_draw``, reused from
``--work``), then detected twice on the same enriched file with the shipped model: once as
``scan`` runs, once with :func:`distillwatch.detect.newcomers.with_newcomer_agents` replaced
by the identity. Prints flagged accounts per group, pooled over the draws.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import polars as pl

import distillwatch.scan as scan
from distillwatch.evaluate.draws import make_draw
from distillwatch.evaluate.training import draw_span
from distillwatch.ingest.summary import IngestSummary

FAMILIES = Path(__file__).resolve().parent / "scenarios" / "families"


def flagged_by_group(sim: Path, out: Path) -> pl.DataFrame:
    labels = pl.read_ndjson(sim / "labels.jsonl").with_columns(
        pl.coalesce("population", "tactic").alias("group")
    )
    rows = [json.loads(line) for line in (out / "accounts.jsonl").open()]
    flags = pl.DataFrame(
        {
            "account_id": [r["account_id"] for r in rows],
            "flagged": [bool(r["flagged"]) for r in rows],
        }
    )
    return (
        labels.join(flags, on="account_id")
        .group_by("label", "group")
        .agg(pl.len().alias("accounts"), pl.col("flagged").sum())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="heldout")
    parser.add_argument("--heldout", "--draws", dest="draws", default="45-47")
    parser.add_argument("--work", type=Path, default=Path("/tmp/distillwatch-draws"))
    args = parser.parse_args()
    shipped = scan.with_newcomer_agents
    totals: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(dict)
    for k in draw_span(args.draws):
        draw = make_draw(FAMILIES / f"{args.family}.toml", k, args.work)
        for name, link in (("without", lambda keys, *_: keys), ("with", shipped)):
            scan.with_newcomer_agents = link
            out = draw.scan.parent / f"newcomer-{name}"
            enriched = draw.scan / "_work" / "enriched.parquet"
            scan.detect_enriched(enriched, out, [str(draw.sim)], IngestSummary())
            for label, group, accounts, flagged in flagged_by_group(draw.sim, out).iter_rows():
                seen = totals[(label, group)].setdefault(name, [0, 0])
                seen[0] += accounts
                seen[1] += flagged
        scan.with_newcomer_agents = shipped
        print(f"{args.family} draw {k} done", flush=True)
    print("| kind | group | accounts | flagged without | flagged with |")
    print("|---|---|---:|---:|---:|")
    for (label, group), by in sorted(totals.items()):
        n = by["with"][0]
        print(f"| {label} | {group} | {n} | {by['without'][1]} | {by['with'][1]} |")


if __name__ == "__main__":
    main()
