"""Reward-signal harvesting: the model is asked to grade, score or rank answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class GradingRequests(Finding):
    description: ClassVar[str] = "Many prompts ask the model to grade or rank answers"
    severity: ClassVar[Severity] = Severity.MEDIUM
    tactic: ClassVar[str | None] = "grading_harvesting"
    share: float

    def __str__(self) -> str:
        return f"{self.share:.0%} of prompts ask the model to grade, score or rank answers"


@dataclass(frozen=True)
class BroadGradingRequests(GradingRequests):
    """Judging answers across many areas looks like building a reward model."""

    severity: ClassVar[Severity] = Severity.HIGH


class GradingHarvestCheck(AccountCheck):
    share = 0.3
    broad_capabilities = 4

    def score_one(self, account: Account) -> list[Finding]:
        share = num(account, "grading_share")
        if share < self.share:
            return []
        broad = num(account, "capabilities") >= self.broad_capabilities
        return [(BroadGradingRequests if broad else GradingRequests)(share=share)]
