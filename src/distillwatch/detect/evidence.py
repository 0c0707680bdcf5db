"""Typed evidence: every reason distillwatch gives is a small frozen dataclass.

Modelled on pySigma's validation issues: each kind of finding is a class whose ``description``
and ``severity`` are class constants, and whose fields hold the measured values. ``str()`` of a
finding is the sentence an analyst reads; ``weight`` is how much it moves the score. Because
the evidence is typed, the report, the sharing code and tests can inspect it without parsing
sentences.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar


class Basis(StrEnum):
    """What kind of evidence a finding is, which decides whether it may flag.

    Honest products share most behaviour of distillation: LLM-as-judge services grade,
    tutoring apps ask for step-by-step reasoning, resellers and evaluation runs sweep every
    capability, researchers read logprobs, phones change networks, families share cards.
    Such findings are ``SHARED``: they raise a score, never flag alone. A flag also needs a
    finding of one of the other kinds -- what honest customers rarely produce.
    """

    SHARED = "shared"  # honest products do this too
    COORDINATION = "coordination"  # many accounts acting as one
    FRAUD = "fraud"  # identity or payment fraud
    EVASION = "evasion"  # hiding from rate limits and linking (residential proxy rotation)
    HARVEST = "harvest"  # the shape of dataset collection, not of any product


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


#: How much one finding of a severity moves an account towards 1.0 (combined as noisy-OR).
SEVERITY_WEIGHT: dict[Severity, float] = {
    Severity.LOW: 0.15,
    Severity.MEDIUM: 0.35,
    Severity.HIGH: 0.6,
}


@dataclass(frozen=True)
class Finding:
    """One piece of evidence about an account or a campaign."""

    description: ClassVar[str] = "evidence"
    severity: ClassVar[Severity] = Severity.LOW
    #: The distillation tactic this evidence points to, if any (used for campaign tactics).
    tactic: ClassVar[str | None] = None
    #: Whether honest products share it (see :class:`Basis`).
    basis: ClassVar[Basis] = Basis.SHARED

    @property
    def kind(self) -> str:
        return type(self).__name__

    @property
    def weight(self) -> float:
        return SEVERITY_WEIGHT[self.severity]

    @property
    def distinctive(self) -> bool:
        """True for evidence honest customers rarely produce: it lets a score flag."""
        return self.basis is not Basis.SHARED

    def __str__(self) -> str:
        return self.description

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity.value,
            "text": str(self),
            "tactic": self.tactic,
            "basis": self.basis.value,
        }


def noisy_or(findings: list[Finding]) -> float:
    """Combine independent pieces of evidence: 1 - prod(1 - w)."""
    remaining = 1.0
    for finding in findings:
        remaining *= 1.0 - finding.weight
    return 1.0 - remaining


def strongest_first(findings: list[Finding]) -> list[Finding]:
    """Distinctive evidence first (it is what a flag rests on), then by weight."""
    return sorted(findings, key=lambda f: (f.distinctive, f.weight), reverse=True)


def any_distinctive(findings: Iterable[Finding]) -> bool:
    return any(f.distinctive for f in findings)
