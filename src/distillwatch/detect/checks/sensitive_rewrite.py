"""Censorship-rewrite harvesting: "safe" rewrites of politically sensitive questions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class SensitiveRewrites(Finding):
    description: ClassVar[str] = "Asks for rewrites of politically sensitive questions"
    severity: ClassVar[Severity] = Severity.HIGH
    tactic: ClassVar[str | None] = "sensitive_rewrite"
    share: float

    def __str__(self) -> str:
        return f"{self.share:.0%} of prompts ask for rewrites of politically sensitive questions"


class SensitiveRewriteCheck(AccountCheck):
    share = 0.2

    def score_one(self, account: Account) -> list[Finding]:
        share = num(account, "sensitive_share")
        return [SensitiveRewrites(share=share)] if share >= self.share else []
