"""Pivot to a newly released model: harvesters move within hours of a release."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class NewModelPivot(Finding):
    description: ClassVar[str] = "Most traffic went to a model in its first days after release"
    severity: ClassVar[Severity] = Severity.LOW
    tactic: ClassVar[str | None] = "model_pivot"
    share: float

    def __str__(self) -> str:
        return f"{self.share:.0%} of requests hit a model within 48 h of its first appearance"


class ModelPivotCheck(AccountCheck):
    """Weak alone (evaluators test new models too); it sharpens other evidence."""

    min_requests = 50
    share = 0.5

    def score_one(self, account: Account) -> list[Finding]:
        share = num(account, "new_model_share")
        return [NewModelPivot(share=share)] if share >= self.share else []
