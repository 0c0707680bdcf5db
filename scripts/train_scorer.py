"""Train the online engine's learned scorer (``distillwatch/data/scorer-online.txt``).

    .venv/bin/python scripts/train_scorer.py --online --seeds 11 3 5 13 17 19 --work /tmp/dw-train

The scan's scorer is a calibrated model over findings and features, trained on scenario-family
draws by ``scripts/train_calibrated.py``; this script no longer writes it.

For each training seed it simulates a week of traffic (unless ``WORK/simS`` exists), scans it
(unless ``WORK/scanS/features.parquet`` exists), and joins the scan's account features with
the simulator's labels. Evaluation must use other seeds (``make detection-bench`` uses 23):
a model judged on the traffic it was fitted to proves nothing.

``--online`` trains the online engine's scorer (``scorer-online.txt``) instead. The scan judges
an account on its whole week; the engine judges it after 10, 11, 12, ... requests, when an
account's shares and entropies rest on little and look different (a person's hour-of-day
entropy after two evenings is low whatever the person). A model fitted to whole weeks reads
those early snapshots poorly, so this one is fitted to them: the week is replayed through
the engine (rules only) and each account's features are taken at every point of the
engine's judgement schedule, each snapshot weighted by the requests it would govern until
the next one (normalised so that every account weighs the same in total). It is trained on
six seeds rather than two: each simulated week holds one reseller-mixing account, and two
examples were too few to learn it early (largest leak on seed 31: 22% with two, 19% with six).

The models are deliberately small (shallow trees, few rounds, strong leaf minimums) so that it
learns broad behavioural contrasts rather than one simulator's exact numbers.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl

from distillwatch.detect.learned import (
    MODEL_FEATURES,
    ONLINE_MODEL_FILE,
    model_row,
)
from distillwatch.online.engine import FIRST_JUDGEMENT, OnlineEngine, next_judgement
from distillwatch.online.replay import ordered_rows
from distillwatch.scan import run_scan
from distillwatch.simulate import load_scenario, simulate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "distillwatch" / "data"
PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 8,
    "max_depth": 3,
    "min_data_in_leaf": 25,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "seed": 0,
    "deterministic": True,
    "num_threads": 2,
}
ROUNDS = 150


def simulated(work: Path, seed: int, accounts: int, days: float) -> tuple[Path, Path]:
    """(simulation dir, scan dir) of one simulated week, made unless already there."""
    sim, scan = work / f"sim{seed}", work / f"scan{seed}"
    if not (sim / "labels.jsonl").exists():
        simulate(load_scenario(seed=seed, accounts=accounts, days=days), sim)
    if not (scan / "_work" / "enriched.parquet").exists():
        # features do not depend on the model: score with the rules, so a stale model file
        # (trained on another feature list) cannot get in the way
        run_scan([sim], scan, learned=False, keep_work=True)
    return sim, scan


def labels_of(sim: Path) -> dict[str, float]:
    labels = pl.read_ndjson(sim / "labels.jsonl").select("account_id", "label")
    return {a: float(lab == "attack") for a, lab in labels.iter_rows()}


def online_frame(work: Path, seed: int, accounts: int, days: float) -> TrainingSet:
    """Snapshots of each account's features on the engine's judgement schedule."""
    sim, scan = simulated(work, seed, accounts, days)
    labels = labels_of(sim)
    engine = OnlineEngine(learned=False)
    due: dict[str, int] = {}
    rows: list[np.ndarray] = []
    owner: list[str] = []
    governs: list[float] = []
    for row in ordered_rows(scan / "_work" / "enriched.parquet"):
        engine.observe(row)
        account = str(row["account_id"])
        state = engine.accounts[account].state
        if state.requests < due.get(account, FIRST_JUDGEMENT):
            continue
        due[account] = next_judgement(state.requests)
        cluster = engine.clusters.clusters.get(engine.clusters.find(account))
        rows.append(model_row(state.features(), len(cluster.members) if cluster else 1)[0])
        owner.append(account)
        governs.append(float(due[account] - state.requests))
    per_account: dict[str, float] = {}
    for account, g in zip(owner, governs, strict=True):
        per_account[account] = per_account.get(account, 0.0) + g
    weight = np.array([g / per_account[a] for a, g in zip(owner, governs, strict=True)])
    y = np.array([labels.get(a, 0.0) for a in owner])
    return TrainingSet(np.vstack(rows), y, weight)


@dataclass
class TrainingSet:
    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray


#: Optional traffic log v1 fields the simulator always fills, and the share of training rows
#: that lose them: without this the model never sees them missing and sends a missing value
#: down whichever branch is the default -- for account age, "young", which is suspicious.
OPTIONAL = {"log_account_age_days": 0.25}


def train(sets: list[TrainingSet]) -> lgb.Booster:
    x = np.vstack([t.x for t in sets])
    rng = np.random.default_rng(0)
    for name, share in OPTIONAL.items():
        x[rng.random(len(x)) < share, MODEL_FEATURES.index(name)] = np.nan
    y = np.concatenate([t.y for t in sets])
    weight = np.concatenate([t.weight for t in sets])
    # benign accounts outnumber attackers ~7:1; weigh classes equally so the model does not
    # learn "always benign", and let the score's threshold set the operating point
    attack, benign = weight[y == 1.0].sum(), weight[y == 0.0].sum()
    weight = np.where(y == 1.0, weight * benign / max(attack, 1e-9), weight)
    return lgb.train(
        PARAMS,
        lgb.Dataset(x, y, weight=weight, feature_name=list(MODEL_FEATURES)),
        num_boost_round=ROUNDS,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 3])
    parser.add_argument("--work", type=Path, default=Path("/tmp/distillwatch-train"))
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--out", type=Path, default=None, help="default: the packaged file")
    parser.add_argument("--online", action="store_true", help="train the online engine's model")
    args = parser.parse_args()

    if not args.online:
        parser.error("the scan's scorer is trained by scripts/train_calibrated.py; use --online")
    make = online_frame
    out = args.out or DATA / ONLINE_MODEL_FILE
    sets = [make(args.work, s, args.accounts, args.days) for s in args.seeds]
    booster = train(sets)
    out.write_text(booster.model_to_string(), encoding="utf-8")
    gain = booster.feature_importance("gain")
    order = np.argsort(-gain)
    rows, attack = sum(len(t.y) for t in sets), int(sum(t.y.sum() for t in sets))
    kind = "snapshots" if args.online else "accounts"
    print(f"trained on seeds {args.seeds}: {rows:,} {kind}, {attack:,} of them attack")
    for i in order[:10]:
        print(f"  {MODEL_FEATURES[i]:24s} gain {gain[i]:10.1f}")
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
