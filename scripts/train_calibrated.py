"""Train the scan's calibrated scorer on randomised scenario draws.

    .venv/bin/python scripts/train_calibrated.py --train 0-11 --tune 0-5 --work /tmp/dw-draws

1. Each draw of ``benchmarks/scenarios/families/train.toml`` (and ``tune.toml``) is simulated
   and scanned once with the rules (``distillwatch.evaluate.draws``); every family holds an
   honest look-alike population for every tactic and draws every number from wide ranges.
2. A small LightGBM model is fitted on the *train* draws: the behavioural features plus which
   findings each account has (``distillwatch.detect.calibrated.score_matrix``).
3. An isotonic map from its output to a probability is fitted on the *tune* draws, which the
   model never saw, so that a score of 0.9 means about nine attackers in ten there.
4. The threshold for ``--target-fpr`` on the tune draws (flagged = score at or above it and
   distinctive evidence) is printed; ``DEFAULT_THRESHOLD`` in ``detect/score.py`` is set from
   it by hand.

``heldout.toml`` draws are never read here: ``benchmarks/bench_detection.py`` measures on them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from distillwatch.detect.calibrated import CALIBRATION_FILE, MODEL_FILE, feature_names
from distillwatch.evaluate.training import draw_span, family_frame, fit_scorer, threshold_for

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "distillwatch" / "data"
FAMILIES = ROOT / "benchmarks" / "scenarios" / "families"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="0-11", help="train-family draws, e.g. 0-11")
    parser.add_argument("--tune", default="0-5", help="tune-family draws")
    parser.add_argument("--work", type=Path, default=Path("/tmp/distillwatch-draws"))
    parser.add_argument("--accounts", type=int, default=None, help="override each draw's size")
    parser.add_argument("--target-fpr", type=float, default=0.001)
    args = parser.parse_args()

    train = family_frame(FAMILIES, "train", draw_span(args.train), args.work, args.accounts)
    tune = family_frame(FAMILIES, "tune", draw_span(args.tune), args.work, args.accounts)
    scorer = fit_scorer(train, tune)
    (DATA / MODEL_FILE).write_text(scorer.booster.model_to_string(), encoding="utf-8")
    calibration = {
        "x": list(scorer.calibration.x),
        "y": list(scorer.calibration.y),
        "trained_on": f"train.toml draws {args.train}",
        "calibrated_on": f"tune.toml draws {args.tune}",
    }
    (DATA / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=1) + "\n", "utf-8")
    t = threshold_for(scorer(tune), tune, args.target_fpr)
    print(f"trained on {train.height:,} accounts ({int(train['attack'].sum()):,} attack)")
    print(f"calibrated on {tune.height:,} accounts; threshold for FPR <= {args.target_fpr}: {t}")
    gain = scorer.booster.feature_importance("gain")
    names = feature_names()
    for i in np.argsort(-gain)[:12]:
        print(f"  {names[i]:32s} gain {gain[i]:10.1f}")


if __name__ == "__main__":
    main()
