"""Fitting the scan's calibrated scorer from scenario draws (used by the training script and
the detection benchmark's leave-one-out rows).

A model here is fitted on account frames of :mod:`.draws` -- features, finding kinds and
labels -- so retraining without a population or a tactic is a filter, not a new simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl

from distillwatch.detect.calibrated import (
    Calibration,
    feature_names,
    fit_calibration,
    score_matrix,
)
from distillwatch.evaluate.draws import make_draw

PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 8,
    "max_depth": 3,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 2.0,
    "verbose": -1,
    "seed": 0,
    "deterministic": True,
    "num_threads": 2,
}
ROUNDS = 200
#: Optional log fields the simulator always fills; a share of training rows lose them so
#: that a missing value is not read as the suspicious branch (a missing age as "young").
OPTIONAL = {"log_account_age_days": 0.25, "disposable_email": 0.25}


def draw_span(text: str) -> list[int]:
    """``"0-11"`` or ``"3,5,8"`` -> draw indices."""
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def family_frame(
    families: Path, family: str, draws: list[int], work: Path, accounts: int | None = None
) -> pl.DataFrame:
    """Accounts of the given draws of ``families/<family>.toml`` (made when missing)."""
    parts = []
    for k in draws:
        d = make_draw(families / f"{family}.toml", k, work, accounts)
        parts.append(d.accounts().with_columns(pl.lit(f"{family}-{k}").alias("draw")))
    return pl.concat(parts, how="diagonal_relaxed")


def matrix(accounts: pl.DataFrame) -> np.ndarray:
    return score_matrix(accounts, accounts["kinds"].to_list())


def labels(accounts: pl.DataFrame) -> np.ndarray:
    return accounts["attack"].fill_null(False).to_numpy().astype(bool)


def fit_model(train: pl.DataFrame) -> lgb.Booster:
    """The model on ``train``: every draw weighs the same and, inside a draw, attackers and
    honest accounts weigh the same (the score's prior comes from the calibration)."""
    x = matrix(train)
    names = list(feature_names())
    rng = np.random.default_rng(0)
    for name, share in OPTIONAL.items():
        x[rng.random(len(x)) < share, names.index(name)] = np.nan
    y = labels(train).astype(float)
    weight = np.ones(len(y))
    draws = train["draw"].to_numpy()
    for draw in np.unique(draws):
        for cls in (0.0, 1.0):
            sel = (draws == draw) & (y == cls)
            if sel.any():
                weight[sel] = 1.0 / sel.sum()
    data = lgb.Dataset(x, y, weight=weight * len(y) / weight.sum(), feature_name=names)
    return lgb.train(PARAMS, data, num_boost_round=ROUNDS)


@dataclass(frozen=True)
class Scorer:
    """A fitted model and its calibration: what the package ships."""

    booster: lgb.Booster
    calibration: Calibration

    def __call__(self, accounts: pl.DataFrame) -> np.ndarray:
        return self.calibration(np.asarray(self.booster.predict(matrix(accounts), num_threads=2)))


def fit_scorer(train: pl.DataFrame, tune: pl.DataFrame) -> Scorer:
    """Model on ``train``, isotonic calibration on ``tune`` (draws the model never saw)."""
    booster = fit_model(train)
    raw = np.asarray(booster.predict(matrix(tune), num_threads=2))
    return Scorer(booster, fit_calibration(raw, labels(tune).astype(float)))


def threshold_for(scores: np.ndarray, accounts: pl.DataFrame, fpr: float) -> float:
    """Lowest threshold (0.01 steps, from 0.5) whose false-positive rate among honest accounts
    -- flagged means score at or above it *and* distinctive evidence -- is at most ``fpr``."""
    honest = ~labels(accounts)
    distinctive = accounts["distinctive"].to_numpy()
    for t in np.arange(0.5, 1.0001, 0.01):
        if ((scores >= t) & distinctive & honest).sum() <= fpr * honest.sum():
            return round(float(t), 2)
    return 1.0
