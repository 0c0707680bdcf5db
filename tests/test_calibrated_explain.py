"""The calibrated score's explanations: contributions computed for the explained rows only
give the notes that contributions of every row gave."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from distillwatch.detect import calibrated
from distillwatch.detect.calibrated import (
    EXPLAIN_FROM,
    EXTRA_FEATURES,
    ModelScore,
    calibrated_scores,
    feature_names,
    finding_classes,
    finding_kinds,
    score_matrix,
)
from distillwatch.detect.learned import MODEL_FEATURES


class _Kind:
    """A finding stand-in: the score reads only ``kind``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


def _every_row_explained(features: pl.DataFrame, kinds: list[list[str]]) -> list[list[ModelScore]]:
    """The notes as made before: contributions of all rows, then the explained ones kept."""
    loaded = calibrated.load()
    assert loaded is not None
    booster, calibration = loaded
    x = score_matrix(features, kinds)
    prob = calibration(booster.predict(x, num_threads=1))
    contrib = booster.predict(x, pred_contrib=True, num_threads=1)[:, : x.shape[1]]
    names = feature_names()
    out: list[list[ModelScore]] = []
    for p, c in zip(prob, contrib, strict=True):
        if not p >= EXPLAIN_FROM:
            out.append([])
            continue
        top = np.argsort(-c)[:3]
        drivers = tuple(calibrated._label(names[j]) for j in top if c[j] > 0)
        out.append([ModelScore(probability=round(float(p), 3), drivers=drivers)])
    return out


def test_notes_equal_those_of_contributions_for_every_row() -> None:
    if calibrated.load() is None:
        pytest.skip("no shipped scorer")
    rng = np.random.default_rng(5)
    n = 400
    columns = {*MODEL_FEATURES, *EXTRA_FEATURES, "requests", "account_age_days", "templates"}
    columns |= {"sketches", "component_accounts"}
    features = pl.DataFrame({c: rng.random(n) * rng.choice([1, 10, 1000], n) for c in columns})
    distinctive = [k for k in finding_kinds() if finding_classes()[k].basis.name != "SHARED"]
    kinds = [list(rng.choice(distinctive, rng.integers(0, 5))) for _ in range(n)]
    got = calibrated_scores(features, [[_Kind(k) for k in row] for row in kinds])  # type: ignore[misc]
    assert got is not None
    want = _every_row_explained(features, kinds)
    assert got[1] == want
    explained = sum(bool(notes) for notes in want)
    assert 0 < explained < n
