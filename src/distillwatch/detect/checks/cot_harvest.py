"""Chain-of-thought harvesting: most prompts ask the model to spell out its reasoning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class CotElicitation(Finding):
    description: ClassVar[str] = "Most prompts elicit step-by-step reasoning"
    severity: ClassVar[Severity] = Severity.MEDIUM
    tactic: ClassVar[str | None] = "cot_harvesting"
    share: float
    capabilities: int

    def __str__(self) -> str:
        return (
            f"{self.share:.0%} of prompts elicit step-by-step reasoning "
            f"across {self.capabilities} capability areas"
        )


@dataclass(frozen=True)
class BroadCotElicitation(CotElicitation):
    """Reasoning asked for across many unrelated areas is a sweep, not an evaluation."""

    severity: ClassVar[Severity] = Severity.HIGH


@dataclass(frozen=True)
class GreedyCotElicitation(CotElicitation):
    """Step-by-step prompts decoded greedily: what evaluation harnesses do (reproducible
    scores); a distiller usually wants the model's sampled answers. Kept as evidence, at low
    severity: early in an evaluation run nothing else tells it from a sweep yet."""

    severity: ClassVar[Severity] = Severity.LOW

    def __str__(self) -> str:
        return f"{super().__str__()}, all at temperature 0 (as evaluation harnesses run)"


class CotHarvestCheck(AccountCheck):
    """Evaluation harnesses add "think step by step" to some prompts (half of a run, at
    most two thirds here); a harvester adds it to nearly all, across every area."""

    share = 0.7
    greedy_share = 0.9
    broad_capabilities = 4

    def score_one(self, account: Account) -> list[Finding]:
        share = num(account, "cot_share")
        if share < self.share:
            return []
        caps = int(num(account, "capabilities"))
        kind: type[CotElicitation] = CotElicitation
        if num(account, "temp0_share") >= self.greedy_share:
            kind = GreedyCotElicitation
        elif caps >= self.broad_capabilities:
            kind = BroadCotElicitation
        return [kind(share=share, capabilities=caps)]
