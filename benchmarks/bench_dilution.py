"""A hydra's verdict diluted by settled accounts on its card: how many decoys undo it.

A linked group is judged on its *typical* member (``detect/cluster.py``: fresh share,
networks per member, exits that come back), which keeps a family, a class or a phone app's
users from reading as a proxy pool. The price: accounts that look settled -- old, at home,
chatting -- joined to a campaign lower its typical member. An operator who buys aged
accounts and puts the hydra's card on them joins them to it on purpose.

This bench takes train draw 0 (its ``hydra-a``: 17 new accounts on one card, all flagged;
``--draw``/``--campaign`` for another), puts the hydra's commonest card on ``N`` aged casual
accounts of the same world (signed up 30 days or more before their first request, ten
requests or more; their own traffic unchanged), scans with the rules (``learned=False``)
and prints how many hydra accounts and decoys are flagged for each ``N``. Command (about 3
minutes per N on 2 cores, plus the draw's simulation the first time)::

    DISTILLWATCH_NO_PROGRESS=1 .venv/bin/python benchmarks/bench_dilution.py --decoys 0,10,20
"""

from __future__ import annotations

import argparse
import io
import json
import random
from collections import Counter
from datetime import datetime
from pathlib import Path

import zstandard

from distillwatch.evaluate.draws import make_draw
from distillwatch.scan import run_scan

HERE = Path(__file__).resolve().parent
FAMILY = HERE / "scenarios" / "families" / "train.toml"
CAMPAIGN = "hydra-a"


def records(path: Path) -> list[dict]:
    with path.open("rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for line in text]


def aged_accounts(recs: list[dict], accounts: set[str], days: float = 30.0) -> set[str]:
    """The accounts among ``accounts`` that signed up at least ``days`` before their first
    request (a bought aged account; accounts of unknown age are left out)."""
    first: dict[str, tuple[str, str]] = {}
    for r in recs:
        a = r["account_id"]
        if a in accounts and r.get("account_created") and (a not in first or r["ts"] < first[a][0]):
            first[a] = (r["ts"], r["account_created"])
    return {
        a
        for a, (ts, created) in first.items()
        if (datetime.fromisoformat(ts) - datetime.fromisoformat(created)).days >= days
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoys", default="0,10,20", help="numbers of decoy accounts")
    parser.add_argument("--work", type=Path, default=Path("/tmp/distillwatch-draws"))
    parser.add_argument("--draw", type=int, default=0, help="train-family draw")
    parser.add_argument("--campaign", default=CAMPAIGN, help="the hydra campaign's id")
    args = parser.parse_args()
    draw = make_draw(FAMILY, args.draw, args.work)
    labels = [json.loads(line) for line in (draw.sim / "labels.jsonl").open()]
    hydra = {r["account_id"] for r in labels if r.get("campaign_id") == args.campaign}
    casual = {r["account_id"] for r in labels if r.get("population") == "casual"}
    recs = records(draw.sim / "traffic.jsonl.zst")
    # the card most of the hydra's accounts pay with (accounts, not requests)
    holders = {
        (r["account_id"], r.get("payment_fingerprint")) for r in recs if r["account_id"] in hydra
    }
    card = Counter(fp for _, fp in holders)
    hydra_card = card.most_common(1)[0][0]
    sent = Counter(r["account_id"] for r in recs if r["account_id"] in casual)
    aged = sorted(a for a in casual if sent[a] >= 10 and a in aged_accounts(recs, casual))
    print(
        f"train draw {args.draw}, {args.campaign}: {len(hydra)} accounts, "
        f"{card[hydra_card]} of them on card {hydra_card}; {len(aged)} aged casual accounts"
    )
    print(
        "| decoys on the card | hydra accounts flagged | decoys flagged "
        "| a hydra account's first reason |"
    )
    print("|---:|---:|---:|---|")
    for n in (int(x) for x in args.decoys.split(",")):
        decoys = set(random.Random(1).sample(aged, n))
        work = args.work / f"dilution-{args.draw}-{args.campaign}-{n}"
        work.mkdir(parents=True, exist_ok=True)
        log = work / "traffic.jsonl"
        with log.open("w") as out:
            for r in recs:
                row = dict(r, payment_fingerprint=hydra_card) if r["account_id"] in decoys else r
                out.write(json.dumps(row) + "\n")
        run_scan([log], work / "scan", learned=False)
        rows = [json.loads(line) for line in (work / "scan" / "accounts.jsonl").open()]
        flagged_hydra = sum(r["flagged"] for r in rows if r["account_id"] in hydra)
        flagged_decoys = sum(r["flagged"] for r in rows if r["account_id"] in decoys)
        first = next(r for r in rows if r["account_id"] in hydra)["reasons"][0]
        print(f"| {n} | {flagged_hydra} of {len(hydra)} | {flagged_decoys} | {first} |", flush=True)
        log.unlink()


if __name__ == "__main__":
    main()
