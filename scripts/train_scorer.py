"""Train the learned account scorer (``distillwatch/data/scorer.txt``) on simulator output.

    .venv/bin/python scripts/train_scorer.py --seeds 11 3 --work /tmp/dw-train

For each training seed it simulates a week of traffic (unless ``WORK/simS`` exists), scans it
(unless ``WORK/scanS/features.parquet`` exists), and joins the scan's account features with
the simulator's labels. Evaluation must use other seeds (``make detection-bench`` uses 23):
a model judged on the traffic it was fitted to proves nothing.

The model is deliberately small (shallow trees, few rounds, strong leaf minimums) so that it
learns broad behavioural contrasts rather than one simulator's exact numbers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl

from distillwatch.detect.learned import MODEL_FEATURES, MODEL_FILE, model_matrix
from distillwatch.scan import run_scan
from distillwatch.simulate import load_scenario, simulate

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "distillwatch" / "data" / MODEL_FILE
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


def training_frame(work: Path, seed: int, accounts: int, days: float) -> pl.DataFrame:
    """Features joined with labels for one simulated week."""
    sim, scan = work / f"sim{seed}", work / f"scan{seed}"
    if not (sim / "labels.jsonl").exists():
        simulate(load_scenario(seed=seed, accounts=accounts, days=days), sim)
    if not (scan / "features.parquet").exists():
        # features do not depend on the model: score with the rules, so a stale model file
        # (trained on another feature list) cannot get in the way
        run_scan([sim], scan, learned=False)
    features = pl.read_parquet(scan / "features.parquet")
    labels = pl.read_ndjson(sim / "labels.jsonl").select("account_id", "label")
    return features.join(labels, on="account_id", how="inner")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 3])
    parser.add_argument("--work", type=Path, default=Path("/tmp/distillwatch-train"))
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    frames = [training_frame(args.work, s, args.accounts, args.days) for s in args.seeds]
    data = pl.concat(frames, how="diagonal_relaxed")
    x = model_matrix(data)
    y = (data["label"] == "attack").to_numpy().astype(np.float64)
    # benign accounts outnumber attackers ~7:1; weigh classes equally so the model does not
    # learn "always benign", and let the score's threshold set the operating point
    weight = np.where(y == 1.0, (y == 0).sum() / max((y == 1).sum(), 1), 1.0)
    booster = lgb.train(
        PARAMS,
        lgb.Dataset(x, y, weight=weight, feature_name=list(MODEL_FEATURES)),
        num_boost_round=ROUNDS,
    )
    args.out.write_text(booster.model_to_string(), encoding="utf-8")
    gain = booster.feature_importance("gain")
    order = np.argsort(-gain)
    print(f"trained on seeds {args.seeds}: {len(y):,} accounts, {int(y.sum()):,} attack")
    for i in order[:10]:
        print(f"  {MODEL_FEATURES[i]:24s} gain {gain[i]:10.1f}")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
