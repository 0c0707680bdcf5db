"""Capability sweeps: single-shot prompts spread evenly over many capability areas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class CapabilitySweep(Finding):
    description: ClassVar[str] = "Single-turn prompts cover many capability areas evenly"
    severity: ClassVar[Severity] = Severity.MEDIUM
    tactic: ClassVar[str | None] = "capability_sweep"
    capabilities: int
    entropy: float
    single_turn: float

    def __str__(self) -> str:
        return (
            f"{self.single_turn:.0%} single-turn prompts spread over {self.capabilities} "
            f"capability areas (entropy {self.entropy:.1f} bits)"
        )


@dataclass(frozen=True)
class ComparedSweep(CapabilitySweep):
    """The same items sent to several models: the shape of a model evaluation, which covers
    areas on purpose. Still listed, at low severity."""

    severity: ClassVar[Severity] = Severity.LOW
    replayed: float = 0.0

    def __str__(self) -> str:
        return (
            f"{super().__str__()}; {self.replayed:.0%} of them replayed against other models "
            "(as model evaluations do)"
        )


class CapabilitySweepCheck(AccountCheck):
    """People hold conversations about what they need; a sweep asks everything once."""

    min_requests = 100
    capabilities = 6
    entropy = 2.0
    single_turn = 0.9
    replayed = 0.9

    def score_one(self, account: Account) -> list[Finding]:
        caps = int(num(account, "capabilities"))
        entropy = num(account, "capability_entropy")
        single = 1.0 - num(account, "multi_turn_share")
        if caps < self.capabilities or entropy < self.entropy or single < self.single_turn:
            return []
        replayed = num(account, "replayed_share")
        if replayed >= self.replayed:
            return [ComparedSweep(caps, entropy, single, replayed)]
        return [CapabilitySweep(capabilities=caps, entropy=entropy, single_turn=single)]
