"""Logprob harvesting: token distributions wanted, not answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class LogprobHarvesting(Finding):
    description: ClassVar[str] = (
        "Requests token log-probabilities with tiny answers or many samples"
    )
    severity: ClassVar[Severity] = Severity.MEDIUM
    tactic: ClassVar[str | None] = "logprob_harvesting"
    share: float
    top_logprobs: int

    def __str__(self) -> str:
        return (
            f"{self.share:.0%} of requests ask for log-probabilities "
            f"(top_logprobs up to {self.top_logprobs}) with 1-token answers or n > 1"
        )


@dataclass(frozen=True)
class BroadLogprobHarvesting(LogprobHarvesting):
    """Distributions collected over many capability areas, not over one benchmark."""

    severity: ClassVar[Severity] = Severity.HIGH


@dataclass(frozen=True)
class LogprobScoring(LogprobHarvesting):
    """One-token answers with logprobs but one sample each: how multiple-choice benchmarks
    are scored. Listed, at low severity; sampling many answers (``n`` > 1) is what harvests
    a distribution."""

    severity: ClassVar[Severity] = Severity.LOW

    def __str__(self) -> str:
        return (
            f"{self.share:.0%} of requests ask for log-probabilities (top_logprobs up to "
            f"{self.top_logprobs}) of 1-token answers, one sample each (as benchmark scoring does)"
        )


class LogprobHarvestCheck(AccountCheck):
    """Researchers read 1-token logprobs too -- to score benchmarks, sometimes sampling
    several answers -- tens to a few hundred requests a week; distributions worth distilling
    from take thousands. Below harvesting volume nothing is said; one sample per prompt is
    listed at low severity only (benchmark scoring)."""

    min_requests = 300
    share = 0.5
    broad_capabilities = 4

    def score_one(self, account: Account) -> list[Finding]:
        share = num(account, "logprob_share")
        shaped = max(num(account, "tiny_max_tokens_share"), num(account, "multi_n_share"))
        if share < self.share or shaped < self.share:
            return []
        broad = num(account, "capabilities") >= self.broad_capabilities
        kind: type[LogprobHarvesting] = BroadLogprobHarvesting if broad else LogprobHarvesting
        if num(account, "multi_n_share") < self.share:
            kind = LogprobScoring
        return [kind(share=share, top_logprobs=int(num(account, "top_logprobs_max")))]
