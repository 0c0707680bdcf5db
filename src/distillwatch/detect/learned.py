"""The online engine's learned scorer beside the rules, with its own reasons.

The rules say *why*; the model catches combinations of weak evidence no rule spells out. It is
a small LightGBM model trained by ``scripts/train_scorer.py --online`` on simulator output
(seeds that evaluation never uses) and shipped as text in
``distillwatch/data/scorer-online.txt``; the scan's own score is :mod:`.calibrated`, which
reuses :data:`MODEL_FEATURES` and :func:`model_matrix` from here. Only features
that describe behaviour -- shares, entropies, diversity, timing -- are used, not raw sizes
that depend on one simulator's token counts, so that it transfers to other traffic.

Its output enters the score as one more finding, :class:`LearnedResemblance`, whose weight
grows with the model's probability and whose text names the features that pushed it up
(LightGBM's per-feature contributions), so an analyst can check it like any other reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar

import numpy as np
import polars as pl

from distillwatch.detect.evidence import Finding, Severity

#: The behavioural features the model reads (all present in ``group_features`` output).
MODEL_FEATURES: tuple[str, ...] = (
    "active_hours_of_day",
    "gap_cv",
    "fast_gap_share",
    "capabilities",
    "capability_entropy",
    "capability_top_share",
    "languages",
    "language_entropy",
    "cot_share",
    "grading_share",
    "sensitive_share",
    "logprob_share",
    "tiny_max_tokens_share",
    "multi_n_share",
    "temp0_share",
    "multi_turn_share",
    "tools_share",
    "tool_results_mean",
    "new_model_share",
    "hour_of_day_entropy",
    "log_requests",
    "log_account_age_days",
    "template_ratio",
    "sketch_ratio",
    "asns",
    "ip24s",
    "component_accounts",
    "wrapper_frames",
)

#: The online engine's model, fitted to the snapshots the engine judges (after 10, 11, 12, ...
#: requests): early features read differently (``scripts/train_scorer.py --online``).
ONLINE_MODEL_FILE = "scorer-online.txt"


def model_matrix(features: pl.DataFrame) -> np.ndarray:
    """The model's input matrix from account features (plus ``component_accounts``)."""
    derived = features.with_columns(
        pl.col("requests").cast(pl.Float64).log1p().alias("log_requests"),
        pl.col("account_age_days").clip(lower_bound=0).log1p().alias("log_account_age_days"),
        (pl.col("templates") / pl.col("requests")).alias("template_ratio"),
        (pl.col("sketches") / pl.col("requests")).alias("sketch_ratio"),
    )
    if "component_accounts" not in derived.columns:
        derived = derived.with_columns(pl.lit(1).alias("component_accounts"))
    return derived.select(MODEL_FEATURES).cast(pl.Float64).to_numpy()


@dataclass(frozen=True)
class LearnedResemblance(Finding):
    description: ClassVar[str] = "Behaviour resembles known distillation accounts"
    severity: ClassVar[Severity] = Severity.MEDIUM
    probability: float
    drivers: tuple[str, ...]

    @property
    def weight(self) -> float:
        # alone it flags only when the model is very sure (p >= ~0.85 at threshold 0.5)
        return 0.6 * self.probability

    def __str__(self) -> str:
        return (
            f"behaviour resembles distillation accounts (model probability "
            f"{self.probability:.2f}; driven by {', '.join(self.drivers)})"
        )


@lru_cache(maxsize=2)
def load_model(name: str = ONLINE_MODEL_FILE) -> Any:
    """A packaged model, or ``None`` when none is shipped (rules only)."""
    import lightgbm as lgb

    path = resources.files("distillwatch").joinpath(f"data/{name}")
    if not path.is_file():
        return None
    model = lgb.Booster(model_str=path.read_text(encoding="utf-8"))
    if model.num_feature() != len(MODEL_FEATURES):
        raise RuntimeError(
            f"{path} was trained on {model.num_feature()} features but MODEL_FEATURES lists "
            f"{len(MODEL_FEATURES)}: retrain it with scripts/train_scorer.py"
        )
    return model


def model_row(features: Mapping[str, Any], component_accounts: int) -> np.ndarray:
    """:func:`model_matrix` for one account's feature mapping (the online engine's path)."""

    def value(name: str) -> float:
        v = features.get(name)
        return math.nan if v is None else float(v)

    requests = value("requests")
    derived = {
        "log_requests": math.log1p(requests),
        "log_account_age_days": math.log1p(max(value("account_age_days"), 0.0)),
        "template_ratio": value("templates") / requests if requests else math.nan,
        "sketch_ratio": value("sketches") / requests if requests else math.nan,
        "component_accounts": float(component_accounts),
    }
    return np.array([[derived[n] if n in derived else value(n) for n in MODEL_FEATURES]])


def findings_from_matrix(
    x: np.ndarray, min_probability: float = 0.5, model: str = ONLINE_MODEL_FILE
) -> list[list[Finding]]:
    """One list per row of a :func:`model_matrix`; empty lists when no model is shipped."""
    booster = load_model(model)
    if booster is None:
        return [[] for _ in range(len(x))]
    # one thread: the rows are few and OpenMP start-up would cost more than the trees
    prob = booster.predict(x, num_threads=1)
    out: list[list[Finding]] = [[] for _ in range(len(x))]
    hits = [i for i, p in enumerate(prob) if p >= min_probability and not math.isnan(p)]
    if not hits:
        return out
    contrib = booster.predict(x[hits], pred_contrib=True, num_threads=1)[:, : len(MODEL_FEATURES)]
    for i, c in zip(hits, contrib, strict=True):
        top = np.argsort(-c)[:3]
        drivers = tuple(MODEL_FEATURES[j].replace("_", " ") for j in top if c[j] > 0)
        out[i] = [LearnedResemblance(probability=round(float(prob[i]), 3), drivers=drivers)]
    return out
