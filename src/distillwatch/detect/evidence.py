"""Typed evidence: every reason distillwatch gives is a small frozen dataclass.

Modelled on pySigma's validation issues: each kind of finding is a class whose ``description``
and ``severity`` are class constants, and whose fields hold the measured values. ``str()`` of a
finding is the sentence an analyst reads; ``weight`` is how much it moves the score. Because
the evidence is typed, the report, the sharing code and tests can inspect it without parsing
sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar


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

    @property
    def kind(self) -> str:
        return type(self).__name__

    @property
    def weight(self) -> float:
        return SEVERITY_WEIGHT[self.severity]

    def __str__(self) -> str:
        return self.description

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity.value,
            "text": str(self),
            "tactic": self.tactic,
        }


def noisy_or(findings: list[Finding]) -> float:
    """Combine independent pieces of evidence: 1 - prod(1 - w)."""
    remaining = 1.0
    for finding in findings:
        remaining *= 1.0 - finding.weight
    return 1.0 - remaining


def strongest_first(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: f.weight, reverse=True)
