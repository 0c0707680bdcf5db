"""Multilingual sweeps: the same kinds of task asked across many languages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class MultilingualSweep(Finding):
    description: ClassVar[str] = "Non-translation tasks asked in many languages"
    severity: ClassVar[Severity] = Severity.MEDIUM
    tactic: ClassVar[str | None] = "multilingual_sweep"
    languages: int
    capabilities: int

    def __str__(self) -> str:
        return (
            f"prompts in {self.languages} languages over {self.capabilities} capability "
            "areas, not mainly translation"
        )


class MultilingualSweepCheck(AccountCheck):
    """A translation app is multilingual on one task; a sweep is multilingual on many."""

    min_requests = 50
    languages = 5
    entropy = 1.5
    capabilities = 3
    translation_top_share = 0.6

    def score_one(self, account: Account) -> list[Finding]:
        langs = int(num(account, "languages"))
        caps = int(num(account, "capabilities"))
        if (
            langs < self.languages
            or num(account, "language_entropy") < self.entropy
            or caps < self.capabilities
            or num(account, "capability_top_share") >= self.translation_top_share
        ):
            return []
        return [MultilingualSweep(languages=langs, capabilities=caps)]
