"""The scan's score: a calibrated probability over the findings and the behaviour.

The noisy-OR of findings treated correlated evidence as independent: an LLM-as-judge service
showing "grades answers", "sweeps capability areas", "single-shot" and "fixed frames" summed
four views of one product into a near-certain score. Here one small LightGBM model reads
which findings an account has (its own and its linked component's) together with the
behavioural features, and an isotonic map fitted on other scenario draws turns its output
into a probability: among accounts scored 0.9, about nine in ten were attackers in the
held-out draws (``benchmarks/results/reliability.md``).

Both files are produced by ``scripts/train_scorer.py`` from randomised scenario draws that
contain an honest look-alike for every tactic, and shipped in ``distillwatch/data``:
``scorer.txt`` (the trees) and ``scorer-calibration.json`` (the isotonic map and the draws it
was fitted on). The score never flags on its own: see :mod:`distillwatch.detect.evidence`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar

import numpy as np
import polars as pl

from distillwatch.detect.checks import CHECKS
from distillwatch.detect.cluster import CLUSTER_CHECKS
from distillwatch.detect.evidence import SEVERITY_WEIGHT, Basis, Finding, Severity
from distillwatch.detect.learned import MODEL_FEATURES, model_matrix, model_row
from distillwatch.optional_imports import without

MODEL_FILE = "scorer.txt"
CALIBRATION_FILE = "scorer-calibration.json"

#: Behaviour the model reads besides ``learned.MODEL_FEATURES``.
EXTRA_FEATURES: tuple[str, ...] = (
    "system_share",
    "countries",
    "disposable_email",
    "prefix_recurrence",
)


@lru_cache(maxsize=1)
def finding_classes() -> dict[str, type[Finding]]:
    """Every finding class the account and cluster checks can return, by name."""
    assert CHECKS and CLUSTER_CHECKS  # imported so that every finding class is defined
    out: dict[str, type[Finding]] = {}
    todo = list(Finding.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith(("distillwatch.detect.checks", "distillwatch.detect.cluster")):
            out[cls.__name__] = cls
    return out


def distinctive_floor(kinds: Iterable[str]) -> float:
    """The noisy-OR of the distinctive findings among ``kinds``: the least a score may be."""
    classes = finding_classes()
    remaining = 1.0
    for kind in kinds:
        cls = classes.get(kind)
        if cls is not None and cls.basis is not Basis.SHARED:
            remaining *= 1.0 - SEVERITY_WEIGHT[cls.severity]
    return 1.0 - remaining


def finding_kinds() -> tuple[str, ...]:
    """Every finding class name, sorted (the model's indicator columns)."""
    return tuple(sorted(finding_classes()))


def feature_names() -> tuple[str, ...]:
    return (*MODEL_FEATURES, *EXTRA_FEATURES, *(f"has_{k}" for k in finding_kinds()))


def score_matrix(features: pl.DataFrame, kinds_per_row: Sequence[Iterable[str]]) -> np.ndarray:
    """Rows of ``features`` (with ``component_accounts`` and ``disposable_email``) and the
    kinds of each row's findings -> the model's input matrix."""
    base = model_matrix(features)
    extra = np.column_stack(
        [
            features[name].cast(pl.Float64).to_numpy()
            if name in features.columns
            else np.full(features.height, np.nan)
            for name in EXTRA_FEATURES
        ]
    )
    return np.hstack([base, extra, _indicators(kinds_per_row)])


def _indicators(kinds_per_row: Sequence[Iterable[str]]) -> np.ndarray:
    """One row per entry: 1.0 in the column of each finding kind it holds."""
    col = {k: i for i, k in enumerate(finding_kinds())}
    has = np.zeros((len(kinds_per_row), len(col)))
    for i, found in enumerate(kinds_per_row):
        for kind in found:
            j = col.get(kind)
            if j is not None:
                has[i, j] = 1.0
    return has


@dataclass(frozen=True)
class Calibration:
    """An isotonic map from the model's raw output to a probability."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        return np.interp(raw, self.x, self.y)


@dataclass(frozen=True)
class ModelScore(Finding):
    """Not evidence by itself: says which features moved the calibrated score most."""

    description: ClassVar[str] = "Calibrated score from the findings and behaviour"
    severity: ClassVar[Severity] = Severity.LOW
    probability: float
    drivers: tuple[str, ...]

    @property
    def weight(self) -> float:
        return 0.0

    def __str__(self) -> str:
        drivers = ", ".join(self.drivers) or "no single feature"
        return f"calibrated score {self.probability:.2f} (raised most by {drivers})"


@lru_cache(maxsize=1)
def load() -> tuple[Any, Calibration] | None:
    """The shipped model and its calibration, or ``None`` when none is shipped."""
    with without("sklearn"):  # its estimator wrappers: never used here, 0.8 CPU s to import
        import lightgbm as lgb

    data = resources.files("distillwatch").joinpath("data")
    model_path, cal_path = data.joinpath(MODEL_FILE), data.joinpath(CALIBRATION_FILE)
    if not model_path.is_file() or not cal_path.is_file():
        return None
    booster = lgb.Booster(model_str=model_path.read_text(encoding="utf-8"))
    if booster.num_feature() != len(feature_names()):
        return None  # trained for other checks: scripts/train_scorer.py refits it
    raw = json.loads(cal_path.read_text(encoding="utf-8"))
    return booster, Calibration(tuple(raw["x"]), tuple(raw["y"]))


#: Below this probability the score needs no explanation in the reasons.
EXPLAIN_FROM = 0.1


def calibrated_scores(
    features: pl.DataFrame, findings: Sequence[Sequence[Finding]]
) -> tuple[np.ndarray, list[list[ModelScore]]] | None:
    """Probability per row and its explanation (empty below :data:`EXPLAIN_FROM`);
    ``None`` without a shipped model."""
    loaded = load()
    if loaded is None or features.height == 0:
        return None
    booster, calibration = loaded
    x = score_matrix(features, [[f.kind for f in found] for found in findings])
    prob = calibration(booster.predict(x, num_threads=1))
    # contributions only of the rows explained (each row's are its own): nine tenths of
    # the scoring stage's model time went to rows below EXPLAIN_FROM
    explained = np.flatnonzero(prob >= EXPLAIN_FROM)
    contrib = np.zeros((len(prob), x.shape[1]))
    if len(explained):
        part = booster.predict(x[explained], pred_contrib=True, num_threads=1)
        contrib[explained] = part[:, : x.shape[1]]
    notes: list[list[ModelScore]] = [
        [_note(float(p), c)] if p >= EXPLAIN_FROM else []
        for p, c in zip(prob, contrib, strict=True)
    ]
    return np.nan_to_num(prob, nan=0.0), notes


def _note(probability: float, contrib: np.ndarray) -> ModelScore:
    """The explanation of one score: the (up to) three features that raised it most."""
    names = feature_names()
    top = np.argsort(-contrib)[:3]
    drivers = tuple(_label(names[j]) for j in top if contrib[j] > 0)
    return ModelScore(probability=round(probability, 3), drivers=drivers)


def calibrated_one(
    features: Mapping[str, Any], kinds: Iterable[str], component_accounts: int
) -> tuple[float, ModelScore | None] | None:
    """:func:`calibrated_scores` for one account's feature mapping (the online engine's
    path, on the running state it judges): probability and its explanation, ``None``
    without a shipped model."""
    loaded = load()
    if loaded is None:
        return None
    booster, calibration = loaded
    extra = [_number(features.get(name)) for name in EXTRA_FEATURES]
    row = model_row(features, component_accounts)[0]
    x = np.hstack([row, extra, _indicators([list(kinds)])[0]])[None, :]
    p = float(np.nan_to_num(calibration(booster.predict(x, num_threads=1)), nan=0.0)[0])
    if p < EXPLAIN_FROM:
        return p, None
    return p, _note(p, booster.predict(x, pred_contrib=True, num_threads=1)[0, : x.shape[1]])


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _label(name: str) -> str:
    if name.startswith("has_"):
        return "finding " + name[4:]
    return name.replace("_", " ")


def fit_calibration(raw: np.ndarray, labels: np.ndarray) -> Calibration:
    """Isotonic regression of labels on raw outputs, kept as interpolation knots."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, labels)
    xs = [float(v) for v in iso.X_thresholds_]
    ys = [float(v) for v in iso.y_thresholds_]
    if not xs or math.isnan(xs[0]):
        return Calibration((0.0, 1.0), (0.0, 1.0))
    return Calibration(tuple(xs), tuple(ys))
