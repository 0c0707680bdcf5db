"""One evaluation of a scan against ground truth: every figure, as plain data.

:func:`evaluate_frames` is pure (frames in, figures out) so tests and notebooks can call it on
frames they build; :func:`evaluate_scan` only adds the reading of the two files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from distillwatch.evaluate.baseline import VolumeBaseline, volume_baseline
from distillwatch.evaluate.campaigns import CampaignFigures, campaign_figures
from distillwatch.evaluate.load import ATTACK, BENIGN, join_scan_labels, load_labels
from distillwatch.evaluate.metrics import GroupRate, Rates, confusion, group_rates
from distillwatch.evaluate.targets import DEFAULT_FPR_TARGET, TargetCheck, check_targets
from distillwatch.report.scandir import load_accounts, load_campaigns

#: Account ids listed per warning; the counts are always complete.
MAX_LISTED_IDS = 20


@dataclass(frozen=True)
class Coverage:
    """Accounts present on one side only. Missing scan rows were counted as unflagged."""

    missing_from_scan: int
    not_in_labels: int
    missing_examples: list[str]
    unlabelled_examples: list[str]


@dataclass(frozen=True)
class Evaluation:
    """Every figure of one evaluation; ``to_dict`` is the ``--json`` output."""

    fpr_target: float
    coverage: Coverage
    accounts: Rates
    populations: list[GroupRate]
    tactics: list[GroupRate]
    baseline: VolumeBaseline
    campaigns: CampaignFigures
    targets: list[TargetCheck]
    warnings: list[str] = field(default_factory=list)
    #: Online figures (leaked requests before a block, time to block) from ``replay``
    #: decisions: a later issue. Stays None until that evaluation exists.
    online: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return all(t.met for t in self.targets)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def _coverage(joined: pl.DataFrame) -> Coverage:
    missing = joined.filter(~pl.col("in_scan"))["account_id"]
    unlabelled = joined.filter(~pl.col("in_labels"))["account_id"]
    return Coverage(
        missing_from_scan=len(missing),
        not_in_labels=len(unlabelled),
        missing_examples=missing.head(MAX_LISTED_IDS).to_list(),
        unlabelled_examples=unlabelled.head(MAX_LISTED_IDS).to_list(),
    )


def _coverage_warnings(coverage: Coverage) -> list[str]:
    out = []
    if coverage.missing_from_scan:
        out.append(
            f"{coverage.missing_from_scan:,} labelled accounts are missing from the scan "
            f"(counted as unflagged, score 0), e.g. {', '.join(coverage.missing_examples[:5])}"
        )
    if coverage.not_in_labels:
        out.append(
            f"{coverage.not_in_labels:,} scanned accounts have no label (left out of account "
            f"figures, impure in campaigns), e.g. {', '.join(coverage.unlabelled_examples[:5])}"
        )
    return out


def membership_conflicts(accounts: pl.DataFrame, campaigns: list[dict[str, Any]]) -> int:
    """Accounts whose campaign in ``campaigns.jsonl`` differs from ``accounts.jsonl``."""
    listed = {a: c["campaign_id"] for c in campaigns for a in c["accounts"]}
    own = dict(accounts.select("account_id", "campaign_id").iter_rows())
    ids = set(listed) | {a for a, c in own.items() if c is not None}
    return sum(listed.get(a) != own.get(a) for a in ids)


def evaluate_frames(
    accounts: pl.DataFrame,
    labels: pl.DataFrame,
    fpr_target: float = DEFAULT_FPR_TARGET,
    warnings: list[str] | None = None,
) -> Evaluation:
    """All figures from a scan's accounts frame (``scandir.load_accounts``) and labels frame
    (``load_labels``). Raises ``NoOverlapError`` when they share no account."""
    joined = join_scan_labels(accounts, labels)
    labelled = joined.filter(pl.col("in_labels"))
    rates = confusion(labelled)
    populations = group_rates(labelled, BENIGN)
    baseline, _ = volume_baseline(labelled, rates.false_positives)
    campaigns = campaign_figures(joined)
    coverage = _coverage(joined)
    return Evaluation(
        fpr_target=fpr_target,
        coverage=coverage,
        accounts=rates,
        populations=populations,
        tactics=group_rates(labelled, ATTACK),
        baseline=baseline,
        campaigns=campaigns,
        targets=check_targets(rates, populations, campaigns, fpr_target),
        warnings=[*_coverage_warnings(coverage), *(warnings or [])],
    )


def evaluate_scan(
    scan_dir: Path, labels_path: Path, fpr_target: float = DEFAULT_FPR_TARGET
) -> Evaluation:
    """Read ``scan_dir`` (scan output v1) and ``labels_path`` and evaluate the one on the other.

    Raises ``ScanFileError`` (file and line) for a malformed file and ``NoOverlapError`` when
    the two share no account id.
    """
    accounts = load_accounts(scan_dir)
    labels = load_labels(labels_path)
    conflicts = membership_conflicts(accounts, load_campaigns(scan_dir))
    extra = (
        [
            f"{conflicts:,} accounts are listed in campaigns.jsonl under another campaign than "
            "their accounts.jsonl campaign_id (accounts.jsonl was used)"
        ]
        if conflicts
        else []
    )
    return evaluate_frames(accounts, labels, fpr_target, extra)
