"""Account-level figures: confusion counts, FPR, recall, precision, F1, ROC-AUC, per group.

All functions take the joined frame of :func:`distillwatch.evaluate.load.join_scan_labels`
(restricted to labelled accounts) and the name of a boolean verdict column, so the scan and
the volume baseline are measured by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from distillwatch.evaluate.load import ATTACK, BENIGN


def ratio(num: int, den: int) -> float | None:
    """``num / den``, or None when there is nothing to divide by (an undefined rate is not 0)."""
    return num / den if den else None


@dataclass(frozen=True)
class Rates:
    """Confusion counts of one verdict over labelled accounts, and the rates from them."""

    accounts: int
    benign: int
    attack: int
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    fpr: float | None
    recall: float | None
    precision: float | None
    f1: float | None
    roc_auc: float | None


def roc_auc(scores: pl.Series, positive: pl.Series) -> float | None:
    """Area under the ROC curve of ``scores`` for ``positive`` (Mann-Whitney U, ties count half).

    None when either class is empty, since the area is then undefined.
    """
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = scores.rank(method="average")
    rank_sum = float(ranks.filter(positive).sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def confusion(
    labelled: pl.DataFrame, verdict: str = "flagged", score: str | None = "score"
) -> Rates:
    """Confusion counts and rates of the boolean column ``verdict``; AUC over ``score`` if given."""
    is_attack = pl.col("label") == ATTACK
    flag = pl.col(verdict)
    counts = labelled.select(
        tp=(is_attack & flag).sum(),
        fp=(~is_attack & flag).sum(),
        fn=(is_attack & ~flag).sum(),
        tn=(~is_attack & ~flag).sum(),
    ).row(0, named=True)
    tp, fp, fn, tn = (int(counts[k]) for k in ("tp", "fp", "fn", "tn"))
    precision = ratio(tp, tp + fp)
    recall = ratio(tp, tp + fn)
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall > 0
        else None
    )
    auc = (
        roc_auc(labelled[score], labelled["label"] == ATTACK)
        if score is not None and labelled.height
        else None
    )
    return Rates(
        accounts=labelled.height,
        benign=fp + tn,
        attack=tp + fn,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        true_negatives=tn,
        fpr=ratio(fp, fp + tn),
        recall=recall,
        precision=precision,
        f1=f1,
        roc_auc=auc,
    )


@dataclass(frozen=True)
class GroupRate:
    """One benign population (hits = false positives, rate = FPR) or one attack tactic (hits =
    accounts caught, rate = recall)."""

    group: str
    accounts: int
    hits: int
    rate: float | None


def group_rates(labelled: pl.DataFrame, label: str, verdict: str = "flagged") -> list[GroupRate]:
    """Per ``group`` of accounts with ``label``: how many, how many ``verdict`` flags, the share.

    Sorted worst first for the reader: most false positives for populations, lowest recall for
    tactics; ties by name.
    """
    per = (
        labelled.filter(pl.col("label") == label)
        .group_by("group")
        .agg(accounts=pl.len(), hits=pl.col(verdict).sum())
        .sort("group")
    )
    rows = [
        GroupRate(g, int(n), int(h), ratio(int(h), int(n)))
        for g, n, h in per.select("group", "accounts", "hits").iter_rows()
    ]
    if label == BENIGN:
        return sorted(rows, key=lambda r: (-(r.rate or 0.0), r.group))
    return sorted(rows, key=lambda r: (r.rate if r.rate is not None else 1.0, r.group))
