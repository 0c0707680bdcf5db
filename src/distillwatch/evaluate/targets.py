"""The targets of issue 3, checked against an evaluation: the numbers, and whether each holds.

FPR must hold overall *and* for every benign population, because the hard negatives (batch
jobs, eval runs, researchers, resellers ...) are where an average hides harm.
"""

from __future__ import annotations

from dataclasses import dataclass

from distillwatch.evaluate.campaigns import CampaignFigures
from distillwatch.evaluate.metrics import GroupRate, Rates

DEFAULT_FPR_TARGET = 0.001
RECALL_TARGET = 0.95
PURITY_TARGET = 0.9


@dataclass(frozen=True)
class TargetCheck:
    name: str
    value: float | None
    goal: str
    detail: str
    met: bool


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3%}"


def check_targets(
    rates: Rates,
    populations: list[GroupRate],
    campaigns: CampaignFigures,
    fpr_target: float = DEFAULT_FPR_TARGET,
) -> list[TargetCheck]:
    """One row per target. An undefined figure (no benign accounts, no campaigns) is not met,
    so a PASS always rests on measured numbers."""
    checks = [
        TargetCheck(
            "benign FPR (overall)",
            rates.fpr,
            f"≤ {_pct(fpr_target)}",
            f"{rates.false_positives:,} of {rates.benign:,} benign accounts flagged",
            rates.fpr is not None and rates.fpr <= fpr_target,
        )
    ]
    checks += [
        TargetCheck(
            f"benign FPR: {p.group}",
            p.rate,
            f"≤ {_pct(fpr_target)}",
            f"{p.hits:,} of {p.accounts:,} flagged",
            p.rate is not None and p.rate <= fpr_target,
        )
        for p in sorted(populations, key=lambda p: p.group)
    ]
    checks.append(
        TargetCheck(
            "attack recall",
            rates.recall,
            f"≥ {_pct(RECALL_TARGET)}",
            f"{rates.true_positives:,} of {rates.attack:,} attack accounts flagged",
            rates.recall is not None and rates.recall >= RECALL_TARGET,
        )
    )
    checks.append(
        TargetCheck(
            "campaigns detected",
            campaigns.recall,
            "all",
            f"{campaigns.detected:,} of {campaigns.total:,} (≥ half their accounts flagged)",
            campaigns.total > 0 and campaigns.detected == campaigns.total,
        )
    )
    checks.append(
        TargetCheck(
            "campaign purity (mean)",
            campaigns.mean_purity,
            f"≥ {_pct(PURITY_TARGET)}",
            f"min {campaigns.min_purity:.3f} over {len(campaigns.predicted):,} predicted campaigns"
            if campaigns.min_purity is not None
            else "no predicted campaigns",
            campaigns.mean_purity is not None and campaigns.mean_purity >= PURITY_TARGET,
        )
    )
    return checks
